//! Extraction runs started through the API: background jobs on a runtime of their own (so heavy
//! Parquet encoding cannot stall API requests), with live progress. The job bookkeeping, the
//! per-table lock (shared with the CLI and the scheduler, across processes) and cancelling are
//! lakeport-core's (`lakeport_core::runs`); this keeps the live state of the runs it started.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lakeport_core::runs::{self, Live, RunState};
use lakeport_core::{ExtractRequest, NoProgress};
use lakeport_core::{LoadMode, Pool, PoolDir};

use crate::error::ApiError;

/// A table held by an operation other than a run (a drop); released when [`Hold::release`]d
/// (or, failing that, when the guard is dropped).
pub struct Hold {
    pool: Option<Pool>,
    holder: String,
}

impl Hold {
    /// Releases the table now (a failure to unlock is ignored: the lock names this process,
    /// so it goes when the process does).
    pub async fn release(mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = pool.unlock_tables(&self.holder).await;
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let holder = self.holder.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move { pool.unlock_tables(&holder).await });
            }
        }
    }
}

/// The extraction runs this server started, and the runtime (2 worker threads, `lakeport-job`)
/// they run on.
pub struct Runs {
    root: PathBuf,
    jobs: tokio::runtime::Handle,
    /// The runs this server started (live state while they run, final state after).
    live: Mutex<HashMap<String, Arc<Live>>>,
}

impl Runs {
    /// Starts the job runtime on a thread of its own; `root`: the pool directory (runs open their
    /// pool there, on the job runtime).
    ///
    /// # Errors
    /// The I/O error when the thread cannot be spawned, or when the runtime did not come up.
    pub fn new(root: PathBuf) -> std::io::Result<Runs> {
        // A runtime of its own, on its own threads, kept for the life of the process.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("lakeport-jobs".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("lakeport-job").enable_all().build().expect("job runtime");
            tx.send(rt.handle().clone()).expect("send job runtime handle");
            rt.block_on(std::future::pending::<()>());
        })?;
        let jobs = rx.recv().map_err(std::io::Error::other)?;
        Ok(Runs { root, jobs, live: Mutex::new(HashMap::new()) })
    }

    /// Starts an extraction in the background; 409 when one of its tables is held by another
    /// run (of this or another process) or a drop.
    ///
    /// # Errors
    /// From `lakeport_core::runs::begin`, with the status of its kind ([`status_of`](crate::error::status_of)):
    /// 409 when a table is held, 404 for an unknown connection, 400 for an invalid request.
    pub async fn start(self: &Arc<Self>, pool: &Pool, connection: &str, request: ExtractRequest) -> Result<RunState, ApiError> {
        let begun = runs::begin(pool, connection, request, None).await?;
        Ok(self.launch(pool.name(), begun, None))
    }

    /// Runs a saved extraction now ("Run now") in the background, as [`Runs::start`].
    ///
    /// # Errors
    /// 409 ([`lakeport_pool::PoolError::ExtractionRunning`]) when the extraction is running
    /// already; otherwise as [`Runs::start`] (the claim on the extraction is then given back).
    pub async fn start_saved(self: &Arc<Self>, pool: &Pool, extraction: &lakeport_core::Extraction, mode: Option<LoadMode>) -> Result<RunState, ApiError> {
        let name = extraction.name.clone();
        let holder = uuid::Uuid::new_v4().to_string();
        if !pool.claim_extraction(&name, &holder).await? {
            let job = pool.extraction(&name).await?.running_job.unwrap_or_default();
            return Err(lakeport_core::PoolError::ExtractionRunning { extraction: name, job }.into());
        }
        let mut request = extraction.definition.request.clone();
        request.mode = extraction.mode(mode);
        let origin = lakeport_core::Trigger::Manual.origin(&name, extraction.version);
        let begun = match runs::begin(pool, &extraction.definition.connection, request, Some(&origin)).await {
            Ok(b) => b,
            Err(e) => {
                let _ = pool.release_extraction(&name, &holder).await;
                return Err(e.into());
            }
        };
        Ok(self.launch(pool.name(), begun, Some((name, holder))))
    }

    fn launch(self: &Arc<Self>, pool: &str, begun: runs::Begun, claim: Option<(String, String)>) -> RunState {
        let live = Live::new(&begun.job, Arc::new(NoProgress));
        let id = begun.job.id.clone();
        self.live.lock().expect("runs").insert(id, live.clone());
        let state = live.snapshot();
        let (root, pool) = (self.root.clone(), pool.to_string());
        self.jobs.spawn(async move {
            // The pool opened on this runtime (its database handles belong here).
            let opened = async { PoolDir::open(&root).await?.pool(&pool).await }.await;
            let p = match opened {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("run {}: cannot open pool '{pool}': {e}", begun.job.id);
                    return;
                }
            };
            let (job, result) = runs::execute(&p, begun, live.clone()).await;
            if let Some((name, holder)) = claim {
                let _ = p.release_extraction(&name, &holder).await;
            }
            let report = result.ok();
            let mut final_state = RunState::from_job(job);
            let snapshot = live.snapshot();
            final_state.log = snapshot.log;
            final_state.cancel_requested = snapshot.cancel_requested;
            final_state.files_total = final_state.files_total.max(snapshot.files_total);
            final_state.bytes_total = final_state.bytes_total.max(snapshot.bytes_total);
            final_state.files_done = final_state.files_done.max(snapshot.files_done).min(final_state.files_total);
            final_state.bytes_done = final_state.bytes_done.max(snapshot.bytes_done).min(final_state.bytes_total);
            if let Some(r) = &report {
                final_state.job.rows = r.rows;
            }
            final_state.report = report;
            live.finish(final_state);
        });
        state
    }

    /// Holds a table for `what` (e.g. "a drop") until the guard is released: refused (409) while
    /// a run (of any process) loads it, and runs that would load it are refused meanwhile.
    ///
    /// # Errors
    /// 409 (`PoolError::TableBusy`) when the table is held; the pool catalog database's errors.
    pub async fn hold(&self, pool: &Pool, table: &str, what: &str) -> Result<Hold, ApiError> {
        let holder = format!("{what} ({})", uuid::Uuid::new_v4());
        pool.lock_tables(&[table.to_string()], &holder).await?;
        Ok(Hold { pool: Some(pool.clone()), holder })
    }

    /// A run this server started (live progress), if it did.
    pub fn live(&self, id: &str) -> Option<RunState> {
        self.live.lock().expect("runs").get(id).map(|l| l.snapshot())
    }

    /// Asks a run this server runs to stop as cancelled; false when it does not run it.
    pub fn cancel(&self, id: &str, who: &str) -> bool {
        let live = self.live.lock().expect("runs").get(id).cloned();
        match live {
            Some(l) if runs::cancel(id, who) => {
                l.set_cancel_requested();
                true
            }
            _ => false,
        }
    }

    /// A job as the API shows it: the live state when this server runs it, else as recorded.
    pub fn overlay(&self, job: lakeport_core::Job) -> RunState {
        match self.live(&job.id) {
            Some(live) if live.job.status == lakeport_core::JobStatus::Running || job.status == lakeport_core::JobStatus::Running => live,
            Some(live) if job.status.is_final() && live.job.status.is_final() => live,
            _ => RunState::from_job(job),
        }
    }
}
