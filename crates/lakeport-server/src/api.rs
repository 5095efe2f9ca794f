//! Routes. Handlers only translate HTTP to calls of the core/pool/extract crates and back.

use axum::extract::{DefaultBodyLimit, Extension, MatchedPath, Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use lakeport_core::{self as core, NewConnection};
use lakeport_core::{ExtractRequest, RunState};
use lakeport_core::{same_token_hash, token_hash, validate_identifier, Connection, ConnectionConfig, Pool, TokenScope};
use lakeport_core::Secret;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::answers::*;
use crate::error::{bad_request, ApiError, Body, Params};
use lakeport_core::ErrorKind;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// The only operations a read-only token may call (method, route as the router matches it).
/// Every other route needs an admin token: a route added later is admin-only until listed here.
pub const READ_ONLY_OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/api/whoami"),
    ("GET", "/api/pools"),
    ("GET", "/api/pools/{pool}/tables"),
    ("GET", "/api/pools/{pool}/tables/{table}/preview"),
    ("POST", "/api/pools/{pool}/query"),
];

/// The scope an operation needs.
pub(crate) fn scope_needed(method: &Method, route: &str) -> TokenScope {
    if READ_ONLY_OPERATIONS.iter().any(|(m, r)| *m == method.as_str() && *r == route) {
        TokenScope::ReadOnly
    } else {
        TokenScope::Admin
    }
}

/// The console's pages and scripts may load only their own files: no inline script or style, no
/// `eval`, no plugins, no frames around them, requests only to this origin. Table previews show
/// values from anybody's files; were one ever put into the page as markup, the browser still
/// would not run it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Every route: `/api/…` (see [`openapi_document`]; all but `/api/health` and
/// `/api/openapi.json` need a token, 401 without a valid one, 403 when its scope is too small),
/// and the console's files (`/`, `/app.js`, `/app.css`, `/favicon.svg`). Request bodies over
/// [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES) get 413; a panicking handler gets a 500 JSON error;
/// every answer carries the security headers (CSP, `nosniff`, `X-Frame-Options: DENY`,
/// `no-referrer`, `Cache-Control: no-store` unless set).
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/whoami", get(whoami))
        .route("/token/rotate", post(rotate_token))
        .route("/trust-policy", post(trust_policy))
        .route("/pools", get(list_pools).post(create_pool))
        .route("/pools/{pool}", delete(drop_pool))
        .route("/pools/{pool}/connections", get(list_connections).post(add_connection))
        .route("/pools/{pool}/connections/test", post(test_unsaved))
        .route("/pools/{pool}/connections/{name}", get(get_connection).put(update_connection).delete(remove_connection))
        .route("/pools/{pool}/connections/{name}/test", post(test_saved))
        .route("/pools/{pool}/connections/{name}/browse", get(browse))
        .route("/pools/{pool}/connections/{name}/columns", post(columns))
        .route("/pools/{pool}/connections/{name}/namespaces", get(namespaces))
        .route("/pools/{pool}/connections/{name}/shares", get(get_shares).put(put_shares))
        .route("/pools/{pool}/connections/{name}/snapshots", get(snapshots))
        .route("/pools/{pool}/extractions", post(start_extraction))
        .route("/pools/{pool}/saved-extractions", get(list_saved).post(create_saved))
        .route("/pools/{pool}/saved-extractions/{name}", get(get_saved).put(edit_saved).delete(remove_saved))
        .route("/pools/{pool}/saved-extractions/{name}/run", post(run_saved))
        .route("/pools/{pool}/saved-extractions/{name}/history", get(saved_history))
        .route("/schedule-preview", post(schedule_preview))
        .route("/pools/{pool}/runs", get(list_runs))
        .route("/runs/{id}", get(get_run))
        .route("/runs/{id}/cancel", post(cancel_run))
        .route("/runs/{id}/rerun", post(rerun))
        .route("/pools/{pool}/jobs", get(jobs))
        .route("/pools/{pool}/jobs/page", get(jobs_page))
        .route("/pools/{pool}/jobs/{id}", get(get_job))
        .route("/pools/{pool}/tables", get(tables))
        .route("/pools/{pool}/tables/{table}", get(table_details).delete(drop_table))
        .route("/pools/{pool}/tables/{table}/preview", get(preview))
        .route("/pools/{pool}/query", post(query))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let api = protected.route("/health", get(|| async { Json(Health { status: "ok".into() }) })).route("/openapi.json", get(openapi));
    Router::new()
        .nest("/api", api)
        .route("/", get(|| async { asset("text/html; charset=utf-8", include_str!("assets/index.html")) }))
        .route("/app.js", get(|| async { asset("text/javascript; charset=utf-8", include_str!("assets/app.js")) }))
        .route("/app.css", get(|| async { asset("text/css; charset=utf-8", include_str!("assets/app.css")) }))
        .route("/favicon.svg", get(|| async { asset("image/svg+xml", include_str!("assets/favicon.svg")) }))
        .layer(DefaultBodyLimit::max(crate::MAX_BODY_BYTES))
        // Queries turn their own panics into errors (PoolError::QueryPanicked); this is the net
        // for every other handler: the request gets a 500 answer and the server goes on.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
    tracing::error!(%message, "a request handler panicked");
    ApiError::of_kind(ErrorKind::Internal, format!("internal error (a bug in lakeport; please report it): {message}")).into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// Who called: the scope of the token and its name.
