//! The OpenAPI document against the API's real answers: every operation is called on a real
//! server (with the real S3 test server, an extraction connection and a zero-copy one over its
//! Iceberg REST catalog), and every answer is checked against the schema the served document
//! gives for that operation and status (tests/common: closed schemas, so a member the document
//! does not name fails). And the document's shapes are pinned (tests/openapi_shapes.json): a
//! renamed member or a changed type in any answer fails until the pin is renewed on purpose —
//! the console and the CLI read these answers.

use crate::common;

use std::collections::BTreeSet;
use common::{iceberg_table, start, wait, zero_copy_config};
use lakeport_testkit::TestS3;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn every_operation_answers_as_its_schema_says() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("schema").await;
    bucket.put("in/a.csv", "id,name,amount,when\n1,x,1.50,2024-01-02T03:04:05Z\n2,,2.25,2024-01-03T03:04:05Z\n").await;
    bucket.put("in/b.csv", "id,name,amount,when\n3,z,3.00,2024-01-04T03:04:05Z\n").await;
    let s = start().await;
    let ok = |(st, v): (StatusCode, Value), what: &str| -> Value {
        assert!(st.is_success(), "{what}: {st} {v}");
        v
    };

    // Without a token, and the token itself.
    ok(s.call_as(None, Method::GET, "/api/health", None).await, "health");
    ok(s.call_as(None, Method::GET, "/api/openapi.json", None).await, "openapi");
    ok(s.get("/api/whoami").await, "whoami");
    ok(s.call_as(Some(&s.reader), Method::GET, "/api/whoami", None).await, "whoami read-only");
    let rotating = s.pd.create_token(Some("rotating"), lakeport_pool::TokenScope::Admin).await.unwrap().token;
    ok(s.call_as(Some(&rotating), Method::POST, "/api/token/rotate", None).await, "rotate");
    ok(s.post("/api/trust-policy", json!({ "region": "us-east-1", "sts_endpoint": s3.endpoint, "allow_http": true })).await, "trust policy");
    ok(s.post("/api/schedule-preview", json!({ "cron": "0 3 * * *", "timezone": "Europe/Berlin" })).await, "schedule preview");

    // Pools and an extraction connection: a failed Test Connection (422 with verdicts), then saved.
    ok(s.post("/api/pools", json!({ "name": "p1" })).await, "create pool");
    ok(s.post("/api/pools", json!({ "name": "gone" })).await, "create pool");
    let (key, secret) = s3.user("reader");
    let (nokey, nosecret) = s3.user("noacl");
    let config = |k: &str| json!({ "type": "s3-extraction", "region": "us-east-1", "bucket": bucket.name, "access_key_id": k, "endpoint": s3.endpoint, "path_style": true, "allow_http": true });
    ok(s.post("/api/pools/p1/connections/test", json!({ "config": config(&key), "secret": secret.expose() })).await, "test unsaved");
    let (st, out) = s.post("/api/pools/p1/connections", json!({ "name": "bad", "config": config(&nokey), "secret": nosecret.expose() })).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    ok(s.post("/api/pools/p1/connections", json!({ "name": "src", "config": config(&key), "secret": secret.expose() })).await, "add");
    ok(s.get("/api/pools/p1/connections").await, "list connections");
    ok(s.get("/api/pools/p1/connections/src").await, "get connection");
    ok(s.put("/api/pools/p1/connections/src", json!({ "config": { "max_retries": 2 } })).await, "update connection");
    let (st, out) = s.put("/api/pools/p1/connections/src", json!({ "config": { "access_key_id": nokey }, "secret": nosecret.expose() })).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    ok(s.post("/api/pools/p1/connections/src/test", json!({})).await, "test saved");
    ok(s.get("/api/pools/p1/connections/src/browse?prefix=in/").await, "browse");
    ok(s.post("/api/pools/p1/connections/src/columns", json!({ "mode": "full", "items": [{ "type": "folder", "prefix": "in/", "table": "t" }] })).await, "columns");

    // A run, its job, re-run; cancelling a run that has ended is refused.
    let run = ok(s.post("/api/pools/p1/extractions", json!({ "connection": "src", "mode": "full", "items": [{ "type": "folder", "prefix": "in/", "table": "t" }] })).await, "start");
    let id = run["id"].as_str().unwrap().to_string();
    assert_eq!(wait(&s, &id).await["status"], "succeeded");
    assert_eq!(s.post(&format!("/api/runs/{id}/cancel"), json!({})).await.0, StatusCode::CONFLICT);
    let again = ok(s.post(&format!("/api/runs/{id}/rerun"), json!({})).await, "rerun");
    wait(&s, again["id"].as_str().unwrap()).await;
    ok(s.get("/api/pools/p1/runs").await, "runs");
    ok(s.get("/api/pools/p1/jobs").await, "jobs");
    ok(s.get(&format!("/api/pools/p1/jobs?before={}", again["id"].as_str().unwrap())).await, "jobs before");
    ok(s.get("/api/pools/p1/jobs/page?limit=1").await, "jobs page");
    ok(s.get(&format!("/api/pools/p1/jobs/{id}")).await, "job");

    // Saved extractions.
    let saved = json!({ "name": "nightly", "connection": "src", "request": { "mode": "delta", "items": [{ "type": "folder", "prefix": "in/", "table": "t2" }] }, "schedule": { "cron": "0 3 * * *", "timezone": "UTC" } });
    ok(s.post("/api/pools/p1/saved-extractions", saved.clone()).await, "save");
    ok(s.get("/api/pools/p1/saved-extractions").await, "list saved");
    ok(s.get("/api/pools/p1/saved-extractions/nightly").await, "get saved");
    let mut edited = saved.clone();
    edited.as_object_mut().unwrap().remove("name");
    ok(s.put("/api/pools/p1/saved-extractions/nightly", edited).await, "edit saved");
    let run = ok(s.post("/api/pools/p1/saved-extractions/nightly/run", json!({})).await, "run saved");
    wait(&s, run["id"].as_str().unwrap()).await;
    ok(s.get("/api/pools/p1/saved-extractions/nightly/history").await, "history");
    ok(s.delete("/api/pools/p1/saved-extractions/nightly").await, "remove saved");

    // A zero-copy connection over the test server's Iceberg REST catalog.
    let ns = format!("Schema-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    iceberg_table(&s3, &ns, "Stats");
    let (zc, gsecret) = zero_copy_config(&s3);
    ok(s.post("/api/pools/p1/connections", json!({ "name": "lake", "config": zc, "secret": gsecret, "skip_test": true })).await, "add zero-copy");
    ok(s.get("/api/pools/p1/connections/lake/namespaces").await, "namespaces");
    ok(s.put("/api/pools/p1/connections/lake/shares", json!({ "add": [ns] })).await, "shares");
    ok(s.get("/api/pools/p1/connections/lake/shares").await, "get shares");
    ok(s.get(&format!("/api/pools/p1/connections/lake/snapshots?table=\"{ns}\".\"Stats\"")).await, "snapshots");

    // Tables (extracted and shared; as admin and as the read-only token), SQL, drops.
    ok(s.get("/api/pools").await, "pools");
    ok(s.call_as(Some(&s.reader), Method::GET, "/api/pools", None).await, "pools read-only");
    ok(s.get("/api/pools/p1/tables").await, "tables");
    ok(s.call_as(Some(&s.reader), Method::GET, "/api/pools/p1/tables", None).await, "tables read-only");
    ok(s.get("/api/pools/p1/tables/t").await, "table");
    ok(s.get("/api/pools/p1/tables/t/preview?limit=2").await, "preview");
    ok(s.post("/api/pools/p1/query", json!({ "sql": format!("SELECT t.id, t.amount, t.\"when\", s.note FROM t LEFT JOIN lake.\"{ns}\".\"Stats\" s ON s.id = t.id") })).await, "query");
    ok(s.delete("/api/pools/p1/tables/t").await, "drop table");
    ok(s.delete("/api/pools/p1/connections/lake").await, "remove connection");
    ok(s.delete("/api/pools/gone").await, "drop pool");

    // Errors of each family: an unknown name, bad SQL, an unreadable body, an unknown run.
    for (st, body) in [
        s.get("/api/pools/nosuch/tables").await,
        s.post("/api/pools/p1/query", json!({ "sql": "SELECT nope FROM t" })).await,
        s.post("/api/pools/p1/query", json!({ "sequel": 1 })).await,
        s.get("/api/runs/no-such-run").await,
        s.call_as(None, Method::GET, "/api/pools", None).await,
        s.call_as(Some(&s.reader), Method::DELETE, "/api/pools/p1", None).await,
    ] {
        assert!(st.is_client_error() && body["error"].is_string(), "{st} {body}");
    }

    // Every operation of the document was answered with success at least once (cancelling a
    // running run: runs_api's cancel test, through the same checks).
    let checked = s.checked.lock().unwrap().clone();
    let answered: BTreeSet<(String, String)> = checked.iter().filter(|(_, _, st)| (200..300).contains(st)).map(|(m, r, _)| (m.clone(), r.clone())).collect();
    let mut missing = Vec::new();
    for (path, item) in s.doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys().filter(|m| *m != "parameters") {
            let op = (method.to_uppercase(), path.clone());
            if !answered.contains(&op) && op != ("POST".into(), "/api/runs/{id}/cancel".into()) {
                missing.push(format!("{} {}", op.0, op.1));
            }
        }
    }
    assert!(missing.is_empty(), "operations not exercised: {missing:?}");
    assert!(checked.len() >= 50, "{checked:?}");
}

