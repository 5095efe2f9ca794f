//! Extraction runs started through the API: background jobs on a runtime of their own (so heavy
//! Parquet encoding cannot stall API requests), with live progress and a lock per table.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use lakeport_extract::{extract, ExtractReport, ExtractRequest, Progress};
use lakeport_pool::{LoadMode, PoolDir};
use serde::Serialize;

use crate::error::ApiError;
use lakeport_core::ErrorKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

/// What a run is doing, as the API reports it.
#[derive(Clone, Debug, Serialize)]
pub struct RunState {
    pub id: String,
    pub pool: String,
    pub connection: String,
    pub mode: String,
    pub status: RunStatus,
    pub tables: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub files_total: u64,
    pub files_done: u64,
    pub bytes_total: u64,
    pub bytes_done: u64,
    pub rows: u64,
    pub current_table: Option<String>,
    pub log: Vec<String>,
    pub report: Option<ExtractReport>,
    pub error: Option<String>,
}

struct Registry {
    runs: HashMap<String, Arc<Mutex<RunState>>>,
    /// (pool, table) → what holds it: the id of the run loading it, or another operation (a drop).
    busy: HashMap<(String, String), String>,
}

/// A table held by an operation other than a run (see [`Runs::hold`]); released when dropped.
pub struct Hold<'a> {
    runs: &'a Runs,
    key: (String, String),
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.runs.registry.lock().expect("registry").busy.remove(&self.key);
    }
}

pub struct Runs {
    root: PathBuf,
    jobs: tokio::runtime::Handle,
    registry: Mutex<Registry>,
}

struct RunProgress(Arc<Mutex<RunState>>);

impl Progress for RunProgress {
    fn table_started(&self, table: &str, files: usize, bytes: u64) {
        let mut s = self.0.lock().expect("run state");
        s.files_total += files as u64;
        s.bytes_total += bytes;
        s.current_table = Some(table.to_string());
        s.log.push(format!("{table}: loading {files} file(s)"));
    }
    fn file_done(&self, _table: &str, _key: &str, rows: u64, bytes: u64) {
        let mut s = self.0.lock().expect("run state");
        s.files_done += 1;
        s.bytes_done += bytes;
        s.rows += rows;
    }
    fn table_done(&self, table: &str, rows: u64) {
        self.0.lock().expect("run state").log.push(format!("{table}: committed ({rows} rows)"));
    }
    fn note(&self, message: &str) {
        self.0.lock().expect("run state").log.push(message.to_string());
    }
}

