//! The test harness of the server tests: a real server on a socket (the router `lakeport serve`
//! runs), a stored read-only token beside the admin `--token`, request helpers — and every answer
//! that comes back through them is checked against the OpenAPI document the server serves: its
//! status must be one the operation lists, and its body must match that status's schema (closed:
//! a member the schema does not name fails, see [`strict`]).
#![allow(dead_code)] // each test file uses its own part

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use lakeport_pool::{LoadMode, PoolDir, QueryLimits, TokenScope};
use lakeport_server::{router, AppState};
use lakeport_testkit::TestS3;
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

/// The admin token given at start (`lakeport serve --token`).
pub const TOKEN: &str = "test-token-0123456789";

pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    pub pd: PoolDir,
    /// A stored read-only token.
    pub reader: String,
    pub dir: tempfile::TempDir,
    /// The served OpenAPI document (fetched at start).
    pub doc: Value,
    /// The answers checked against the document: (method, route, status).
    pub checked: Mutex<BTreeSet<(String, String, u16)>>,
}

pub async fn start() -> Server {
    start_with(None).await
}

pub async fn start_with(limits: Option<QueryLimits>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let reader = pd.create_token(Some("analyst"), TokenScope::ReadOnly).await.unwrap().token;
    let mut state = AppState::new(pd.clone(), Some(TOKEN.into())).unwrap();
    if let Some(l) = limits {
        state = state.with_query_limits(l);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The same router `lakeport serve` runs.
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let doc: Value = http.get(format!("{base}/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    Server { base, http, pd, reader, dir, doc, checked: Mutex::new(BTreeSet::new()) }
}

/// Polls a run until it has ended; its last state.
pub async fn wait(s: &Server, id: &str) -> Value {
    for _ in 0..300 {
        let (_, r) = s.get(&format!("/api/runs/{id}")).await;
        if r["status"] != "running" {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("run {id} did not finish");
}

/// Creates `namespace.table` in the S3 test server's Iceberg REST catalog, with pyiceberg
/// (testing/iceberg_evolve.py: 100 rows in two snapshots).
pub fn iceberg_table(s3: &TestS3, namespace: &str, table: &str) {
    let py = std::process::Command::new(std::env::var("LAKEPORT_TEST_PYTHON").unwrap())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/iceberg_evolve.py"))
        .args([s3.endpoint.as_str(), "create", namespace, table])
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
}

/// A zero-copy connection's settings over the S3 test server's catalog (its user `glue`, an
/// access key), and the key's secret.
pub fn zero_copy_config(s3: &TestS3) -> (Value, String) {
    let (key, secret) = s3.user("glue");
    let config = json!({ "type": "zero-copy", "region": "us-east-1", "warehouse": "123456789012", "catalog_url": format!("{}/iceberg", s3.endpoint),
        "auth": { "method": "access-key", "access_key_id": key }, "s3_endpoint": s3.endpoint, "s3_path_style": true, "allow_http": true });
    (config, secret.expose().to_string())
}

/// A table of `rows` rows (id, name) written straight into the pool, without an extraction.
pub async fn make_table(pd: &PoolDir, pool: &str, table: &str, rows: i64) {
    let pool = match pd.pool(pool).await {
        Ok(p) => p,
        Err(_) => pd.create_pool(pool).await.unwrap(),
    };
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true), Field::new("name", DataType::Utf8, true)]));
    let names: Vec<String> = (0..rows).map(|i| format!("n{i}")).collect();
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(0..rows)), Arc::new(StringArray::from(names))]).unwrap();
    let mut w = pool.begin_write(table, &schema, LoadMode::Full).await.unwrap();
    w.write("made.csv", &batch).await.unwrap();
    w.commit(lakeport_pool::LedgerChange::default(), "test").await.unwrap();
}

pub use lakeport_testkit::PoolKind;

/// A pool the test created through the API (`POST /api/pools`), of either kind: the tests about
/// tables and queries run their one body on both (`lakeport_testkit::pool_kinds!`).
pub struct TestPool {
    /// Its name: `label` for an embedded pool; `label_<8 hex digits>` for a REST-catalog pool
    /// (its namespace in the test server's catalog, which every test shares).
    pub name: String,
    /// A REST-catalog pool's catalog and warehouse.
    pub rest: Option<lakeport_testkit::RestPoolFixture>,
}

