//! The delta ledger: which object versions (key + ETag) a table holds, and where their rows are.
//!
//! Why it is built this way:
//! - **Derivable from the current snapshot alone.** Each commit's snapshot summary carries
//!   `lakeport.ledger`: the list of ledger files (Parquet, one row per object) that together make
//!   the ledger of *that* snapshot. Expiring older snapshots (any engine's maintenance) therefore
//!   forgets nothing, and a rollback to an older snapshot brings back exactly the ledger it had.
//! - **Written in the same commit as the data.** The ledger files are written before the catalog
//!   swap that publishes the snapshot: a crash before it leaves both unchanged (the files are
//!   orphans for `vacuum`), after it both are there.
//! - **Out of `metadata.json`, O(1) per commit.** A commit writes one ledger file with just its
//!   own changes (new and changed objects, and tombstones for objects it removed); the summary
//!   lists the chain of files. To keep the chain short, the newest files are merged size-tiered
//!   (a file is merged into the one before it once it holds at least half as many rows), so the
//!   chain has O(log n) files and each entry is rewritten O(log n) times over the table's life.
//! - **Rows can be replaced.** Each object's rows are written to data files of their own, and the
//!   ledger names them: a changed or removed object's rows are removed by dropping exactly those
//!   data files in the next commit (copy-on-write at file granularity: every Iceberg reader sees
//!   it, no delete files needed). If another engine rewrote those files (compaction), they are no
//!   longer in the table and the commit refuses with [`crate::PoolError::LedgerStale`] instead of
//!   duplicating rows.
//!
//! Tables written before ledger files existed (`lakeport.objects` inline in the summaries) do not
//! say where each object's rows are: a delta load into one asks for one full load first.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use iceberg::io::FileIO;
use iceberg::spec::{Snapshot, TableMetadata};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use serde::{Deserialize, Serialize};

use crate::PoolError;

pub(crate) const PROP_LOAD: &str = "lakeport.load";
/// Earlier lakeport versions: the loaded versions of one commit, inline in the summary.
pub(crate) const PROP_OBJECTS: &str = "lakeport.objects";
pub(crate) const PROP_JOB: &str = "lakeport.job";
/// The chain of ledger files of a snapshot: JSON `[{"path": …, "entries": n}, …]`, oldest first.
pub(crate) const PROP_LEDGER: &str = "lakeport.ledger";

/// One object version loaded into a table: what the source said about it, and where its rows are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedObject {
    /// The S3 key, exactly as listed.
    pub key: String,
    /// The version lakeport compares (the ETag, or a size/time fingerprint where there is none).
    pub version: String,
    /// Object size in bytes.
    pub size: u64,
    /// Last-modified time, milliseconds since the Unix epoch.
    pub modified_ms: i64,
    /// Rows loaded from it.
    pub rows: u64,
    /// The table's data files that hold exactly this object's rows (none for an empty object).
    pub data_files: Vec<String>,
}

/// Object key → what the table holds of it, for the table's current snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Every object the snapshot holds rows of, by S3 key (exactly as listed).
    pub objects: BTreeMap<String, LoadedObject>,
    /// The chain of ledger files this ledger was read from (empty for a new table).
    pub(crate) chain: Vec<ChainLink>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChainLink {
    pub path: String,
    pub entries: u64,
}

impl Ledger {
    /// Whether the table holds object `key` at `version` (ETag or fingerprint): a delta load
    /// skips it.
    pub fn contains(&self, key: &str, version: &str) -> bool {
        self.objects.get(key).is_some_and(|o| o.version == version)
    }

    /// What the table holds of object `key` (any version), if anything.
    pub fn get(&self, key: &str) -> Option<&LoadedObject> {
        self.objects.get(key)
    }

    /// Reads the ledger of the table's current snapshot. A snapshot committed by another engine
    /// (no `lakeport.ledger`) inherits the ledger of its nearest ancestor that has one.
    ///
    /// Errors: [`PoolError::LedgerStale`] when the table holds data but no snapshot left in its
    /// history says what it was loaded from (e.g. another engine committed and the older
    /// snapshots were expired): a delta load would duplicate rows, so a full load is needed.
    pub(crate) async fn read(file_io: &FileIO, metadata: &TableMetadata, table: &str) -> Result<Ledger, PoolError> {
        let Some(current) = metadata.current_snapshot() else { return Ok(Ledger::default()) };
        let mut next: Option<&Arc<Snapshot>> = Some(current);
        while let Some(snapshot) = next {
            let props = &snapshot.summary().additional_properties;
            if let Some(chain) = props.get(PROP_LEDGER) {
                let chain: Vec<ChainLink> = serde_json::from_str(chain).map_err(|e| PoolError::corrupt(format!("the ledger list of table '{table}'"), e))?;
                return Ledger::read_chain(file_io, chain, table).await;
            }
            if props.contains_key(PROP_OBJECTS) {
                return Err(PoolError::LedgerStale {
                    table: table.to_string(),
                    detail: "it was loaded by an earlier lakeport, whose ledger does not say where each object's rows are".into(),
                });
            }
            next = snapshot.parent_snapshot_id().and_then(|id| metadata.snapshot_by_id(id));
        }
        let records: u64 = current.summary().additional_properties.get("total-records").and_then(|v| v.parse().ok()).unwrap_or(0);
        if records > 0 {
            return Err(PoolError::LedgerStale {
                table: table.to_string(),
                detail: "no snapshot in its history records what it was loaded from (another engine committed to it and older snapshots were expired)".into(),
            });
        }
        Ok(Ledger::default())
    }

