//! Writing one load into one table: Parquet data files via iceberg's writer chain, then a single
//! commit (see `commit`) that also writes the ledger files (see `ledger`). Nothing is visible to
//! readers before the catalog swap at the end of `commit`; `abort` removes the data files, and
//! metadata files of a commit that failed (conflict, stale ledger) are orphans for `vacuum`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use iceberg::arrow::schema_to_arrow_schema;
use iceberg::io::FileIO;
use iceberg::spec::{DataFile, DataFileFormat, TableMetadata};
use iceberg::writer::base_writer::data_file_writer::{DataFileWriter, DataFileWriterBuilder};
use iceberg::writer::file_writer::location_generator::{DefaultFileNameGenerator, DefaultLocationGenerator};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use iceberg::TableIdent;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use iceberg::TableUpdate;
use serde::{Deserialize, Serialize};

use crate::commit::{prepare, CommitRequest, TableCommitter};
use crate::ledger::{Ledger, LoadedObject, PROP_JOB, PROP_LEDGER, PROP_LOAD};
use crate::types::to_table_batch;
use crate::column_names::{ColumnNames, ColumnRename};
use crate::PoolError;

/// How a load writes a table (the product spec's "Full" and "Delta" extractions; JSON: `full`,
/// `delta`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadMode {
    /// Replace the table's contents (and schema) atomically.
    Full,
    /// Append to the table; its schema must already fit the data.
    Delta,
}

impl LoadMode {
    /// The mode as stored (job history, the snapshot summary's `lakeport.load`): `full`, `delta`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadMode::Full => "full",
            LoadMode::Delta => "delta",
        }
    }
}

type Inner = DataFileWriter<ParquetWriterBuilder, DefaultLocationGenerator, DefaultFileNameGenerator>;
type Rolling = RollingFileWriterBuilder<ParquetWriterBuilder, DefaultLocationGenerator, DefaultFileNameGenerator>;

/// What one load did to the objects of a table, committed with its data (see `ledger`).
#[derive(Clone, Debug, Default)]
pub struct LedgerChange {
    /// Objects loaded by this load (new ones, and new versions of changed ones: a changed
    /// object's earlier rows are dropped in the same commit). Their `data_files` are filled in
    /// by the writer.
    pub loaded: Vec<LoadedObject>,
    /// Keys whose rows are dropped without a new version (objects deleted from the source).
    pub removed: Vec<String>,
}

/// Staged data for one table. Dropping it without `commit` leaves the table untouched; call
/// `abort` to also delete the data files written so far.
///
/// Each object's rows go to data files of their own ([`TableWriter::write`] takes the key), so a
/// later load can replace exactly one object's rows by dropping its files.
pub struct TableWriter {
    pub(crate) ident: TableIdent,
    committer: Arc<dyn TableCommitter>,
    pub(crate) file_io: FileIO,
    /// What the commit builds on (see [`crate::commit::TableCommit::base`]) and where it is stored.
    base_metadata: TableMetadata,
    base_location: Option<String>,
    /// This load's schema changes, applied to `base_metadata` in `staged`.
    schema_updates: Vec<TableUpdate>,
    /// The metadata the data files are written for (schema, field ids, location).
    pub(crate) staged: TableMetadata,
    pub(crate) mode: LoadMode,
    /// The ledger the load builds on (delta loads into an existing table).
    pub(crate) base: Option<Ledger>,
    /// The schema batches must have (source column names, types), without Iceberg field ids.
    pub(crate) schema: SchemaRef,
    /// The table's schema (stored names, Iceberg field ids), in the same column order.
    write_schema: SchemaRef,
    /// Source columns stored under another name (`column_names`).
    renamed: Vec<ColumnRename>,
    /// Makes each object's writer (clones share the file-name counter).
    rolling: Rolling,
    /// Open writers, one per object being loaded.
    open: HashMap<String, Inner>,
    /// Data files of objects whose writers are closed.
    files: Vec<DataFile>,
    object_files: HashMap<String, Vec<String>>,
    data_dir: PathBuf,
    file_prefix: String,
    rows: u64,
    /// Rows handed to `write` per object, checked against its data files when it is finished.
    object_rows: HashMap<String, u64>,
}

/// What a commit did.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CommitSummary {
    /// The table's name in the pool.
    pub table: String,
    /// The Iceberg snapshot id of the new snapshot.
    pub snapshot_id: i64,
    /// Rows this load wrote.
    pub rows_added: u64,
    /// Rows dropped with the data files of changed and removed objects.
    pub rows_removed: u64,
    /// Rows in the table's new snapshot (its summary's `total-records`).
    pub total_rows: u64,
    /// Data files this load wrote.
    pub data_files: usize,
    /// Bytes of ledger files this commit wrote.
    pub ledger_bytes: u64,
}

