//! Runs: the job bookkeeping of every extraction, for the CLI, the server and the scheduler alike.
//!
//! A run is a job of the pool's job log (`run id == job id`). [`begin`] holds the run's tables
//! (the per-table lock in the pool's SQLite, across processes: a full load holds its tables
//! alone, delta loads share them — their commits are optimistic and retried on a conflict, see
//! `lakeport_pool::TableWriter::commit` — so a run that cannot share is refused with
//! `PoolError::TableBusy`) and records the job with
//! its process (pid, host, boot id, start time: `lakeport_pool::ProcessId`); [`execute`] runs it
//! and records how it ended. [`recover`] (called when a command or the server opens a pool) ends
//! every job whose process is gone as `interrupted`, so no job stays "running" forever.
//!
//! Stopping: every run of this process is registered with a [`Stop`]; [`cancel`] stops one
//! (`cancelled`), [`stop_all`] stops all of them on a signal (`interrupted`). A run stops at its
//! next checkpoint (while staging, or between table commits): tables committed before keep their
//! new snapshot, the others their old one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use lakeport_extract::{load, ExtractError, ExtractReport, ExtractRequest, Progress, Relay, TableOutcome};
use lakeport_pool::{Job, JobOrigin, JobStatus, Pool, PoolDir};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::CoreError;

/// Why a run was asked to stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Cancelled on request (the API's cancel): the job ends `cancelled`.
    Cancel(String),
    /// The process was told to end (SIGTERM, SIGINT): the job ends `interrupted`.
    Signal(String),
}

/// The stop switch of one run.
#[derive(Default)]
pub struct Stop {
    token: CancellationToken,
    reason: Mutex<Option<StopReason>>,
}

impl Stop {
    /// Asks the run to stop (the first reason given wins).
    pub fn stop(&self, reason: StopReason) {
        self.reason.lock().expect("stop reason").get_or_insert(reason);
        self.token.cancel();
    }
    /// Why the run was asked to stop; `None` while nobody has.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason.lock().expect("stop reason").clone()
    }
}

struct Active {
    stop: Arc<Stop>,
    done: tokio::sync::watch::Receiver<bool>,
}

/// The runs of this process.
fn active() -> &'static Mutex<HashMap<String, Active>> {
    static ACTIVE: OnceLock<Mutex<HashMap<String, Active>>> = OnceLock::new();
    ACTIVE.get_or_init(Default::default)
}

/// Asks run `id` of this process to stop as cancelled; false when this process does not run it.
pub fn cancel(id: &str, why: &str) -> bool {
    match active().lock().expect("active runs").get(id) {
        Some(a) => {
            a.stop.stop(StopReason::Cancel(why.to_string()));
            true
        }
        None => false,
    }
}

/// Whether this process runs job `id` now.
pub fn is_active(id: &str) -> bool {
    active().lock().expect("active runs").contains_key(id)
}

/// Asks every run of this process to stop (a signal: they end `interrupted` with `why`) and
/// waits until they have recorded how they ended.
pub async fn stop_all(why: &str) {
    let waits: Vec<tokio::sync::watch::Receiver<bool>> = {
        let runs = active().lock().expect("active runs");
        for a in runs.values() {
            a.stop.stop(StopReason::Signal(why.to_string()));
        }
        runs.values().map(|a| a.done.clone()).collect()
    };
    for mut w in waits {
        let _ = w.wait_for(|done| *done).await;
    }
}

/// Ends every job of `pool` whose process is gone as `interrupted` (see the module doc); returns them.
///
/// # Errors
///
/// [`CoreError::Pool`] when the job log cannot be read or written.
pub async fn recover(pool: &Pool) -> Result<Vec<Job>, CoreError> {
    let ended = pool
        .interrupt_orphaned_jobs(|job| match &job.process {
            Some(p) => format!("interrupted: the process running it ({}) ended without finishing it (a crash, SIGKILL or a restart); tables it had not committed keep their previous snapshot", p.describe()),
            None => "interrupted: it was started by an earlier lakeport that did not record its process, and never finished".to_string(),
        })
        .await?;
    for job in &ended {
        tracing::warn!("job {} of pool '{}' was left running by a process that is gone; marked interrupted", job.id, job.pool);
    }
    Ok(ended)
}