    async fn read_chain(file_io: &FileIO, chain: Vec<ChainLink>, table: &str) -> Result<Ledger, PoolError> {
        let mut objects = BTreeMap::new();
        for link in &chain {
            // Nothing in Iceberg's own metadata points at ledger files, so another engine's
            // orphan-file removal may delete them: then what was loaded is unknown.
            if !file_io.exists(&link.path).await? {
                return Err(PoolError::LedgerStale {
                    table: table.to_string(),
                    detail: format!("its ledger file {} is gone (removed as an orphan by another engine's maintenance?)", link.path),
                });
            }
            for (key, entry) in read_file(file_io, &link.path).await? {
                match entry {
                    Some(o) => objects.insert(key, o),
                    None => objects.remove(&key),
                };
            }
        }
        Ok(Ledger { objects, chain })
    }

    /// Writes this commit's ledger changes and returns the new snapshot's chain (the value of
    /// `lakeport.ledger`), the bytes written and the path of the one file written. `base`: the ledger the commit builds on (`None`
    /// for a full load, whose ledger is exactly `added`). `removed`: keys whose rows the commit
    /// drops without a new version.
    pub(crate) async fn write_next(
        file_io: &FileIO,
        dir: &str,
        base: Option<&Ledger>,
        added: &[LoadedObject],
        removed: &[String],
    ) -> Result<(String, u64, String), PoolError> {
        let mut chain: Vec<ChainLink> = base.map(|b| b.chain.clone()).unwrap_or_default();
        let mut entries: BTreeMap<String, Option<LoadedObject>> = added.iter().map(|o| (o.key.clone(), Some(o.clone()))).collect();
        entries.extend(removed.iter().map(|k| (k.clone(), None)));
        // Size-tiered merging (see the module doc), decided before writing so that no file is
        // written only to be merged away at once: the newest files of the chain are folded into
        // this commit's entries while those hold at least half as many as the file before.
        while let Some(last) = chain.last() {
            if (entries.len() as u64) * 2 < last.entries {
                break;
            }
            let mut merged: BTreeMap<String, Option<LoadedObject>> = read_file(file_io, &last.path).await?.into_iter().collect();
            merged.append(&mut entries);
            entries = merged;
            chain.pop();
        }
        // Tombstones only matter while older files below could still hold their key.
        if chain.is_empty() {
            entries.retain(|_, v| v.is_some());
        }
        let (link, written) = write_file(file_io, dir, &entries.into_iter().collect::<Vec<_>>()).await?;
        let path = link.path.clone();
        chain.push(link);
        Ok((serde_json::to_string(&chain).expect("chain serialises"), written, path))
    }

    /// Every ledger file of every snapshot in `metadata` (for vacuum: these are not orphans).
    ///
    /// Errors: [`PoolError::Corrupt`] when a snapshot's ledger list does not parse — skipping it
    /// would let vacuum delete ledger files a snapshot still needs.
    pub(crate) fn files_of(metadata: &TableMetadata, table: &str) -> Result<Vec<String>, PoolError> {
        let mut files = Vec::new();
        for s in metadata.snapshots() {
            if let Some(chain) = s.summary().additional_properties.get(PROP_LEDGER) {
                let chain: Vec<ChainLink> = serde_json::from_str(chain)
                    .map_err(|e| PoolError::corrupt(format!("the ledger list of snapshot {} of table '{table}'", s.snapshot_id()), e))?;
                files.extend(chain.into_iter().map(|l| l.path));
            }
        }
        Ok(files)
    }
}

fn file_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("removed", DataType::Boolean, false),
        Field::new("version", DataType::Utf8, true),
        Field::new("size", DataType::Int64, true),
        Field::new("modified_ms", DataType::Int64, true),
        Field::new("rows", DataType::Int64, true),
        Field::new("data_files", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true),
    ]))
}

