//! `lakeport serve`: the HTTP API and the web console over the same core as the CLI.
//!
//! * Every `/api` route but `/api/health` and `/api/openapi.json` needs an API token in a header
//!   (`Authorization: Bearer …`) — never a cookie, so other sites cannot ride on it (CSRF).
//!   Tokens have a scope: **admin** (everything) or **read-only** (list pools and tables, preview,
//!   query; `api::READ_ONLY_OPERATIONS`, everything else is admin-only — fail closed). They are
//!   stored as SHA-256 hashes and compared in constant time (`lakeport_core::PoolDir::authenticate`).
//! * SQL only reads, within a memory budget, a time limit and a row cap (`lakeport_core::QueryLimits`);
//!   queries run on a runtime of their own, so a heavy one cannot stall the API.
//! * Secrets are write-only: they go in with a connection and never come back out.
//! * Extractions run as background runs on their own runtime, so the API stays responsive while
//!   they work; two runs that would load the same table are refused (409), not interleaved, and a
//!   table being loaded cannot be dropped (409).
//! * The console is served with a Content-Security-Policy that allows only its own script and
//!   style files (no inline script, no `eval`, no frames), `nosniff`, and request bodies are
//!   capped at [`MAX_BODY_BYTES`].
#![warn(missing_docs)]

mod answers;
mod api;
mod error;
mod openapi;
mod runs;
mod token;

use std::net::SocketAddr;
use std::sync::Arc;

use lakeport_core::{token_hash, PoolDir, QueryLimits};

pub use api::READ_ONLY_OPERATIONS;
pub use openapi::openapi_document;
pub use lakeport_core::runs::RunState;
pub use token::{prepare_tokens, TokenStartup};

/// Largest request body the API reads (1 MiB); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Default row cap of `/query` and preview responses.
pub const DEFAULT_MAX_ROWS: usize = 10_000;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub(crate) dir: PoolDir,
    /// SHA-256 of the admin token given with `--token` (kept in memory only), if any.
    pub(crate) explicit_admin: Option<[u8; 32]>,
    pub(crate) runs: Arc<runs::Runs>,
    /// Limits of every query; `max_rows` is the row cap of API responses.
    pub(crate) limits: QueryLimits,
}

impl AppState {
    /// `explicit_admin`: an admin token given at start (`--token`), accepted besides the stored
    /// tokens (compared by SHA-256 hash; blank counts as none). Queries get the default limits
    /// and a row cap of [`DEFAULT_MAX_ROWS`]. Starts the runtime extraction runs work on.
    ///
    /// # Errors
    /// The I/O error when the run runtime's thread cannot be started.
    pub fn new(dir: PoolDir, explicit_admin: Option<String>) -> std::io::Result<AppState> {
        Ok(AppState {
            runs: Arc::new(runs::Runs::new(dir.root().to_path_buf())?),
            dir,
            explicit_admin: explicit_admin.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).map(|t| token_hash(&t)),
            limits: QueryLimits { max_rows: Some(DEFAULT_MAX_ROWS), ..QueryLimits::default() },
        })
    }

    /// Sets the query limits (memory budget, time limit, row cap of responses).
    pub fn with_query_limits(mut self, limits: QueryLimits) -> AppState {
        self.limits = limits;
        self
    }

    /// Stops every run of this process (they end `interrupted`, saying `why`) and waits until
    /// each has recorded how it ended: for a server that is told to stop.
    pub async fn stop_runs(&self, why: &str) {
        lakeport_core::runs::stop_all(why).await
    }
}

/// The router (API + console), for serving or for tests. Routes, statuses and bodies: the
/// OpenAPI document ([`openapi_document`], also served at `GET /api/openapi.json`).
pub fn router(state: AppState) -> axum::Router {
    api::router(state)
}

/// Serves until `shutdown` resolves (then finishes the requests in flight). Jobs a process that
/// is gone left `running` are first marked interrupted (a failure there is logged, not returned).
///
/// # Errors
/// The I/O error when `listen` cannot be bound, or when serving fails.
pub async fn serve(state: AppState, listen: SocketAddr, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    // Jobs a process that is gone left "running" (a crash, a SIGKILL, a restart) end as interrupted.
    if let Err(e) = lakeport_core::runs::recover_all(&state.dir).await {
        tracing::warn!("cannot check the job log for interrupted runs: {e}");
    }
    // TCP_NODELAY: without it a kept-alive client (the console, a script) waits for its own
    // delayed ACK, ~25-40 ms, on answers written in more than one piece.
    let listener = axum::serve::ListenerExt::tap_io(tokio::net::TcpListener::bind(listen).await?, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tracing::info!(%listen, "lakeport server listening");
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
