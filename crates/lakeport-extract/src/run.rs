use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use lakeport_formats::{open_parquet, open_text, unify, BatchStream, FileFormat, FileKind, FormatError, OpenedFile, ReadOptions};
use lakeport_pool::{ColumnRename, Job, JobStatus, LedgerChange, LoadMode, LoadedObject, Pool, TableWriter};
use tokio_util::sync::CancellationToken;
use lakeport_source::{ObjectInfo, S3Config, S3Source};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::plan::{plan, PlannedTable, SkippedObject};
use crate::settings::{Pseudonymiser, TableSettings};
use crate::{ExtractError, Item, Progress, Shard};

const SOURCE_KEY: &str = "_source_key";
const SOURCE_MODIFIED: &str = "_source_modified";

/// Batches the readers' channel to the writing task holds. Each reader already holds its next
/// batch while it waits to send, so `concurrency` batches wait in front of the writer anyway;
/// the channel only bridges the writer's hand-off. It was `concurrency * 2` (16 batches of
/// about 1 MiB each by default): no faster, and 20-50 MiB more peak RSS for Parquet loads
/// (heaptrack: batches in flight were the largest part of the heap; bench/results/latest.md).
const HANDOFF: usize = 2;

/// One extraction: what to load from the connection and how. [`ExtractRequest::new`] gives
/// the defaults.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExtractRequest {
    /// The files and folders to load, each into its own table (at least one).
    pub items: Vec<Item>,
    /// Full (replace each table) or delta (append what is new by key + ETag).
    pub mode: LoadMode,
    /// How files are read: CSV dialect, rows sampled for type inference, batch size, columns
    /// forced to text, the decompression limit in bytes.
    #[serde(default)]
    pub read: ReadOptions,
    /// When a value breaks a column's inferred type, make that column text and load again.
    #[serde(default)]
    pub type_fallback: bool,
    /// Add `_source_key` and `_source_modified` columns.
    #[serde(default)]
    pub source_columns: bool,
    /// Objects fetched at once (default: the connection's setting).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Delta loads: what happens to the rows of objects no longer in the source.
    #[serde(default)]
    pub deleted: DeletedObjects,
    /// Delta loads: what happens when files differ from the table's schema.
    #[serde(default)]
    pub on_schema_change: OnSchemaChange,
    /// Column settings per table (subset, pseudonymisation), by the table's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<TableSettings>,
    /// Delta loads: load only this worker's share of the objects (see [`Shard`]): N workers with
    /// shards 0/N … N-1/N load every object once between them, each committing its own appends.
    /// A full load cannot be split (each worker would replace the others' rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// What a delta load does when a file's columns differ from the table's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnSchemaChange {
    /// Evolve the table's schema in the same commit (Iceberg schema evolution): a new column is
    /// added (earlier rows NULL), a column a file lacks is NULL for its rows, a lossless widening
    /// Iceberg allows (int → long, float → double, decimal precision) is a promotion; anything
    /// else is an error naming the file and the column.
    #[default]
    Evolve,
    /// As `evolve`, and a file whose values do not fit a text column's type any more loads them
    /// as text where the table's column is text already; elsewhere the error says a full load is
    /// needed (Iceberg cannot change a column's type to text).
    Text,
    /// Any difference is an error (the table's schema never changes in a delta load).
    Fail,
}

/// One schema difference a load met: the schema-drift report.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct SchemaChange {
    /// The column's name in the table.
    pub column: String,
    /// What happened to it.
    pub change: SchemaChangeKind,
    /// The table's type before the load (none for an added column).
    pub old_type: Option<String>,
    /// The type after the load (none for a column a file lacks).
    pub new_type: Option<String>,
    /// The first file that brought it (`s3://bucket/key`).
    pub file: String,
}

/// The kind of a [`SchemaChange`].
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChangeKind {
    /// A new column, added to the table.
    Added,
    /// The column's type was widened (Iceberg type promotion).
    Promoted,
    /// A file lacks the column: NULL for its rows.
    Missing,
    /// A file's values of another type were loaded as text into the table's text column.
    AsText,
}

impl std::fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (old, new) = (self.old_type.as_deref().unwrap_or("-"), self.new_type.as_deref().unwrap_or("-"));
        match self.change {
            SchemaChangeKind::Added => write!(f, "column '{}' added ({new}), first in {}", self.column, self.file),
            SchemaChangeKind::Promoted => write!(f, "column '{}' promoted {old} → {new}, first by {}", self.column, self.file),
            SchemaChangeKind::Missing => write!(f, "column '{}' ({old}) missing from {}: NULL for its rows", self.column, self.file),
            SchemaChangeKind::AsText => write!(f, "column '{}' ({old}) got {new} values from {}: loaded as text", self.column, self.file),
        }
    }
}

/// What a delta load does with the rows of objects that were loaded before and are gone from
/// the source now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeletedObjects {
    /// Keep them (append semantics, as the reference connector).
    #[default]
    Keep,
    /// Remove them in the same commit: the table mirrors the folder.
    Remove,
}

/// An object loaded before in another version: its earlier rows were replaced by the new ones.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ChangedObject {
    /// The S3 key.
    pub key: String,
    /// Rows the earlier version had in the table (removed).
    pub rows_before: u64,
    /// Rows of the new version (loaded).
    pub rows_after: u64,
}

/// An object gone from the source whose rows a delta load removed (`--deleted remove`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RemovedObject {
    /// The S3 key.
    pub key: String,
    /// Rows of it removed from the table.
    pub rows: u64,
}

impl ExtractRequest {
    /// A request for `items` in `mode` with the defaults: inferred read options, no type
    /// fallback, no source columns, the connection's concurrency, deleted objects kept, schema
    /// changes evolved, no table settings.
    pub fn new(items: Vec<Item>, mode: LoadMode) -> Self {
        ExtractRequest { items, mode, read: ReadOptions::default(), type_fallback: false, source_columns: false, concurrency: None, deleted: DeletedObjects::Keep, on_schema_change: OnSchemaChange::Evolve, tables: Vec::new(), shard: None }
    }

    /// Checks what can be checked without S3: file patterns and table settings (each for a table
    /// an item loads, at most one per table).
    ///
    /// # Errors
    ///
    /// [`ExtractError::NoItems`] without items; [`ExtractError::InvalidPattern`] for a bad glob;
    /// [`ExtractError::Pool`] when an item's name gives no valid table name;
    /// [`ExtractError::TableSettings`] for contradictory settings, settings for a table no item
    /// loads, or a table's settings given twice; [`ExtractError::InvalidShard`] for a shard that
    /// is not `0 ≤ I < N`, or a shard of a full load.
    pub fn validate(&self) -> Result<(), ExtractError> {
        if self.items.is_empty() {
            return Err(ExtractError::NoItems);
        }
        if let Some(shard) = &self.shard {
            shard.validate()?;
            if self.mode == LoadMode::Full {
                return Err(ExtractError::InvalidShard(format!(
                    "{shard}: a full load replaces the whole table, so each worker would replace the rows of the others; shard a delta load (--delta)"
                )));
            }
        }
        let mut names = Vec::new();
        for item in &self.items {
            item.validate()?;
            names.push(item.table_name()?);
        }
        for (i, t) in self.tables.iter().enumerate() {
            t.validate()?;
            if !names.contains(&t.table) {
                return Err(ExtractError::TableSettings(format!("settings for table '{}', which no item of the extraction loads (its tables: {})", t.table, names.join(", "))));
            }
            if self.tables[..i].iter().any(|o| o.table == t.table) {
                return Err(ExtractError::TableSettings(format!("table '{}' has settings twice", t.table)));
            }
        }
        Ok(())
    }
}