async fn write_file(file_io: &FileIO, dir: &str, entries: &[(String, Option<LoadedObject>)]) -> Result<(ChainLink, u64), PoolError> {
    let schema = file_schema();
    let mut files = ListBuilder::new(StringBuilder::new());
    for (_, o) in entries {
        match o {
            Some(o) => {
                for f in &o.data_files {
                    files.values().append_value(f);
                }
                files.append(true);
            }
            None => files.append(false),
        }
    }
    let get = |f: fn(&LoadedObject) -> i64| -> ArrayRef { Arc::new(entries.iter().map(|(_, o)| o.as_ref().map(f)).collect::<Int64Array>()) };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(entries.iter().map(|(k, _)| Some(k.as_str())).collect::<arrow_array::StringArray>()),
        Arc::new(entries.iter().map(|(_, o)| Some(o.is_none())).collect::<BooleanArray>()),
        Arc::new(entries.iter().map(|(_, o)| o.as_ref().map(|o| o.version.as_str())).collect::<arrow_array::StringArray>()),
        get(|o| o.size as i64),
        get(|o| o.modified_ms),
        get(|o| o.rows as i64),
        Arc::new(files.finish()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema, None).map_err(parquet_error)?;
    w.write(&batch).map_err(parquet_error)?;
    w.close().map_err(parquet_error)?;
    let path = format!("{}/ledger-{}.parquet", dir.trim_end_matches('/'), uuid::Uuid::new_v4().simple());
    let bytes = buf.len() as u64;
    file_io.new_output(&path)?.write(buf.into()).await?;
    Ok((ChainLink { path, entries: entries.len() as u64 }, bytes))
}

async fn read_file(file_io: &FileIO, path: &str) -> Result<Vec<(String, Option<LoadedObject>)>, PoolError> {
    let bytes = file_io.new_input(path)?.read().await.map_err(|e| PoolError::Catalog(format!("ledger file {path} cannot be read: {e}")))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(parquet_error)?.build().map_err(parquet_error)?;
    let mut out = Vec::new();
    let corrupt = |detail: String| PoolError::corrupt(format!("ledger file {path}"), detail);
    for batch in reader {
        let b = batch?;
        // Every column is checked for its type, and every value an entry needs for presence: a
        // default (an empty version, 0 rows) would make the next delta reload or skip an object.
        let col = |name: &str| b.column_by_name(name).cloned().ok_or_else(|| corrupt(format!("it has no column '{name}'")));
        let mistyped = |name: &str| corrupt(format!("its column '{name}' has another type than lakeport writes"));
        let (key, removed, version) = (col("key")?, col("removed")?, col("version")?);
        let (size, modified, rows, files) = (col("size")?, col("modified_ms")?, col("rows")?, col("data_files")?);
        let key = key.as_string_opt::<i32>().ok_or_else(|| mistyped("key"))?;
        let removed = removed.as_boolean_opt().ok_or_else(|| mistyped("removed"))?;
        let version = version.as_string_opt::<i32>().ok_or_else(|| mistyped("version"))?;
        let size = size.as_primitive_opt::<Int64Type>().ok_or_else(|| mistyped("size"))?;
        let modified = modified.as_primitive_opt::<Int64Type>().ok_or_else(|| mistyped("modified_ms"))?;
        let rows = rows.as_primitive_opt::<Int64Type>().ok_or_else(|| mistyped("rows"))?;
        let files = files.as_list_opt::<i32>().ok_or_else(|| mistyped("data_files"))?;
        let listed_files = files.values().as_string_opt::<i32>().ok_or_else(|| mistyped("data_files"))?;
        for i in 0..b.num_rows() {
            if key.is_null(i) || removed.is_null(i) {
                return Err(corrupt(format!("row {i} has no key or no removed flag")));
            }
            let k = key.value(i).to_string();
            if removed.value(i) {
                out.push((k, None));
                continue;
            }
            if [version.is_null(i), size.is_null(i), modified.is_null(i), rows.is_null(i), files.is_null(i)].contains(&true) {
                return Err(corrupt(format!("the entry of '{k}' lacks a value (version, size, modified_ms, rows or data_files)")));
            }
            let (start, end) = (files.value_offsets()[i] as usize, files.value_offsets()[i + 1] as usize);
            let non_negative = |v: i64, what: &str| u64::try_from(v).map_err(|_| corrupt(format!("the entry of '{k}' has a negative {what}")));
            out.push((
                k.clone(),
                Some(LoadedObject {
                    version: version.value(i).to_string(),
                    size: non_negative(size.value(i), "size")?,
                    modified_ms: modified.value(i),
                    rows: non_negative(rows.value(i), "row count")?,
                    data_files: (start..end).map(|j| listed_files.value(j).to_string()).collect(),
                    key: k,
                }),
            ));
        }
    }
    Ok(out)
}

fn parquet_error(e: parquet::errors::ParquetError) -> PoolError {
    PoolError::Catalog(format!("ledger file: {e}"))
}
