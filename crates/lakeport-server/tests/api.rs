//! The HTTP API on a real socket, against the real S3 test server.

use std::time::Duration;

use lakeport_pool::PoolDir;
use lakeport_server::{router, AppState};
use lakeport_testkit::TestS3;
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Server {
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

const TOKEN: &str = "test-token-0123456789";

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let state = AppState::new(pd, TOKEN.into()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The same router `lakeport serve` runs.
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    Server { base: format!("http://{addr}"), http: reqwest::Client::new(), _dir: dir }
}

impl Server {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

#[tokio::test]
async fn token_is_required_and_openapi_describes_every_route() {
    let s = start().await;
    let r = s.http.get(format!("{}/api/pools", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s.http.get(format!("{}/api/pools", s.base)).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A cookie carrying the token is not accepted: only the header is.
    let r = s.http.get(format!("{}/api/pools", s.base)).header("cookie", format!("token={TOKEN}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/api/pools").await.0, StatusCode::OK);

    let doc: Value = s.http.get(format!("{}/api/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    let source = include_str!("../src/api.rs");
    let routed: Vec<String> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix(".route(\"").map(|r| r.split('"').next().unwrap().to_string()))
        .filter(|r| r.starts_with('/') && !r.contains('.') && r != "/")
        .collect();
    assert!(routed.len() >= 15, "{routed:?}");
    for r in routed {
        assert!(paths.contains_key(&format!("/api{r}")), "route /api{r} is not in the OpenAPI document");
    }
    let page = s.http.get(format!("{}/", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/app.js") && !page.contains("http://") && !page.contains("https://"), "the console loads nothing from a CDN");
}

#[tokio::test]
async fn connections_extractions_tables_and_query_over_the_api() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("api").await;
    let mut csv = String::from("case_id,activity,cost\n");
    for i in 0..300 {
        csv.push_str(&format!("{i},step{},{}.5\n", i % 4, i));
    }
    bucket.put("in/events.csv", csv).await;
    bucket.put("in/more/a.ndjson", "{\"x\": 1}\n{\"x\": 2}\n").await;
    let s = start().await;
    assert_eq!(s.post("/api/pools", json!({ "name": "p1" })).await.0, StatusCode::CREATED);
    assert_eq!(s.post("/api/pools", json!({ "name": "p1" })).await.0, StatusCode::CONFLICT);

    let config = |key: &str| json!({ "type": "s3-extraction", "region": "us-east-1", "bucket": bucket.name, "access_key_id": key, "endpoint": s3.endpoint, "path_style": true, "allow_http": true });
    // A key without s3:GetBucketAcl: the test names it, and saving is refused (422), nothing saved.
    let (nokey, nosecret) = s3.user("noacl");
    let (st, report) = s.post("/api/pools/p1/connections/test", json!({ "config": config(&nokey), "secret": nosecret.expose() })).await;
    assert_eq!(st, StatusCode::OK);
    let failed: Vec<&str> = report["checks"].as_array().unwrap().iter().filter(|c| c["verdict"] == "failed").map(|c| c["permission"].as_str().unwrap()).collect();
    assert_eq!(failed, vec!["s3:GetBucketAcl"]);
    assert!(report["policy_hint"].as_str().unwrap().contains("s3:GetBucketAcl"));
    let (st, out) = s.post("/api/pools/p1/connections", json!({ "name": "bad", "config": config(&nokey), "secret": nosecret.expose() })).await;
    assert_eq!((st, out["saved"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(false)));
    assert_eq!(s.get("/api/pools/p1/connections").await.1, json!([]));

    let (key, secret) = s3.user("reader");
    let (st, out) = s.post("/api/pools/p1/connections", json!({ "name": "src", "config": config(&key), "secret": secret.expose() })).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    assert_eq!(out["connection"]["has_secret"], true);

    let (_, listing) = s.get("/api/pools/p1/connections/src/browse?prefix=in/").await;
    let names: Vec<&str> = listing.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["more/", "events.csv"]);
    assert!(listing[1]["size"].as_u64().unwrap() > 1000);

    let (st, run) = s.post("/api/pools/p1/extractions", json!({ "connection": "src", "mode": "full", "items": [{ "type": "file", "key": "in/events.csv" }, { "type": "folder", "prefix": "in/more/" }] })).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{run}");
    let run = wait(&s, run["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!((run["rows"].as_u64(), run["files_done"].as_u64()), (Some(302), Some(2)));

    let (_, tables) = s.get("/api/pools/p1/tables").await;
    assert_eq!(tables.as_array().unwrap().iter().map(|t| (t["name"].as_str().unwrap(), t["rows"].as_u64().unwrap())).collect::<Vec<_>>(), vec![("events", 300), ("more", 2)]);
    let (_, preview) = s.get("/api/pools/p1/tables/events/preview?limit=5").await;
    assert_eq!(preview["rows"].as_array().unwrap().len(), 5);
    assert_eq!(preview["columns"][0]["name"], "case_id");
    let (_, q) = s.post("/api/pools/p1/query", json!({ "sql": "SELECT activity, count(*) AS n FROM events GROUP BY activity ORDER BY activity" })).await;
    assert_eq!(q["rows"][0], json!({ "activity": "step0", "n": 75 }));
    let (st, e) = s.post("/api/pools/p1/query", json!({ "sql": "SELECT nope FROM events" })).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().contains("nope"));
    let (_, jobs) = s.get("/api/pools/p1/jobs").await;
    assert_eq!(jobs[0]["status"], "succeeded");

    // A delta that meets a new column evolves the table; the API shows the schema-drift report.
    bucket.put("in/more/b.ndjson", "{\"x\": 3, \"y\": \"new\"}\n").await;
    let (st, run) = s.post("/api/pools/p1/extractions", json!({ "connection": "src", "mode": "delta", "deleted": "remove", "on_schema_change": "evolve", "items": [{ "type": "folder", "prefix": "in/more/" }] })).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{run}");
    assert_eq!(wait(&s, run["id"].as_str().unwrap()).await["status"], "succeeded");
    let (_, jobs) = s.get("/api/pools/p1/jobs").await;
    let change = &jobs[0]["details"][0]["schema_changes"][0];
    assert_eq!((change["column"].as_str(), change["change"].as_str(), change["new_type"].as_str()), (Some("y"), Some("added"), Some("Utf8")), "{}", jobs[0]);
    assert!(change["file"].as_str().unwrap().ends_with("in/more/b.ndjson"));

    // Secrets are write-only: no response of this whole session contains it.
    for path in ["/api/pools/p1/connections", "/api/pools/p1/connections/src", "/api/pools/p1/jobs", "/api/pools/p1/runs"] {
        let (_, v) = s.get(path).await;
        assert!(!v.to_string().contains(secret.expose()), "{path} leaks the secret");
    }
}

async fn wait(s: &Server, id: &str) -> Value {
    for _ in 0..300 {
        let (_, r) = s.get(&format!("/api/runs/{id}")).await;
        if r["status"] != "running" {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("run {id} did not finish");
}

#[tokio::test]
async fn a_second_load_of_the_same_table_is_refused_while_the_first_runs() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("lock").await;
    for i in 0..150 {
        bucket.put(&format!("big/part-{i:03}.csv"), format!("id,v\n{i},{}\n", i * 3)).await;
    }
    let s = start().await;
    s.post("/api/pools", json!({ "name": "p" })).await;
    let (key, secret) = s3.user("reader");
    let config = json!({ "type": "s3-extraction", "region": "us-east-1", "bucket": bucket.name, "access_key_id": key, "endpoint": s3.endpoint, "path_style": true, "allow_http": true, "concurrency": 1 });
    assert_eq!(s.post("/api/pools/p/connections", json!({ "name": "src", "config": config, "secret": secret.expose() })).await.0, StatusCode::CREATED);
    let body = json!({ "connection": "src", "mode": "full", "items": [{ "type": "folder", "prefix": "big" }] });
    let (st, first) = s.post("/api/pools/p/extractions", body.clone()).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let (st, second) = s.post("/api/pools/p/extractions", body.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT, "{second}");
    assert!(second["error"].as_str().unwrap().contains("table 'big' is being loaded"));
    // Meanwhile the API answers.
    assert_eq!(s.get("/api/pools").await.0, StatusCode::OK);
    let done = wait(&s, first["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // Once it is done, the table can be loaded again.
    let (st, again) = s.post("/api/pools/p/extractions", body).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert_eq!(wait(&s, again["id"].as_str().unwrap()).await["rows"], 150);
}