/// What a run did to one table: the objects loaded, skipped, changed and removed, the schema
/// changes, the totals and how far it got. Stored in the job's details.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TableReport {
    /// The table's name.
    pub table: String,
    /// Keys loaded by this run.
    pub loaded: Vec<String>,
    /// Of those, objects loaded before in another version (their ETag changed): their earlier
    /// rows were replaced in the same commit.
    pub changed: Vec<ChangedObject>,
    /// Objects gone from the source whose rows were removed (`deleted: remove`).
    pub removed: Vec<RemovedObject>,
    /// Keys a delta load skipped because this version is already in the table (also those
    /// another writer committed while this run loaded them: see `already_loaded`).
    pub unchanged: usize,
    /// Objects of the items left to the other workers of a sharded load (`shard`).
    #[serde(default)]
    pub other_shards: usize,
    /// Commit conflicts this table's commit met and retried: each time another writer had
    /// committed the table first, and the commit was rebuilt on the table's new state.
    #[serde(default)]
    pub commit_retries: u32,
    /// Objects this run read that another writer committed meanwhile in the same version
    /// (key and ETag): left out of this run's commit, so they are in the table once.
    #[serde(default)]
    pub already_loaded: Vec<String>,
    /// Empty objects (no header, no rows) passed over in a folder.
    pub skipped_empty: Vec<String>,
    /// Objects of a folder passed over, each with its reason: folder markers (`raw/`), job
    /// markers (`_SUCCESS`), hidden files (`.keep`), keys that cannot be read.
    #[serde(default)]
    pub skipped: Vec<SkippedObject>,
    /// Columns made text by the type fallback.
    pub text_columns: Vec<String>,
    /// Source columns the table stores under another name (SQL reads them by that name).
    #[serde(default)]
    pub renamed_columns: Vec<ColumnRename>,
    /// Schema differences this load met and what it did about them (delta loads).
    pub schema_changes: Vec<SchemaChange>,
    /// Rows this run loaded into the table.
    pub rows: u64,
    /// Bytes of the objects this run loaded, as stored in S3 (compressed size for `.gz`/`.zst`).
    pub bytes: u64,
    /// Rows the table holds after its commit (or, with nothing new, as it is).
    pub total_rows: u64,
    /// ID of the Iceberg snapshot this run committed; `None` when it did not commit.
    pub snapshot_id: Option<i64>,
    /// Whether this run committed a new snapshot of the table.
    pub committed: bool,
    /// How far this table got: committed, nothing new (a delta with nothing to load), not
    /// committed (the run stopped before its commit; it keeps its previous snapshot), failed.
    #[serde(default)]
    pub outcome: TableOutcome,
    /// Seconds from the start of its staging to its commit (or to where it stopped).
    #[serde(default)]
    pub seconds: f64,
    /// The whole error, when this table is where the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How far one table of a run got.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TableOutcome {
    /// A new snapshot with this run's rows.
    Committed,
    /// A delta load found nothing new or changed: no commit, the table is as it was.
    NothingNew,
    /// The run stopped (failed elsewhere, cancelled, interrupted) before this table's commit:
    /// it keeps its previous snapshot.
    #[default]
    NotCommitted,
    /// The run failed on this table (`error` says why); it keeps its previous snapshot.
    Failed,
}

impl TableReport {
    /// One line for people: "committed 300 rows from 1 file", "nothing new (the table holds
    /// 300 rows)", "not committed: …", "failed: …".
    pub fn summary(&self) -> String {
        match self.outcome {
            TableOutcome::Committed => format!("committed {} rows from {} file(s)", self.rows, self.loaded.len()),
            TableOutcome::NothingNew => format!("nothing new: {} file(s) already loaded, the table holds {} rows", self.unchanged, self.total_rows),
            TableOutcome::NotCommitted => "not committed: the run stopped before this table's commit; it keeps its previous snapshot".into(),
            TableOutcome::Failed => format!("failed: {}", self.error.as_deref().unwrap_or("see the job's error")),
        }
    }
}

/// The report of a completed extraction: its job, the per-table reports and the totals over
/// the committed tables.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ExtractReport {
    /// The job's ID.
    pub job_id: String,
    /// The connection's name.
    pub connection: String,
    /// Full or delta.
    pub mode: LoadMode,
    /// One report per table.
    pub tables: Vec<TableReport>,
    /// Objects loaded into committed tables.
    pub files: u64,
    /// Rows loaded into committed tables.
    pub rows: u64,
    /// Bytes of the objects loaded into committed tables, as stored in S3.
    pub bytes: u64,
    /// Wall-clock duration of the run, in seconds.
    pub seconds: f64,
}

/// What one extraction did: a report per table it got to (committed, nothing new, not
/// committed, failed) and how it ended.
#[derive(Debug)]
pub struct LoadOutcome {
    /// The connection's name.
    pub connection: String,
    /// One report per table the run got to.
    pub tables: Vec<TableReport>,
    /// `Err` when the run stopped: bad input, a source or pool failure, or
    /// [`ExtractError::Cancelled`]. Tables committed before that keep their new snapshot.
    pub result: Result<(), ExtractError>,
}

impl LoadOutcome {
    /// Writes the outcome into `job` (status succeeded or failed, totals, per-table details);
    /// the caller decides about cancelled and interrupted.
    pub fn record(&self, job: &mut Job) {
        job.ended_at = Some(Utc::now());
        let committed = self.tables.iter().filter(|t| t.committed);
        job.files = committed.clone().map(|t| t.loaded.len() as u64).sum();
        job.rows = committed.clone().map(|t| t.rows).sum();
        job.bytes = committed.map(|t| t.bytes).sum();
        if !self.tables.is_empty() {
            job.tables = self.tables.iter().map(|t| t.table.clone()).collect();
        }
        job.details = serde_json::to_value(&self.tables).unwrap_or_default();
        match &self.result {
            Ok(()) => job.status = JobStatus::Succeeded,
            Err(e) => {
                job.status = JobStatus::Failed;
                job.error = Some(e.to_string());
            }
        }
    }

    /// The report of a run that completed, or its error. `job` must have gone through
    /// [`LoadOutcome::record`] (the totals come from it); `seconds` is the run's duration.
    ///
    /// # Errors
    ///
    /// The run's own error ([`LoadOutcome::result`]), any [`ExtractError`] variant.
    pub fn into_report(self, job: Job, mode: LoadMode, seconds: f64) -> Result<ExtractReport, ExtractError> {
        self.result?;
        Ok(ExtractReport { job_id: job.id, connection: self.connection, mode, files: job.files, rows: job.rows, bytes: job.bytes, seconds, tables: self.tables })
    }
}

/// Checks that `connection` is a saved extraction connection that can be used (before a run is
/// recorded): [`ExtractError::WrongConnectionType`] for a zero-copy one, the pool's error for one
/// that does not exist.
///
/// # Errors
///
/// [`ExtractError::WrongConnectionType`] for a zero-copy connection; [`ExtractError::Pool`] when
/// the connection or its secret is not found; [`ExtractError::Source`] when no S3 client can be
/// built from its settings.
pub async fn check_connection(pool: &Pool, connection: &str) -> Result<(), ExtractError> {
    connect(pool, connection).await.map(|_| ())
}

