//! Writing one load into one table: Parquet data files via iceberg's writer chain, then a single
//! commit (see `commit`) that also writes the ledger files (see `ledger`). Nothing is visible to
//! readers before the catalog swap at the end of `commit`; `abort` removes the data files, and
//! metadata files of a commit that failed (conflict, stale ledger) are orphans for `vacuum`.
//!
//! Several writers: a delta load whose commit meets a conflict (another writer committed first)
//! is rebuilt on the table's new state and retried, here and nowhere else
//! ([`TableWriter::commit`]); the committer itself never retries (its contract, `commit`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use iceberg::arrow::schema_to_arrow_schema;
use iceberg::io::FileIO;
use iceberg::spec::{DataFile, DataFileFormat, TableMetadata};
use iceberg::writer::file_writer::location_generator::{DefaultFileNameGenerator, DefaultLocationGenerator};
use iceberg::TableIdent;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use iceberg::TableUpdate;
use serde::{Deserialize, Serialize};

use crate::column_names::RENAMES_PROPERTY;
use crate::commit::{prepare, CommitRequest, TableCommitter};
use crate::encode::{DataFileMaker, Encoders};
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
    /// Reads the table's current state again when a commit meets a conflict (`Pool::current`:
    /// the same catalog path every load starts from).
    pool: crate::Pool,
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
    /// Encode the rows into data files on tasks of their own (see `encode`).
    encoders: Encoders,
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
    /// Whether a snapshot was committed: false only when, after conflicts, other writers had
    /// committed every object of this load already (then `snapshot_id` and `total_rows` are the
    /// table's current ones and nothing was added).
    #[serde(default = "committed_default")]
    pub committed: bool,
    /// Conflicts the commit met and retried: each time another writer had committed first, and
    /// the commit was rebuilt on the table's new state ([`TableWriter::commit`]).
    #[serde(default)]
    pub conflicts: u32,
    /// Objects this load had read that another writer committed meanwhile in the same version
    /// (key and ETag): dropped from this commit, so their rows are in the table once (they are
    /// not in `rows_added`).
    #[serde(default)]
    pub already_loaded: Vec<String>,
    /// Objects this load was to remove (`removed` of its [`LedgerChange`]) that another writer
    /// removed meanwhile: left out of this commit, so this load removed none of their rows.
    #[serde(default)]
    pub already_removed: Vec<String>,
}

fn committed_default() -> bool {
    true
}

/// Commit attempts of a delta load that meets conflicts: the first and up to this many more.
pub const COMMIT_RETRIES: usize = 7;