/// [`recover`] for every pool of `dir`.
///
/// # Errors
///
/// [`CoreError::Pool`] when the pools cannot be listed or opened, or as [`recover`]. No
/// catalog is asked (the job log is the pool directory's), so a REST catalog that is down does
/// not keep the other pools' runs from being recovered.
pub async fn recover_all(dir: &PoolDir) -> Result<Vec<Job>, CoreError> {
    let mut ended = Vec::new();
    for name in dir.pool_names().await? {
        ended.extend(recover(&dir.pool(&name).await?).await?);
    }
    Ok(ended)
}

/// A run that holds its tables and is recorded as `running`; [`execute`] runs it.
pub struct Begun {
    /// The job as recorded (`running`, with its process).
    pub job: Job,
    /// What to extract.
    pub request: ExtractRequest,
    /// The run's stop switch (also registered for [`cancel`] and [`stop_all`]).
    pub stop: Arc<Stop>,
    done: tokio::sync::watch::Sender<bool>,
}

/// What a run is doing: its job (as recorded) with live progress. The one shape the API and
/// `lakeport jobs --json` show for a run or a job.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct RunState {
    /// The job as recorded (rows counted live while this process runs it).
    #[serde(flatten)]
    pub job: Job,
    /// Seconds from start to end (none while running).
    pub seconds: Option<f64>,
    /// True while a process of this machine that can be asked runs it (this server).
    pub live: bool,
    /// A cancel was asked for and the run has not stopped yet.
    pub cancel_requested: bool,
    /// Live progress: totals only grow, done counts only grow and stay within the totals.
    /// Files to read, so far announced.
    pub files_total: u64,
    /// Files read (at most `files_total`).
    pub files_done: u64,
    /// Bytes to read, so far announced.
    pub bytes_total: u64,
    /// Bytes read (at most `bytes_total`).
    pub bytes_done: u64,
    /// The table being loaded now.
    pub current_table: Option<String>,
    /// Progress lines, oldest first (per-table summaries for a recorded job).
    pub log: Vec<String>,
    /// The final report of a run that ended in this process; `None` otherwise.
    pub report: Option<ExtractReport>,
}

impl RunState {
    /// The state of a job as recorded (not watched by this process): progress from its totals
    /// (for a run of another process: how far it got, as it last wrote; its totals are unknown
    /// here, so they are the done counts).
    pub fn from_job(job: Job) -> RunState {
        let seconds = job.ended_at.map(|e| (e - job.started_at).num_milliseconds() as f64 / 1000.0);
        let log = details_log(&job);
        RunState {
            seconds,
            live: false,
            cancel_requested: false,
            files_total: job.files,
            files_done: job.files,
            bytes_total: job.bytes,
            bytes_done: job.bytes,
            current_table: None,
            log,
            report: None,
            job,
        }
    }
}

/// Per-table lines of a finished job ("events: committed 300 rows from 1 file(s)").
fn details_log(job: &Job) -> Vec<String> {
    let tables: Vec<lakeport_extract::TableReport> = serde_json::from_value(job.details.clone()).unwrap_or_default();
    tables.iter().map(|t| format!("{}: {}", t.table, t.summary())).collect()
}

/// Live state of a run, fed by its progress (and passed on to `inner`, e.g. a progress bar).
pub struct Live {
    state: Arc<Mutex<RunState>>,
    inner: Arc<dyn Progress>,
}

impl Live {
    /// The live state of `job`'s run (marked live), passing progress on to `inner`.
    pub fn new(job: &Job, inner: Arc<dyn Progress>) -> Arc<Live> {
        let mut state = RunState::from_job(job.clone());
        state.live = true;
        Arc::new(Live { state: Arc::new(Mutex::new(state)), inner })
    }
    /// A copy of the state now.
    pub fn snapshot(&self) -> RunState {
        self.state.lock().expect("run state").clone()
    }
    /// Marks that a cancel was asked for.
    pub fn set_cancel_requested(&self) {
        self.state.lock().expect("run state").cancel_requested = true;
    }
    /// Replaces the state with the final one (the job as recorded, with the live log).
    pub fn finish(&self, state: RunState) {
        let mut s = self.state.lock().expect("run state");
        *s = state;
        s.live = false;
    }
    fn with(&self, f: impl FnOnce(&mut RunState)) {
        f(&mut self.state.lock().expect("run state"))
    }
}

