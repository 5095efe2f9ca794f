//! Writing one load into one table: Parquet data files via iceberg's writer chain, then a single
//! commit (see `commit`). Nothing is visible to readers before `commit`; `abort` removes the files.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use iceberg::arrow::schema_to_arrow_schema;
use iceberg::io::FileIO;
use iceberg::spec::{DataFileFormat, TableMetadata};
use iceberg::writer::base_writer::data_file_writer::{DataFileWriter, DataFileWriterBuilder};
use iceberg::writer::file_writer::location_generator::{DefaultFileNameGenerator, DefaultLocationGenerator};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use iceberg::TableIdent;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::commit::{commit, CommitRequest};
use crate::ledger::{Ledger, LoadedObject, PROP_JOB, PROP_LOAD, PROP_OBJECTS};
use crate::types::to_table_batch;
use crate::PoolError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadMode {
    /// Replace the table's contents (and schema) atomically.
    Full,
    /// Append to the table; its schema must already fit the data.
    Delta,
}

impl LoadMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadMode::Full => "full",
            LoadMode::Delta => "delta",
        }
    }
}

type Inner = DataFileWriter<ParquetWriterBuilder, DefaultLocationGenerator, DefaultFileNameGenerator>;

/// Staged data for one table. Dropping it without `commit` leaves the table untouched; call
/// `abort` to also delete the data files written so far.
pub struct TableWriter {
    pub(crate) ident: TableIdent,
    pub(crate) db: SqlitePool,
    pub(crate) file_io: FileIO,
    pub(crate) staged: TableMetadata,
    pub(crate) previous_location: Option<String>,
    pub(crate) mode: LoadMode,
    /// The schema batches must have (column names/types), without Iceberg field ids.
    pub(crate) schema: SchemaRef,
    write_schema: SchemaRef,
    inner: Option<Inner>,
    data_dir: PathBuf,
    file_prefix: String,
    rows: u64,
}

/// What a commit did.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CommitSummary {
    pub table: String,
    pub snapshot_id: i64,
    pub rows_added: u64,
    pub total_rows: u64,
    pub data_files: usize,
}

impl TableWriter {
    pub(crate) async fn new(
        ident: TableIdent,
        db: SqlitePool,
        file_io: FileIO,
        staged: TableMetadata,
        previous_location: Option<String>,
        mode: LoadMode,
    ) -> Result<TableWriter, PoolError> {
        let write_schema: SchemaRef = Arc::new(schema_to_arrow_schema(staged.current_schema())?);
        let schema = Arc::new(crate::types::strip_field_ids(&write_schema));
        let location = staged.location().trim_end_matches('/').to_string();
        let file_prefix = format!("lp-{}", uuid::Uuid::new_v4().simple());
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let parquet = ParquetWriterBuilder::new(props, staged.current_schema().clone());
        let rolling = RollingFileWriterBuilder::new_with_default_file_size(
            parquet,
            file_io.clone(),
            DefaultLocationGenerator::with_data_location(format!("{location}/data")),
            DefaultFileNameGenerator::new(file_prefix.clone(), None, DataFileFormat::Parquet),
        );
        let inner = DataFileWriterBuilder::new(rolling).build(None).await?;
        Ok(TableWriter {
            ident,
            db,
            file_io,
            staged,
            previous_location,
            mode,
            schema,
            write_schema,
            inner: Some(inner),
            data_dir: local_path(&format!("{location}/data")),
            file_prefix,
            rows: 0,
        })
    }

    pub fn table(&self) -> &str {
        self.ident.name()
    }

    /// The schema incoming batches must match (names and types).
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), PoolError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let b = to_table_batch(batch, &self.write_schema)?;
        self.inner.as_mut().expect("writer open until commit").write(b).await?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Closes the data files and commits them together with the ledger entries for `objects`.
    pub async fn commit(mut self, objects: &[LoadedObject], job_id: &str) -> Result<CommitSummary, PoolError> {
        let files = match self.inner.take().expect("writer open until commit").close().await {
            Ok(f) => f,
            Err(e) => {
                self.remove_staged_files();
                return Err(e.into());
            }
        };
        let data_files = files.len();
        let properties = HashMap::from([
            (PROP_LOAD.to_string(), self.mode.as_str().to_string()),
            (PROP_OBJECTS.to_string(), Ledger::encode(objects)),
            (PROP_JOB.to_string(), job_id.to_string()),
        ]);
        let request = CommitRequest {
            ident: self.ident.clone(),
            staged: self.staged.clone(),
            previous_location: self.previous_location.clone(),
            files,
            replace: self.mode == LoadMode::Full,
            properties,
        };
        match commit(&self.db, &self.file_io, request).await {
            Ok(c) => {
                tracing::debug!(table = %self.ident, metadata = %c.metadata_location, "committed");
                Ok(CommitSummary {
                    table: self.ident.name().to_string(),
                    snapshot_id: c.snapshot_id,
                    rows_added: self.rows,
                    total_rows: c.total_records,
                    data_files,
                })
            }
            Err(e) => {
                self.remove_staged_files();
                Err(e)
            }
        }
    }

    /// Gives up: closes and deletes the data files written so far. The table is unchanged.
    pub async fn abort(mut self) {
        if let Some(mut inner) = self.inner.take() {
            let _ = inner.close().await;
        }
        self.remove_staged_files();
    }

    fn remove_staged_files(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.data_dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&self.file_prefix) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// `file:///a/b` → `/a/b` (the embedded warehouse is on the local file system).
pub(crate) fn local_path(location: &str) -> PathBuf {
    PathBuf::from(location.strip_prefix("file://").unwrap_or(location))
}

/// Describes how two schemas differ, for schema-drift errors.
pub(crate) fn describe_difference(table: &Schema, new: &Schema) -> String {
    let mut parts = Vec::new();
    for f in new.fields() {
        match table.field_with_name(f.name()) {
            Err(_) => parts.push(format!("new column '{}' ({})", f.name(), f.data_type())),
            Ok(t) if t.data_type() != f.data_type() => {
                parts.push(format!("column '{}' is {} in the files but {} in the table", f.name(), f.data_type(), t.data_type()))
            }
            Ok(_) => {}
        }
    }
    for t in table.fields() {
        if new.field_with_name(t.name()).is_err() {
            parts.push(format!("column '{}' is missing from the files", t.name()));
        }
    }
    if parts.is_empty() {
        parts.push("column order differs".into());
    }
    parts.join("; ")
}
