//! Runs and jobs over the HTTP API, against the real S3 test server: cancel, job details (files
//! loaded / skipped / unchanged, outcome, the full error, "nothing new"), progress that never
//! moves backwards, paging beyond the newest jobs, re-run.

use crate::common;

use std::ops::Deref;
use std::time::Duration;

use lakeport_testkit::{TestBucket, TestS3};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The shared test server (common), with the bucket its connection reads.
struct Server {
    server: common::Server,
    _s3: TestS3,
    bucket: TestBucket,
}

impl Deref for Server {
    type Target = common::Server;
    fn deref(&self) -> &common::Server {
        &self.server
    }
}

/// A server with pool "p" and connection "src" (one request at a time) over a fresh bucket.
async fn start(label: &str) -> Server {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket(label).await;
    let s = Server { server: common::start().await, bucket, _s3: s3 };
    s.post("/api/pools", json!({ "name": "p" })).await;
    let (key, secret) = s._s3.user("reader");
    let config = json!({ "type": "s3-extraction", "region": "us-east-1", "bucket": s.bucket.name, "access_key_id": key, "endpoint": s._s3.endpoint, "path_style": true, "allow_http": true, "concurrency": 1 });
    let (st, out) = s.post("/api/pools/p/connections", json!({ "name": "src", "config": config, "secret": secret.expose(), "skip_test": true })).await;
    assert_eq!(st, StatusCode::CREATED, "{out}");
    s
}