#[derive(Clone, Debug)]
struct Caller {
    scope: TokenScope,
    name: String,
    /// A token stored in the catalog (false: the server's `--token`, kept in memory only).
    stored: bool,
}

/// The token travels in a header (`Authorization: Bearer …` or `X-Lakeport-Token`), never in a
/// cookie: a browser does not attach it on its own, so cross-site requests cannot use it. It is
/// compared by hash, in constant time, with the `--token` one and every stored one; then the
/// operation's scope is checked (401 without a valid token, 403 when the scope is too small).
async fn require_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-lakeport-token").and_then(|v| v.to_str().ok()))
        .unwrap_or("")
        .trim()
        .to_string();
    let explicit = state.explicit_admin.as_ref().is_some_and(|h| same_token_hash(h, &token_hash(&given)));
    let caller = if given.is_empty() {
        None
    } else if explicit {
        Some(Caller { scope: TokenScope::Admin, name: "--token".into(), stored: false })
    } else {
        match state.dir.authenticate(&given).await {
            Ok(found) => found.map(|t| Caller { scope: t.scope, name: t.name, stored: true }),
            Err(e) => return ApiError::from(e).into_response(),
        }
    };
    let Some(caller) = caller else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "missing or wrong API token (send it as `Authorization: Bearer <token>`)").into_response();
    };
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
    if scope_needed(request.method(), &route) == TokenScope::Admin && caller.scope != TokenScope::Admin {
        let message = format!(
            "token '{}' is read-only: it may list pools and tables, preview tables and run queries; {} {} needs an admin token",
            caller.name,
            request.method(),
            route
        );
        return ApiError::new(StatusCode::FORBIDDEN, message).into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

async fn whoami(Extension(caller): Extension<Caller>) -> Json<Whoami> {
    Json(Whoami { name: caller.name, scope: caller.scope })
}

/// Rotates the calling (stored) token: a new one under the same name and scope, shown in this
/// answer only; the old one is refused from now on. The server's `--token` lives in its memory
/// and is not rotated here (409).
async fn rotate_token(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<(StatusCode, Json<RotatedToken>)> {
    if !caller.stored {
        return Err(ApiError::of_kind(
            ErrorKind::Conflict,
            "this is the server's --token (kept in its memory only): restart `lakeport serve` with another one, or sign in with a stored token (`lakeport token create`) to rotate it here",
        ));
    }
    s.dir.revoke_token(&caller.name).await?;
    let new = s.dir.create_token(Some(&caller.name), caller.scope).await?;
    Ok((StatusCode::CREATED, Json(RotatedToken { name: caller.name, scope: caller.scope, token: new.token })))
}

#[derive(Deserialize)]
struct TrustPolicyRequest {
    region: String,
    #[serde(default)]
    sts_endpoint: Option<String>,
    #[serde(default)]
    allow_http: bool,
    /// Kept when given; else a new `lakeport-<uuid>` is made.
    #[serde(default)]
    external_id: Option<String>,
}

/// Zero-copy with an assumed role: the IAM principal lakeport runs as (STS GetCallerIdentity of
/// the server's own credentials), the External ID, and the trust policy the user's role needs —
/// what `lakeport connection trust-policy` prints. 400 for bad settings, 502 when STS fails.
async fn trust_policy(Body(body): Body<TrustPolicyRequest>) -> ApiResult<Json<TrustPolicy>> {
    let external_id = body.external_id.map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).unwrap_or_else(|| format!("lakeport-{}", uuid::Uuid::new_v4().simple()));
    let principal = lakeport_core::caller_identity(&body.region, body.sts_endpoint.as_deref(), body.allow_http).await.map_err(|e| ApiError::of_kind(e.kind(), e.to_string()))?;
    let policy: Value = serde_json::from_str(&lakeport_core::trust_policy(&principal, &external_id)).map_err(|e| ApiError::of_kind(ErrorKind::Internal, e.to_string()))?;
    Ok(Json(TrustPolicy { principal, external_id, trust_policy: policy }))
}

async fn pool(state: &AppState, name: &str) -> ApiResult<Pool> {
    Ok(state.dir.pool(name).await?)
}

async fn list_pools(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Json<Vec<PoolEntry>>> {
    // Connections are not a read-only token's business, not even how many there are.
    Ok(Json(s.dir.list_pools().await?.into_iter().map(|p| PoolEntry::new(p, caller.scope)).collect()))
}

#[derive(Deserialize)]
struct CreatePool {
    name: String,
    /// Where the tables live (`{kind: embedded}` when left out, or `{kind: rest, …}`).
    #[serde(default)]
    catalog: Option<lakeport_core::PoolCatalog>,
    /// A REST-catalog pool's secret access key, bearer token or OAuth2 client secret (stored, never returned).
    #[serde(default)]
    secret: Option<lakeport_core::Secret>,
}

async fn create_pool(State(s): State<AppState>, Body(body): Body<CreatePool>) -> ApiResult<(StatusCode, Json<PoolName>)> {
    let catalog = body.catalog.unwrap_or(lakeport_core::PoolCatalog::Embedded);
    s.dir.create_pool_with(&body.name, &catalog, body.secret.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(PoolName { name: body.name })))
}

async fn drop_pool(State(s): State<AppState>, Path(p): Path<String>) -> ApiResult<StatusCode> {
    s.dir.drop_pool(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A connection as the API shows it: its settings, whether a secret is stored — never the secret.
fn connection_view(pool: &Pool, connection: Connection) -> ApiResult<ConnectionView> {
    let has_secret = pool.connection_secret_opt(&connection.name)?.is_some();
    Ok(ConnectionView { connection, has_secret })
}

async fn list_connections(State(s): State<AppState>, Path(p): Path<String>) -> ApiResult<Json<Vec<ConnectionView>>> {
    let pool = pool(&s, &p).await?;
    let conns = core::connections(&pool).await?;
    Ok(Json(conns.into_iter().map(|c| connection_view(&pool, c)).collect::<ApiResult<_>>()?))
}

#[derive(Deserialize)]
struct AddConnection {
    #[serde(flatten)]
    connection: NewConnection,
    #[serde(default)]
    skip_test: bool,
}

async fn add_connection(State(s): State<AppState>, Path(p): Path<String>, Body(body): Body<AddConnection>) -> ApiResult<(StatusCode, Json<AddAnswer>)> {
    let pool = pool(&s, &p).await?;
    let outcome = core::add_connection(&pool, body.connection, body.skip_test).await?;
    let status = if outcome.saved { StatusCode::CREATED } else { StatusCode::UNPROCESSABLE_ENTITY };
    let connection = outcome.connection.map(|c| connection_view(&pool, c)).transpose()?;
    Ok((status, Json(AddAnswer { saved: outcome.saved, test: outcome.test, connection })))
}

#[derive(Deserialize)]
struct TestUnsaved {
    config: ConnectionConfig,
    #[serde(default)]
    secret: Option<Secret>,
}

async fn test_unsaved(State(s): State<AppState>, Path(p): Path<String>, Body(body): Body<TestUnsaved>) -> ApiResult<Json<core::TestReport>> {
    pool(&s, &p).await?;
    let secret = body.secret.filter(|v| !v.expose().trim().is_empty());
    Ok(Json(core::test_settings(&body.config, secret.as_ref()).await?))
}

async fn get_connection(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<ConnectionView>> {
    let pool = pool(&s, &p).await?;
    let c = core::connection(&pool, &name).await?;
    Ok(Json(connection_view(&pool, c)?))
}

/// Changes a saved connection (either type; body: `lakeport_core::ConnectionUpdate`): Test
/// Connection first; 200 saved, 422 with the verdicts when it failed (then nothing changed).
async fn update_connection(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Body(body): Body<core::ConnectionUpdate>) -> ApiResult<(StatusCode, Json<UpdateAnswer>)> {
    let pool = pool(&s, &p).await?;
    let outcome = core::update_connection(&pool, &name, body).await?;
    let status = if outcome.saved { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let connection = outcome.connection.map(|c| connection_view(&pool, c)).transpose()?;
    Ok((status, Json(UpdateAnswer { saved: outcome.saved, test: outcome.test, changed: outcome.changed, connection })))
}

async fn remove_connection(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<StatusCode> {
    pool(&s, &p).await?.remove_connection(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn test_saved(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<core::TestReport>> {
    Ok(Json(core::test_saved(&pool(&s, &p).await?, &name).await?))
}

#[derive(Deserialize)]
struct BrowseQuery {
    #[serde(default)]
    prefix: String,
}

async fn browse(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Params(q): Params<BrowseQuery>) -> ApiResult<Json<Vec<core::BrowseEntry>>> {
    Ok(Json(core::browse(&pool(&s, &p).await?, &name, &q.prefix).await?))
}

async fn namespaces(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<Vec<core::NamespaceListing>>> {
    Ok(Json(core::namespaces(&pool(&s, &p).await?, &name).await?))
}

async fn get_shares(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<Shares>> {
    // Checked against the source catalog (gone / new tables); the saved selection when it
    // cannot be reached.
    let pool = pool(&s, &p).await?;
    match core::share_status(&pool, &name).await {
        Ok(status) => Ok(Json(Shares::Checked(status))),
        Err(_) => Ok(Json(Shares::Saved(core::shares(&pool, &name).await?))),
    }
}

#[derive(Deserialize)]
struct SnapshotsQuery {
    /// `<namespace>.<table>` (parts with dots or quotes double-quoted, as in SQL).
    table: String,
}

async fn snapshots(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Params(q): Params<SnapshotsQuery>) -> ApiResult<Json<Vec<core::SnapshotInfo>>> {
    let full = format!("{}.{}", lakeport_core::quote_ident(&name), q.table);
    Ok(Json(core::snapshots(&pool(&s, &p).await?, &full).await?))
}

#[derive(Deserialize)]
struct PutShares {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
    /// Re-read the tables of every namespace share.
    #[serde(default)]
    refresh: bool,
}

async fn put_shares(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Body(body): Body<PutShares>) -> ApiResult<Json<Vec<core::SelectedShare>>> {
    Ok(Json(core::update_shares(&pool(&s, &p).await?, &name, &body.add, &body.remove, body.refresh).await?))
}

#[derive(Deserialize)]
struct StartExtraction {
    connection: String,
    #[serde(flatten)]
    request: ExtractRequest,
}

async fn start_extraction(State(s): State<AppState>, Path(p): Path<String>, Body(body): Body<StartExtraction>) -> ApiResult<(StatusCode, Json<RunState>)> {
    let pool = pool(&s, &p).await?;
    pool.connection(&body.connection).await?;
    if body.request.items.is_empty() {
        return Err(bad_request("pick at least one file or folder"));
    }
    let run = s.runs.start(&pool, &body.connection, body.request).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

/// The columns each table of an extraction would get (for choosing column settings).
async fn columns(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Body(request): Body<ExtractRequest>) -> ApiResult<Json<Vec<core::InferredTable>>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(lakeport_core::inferred_columns(&pool, &name, &request).await?))
}

/// A saved extraction as the API takes it: the definition (ExtractionDefinition) with its name.
#[derive(Deserialize)]
struct SavedBody {
    name: String,
    #[serde(flatten)]
    definition: core::ExtractionDefinition,
}

async fn list_saved(State(s): State<AppState>, Path(p): Path<String>) -> ApiResult<Json<Vec<SavedExtraction>>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(core::list_extractions(&pool).await?.into_iter().map(SavedExtraction::from).collect()))
}

async fn create_saved(State(s): State<AppState>, Path(p): Path<String>, Body(body): Body<SavedBody>) -> ApiResult<(StatusCode, Json<SavedExtraction>)> {
    let pool = pool(&s, &p).await?;
    let saved = core::create_extraction(&pool, &body.name, body.definition).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

async fn get_saved(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<SavedExtraction>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(core::get_extraction(&pool, &name).await?.into()))
}

async fn edit_saved(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Body(definition): Body<core::ExtractionDefinition>) -> ApiResult<Json<SavedExtraction>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(core::edit_extraction(&pool, &name, definition).await?.into()))
}

async fn remove_saved(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<StatusCode> {
    let pool = pool(&s, &p).await?;
    core::remove_extraction(&pool, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct RunSaved {
    #[serde(default)]
    mode: Option<lakeport_core::LoadMode>,
}

async fn run_saved(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, body: Option<Json<RunSaved>>) -> ApiResult<(StatusCode, Json<RunState>)> {
    let pool = pool(&s, &p).await?;
    let extraction = core::get_extraction(&pool, &name).await?;
    if let Some(job) = &extraction.running_job {
        return Err(lakeport_core::PoolError::ExtractionRunning { extraction: name, job: job.clone() }.into());
    }
    let mode = body.map(|b| b.0).unwrap_or_default().mode;
    let run = s.runs.start_saved(&pool, &extraction, mode).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

async fn saved_history(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Params(q): Params<Limit>) -> ApiResult<Json<Vec<core::HistoryEntry>>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(core::extraction_history(&pool, &name, q.limit.unwrap_or(50)).await?))
}

/// The next run times of a schedule, for people typing one: {cron, timezone} → {upcoming_runs}.
async fn schedule_preview(Body(schedule): Body<core::Schedule>) -> ApiResult<Json<UpcomingRuns>> {
    Ok(Json(UpcomingRuns { upcoming_runs: schedule.upcoming(chrono::Utc::now(), 3)? }))
}

/// Extraction runs of the pool (of every process, also before a restart), newest first, with
/// live progress for those this server runs.
async fn list_runs(State(s): State<AppState>, Path(p): Path<String>, Params(q): Params<Paging>) -> ApiResult<Json<Vec<RunState>>> {
    let page = pool(&s, &p).await?.jobs_page(q.limit.unwrap_or(50), q.before.as_deref(), true).await?;
    Ok(Json(page.jobs.into_iter().map(|j| s.runs.overlay(j)).collect()))
}

/// A job by id in any pool (runs are addressed without their pool).
async fn find_job(s: &AppState, id: &str) -> ApiResult<(Pool, lakeport_core::Job)> {
    for info in s.dir.list_pools().await? {
        let p = s.dir.pool(&info.name).await?;
        if let Ok(job) = p.job(id).await {
            return Ok((p, job));
        }
    }
    Err(ApiError::of_kind(ErrorKind::NotFound, format!("no run {id}")))
}

async fn get_run(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<RunState>> {
    if let Some(live) = s.runs.live(&id) {
        return Ok(Json(live));
    }
    Ok(Json(s.runs.overlay(find_job(&s, &id).await?.1)))
}

/// Cancels a run this server runs (202; it ends `cancelled` at its next checkpoint).
async fn cancel_run(State(s): State<AppState>, Path(id): Path<String>, Extension(caller): Extension<Caller>) -> ApiResult<(StatusCode, Json<Option<RunState>>)> {
    if s.runs.cancel(&id, &format!("through the API (token '{}') at {}", caller.name, chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"))) {
        return Ok((StatusCode::ACCEPTED, Json(s.runs.live(&id))));
    }
    let (_, job) = find_job(&s, &id).await?;
    Err(core::runs::not_cancellable(&job).into())
}

/// Starts the same request again: a saved extraction's job re-runs that extraction (its current
/// definition, the job's mode); a one-off job its recorded request.
async fn rerun(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<RunState>)> {
    let (pool, job) = find_job(&s, &id).await?;
    let cannot = |why: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("job {id} cannot be re-run: {why}"));
    let mode: Option<lakeport_core::LoadMode> = serde_json::from_value(json!(job.mode)).ok();
    let Some(mode) = mode else { return Err(cannot(&format!("it is a {} job, not an extraction", job.mode))) };
    if let Some(origin) = &job.origin {
        let extraction = core::get_extraction(&pool, &origin.extraction).await?;
        let run = s.runs.start_saved(&pool, &extraction, Some(mode)).await?;
        return Ok((StatusCode::ACCEPTED, Json(run)));
    }
    let Some(request) = job.request.clone() else { return Err(cannot("it was recorded by an earlier lakeport version without its request")) };
    let request: ExtractRequest = serde_json::from_value(request).map_err(|e| cannot(&format!("its recorded request cannot be read: {e}")))?;
    pool.connection(&job.connection).await?;
    let run = s.runs.start(&pool, &job.connection, request).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct Paging {
    limit: Option<usize>,
    /// A job id: only jobs older than it.
    before: Option<String>,
}

async fn jobs(State(s): State<AppState>, Path(p): Path<String>, Params(q): Params<Paging>) -> ApiResult<Json<Vec<core::Job>>> {
    let pool = pool(&s, &p).await?;
    match q.before {
        None => Ok(Json(pool.jobs(q.limit.unwrap_or(50)).await?)),
        Some(before) => Ok(Json(pool.jobs_page(q.limit.unwrap_or(50), Some(&before), false).await?.jobs)),
    }
}

/// A page of the job history: {jobs, has_more, next_before}.
async fn jobs_page(State(s): State<AppState>, Path(p): Path<String>, Params(q): Params<Paging>) -> ApiResult<Json<JobsPage>> {
    let page = pool(&s, &p).await?.jobs_page(q.limit.unwrap_or(10), q.before.as_deref(), false).await?;
    let jobs: Vec<_> = page.jobs.into_iter().map(|j| s.runs.overlay(j)).collect();
    Ok(Json(JobsPage { jobs, has_more: page.has_more, next_before: page.next_before }))
}

/// One job with its per-table details.
async fn get_job(State(s): State<AppState>, Path((p, id)): Path<(String, String)>) -> ApiResult<Json<RunState>> {
    let job = pool(&s, &p).await?.job(&id).await?;
    Ok(Json(s.runs.overlay(job)))
}

async fn tables(State(s): State<AppState>, Path(p): Path<String>, Extension(caller): Extension<Caller>) -> ApiResult<Json<Vec<core::PoolTable>>> {
    // Extracted and shared (zero-copy) tables, each with its `kind`.
    let mut tables = core::pool_tables(&pool(&s, &p).await?).await?;
    if caller.scope != TokenScope::Admin {
        // Where the server keeps its files is not a read-only token's business (an empty
        // location is left out of the answer).
        for t in &mut tables {
            if let core::PoolTable::Extracted(info) = t {
                info.location.clear();
            }
        }
    }
    Ok(Json(tables))
}

/// Rows as JSON objects, at most the server's row cap (`--max-rows`); `truncated` says whether
/// more rows were cut off (the query is stopped there, not run to the end).
async fn run_sql(state: &AppState, pool: &Pool, sql: &str) -> ApiResult<QueryResult> {
    let result = core::query_with(pool, sql, &state.limits).await?;
    let columns = result.schema.fields().iter().map(|f| ResultColumn { name: f.name().clone(), data_type: f.data_type().to_string() }).collect();
    // Decimals as exact strings, nulls as null (lakeport_core::rows_json).
    let buf = lakeport_core::rows_json(&result.batches).map_err(|e| ApiError::of_kind(ErrorKind::Internal, e.to_string()))?;
    let rows = serde_json::from_slice(&buf).map_err(|e| ApiError::of_kind(ErrorKind::Internal, e.to_string()))?;
    Ok(QueryResult { columns, rows, row_count: result.num_rows(), truncated: result.truncated, max_rows: state.limits.max_rows })
}

async fn preview(State(s): State<AppState>, Path((p, table)): Path<(String, String)>, Params(q): Params<Limit>) -> ApiResult<Json<QueryResult>> {
    validate_identifier("table", &table)?;
    let pool = pool(&s, &p).await?;
    pool.table(&table).await?;
    let limit = q.limit.unwrap_or(50).min(1000);
    Ok(Json(run_sql(&s, &pool, &format!("SELECT * FROM \"{table}\" LIMIT {limit}")).await?))
}

#[derive(Deserialize)]
struct Sql {
    sql: String,
}

async fn query(State(s): State<AppState>, Path(p): Path<String>, Body(body): Body<Sql>) -> ApiResult<Json<QueryResult>> {
    Ok(Json(run_sql(&s, &pool(&s, &p).await?, &body.sql).await?))
}

/// One extracted table for its console page: the table list's entry, its columns in table order
/// (`{name, type, nullable}`; `type` as Arrow names it) and the source objects its current
/// snapshot holds rows of (`files`: `{key, size, modified, rows}`, size in bytes, modified UTC).
/// When the table's history no longer says what it was loaded from, `files` is null and
/// `files_note` says why. 404 for an unknown table.
async fn table_details(State(s): State<AppState>, Path((p, table)): Path<(String, String)>) -> ApiResult<Json<TableDetails>> {
    validate_identifier("table", &table)?;
    let pool = pool(&s, &p).await?;
    let info = pool.table(&table).await?;
    let columns = match pool.table_schema(&table).await? {
        Some(schema) => schema.fields().iter().map(|f| TableColumn { name: f.name().clone(), data_type: f.data_type().to_string(), nullable: f.is_nullable() }).collect(),
        None => Vec::new(),
    };
    let (files, files_note) = match pool.ledger(&table).await {
        Ok(ledger) => {
            let files = ledger
                .objects
                .values()
                .map(|o| SourceFile { key: o.key.clone(), size: o.size, modified: chrono::DateTime::from_timestamp_millis(o.modified_ms), rows: o.rows })
                .collect();
            (Some(files), None)
        }
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Json(TableDetails { table: info, columns, files, files_note }))
}

/// Drops a table (its data files go, as `pool vacuum` would remove them; recorded in the job
/// history). 409 while a run loads the table.
async fn drop_table(State(s): State<AppState>, Path((p, table)): Path<(String, String)>) -> ApiResult<Json<core::DropReport>> {
    validate_identifier("table", &table)?;
    let pool = pool(&s, &p).await?;
    let hold = s.runs.hold(&pool, &table, "a drop").await?;
    let dropped = pool.drop_table(&table).await;
    hold.release().await;
    Ok(Json(dropped?))
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::openapi_document())
}