impl TestPool {
    /// `/api/pools/<name><rest>`.
    pub fn at(&self, rest: &str) -> String {
        format!("/api/pools/{}{rest}", self.name)
    }

    /// The files of `table` in the pool's warehouse (paths below the table's directory), sorted.
    pub async fn table_files(&self, s: &Server, table: &str) -> Vec<String> {
        let mut out: Vec<String> = match &self.rest {
            None => {
                let dir = s.dir.path().join("warehouse").join(&self.name).join(table);
                lakeport_testkit::files_under(&dir).iter().map(|p| p.strip_prefix(&dir).unwrap().display().to_string()).collect()
            }
            Some(r) => r.keys().await.into_iter().filter_map(|k| k.strip_prefix(&format!("{table}/")).map(str::to_string)).collect(),
        };
        out.sort();
        out
    }
}

impl Server {
    /// Creates a pool of `kind` through the API (201 expected): an embedded one named `label`,
    /// or a REST-catalog one in the test server's catalog, signed as the IAM user `gluewriter`.
    pub async fn create_pool(&self, s3: &TestS3, kind: PoolKind, label: &str) -> TestPool {
        let (body, rest) = match kind {
            PoolKind::Embedded => (json!({ "name": label }), None),
            PoolKind::Rest => {
                let r = s3.rest_pool(label).await;
                (json!({ "name": r.name, "catalog": r.catalog_json(), "secret": r.secret.expose() }), Some(r))
            }
        };
        let (st, out) = self.post("/api/pools", body).await;
        assert_eq!(st, StatusCode::CREATED, "{out}");
        TestPool { name: out["name"].as_str().unwrap().to_string(), rest }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(Some(TOKEN), method, path, body).await
    }
    /// Calls `path` with `token` (none: no header) and checks the answer against the document.
    pub async fn call_as(&self, token: Option<&str>, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        self.check(&method, path, status, &text);
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Checks one answer against the served document: the status is listed for the operation,
    /// and the body matches its schema (no body where none is described). Paths the document
    /// does not have (the console's files) are not checked.
    pub fn check(&self, method: &Method, path: &str, status: StatusCode, text: &str) {
        let Some(route) = route_of(&self.doc, path) else { return };
        let what = format!("{method} {path} ({route}) answered {status}");
        let op = &self.doc["paths"][&route][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{what}: the document has no such operation");
        let response = &op["responses"][status.as_str()];
        assert!(response.is_object(), "{what}, a status its OpenAPI operation does not list: {text}");
        match response["content"]["application/json"]["schema"].clone() {
            Value::Null => assert!(text.is_empty(), "{what}: a body where the document describes none: {text}"),
            schema => {
                let body: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
                let schema = strict(&self.doc, &schema);
                let validator = jsonschema::draft7::new(&schema).unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}\n{schema:#}"));
                let errors: Vec<String> = validator.iter_errors(&body).map(|e| format!("at {}: {e}", e.instance_path())).collect();
                assert!(errors.is_empty(), "{what}: the answer does not match the OpenAPI schema:\n{}\nanswer: {body:#}", errors.join("\n"));
            }
        }
        self.checked.lock().unwrap().insert((method.to_string(), route, status.as_u16()));
    }
}

/// The document's path template `path` (without its query) falls under; literal segments win
/// over parameters (`/connections/test` before `/connections/{name}`).
pub fn route_of(doc: &Value, path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap();
    let parts: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, &String)> = None;
    for template in doc["paths"].as_object().unwrap().keys() {
        let t: Vec<&str> = template.split('/').collect();
        if t.len() != parts.len() {
            continue;
        }
        let fits = t.iter().zip(&parts).all(|(t, p)| t.starts_with('{') || t == p);
        let literal = t.iter().filter(|t| !t.starts_with('{')).count();
        if fits && best.is_none_or(|(n, _)| literal > n) {
            best = Some((literal, template));
        }
    }
    best.map(|(_, t)| t.clone())
}

/// An OpenAPI 3.0 schema of `doc` as a closed, self-contained JSON Schema (draft 7) to check an
/// answer with — the smallest piece on top of the validator, which knows JSON Schema, not
/// OpenAPI 3.0's dialect:
/// * `$ref`s are replaced by what they point to (the answer types are not recursive);
/// * `nullable: true` becomes "or null" (OpenAPI 3.0's spelling of `type: [T, "null"]`);
/// * `allOf` parts that are objects are merged into one object (schemars writes flattened and
///   tagged members so);
/// * every object schema that names its properties gets `additionalProperties: false` unless it
///   says otherwise: an answer member the schema does not know (a renamed field) fails. The
///   served document leaves objects open, so that clients take new members in their stride.
pub fn strict(doc: &Value, schema: &Value) -> Value {
    close(nullable(merge(inline(doc, schema, 0))))
}

fn inline(doc: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 64, "a $ref cycle in the OpenAPI document");
    match schema {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                let target = doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("unresolved $ref {r}"));
                return inline(doc, target, depth + 1);
            }
            Value::Object(o.iter().map(|(k, v)| (k.clone(), if k == "properties" { map_values(v, |v| inline(doc, v, depth + 1)) } else { inline(doc, v, depth + 1) })).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| inline(doc, v, depth + 1)).collect()),
        v => v.clone(),
    }
}

