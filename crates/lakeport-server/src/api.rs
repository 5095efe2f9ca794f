//! Routes. Handlers only translate HTTP to calls of the core/pool/extract crates and back.

use axum::extract::{DefaultBodyLimit, Extension, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use lakeport_core::{self as core, NewConnection};
use lakeport_core::ExtractRequest;
use lakeport_core::{same_token_hash, token_hash, validate_identifier, Connection, ConnectionConfig, Pool, TokenScope};
use lakeport_core::Secret;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{bad_request, ApiError};
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
fn scope_needed(method: &Method, route: &str) -> TokenScope {
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
    let api = protected.route("/health", get(|| async { Json(json!({ "status": "ok" })) })).route("/openapi.json", get(openapi));
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

async fn whoami(Extension(caller): Extension<Caller>) -> Json<Value> {
    Json(json!({ "name": caller.name, "scope": caller.scope }))
}

/// Rotates the calling (stored) token: a new one under the same name and scope, shown in this
/// answer only; the old one is refused from now on. The server's `--token` lives in its memory
/// and is not rotated here (409).
async fn rotate_token(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<(StatusCode, Json<Value>)> {
    if !caller.stored {
        return Err(ApiError::of_kind(
            ErrorKind::Conflict,
            "this is the server's --token (kept in its memory only): restart `lakeport serve` with another one, or sign in with a stored token (`lakeport token create`) to rotate it here",
        ));
    }
    s.dir.revoke_token(&caller.name).await?;
    let new = s.dir.create_token(Some(&caller.name), caller.scope).await?;
    Ok((StatusCode::CREATED, Json(json!({ "name": caller.name, "scope": caller.scope, "token": new.token }))))
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
async fn trust_policy(Json(body): Json<TrustPolicyRequest>) -> ApiResult<Json<Value>> {
    let external_id = body.external_id.map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).unwrap_or_else(|| format!("lakeport-{}", uuid::Uuid::new_v4().simple()));
    let principal = lakeport_core::caller_identity(&body.region, body.sts_endpoint.as_deref(), body.allow_http).await.map_err(|e| ApiError::of_kind(e.kind(), e.to_string()))?;
    let policy: Value = serde_json::from_str(&lakeport_core::trust_policy(&principal, &external_id)).map_err(|e| ApiError::of_kind(ErrorKind::Internal, e.to_string()))?;
    Ok(Json(json!({ "principal": principal, "external_id": external_id, "trust_policy": policy })))
}

async fn pool(state: &AppState, name: &str) -> ApiResult<Pool> {
    Ok(state.dir.pool(name).await?)
}

async fn list_pools(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Json<Value>> {
    let mut pools = json!(s.dir.list_pools().await?);
    if caller.scope != TokenScope::Admin {
        // Connections are not a read-only token's business, not even how many there are.
        for p in pools.as_array_mut().into_iter().flatten() {
            p.as_object_mut().map(|o| o.remove("connections"));
        }
    }
    Ok(Json(pools))
}

#[derive(Deserialize)]
struct CreatePool {
    name: String,
}

async fn create_pool(State(s): State<AppState>, Json(body): Json<CreatePool>) -> ApiResult<(StatusCode, Json<Value>)> {
    s.dir.create_pool(&body.name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "name": body.name }))))
}

