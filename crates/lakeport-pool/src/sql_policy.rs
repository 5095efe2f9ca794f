//! What SQL may do in a pool, and how much one query may use.
//!
//! * **Read-only.** Every query is planned by DataFusion and checked with DataFusion's own
//!   switches ([`SQLOptions`] with DDL, DML and statements off) before anything runs: `CREATE`,
//!   `DROP`, `INSERT`, `UPDATE`, `DELETE`, `COPY`, `CREATE EXTERNAL TABLE`, `SET`, `BEGIN`,
//!   `PREPARE`… are refused, also inside `EXPLAIN ANALYZE`. What passes are queries: `SELECT`,
//!   `WITH`, `VALUES`, `EXPLAIN`, `DESCRIBE`, `SHOW`.
//! * **No host files, no URLs.** URL tables (`SELECT * FROM '/etc/passwd'`) stay off (DataFusion's
//!   `enable_url_table` is never called) and the session's object-store registry is empty (not
//!   even DataFusion's default `file://`), so nothing in SQL can reach the local file system or a
//!   URL. Pool tables and zero-copy shares are read through Iceberg's own file IO, not through
//!   that registry.
//! * **Bounded.** Each query runs with its own DataFusion memory pool of [`QueryLimits::memory_bytes`]
//!   (operators that can spill — sorts, grouped aggregations, sort-merge joins — spill to the OS
//!   temporary directory; the others fail with [`PoolError::QueryMemory`]), a wall-clock limit
//!   ([`PoolError::QueryTimeout`]) and optionally a row cap (the result says it was truncated).
//! * **Isolated and cancellable.** Queries run on a runtime of their own (threads named
//!   `lakeport-query`), so a busy query cannot stall the caller's runtime — the API server's
//!   requests, and the timer of the time limit, which cancels the query's tasks at their next
//!   yield point. DataFusion's sources yield regularly (tokio's cooperative budget), but a join
//!   turns one input batch into any number of output batches without yielding (a cross join of
//!   two 10^6-row inputs ran on for 80 s after its time limit); [`YieldAfterJoins`] puts
//!   DataFusion's own `CooperativeExec` above every join so its output spends the budget too.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use datafusion::common::runtime::SpawnedTask;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry, ObjectStoreUrl};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement, WriteOp};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::joins::{CrossJoinExec, HashJoinExec, NestedLoopJoinExec, PiecewiseMergeJoinExec, SortMergeJoinExec, SymmetricHashJoinExec};
use datafusion::physical_plan::unnest::UnnestExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::{Pool, PoolError, QueryResult};

/// Default memory budget of one query: 1 GiB.
pub const DEFAULT_QUERY_MEMORY: usize = 1 << 30;
/// Default time limit of one query: 5 minutes.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(300);

/// How much one query may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Memory budget of the query's DataFusion memory pool, in bytes. Result rows handed back to
    /// the caller are not counted (cap them with `max_rows`).
    pub memory_bytes: usize,
    /// Wall-clock limit from planning to the last row.
    pub time_limit: Duration,
    /// Keep at most this many rows; the query is stopped once more arrive (`None`: all rows).
    pub max_rows: Option<usize>,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits { memory_bytes: DEFAULT_QUERY_MEMORY, time_limit: DEFAULT_QUERY_TIMEOUT, max_rows: None }
    }
}

/// Parses a memory size the way DataFusion's `datafusion.runtime.memory_limit` setting does:
/// a number with the unit `K`, `M` or `G` (binary: `1G` = 1 GiB), e.g. `512M`, `1.5G`.
///
/// Returns bytes.
///
/// # Errors
///
/// A message naming `what` (e.g. `--query-memory`) when the text is not such a size or is 0.
pub fn parse_memory_size(what: &str, text: &str) -> Result<usize, String> {
    let bytes = SessionContext::parse_capacity_limit(what, text.trim()).map_err(|e| e.strip_backtrace().replace("Error during planning: ", ""))?;
    if bytes == 0 {
        return Err(format!("{what} must be more than 0"));
    }
    Ok(bytes)
}