/// The S3 source of a saved extraction connection, with its request concurrency.
async fn connect(pool: &Pool, connection: &str) -> Result<(S3Source, usize), ExtractError> {
    let config = extraction_settings(pool, connection).await?;
    let secret = pool.connection_secret_opt(connection)?;
    Ok((S3Source::open(&config, secret.as_ref())?, config.concurrency))
}

/// The settings of a saved extraction connection ([`ExtractError::WrongConnectionType`] for
/// another type). Read through the pool, which stores connections untyped and types only these
/// (this crate depends on neither lakeport-core nor zero-copy).
async fn extraction_settings(pool: &Pool, connection: &str) -> Result<S3Config, ExtractError> {
    pool.connection(connection).await?.s3_extraction()?.ok_or_else(|| ExtractError::WrongConnectionType(connection.to_string()))
}

/// Runs one extraction as job `job_id` without touching the job history (the caller keeps it):
/// plans the items into tables, stages every table, then commits them one by one. `cancel`
/// stops it at the next checkpoint — while staging (staged files are dropped, nothing is
/// committed) or between two table commits (a commit under way finishes: each table is either
/// its old or its new snapshot).
pub async fn load(pool: &Pool, connection: &str, request: &ExtractRequest, progress: Arc<dyn Progress>, job_id: &str, cancel: &CancellationToken) -> LoadOutcome {
    match connect(pool, connection).await {
        Ok((source, _)) => load_from(pool, &source, connection, request, progress, job_id, cancel).await,
        Err(e) => LoadOutcome { connection: connection.to_string(), tables: Vec::new(), result: Err(e) },
    }
}

/// [`load`] from a source already opened — any object_store backend
/// ([`S3Source::from_store`]): the in-process seam the orchestration tests run on `InMemory`.
/// `connection` is the name the outcome carries; the request's concurrency defaults to the
/// source's.
pub async fn load_from(
    pool: &Pool,
    source: &S3Source,
    connection: &str,
    request: &ExtractRequest,
    progress: Arc<dyn Progress>,
    job_id: &str,
    cancel: &CancellationToken,
) -> LoadOutcome {
    let mut tables = Vec::new();
    let progress: Arc<dyn Progress> = Arc::new(crate::progress::Steady::new(progress));
    let result = async {
        let concurrency = request.concurrency.unwrap_or(source.config().concurrency).max(1);
        request.validate()?;
        run(pool, source, request, concurrency, progress, job_id, cancel, &mut tables).await
    }
    .await;
    LoadOutcome { connection: connection.to_string(), tables, result }
}

/// One table's columns as the files give them (before any table settings).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct InferredTable {
    /// The table's name.
    pub table: String,
    /// (name, Arrow type) in the files' order: those of the first file with columns.
    pub columns: Vec<(String, String)>,
}

/// The columns each table of `request` would get, from the first files of each item with
/// columns (CSV/JSON inferred from their sample, Parquet from the footer). For people choosing
/// column settings; nothing is written. A table whose sampled files (at most 5) are all empty
/// gets no columns.
///
/// # Errors
///
/// As [`check_connection`] for the connection; then what planning the items returns
/// ([`ExtractError::NoItems`], [`ExtractError::NoSuchObject`], [`ExtractError::EmptyFolder`],
/// [`ExtractError::MixedTypes`], [`ExtractError::TableCollision`], [`ExtractError::InvalidPattern`],
/// [`ExtractError::Source`]) and [`ExtractError::Format`] or [`ExtractError::Source`] for a file
/// that cannot be opened.
pub async fn inferred_columns(pool: &Pool, connection: &str, request: &ExtractRequest) -> Result<Vec<InferredTable>, ExtractError> {
    let config = extraction_settings(pool, connection).await?;
    let source = S3Source::open(&config, pool.connection_secret_opt(connection)?.as_ref())?;
    let mut out = Vec::new();
    for table in plan(&source, &request.items).await? {
        let mut columns = Vec::new();
        // A few files at most: empty ones have no columns.
        for (info, kind) in table.objects.iter().take(5) {
            // Only the sample is read: one GET, no ranges fetched ahead.
            let opened = open_file(&source, info, *kind, &request.read, 1, &crate::NoProgress).await?;
            let schema = opened.schema();
            if !schema.fields().is_empty() {
                columns = schema.fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect();
                break;
            }
        }
        out.push(InferredTable { table: table.table, columns });
    }
    Ok(out)
}

struct Staged {
    writer: TableWriter,
    objects: Vec<LoadedObject>,
    report: TableReport,
}

