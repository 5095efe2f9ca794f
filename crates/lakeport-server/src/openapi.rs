//! The OpenAPI document of the API: its paths, parameters and summaries are written here, next
//! to the router (a test checks that both list the same routes); every response's schema is
//! derived from the type the handler answers with (schemars, with serde's attributes, for what
//! is serialized), so the document cannot say one thing while the API sends another.
//!
//! The document is OpenAPI 3.0.3: schemars' `openapi3` settings turn its JSON Schemas into 3.0
//! Schema Objects (`nullable`, definitions under `#/components/schemas`).

use axum::http::Method;
use lakeport_core as core;
use lakeport_core::RunState;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::answers::*;
use crate::api::scope_needed;
use crate::error::ErrorBody;

/// Builds operations: each response's schema from a type, the types' definitions collected once.
struct Doc {
    generator: SchemaGenerator,
}

impl Doc {
    fn new() -> Doc {
        Doc { generator: SchemaSettings::openapi3().for_serialize().into_generator() }
    }

    /// The schema of `T` as an answer: a `$ref` to its definition, or inline for lists and options.
    fn schema<T: JsonSchema>(&mut self) -> Value {
        let mut schema = self.generator.subschema_for::<T>();
        // Definitions get the OpenAPI 3.0 transforms when taken; an inline schema needs them here.
        for t in self.generator.transforms_mut() {
            t.transform(&mut schema);
        }
        schema.to_value()
    }

    fn json_body(&mut self, description: &str, schema: Value) -> Value {
        json!({ "description": description, "content": { "application/json": { "schema": schema } } })
    }

    /// An operation answering `T` with each status of `ok`, and the error body with each of `errors`
    /// (the statuses every operation of its kind can answer — 401, 403, 404, 500 — are added by
    /// [`openapi_document`]).
    fn op<T: JsonSchema>(&mut self, summary: &str, ok: &[u16], errors: &[u16]) -> Value {
        let schema = self.schema::<T>();
        let mut responses = Map::new();
        for status in ok {
            responses.insert(status.to_string(), self.json_body(reason(*status), schema.clone()));
        }
        self.add_errors(&mut responses, errors);
        json!({ "summary": summary, "responses": responses })
    }

    /// An operation answering 204 (no body) when it succeeds.
    fn no_content(&mut self, summary: &str, errors: &[u16]) -> Value {
        let mut responses = Map::new();
        responses.insert("204".into(), json!({ "description": reason(204) }));
        self.add_errors(&mut responses, errors);
        json!({ "summary": summary, "responses": responses })
    }

    /// An operation that needs no token and answers 200 with `T`.
    fn public<T: JsonSchema>(&mut self, summary: &str) -> Value {
        let mut op = self.op::<T>(summary, &[200], &[500]);
        op["security"] = json!([]);
        op
    }

    /// Adds the error body for each of `errors`; where a status answers a success type already
    /// (a 422 with the failed Test Connection's verdicts), it answers either.
    fn add_errors(&mut self, responses: &mut Map<String, Value>, errors: &[u16]) {
        let error = self.schema::<ErrorBody>();
        for status in errors {
            let response = responses.entry(status.to_string()).or_insert_with(|| json!({ "description": reason(*status), "content": { "application/json": { "schema": error.clone() } } }));
            let schema = &mut response["content"]["application/json"]["schema"];
            if *schema != error && !schema["anyOf"].as_array().is_some_and(|a| a.contains(&error)) {
                *schema = json!({ "anyOf": [schema.take(), error.clone()] });
            }
        }
    }
}

/// The POST routes whose handler reads no JSON body (`run` takes an optional one; its shape
/// errors are axum's).
const WITHOUT_BODY: &[&str] = &["/api/token/rotate", "/api/pools/{pool}/connections/{name}/test", "/api/runs/{id}/cancel", "/api/runs/{id}/rerun", "/api/pools/{pool}/saved-extractions/{name}/run"];

/// The reason phrase of a status, as the responses' description.
fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Answer")
}