impl Server {
    async fn run(&self, body: Value) -> Value {
        let (st, run) = self.post("/api/pools/p/extractions", body).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{run}");
        self.wait(run["id"].as_str().unwrap()).await
    }
    /// Polls a run to its end, checking on the way that progress never moves backwards.
    async fn wait(&self, id: &str) -> Value {
        let mut last: Option<Value> = None;
        for _ in 0..1200 {
            let (_, r) = self.get(&format!("/api/runs/{id}")).await;
            let n = |v: &Value, k: &str| v[k].as_u64().unwrap();
            assert!(n(&r, "files_done") <= n(&r, "files_total") && n(&r, "bytes_done") <= n(&r, "bytes_total"), "done beyond total: {r}");
            if let Some(l) = &last {
                for k in ["files_total", "bytes_total", "files_done", "bytes_done"] {
                    assert!(n(&r, k) >= n(l, k), "{k} moved backwards: {} then {}", n(l, k), n(&r, k));
                }
            }
            if r["status"] != "running" {
                return r;
            }
            last = Some(r);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("run {id} did not finish");
    }
    async fn rows(&self, table: &str) -> u64 {
        let (_, tables) = self.get("/api/pools/p/tables").await;
        tables.as_array().unwrap().iter().find(|t| t["name"] == table).map(|t| t["rows"].as_u64().unwrap()).unwrap_or(0)
    }
}

#[tokio::test]
async fn cancel_stops_the_run_and_the_tables_keep_their_old_snapshot() {
    let s = start("cancel").await;
    for i in 0..150 {
        s.bucket.put(&format!("big/part-{i:03}.csv"), format!("id,v\n{i},{}\n", i * 3)).await;
    }
    s.bucket.put("one.csv", "id\n1\n2\n").await;
    let body = json!({ "connection": "src", "mode": "full", "items": [{ "type": "file", "key": "one.csv" }, { "type": "folder", "prefix": "big" }] });
    assert_eq!(s.run(body.clone()).await["status"], "succeeded");
    s.bucket.put("one.csv", "id\n1\n2\n3\n").await;
    s.bucket.put("big/part-999.csv", "id,v\n999,1\n").await;
    let (st, run) = s.post("/api/pools/p/extractions", body).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let id = run["id"].as_str().unwrap().to_string();
    // Progress first, then the cancel.
    loop {
        let (_, r) = s.get(&format!("/api/runs/{id}")).await;
        assert_eq!(r["status"], "running", "ended before the cancel: {r}");
        if r["files_done"].as_u64().unwrap() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (st, c) = s.post(&format!("/api/runs/{id}/cancel"), json!({})).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{c}");
    assert_eq!(c["cancel_requested"], true, "{c}");
    let done = s.wait(&id).await;
    assert_eq!(done["status"], "cancelled", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(error.contains("cancelled through the API (token '--token')") && error.contains("no table was committed"), "{error}");
    let outcomes: Vec<&str> = done["details"].as_array().unwrap().iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert!(outcomes.iter().all(|o| *o == "not_committed"), "{done}");
    assert_eq!((s.rows("one").await, s.rows("big").await), (2, 150));
    // Ended: a second cancel is refused; the job log agrees with the run.
    let (st, again) = s.post(&format!("/api/runs/{id}/cancel"), json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");
    assert!(again["error"].as_str().unwrap().contains("has ended (cancelled)"), "{again}");
    let (_, job) = s.get(&format!("/api/pools/p/jobs/{id}")).await;
    assert_eq!(job["status"], "cancelled");
    assert_eq!(s.post("/api/runs/no-such-run/cancel", json!({})).await.0, StatusCode::NOT_FOUND);
    // The tables are free: a re-run of the same request loads the new state.
    let (st, rerun) = s.post(&format!("/api/runs/{id}/rerun"), json!({})).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{rerun}");
    assert_ne!(rerun["id"], id.as_str());
    assert_eq!(s.wait(rerun["id"].as_str().unwrap()).await["status"], "succeeded");
    assert_eq!((s.rows("one").await, s.rows("big").await), (3, 151));
}

#[tokio::test]
async fn job_details_say_what_happened_to_each_table_and_file() {
    let s = start("details").await;
    s.bucket.put("f/a.csv", "id\n1\n2\n").await;
    s.bucket.put("f/b.csv", "id\n3\n").await;
    s.bucket.put("f/_SUCCESS", "").await;
    s.bucket.put("f/.keep", "x").await;
    s.bucket.put("bad.csv", "id,n\n1,2\n3,4,5\n").await;
    let run = s.run(json!({ "connection": "src", "mode": "delta", "items": [{ "type": "folder", "prefix": "f" }] })).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, job) = s.get(&format!("/api/pools/p/jobs/{}", run["id"].as_str().unwrap())).await;
    let t = &job["details"][0];
    assert_eq!((t["table"].as_str(), t["outcome"].as_str(), t["rows"].as_u64(), t["loaded"].as_array().map(|a| a.len())), (Some("f"), Some("committed"), Some(3), Some(2)), "{job}");
    assert!(t["bytes"].as_u64().unwrap() > 0 && t["seconds"].as_f64().is_some(), "{t}");
    let skipped: Vec<(&str, &str)> = t["skipped"].as_array().unwrap().iter().map(|s| (s["key"].as_str().unwrap(), s["reason"].as_str().unwrap())).collect();
    assert!(skipped.contains(&("f/_SUCCESS", "job_marker")) && skipped.contains(&("f/.keep", "hidden")), "{skipped:?}");
    assert_eq!(job["process"]["pid"].as_u64(), Some(std::process::id() as u64));
    assert!(job["seconds"].as_f64().is_some());

    // A delta with nothing new says so — never "committed (0 rows)".
    let noop = s.run(json!({ "connection": "src", "mode": "delta", "items": [{ "type": "folder", "prefix": "f" }] })).await;
    assert_eq!(noop["status"], "succeeded");
    let log = noop["log"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect::<Vec<_>>().join("\n");
    assert!(log.contains("f: nothing new (the table holds 3 rows)") && !log.contains("committed"), "{log}");
    let t = &noop["details"][0];
    assert_eq!((t["outcome"].as_str(), t["unchanged"].as_u64(), t["committed"].as_bool()), (Some("nothing_new"), Some(2), Some(false)), "{t}");
    // After the run, in the job history: the same words.
    let (_, job) = s.get(&format!("/api/pools/p/jobs/{}", noop["id"].as_str().unwrap())).await;
    assert!(job["log"][0].as_str().unwrap().starts_with("f: nothing new"), "{job}");
    let (_, history) = s.get("/api/pools/p/jobs?limit=1").await;
    assert_eq!(history[0]["details"][0]["outcome"], "nothing_new", "{history}");

    // A failed table: its outcome and the whole error (file and line).
    let failed = s.run(json!({ "connection": "src", "mode": "full", "items": [{ "type": "file", "key": "bad.csv" }] })).await;
    assert_eq!(failed["status"], "failed");
    let t = &failed["details"][0];
    assert_eq!(t["outcome"], "failed", "{failed}");
    assert_eq!(t["error"], failed["error"]);
    assert!(t["error"].as_str().unwrap().contains("bad.csv") && t["error"].as_str().unwrap().contains("line 3"), "{t}");
    assert_eq!(s.get("/api/pools/p/jobs/no-such-job").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jobs_page_beyond_the_newest_ten() {
    let s = start("paging").await;
    s.bucket.put("f/a.csv", "id\n1\n").await;
    let mut ids = Vec::new();
    for _ in 0..13 {
        ids.push(s.run(json!({ "connection": "src", "mode": "delta", "items": [{ "type": "folder", "prefix": "f" }] })).await["id"].as_str().unwrap().to_string());
    }
    ids.reverse();
    let (_, first) = s.get("/api/pools/p/jobs/page?limit=10").await;
    let page_ids = |p: &Value| p["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(page_ids(&first), ids[..10].to_vec());
    assert_eq!(first["has_more"], true);
    assert_eq!(first["next_before"], ids[9].as_str());
    let (_, second) = s.get(&format!("/api/pools/p/jobs/page?limit=10&before={}", ids[9])).await;
    assert_eq!(page_ids(&second), ids[10..].to_vec());
    assert_eq!((second["has_more"].clone(), second["next_before"].clone()), (json!(false), Value::Null));
    // The plain list and the runs list page the same way.
    let (_, older) = s.get(&format!("/api/pools/p/jobs?limit=2&before={}", ids[0])).await;
    assert_eq!(older.as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect::<Vec<_>>(), vec![ids[1].as_str(), ids[2].as_str()]);
    let (_, runs) = s.get(&format!("/api/pools/p/runs?limit=3&before={}", ids[10])).await;
    assert_eq!(runs.as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect::<Vec<_>>(), vec![ids[11].as_str(), ids[12].as_str()]);
    let (st, e) = s.get("/api/pools/p/jobs/page?before=nope").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{e}");
}

#[tokio::test]
async fn a_saved_extractions_job_reruns_that_extraction() {
    let s = start("rerun-saved").await;
    s.bucket.put("orders/a.csv", "id\n1\n").await;
    let (st, saved) = s.post("/api/pools/p/saved-extractions", json!({ "name": "orders", "connection": "src", "request": { "mode": "delta", "items": [{ "type": "folder", "prefix": "orders" }] } })).await;
    assert_eq!(st, StatusCode::CREATED, "{saved}");
    let (st, run) = s.post("/api/pools/p/saved-extractions/orders/run", json!({})).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{run}");
    let first = s.wait(run["id"].as_str().unwrap()).await;
    assert_eq!((first["status"].as_str(), first["origin"]["extraction"].as_str()), (Some("succeeded"), Some("orders")), "{first}");
    s.bucket.put("orders/b.csv", "id\n2\n").await;
    let (st, again) = s.post(&format!("/api/runs/{}/rerun", first["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{again}");
    let again = s.wait(again["id"].as_str().unwrap()).await;
    assert_eq!((again["status"].as_str(), again["origin"]["extraction"].as_str(), again["origin"]["trigger"].as_str(), again["mode"].as_str()), (Some("succeeded"), Some("orders"), Some("manual"), Some("delta")), "{again}");
    assert_eq!(s.rows("orders").await, 2);
    let (_, history) = s.get("/api/pools/p/saved-extractions/orders/history").await;
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    // A drop is no extraction: nothing to re-run.
    let (st, dropped) = s.call(reqwest::Method::DELETE, "/api/pools/p/tables/orders", None).await;
    assert_eq!(st, StatusCode::OK, "{dropped}");
    let (_, jobs) = s.get("/api/pools/p/jobs?limit=1").await;
    let (st, e) = s.post(&format!("/api/runs/{}/rerun", jobs[0]["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"].as_str().unwrap().contains("it is a drop job, not an extraction"), "{e}");
}

/// `shard` in the API's extraction request (as `--shard I/N`): two sharded delta runs load the
/// folder between them, each reporting the objects it left to the other; a shard outside 0..N
/// or of a full load is refused with 400 before anything is recorded.
#[tokio::test]
async fn sharded_delta_runs_split_a_folder_and_bad_shards_are_refused() {
    let s = start("shards-api").await;
    for i in 0..20 {
        s.bucket.put(&format!("ev/f{i:02}.csv"), format!("id\n{i}\n")).await;
    }
    let body = |mode: &str, index: u32, count: u32| json!({ "connection": "src", "mode": mode, "items": [{ "type": "folder", "prefix": "ev" }], "shard": { "index": index, "count": count } });
    for (mode, index, says) in [("full", 0, "a full load replaces the whole table"), ("delta", 2, "the shard index counts from 0")] {
        let (st, e) = s.post("/api/pools/p/extractions", body(mode, index, 2)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
        assert!(e["error"].as_str().unwrap().contains(says), "{e}");
    }
    let (_, jobs) = s.get("/api/pools/p/jobs").await;
    assert_eq!(jobs, json!([]), "nothing recorded");
    let mut loaded = 0;
    for index in 0..2 {
        let run = s.run(body("delta", index, 2)).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        let t = &run["report"]["tables"][0];
        let mine = t["loaded"].as_array().unwrap().len() as u64;
        assert_eq!(mine + t["other_shards"].as_u64().unwrap(), 20, "{t}");
        loaded += mine;
    }
    assert_eq!(loaded, 20);
    assert_eq!(s.rows("ev").await, 20);
}