/// A schema's shape: what a client depends on (member names, types, formats, required members,
/// enums, nesting), without the prose (descriptions, summaries), which may change freely. So that
/// a doc comment changes no shape, the two forms schemars gives a documented item read as the
/// undocumented one: `{"allOf": [X]}` (a `$ref` with a description) as X, and a `oneOf` of
/// single-value string enums (documented variants) as one string enum.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let kept: serde_json::Map<String, Value> = o
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "description" | "summary" | "title" | "info"))
                .map(|(k, v)| {
                    let v = if k == "properties" { Value::Object(v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), shape(v))).collect()) } else { shape(v) };
                    (k.clone(), v)
                })
                .collect();
            if let (1, Some(Value::Array(all))) = (kept.len(), kept.get("allOf")) {
                if all.len() == 1 {
                    return all[0].clone();
                }
            }
            if let (1, Some(Value::Array(one))) = (kept.len(), kept.get("oneOf")) {
                let single = |v: &Value| match (v.get("type"), v.get("enum").and_then(Value::as_array)) {
                    (Some(t), Some(e)) if t == "string" && e.len() == 1 && v.as_object().is_some_and(|o| o.len() == 2) => Some(e[0].clone()),
                    _ => None,
                };
                if let Some(values) = one.iter().map(single).collect::<Option<Vec<Value>>>() {
                    return serde_json::json!({ "enum": values, "type": "string" });
                }
            }
            Value::Object(kept)
        }
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        v => v.clone(),
    }
}