/// `1073741824` → `1 GiB`, `1610612736` → `1.5 GiB`, `65536` → `64 KiB`.
pub fn format_bytes(bytes: usize) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    format!("{} {}", text.trim_end_matches(".0"), units[unit])
}

/// DataFusion's switches for a read-only surface: no DDL, no DML (this includes `COPY`), no
/// statements (`SET`, transactions, `PREPARE`/`EXECUTE`).
pub fn read_only_sql_options() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

/// The runtime of one query: a memory pool of the budget, spilling to the OS temporary directory
/// (DataFusion's default disk manager), and an object-store registry without any store.
fn runtime_env(limits: &QueryLimits) -> Result<Arc<RuntimeEnv>, PoolError> {
    let registry = DefaultObjectStoreRegistry::new();
    // DataFusion registers the local file system for `file://` by default; take it out so no
    // plan can read or write host files through it.
    let _ = registry.deregister_store(ObjectStoreUrl::local_filesystem().as_ref());
    Ok(Arc::new(
        RuntimeEnvBuilder::new().with_memory_limit(limits.memory_bytes, 1.0).with_object_store_registry(Arc::new(registry)).build()?,
    ))
}

/// A physical optimizer rule (run after DataFusion's own): every operator that can make many
/// output batches out of one input batch — joins and unnest — gets a `CooperativeExec` above it,
/// which spends one unit of tokio's task budget per batch, so the task yields (and can be
/// cancelled) while such an operator runs.
#[derive(Debug)]
struct YieldAfterJoins;

impl PhysicalOptimizerRule for YieldAfterJoins {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let any = node.as_any();
            let multiplies = any.is::<NestedLoopJoinExec>()
                || any.is::<CrossJoinExec>()
                || any.is::<HashJoinExec>()
                || any.is::<SortMergeJoinExec>()
                || any.is::<SymmetricHashJoinExec>()
                || any.is::<PiecewiseMergeJoinExec>()
                || any.is::<UnnestExec>();
            Ok(if multiplies { Transformed::yes(Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>) } else { Transformed::no(node) })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "lakeport_yield_after_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The SQL words of a plan node that changes something, for the refusal message.
fn statement_words(plan: &LogicalPlan) -> Option<&'static str> {
    Some(match plan {
        LogicalPlan::Ddl(ddl) => match ddl {
            DdlStatement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE",
            DdlStatement::CreateMemoryTable(_) => "CREATE TABLE",
            DdlStatement::CreateView(_) => "CREATE VIEW",
            DdlStatement::CreateCatalogSchema(_) => "CREATE SCHEMA",
            DdlStatement::CreateCatalog(_) => "CREATE DATABASE",
            DdlStatement::CreateIndex(_) => "CREATE INDEX",
            DdlStatement::DropTable(_) => "DROP TABLE",
            DdlStatement::DropView(_) => "DROP VIEW",
            DdlStatement::DropCatalogSchema(_) => "DROP SCHEMA",
            DdlStatement::CreateFunction(_) => "CREATE FUNCTION",
            DdlStatement::DropFunction(_) => "DROP FUNCTION",
        },
        LogicalPlan::Dml(dml) => match &dml.op {
            WriteOp::Insert(_) => "INSERT",
            WriteOp::Delete => "DELETE",
            WriteOp::Update => "UPDATE",
            WriteOp::Ctas => "CREATE TABLE AS",
            WriteOp::Truncate => "TRUNCATE",
        },
        LogicalPlan::Copy(_) => "COPY",
        LogicalPlan::Statement(s) => match s {
            Statement::TransactionStart(_) | Statement::TransactionEnd(_) => "a transaction statement",
            Statement::SetVariable(_) => "SET",
            Statement::ResetVariable(_) => "RESET",
            Statement::Prepare(_) => "PREPARE",
            Statement::Execute(_) => "EXECUTE",
            Statement::Deallocate(_) => "DEALLOCATE",
        },
        _ => return None,
    })
}