/// The delays before each retry of a commit (see [`TableWriter::commit`]): 50 ms doubling up to
/// 2 s, [`COMMIT_RETRIES`] of them, each plus a random part of up to itself (jitter, so writers
/// that met once do not meet again in lockstep). backon's exponential backoff, used only as the
/// iterator of delays: the retry itself rebuilds the commit between attempts.
fn commit_backoff() -> impl Iterator<Item = Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(2))
        .with_factor(2.0)
        .with_max_times(COMMIT_RETRIES)
        .with_jitter()
        .build()
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
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn new(
        pool: crate::Pool,
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
        let maker = DataFileMaker {
            props,
            schema: staged.current_schema().clone(),
            file_io: file_io.clone(),
            location: DefaultLocationGenerator::with_data_location(format!("{location}/data")),
            // One generator shared by every object's writer: its counter keeps file names unique.
            names: DefaultFileNameGenerator::new(file_prefix.clone(), None, DataFileFormat::Parquet),
        };
        Ok(TableWriter {
            ident,
            pool,
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
            encoders: Encoders::new(&maker, Encoders::default_lanes()),
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
        self.encoders.write(key, b).await?;
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
        let files = self.encoders.finish(key).await?;
        if files.is_empty() && !self.object_rows.contains_key(key) {
            return Ok(Vec::new());
        }
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
    /// **Several writers.** When the commit meets a conflict (another writer — another lakeport
    /// process or machine — committed the table since this load read it; the committer answers
    /// [`PoolError::CommitConflict`]):
    /// - a **delta** load backs off (50 ms doubling to 2 s, with jitter), reads the table's new
    ///   state (metadata and ledger) and rebuilds its commit on it: an object the other writer
    ///   committed in the same version (key and ETag) is dropped from this commit with its data
    ///   files (listed in [`CommitSummary::already_loaded`]), so no object is loaded twice; an
    ///   object the table now holds in another version is replaced, as any delta load replaces a
    ///   changed object (the ledger always says which version the rows are from; the next delta
    ///   load brings the source's current one); a removal of an object no longer in the table is
    ///   left out. Then it commits again, up to [`COMMIT_RETRIES`] times. Each new snapshot's
    ///   parent is the snapshot it was rebuilt on: the table's history stays one chain.
    ///   The rebuild is refused (a conflict, the table unchanged) when the other writer changed
    ///   the table's schema in a way this load's data files were not written for (both evolved
    ///   it, or it created the table with other columns): run the load again.
    /// - a **full** load fails with the conflict and the table unchanged: it replaces the table
    ///   with the source as it listed it, and retrying would silently throw away what the other
    ///   writer committed. (Runs of lakeport hold the table exclusively for a full load, so only
    ///   a writer outside this pool's run locks meets this.)
    ///
    /// # Errors
    ///
    /// Nothing is committed on any error, and the data files this load wrote are deleted.
    /// [`PoolError::LedgerStale`] if a file to drop is no longer in the table (another engine
    /// rewrote it); [`PoolError::CommitConflict`] for a full load that meets a conflict, a delta
    /// load still meeting one after its retries, or a rebuild refused as above (see
    /// [`crate::TableCommitter`]); as [`TableWriter::finish_object`] for the objects still open;
    /// [`PoolError::Iceberg`] or [`PoolError::Io`] when a manifest, ledger or metadata file
    /// cannot be written; [`PoolError::Database`] when the catalog swap fails.
    pub async fn commit(mut self, mut change: LedgerChange, job_id: &str) -> Result<CommitSummary, PoolError> {
        let result = self.commit_inner(&mut change, job_id).await;
        if result.is_err() {
            // Lanes still holding open files close them first, so none is left behind.
            self.stop_encoders().await;
        }
        match &result {
            // The catalog may have applied the commit: the table may reference these files.
            Err(PoolError::CommitStateUnknown { .. }) => {}
            Err(_) => self.remove_staged_files().await,
            Ok(_) => {}
        }
        result
    }

    async fn commit_inner(&mut self, change: &mut LedgerChange, job_id: &str) -> Result<CommitSummary, PoolError> {
        for key in self.encoders.open_keys() {
            self.finish_object(&key).await?;
        }
        for o in &mut change.loaded {
            o.data_files = self.object_files.get(&o.key).cloned().unwrap_or_default();
        }
        let mut delays = commit_backoff();
        let mut conflicts = 0u32;
        // Also before the first attempt: the table may have changed between the ledger the
        // load selected its objects by and the base the writer began on.
        let (mut already_loaded, mut already_removed, emptied) = self.leave_out_committed(change).await;
        if emptied {
            return Ok(self.nothing_left(conflicts, already_loaded, already_removed));
        }
        loop {
            let written = match self.try_commit(change, job_id).await? {
                Ok(mut summary) => {
                    summary.conflicts = conflicts;
                    summary.already_loaded = already_loaded;
                    summary.already_removed = already_removed;
                    return Ok(summary);
                }
                Err(written) => written,
            };
            // The conflict means nothing was published: no snapshot references these files.
            for path in &written {
                let _ = self.file_io.delete(path).await;
            }
            let conflict = || PoolError::CommitConflict(self.ident.name().to_string());
            // The full-load rule (see `commit`): fail, the table unchanged.
            if self.mode == LoadMode::Full {
                return Err(conflict());
            }
            let Some(delay) = delays.next() else { return Err(conflict()) };
            conflicts += 1;
            tracing::info!(table = %self.ident, conflicts, delay_ms = delay.as_millis() as u64, "another writer committed first; rebuilding the commit on the table's new state");
            tokio::time::sleep(delay).await;
            self.rebase().await?;
            let (left_out, not_removed, emptied) = self.leave_out_committed(change).await;
            already_loaded.extend(left_out);
            already_removed.extend(not_removed);
            if emptied {
                return Ok(self.nothing_left(conflicts, already_loaded, already_removed));
            }
        }
    }

    /// The summary of a delta load whose every object other writers committed meanwhile: no
    /// commit, the table's current snapshot.
    fn nothing_left(&self, conflicts: u32, already_loaded: Vec<String>, already_removed: Vec<String>) -> CommitSummary {
        let current = self.base_metadata.current_snapshot();
        let total = current.and_then(|s| s.summary().additional_properties.get("total-records")).and_then(|v| v.parse().ok()).unwrap_or(0);
        CommitSummary {
            table: self.ident.name().to_string(),
            snapshot_id: current.map(|s| s.snapshot_id()).unwrap_or_default(),
            rows_added: 0,
            rows_removed: 0,
            total_rows: total,
            data_files: 0,
            ledger_bytes: 0,
            committed: false,
            conflicts,
            already_loaded,
            already_removed,
        }
    }

    /// Delta loads: leaves out of `change` what the ledger this commit builds on holds already —
    /// objects in the same version (key and ETag: another writer committed them; their data
    /// files are deleted) and removals of objects it no longer holds. Returns the keys of the
    /// objects left out, those of the removals left out, and whether that emptied a change that
    /// had something.
    async fn leave_out_committed(&mut self, change: &mut LedgerChange) -> (Vec<String>, Vec<String>, bool) {
        let Some(ledger) = self.base.as_ref().filter(|_| self.mode == LoadMode::Delta) else { return (Vec::new(), Vec::new(), false) };
        let had = !change.loaded.is_empty() || !change.removed.is_empty();
        let (done, rest): (Vec<LoadedObject>, Vec<LoadedObject>) = std::mem::take(&mut change.loaded).into_iter().partition(|o| ledger.contains(&o.key, &o.version));
        change.loaded = rest;
        let (still, gone): (Vec<String>, Vec<String>) = std::mem::take(&mut change.removed).into_iter().partition(|k| ledger.get(k).is_some());
        change.removed = still;
        let left_out = !done.is_empty() || !gone.is_empty();
        let emptied = had && left_out && change.loaded.is_empty() && change.removed.is_empty();
        let dropped: HashSet<&str> = done.iter().flat_map(|o| o.data_files.iter().map(String::as_str)).collect();
        // Never delete a file the table now references, whoever committed it.
        let referenced: HashSet<&str> = done.iter().filter_map(|o| ledger.get(&o.key)).flat_map(|e| e.data_files.iter().map(String::as_str)).collect();
        let mut kept = Vec::with_capacity(self.files.len());
        for f in std::mem::take(&mut self.files) {
            if dropped.contains(f.file_path()) {
                self.rows -= f.record_count();
                if !referenced.contains(f.file_path()) {
                    let _ = self.file_io.delete(f.file_path()).await;
                }
            } else {
                kept.push(f);
            }
        }
        self.files = kept;
        for o in &done {
            self.object_files.remove(&o.key);
        }
        (done.into_iter().map(|o| o.key).collect(), gone, emptied)
    }

    /// One commit attempt on the current base: the ledger file, the manifests, the catalog swap.
    /// `Ok(Err(files))`: the committer answered [`PoolError::CommitConflict`]; `files` are the
    /// ledger file and manifests written for the attempt (published nowhere).
    async fn try_commit(&mut self, change: &LedgerChange, job_id: &str) -> Result<Result<CommitSummary, Vec<String>>, PoolError> {
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
        let (chain, ledger_bytes, ledger_path) = Ledger::write_next(&self.file_io, &dir, base, &change.loaded, &change.removed).await?;
        let files = self.files.clone();
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
        let mut written = c.written;
        written.push(ledger_path);
        let metadata_location = match self.committer.commit(&self.file_io, c.commit).await {
            Ok(location) => location,
            Err(PoolError::CommitConflict(_)) => return Ok(Err(written)),
            Err(e) => return Err(e),
        };
        tracing::debug!(table = %self.ident, metadata = %metadata_location, "committed");
        Ok(Ok(CommitSummary {
            table: self.ident.name().to_string(),
            snapshot_id: c.snapshot_id,
            rows_added: self.rows,
            rows_removed: c.removed_records,
            total_rows: c.total_records,
            data_files,
            ledger_bytes,
            committed: true,
            conflicts: 0,
            already_loaded: Vec::new(),
            already_removed: Vec::new(),
        }))
    }

    /// After a conflict: makes the table's current state (as the catalog holds it now) this
    /// load's base — metadata, schema changes, ledger — for the rules of [`TableWriter::commit`].
    ///
    /// Errors: [`PoolError::CommitConflict`] when the table is gone, moved, or its schema or
    /// column names changed in a way the data files were not written for; as [`crate::Pool::ledger`].
    async fn rebase(&mut self) -> Result<(), PoolError> {
        let table = self.ident.name().to_string();
        let conflict = || PoolError::CommitConflict(table.clone());
        let Some((current, location)) = self.pool.current(&table).await? else { return Err(conflict()) };
        if current.location().trim_end_matches('/') != self.staged.location().trim_end_matches('/') {
            return Err(conflict());
        }
        // The data files were written with `staged`'s schema (its field ids). The new base
        // either has that schema already (the other writer made the same change, or created
        // the table with the same columns), or still has the schema this load evolved from, so
        // this load's schema changes apply to it unchanged.
        let written_with = self.staged.current_schema().as_struct().clone();
        let mut updates: Vec<TableUpdate> = if current.current_schema().as_struct() == &written_with {
            Vec::new()
        } else if current.current_schema().as_struct() == self.base_metadata.current_schema().as_struct() && current.last_column_id() == self.base_metadata.last_column_id() {
            self.schema_updates.iter().filter(|u| !matches!(u, TableUpdate::SetProperties { .. })).cloned().collect()
        } else {
            return Err(conflict());
        };
        // The stored column names (`column_names`): ours, unless the other writer changed them too.
        let renames = |m: &TableMetadata| m.properties().get(RENAMES_PROPERTY).cloned();
        let (want, have) = (renames(&self.staged), renames(&current));
        if want != have {
            match &want {
                Some(want) if have == renames(&self.base_metadata) => {
                    updates.push(TableUpdate::SetProperties { updates: HashMap::from([(RENAMES_PROPERTY.to_string(), want.clone())]) })
                }
                _ => return Err(conflict()),
            }
        }
        let mut builder = current.clone().into_builder(None);
        for u in updates.iter().cloned() {
            builder = u.apply(builder)?;
        }
        let staged = builder.build()?.metadata;
        if staged.current_schema().as_struct() != &written_with {
            return Err(conflict());
        }
        let ledger = Ledger::read(&self.file_io, &current, &table).await?;
        self.base_metadata = current;
        self.base_location = Some(location);
        self.schema_updates = updates;
        self.staged = staged;
        self.base = Some(ledger);
        Ok(())
    }

    /// Gives up: closes and deletes the data files written so far. The table is unchanged.
    pub async fn abort(mut self) {
        self.stop_encoders().await;
        self.remove_staged_files().await;
    }

    /// Stops the encoding lanes; the data files they still held open are closed and counted
    /// with this writer's files, so that `remove_staged_files` deletes them too.
    async fn stop_encoders(&mut self) {
        let closed = self.encoders.abort().await;
        self.files.extend(closed);
    }

    async fn remove_staged_files(&mut self) {
        if self.staged.location().starts_with("s3://") {
            // An object store has no directory to scan: the data files this writer knows of go
            // (those the lanes closed on abort included; one whose close failed is left to
            // `vacuum`). Nothing of `self` is held across the awaits (the writer is not `Sync`).
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