/// The OpenAPI description of every route (kept next to the router; a test checks that both list
/// the same routes). Each operation lists the statuses it can answer with their body's schema:
/// its answer type for success (and for the 422 of a failed Test Connection), the `Error` schema
/// (`{error, kind}`) for errors.
pub fn openapi_document() -> Value {
    let mut d = Doc::new();
    let p = |name: &str| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } });
    let paths = json!({
        "/api/health": { "get": d.public::<Health>("Liveness (no token needed)") },
        "/api/openapi.json": { "get": d.public::<Value>("This document (no token needed)") },
        "/api/pools": { "get": d.op::<Vec<PoolEntry>>("List data pools", &[200], &[]), "post": d.op::<PoolName>("Create a data pool: {name}; for one whose tables live in an Iceberg REST catalog also catalog: {kind: rest, catalog_url, warehouse, location: s3://bucket/prefix, region, auth: {method: access-key, access_key_id} | {method: assume-role, role_arn, external_id} | {method: bearer} | {method: oauth2, client_id, scope?, server_uri?}, signing_name?, s3_endpoint?, s3_path_style?, sts_endpoint?, allow_http?} and secret (key, token or OAuth2 client secret; stored, never returned)", &[201], &[400, 409]) },
        "/api/pools/{pool}": { "parameters": [p("pool")], "delete": d.no_content("Drop a pool with its tables, connections and history", &[409]) },
        "/api/pools/{pool}/connections": { "parameters": [p("pool")], "get": d.op::<Vec<ConnectionView>>("List connections (secrets are never returned)", &[200], &[]), "post": d.op::<AddAnswer>("Add a connection: Test Connection runs first; saved (201) only if it passed, else 422 with the verdicts. Body: {name, config, secret, skip_test}. An extraction config's auth: {method: access-key} (the default; needs the secret), {method: assume-role, role_arn, external_id, session_seconds?}, {method: profile, profile}, {method: default-chain} (no secret)", &[201, 422], &[400, 409, 502]) },
        "/api/pools/{pool}/connections/test": { "parameters": [p("pool")], "post": d.op::<core::TestReport>("Test Connection for unsaved settings: {config, secret}", &[200], &[400, 502]) },
        "/api/pools/{pool}/connections/{name}": { "parameters": [p("pool"), p("name")], "get": d.op::<ConnectionView>("Show a connection", &[200], &[]), "put": d.op::<UpdateAnswer>("Change a connection (either type): {config: JSON Merge Patch of its config (left out: kept; null: default), secret (left out: kept)}. Test Connection runs first: 200 {saved, test, changed, connection}, or 422 with the verdicts and nothing changed; shares are kept", &[200, 422], &[400, 502]), "delete": d.no_content("Remove a connection and its secret", &[]) },
        "/api/pools/{pool}/connections/{name}/test": { "parameters": [p("pool"), p("name")], "post": d.op::<core::TestReport>("Test Connection for a saved connection", &[200], &[400, 502]) },
        "/api/pools/{pool}/connections/{name}/browse": { "parameters": [p("pool"), p("name"), { "name": "prefix", "in": "query", "schema": { "type": "string" } }], "get": d.op::<Vec<core::BrowseEntry>>("Folders and files one level below a prefix (extraction connections)", &[200], &[400, 502]) },
        "/api/pools/{pool}/connections/{name}/columns": { "parameters": [p("pool"), p("name")], "post": d.op::<Vec<core::InferredTable>>("The columns each table of {items, read} would get (inferred from the first files), for column settings: [{table, columns: [[name, type]]}]", &[200], &[400, 502]) },
        "/api/pools/{pool}/connections/{name}/namespaces": { "parameters": [p("pool"), p("name")], "get": d.op::<Vec<core::NamespaceListing>>("Authenticate and load namespaces with their tables (zero-copy)", &[200], &[400, 502]) },
        "/api/pools/{pool}/connections/{name}/snapshots": { "parameters": [p("pool"), p("name"), { "name": "table", "in": "query", "required": true, "schema": { "type": "string" }, "description": "<namespace>.<table>" }], "get": d.op::<Vec<core::SnapshotInfo>>("Snapshots of a shared table: id, committed_at (UTC), operation, added/deleted/total rows, current (zero-copy)", &[200], &[400, 502]) },
        "/api/pools/{pool}/connections/{name}/shares": { "parameters": [p("pool"), p("name")], "get": d.op::<Shares>("Selected shares (zero-copy)", &[200], &[400]), "put": d.op::<Vec<core::SelectedShare>>("Change shares: {add: [ns | ns.table], remove: [...]}", &[200], &[400, 502]) },
        "/api/pools/{pool}/extractions": { "parameters": [p("pool")], "post": d.op::<RunState>("Start an extraction in the background (202): {connection, items: [{type: file, key} | {type: folder, prefix}], mode: full|delta, read, type_fallback, source_columns, concurrency, deleted: keep|remove, on_schema_change: evolve|text|fail}; 409 when a table is already loading. Job details carry each table's schema_changes (the schema-drift report)", &[202], &[400, 409]) },
        "/api/pools/{pool}/saved-extractions": { "parameters": [p("pool")], "get": d.op::<Vec<SavedExtraction>>("Saved extractions with definition, version, next run time (and the next three for a schedule)", &[200], &[]), "post": d.op::<SavedExtraction>("Save an extraction (201): {name, connection, request: {items (folder items may have include/exclude globs), mode, read, …, tables: [{table, columns, exclude_columns, pseudonymise}]}, schedule: {cron, timezone}, retry: {max_retries, backoff_secs}, webhook: {url, on_recovery}}", &[201], &[400, 409]) },
        "/api/pools/{pool}/saved-extractions/{name}": { "parameters": [p("pool"), p("name")], "get": d.op::<SavedExtraction>("One saved extraction", &[200], &[]), "put": d.op::<SavedExtraction>("Replace its definition (body as for saving, without name); the version grows by one", &[200], &[400]), "delete": d.no_content("Remove it (its tables and history stay); 409 while it runs", &[409]) },
        "/api/pools/{pool}/saved-extractions/{name}/run": { "parameters": [p("pool"), p("name")], "post": d.op::<RunState>("Run now in the background (202), optionally {mode: full|delta}; 409 while it runs", &[202], &[400, 409]) },
        "/api/pools/{pool}/saved-extractions/{name}/history": { "parameters": [p("pool"), p("name"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }], "get": d.op::<Vec<core::HistoryEntry>>("Its runs: trigger (manual, schedule, retry), version, mode, status, files, rows, bytes, seconds, error, schema_changes", &[200], &[]) },
        "/api/schedule-preview": { "post": d.op::<UpcomingRuns>("The next three run times of {cron, timezone}; 400 for an invalid schedule", &[200], &[400]) },
        "/api/pools/{pool}/runs": { "parameters": [p("pool"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }, { "name": "before", "in": "query", "schema": { "type": "string" } }], "get": d.op::<Vec<RunState>>("Extraction runs of the pool (every process, also before a restart), newest first, with live progress for those this server runs; status running|succeeded|failed|cancelled|interrupted|skipped", &[200], &[]) },
        "/api/runs/{id}": { "parameters": [p("id")], "get": d.op::<RunState>("One run (= job): status, progress, log, per-table details, report", &[200], &[]) },
        "/api/runs/{id}/cancel": { "parameters": [p("id")], "post": d.op::<Option<RunState>>("Cancel a run this server runs (202); it ends cancelled at its next checkpoint: tables committed before stay, the others keep their old snapshot. 409 when it has ended or another process runs it", &[202], &[409]) },
        "/api/runs/{id}/rerun": { "parameters": [p("id")], "post": d.op::<RunState>("Start the same request again (202, the new run); a saved extraction's job re-runs that extraction. 409 when a table is busy, 422 for a job that cannot be re-run", &[202], &[400, 409, 422]) },
        "/api/pools/{pool}/jobs": { "parameters": [p("pool"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }, { "name": "before", "in": "query", "schema": { "type": "string" } }], "get": d.op::<Vec<core::Job>>("Job history of the pool, newest first (before=ID: older than that job)", &[200], &[]) },
        "/api/pools/{pool}/jobs/page": { "parameters": [p("pool"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }, { "name": "before", "in": "query", "schema": { "type": "string" } }], "get": d.op::<JobsPage>("A page of the job history: {jobs, has_more, next_before}", &[200], &[]) },
        "/api/pools/{pool}/jobs/{id}": { "parameters": [p("pool"), p("id")], "get": d.op::<RunState>("One job with per-table details: files loaded / skipped (why) / unchanged, rows, bytes, seconds, outcome, the full error", &[200], &[]) },
        "/api/pools/{pool}/tables": { "parameters": [p("pool")], "get": d.op::<Vec<core::PoolTable>>("Tables: extracted ones (kind extracted: rows, data files, last load) and shared zero-copy ones (kind shared: name as SQL writes it, connection, namespace, table)", &[200], &[]) },
        "/api/whoami": { "get": d.op::<Whoami>("The calling token's name and scope (admin or read-only)", &[200], &[]) },
        "/api/token/rotate": { "post": d.op::<RotatedToken>("Rotate the calling stored token (201): {name, scope, token} — the new token, shown once; the old one is refused from now on. 409 for the server's --token", &[201], &[409]) },
        "/api/trust-policy": { "post": d.op::<TrustPolicy>("Zero-copy, assumed role: {region, sts_endpoint, allow_http, external_id} → {principal, external_id (a new lakeport-… when none given), trust_policy} for the user's IAM role", &[200], &[400, 502]) },
        "/api/pools/{pool}/tables/{table}": { "parameters": [p("pool"), p("table")], "get": d.op::<TableDetails>("One extracted table: rows, data_files, snapshots, last_load, last_mode, location, columns [{name, type, nullable}] in table order, files [{key, size, modified, rows}] the current snapshot holds rows of (null with files_note when unknown)", &[200], &[400]), "delete": d.op::<core::DropReport>("Drop a table: out of the catalog, its data files removed, recorded in the job history; 409 while a run loads it", &[200], &[400, 409]) },
        "/api/pools/{pool}/tables/{table}/preview": { "parameters": [p("pool"), p("table"), { "name": "limit", "in": "query", "schema": { "type": "integer" } }], "get": d.op::<QueryResult>("The first rows of a table", &[200], &[400, 422, 502]) },
        "/api/pools/{pool}/query": { "parameters": [p("pool")], "post": d.op::<QueryResult>("Run read-only SQL (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW; anything else is 400) within the server's memory budget and time limit (422 beyond them): {sql} → {columns, rows, row_count, truncated, max_rows}", &[200], &[400, 422, 502]) }
    });

    // Each operation says which scope it needs (the same table the middleware enforces), and the
    // errors every operation of its kind can answer: 401 without a valid token, 403 for an admin
    // operation called with a read-only one, 404 when a path names something that does not exist,
    // 400 for query parameters that cannot be read, 400/413/415/422 for a JSON body that cannot
    // (`error::Body`), 500 for a bug.
    let mut paths = paths;
    for (path, item) in paths.as_object_mut().expect("paths").iter_mut() {
        let has_query = item["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        for (method, op) in item.as_object_mut().expect("path item").iter_mut() {
            if method == "parameters" {
                continue;
            }
            let Ok(m) = method.to_uppercase().parse::<Method>() else { continue };
            let public = path == "/api/health" || path == "/api/openapi.json";
            let scope = if public { "none" } else { scope_needed(&m, path).as_str() };
            op["x-lakeport-scope"] = json!(scope);
            let mut common = vec![500];
            if !public {
                common.push(401);
            }
            if scope == "admin" {
                common.push(403);
            }
            if path.contains('{') {
                common.push(404);
            }
            if has_query {
                common.push(400);
            }
            if (m == Method::POST || m == Method::PUT) && !WITHOUT_BODY.contains(&path.as_str()) {
                common.extend([400, 413, 415, 422]);
            }
            let responses = op["responses"].as_object_mut().expect("responses");
            d.add_errors(responses, &common);
            responses.sort_keys();
        }
    }
    let schemas = d.generator.take_definitions(true);
    json!({
        "openapi": "3.0.3",
        "info": { "title": "lakeport API", "version": env!("CARGO_PKG_VERSION"), "description": "Data pools, S3 connections (extraction and zero-copy), extractions, tables and SQL." },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "An API token (`lakeport token create [--read-only]`; the first start makes an admin one). x-lakeport-scope on each operation: admin, or read-only (admin tokens may do everything)." } },
            "schemas": schemas
        }
    })
}