/// What to use instead of a refused statement.
fn instead(words: &str) -> &'static str {
    match words {
        "DROP TABLE" => "drop a table with `lakeport table drop NAME` (API: DELETE /api/pools/{pool}/tables/{table}; console: the table's page), which also removes its data files and records the drop in the job history",
        "CREATE EXTERNAL TABLE" => "read files from a bucket by adding a connection and running an extraction (`lakeport extract`), or query Iceberg tables in place through a zero-copy share",
        "COPY" => "export a result with `lakeport query \"SELECT …\" --format csv > FILE` on your own machine",
        "SET" | "RESET" => "query limits are set when lakeport starts (--query-memory, --query-timeout-secs, --max-rows)",
        "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE" | "CREATE TABLE" | "CREATE TABLE AS" => {
            "tables are created and changed only by extractions (`lakeport extract --full|--delta`) and dropped with `lakeport table drop NAME`"
        }
        _ => "write it as a query (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW)",
    }
}

/// The refusal for a plan DataFusion's read-only switches rejected.
fn refusal(plan: &LogicalPlan, datafusion: DataFusionError) -> PoolError {
    let mut found = None;
    let _ = plan.apply_with_subqueries(|node| {
        found = statement_words(node);
        Ok(if found.is_some() { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    });
    match found {
        Some(words) => PoolError::ReadOnlySql { statement: words.to_string(), instead: instead(words).to_string() },
        // A kind of plan this module does not know yet: DataFusion's own words.
        None => PoolError::ReadOnlySql { statement: datafusion.strip_backtrace(), instead: instead("").to_string() },
    }
}

/// A DataFusion error of a query, with the memory budget named when that is what ran out.
fn query_error(e: DataFusionError, limits: &QueryLimits) -> PoolError {
    if let DataFusionError::ResourcesExhausted(detail) = e.find_root() {
        // The spill directory's own cap also reports ResourcesExhausted; DataFusion's message
        // says what to do there, so only the memory pool's refusal is reworded.
        if detail.contains("Failed to allocate") {
            return PoolError::QueryMemory { limit: format_bytes(limits.memory_bytes), detail: detail.clone() };
        }
    }
    PoolError::Query(e)
}

/// The error for a query task that did not finish: a panic anywhere in the query (DataFusion's own
/// tasks pass theirs on to this one) becomes [`PoolError::QueryPanicked`] with its message. This
/// is the one place where the query path turns panics into errors: every query (CLI, HTTP API)
/// runs in this task.
fn join_error(join: tokio::task::JoinError) -> PoolError {
    if !join.is_panic() {
        return PoolError::Query(DataFusionError::External(Box::new(join)));
    }
    let payload = join.into_panic();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into());
    PoolError::QueryPanicked { message }
}

/// The runtime queries run on (created on first use, kept for the life of the process).
fn query_runtime() -> Result<&'static tokio::runtime::Runtime, PoolError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| tokio::runtime::Builder::new_multi_thread().thread_name("lakeport-query").enable_all().build().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| PoolError::io("start the query runtime", std::io::Error::other(e.clone())))
}

impl Pool {
    /// Runs one read-only SQL statement over the pool's own tables ([`Pool::session`]) within
    /// `limits` and collects its rows. (The CLI and the server query through lakeport-core,
    /// whose session has the zero-copy shares too; it runs them with [`query_read_only`].)
    ///
    /// # Errors
    ///
    /// As [`query_read_only`].
    pub async fn query_with(&self, sql: &str, limits: &QueryLimits) -> Result<QueryResult, PoolError> {
        let pool = self.clone();
        query_read_only(async move { pool.session().await }, sql, limits).await
    }
}