impl Relay for Live {
    fn next(&self) -> &dyn Progress {
        &*self.inner
    }
    fn on_table_started(&self, table: &str, files: usize, bytes: u64) -> Option<(usize, u64)> {
        self.with(|s| {
            s.files_total += files as u64;
            s.bytes_total += bytes;
            s.current_table = Some(table.to_string());
            if files > 0 {
                s.log.push(format!("{table}: loading {files} file(s)"));
            }
        });
        Some((files, bytes))
    }
    fn on_file_done(&self, _table: &str, _key: &str, rows: u64, bytes: u64) -> Option<(u64, u64)> {
        self.with(|s| {
            s.files_done = (s.files_done + 1).min(s.files_total);
            s.bytes_done = (s.bytes_done + bytes).min(s.bytes_total);
            s.job.rows += rows;
        });
        Some((rows, bytes))
    }
    fn on_table_done(&self, table: &str, rows: u64) {
        self.with(|s| s.log.push(format!("{table}: committed ({rows} rows)")));
    }
    fn on_table_nothing_new(&self, table: &str, total_rows: u64) {
        self.with(|s| s.log.push(format!("{table}: nothing new (the table holds {total_rows} rows)")));
    }
    fn on_note(&self, message: &str) {
        self.with(|s| s.log.push(message.to_string()));
    }
}

/// Counts files, rows and bytes read so far (for the job log) and passes progress on.
struct Tally {
    inner: Arc<dyn Progress>,
    files: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
}

impl Relay for Tally {
    fn next(&self) -> &dyn Progress {
        &*self.inner
    }
    fn on_file_done(&self, _table: &str, _key: &str, rows: u64, bytes: u64) -> Option<(u64, u64)> {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        Some((rows, bytes))
    }
}

/// Holds the request's tables and records the job (with `origin` for a saved extraction).
///
/// # Errors
///
/// [`CoreError::Pool`] with `PoolError::TableBusy` when another run (of any process) or a drop
/// holds one of them in a way this run cannot share (delta loads share a table with each other;
/// a full load or a drop holds it alone) (nothing is recorded then), or when the job cannot be recorded;
/// [`CoreError::Extract`] for a request that does not validate (`ExtractRequest::validate`: an
/// item with no valid table name, a bad glob, a shard that is not `0 ≤ I < N` or of a full load)
/// or a connection that cannot be used.
pub async fn begin(pool: &Pool, connection: &str, request: ExtractRequest, origin: Option<&JobOrigin>) -> Result<Begun, CoreError> {
    let mut tables: Vec<String> = Vec::new();
    for item in &request.items {
        let t = item.table_name()?;
        if !tables.contains(&t) {
            tables.push(t);
        }
    }
    // A request that cannot run (a bad glob, a shard of a full load, …) and a connection that
    // cannot be used are errors before anything is held or recorded.
    request.validate()?;
    lakeport_extract::check_connection(pool, connection).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let holder = format!("run {id}");
    let hold = if request.mode == lakeport_pool::LoadMode::Delta { lakeport_pool::TableHold::Shared } else { lakeport_pool::TableHold::Exclusive };
    pool.lock_tables_as(&tables, &holder, hold).await?;
    // An ExtractRequest is plain data: it always serialises.
    let request_json = serde_json::to_value(&request).ok();
    let recorded = pool.start_run_job(&id, connection, request.mode.as_str(), origin, &tables, request_json.as_ref()).await;
    let job = match recorded {
        Ok(job) => job,
        Err(e) => {
            let _ = pool.unlock_tables(&holder).await;
            return Err(e.into());
        }
    };
    let stop = Arc::new(Stop::default());
    let (done, done_rx) = tokio::sync::watch::channel(false);
    active().lock().expect("active runs").insert(id, Active { stop: stop.clone(), done: done_rx });
    Ok(Begun { job, request, stop, done })
}