/// Where a load starts from: the table's metadata as read (or a new table's), where it is stored,
/// and this load's schema changes to it.
pub(crate) struct WriteBase {
    pub metadata: TableMetadata,
    pub location: Option<String>,
    pub schema_updates: Vec<TableUpdate>,
    /// The ledger the load builds on (delta loads into an existing table).
    pub ledger: Option<Ledger>,
}

impl TableWriter {
    pub(crate) async fn new(
        ident: TableIdent,
        committer: Arc<dyn TableCommitter>,
        file_io: FileIO,
        start: WriteBase,
        mode: LoadMode,
        names: ColumnNames,
        renamed: Vec<ColumnRename>,
    ) -> Result<TableWriter, PoolError> {
        let mut builder = start.metadata.clone().into_builder(None);
        for u in start.schema_updates.iter().cloned() {
            builder = u.apply(builder)?;
        }
        let staged = builder.build()?.metadata;
        let write_schema: SchemaRef = Arc::new(schema_to_arrow_schema(staged.current_schema())?);
        let schema = Arc::new(names.to_source(&crate::types::strip_field_ids(&write_schema)));
        let location = staged.location().trim_end_matches('/').to_string();
        let file_prefix = format!("lp-{}", uuid::Uuid::new_v4().simple());
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let parquet = ParquetWriterBuilder::new(props, staged.current_schema().clone());
        let rolling = RollingFileWriterBuilder::new_with_default_file_size(
            parquet,
            file_io.clone(),
            DefaultLocationGenerator::with_data_location(format!("{location}/data")),
            // One generator shared by every object's writer: its counter keeps file names unique.
            DefaultFileNameGenerator::new(file_prefix.clone(), None, DataFileFormat::Parquet),
        );
        Ok(TableWriter {
            ident,
            committer,
            file_io,
            base_metadata: start.metadata,
            base_location: start.location,
            schema_updates: start.schema_updates,
            staged,
            mode,
            base: start.ledger,
            schema,
            write_schema,
            renamed,
            rolling,
            open: HashMap::new(),
            files: Vec::new(),
            object_files: HashMap::new(),
            data_dir: local_path(&format!("{location}/data")),
            file_prefix,
            rows: 0,
            object_rows: HashMap::new(),
        })
    }

    /// The table's name in the pool.
    pub fn table(&self) -> &str {
        self.ident.name()
    }

    /// The schema incoming batches must match (names and types).
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Columns of this load stored under another name than the source's, and why (the table
    /// keeps the mapping; SQL reads them by the stored name).
    pub fn renamed_columns(&self) -> &[ColumnRename] {
        &self.renamed
    }