/// Applies `f` to each value of an object (a schema's `properties`: its keys are member names).
fn map_values(v: &Value, f: impl Fn(&Value) -> Value) -> Value {
    Value::Object(v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), f(v))).collect())
}

/// Children of a schema that are schemas (not member names or values).
fn map_schema(v: Value, f: &impl Fn(Value) -> Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "properties" => Value::Object(v.as_object().unwrap().clone().into_iter().map(|(k, v)| (k, f(v))).collect()),
                        "items" | "additionalProperties" | "not" => f(v),
                        "allOf" | "anyOf" | "oneOf" => Value::Array(v.as_array().unwrap().clone().into_iter().map(f).collect()),
                        _ => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        v => v,
    }
}

fn nullable(schema: Value) -> Value {
    let mut schema = map_schema(schema, &nullable);
    if let Value::Object(o) = &mut schema {
        if o.remove("nullable") == Some(Value::Bool(true)) {
            if let Some(Value::Array(values)) = o.get_mut("enum") {
                values.push(Value::Null);
            }
            return json!({ "anyOf": [Value::Object(o.clone()), { "type": "null" }] });
        }
    }
    schema
}

fn merge(schema: Value) -> Value {
    let schema = map_schema(schema, &merge);
    let Value::Object(mut o) = schema else { return schema };
    let Some(Value::Array(parts)) = o.get("allOf").cloned() else { return Value::Object(o) };
    let objects = parts.iter().all(|p| p.get("properties").is_some() && p.get("anyOf").is_none() && p.get("oneOf").is_none() && p.get("allOf").is_none());
    if !objects || o.contains_key("anyOf") || o.contains_key("oneOf") {
        return Value::Object(o);
    }
    o.remove("allOf");
    let mut properties: Map<String, Value> = o.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut required: Vec<Value> = o.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
    for p in parts {
        properties.extend(p["properties"].as_object().unwrap().clone());
        required.extend(p.get("required").and_then(Value::as_array).cloned().unwrap_or_default());
    }
    o.insert("type".into(), json!("object"));
    o.insert("properties".into(), Value::Object(properties));
    o.insert("required".into(), Value::Array(required));
    Value::Object(o)
}

fn close(schema: Value) -> Value {
    let open_parts = schema.get("allOf").is_some();
    let mut schema = if open_parts {
        // allOf parts that could not be merged each see only some members: leave them open.
        schema
    } else {
        map_schema(schema, &close)
    };
    if let Value::Object(o) = &mut schema {
        if o.contains_key("properties") && !o.contains_key("additionalProperties") {
            o.insert("additionalProperties".into(), json!(false));
        }
    }
    schema
}