/// Runs a begun run to its end and records it: `succeeded`, `failed` (the error), `cancelled`
/// or `interrupted` (stopped by [`cancel`] / [`stop_all`]); per-table details either way. Frees
/// its tables. Returns the job as recorded and the report (or the error): [`CoreError::Stopped`]
/// for a stopped run, [`CoreError::Extract`] for a failed one, [`CoreError::Pool`] when the job
/// cannot be recorded.
pub async fn execute(pool: &Pool, begun: Begun, progress: Arc<dyn Progress>) -> (Job, Result<ExtractReport, CoreError>) {
    let Begun { mut job, request, stop, done } = begun;
    let started = Instant::now();
    // How far it got, written to the job log every second, so other processes (`lakeport jobs`,
    // a server's Runs view) see a run of this one move.
    let tally = Arc::new(Tally { inner: progress, files: AtomicU64::new(0), rows: AtomicU64::new(0), bytes: AtomicU64::new(0) });
    let ticker = {
        let (tally, pool, id) = (tally.clone(), pool.clone(), job.id.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                every.tick().await;
                let (f, r, b) = (tally.files.load(Ordering::Relaxed), tally.rows.load(Ordering::Relaxed), tally.bytes.load(Ordering::Relaxed));
                let _ = pool.update_job_progress(&id, f, r, b).await;
            }
        })
    };
    let outcome = load(pool, &job.connection, &request, tally, &job.id, &stop.token).await;
    ticker.abort();
    outcome.record(&mut job);
    if outcome.result.is_err() {
        if let Some(reason) = stop.reason() {
            let committed: Vec<&str> = outcome.tables.iter().filter(|t| t.outcome == TableOutcome::Committed).map(|t| t.table.as_str()).collect();
            let kept = if committed.is_empty() { "no table was committed; every table keeps its previous snapshot".to_string() } else { format!("committed before: {}; the other tables keep their previous snapshot", committed.join(", ")) };
            let (status, why) = match reason {
                StopReason::Cancel(who) => (JobStatus::Cancelled, format!("cancelled {who}; {kept}")),
                StopReason::Signal(signal) => (JobStatus::Interrupted, format!("interrupted: {signal}; {kept}")),
            };
            job.status = status;
            job.error = Some(why);
        }
    }
    let recorded = pool.finish_job(&job).await;
    let _ = pool.unlock_tables(&format!("run {}", job.id)).await;
    active().lock().expect("active runs").remove(&job.id);
    let _ = done.send(true);
    let mode = request.mode;
    let error_text = job.error.clone();
    let result = match (recorded, outcome.into_report(job.clone(), mode, started.elapsed().as_secs_f64())) {
        (Err(e), _) => Err(e.into()),
        (Ok(()), Ok(report)) => Ok(report),
        // A stopped run: the job's error says how it stopped and what was committed.
        (Ok(()), Err(lakeport_extract::ExtractError::Cancelled)) => Err(CoreError::Stopped(error_text.unwrap_or_default())),
        (Ok(()), Err(e)) => Err(e.into()),
    };
    (job, result)
}

/// [`begin`] and [`execute`] in one: one extraction over `connection`, recorded in the job log.
///
/// # Errors
///
/// As [`begin`] and [`execute`].
pub async fn run(pool: &Pool, connection: &str, request: ExtractRequest, origin: Option<&JobOrigin>, progress: Arc<dyn Progress>) -> Result<ExtractReport, CoreError> {
    let begun = begin(pool, connection, request, origin).await?;
    execute(pool, begun, progress).await.1
}

/// A job as the API and `lakeport jobs show` present it, with per-table details.
///
/// # Errors
///
/// [`CoreError::Pool`] (`PoolError::NoSuchJob`) for an unknown id.
pub async fn job_state(pool: &Pool, id: &str) -> Result<RunState, CoreError> {
    Ok(RunState::from_job(pool.job(id).await?))
}

/// Refuses a cancel of a job that this process does not run: ended, or run by another process.
/// Always a [`CoreError::Conflict`] whose text says which.
pub fn not_cancellable(job: &Job) -> CoreError {
    if job.status.is_final() {
        return CoreError::Conflict(format!("run {} has ended ({}); there is nothing to cancel", job.id, job.status.as_str()));
    }
    let by = job.process.as_ref().map(|p| p.describe()).unwrap_or_else(|| "another process".into());
    CoreError::Conflict(format!("run {} is run by {by}, not by this server; stop that process (SIGTERM) to interrupt it", job.id))
}


/// One extraction recorded in the job log, with the run lock, as [`run`], for callers that
/// work with lakeport-extract's errors (the extraction tests): a stopped run is
/// [`ExtractError::Cancelled`].
///
/// # Errors
///
/// As [`run`], mapped back: [`ExtractError::Pool`], [`ExtractError::Source`], the extraction's
/// own error, [`ExtractError::Cancelled`] for a stopped run.
pub async fn extract(pool: &Pool, connection: &str, request: &ExtractRequest, progress: Arc<dyn Progress>) -> Result<ExtractReport, ExtractError> {
    run(pool, connection, request.clone(), None, progress).await.map_err(|e| match e {
        CoreError::Extract(e) => *e,
        CoreError::Pool(e) => ExtractError::Pool(e),
        CoreError::Source(e) => ExtractError::Source(e),
        CoreError::Stopped(_) => ExtractError::Cancelled,
        // run() makes no other kind of error; kept as text should that change.
        other => ExtractError::Incomplete { table: String::new(), message: other.to_string() },
    })
}