    /// Rows written so far (all objects).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes rows of the object `key` (into that object's own data files). `batch` must have
    /// [`TableWriter::schema`]'s columns; values are cast to the stored types only where no value
    /// changes.
    ///
    /// # Errors
    ///
    /// [`PoolError::SchemaDrift`] for a batch whose columns do not fit the table's;
    /// [`PoolError::LossyValue`] naming the column for a value that would change when stored;
    /// [`PoolError::Iceberg`] when a data file cannot be written.
    pub async fn write(&mut self, key: &str, batch: &RecordBatch) -> Result<(), PoolError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let b = to_table_batch(self.ident.name(), batch, &self.schema, &self.write_schema)?;
        if !self.open.contains_key(key) {
            let w = DataFileWriterBuilder::new(self.rolling.clone()).build(None).await?;
            self.open.insert(key.to_string(), w);
        }
        self.open.get_mut(key).expect("inserted above").write(b).await?;
        self.rows += batch.num_rows() as u64;
        *self.object_rows.entry(key.to_string()).or_default() += batch.num_rows() as u64;
        Ok(())
    }

    /// Closes the data files of the object `key` (all its rows are written) and returns their
    /// paths; none for an object without rows.
    ///
    /// # Errors
    ///
    /// [`PoolError::RowCountMismatch`] when its data files hold another number of rows than
    /// were written (nothing of the load is committed then); [`PoolError::Iceberg`] when a data
    /// file cannot be closed.
    pub async fn finish_object(&mut self, key: &str) -> Result<Vec<String>, PoolError> {
        let Some(mut w) = self.open.remove(key) else { return Ok(Vec::new()) };
        let files = w.close().await?;
        // The rows read must be the rows stored: a writer that dropped rows fails the load.
        let (written, stored) = (self.object_rows.remove(key).unwrap_or(0), files.iter().map(|f| f.record_count()).sum::<u64>());
        if written != stored {
            self.files.extend(files);
            return Err(PoolError::RowCountMismatch { table: self.ident.name().to_string(), key: key.to_string(), written, stored });
        }
        let paths: Vec<String> = files.iter().map(|f| f.file_path().to_string()).collect();
        self.files.extend(files);
        self.object_files.insert(key.to_string(), paths.clone());
        Ok(paths)
    }

    /// Commits the written data files with the ledger `change` in one snapshot: a full load
    /// replaces the table; a delta load appends and drops the data files of every object that
    /// `change` loads anew (changed) or removes.
    ///
    /// # Errors
    ///
    /// Nothing is committed on any error, and the data files this load wrote are deleted.
    /// [`PoolError::LedgerStale`] if a file to drop is no longer in the table (another engine
    /// rewrote it); [`PoolError::CommitConflict`] if another load committed first (see
    /// [`crate::TableCommitter`]); as [`TableWriter::finish_object`] for the objects still open;
    /// [`PoolError::Iceberg`] or [`PoolError::Io`] when a manifest, ledger or metadata file
    /// cannot be written; [`PoolError::Database`] when the catalog swap fails.
    pub async fn commit(mut self, mut change: LedgerChange, job_id: &str) -> Result<CommitSummary, PoolError> {
        let result = self.commit_inner(&mut change, job_id).await;
        if result.is_err() {
            self.remove_staged_files().await;
        }
        result
    }

    async fn commit_inner(&mut self, change: &mut LedgerChange, job_id: &str) -> Result<CommitSummary, PoolError> {
        let keys: Vec<String> = self.open.keys().cloned().collect();
        for key in keys {
            self.finish_object(&key).await?;
        }
        for o in &mut change.loaded {
            o.data_files = self.object_files.get(&o.key).cloned().unwrap_or_default();
        }
        let base = if self.mode == LoadMode::Delta { self.base.as_ref() } else { None };
        let mut drop_files: HashSet<String> = HashSet::new();
        if let Some(base) = base {
            for key in change.loaded.iter().map(|o| &o.key).chain(&change.removed) {
                if let Some(old) = base.get(key) {
                    drop_files.extend(old.data_files.iter().cloned());
                }
            }
        }
        let dir = format!("{}/metadata", self.staged.location().trim_end_matches('/'));
        let (chain, ledger_bytes) = Ledger::write_next(&self.file_io, &dir, base, &change.loaded, &change.removed).await?;
        let files = std::mem::take(&mut self.files);
        let data_files = files.len();
        let properties = HashMap::from([
            (PROP_LOAD.to_string(), self.mode.as_str().to_string()),
            (PROP_LEDGER.to_string(), chain),
            (PROP_JOB.to_string(), job_id.to_string()),
        ]);
        let request = CommitRequest {
            ident: self.ident.clone(),
            base: self.base_metadata.clone(),
            base_location: self.base_location.clone(),
            schema_updates: self.schema_updates.clone(),
            staged: self.staged.clone(),
            files,
            replace: self.mode == LoadMode::Full,
            drop_files,
            properties,
        };
        let c = prepare(&self.file_io, request).await?;
        let metadata_location = self.committer.commit(&self.file_io, c.commit).await?;
        tracing::debug!(table = %self.ident, metadata = %metadata_location, "committed");
        Ok(CommitSummary {
            table: self.ident.name().to_string(),
            snapshot_id: c.snapshot_id,
            rows_added: self.rows,
            rows_removed: c.removed_records,
            total_rows: c.total_records,
            data_files,
            ledger_bytes,
        })
    }

    /// Gives up: closes and deletes the data files written so far. The table is unchanged.
    pub async fn abort(mut self) {
        for (_, mut w) in self.open.drain() {
            let _ = w.close().await;
        }
        self.remove_staged_files().await;
    }

    async fn remove_staged_files(&mut self) {
        if self.staged.location().starts_with("s3://") {
            // An object store has no directory to scan: the data files this writer knows of go
            // (those of objects still open when it failed are left to `vacuum`). Nothing of
            // `self` is held across the awaits (the writer is not `Sync`).
            let io = self.file_io.clone();
            let paths: Vec<String> = self.files.iter().map(|f| f.file_path().to_string()).chain(self.object_files.values().flatten().cloned()).collect();
            for path in paths {
                let _ = io.delete(&path).await;
            }
            return;
        }
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