async fn drop_pool(State(s): State<AppState>, Path(p): Path<String>) -> ApiResult<StatusCode> {
    s.dir.drop_pool(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A connection as the API shows it: its settings, whether a secret is stored — never the secret.
fn connection_json(pool: &Pool, c: &Connection) -> ApiResult<Value> {
    let mut v = json!(c);
    v["has_secret"] = json!(pool.connection_secret_opt(&c.name)?.is_some());
    Ok(v)
}

async fn list_connections(State(s): State<AppState>, Path(p): Path<String>) -> ApiResult<Json<Value>> {
    let pool = pool(&s, &p).await?;
    let conns = pool.connections().await?;
    Ok(Json(Value::Array(conns.iter().map(|c| connection_json(&pool, c)).collect::<ApiResult<_>>()?)))
}

#[derive(Deserialize)]
struct AddConnection {
    #[serde(flatten)]
    connection: NewConnection,
    #[serde(default)]
    skip_test: bool,
}

async fn add_connection(State(s): State<AppState>, Path(p): Path<String>, Json(body): Json<AddConnection>) -> ApiResult<(StatusCode, Json<Value>)> {
    let pool = pool(&s, &p).await?;
    let outcome = core::add_connection(&pool, body.connection, body.skip_test).await?;
    let status = if outcome.saved { StatusCode::CREATED } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut v = json!(outcome);
    if let Some(c) = &outcome.connection {
        v["connection"] = connection_json(&pool, c)?;
    }
    Ok((status, Json(v)))
}

#[derive(Deserialize)]
struct TestUnsaved {
    config: ConnectionConfig,
    #[serde(default)]
    secret: Option<Secret>,
}

async fn test_unsaved(State(s): State<AppState>, Path(p): Path<String>, Json(body): Json<TestUnsaved>) -> ApiResult<Json<Value>> {
    pool(&s, &p).await?;
    let secret = body.secret.filter(|v| !v.expose().trim().is_empty());
    Ok(Json(json!(core::test_settings(&body.config, secret.as_ref()).await?)))
}

async fn get_connection(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    let pool = pool(&s, &p).await?;
    let c = pool.connection(&name).await?;
    Ok(Json(connection_json(&pool, &c)?))
}

/// Changes a saved connection (either type; body: `lakeport_core::ConnectionUpdate`): Test
/// Connection first; 200 saved, 422 with the verdicts when it failed (then nothing changed).
async fn update_connection(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Json(body): Json<core::ConnectionUpdate>) -> ApiResult<(StatusCode, Json<Value>)> {
    let pool = pool(&s, &p).await?;
    let outcome = core::update_connection(&pool, &name, body).await?;
    let status = if outcome.saved { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut v = json!(outcome);
    if let Some(c) = &outcome.connection {
        v["connection"] = connection_json(&pool, c)?;
    }
    Ok((status, Json(v)))
}

async fn remove_connection(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<StatusCode> {
    pool(&s, &p).await?.remove_connection(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn test_saved(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(core::test_saved(&pool(&s, &p).await?, &name).await?)))
}

#[derive(Deserialize)]
struct BrowseQuery {
    #[serde(default)]
    prefix: String,
}

async fn browse(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Query(q): Query<BrowseQuery>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(core::browse(&pool(&s, &p).await?, &name, &q.prefix).await?)))
}

async fn namespaces(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(core::namespaces(&pool(&s, &p).await?, &name).await?)))
}

async fn get_shares(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    // Checked against the source catalog (gone / new tables); the saved selection when it
    // cannot be reached.
    let pool = pool(&s, &p).await?;
    match core::share_status(&pool, &name).await {
        Ok(status) => Ok(Json(json!(status))),
        Err(_) => Ok(Json(json!(pool.shares(&name).await?))),
    }
}

#[derive(Deserialize)]
struct SnapshotsQuery {
    /// `<namespace>.<table>` (parts with dots or quotes double-quoted, as in SQL).
    table: String,
}

async fn snapshots(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Query(q): Query<SnapshotsQuery>) -> ApiResult<Json<Value>> {
    let full = format!("{}.{}", lakeport_core::quote_ident(&name), q.table);
    Ok(Json(json!(core::snapshots(&pool(&s, &p).await?, &full).await?)))
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

async fn put_shares(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Json(body): Json<PutShares>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(core::update_shares(&pool(&s, &p).await?, &name, &body.add, &body.remove, body.refresh).await?)))
}

#[derive(Deserialize)]
struct StartExtraction {
    connection: String,
    #[serde(flatten)]
    request: ExtractRequest,
}

async fn start_extraction(State(s): State<AppState>, Path(p): Path<String>, Json(body): Json<StartExtraction>) -> ApiResult<(StatusCode, Json<Value>)> {
    let pool = pool(&s, &p).await?;
    pool.connection(&body.connection).await?;
    if body.request.items.is_empty() {
        return Err(bad_request("pick at least one file or folder"));
    }
    let run = s.runs.start(&pool, &body.connection, body.request).await?;
    Ok((StatusCode::ACCEPTED, Json(json!(run))))
}