impl Staged {
    fn change(&self) -> LedgerChange {
        LedgerChange { loaded: self.objects.clone(), removed: self.report.removed.iter().map(|r| r.key.clone()).collect() }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    pool: &Pool,
    source: &S3Source,
    request: &ExtractRequest,
    concurrency: usize,
    progress: Arc<dyn Progress>,
    job_id: &str,
    cancel: &CancellationToken,
    reports: &mut Vec<TableReport>,
) -> Result<(), ExtractError> {
    let planned = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(ExtractError::Cancelled),
        planned = plan(source, &request.items) => planned?,
    };
    // Every table is in the report from here on; each says how far it got.
    let names: Vec<String> = planned.iter().map(|t| t.table.clone()).collect();
    let not_yet = |table: &str| TableReport { table: table.to_string(), outcome: TableOutcome::NotCommitted, ..Default::default() };
    // The pool's key, only when a table pseudonymises (it is generated at first use).
    let key = if request.tables.iter().any(|t| !t.pseudonymise.is_empty()) { Some(pool.pseudonymisation_key()?) } else { None };
    let mut staged: Vec<(Staged, Instant)> = Vec::new();
    let mut idle: Vec<TableReport> = Vec::new();
    let abort_all = |staged: Vec<(Staged, Instant)>, reports: &mut Vec<TableReport>| {
        let mut writers = Vec::new();
        for (s, _) in staged {
            reports.push(TableReport { outcome: TableOutcome::NotCommitted, ..s.report });
            writers.push(s.writer);
        }
        writers
    };
    for (i, table) in planned.iter().enumerate() {
        let columns = request.tables.iter().find(|t| t.table == table.table && !t.is_empty()).map(|settings| Columns {
            settings: settings.clone(),
            pseudonymiser: (!settings.pseudonymise.is_empty()).then(|| Pseudonymiser::new(&settings.pseudonymise, key.as_deref().expect("key loaded for pseudonymisation"))),
        });
        let started = Instant::now();
        let staging = TableStaging { pool, source, planned: table, request, columns: columns.as_ref(), concurrency, progress: progress.clone() };
        let staging = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(ExtractError::Cancelled),
            staging = staging.stage() => staging,
        };
        match staging {
            Ok(StageOutcome::Staged(s)) => staged.push((*s, started)),
            Ok(StageOutcome::NothingNew(mut report)) => {
                report.outcome = TableOutcome::NothingNew;
                report.seconds = started.elapsed().as_secs_f64();
                progress.table_nothing_new(&report.table, report.total_rows);
                idle.push(*report);
            }
            Err(e) => {
                reports.append(&mut idle);
                for w in abort_all(staged, reports) {
                    w.abort().await;
                }
                if !matches!(e, ExtractError::Cancelled) {
                    reports.push(TableReport { table: table.table.clone(), outcome: TableOutcome::Failed, error: Some(e.to_string()), seconds: started.elapsed().as_secs_f64(), ..Default::default() });
                } else {
                    reports.push(not_yet(&table.table));
                }
                reports.extend(names[i + 1..].iter().map(|t| not_yet(t)));
                return Err(e);
            }
        }
    }
    reports.append(&mut idle);
    let mut pending = staged.into_iter();
    while let Some((s, started)) = pending.next() {
        // A checkpoint between commits: tables committed so far stay, the rest keep their
        // old snapshot.
        if cancel.is_cancelled() {
            let rest: Vec<(Staged, Instant)> = std::iter::once((s, started)).chain(pending).collect();
            for w in abort_all(rest, reports) {
                w.abort().await;
            }
            return Err(ExtractError::Cancelled);
        }
        let change = s.change();
        let renamed = s.writer.renamed_columns().to_vec();
        match s.writer.commit(change, job_id).await {
            Ok(summary) => {
                let mut report = s.report;
                report.renamed_columns = renamed;
                report.commit_retries = summary.conflicts;
                if !summary.already_loaded.is_empty() {
                    // Committed by another writer meanwhile: not this run's rows.
                    let theirs: std::collections::HashSet<&str> = summary.already_loaded.iter().map(String::as_str).collect();
                    report.loaded.retain(|k| !theirs.contains(k.as_str()));
                    report.changed.retain(|c| !theirs.contains(c.key.as_str()));
                    report.bytes -= s.objects.iter().filter(|o| theirs.contains(o.key.as_str())).map(|o| o.size).sum::<u64>();
                    report.rows = summary.rows_added;
                    report.unchanged += summary.already_loaded.len();
                    report.already_loaded = summary.already_loaded.clone();
                }
                if !summary.already_removed.is_empty() {
                    // Removed by another writer meanwhile: this run's commit removed none of their rows.
                    report.removed.retain(|r| !summary.already_removed.contains(&r.key));
                }
                if summary.conflicts > 0 {
                    let skipped = match summary.already_loaded.len() {
                        0 => String::new(),
                        n => format!("; {n} object(s) they had committed already were left out"),
                    };
                    progress.note(&format!("{}: other writers committed the table first ({} time(s)); the commit was rebuilt on its new state and retried{skipped}", report.table, summary.conflicts));
                }
                report.snapshot_id = Some(summary.snapshot_id);
                report.total_rows = summary.total_rows;
                report.seconds = started.elapsed().as_secs_f64();
                if summary.committed {
                    report.committed = true;
                    report.outcome = TableOutcome::Committed;
                    progress.table_done(&report.table, report.rows);
                } else {
                    report.outcome = TableOutcome::NothingNew;
                    progress.table_nothing_new(&report.table, report.total_rows);
                }
                reports.push(report);
            }
            Err(e) => {
                let e = ExtractError::from(e);
                reports.push(TableReport { outcome: TableOutcome::Failed, error: Some(e.to_string()), seconds: started.elapsed().as_secs_f64(), ..s.report });
                for w in abort_all(pending.collect(), reports) {
                    w.abort().await;
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

/// A table's column settings, ready to apply.
#[derive(Clone)]
struct Columns {
    settings: TableSettings,
    pseudonymiser: Option<Pseudonymiser>,
}

/// What staging one table came to.
enum StageOutcome {
    /// Its objects are read into a writer, ready to commit.
    Staged(Box<Staged>),
    /// Nothing new to load or remove (a delta whose objects are all unchanged): no commit.
    NothingNew(Box<TableReport>),
}

/// Staging one table: what it needs from the run, borrowed for the table's duration. Staging
/// selects the objects to read (a delta compares them with the ledger), then runs attempts
/// ([`StageAttempt`]) until one stages the table: a file may need a wider schema than the first
/// files gave, or (with type fallback) a column as text.
struct TableStaging<'a> {
    pool: &'a Pool,
    source: &'a S3Source,
    planned: &'a PlannedTable,
    request: &'a ExtractRequest,
    columns: Option<&'a Columns>,
    concurrency: usize,
    progress: Arc<dyn Progress>,
}

impl TableStaging<'_> {
    async fn stage(&self) -> Result<StageOutcome, ExtractError> {
        let planned = self.planned;
        let mut report = TableReport { table: planned.table.clone(), skipped: planned.skipped.clone(), ..Default::default() };
        let existing = self.pool.table_schema(&planned.table).await?;
        let selected = self.select(&mut report).await?;
        if selected.is_empty() && report.removed.is_empty() {
            // Nothing new: the table keeps its rows (the report says how many it holds).
            if existing.is_some() {
                report.total_rows = self.pool.table(&planned.table).await?.rows;
            }
            return Ok(StageOutcome::NothingNew(Box::new(report)));
        }
        if selected.is_empty() {
            // Only removals: a commit that drops the rows of the objects gone from the source.
            let schema = existing.clone().ok_or_else(|| ExtractError::Incomplete { table: planned.table.clone(), message: "the table to remove objects from does not exist".into() })?;
            let writer = self.pool.begin_write(&planned.table, &schema, LoadMode::Delta).await?;
            return Ok(StageOutcome::Staged(Box::new(Staged { writer, objects: Vec::new(), report })));
        }

        let mut read = self.request.read.clone();
        // Pseudonymised columns are read as the files' text (CSV, JSON), so the hash is of the value
        // as written (`007`, not 7).
        for c in self.columns.iter().flat_map(|c| c.settings.pseudonymise.iter()) {
            if !read.text_columns.contains(c) {
                read.text_columns.push(c.clone());
            }
        }
        let mut seed: Option<Evolution> = None;
        loop {
            let attempt = StageAttempt { table: self, selected: &selected, existing: existing.clone(), read: &read };
            match attempt.run(seed.as_ref(), report.clone()).await {
                // A file further on needs a wider schema than the first files gave: stage again with it.
                Ok(Attempt::Widen(evolution)) => seed = Some(evolution),
                Ok(Attempt::Staged(staged)) => return Ok(StageOutcome::Staged(staged)),
                Err(ExtractError::Format(e)) if self.request.type_fallback => match e.type_mismatch_column() {
                    Some(col) if !read.text_columns.iter().any(|c| c == col) => {
                        self.progress.note(&format!("{}: {e}; loading column '{col}' as text instead", planned.table));
                        read.text_columns.push(col.to_string());
                        report.text_columns.push(col.to_string());
                    }
                    _ => return Err(ExtractError::Format(e)),
                },
                Err(e) => return Err(e),
            }
        }
    }

    /// The objects to read: every one (full load), or those the ledger does not hold in this
    /// version (delta). Fills in the report's unchanged, changed and (with `remove`) removed ones.
    async fn select(&self, report: &mut TableReport) -> Result<Vec<(ObjectInfo, FileKind)>, ExtractError> {
        let planned = self.planned;
        if self.request.mode != LoadMode::Delta {
            return Ok(planned.objects.clone());
        }
        // A sharded load sees only its shard's keys: of the source, and of the ledger (so
        // `deleted: remove` never removes what the other workers load).
        let shard = self.request.shard;
        let mine = |key: &str| shard.is_none_or(|s| s.contains(key));
        let objects: Vec<&(ObjectInfo, FileKind)> = planned.objects.iter().filter(|(o, _)| mine(&o.key)).collect();
        report.other_shards = planned.objects.len() - objects.len();
        let mut selected = Vec::new();
        let ledger = self.pool.ledger(&planned.table).await?;
        for (o, k) in objects {
            match ledger.get(&o.key) {
                Some(had) if had.version == o.version() => report.unchanged += 1,
                Some(had) => {
                    report.changed.push(ChangedObject { key: o.key.clone(), rows_before: had.rows, rows_after: 0 });
                    selected.push((o.clone(), *k));
                }
                None => selected.push((o.clone(), *k)),
            }
        }
        if self.request.deleted == DeletedObjects::Remove {
            let listed: std::collections::HashSet<&str> = planned.objects.iter().map(|(o, _)| o.key.as_str()).collect();
            report.removed = ledger.objects.values().filter(|o| mine(&o.key) && !listed.contains(o.key.as_str())).map(|o| RemovedObject { key: o.key.clone(), rows: o.rows }).collect();
        }
        Ok(selected)
    }
}

/// One staging attempt: the table staged, or the wider schema a file needs (stage again with it).
enum Attempt {
    Staged(Box<Staged>),
    Widen(Evolution),
}

/// The schema a load writes with, and (delta loads) the differences from the table's schema
/// that led to it.
#[derive(Clone, Debug)]
struct Evolution {
    schema: Schema,
    changes: Vec<SchemaChange>,
}

/// One object, opened (its schema known), ready to stream.
struct Source {
    info: ObjectInfo,
    kind: FileKind,
    opened: OpenedFile,
    /// The file's schema as the table sees it (after the table's column settings).
    schema: SchemaRef,
}

impl Source {
    fn new(info: ObjectInfo, kind: FileKind, opened: OpenedFile, columns: Option<&Columns>) -> Source {
        let schema = match columns {
            Some(c) => Arc::new(c.settings.view(&opened.schema())),
            None => opened.schema(),
        };
        Source { info, kind, opened, schema }
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

fn object_name(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// How many ranged GETs of one object may be in flight ([`S3Source::read_stream`], a Parquet row
/// group's column chunks): the connection's request concurrency shared by the objects that stream
/// at once, so a single big file gets all of it and a folder of many files keeps one request per
/// object.
fn ranges_per_object(concurrency: usize, objects: usize) -> usize {
    (concurrency / objects.clamp(1, concurrency.max(1))).max(1)
}

/// Opens one object for its reader: Parquet through ranged reads of its footer and column chunks
/// (a row group's chunks with up to `parallel` GETs in flight), other formats as a byte stream
/// ([`S3Source::read_stream`] with up to `parallel` ranged GETs in flight).
async fn open_file(source: &S3Source, info: &ObjectInfo, kind: FileKind, read: &ReadOptions, parallel: usize, progress: &dyn Progress) -> Result<OpenedFile, ExtractError> {
    let name = object_name(source.bucket(), &info.key);
    let opened = match kind.format {
        FileFormat::Parquet => {
            let (store, path) = source.locate(&info.key)?;
            open_parquet(&name, store, path, info.size, info.etag.clone(), read.batch_size, parallel).await?
        }
        _ => {
            let stream = source.read_stream(info, parallel).await?.map_err(std::io::Error::other).boxed();
            open_text(&name, kind, stream, read).await?
        }
    };
    // What the reader detected (a CSV file's dialect) and its warnings.
    for note in opened.notes() {
        progress.note(&format!("{name}: {note}"));
    }
    Ok(opened)
}

/// How a file's own schema is checked against the table's while it streams.
#[derive(Clone)]
struct SchemaCheck {
    table: String,
    bucket: String,
    format: FileFormat,
    type_fallback: bool,
    /// Delta into an existing table: files are checked against the table's schema as it evolves.
    delta: Option<DeltaSchema>,
    /// The data columns of the table being written (without the source columns).
    data: Schema,
    /// Changes that led from the table's schema to `data` (delta loads).
    changes: Vec<SchemaChange>,
    /// The file the schema was first taken from (named in mismatch errors).
    reference: String,
}

/// A delta load's view of the table's schema before the load.
#[derive(Clone)]
struct DeltaSchema {
    /// The table's data columns before this load.
    before: Schema,
    policy: OnSchemaChange,
}

enum Fit {
    Fits,
    /// The file needs this wider schema (a type widened, or a JSON key the others lack).
    Widen(Evolution),
}

impl SchemaCheck {
    fn check(&self, f: &Source) -> Result<Fit, ExtractError> {
        let name = object_name(&self.bucket, &f.info.key);
        if let Some(delta) = &self.delta {
            let mut changes = self.changes.clone();
            let evolved = evolve(&self.table, &delta.before, &self.data, &f.schema(), &name, f.kind.format, delta.policy, &mut changes)?;
            // Only a different schema needs a new attempt; a difference that changes nothing in
            // it (a missing column, text into a text column) is reported all the same.
            let same = evolved.fields().len() == self.data.fields().len()
                && evolved.fields().iter().all(|m| self.data.field_with_name(m.name()).is_ok_and(|d| d.data_type() == m.data_type()));
            return Ok(if same && changes.len() == self.changes.len() { Fit::Fits } else { Fit::Widen(Evolution { schema: evolved, changes }) });
        }
        let merged = unify(&self.data, &self.reference, &f.schema(), &name, self.format, self.type_fallback)?;
        let same = merged.fields().len() == self.data.fields().len()
            && merged.fields().iter().all(|m| self.data.field_with_name(m.name()).is_ok_and(|d| d.data_type() == m.data_type()));
        Ok(if same { Fit::Fits } else { Fit::Widen(Evolution { schema: merged, changes: Vec::new() }) })
    }
}

/// The schema with each column's type as an Iceberg table stores it (a column without values
/// and types it cannot store stay as they are: writing names the latter).
fn storable(schema: &Schema) -> Schema {
    let stored = |t: &DataType| match t {
        // No values (yet): fits any type (`unify`), stays so.
        DataType::Null => DataType::Null,
        t => lakeport_pool::storable_type(t).unwrap_or_else(|_| t.clone()),
    };
    Schema::new(schema.fields().iter().map(|f| f.as_ref().clone().with_data_type(stored(f.data_type()))).collect::<Vec<_>>())
}

/// Folds one file's schema into a delta load's schema `current` (data columns), recording each
/// difference from the table's schema `before` in `changes` (once per column and kind, naming
/// the first file). Rules: see [`OnSchemaChange`]; type widening as in a folder (`unify`), and a
/// widened type must be a promotion Iceberg allows.
#[allow(clippy::too_many_arguments)]
fn evolve(
    table: &str,
    before: &Schema,
    current: &Schema,
    file: &Schema,
    file_name: &str,
    format: FileFormat,
    policy: OnSchemaChange,
    changes: &mut Vec<SchemaChange>,
) -> Result<Schema, ExtractError> {
    let drift = |detail: String| ExtractError::Drift { file: file_name.to_string(), table: table.to_string(), detail };
    // Types compared as the table stores them (a file's Binary is the table's LargeBinary, its
    // nanosecond timestamps the table's microseconds: `conform` converts, exactly).
    let (before, current, file) = (&storable(before), &storable(current), &storable(file));
    // Union of columns (a file may lack some, JSON-style), types widened as across a folder;
    // `text` lets a scalar conflict become text (allowed below only where the table has text).
    let merged = unify(current, &format!("table '{table}'"), file, file_name, FileFormat::Json, policy == OnSchemaChange::Text)
        .map_err(|e| match e {
            lakeport_formats::FormatError::SchemaMismatch { difference, .. } => {
                drift(format!("{difference}; Iceberg cannot change a column to this type, so a full load is needed (or --on-schema-change text where the column is text)"))
            }
            other => other.into(),
        })?;
    let mut note = |column: &str, change: SchemaChangeKind, old: Option<&DataType>, new: Option<&DataType>| {
        let new_type = new.map(|t| t.to_string());
        match changes.iter_mut().find(|c| c.column == column && c.change == change) {
            // Widened again by a later file: the report shows the type the table gets.
            Some(c) => c.new_type = new_type,
            None => changes.push(SchemaChange { column: column.to_string(), change, old_type: old.map(|t| t.to_string()), new_type, file: file_name.to_string() }),
        }
    };
    let mut fields = Vec::with_capacity(merged.fields().len());
    for m in merged.fields() {
        let table_type = before.field_with_name(m.name()).ok().map(|f| f.data_type().clone());
        let file_type = file.field_with_name(m.name()).ok().map(|f| f.data_type().clone());
        let mut field = m.as_ref().clone();
        match (&table_type, &file_type) {
            (None, Some(t)) => {
                if policy == OnSchemaChange::Fail {
                    return Err(drift(format!("new column '{}' ({t}); --on-schema-change fail keeps the table's schema", m.name())));
                }
                note(m.name(), SchemaChangeKind::Added, None, Some(m.data_type()));
            }
            (Some(old), _) if old != m.data_type() => {
                let stored = |t: &DataType| lakeport_pool::storable_type(t).unwrap_or_else(|_| t.clone());
                if policy == OnSchemaChange::Fail {
                    return Err(drift(format!("column '{}' is {} here but {old} in the table; --on-schema-change fail keeps the table's schema", m.name(), file_type.clone().unwrap_or(DataType::Null))));
                }
                if m.data_type() == &DataType::Utf8 {
                    return Err(drift(format!(
                        "column '{}' is {old} in the table but this file has values of type {} that only text would hold; Iceberg cannot change a column to text, so a full load is needed",
                        m.name(),
                        file_type.clone().unwrap_or(DataType::Null)
                    )));
                }
                if !lakeport_pool::promotable(&stored(old), &stored(m.data_type())) {
                    return Err(drift(format!(
                        "column '{}' would change from {old} to {}, which is not a type promotion Iceberg allows (int → long, float → double, decimal precision); a full load is needed",
                        m.name(),
                        m.data_type()
                    )));
                }
                note(m.name(), SchemaChangeKind::Promoted, Some(old), Some(m.data_type()));
            }
            (Some(old), Some(t)) if old == &DataType::Utf8 && t != &DataType::Utf8 && t != &DataType::Null && policy == OnSchemaChange::Text => {
                note(m.name(), SchemaChangeKind::AsText, Some(old), Some(t));
            }
            (Some(old), None) if format != FileFormat::Json && m.name() != SOURCE_KEY && m.name() != SOURCE_MODIFIED => {
                if policy == OnSchemaChange::Fail {
                    return Err(drift(format!("column '{}' is missing; --on-schema-change fail keeps the table's schema", m.name())));
                }
                note(m.name(), SchemaChangeKind::Missing, Some(old), None);
            }
            _ => {}
        }
        field = field.with_nullable(true);
        fields.push(field);
    }
    Ok(Schema::new(fields))
}

/// One staging attempt with fixed read options: probe the first files, decide the table's
/// schema, stream every object into a writer.
struct StageAttempt<'a> {
    table: &'a TableStaging<'a>,
    selected: &'a [(ObjectInfo, FileKind)],
    existing: Option<SchemaRef>,
    read: &'a ReadOptions,
}

/// What the schema probe found: the first objects opened (those with columns, and the empty
/// ones), and the objects the load opens as it streams.
struct Probe {
    files: Vec<Source>,
    empty: Vec<Source>,
    rest: Vec<(ObjectInfo, FileKind)>,
}

/// What the probe decided.
enum Decision {
    /// The table's schema: every probed file fits it, and later files are checked against it.
    Load(Box<LoadPlan>),
    /// Every probed object is empty and the table exists (a delta): nothing to read; these
    /// are their ledger entries.
    OnlyEmpty(Vec<LoadedObject>),
}

struct LoadPlan {
    target: Schema,
    check: SchemaCheck,
    probe: Probe,
}

/// What a reader task tells the writing task.
enum Msg {
    /// A batch of rows and the key of the object it came from (named if writing it fails).
    Batch(RecordBatch, String),
    Done { key: String, rows: u64, bytes: u64 },
    Empty { key: String },
    Widen(Evolution),
}

/// Why the writing task stopped before every object was done.
enum Stop {
    Failed(ExtractError),
    Widen(Evolution),
}

impl StageAttempt<'_> {
    async fn run(&self, seed: Option<&Evolution>, mut report: TableReport) -> Result<Attempt, ExtractError> {
        let probe = self.probe().await?;
        match self.decide_schema(probe, seed, &mut report)? {
            Decision::Load(plan) => self.stream_into_writer(*plan, report).await,
            Decision::OnlyEmpty(objects) => self.only_empty(objects, report).await,
        }
    }

    fn bucket(&self) -> &str {
        self.table.source.bucket()
    }

    /// Schema probe: the first files (CSV/JSON: their samples; Parquet: every footer, cheap
    /// ranged GETs) fix the table's schema, at least one of them with columns. They stay open for
    /// the load. Every later file is opened once, by the load, and checked against that schema as
    /// it streams (one GET per object, not two); a file that needs a wider type restarts staging.
    async fn probe(&self) -> Result<Probe, ExtractError> {
        let (t, selected) = (self.table, self.selected);
        let (source, read, columns, concurrency) = (t.source, self.read, t.columns, t.concurrency);
        let notes: &dyn Progress = t.progress.as_ref();
        let parallel = ranges_per_object(concurrency, selected.len());
        let open = |(info, kind): (ObjectInfo, FileKind)| async move {
            let opened = open_file(source, &info, kind, read, parallel, notes).await?;
            Ok::<_, ExtractError>(Source::new(info, kind, opened, columns))
        };
        let probe_len = if t.planned.format == FileFormat::Parquet { selected.len() } else { concurrency.min(selected.len()) };
        let mut probed: Vec<Source> = Vec::new();
        let (mut next, mut end) = (0, probe_len);
        // Past the probe only while every file so far was empty.
        while next < selected.len() && (next == 0 || probed.iter().all(|f| f.schema().fields().is_empty())) {
            let batch: Vec<Source> = futures::stream::iter(selected[next..end].iter().cloned()).map(open).buffered(concurrency).try_collect().await?;
            probed.extend(batch);
            next = end;
            end = (next + concurrency).min(selected.len());
        }
        // Column settings name columns the files have (those of the probed files).
        if let Some(c) = columns {
            let mut available: Vec<String> = Vec::new();
            for f in &probed {
                for field in f.opened.schema().fields() {
                    if !available.contains(field.name()) {
                        available.push(field.name().clone());
                    }
                }
            }
            if !available.is_empty() {
                c.settings.check_columns(&available)?;
            }
        }
        // Empty objects (no columns at all) have nothing to contribute.
        let (empty, files): (Vec<Source>, Vec<Source>) = probed.into_iter().partition(|f| f.schema().fields().is_empty());
        Ok(Probe { files, empty, rest: selected[next..].to_vec() })
    }

    /// A delta into an existing table has its table already.
    fn delta_into_existing(&self) -> bool {
        matches!((&self.existing, self.table.request.mode), (Some(_), LoadMode::Delta))
    }

    /// The table's schema: a delta load into an existing table reads with the table's columns
    /// (evolved by what the files bring, within `on_schema_change`); otherwise the probed files'
    /// schemas are unified (with the wider schema of an earlier attempt), the first file being
    /// the reference.
    fn decide_schema(&self, probe: Probe, seed: Option<&Evolution>, report: &mut TableReport) -> Result<Decision, ExtractError> {
        let (t, bucket) = (self.table, self.bucket());
        let (planned, request) = (t.planned, t.request);
        for e in &probe.empty {
            if planned.single_file && !self.delta_into_existing() {
                return Err(ExtractError::EmptyFile(object_name(bucket, &e.info.key)));
            }
            report.skipped_empty.push(e.info.key.clone());
        }
        let files = &probe.files;
        if files.is_empty() {
            if self.delta_into_existing() {
                return Ok(Decision::OnlyEmpty(probe.empty.iter().map(|e| loaded_object(&e.info, 0)).collect()));
            }
            return Err(ExtractError::EmptyFile(format!("every file in the folder for table '{}'", planned.table)));
        }
        let source_cols = [Field::new(SOURCE_KEY, DataType::Utf8, true), Field::new(SOURCE_MODIFIED, DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())), true)];
        let reference = object_name(bucket, &files[0].info.key);
        let delta = match (&self.existing, request.mode) {
            (Some(table_schema), LoadMode::Delta) => Some(DeltaSchema { before: data_schema(table_schema), policy: request.on_schema_change }),
            _ => None,
        };
        let mut changes: Vec<SchemaChange> = seed.map(|s| s.changes.clone()).unwrap_or_default();
        let target: Schema = match (&self.existing, &delta) {
            (Some(table_schema), Some(d)) => {
                // Delta: the table's columns, evolved by each probed file (and by later files that
                // needed more: the seed of this attempt).
                let mut data = seed.map(|s| data_schema(&s.schema)).unwrap_or_else(|| d.before.clone());
                for f in files {
                    data = evolve(&planned.table, &d.before, &data, &f.schema(), &object_name(bucket, &f.info.key), f.kind.format, d.policy, &mut changes)?;
                }
                // Source columns stay where the table has them; added columns come after.
                let mut fields: Vec<Field> = Vec::new();
                for t in table_schema.fields() {
                    fields.push(data.field_with_name(t.name()).cloned().unwrap_or_else(|_| t.as_ref().clone()));
                }
                fields.extend(data.fields().iter().filter(|f| table_schema.field_with_name(f.name()).is_err()).map(|f| f.as_ref().clone()));
                Schema::new(fields)
            }
            _ => {
                let mut schema = seed.map(|s| s.schema.clone()).unwrap_or_else(|| files[0].schema().as_ref().clone());
                for f in files {
                    schema = unify(&schema, &reference, &f.schema(), &object_name(bucket, &f.info.key), planned.format, request.type_fallback)?;
                }
                if request.source_columns && schema.field_with_name(SOURCE_KEY).is_err() {
                    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
                    fields.extend(source_cols.iter().cloned());
                    schema = Schema::new(fields);
                }
                schema
            }
        };
        report.schema_changes = changes.clone();
        let check = SchemaCheck {
            table: planned.table.clone(),
            bucket: bucket.to_string(),
            format: planned.format,
            type_fallback: request.type_fallback,
            delta,
            data: data_schema(&target),
            changes,
            reference,
        };
        Ok(Decision::Load(Box::new(LoadPlan { target, check, probe })))
    }

    /// Every object of this delta is empty (new empty objects, or changed ones that were
    /// emptied): no rows to read, but the commit still records them in the ledger and drops the
    /// earlier rows of the changed ones.
    async fn only_empty(&self, objects: Vec<LoadedObject>, report: TableReport) -> Result<Attempt, ExtractError> {
        let table = &self.table.planned.table;
        let schema = self.existing.as_ref().ok_or_else(|| ExtractError::Incomplete { table: table.clone(), message: "the table to record empty objects in does not exist".into() })?;
        let writer = self.table.pool.begin_write(table, schema, LoadMode::Delta).await?;
        Ok(Attempt::Staged(Box::new(Staged { writer, objects, report })))
    }

    /// Load: up to `concurrency` objects stream at once, each decoded in a task of its own (so
    /// decoding spreads over the cores), into a bounded channel; this task writes. The probed
    /// files are already open; the rest are opened here and checked against the schema.
    async fn stream_into_writer(&self, plan: LoadPlan, mut report: TableReport) -> Result<Attempt, ExtractError> {
        let t = self.table;
        let (planned, progress) = (t.planned, &t.progress);
        let with_source_cols = plan.target.field_with_name(SOURCE_KEY).is_ok();
        let mut writer = t.pool.begin_write(&planned.table, &plan.target, t.request.mode).await?;
        let table_schema = writer.schema();
        let adapters = BatchAdapters { data_target: Arc::new(data_schema(&table_schema)), table_schema, with_source_cols, columns: t.columns.cloned() };
        let Probe { files, empty, rest } = plan.probe;
        progress.table_started(&planned.table, self.selected.len() - empty.len(), self.selected.iter().map(|(o, _)| o.size).sum());

        let (tx, mut rx) = mpsc::channel::<Result<Msg, ExtractError>>(HANDOFF);
        let parallel = ranges_per_object(t.concurrency, self.selected.len());
        let reader = ObjectReader { source: t.source.clone(), read: self.read.clone(), parallel, progress: progress.clone(), check: plan.check, adapters, tx };
        let work = files.into_iter().map(Ok).chain(rest.into_iter().map(Err));
        let concurrency = t.concurrency;
        let producer = tokio::spawn(async move { futures::stream::iter(work).for_each_concurrent(concurrency, |job| reader.clone().read(job)).await });

        // Empty objects count as loaded (with no rows), so a delta load does not revisit them.
        let mut objects: Vec<LoadedObject> = empty.iter().map(|e| loaded_object(&e.info, 0)).collect();
        let infos: std::collections::HashMap<String, ObjectInfo> = self.selected.iter().map(|(o, _)| (o.key.clone(), o.clone())).collect();
        let stop = loop {
            match rx.recv().await {
                None => break None,
                Some(Ok(Msg::Batch(b, key))) => {
                    if let Err(e) = writer.write(&key, &b).await {
                        break Some(Stop::Failed(ExtractError::Write { file: object_name(self.bucket(), &key), source: Box::new(e) }));
                    }
                }
                Some(Ok(Msg::Done { key, rows, bytes })) => {
                    // Close the object's data files now: memory stays bounded by the open objects.
                    if let Err(e) = writer.finish_object(&key).await {
                        break Some(Stop::Failed(ExtractError::Write { file: object_name(self.bucket(), &key), source: Box::new(e) }));
                    }
                    progress.file_done(&planned.table, &key, rows, bytes);
                    report.rows += rows;
                    report.bytes += bytes;
                    objects.push(loaded_object(&infos[&key], rows));
                    if let Some(c) = report.changed.iter_mut().find(|c| c.key == key) {
                        c.rows_after = rows;
                    }
                    report.loaded.push(key);
                }
                Some(Ok(Msg::Empty { key })) => {
                    objects.push(loaded_object(&infos[&key], 0));
                    report.skipped_empty.push(key);
                }
                Some(Ok(Msg::Widen(evolution))) => break Some(Stop::Widen(evolution)),
                Some(Err(e)) => break Some(Stop::Failed(e)),
            }
        };
        if let Some(stop) = stop {
            // Dropping the receiver ends the readers at their next send.
            drop(rx);
            producer.abort();
            writer.abort().await;
            return match stop {
                Stop::Failed(e) => Err(e),
                Stop::Widen(evolution) => {
                    progress.note(&format!("{}: a file needs a wider schema than the first files; staging again", planned.table));
                    Ok(Attempt::Widen(evolution))
                }
            };
        }
        // A reader that panicked, or any object that did not report completion, fails the load:
        // committing would lose rows silently.
        let incomplete = match producer.await {
            Err(e) => Some(format!("a reader task failed: {e}")),
            Ok(()) if objects.len() != self.selected.len() => Some(format!("only {} of {} objects were read completely", objects.len(), self.selected.len())),
            Ok(()) => None,
        };
        if let Some(message) = incomplete {
            writer.abort().await;
            return Err(ExtractError::Incomplete { table: planned.table.clone(), message });
        }
        report.loaded.sort();
        report.skipped_empty.sort();
        Ok(Attempt::Staged(Box::new(Staged { writer, objects, report })))
    }
}

/// The columns of a schema without the source metadata columns.
fn data_schema(s: &Schema) -> Schema {
    Schema::new(s.fields().iter().filter(|f| f.name() != SOURCE_KEY && f.name() != SOURCE_MODIFIED).cloned().collect::<Vec<_>>())
}

/// What happens to a file's batches between its reader and the writer, in order: projection to
/// the table's columns (a file read whole because the table leaves some of its columns out),
/// pseudonymisation, and the source metadata columns (`_source_key`, `_source_modified`).
#[derive(Clone)]
struct BatchAdapters {
    /// The table's columns without the source metadata columns: what readers decode into.
    data_target: SchemaRef,
    table_schema: SchemaRef,
    with_source_cols: bool,
    columns: Option<Columns>,
}

impl BatchAdapters {
    /// The file's batches as the table takes them.
    fn batches(&self, opened: OpenedFile, info: &ObjectInfo, bucket: &str, read: &ReadOptions) -> BatchStream {
        let wider = self.columns.as_ref().and_then(|c| c.settings.read_target(&opened.schema(), &self.data_target));
        let batches = opened.into_batches(wider.clone().unwrap_or_else(|| self.data_target.clone()), read);
        let name = object_name(bucket, &info.key);
        let (this, info) = (self.clone(), info.clone());
        let pseudonymiser = self.columns.as_ref().and_then(|c| c.pseudonymiser.clone());
        batches
            .map(move |b| {
                let b = match (b, &wider) {
                    (Ok(b), Some(_)) => crate::settings::project(b, &this.data_target, &name),
                    (other, _) => other,
                };
                let b = match (b, &pseudonymiser) {
                    (Ok(b), Some(p)) => p.apply(b, &name),
                    (other, _) => other,
                };
                match b {
                    Ok(b) if this.with_source_cols => add_source_columns(b, &this.table_schema, &info),
                    other => other,
                }
            })
            .boxed()
    }
}

/// Reads one object in a task of its own and sends its batches (then `Done`) to the writing
/// task. A probed object comes open (`Ok`); any other is opened here and checked against the
/// table's schema first.
#[derive(Clone)]
struct ObjectReader {
    source: S3Source,
    read: ReadOptions,
    /// Ranged GETs of one object in flight ([`ranges_per_object`]).
    parallel: usize,
    progress: Arc<dyn Progress>,
    check: SchemaCheck,
    adapters: BatchAdapters,
    tx: mpsc::Sender<Result<Msg, ExtractError>>,
}

impl ObjectReader {
    async fn read(self, job: Result<Source, (ObjectInfo, FileKind)>) {
        let file = object_name(self.source.bucket(), match &job {
            Ok(f) => &f.info.key,
            Err((info, _)) => &info.key,
        });
        let panic_tx = self.tx.clone();
        let task = tokio::spawn(async move {
            let tx = self.tx.clone();
            if let Err(e) = self.stream(job).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        // A task that panicked sends no Done: the completeness check catches it, and the error
        // names the file whose reader failed.
        if let Err(e) = task.await {
            let message = format!("its reader failed ({}); nothing was loaded", if e.is_panic() { "a bug in a library lakeport uses; please report it" } else { "cancelled" });
            let _ = panic_tx.send(Err(FormatError::Read { file, message, cause: lakeport_formats::ReadCause::Bug }.into())).await;
        }
    }

    /// Sends the object's batches; `Err` for a failure to send on.
    async fn stream(self, job: Result<Source, (ObjectInfo, FileKind)>) -> Result<(), ExtractError> {
        let f = match job {
            Ok(probed) => probed,
            Err((info, kind)) => {
                let opened = open_file(&self.source, &info, kind, &self.read, self.parallel, self.progress.as_ref()).await?;
                let f = Source::new(info, kind, opened, self.adapters.columns.as_ref());
                if f.schema().fields().is_empty() {
                    let _ = self.tx.send(Ok(Msg::Empty { key: f.info.key.clone() })).await;
                    return Ok(());
                }
                match self.check.check(&f)? {
                    Fit::Fits => f,
                    Fit::Widen(evolution) => {
                        let _ = self.tx.send(Ok(Msg::Widen(evolution))).await;
                        return Ok(());
                    }
                }
            }
        };
        let Source { info, opened, .. } = f;
        let mut batches = self.adapters.batches(opened, &info, self.source.bucket(), &self.read);
        let mut rows = 0u64;
        while let Some(b) = batches.next().await {
            let b = b?;
            rows += b.num_rows() as u64;
            if self.tx.send(Ok(Msg::Batch(b, info.key.clone()))).await.is_err() {
                return Ok(());
            }
        }
        let _ = self.tx.send(Ok(Msg::Done { key: info.key, rows, bytes: info.size })).await;
        Ok(())
    }
}

/// The ledger entry of an object loaded with `rows` rows (the writer fills in its data files).
fn loaded_object(info: &ObjectInfo, rows: u64) -> LoadedObject {
    LoadedObject {
        key: info.key.clone(),
        version: info.version(),
        size: info.size,
        modified_ms: info.last_modified.timestamp_millis(),
        rows,
        data_files: Vec::new(),
    }
}

fn add_source_columns(batch: RecordBatch, table_schema: &SchemaRef, info: &ObjectInfo) -> Result<RecordBatch, FormatError> {
    let n = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(table_schema.fields().len());
    for f in table_schema.fields() {
        let col: ArrayRef = match f.name().as_str() {
            SOURCE_KEY => Arc::new(StringArray::from(vec![info.key.as_str(); n])),
            SOURCE_MODIFIED => Arc::new(TimestampMicrosecondArray::from(vec![info.last_modified.timestamp_micros(); n]).with_timezone("+00:00")),
            name => batch.column_by_name(name).cloned().expect("conformed batch has every data column"),
        };
        columns.push(col);
    }
    RecordBatch::try_new(table_schema.clone(), columns)
        .map_err(|e| FormatError::Parse { file: info.key.clone(), at: Default::default(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::ranges_per_object;

    #[test]
    fn the_request_concurrency_is_shared_by_the_objects_streaming_at_once() {
        for (concurrency, objects, ranges) in [(8, 1, 8), (8, 2, 4), (8, 3, 2), (8, 8, 1), (8, 200, 1), (1, 1, 1), (4, 0, 4)] {
            assert_eq!(ranges_per_object(concurrency, objects), ranges, "concurrency {concurrency}, {objects} objects");
        }
    }
}
