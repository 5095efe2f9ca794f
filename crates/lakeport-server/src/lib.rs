//! `lakeport serve`: the HTTP API and the web console over the same core as the CLI.
//!
//! * Every `/api` route but `/api/health` and `/api/openapi.json` needs the server token in a
//!   header (`Authorization: Bearer …`) — never a cookie, so other sites cannot ride on it (CSRF).
//! * Secrets are write-only: they go in with a connection and never come back out.
//! * Extractions run as background runs on their own runtime, so the API stays responsive while
//!   they work; two runs that would load the same table are refused (409), not interleaved.

mod api;
mod error;
mod runs;
mod token;

use std::net::SocketAddr;
use std::sync::Arc;

use lakeport_pool::PoolDir;

pub use runs::{RunState, RunStatus};
pub use token::load_or_create_token;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub(crate) dir: PoolDir,
    pub(crate) token: Arc<String>,
    pub(crate) runs: Arc<runs::Runs>,
}

impl AppState {
    pub fn new(dir: PoolDir, token: String) -> std::io::Result<AppState> {
        Ok(AppState { runs: Arc::new(runs::Runs::new(dir.root().to_path_buf())?), dir, token: Arc::new(token) })
    }
}

/// The router (API + console), for serving or for tests.
pub fn router(state: AppState) -> axum::Router {
    api::router(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(state: AppState, listen: SocketAddr, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, "lakeport server listening");
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