/// Runs one read-only SQL statement within `limits` in the session `session` resolves to, and
/// collects its rows: the one query runner, so every session (the pool's, lakeport-core's with
/// the zero-copy shares) gets the same policy. `session` is awaited inside the query's task, on
/// the query runtime and within the time limit.
///
/// # Errors
///
/// `session`'s own error; [`PoolError::ReadOnlySql`] for anything but a query (nothing is run),
/// [`PoolError::QueryMemory`] when the query needs more than its memory budget even with
/// spilling, [`PoolError::QueryTimeout`] when it runs longer than its time limit (it is
/// cancelled), [`PoolError::QueryPanicked`] when it panicked, [`PoolError::Query`] for SQL errors
/// (unknown table or column, …) — each as `E`.
pub async fn query_read_only<E>(session: impl Future<Output = Result<SessionContext, E>> + Send + 'static, sql: &str, limits: &QueryLimits) -> Result<QueryResult, E>
where
    E: From<PoolError> + Send + 'static,
{
    let (sql, task_limits) = (sql.to_string(), limits.clone());
    // Spawned on the query runtime; dropping the task (time limit, or the caller gave up)
    // aborts it.
    let task = {
        let _runtime = query_runtime()?.enter();
        SpawnedTask::spawn(async move {
            let session = session.await?;
            Ok(run_read_only(session, &sql, &task_limits).await?)
        })
    };
    match tokio::time::timeout(limits.time_limit, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(join_error(join).into()),
        Err(_) => Err(PoolError::QueryTimeout { limit: limits.time_limit }.into()),
    }
}

async fn run_read_only(session: SessionContext, sql: &str, limits: &QueryLimits) -> Result<QueryResult, PoolError> {
    // The session with this query's runtime (same catalogs, own memory pool).
    let state = SessionStateBuilder::new_from_existing(session.state())
        .with_runtime_env(runtime_env(limits)?)
        .with_physical_optimizer_rule(Arc::new(YieldAfterJoins))
        .build();
    let ctx = SessionContext::new_with_state(state);
    let plan = ctx.state().create_logical_plan(sql).await.map_err(|e| query_error(e, limits))?;
    if let Err(e) = read_only_sql_options().verify_plan(&plan) {
        return Err(refusal(&plan, e));
    }
    let df = ctx.execute_logical_plan(plan).await.map_err(|e| query_error(e, limits))?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let mut stream = df.execute_stream().await.map_err(|e| query_error(e, limits))?;
    let (mut batches, mut rows, mut truncated) = (Vec::new(), 0usize, false);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| query_error(e, limits))?;
        if let Some(max) = limits.max_rows {
            if rows + batch.num_rows() > max {
                // Dropping the stream below cancels the rest of the query.
                if max > rows {
                    batches.push(batch.slice(0, max - rows));
                }
                truncated = true;
                break;
            }
        }
        rows += batch.num_rows();
        batches.push(batch);
    }
    Ok(QueryResult { schema, batches, truncated })
}

#[cfg(test)]
mod panic_tests {
    use super::*;

    /// A panic in a query task (as in issue 18: arrow's `primitive array` downcast) comes back as
    /// an error with its message, and the runtime goes on to run the next task.
    #[tokio::test]
    async fn a_panic_in_a_query_task_becomes_an_error() {
        let task = SpawnedTask::spawn(async { panic!("primitive array") });
        let e = join_error(task.await.unwrap_err());
        assert!(matches!(&e, PoolError::QueryPanicked { message } if message == "primitive array"), "{e}");
        assert!(e.to_string().contains("internal error"), "{e}");
        let formatted = SpawnedTask::spawn(async { panic!("column {} of {}", 3, "t") });
        assert!(join_error(formatted.await.unwrap_err()).to_string().ends_with("column 3 of t"));
        assert_eq!(SpawnedTask::spawn(async { 7 }).await.unwrap(), 7);
    }
}