/// The columns each table of an extraction would get (for choosing column settings).
async fn columns(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Json(request): Json<ExtractRequest>) -> ApiResult<Json<Value>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(json!(lakeport_core::inferred_columns(&pool, &name, &request).await?)))
}

/// A saved extraction as the API takes it: the definition (ExtractionDefinition) with its name.
#[derive(Deserialize)]
struct SavedBody {
    name: String,
    #[serde(flatten)]
    definition: core::ExtractionDefinition,
}

/// The extraction with its next three run times (for people choosing a schedule).
fn saved_json(e: &core::Extraction) -> Value {
    let mut v = json!(e);
    if let Some(s) = &e.definition.schedule {
        v["upcoming_runs"] = json!(s.upcoming(chrono::Utc::now(), 3).unwrap_or_default());
    }
    v
}

async fn list_saved(State(s): State<AppState>, Path(p): Path<String>) -> ApiResult<Json<Value>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(Value::Array(core::list_extractions(&pool).await?.iter().map(saved_json).collect())))
}

async fn create_saved(State(s): State<AppState>, Path(p): Path<String>, Json(body): Json<SavedBody>) -> ApiResult<(StatusCode, Json<Value>)> {
    let pool = pool(&s, &p).await?;
    let saved = core::create_extraction(&pool, &body.name, body.definition).await?;
    Ok((StatusCode::CREATED, Json(saved_json(&saved))))
}

async fn get_saved(State(s): State<AppState>, Path((p, name)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(saved_json(&core::get_extraction(&pool, &name).await?)))
}

async fn edit_saved(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Json(definition): Json<core::ExtractionDefinition>) -> ApiResult<Json<Value>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(saved_json(&core::edit_extraction(&pool, &name, definition).await?)))
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

async fn run_saved(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, body: Option<Json<RunSaved>>) -> ApiResult<(StatusCode, Json<Value>)> {
    let pool = pool(&s, &p).await?;
    let extraction = core::get_extraction(&pool, &name).await?;
    if let Some(job) = &extraction.running_job {
        return Err(lakeport_core::PoolError::ExtractionRunning { extraction: name, job: job.clone() }.into());
    }
    let mode = body.map(|b| b.0).unwrap_or_default().mode;
    let run = s.runs.start_saved(&pool, &extraction, mode).await?;
    Ok((StatusCode::ACCEPTED, Json(json!(run))))
}

async fn saved_history(State(s): State<AppState>, Path((p, name)): Path<(String, String)>, Query(q): Query<Limit>) -> ApiResult<Json<Value>> {
    let pool = pool(&s, &p).await?;
    Ok(Json(json!(core::extraction_history(&pool, &name, q.limit.unwrap_or(50)).await?)))
}

/// The next run times of a schedule, for people typing one: {cron, timezone} → {upcoming_runs}.
async fn schedule_preview(Json(schedule): Json<core::Schedule>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "upcoming_runs": schedule.upcoming(chrono::Utc::now(), 3)? })))
}

