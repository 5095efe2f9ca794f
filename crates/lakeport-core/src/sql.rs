//! The query session the CLI and the server use: the pool's own tables (its session, with its
//! pushdown guard and exact decimal literals) plus the tables of every zero-copy connection's
//! shares, as `<connection>.<namespace>.<table>`, read in place at query time.
//!
//! The pool knows nothing of zero-copy; this module adds the share catalogs to the pool's
//! session, and queries run through the pool's one runner (`lakeport_pool::query_read_only`),
//! so the read-only rule and the limits (memory, time, rows) are the same for both kinds of table.

use std::sync::Arc;

use datafusion::prelude::SessionContext;
use lakeport_pool::{query_read_only, table_name_from, Pool, QueryLimits, QueryResult};
use lakeport_zerocopy::ZeroCopyCatalog;

use crate::{connections, shares, ConnectionConfig, CoreError};

/// A DataFusion session over the pool: its tables resolve unqualified (`SELECT … FROM events`),
/// other pools as `<pool>.<table>` (see `Pool::session`), and the shares of each zero-copy
/// connection as `<connection>.<namespace>.<table>` (the connection's SQL name, see
/// `table_name_from`). Built per call, so a table loaded or shared a moment ago is seen. No
/// network here: shared tables load when a query names them, and a connection that cannot be set
/// up (no readable secret, bad credentials settings) reports why only to the queries that use it.
///
/// # Errors
///
/// [`CoreError::Pool`] when the pool's tables, connections or shares cannot be read (a corrupt
/// row is `PoolError::Corrupt`), or a connection's name gives no SQL name.
pub async fn session(pool: &Pool) -> Result<SessionContext, CoreError> {
    let ctx = pool.session().await?;
    for conn in connections(pool).await? {
        let ConnectionConfig::ZeroCopy(config) = &conn.config else { continue };
        let shares = shares(pool, &conn.name).await?;
        if shares.is_empty() {
            continue;
        }
        let client = pool
            .connection_secret_opt(&conn.name)
            .map_err(|e| e.to_string())
            .and_then(|secret| lakeport_zerocopy::RestCatalog::connect(config, secret.as_ref()).map_err(|e| e.to_string()))
            .map(Arc::new)
            .map_err(|e| format!("zero-copy connection '{}': {e}", conn.name));
        let name = table_name_from(&conn.name)?;
        ctx.register_catalog(&name, Arc::new(ZeroCopyCatalog::new(client, &name, &shares)));
    }
    Ok(ctx)
}

/// Runs one read-only SQL statement over the pool and its shares ([`session`]) within `limits`
/// and collects its rows (at most `limits.max_rows`; `truncated` says whether more came).
///
/// # Errors
///
/// As [`session`]; then, as [`CoreError::Pool`], the pool's query errors:
/// `PoolError::ReadOnlySql` for anything but a query (nothing runs), `QueryMemory`,
/// `QueryTimeout`, `QueryPanicked`, `Query` (SQL errors, a shared table that cannot be loaded).
pub async fn query_with(pool: &Pool, sql: &str, limits: &QueryLimits) -> Result<QueryResult, CoreError> {
    let pool = pool.clone();
    query_read_only(async move { session(&pool).await }, sql, limits).await
}

/// [`query_with`] with the default limits (1 GiB, 5 minutes, all rows).
///
/// # Errors
///
/// As [`query_with`].
pub async fn query(pool: &Pool, sql: &str) -> Result<QueryResult, CoreError> {
    query_with(pool, sql, &QueryLimits::default()).await
}