/// The API's shapes are pinned: a renamed member, a changed type, a status added or removed
/// fails here until tests/openapi_shapes.json is renewed on purpose
/// (`LAKEPORT_BLESS_OPENAPI=1 cargo test -p lakeport-server --test it openapi_answers`) and the
/// console (assets/app.js) and the CLI are checked against the change.
#[test]
fn the_documented_shapes_change_only_on_purpose() {
    let pinned_path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openapi_shapes.json");
    let now = shape(&lakeport_server::openapi_document());
    let text = serde_json::to_string_pretty(&now).unwrap() + "\n";
    if std::env::var_os("LAKEPORT_BLESS_OPENAPI").is_some() {
        std::fs::write(pinned_path, &text).unwrap();
    }
    let pinned: Value = serde_json::from_str(&std::fs::read_to_string(pinned_path).unwrap()).unwrap();
    if pinned != now {
        let (a, b) = (serde_json::to_string_pretty(&pinned).unwrap(), text);
        let first = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(a.lines().count().min(b.lines().count()));
        let around = |t: &str| t.lines().skip(first.saturating_sub(8)).take(16).collect::<Vec<_>>().join("\n");
        panic!("the API's answer shapes changed (from line {}):\npinned:\n{}\nnow:\n{}", first + 1, around(&a), around(&b));
    }
}