/// Extraction runs of the pool (of every process, also before a restart), newest first, with
/// live progress for those this server runs.
async fn list_runs(State(s): State<AppState>, Path(p): Path<String>, Query(q): Query<Paging>) -> ApiResult<Json<Value>> {
    let page = pool(&s, &p).await?.jobs_page(q.limit.unwrap_or(50), q.before.as_deref(), true).await?;
    Ok(Json(json!(page.jobs.into_iter().map(|j| s.runs.overlay(j)).collect::<Vec<_>>())))
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

async fn get_run(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    if let Some(live) = s.runs.live(&id) {
        return Ok(Json(json!(live)));
    }
    Ok(Json(json!(s.runs.overlay(find_job(&s, &id).await?.1))))
}

/// Cancels a run this server runs (202; it ends `cancelled` at its next checkpoint).
async fn cancel_run(State(s): State<AppState>, Path(id): Path<String>, Extension(caller): Extension<Caller>) -> ApiResult<(StatusCode, Json<Value>)> {
    if s.runs.cancel(&id, &format!("through the API (token '{}') at {}", caller.name, chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"))) {
        return Ok((StatusCode::ACCEPTED, Json(json!(s.runs.live(&id)))));
    }
    let (_, job) = find_job(&s, &id).await?;
    Err(core::runs::not_cancellable(&job).into())
}

/// Starts the same request again: a saved extraction's job re-runs that extraction (its current
/// definition, the job's mode); a one-off job its recorded request.
async fn rerun(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<Value>)> {
    let (pool, job) = find_job(&s, &id).await?;
    let cannot = |why: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("job {id} cannot be re-run: {why}"));
    let mode: Option<lakeport_core::LoadMode> = serde_json::from_value(json!(job.mode)).ok();
    let Some(mode) = mode else { return Err(cannot(&format!("it is a {} job, not an extraction", job.mode))) };
    if let Some(origin) = &job.origin {
        let extraction = core::get_extraction(&pool, &origin.extraction).await?;
        let run = s.runs.start_saved(&pool, &extraction, Some(mode)).await?;
        return Ok((StatusCode::ACCEPTED, Json(json!(run))));
    }
    let Some(request) = job.request.clone() else { return Err(cannot("it was recorded by an earlier lakeport version without its request")) };
    let request: ExtractRequest = serde_json::from_value(request).map_err(|e| cannot(&format!("its recorded request cannot be read: {e}")))?;
    pool.connection(&job.connection).await?;
    let run = s.runs.start(&pool, &job.connection, request).await?;
    Ok((StatusCode::ACCEPTED, Json(json!(run))))
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

async fn jobs(State(s): State<AppState>, Path(p): Path<String>, Query(q): Query<Paging>) -> ApiResult<Json<Value>> {
    let pool = pool(&s, &p).await?;
    match q.before {
        None => Ok(Json(json!(pool.jobs(q.limit.unwrap_or(50)).await?))),
        Some(before) => Ok(Json(json!(pool.jobs_page(q.limit.unwrap_or(50), Some(&before), false).await?.jobs))),
    }
}

/// A page of the job history: {jobs, has_more, next_before}.
async fn jobs_page(State(s): State<AppState>, Path(p): Path<String>, Query(q): Query<Paging>) -> ApiResult<Json<Value>> {
    let page = pool(&s, &p).await?.jobs_page(q.limit.unwrap_or(10), q.before.as_deref(), false).await?;
    let jobs: Vec<_> = page.jobs.into_iter().map(|j| s.runs.overlay(j)).collect();
    Ok(Json(json!({ "jobs": jobs, "has_more": page.has_more, "next_before": page.next_before })))
}

/// One job with its per-table details.
async fn get_job(State(s): State<AppState>, Path((p, id)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    let job = pool(&s, &p).await?.job(&id).await?;
    Ok(Json(json!(s.runs.overlay(job))))
}

async fn tables(State(s): State<AppState>, Path(p): Path<String>, Extension(caller): Extension<Caller>) -> ApiResult<Json<Value>> {
    // Extracted and shared (zero-copy) tables, each with its `kind`.
    let mut tables = json!(core::pool_tables(&pool(&s, &p).await?).await?);
    if caller.scope != TokenScope::Admin {
        // Where the server keeps its files is not a read-only token's business.
        for t in tables.as_array_mut().into_iter().flatten() {
            t.as_object_mut().map(|o| o.remove("location"));
        }
    }
    Ok(Json(tables))
}

/// Rows as JSON objects, at most the server's row cap (`--max-rows`); `truncated` says whether
/// more rows were cut off (the query is stopped there, not run to the end).
async fn run_sql(state: &AppState, pool: &Pool, sql: &str) -> ApiResult<Value> {
    let result = pool.query_with(sql, &state.limits).await?;
    let columns: Vec<Value> = result.schema.fields().iter().map(|f| json!({ "name": f.name(), "type": f.data_type().to_string() })).collect();
    // Decimals as exact strings, nulls as null (lakeport_core::rows_json).
    let buf = lakeport_core::rows_json(&result.batches).map_err(|e| ApiError::of_kind(ErrorKind::Internal, e.to_string()))?;
    let rows: Value = serde_json::from_slice(&buf).map_err(|e| ApiError::of_kind(ErrorKind::Internal, e.to_string()))?;
    Ok(json!({ "columns": columns, "rows": rows, "row_count": result.num_rows(), "truncated": result.truncated, "max_rows": state.limits.max_rows }))
}

async fn preview(State(s): State<AppState>, Path((p, table)): Path<(String, String)>, Query(q): Query<Limit>) -> ApiResult<Json<Value>> {
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

async fn query(State(s): State<AppState>, Path(p): Path<String>, Json(body): Json<Sql>) -> ApiResult<Json<Value>> {
    Ok(Json(run_sql(&s, &pool(&s, &p).await?, &body.sql).await?))
}

/// One extracted table for its console page: the table list's entry, its columns in table order
/// (`{name, type, nullable}`; `type` as Arrow names it) and the source objects its current
/// snapshot holds rows of (`files`: `{key, size, modified, rows}`, size in bytes, modified UTC).
/// When the table's history no longer says what it was loaded from, `files` is null and
/// `files_note` says why. 404 for an unknown table.
async fn table_details(State(s): State<AppState>, Path((p, table)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    validate_identifier("table", &table)?;
    let pool = pool(&s, &p).await?;
    let mut v = json!(pool.table(&table).await?);
    let columns: Vec<Value> = match pool.table_schema(&table).await? {
        Some(schema) => schema.fields().iter().map(|f| json!({ "name": f.name(), "type": f.data_type().to_string(), "nullable": f.is_nullable() })).collect(),
        None => Vec::new(),
    };
    v["columns"] = json!(columns);
    match pool.ledger(&table).await {
        Ok(ledger) => {
            let files: Vec<Value> = ledger
                .objects
                .values()
                .map(|o| json!({ "key": o.key, "size": o.size, "modified": chrono::DateTime::from_timestamp_millis(o.modified_ms), "rows": o.rows }))
                .collect();
            v["files"] = json!(files);
        }
        Err(e) => {
            v["files"] = Value::Null;
            v["files_note"] = json!(e.to_string());
        }
    }
    Ok(Json(v))
}

/// Drops a table (its data files go, as `pool vacuum` would remove them; recorded in the job
/// history). 409 while a run loads the table.
async fn drop_table(State(s): State<AppState>, Path((p, table)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    validate_identifier("table", &table)?;
    let pool = pool(&s, &p).await?;
    let hold = s.runs.hold(&pool, &table, "a drop").await?;
    let dropped = pool.drop_table(&table).await;
    hold.release().await;
    Ok(Json(json!(dropped?)))
}

async fn openapi() -> Json<Value> {
    Json(crate::api::openapi_document())
}

/// The OpenAPI description of every route above (kept next to the router; a test checks that
/// both list the same routes).
pub fn openapi_document() -> Value {
    let op = |summary: &str| json!({ "summary": summary, "responses": { "200": { "description": "OK" }, "4XX": { "$ref": "#/components/responses/Error" } } });
    let p = |name: &str| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } });
    let paths = json!({
        "/api/health": { "get": { "summary": "Liveness (no token needed)", "security": [], "responses": { "200": { "description": "OK" } } } },
        "/api/openapi.json": { "get": { "summary": "This document (no token needed)", "security": [], "responses": { "200": { "description": "OK" } } } },
        "/api/pools": { "get": op("List data pools"), "post": op("Create a data pool: {name}") },
        "/api/pools/{pool}": { "parameters": [p("pool")], "delete": op("Drop a pool with its tables, connections and history") },
        "/api/pools/{pool}/connections": { "parameters": [p("pool")], "get": op("List connections (secrets are never returned)"), "post": op("Add a connection: Test Connection runs first; saved (201) only if it passed, else 422 with the verdicts. Body: {name, config, secret, skip_test}. An extraction config's auth: {method: access-key} (the default; needs the secret), {method: assume-role, role_arn, external_id, session_seconds?}, {method: profile, profile}, {method: default-chain} (no secret)") },
        "/api/pools/{pool}/connections/test": { "parameters": [p("pool")], "post": op("Test Connection for unsaved settings: {config, secret}") },
        "/api/pools/{pool}/connections/{name}": { "parameters": [p("pool"), p("name")], "get": op("Show a connection"), "put": op("Change a connection (either type): {config: JSON Merge Patch of its config (left out: kept; null: default), secret (left out: kept)}. Test Connection runs first: 200 {saved, test, changed, connection}, or 422 with the verdicts and nothing changed; shares are kept"), "delete": op("Remove a connection and its secret") },
        "/api/pools/{pool}/connections/{name}/test": { "parameters": [p("pool"), p("name")], "post": op("Test Connection for a saved connection") },
        "/api/pools/{pool}/connections/{name}/browse": { "parameters": [p("pool"), p("name"), { "name": "prefix", "in": "query", "schema": { "type": "string" } }], "get": op("Folders and files one level below a prefix (extraction connections)") },
        "/api/pools/{pool}/connections/{name}/columns": { "parameters": [p("pool"), p("name")], "post": op("The columns each table of {items, read} would get (inferred from the first files), for column settings: [{table, columns: [[name, type]]}]") },
        "/api/pools/{pool}/connections/{name}/namespaces": { "parameters": [p("pool"), p("name")], "get": op("Authenticate and load namespaces with their tables (zero-copy)") },
        "/api/pools/{pool}/connections/{name}/snapshots": { "parameters": [p("pool"), p("name"), { "name": "table", "in": "query", "required": true, "schema": { "type": "string" }, "description": "<namespace>.<table>" }], "get": op("Snapshots of a shared table: id, committed_at (UTC), operation, added/deleted/total rows, current (zero-copy)") },
        "/api/pools/{pool}/connections/{name}/shares": { "parameters": [p("pool"), p("name")], "get": op("Selected shares (zero-copy)"), "put": op("Change shares: {add: [ns | ns.table], remove: [...]}") },
        "/api/pools/{pool}/extractions": { "parameters": [p("pool")], "post": op("Start an extraction in the background (202): {connection, items: [{type: file, key} | {type: folder, prefix}], mode: full|delta, read, type_fallback, source_columns, concurrency, deleted: keep|remove, on_schema_change: evolve|text|fail}; 409 when a table is already loading. Job details carry each table's schema_changes (the schema-drift report)") },
        "/api/pools/{pool}/saved-extractions": { "parameters": [p("pool")], "get": op("Saved extractions with definition, version, next run time (and the next three for a schedule)"), "post": op("Save an extraction (201): {name, connection, request: {items (folder items may have include/exclude globs), mode, read, …, tables: [{table, columns, exclude_columns, pseudonymise}]}, schedule: {cron, timezone}, retry: {max_retries, backoff_secs}, webhook: {url, on_recovery}}") },
        "/api/pools/{pool}/saved-extractions/{name}": { "parameters": [p("pool"), p("name")], "get": op("One saved extraction"), "put": op("Replace its definition (body as for saving, without name); the version grows by one"), "delete": op("Remove it (its tables and history stay); 409 while it runs") },
        "/api/pools/{pool}/saved-extractions/{name}/run": { "parameters": [p("pool"), p("name")], "post": op("Run now in the background (202), optionally {mode: full|delta}; 409 while it runs") },
        "/api/pools/{pool}/saved-extractions/{name}/history": { "parameters": [p("pool"), p("name"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }], "get": op("Its runs: trigger (manual, schedule, retry), version, mode, status, files, rows, bytes, seconds, error, schema_changes") },
        "/api/schedule-preview": { "post": op("The next three run times of {cron, timezone}; 400 for an invalid schedule") },
        "/api/pools/{pool}/runs": { "parameters": [p("pool"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }, { "name": "before", "in": "query", "schema": { "type": "string" } }], "get": op("Extraction runs of the pool (every process, also before a restart), newest first, with live progress for those this server runs; status running|succeeded|failed|cancelled|interrupted|skipped") },
        "/api/runs/{id}": { "parameters": [p("id")], "get": op("One run (= job): status, progress, log, per-table details, report") },
        "/api/runs/{id}/cancel": { "parameters": [p("id")], "post": op("Cancel a run this server runs (202); it ends cancelled at its next checkpoint: tables committed before stay, the others keep their old snapshot. 409 when it has ended or another process runs it") },
        "/api/runs/{id}/rerun": { "parameters": [p("id")], "post": op("Start the same request again (202, the new run); a saved extraction's job re-runs that extraction. 409 when a table is busy, 422 for a job that cannot be re-run") },
        "/api/pools/{pool}/jobs": { "parameters": [p("pool"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }, { "name": "before", "in": "query", "schema": { "type": "string" } }], "get": op("Job history of the pool, newest first (before=ID: older than that job)") },
        "/api/pools/{pool}/jobs/page": { "parameters": [p("pool"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }, { "name": "before", "in": "query", "schema": { "type": "string" } }], "get": op("A page of the job history: {jobs, has_more, next_before}") },
        "/api/pools/{pool}/jobs/{id}": { "parameters": [p("pool"), p("id")], "get": op("One job with per-table details: files loaded / skipped (why) / unchanged, rows, bytes, seconds, outcome, the full error") },
        "/api/pools/{pool}/tables": { "parameters": [p("pool")], "get": op("Tables: extracted ones (kind extracted: rows, data files, last load) and shared zero-copy ones (kind shared: name as SQL writes it, connection, namespace, table)") },
        "/api/whoami": { "get": op("The calling token's name and scope (admin or read-only)") },
        "/api/token/rotate": { "post": op("Rotate the calling stored token (201): {name, scope, token} — the new token, shown once; the old one is refused from now on. 409 for the server's --token") },
        "/api/trust-policy": { "post": op("Zero-copy, assumed role: {region, sts_endpoint, allow_http, external_id} → {principal, external_id (a new lakeport-… when none given), trust_policy} for the user's IAM role") },
        "/api/pools/{pool}/tables/{table}": { "parameters": [p("pool"), p("table")], "get": op("One extracted table: rows, data_files, snapshots, last_load, last_mode, location, columns [{name, type, nullable}] in table order, files [{key, size, modified, rows}] the current snapshot holds rows of (null with files_note when unknown)"), "delete": op("Drop a table: out of the catalog, its data files removed, recorded in the job history; 409 while a run loads it") },
        "/api/pools/{pool}/tables/{table}/preview": { "parameters": [p("pool"), p("table"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }], "get": op("The first rows of a table") },
        "/api/pools/{pool}/query": { "parameters": [p("pool")], "post": op("Run read-only SQL (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW; anything else is 400) within the server's memory budget and time limit (422 beyond them): {sql} → {columns, rows, row_count, truncated, max_rows}") }
    });
    // Each operation says which scope it needs (the same table the middleware enforces).
    let mut paths = paths;
    for (path, item) in paths.as_object_mut().expect("paths").iter_mut() {
        for (method, op) in item.as_object_mut().expect("path item").iter_mut() {
            if method == "parameters" {
                continue;
            }
            let Ok(m) = method.to_uppercase().parse::<Method>() else { continue };
            let scope = if path == "/api/health" || path == "/api/openapi.json" { "none" } else { scope_needed(&m, path).as_str() };
            op["x-lakeport-scope"] = json!(scope);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "lakeport API", "version": env!("CARGO_PKG_VERSION"), "description": "Data pools, S3 connections (extraction and zero-copy), extractions, tables and SQL." },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "An API token (`lakeport token create [--read-only]`; the first start makes an admin one). x-lakeport-scope on each operation: admin, or read-only (admin tokens may do everything)." } },
            "responses": { "Error": { "description": "An error", "content": { "application/json": { "schema": { "type": "object", "properties": { "error": { "type": "string" } } } } } } }
        }
    })
}
