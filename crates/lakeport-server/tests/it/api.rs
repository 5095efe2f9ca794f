//! The HTTP API on a real socket, against the real S3 test server.

use crate::common;

use std::time::{Duration, Instant};

use common::{iceberg_table, make_table, start, start_with, wait, zero_copy_config, PoolKind, Server, TOKEN};
use lakeport_pool::{QueryLimits, TokenScope};
use lakeport_testkit::TestS3;
use reqwest::StatusCode;
use serde_json::{json, Value};

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
    let source = include_str!("../../src/api.rs");
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

async fn connections_extractions_tables_and_query_over_the_api(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("api").await;
    let mut csv = String::from("case_id,activity,cost\n");
    for i in 0..300 {
        csv.push_str(&format!("{i},step{},{}.5\n", i % 4, i));
    }
    bucket.put("in/events.csv", csv).await;
    bucket.put("in/more/a.ndjson", "{\"x\": 1}\n{\"x\": 2}\n").await;
    let s = start().await;
    let p = s.create_pool(&s3, kind, "p1").await;
    assert_eq!(s.post("/api/pools", json!({ "name": p.name })).await.0, StatusCode::CONFLICT);

    let config = |key: &str| json!({ "type": "s3-extraction", "region": "us-east-1", "bucket": bucket.name, "access_key_id": key, "endpoint": s3.endpoint, "path_style": true, "allow_http": true });
    // A key without s3:GetBucketAcl: the test names it, and saving is refused (422), nothing saved.
    let (nokey, nosecret) = s3.user("noacl");
    let (st, report) = s.post(&p.at("/connections/test"), json!({ "config": config(&nokey), "secret": nosecret.expose() })).await;
    assert_eq!(st, StatusCode::OK);
    let failed: Vec<&str> = report["checks"].as_array().unwrap().iter().filter(|c| c["verdict"] == "failed").map(|c| c["permission"].as_str().unwrap()).collect();
    assert_eq!(failed, vec!["s3:GetBucketAcl"]);
    assert!(report["policy_hint"].as_str().unwrap().contains("s3:GetBucketAcl"));
    let (st, out) = s.post(&p.at("/connections"), json!({ "name": "bad", "config": config(&nokey), "secret": nosecret.expose() })).await;
    assert_eq!((st, out["saved"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(false)));
    assert_eq!(s.get(&p.at("/connections")).await.1, json!([]));

    let (key, secret) = s3.user("reader");
    let (st, out) = s.post(&p.at("/connections"), json!({ "name": "src", "config": config(&key), "secret": secret.expose() })).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    assert_eq!(out["connection"]["has_secret"], true);

    let (_, listing) = s.get(&p.at("/connections/src/browse?prefix=in/")).await;
    let names: Vec<&str> = listing.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["more/", "events.csv"]);
    assert!(listing[1]["size"].as_u64().unwrap() > 1000);

    let (st, run) = s.post(&p.at("/extractions"), json!({ "connection": "src", "mode": "full", "items": [{ "type": "file", "key": "in/events.csv" }, { "type": "folder", "prefix": "in/more/" }] })).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{run}");
    let run = wait(&s, run["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!((run["rows"].as_u64(), run["files_done"].as_u64()), (Some(302), Some(2)));

    let (_, tables) = s.get(&p.at("/tables")).await;
    assert_eq!(tables.as_array().unwrap().iter().map(|t| (t["name"].as_str().unwrap(), t["rows"].as_u64().unwrap())).collect::<Vec<_>>(), vec![("events", 300), ("more", 2)]);
    let (_, preview) = s.get(&p.at("/tables/events/preview?limit=5")).await;
    assert_eq!(preview["rows"].as_array().unwrap().len(), 5);
    assert_eq!(preview["columns"][0]["name"], "case_id");
    let (_, q) = s.post(&p.at("/query"), json!({ "sql": "SELECT activity, count(*) AS n FROM events GROUP BY activity ORDER BY activity" })).await;
    assert_eq!(q["rows"][0], json!({ "activity": "step0", "n": 75 }));
    assert_eq!((q["row_count"].clone(), q["truncated"].clone()), (json!(4), json!(false)));
    let (st, e) = s.post(&p.at("/query"), json!({ "sql": "SELECT nope FROM events" })).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().contains("nope"));
    let (_, jobs) = s.get(&p.at("/jobs")).await;
    assert_eq!(jobs[0]["status"], "succeeded");

    // A delta that meets a new column evolves the table; the API shows the schema-drift report.
    bucket.put("in/more/b.ndjson", "{\"x\": 3, \"y\": \"new\"}\n").await;
    let (st, run) = s.post(&p.at("/extractions"), json!({ "connection": "src", "mode": "delta", "deleted": "remove", "on_schema_change": "evolve", "items": [{ "type": "folder", "prefix": "in/more/" }] })).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{run}");
    assert_eq!(wait(&s, run["id"].as_str().unwrap()).await["status"], "succeeded");
    let (_, jobs) = s.get(&p.at("/jobs")).await;
    let change = &jobs[0]["details"][0]["schema_changes"][0];
    assert_eq!((change["column"].as_str(), change["change"].as_str(), change["new_type"].as_str()), (Some("y"), Some("added"), Some("Utf8")), "{}", jobs[0]);
    assert!(change["file"].as_str().unwrap().ends_with("in/more/b.ndjson"));

    // Secrets are write-only: no response of this whole session contains it.
    for path in [p.at("/connections"), p.at("/connections/src"), p.at("/jobs"), p.at("/runs")] {
        let (_, v) = s.get(&path).await;
        assert!(!v.to_string().contains(secret.expose()), "{path} leaks the secret");
    }
}

/// The console's table page: the table's columns in the file's order with their types, and the
/// source objects its current snapshot holds rows of (after a delta, both files).
async fn table_details_give_columns_in_order_and_source_files(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("apitable").await;
    bucket.put("in/b.csv", "zeta,alpha,when\n1,x,2024-01-02T03:04:05Z\n2,y,2024-01-03T03:04:05Z\n").await;
    let s = start().await;
    let p = s.create_pool(&s3, kind, "p1").await;
    let extractions = p.at("/extractions");
    let (key, secret) = s3.user("reader");
    let config = json!({ "type": "s3-extraction", "region": "us-east-1", "bucket": bucket.name, "access_key_id": key, "endpoint": s3.endpoint, "path_style": true, "allow_http": true });
    assert_eq!(s.post(&p.at("/connections"), json!({ "name": "src", "config": config, "secret": secret.expose() })).await.0, StatusCode::CREATED);
    let load = |mode: &'static str| s.post(&extractions, json!({ "connection": "src", "mode": mode, "items": [{ "type": "folder", "prefix": "in/", "table": "t" }] }));
    let (_, run) = load("full").await;
    assert_eq!(wait(&s, run["id"].as_str().unwrap()).await["status"], "succeeded");
    bucket.put("in/c.csv", "zeta,alpha,when\n3,z,2024-01-04T03:04:05Z\n").await;
    let (_, run) = load("delta").await;
    assert_eq!(wait(&s, run["id"].as_str().unwrap()).await["status"], "succeeded");

    let (st, t) = s.get(&p.at("/tables/t")).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!((t["name"].as_str(), t["rows"].as_u64(), t["snapshots"].as_u64()), (Some("t"), Some(3), Some(2)), "{t}");
    let columns: Vec<(&str, &str)> = t["columns"].as_array().unwrap().iter().map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap())).collect();
    assert_eq!(columns.iter().map(|c| c.0).collect::<Vec<_>>(), vec!["zeta", "alpha", "when"], "file order, not sorted");
    assert_eq!((columns[0].1, columns[1].1), ("Int64", "Utf8"));
    assert!(columns[2].1.starts_with("Timestamp"), "{columns:?}");
    let files: Vec<(&str, u64)> = t["files"].as_array().unwrap().iter().map(|f| (f["key"].as_str().unwrap(), f["rows"].as_u64().unwrap())).collect();
    assert_eq!(files, vec![("in/b.csv", 2), ("in/c.csv", 1)]);
    assert!(t["files"][0]["size"].as_u64().unwrap() > 20 && t["files"][0]["modified"].as_str().unwrap().starts_with("20"), "{t}");
    // JSON too: the columns in the order of the records' keys, not sorted.
    bucket.put("j/a.ndjson", "{\"zeta\": 1, \"alpha\": \"x\", \"mid\": true}\n").await;
    let (_, run) = s.post(&p.at("/extractions"), json!({ "connection": "src", "mode": "full", "items": [{ "type": "folder", "prefix": "j/", "table": "j" }] })).await;
    assert_eq!(wait(&s, run["id"].as_str().unwrap()).await["status"], "succeeded");
    let (_, j) = s.get(&p.at("/tables/j")).await;
    let names: Vec<&str> = j["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["zeta", "alpha", "mid"], "{j}");
    // Source keys are connection business: admin only; an unknown table is 404.
    assert_eq!(s.call_as(Some(&s.reader), reqwest::Method::GET, &p.at("/tables/t"), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get(&p.at("/tables/nosuch")).await.0, StatusCode::NOT_FOUND);
}

/// Token rotation from the console: a stored token gets a new secret under its name and scope;
/// the old one is refused at once; the server's `--token` is not rotated (409).
#[tokio::test]
async fn the_calling_token_rotates() {
    let s = start().await;
    let old = s.pd.create_token(Some("ops"), TokenScope::Admin).await.unwrap().token;
    let (st, out) = s.call_as(Some(&old), reqwest::Method::POST, "/api/token/rotate", None).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    assert_eq!((out["name"].as_str(), out["scope"].as_str()), (Some("ops"), Some("admin")));
    let new = out["token"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(s.call_as(Some(&old), reqwest::Method::GET, "/api/whoami", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.call_as(Some(&new), reqwest::Method::GET, "/api/whoami", None).await.1, json!({ "name": "ops", "scope": "admin" }));
    let (st, e) = s.post("/api/token/rotate", json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert!(e["error"].as_str().unwrap().contains("--token"), "{e}");
    // A read-only token may not (rotation is an admin operation), and stays valid.
    assert_eq!(s.call_as(Some(&s.reader), reqwest::Method::POST, "/api/token/rotate", None).await.0, StatusCode::FORBIDDEN);
}

/// The zero-copy role path in the console: lakeport's principal, an External ID and the trust
/// policy, from the real STS of the test server.
#[tokio::test]
async fn the_trust_policy_names_lakeports_principal_and_the_external_id() {
    let s3 = TestS3::from_env();
    let s = start().await;
    let (st, t) = s.post("/api/trust-policy", json!({ "region": "us-east-1", "sts_endpoint": s3.endpoint, "allow_http": true })).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let principal = t["principal"].as_str().unwrap();
    assert!(principal.ends_with(":user/lakeport"), "{t}");
    let id = t["external_id"].as_str().unwrap();
    assert!(id.starts_with("lakeport-") && id.len() > 20, "{t}");
    let statement = &t["trust_policy"]["Statement"][0];
    assert_eq!((statement["Principal"]["AWS"].as_str(), statement["Condition"]["StringEquals"]["sts:ExternalId"].as_str()), (Some(principal), Some(id)));
    let (_, t) = s.post("/api/trust-policy", json!({ "region": "us-east-1", "sts_endpoint": s3.endpoint, "allow_http": true, "external_id": "mine-123" })).await;
    assert_eq!(t["external_id"], "mine-123");
    // Plain HTTP to a non-loopback STS without allow_http: refused before anything is sent.
    let (st, e) = s.post("/api/trust-policy", json!({ "region": "us-east-1", "sts_endpoint": s3.endpoint })).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
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
    // Meanwhile the API answers, and the table cannot be dropped under the load.
    assert_eq!(s.get("/api/pools").await.0, StatusCode::OK);
    let (st, refused) = s.delete("/api/pools/p/tables/big").await;
    assert_eq!(st, StatusCode::CONFLICT, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("table 'big' is being loaded by run"), "{refused}");
    let done = wait(&s, first["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // Once it is done, the table can be loaded again.
    let (st, again) = s.post("/api/pools/p/extractions", body).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert_eq!(wait(&s, again["id"].as_str().unwrap()).await["rows"], 150);
}

/// Path parameters for calling every operation of the OpenAPI document.
fn fill(path: &str, pool: &str, table: &str) -> String {
    path.replace("{pool}", pool).replace("{table}", table).replace("{name}", "src").replace("{id}", "no-such-run")
}

#[tokio::test]
async fn every_operation_enforces_its_scope() {
    let s = start().await;
    make_table(&s.pd, "p1", "t", 5).await;
    let admin = s.pd.create_token(Some("ops"), TokenScope::Admin).await.unwrap().token;
    let doc: Value = s.http.get(format!("{}/api/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    let mut checked = (0, 0);
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap().iter().filter(|(m, _)| *m != "parameters") {
            let m: reqwest::Method = method.to_uppercase().parse().unwrap();
            let scope = op["x-lakeport-scope"].as_str().unwrap_or_else(|| panic!("{method} {path} has no scope"));
            let body = (m == reqwest::Method::POST || m == reqwest::Method::PUT).then(|| json!({ "sql": "SELECT count(*) AS n FROM t" }));
            let what = format!("{method} {path}");
            if scope == "none" {
                assert_eq!(s.call_as(None, m, path, None).await.0, StatusCode::OK, "{what}");
                continue;
            }
            // No token, a wrong token, a token that only looks alike: 401, for every operation.
            for wrong in [None, Some("wrong"), Some(&admin[..admin.len() - 1])] {
                assert_eq!(s.call_as(wrong, m.clone(), &fill(path, "p1", "t"), body.clone()).await.0, StatusCode::UNAUTHORIZED, "{what} with {wrong:?}");
            }
            // The read-only token: 403 for admin operations (before anything runs), 2xx for its own.
            let (st, out) = s.call_as(Some(&s.reader), m.clone(), &fill(path, "p1", "t"), body.clone()).await;
            match scope {
                "admin" => {
                    assert_eq!(st, StatusCode::FORBIDDEN, "{what}: {out}");
                    assert!(out["error"].as_str().unwrap().contains("token 'analyst' is read-only"), "{what}: {out}");
                    checked.0 += 1;
                }
                "read-only" => {
                    assert!(st.is_success(), "{what}: {st} {out}");
                    checked.1 += 1;
                }
                other => panic!("{what}: unknown scope {other}"),
            }
            // An admin token passes the check everywhere (names that do not exist, so nothing changes).
            // (Rotating would replace the `ops` token this loop goes on with: the server's --token
            // passes the check there and is answered 409.)
            let admin_token = if path == "/api/token/rotate" { TOKEN } else { &admin[..] };
            let (st, out) = s.call_as(Some(admin_token), m, &fill(path, "nosuch", "nosuch"), body).await;
            assert!(st != StatusCode::UNAUTHORIZED && st != StatusCode::FORBIDDEN, "{what}: {st} {out}");
        }
    }
    assert_eq!(checked.1, lakeport_server::READ_ONLY_OPERATIONS.len(), "every read-only operation is in the document");
    assert!(checked.0 >= 17, "admin operations checked: {}", checked.0);

    // The read-only token's own operations, with their answers.
    let who = s.call_as(Some(&s.reader), reqwest::Method::GET, "/api/whoami", None).await.1;
    assert_eq!(who, json!({ "name": "analyst", "scope": "read-only" }));
    let (_, pools) = s.call_as(Some(&s.reader), reqwest::Method::GET, "/api/pools", None).await;
    assert_eq!(pools[0]["name"], "p1");
    assert!(pools[0].get("connections").is_none(), "{pools}");
    assert!(s.get("/api/pools").await.1[0].get("connections").is_some(), "admins see connection counts");
    let (_, tables) = s.call_as(Some(&s.reader), reqwest::Method::GET, "/api/pools/p1/tables", None).await;
    assert_eq!((tables[0]["name"].as_str(), tables[0]["rows"].as_u64(), tables[0].get("location")), (Some("t"), Some(5), None), "{tables}");
    assert!(s.get("/api/pools/p1/tables").await.1[0]["location"].as_str().unwrap().starts_with("file://"));
    let (_, q) = s.call_as(Some(&s.reader), reqwest::Method::POST, "/api/pools/p1/query", Some(json!({ "sql": "SELECT sum(id) AS s FROM t" }))).await;
    assert_eq!(q["rows"], json!([{ "s": 10 }]));
    // Its SQL is as read-only as everybody's.
    let (st, e) = s.call_as(Some(&s.reader), reqwest::Method::POST, "/api/pools/p1/query", Some(json!({ "sql": "DROP TABLE t" }))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(s.pd.pool("p1").await.unwrap().table_names().await.unwrap(), vec!["t"]);

    // Revoked: refused at once.
    s.pd.revoke_token("analyst").await.unwrap();
    assert_eq!(s.call_as(Some(&s.reader), reqwest::Method::GET, "/api/pools", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.call_as(Some(&admin), reqwest::Method::GET, "/api/whoami", None).await.1["scope"], "admin");
}

async fn sql_over_the_api_only_reads_and_tables_go_by_drop(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let s = start().await;
    let p = s.create_pool(&s3, kind, "p1").await;
    make_table(&s.pd, &p.name, "t", 5).await;
    make_table(&s.pd, &p.name, "other", 2).await;
    let out = tempfile::tempdir().unwrap();
    let file = |n: &str| out.path().join(n).display().to_string();
    // (statement, the start of the refusal)
    let refused: Vec<(String, &str)> = vec![
        (format!("COPY (SELECT 42 AS x) TO '{}' STORED AS CSV", file("x.csv")), "COPY is not allowed"),
        (format!("COPY t TO '{}' STORED AS PARQUET", file("t.parquet")), "COPY is not allowed"),
        ("COPY (SELECT 1) TO 'relative.csv' STORED AS CSV".into(), "COPY is not allowed"),
        ("DROP TABLE t".into(), "DROP TABLE is not allowed"),
        ("CREATE TABLE x AS SELECT * FROM t".into(), "CREATE TABLE is not allowed"),
        ("CREATE VIEW v AS SELECT 1".into(), "CREATE VIEW is not allowed"),
        ("CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '/etc/passwd'".into(), "CREATE EXTERNAL TABLE is not allowed"),
        ("INSERT INTO t VALUES (9, 'x')".into(), "INSERT is not allowed"),
        ("DELETE FROM t".into(), "DELETE is not allowed"),
        ("UPDATE t SET name = 'x'".into(), "UPDATE is not allowed"),
        ("SET datafusion.execution.target_partitions = 1".into(), "SET is not allowed"),
        ("PREPARE q AS SELECT 1".into(), "PREPARE is not allowed"),
        (format!("EXPLAIN ANALYZE COPY (SELECT 1) TO '{}' STORED AS CSV", file("e.csv")), "COPY is not allowed"),
    ];
    for (sql, start) in &refused {
        let (st, e) = s.post(&p.at("/query"), json!({ "sql": sql })).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{sql}: {e}");
        let msg = e["error"].as_str().unwrap();
        assert!(msg.starts_with(start) && msg.contains("only reads the pool"), "{sql}: {msg}");
    }
    let (_, e) = s.post(&p.at("/query"), json!({ "sql": "DROP TABLE t" })).await;
    assert!(e["error"].as_str().unwrap().contains("lakeport table drop"), "{e}");
    // Host files and URLs are not tables.
    for sql in ["SELECT * FROM '/etc/passwd'", "SELECT * FROM 'file:///etc/hosts'", "SELECT * FROM 'http://127.0.0.1:1/x.csv'"] {
        let (st, e) = s.post(&p.at("/query"), json!({ "sql": sql })).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{sql}: {e}");
        assert!(!e.to_string().contains("root:"), "{sql}: {e}");
    }
    // Queries of every kind answer.
    for (sql, rows) in [("SELECT * FROM t", 5), ("WITH x AS (SELECT id FROM t) SELECT max(id) FROM x", 1), ("VALUES (1), (2)", 2), ("DESCRIBE t", 2), ("SHOW COLUMNS FROM t", 2)] {
        let (st, q) = s.post(&p.at("/query"), json!({ "sql": sql })).await;
        assert_eq!((st, q["row_count"].as_u64()), (StatusCode::OK, Some(rows)), "{sql}: {q}");
    }
    let (st, q) = s.post(&p.at("/query"), json!({ "sql": "EXPLAIN SELECT * FROM t" })).await;
    assert_eq!(st, StatusCode::OK, "{q}");
    // Nothing was written or changed.
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none());
    assert!(!std::path::Path::new("relative.csv").exists());
    assert_eq!(s.pd.pool(&p.name).await.unwrap().table_names().await.unwrap(), vec!["other", "t"]);
    assert_eq!(s.get(&p.at("/jobs")).await.1, json!([]));

    // The explicit operation: DELETE drops the table, removes its files, records a job.
    let files = p.table_files(&s, "t").await;
    assert!(files.iter().any(|f| f.starts_with("data/")), "{files:?}");
    if kind == PoolKind::Rest {
        // The test server's catalog does not drop tables (DropTable answers 501): the answer
        // names the table and the catalog's answer, the job ends failed, the pool is unchanged.
        let (st, e) = s.delete(&p.at("/tables/t")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
        let msg = e["error"].as_str().unwrap();
        assert!(msg.contains(&format!("DropTable {}.t", p.name)) && msg.contains("501") && msg.contains("does not drop tables"), "{e}");
        let (_, jobs) = s.get(&p.at("/jobs")).await;
        assert_eq!((jobs[0]["mode"].clone(), jobs[0]["status"].clone(), jobs[0]["tables"].clone()), (json!("drop"), json!("failed"), json!(["t"])));
        assert_eq!(p.table_files(&s, "t").await, files);
        let (_, q) = s.post(&p.at("/query"), json!({ "sql": "SELECT count(*) AS n FROM t" })).await;
        assert_eq!(q["rows"][0]["n"], 5, "{q}");
        return;
    }
    let (st, report) = s.delete(&p.at("/tables/t")).await;
    assert_eq!(st, StatusCode::OK, "{report}");
    assert_eq!((report["table"].clone(), report["rows"].clone(), report["files_left"].clone()), (json!("t"), json!(5), json!(0)));
    assert!(report["files_removed"].as_u64().unwrap() >= 3, "{report}");
    assert_eq!(p.table_files(&s, "t").await, Vec::<String>::new());
    assert!(!p.table_files(&s, "other").await.is_empty());
    let (_, tables) = s.get(&p.at("/tables")).await;
    assert_eq!(tables.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect::<Vec<_>>(), vec!["other"]);
    let (_, jobs) = s.get(&p.at("/jobs")).await;
    assert_eq!((jobs[0]["mode"].clone(), jobs[0]["status"].clone(), jobs[0]["tables"].clone()), (json!("drop"), json!("succeeded"), json!(["t"])));
    assert_eq!(s.delete(&p.at("/tables/t")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.delete(&p.at("/tables/..%2Fother")).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.delete("/api/pools/nosuch/tables/other").await.0, StatusCode::NOT_FOUND);
}

lakeport_testkit::pool_kinds!(
    connections_extractions_tables_and_query_over_the_api,
    table_details_give_columns_in_order_and_source_files,
    sql_over_the_api_only_reads_and_tables_go_by_drop,
);

#[tokio::test]
async fn queries_are_bounded_and_the_api_answers_meanwhile() {
    let limits = QueryLimits { memory_bytes: 8 << 20, time_limit: Duration::from_secs(2), max_rows: Some(100) };
    let s = start_with(Some(limits)).await;
    make_table(&s.pd, "p1", "t", 5).await;
    // Beyond the memory budget (a hash join cannot spill): 422, naming the budget and the switch.
    let (st, e) = s.post("/api/pools/p1/query", json!({ "sql": "SELECT count(*) FROM generate_series(1, 2000000) a JOIN generate_series(1, 2000000) b ON a.value = b.value" })).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"].as_str().unwrap().starts_with("query used more than 8 MiB of memory; narrow it"), "{e}");
    assert!(e["error"].as_str().unwrap().contains("--query-memory"), "{e}");

    // Beyond the time limit: 422 after about 2 s, and light calls answer quickly meanwhile.
    let runaway = {
        let (http, url) = (s.http.clone(), format!("{}/api/pools/p1/query", s.base));
        tokio::spawn(async move {
            let started = Instant::now();
            let r = http.post(url).bearer_auth(TOKEN).json(&json!({ "sql": "SELECT count(*) FROM generate_series(1, 1000000) a CROSS JOIN generate_series(1, 1000000) b" })).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let t = Instant::now();
        assert_eq!(s.get("/api/pools").await.0, StatusCode::OK);
        slowest = slowest.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(slowest < Duration::from_millis(500), "GET /api/pools took {slowest:?} during the runaway query");
    let (st, e, took) = runaway.await.unwrap();
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"], "query ran longer than 2 s and was stopped; narrow it or raise --query-timeout-secs");
    assert!(took < Duration::from_secs(4), "{took:?}");

    // The row cap: 100 rows, and the answer says more were cut.
    let (_, q) = s.post("/api/pools/p1/query", json!({ "sql": "SELECT value FROM generate_series(1, 100000)" })).await;
    assert_eq!((q["row_count"].clone(), q["truncated"].clone(), q["max_rows"].clone()), (json!(100), json!(true), json!(100)), "{q}");
    assert_eq!(q["rows"].as_array().unwrap().len(), 100);
    let (_, q) = s.post("/api/pools/p1/query", json!({ "sql": "SELECT * FROM t" })).await;
    assert_eq!((q["row_count"].clone(), q["truncated"].clone()), (json!(5), json!(false)));
}

#[tokio::test]
async fn the_console_and_the_api_send_security_headers_and_cap_request_bodies() {
    let s = start().await;
    make_table(&s.pd, "p1", "t", 1).await;
    for path in ["/", "/app.js", "/app.css", "/api/health", "/api/pools", "/no-such-page"] {
        let r = s.http.get(format!("{}{path}", s.base)).bearer_auth(TOKEN).send().await.unwrap();
        let h = r.headers();
        let csp = h.get("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP")).to_str().unwrap();
        for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{path}");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
    }
    // The page itself has no inline script or style, which the policy would block anyway.
    let page = s.http.get(format!("{}/", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.matches("<script").count() == page.matches("<script src=").count(), "{page}");
    assert!(!page.contains("style=") && !page.contains("<style"), "{page}");
    assert!(!page.split(" on").skip(1).any(|rest| rest.chars().take_while(|c| c.is_ascii_alphabetic()).count() > 0 && rest.trim_start_matches(|c: char| c.is_ascii_alphabetic()).starts_with('=')), "an inline event handler: {page}");
    let script = s.http.get(format!("{}/app.js", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(!script.contains("style=\\\"") && !script.contains(" style=\""), "app.js writes inline style attributes, which the policy blocks");

    // Request bodies above 1 MiB are refused before any handler reads them.
    let big = json!({ "sql": format!("SELECT 1 -- {}", "x".repeat(lakeport_server::MAX_BODY_BYTES)) });
    let r = s.http.post(format!("{}/api/pools/p1/query", s.base)).bearer_auth(TOKEN).json(&big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let fits = json!({ "sql": format!("SELECT 1 AS one -- {}", "x".repeat(lakeport_server::MAX_BODY_BYTES - 100)) });
    let r = s.http.post(format!("{}/api/pools/p1/query", s.base)).bearer_auth(TOKEN).json(&fits).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Saved extractions over the API: save (with pattern, column settings, schedule), list with the
/// next three run times, run now, history, edit (version 2), schedule preview, remove; the
/// pseudonymisation key is in no response.
#[tokio::test]
async fn saved_extractions_over_the_api() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("apisaved").await;
    bucket.put("people/a.csv", "id,email,age\n1,ann@example.com,30\n2,bob@example.com,40\n").await;
    bucket.put("people/readme.md", "no data").await;
    let s = start().await;
    assert_eq!(s.post("/api/pools", json!({ "name": "p1" })).await.0, StatusCode::CREATED);
    let (key, secret) = s3.user("reader");
    let config = json!({ "type": "s3-extraction", "region": "us-east-1", "bucket": bucket.name, "access_key_id": key, "endpoint": s3.endpoint, "path_style": true, "allow_http": true });
    assert_eq!(s.post("/api/pools/p1/connections", json!({ "name": "src", "config": config, "secret": secret.expose() })).await.0, StatusCode::CREATED);

    let definition = json!({
        "connection": "src",
        "request": { "mode": "full", "items": [{ "type": "folder", "prefix": "people/", "include": ["*.csv"] }],
                     "tables": [{ "table": "people", "columns": ["id", "email"], "pseudonymise": ["email"] }] },
        "schedule": { "cron": "0 6 * * *", "timezone": "UTC" }
    });
    let mut body = definition.clone();
    body["name"] = json!("people");
    let (st, saved) = s.post("/api/pools/p1/saved-extractions", body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["version"], 1);
    let upcoming = saved["upcoming_runs"].as_array().unwrap();
    assert_eq!(upcoming.len(), 3);
    assert!(upcoming.iter().all(|t| t.as_str().unwrap().contains("T06:00:00")), "{upcoming:?}");
    assert_eq!(saved["next_run_at"], upcoming[0]);
    assert_eq!(s.post("/api/pools/p1/saved-extractions", body).await.0, StatusCode::CONFLICT);

    let (st, run) = s.post("/api/pools/p1/saved-extractions/people/run", json!({})).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{run}");
    assert_eq!(wait(&s, run["id"].as_str().unwrap()).await["status"], "succeeded");
    let (_, history) = s.get("/api/pools/p1/saved-extractions/people/history").await;
    assert_eq!((history[0]["trigger"].as_str(), history[0]["status"].as_str(), history[0]["rows"].as_u64(), history[0]["version"].as_i64()), (Some("manual"), Some("succeeded"), Some(2), Some(1)), "{history}");
    let (_, q) = s.post("/api/pools/p1/query", json!({ "sql": "SELECT * FROM people ORDER BY id" })).await;
    assert_eq!(q["columns"].as_array().unwrap().len(), 2, "{q}");
    assert_eq!(q["rows"][0]["email"].as_str().unwrap().len(), 64);

    let mut edited = definition.clone();
    edited["schedule"] = json!({ "cron": "*/30 * * * *" });
    let (st, e) = s.call(reqwest::Method::PUT, "/api/pools/p1/saved-extractions/people", Some(edited)).await;
    assert_eq!((st, e["version"].clone()), (StatusCode::OK, json!(2)), "{e}");
    let (_, list) = s.get("/api/pools/p1/saved-extractions").await;
    assert_eq!(list[0]["definition"]["schedule"]["cron"], "*/30 * * * *");

    let (st, p) = s.post("/api/schedule-preview", json!({ "cron": "15 8 * * *", "timezone": "America/New_York" })).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(p["upcoming_runs"].as_array().unwrap().len(), 3);
    let (st, p) = s.post("/api/schedule-preview", json!({ "cron": "15 8 * *" })).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(p["error"].as_str().unwrap().contains("4 fields"));

    // No response carries the pseudonymisation key or the connection secret.
    let key_hex = std::fs::read_to_string(s.dir.path().join("secrets/p1/pseudonymisation.key")).unwrap();
    for path in ["/api/pools/p1/saved-extractions", "/api/pools/p1/saved-extractions/people", "/api/pools/p1/saved-extractions/people/history", "/api/pools/p1/jobs", "/api/pools/p1/runs"] {
        let (_, v) = s.get(path).await;
        assert!(!v.to_string().contains(&key_hex) && !v.to_string().contains(secret.expose()), "{path} leaks a secret");
    }
    assert_eq!(s.call(reqwest::Method::DELETE, "/api/pools/p1/saved-extractions/people", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/api/pools/p1/saved-extractions/people").await.0, StatusCode::NOT_FOUND);
    // A read-only token cannot see or run saved extractions.
    assert_eq!(s.call_as(Some(&s.reader), reqwest::Method::GET, "/api/pools/p1/saved-extractions", None).await.0, StatusCode::FORBIDDEN);
}

async fn put(s: &Server, path: &str, body: Value) -> (StatusCode, Value) {
    s.call(reqwest::Method::PUT, path, Some(body)).await
}

#[tokio::test]
async fn connections_are_updated_after_test_connection_and_shared_tables_are_listed() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("upd").await;
    bucket.put("in/a.csv", "x\n1\n").await;
    let s = start().await;
    make_table(&s.pd, "p1", "t", 3).await;

    // Extraction connection: a key without s3:GetBucketAcl fails the test: 422, nothing changed.
    let (key, secret) = s3.user("reader");
    let config = json!({ "type": "s3-extraction", "region": "us-east-1", "bucket": bucket.name, "access_key_id": key, "endpoint": s3.endpoint, "path_style": true, "allow_http": true });
    assert_eq!(s.post("/api/pools/p1/connections", json!({ "name": "src", "config": config, "secret": secret.expose() })).await.0, StatusCode::CREATED);
    let before = s.get("/api/pools/p1/connections/src").await.1;
    let (nokey, nosecret) = s3.user("noacl");
    let (st, out) = put(&s, "/api/pools/p1/connections/src", json!({ "config": { "access_key_id": nokey }, "secret": nosecret.expose() })).await;
    assert_eq!((st, out["saved"].clone(), out["connection"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(false), Value::Null), "{out}");
    assert_eq!(out["changed"], json!(["access_key_id", "secret"]));
    let failed: Vec<&str> = out["test"]["checks"].as_array().unwrap().iter().filter(|c| c["verdict"] == "failed").map(|c| c["permission"].as_str().unwrap()).collect();
    assert_eq!(failed, vec!["s3:GetBucketAcl"]);
    assert_eq!(s.get("/api/pools/p1/connections/src").await.1, before);
    // The stored secret still works: browsing (which signs with it) answers.
    assert_eq!(s.get("/api/pools/p1/connections/src/browse?prefix=in/").await.1[0]["name"], "a.csv");
    // Only the retry budget: the secret is kept (the test signs with it), 200.
    let (st, out) = put(&s, "/api/pools/p1/connections/src", json!({ "config": { "max_retries": 2 } })).await;
    assert_eq!((st, out["changed"].clone()), (StatusCode::OK, json!(["max_retries"])), "{out}");
    assert_eq!((out["connection"]["config"]["max_retries"].as_u64(), out["connection"]["has_secret"].as_bool()), (Some(2), Some(true)));
    assert!(!out.to_string().contains(secret.expose()));
    // Refused before anything runs: another type, a member the type lacks, an invalid value.
    for (body, says) in [
        (json!({ "config": { "type": "zero-copy" } }), "type cannot change"),
        (json!({ "config": { "s3_endpoint": "http://127.0.0.1:1" } }), "has no setting 's3_endpoint'"),
        (json!({ "config": { "bucket": "Not_A_Bucket" } }), "not a valid S3 bucket name"),
        (json!({ "config": { "region": null } }), "not valid"),
    ] {
        let (st, e) = put(&s, "/api/pools/p1/connections/src", body.clone()).await;
        assert!(st == StatusCode::BAD_REQUEST && e["error"].as_str().unwrap().contains(says), "{body}: {st} {e}");
    }
    assert_eq!(put(&s, "/api/pools/p1/connections/nope", json!({})).await.0, StatusCode::NOT_FOUND);

    // A zero-copy share: listed beside the extracted table, named as SQL writes it.
    let ns = format!("Api-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    iceberg_table(&s3, &ns, "Campaign-Stats");
    let (zc, gsecret) = zero_copy_config(&s3);
    let gkey = zc["auth"]["access_key_id"].as_str().unwrap().to_string();
    let (st, out) = s.post("/api/pools/p1/connections", json!({ "name": "My-Lake", "config": zc, "secret": gsecret, "skip_test": true })).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    let (st, out) = put(&s, "/api/pools/p1/connections/My-Lake/shares", json!({ "add": [ns] })).await;
    assert_eq!(st, StatusCode::OK, "{out}");
    let sql_name = format!("my_lake.\"{ns}\".\"Campaign-Stats\"");
    for token in [TOKEN, s.reader.as_str()] {
        let (_, tables) = s.call_as(Some(token), reqwest::Method::GET, "/api/pools/p1/tables", None).await;
        let tables = tables.as_array().unwrap();
        assert_eq!(tables.len(), 2, "{tables:?}");
        assert_eq!((tables[0]["kind"].as_str(), tables[0]["name"].as_str(), tables[0].get("location").is_some()), (Some("extracted"), Some("t"), token == TOKEN));
        assert_eq!(tables[1], json!({ "kind": "shared", "name": sql_name, "connection": "My-Lake", "namespace": ns, "table": "Campaign-Stats" }));
        // The name as listed is what SQL takes.
        let (_, q) = s.call_as(Some(token), reqwest::Method::POST, "/api/pools/p1/query", Some(json!({ "sql": format!("SELECT count(*) AS n FROM {sql_name}") }))).await;
        assert_eq!(q["rows"], json!([{ "n": 100 }]), "{q}");
    }
    // Zero-copy update: a key without s3:GetObject fails on the shared table; shares, key and
    // secret stay; then the External-ID-less switch to a role is refused before any test.
    let (nos3, nos3secret) = s3.user("gluenos3");
    let (st, out) = put(&s, "/api/pools/p1/connections/My-Lake", json!({ "config": { "auth": { "access_key_id": nos3 } }, "secret": nos3secret.expose() })).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert!(out["test"]["checks"].as_array().unwrap().iter().any(|c| c["permission"] == "s3:GetObject" && c["verdict"] == "failed"), "{out}");
    let shown = s.get("/api/pools/p1/connections/My-Lake").await.1;
    assert_eq!(shown["config"]["auth"]["access_key_id"].as_str(), Some(gkey.as_str()));
    assert_eq!(s.get("/api/pools/p1/connections/My-Lake/shares").await.1[0]["share"]["namespace"].as_str(), Some(ns.as_str()));
    let (_, q) = s.post("/api/pools/p1/query", json!({ "sql": format!("SELECT count(*) AS n FROM {sql_name}") })).await;
    assert_eq!(q["rows"], json!([{ "n": 100 }]), "the stored secret still reads: {q}");
    let (st, e) = put(&s, "/api/pools/p1/connections/My-Lake", json!({ "config": { "auth": { "method": "assume-role", "role_arn": "arn:aws:iam::1:role/r" } } })).await;
    assert!(st == StatusCode::BAD_REQUEST && e["error"].as_str().unwrap().contains("external_id"), "{st} {e}");
    // The same key again, secret left out: tested with the stored secret, 200, shares kept.
    let (st, out) = put(&s, "/api/pools/p1/connections/My-Lake", json!({ "config": shown["config"] })).await;
    assert_eq!((st, out["changed"].clone()), (StatusCode::OK, json!([])), "{out}");
    assert_eq!(s.get("/api/pools/p1/tables").await.1.as_array().unwrap().len(), 2);
}

/// Every error answer names its kind beside the message, and the status follows from the kind
/// (the server's one map, error.rs): what a client matches on without parsing text.
#[tokio::test]
async fn error_answers_carry_their_kind() {
    let s = start().await;
    assert_eq!(s.post("/api/pools", json!({ "name": "p1" })).await.0, StatusCode::CREATED);
    make_table(&s.pd, "p1", "t", 3).await;
    for (what, (st, body), status, kind) in [
        ("a pool that exists", s.post("/api/pools", json!({ "name": "p1" })).await, StatusCode::CONFLICT, "exists"),
        ("a pool that does not", s.get("/api/pools/nosuch/tables").await, StatusCode::NOT_FOUND, "not_found"),
        ("a table that does not", s.get("/api/pools/p1/tables/nosuch/preview").await, StatusCode::NOT_FOUND, "not_found"),
        ("SQL that does not plan", s.post("/api/pools/p1/query", json!({ "sql": "SELECT nope FROM t" })).await, StatusCode::BAD_REQUEST, "invalid"),
        ("SQL that writes", s.post("/api/pools/p1/query", json!({ "sql": "DROP TABLE t" })).await, StatusCode::BAD_REQUEST, "invalid"),
    ] {
        assert_eq!((st, body["kind"].as_str()), (status, Some(kind)), "{what}: {body}");
        assert!(body["error"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
    }
}

// A REST-catalog pool whose catalog is down (it was reached through lakeport-faultproxy, which is
// then shut down) is listed all the same, without a table count and with why — in full for an
// admin, without the catalog's words (its URL) for a read-only token; the other pools are listed
// as before.
#[tokio::test]
async fn a_pool_whose_catalog_is_down_is_listed_with_why() {
    let s3 = TestS3::from_env();
    let s = start().await;
    let (proxy, proxy_thread) = lakeport_faultproxy::FaultProxy::start_on_thread(&s3.endpoint, 1, 0.0);
    let r = s3.rest_pool("apidown").await;
    let mut catalog = r.catalog_json();
    catalog["catalog_url"] = json!(format!("{}/iceberg", proxy.endpoint));
    let (st, out) = s.post("/api/pools", json!({ "name": r.name, "catalog": catalog, "secret": r.secret.expose() })).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    assert_eq!(s.post("/api/pools", json!({ "name": "local" })).await.0, StatusCode::CREATED);
    proxy_thread.stop();

    let entry = |pools: &Value, name: &str| pools.as_array().unwrap().iter().find(|p| p["name"] == name).cloned().unwrap_or_else(|| panic!("{name} not listed: {pools}"));
    let (st, pools) = s.get("/api/pools").await;
    assert_eq!(st, StatusCode::OK, "{pools}");
    let local = entry(&pools, "local");
    assert_eq!((local["tables"].as_u64(), local.get("catalog_error")), (Some(0), None), "{pools}");
    let far = entry(&pools, &r.name);
    let why = far["catalog_error"].as_str().unwrap_or_else(|| panic!("{pools}"));
    assert!(far["tables"].is_null() && why.contains("cannot connect") && why.contains(&proxy.endpoint), "{pools}");
    assert!(!pools.to_string().contains(r.secret.expose()));

    let (st, pools) = s.call_as(Some(&s.reader), reqwest::Method::GET, "/api/pools", None).await;
    assert_eq!(st, StatusCode::OK, "{pools}");
    let far = entry(&pools, &r.name);
    let why = far["catalog_error"].as_str().unwrap_or_else(|| panic!("{pools}"));
    assert!(far["tables"].is_null() && !why.contains(&proxy.endpoint) && why.contains("did not answer"), "{pools}");
}