impl Runs {
    pub fn new(root: PathBuf) -> std::io::Result<Runs> {
        // A runtime of its own, on its own threads, kept for the life of the process.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("lakeport-jobs".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("lakeport-job").enable_all().build().expect("job runtime");
            tx.send(rt.handle().clone()).expect("send job runtime handle");
            rt.block_on(std::future::pending::<()>());
        })?;
        let jobs = rx.recv().map_err(std::io::Error::other)?;
        Ok(Runs { root, jobs, registry: Mutex::new(Registry { runs: HashMap::new(), busy: HashMap::new() }) })
    }

    /// Starts an extraction in the background; refuses it when one of its tables is being loaded.
    pub fn start(self: &Arc<Self>, pool: &str, connection: &str, request: ExtractRequest) -> Result<RunState, ApiError> {
        let mode = request.mode;
        let connection_name = connection.to_string();
        self.launch(pool, connection, mode, &request.items.clone(), move |p, progress| {
            Box::pin(async move { extract(&p, &connection_name, &request, progress).await.map_err(|e| e.to_string()) })
        })
    }

    /// Runs a saved extraction now ("Run now") in the background, as [`Runs::start`].
    pub fn start_saved(self: &Arc<Self>, pool: &str, extraction: &lakeport_core::Extraction, mode: Option<LoadMode>) -> Result<RunState, ApiError> {
        let name = extraction.name.clone();
        self.launch(pool, &extraction.definition.connection, extraction.mode(mode), &extraction.definition.request.items, move |p, progress| {
            Box::pin(async move {
                let outcome = lakeport_core::run_extraction(&p, &name, mode, progress).await.map_err(|e| e.to_string())?;
                outcome.result.map_err(|e| e.to_string())
            })
        })
    }

    fn launch<F>(self: &Arc<Self>, pool: &str, connection: &str, mode: LoadMode, items: &[lakeport_extract::Item], work: F) -> Result<RunState, ApiError>
    where
        F: FnOnce(lakeport_pool::Pool, Arc<dyn Progress>) -> futures::future::BoxFuture<'static, Result<ExtractReport, String>> + Send + 'static,
    {
        let mut tables = Vec::new();
        for item in items {
            tables.push(item.table_name().map_err(ApiError::from)?);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let state = RunState {
            id: id.clone(),
            pool: pool.to_string(),
            connection: connection.to_string(),
            mode: mode.as_str().to_string(),
            status: RunStatus::Running,
            tables: tables.clone(),
            started_at: Utc::now(),
            ended_at: None,
            files_total: 0,
            files_done: 0,
            bytes_total: 0,
            bytes_done: 0,
            rows: 0,
            current_table: None,
            log: Vec::new(),
            report: None,
            error: None,
        };
        let run = Arc::new(Mutex::new(state.clone()));
        {
            let mut reg = self.registry.lock().expect("registry");
            for t in &tables {
                if let Some(other) = reg.busy.get(&(pool.to_string(), t.clone())) {
                    return Err(busy(t, other));
                }
            }
            for t in &tables {
                reg.busy.insert((pool.to_string(), t.clone()), format!("run {id}"));
            }
            reg.runs.insert(id.clone(), run.clone());
        }
        let this = self.clone();
        let pool = pool.to_string();
        self.jobs.spawn(async move {
            let result = async {
                let dir = PoolDir::open(&this.root).await.map_err(|e| e.to_string())?;
                let p = dir.pool(&pool).await.map_err(|e| e.to_string())?;
                work(p, Arc::new(RunProgress(run.clone()))).await
            }
            .await;
            {
                let mut s = run.lock().expect("run state");
                s.ended_at = Some(Utc::now());
                match result {
                    Ok(report) => {
                        s.status = RunStatus::Succeeded;
                        s.rows = report.rows;
                        s.report = Some(report);
                    }
                    Err(e) => {
                        s.status = RunStatus::Failed;
                        s.log.push(format!("failed: {e}"));
                        s.error = Some(e.to_string());
                    }
                }
            }
            let mut reg = this.registry.lock().expect("registry");
            let holder = format!("run {}", id_of(&run));
            reg.busy.retain(|_, h| *h != holder);
        });
        Ok(state)
    }

    /// Holds a table for `what` (e.g. "a drop") until the guard is dropped: refused (409) while a
    /// run loads it, and runs that would load it are refused meanwhile.
    pub fn hold(&self, pool: &str, table: &str, what: &str) -> Result<Hold<'_>, ApiError> {
        let key = (pool.to_string(), table.to_string());
        let mut reg = self.registry.lock().expect("registry");
        if let Some(other) = reg.busy.get(&key) {
            return Err(busy(table, other));
        }
        reg.busy.insert(key.clone(), what.to_string());
        Ok(Hold { runs: self, key })
    }

    pub fn get(&self, id: &str) -> Option<RunState> {
        self.registry.lock().expect("registry").runs.get(id).map(|r| r.lock().expect("run state").clone())
    }

    /// The runs of a pool since the server started, newest first.
    pub fn list(&self, pool: &str) -> Vec<RunState> {
        let reg = self.registry.lock().expect("registry");
        let mut out: Vec<RunState> = reg.runs.values().map(|r| r.lock().expect("run state").clone()).filter(|r| r.pool == pool).collect();
        out.sort_by(|a, b| b.started_at.cmp(&a.started_at));
        out
    }
}

fn busy(table: &str, holder: &str) -> ApiError {
    let doing = if holder.starts_with("run ") { "being loaded by" } else { "held by" };
    ApiError::of_kind(ErrorKind::Conflict, format!("table '{table}' is {doing} {holder}; wait for it to finish"))
}

fn id_of(run: &Arc<Mutex<RunState>>) -> String {
    run.lock().expect("run state").id.clone()
}
