//! A commit whose outcome is unknown, end to end: loads into a REST-catalog pool whose catalog
//! calls go through lakeport-faultproxy, which breaks exactly the `updateTable` POST (Iceberg REST
//! spec: `POST /v1/{prefix}/namespaces/{namespace}/tables/{table}`) — and nothing else: S3 and
//! every other catalog call are untouched.
//!
//! Three ways the answer is lost: the connection breaks after the catalog got (and applied) the
//! commit; the gateway answers 500 without forwarding it (not applied); the gateway forwards it
//! and then answers 504 (applied). Each time the command fails saying the catalog did not say
//! whether the commit went through, naming the table; the files the load wrote stay on S3; the
//! table is whole — with the commit or without it, never half — for `lakeport query` and for
//! pyiceberg; and the next delta load (the ledger in the table decides) ends with every row exactly
//! once. (The error's kind, `unavailable`, is checked by lakeport-pool's `rest_commit` test; the
//! CLI prints no kinds.)

use crate::common;

use std::process::Command;

use common::{lakeport, stdout, text};
use lakeport_faultproxy::{Fault, FaultProxy, RequestFilter, Targeting};
use lakeport_testkit::{TestBucket, TestS3};
use serde_json::Value;

fn csv(ids: std::ops::Range<i64>) -> String {
    let mut s = String::from("id,amount\n");
    for i in ids {
        s.push_str(&format!("{i},{}\n", i * 3));
    }
    s
}

fn json(dir: &std::path::Path, pool: &str, args: &[&str]) -> Value {
    let mut all = vec!["-p", pool];
    all.extend_from_slice(args);
    all.push("--json");
    serde_json::from_str(&stdout(dir, &[], &all)).unwrap()
}

/// `count(*)`, `count(DISTINCT id)`, `sum(amount)` of the table, as `lakeport query` reads it.
fn counts(dir: &std::path::Path, pool: &str) -> (i64, i64, i64) {
    let out = json(dir, pool, &["query", "SELECT count(*) AS n, count(DISTINCT id) AS d, sum(amount) AS s FROM events"]);
    let get = |k: &str| out[0][k].as_i64().unwrap_or_else(|| panic!("{out}"));
    (get("n"), get("d"), get("s"))
}

fn expected(upto: i64) -> (i64, i64, i64) {
    (upto, upto, (0..upto).map(|i| i * 3).sum())
}

/// The table read by pyiceberg through the catalog directly (not through the proxy): rows, sum.
fn pyiceberg(endpoint: &str, pool: &str) -> (i64, i64) {
    let py = std::env::var("LAKEPORT_TEST_PYTHON").expect("LAKEPORT_TEST_PYTHON: run with ./scripts/test.sh");
    let o = Command::new(py)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/read_rest_pool.py"))
        .args([endpoint, pool, "events", "amount"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let read: Value = serde_json::from_slice(&o.stdout).unwrap();
    (read["rows"].as_i64().unwrap(), read["sum"].as_i64().unwrap())
}

/// The table's data files in the warehouse bucket.
async fn data_files(warehouse: &TestBucket, pool: &str) -> Vec<String> {
    let prefix = format!("pools/{pool}/events/data/");
    warehouse.fingerprint().await.into_iter().map(|(k, _)| k).filter(|k| k.starts_with(&prefix)).collect()
}

/// The next `updateTable` call (and only it) gets `fault`.
fn break_next_commit(proxy: &FaultProxy, fault: Fault) {
    let only = RequestFilter::parse("POST:/iceberg/v1/**/namespaces/*/tables/*").unwrap();
    proxy.set_faults(1.0, Targeting { only: Some(only), fault: Some(fault), max_faults: Some(1) });
}

/// Runs a load that must fail with the commit outcome unknown; returns its output.
fn failing_load(dir: &std::path::Path, pool: &str, args: &[&str]) -> String {
    let mut all = vec!["-p", pool, "extract", "-c", "src", "--folder", "in", "--table", "events"];
    all.extend_from_slice(args);
    let o = lakeport(dir, &[], &all);
    let out = text(&o);
    assert!(!o.status.success(), "the load must fail: {out}");
    assert!(out.contains("table 'events'") && out.contains("did not say whether the commit went through"), "{out}");
    out
}

#[tokio::test]
async fn a_commit_whose_answer_is_lost_keeps_its_files_and_the_next_delta_ends_exact() {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let (proxy, _proxy_thread) = FaultProxy::start_on_thread(&endpoint, 1, 0.0);
    let src = s3.bucket("unknownsrc").await;
    let warehouse = s3.bucket("unknownwh").await;
    src.put("in/a.csv", csv(0..100)).await;
    src.put("in/b.csv", csv(100..200)).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pool = format!("unknown_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let location = format!("s3://{}/pools", warehouse.name);
    // Catalog calls through the proxy; the warehouse's S3 directly.
    let catalog = format!("{}/iceberg", proxy.endpoint);
    let (wkey, wsecret) = s3.user("gluewriter");
    let o = lakeport(
        d,
        &[("SECRET", wsecret.expose())],
        &[
            "pool", "create", &pool, "--catalog-url", &catalog, "--warehouse", "123456789012", "--location", &location,
            "--region", "us-east-1", "--access-key-id", &wkey, "--secret-env", "SECRET", "--endpoint", &endpoint,
            "--path-style", "--allow-http",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (rkey, rsecret) = s3.user("reader");
    let o = lakeport(
        d,
        &[("SECRET", rsecret.expose())],
        &[
            "-p", &pool, "connection", "add", "src", "--region", "us-east-1", "--bucket", &src.name, "--access-key-id",
            &rkey, "--secret-env", "SECRET", "--endpoint", &endpoint, "--path-style", "--allow-http",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let delta = |d: &std::path::Path| json(d, &pool, &["extract", "-c", "src", "--delta", "--folder", "in", "--table", "events"]);

    // 1. The connection breaks after the catalog got the whole commit (it applied it): the first
    //    full load's updateTable answer is cut off mid-body.
    break_next_commit(&proxy, Fault::ResetMidBody);
    failing_load(d, &pool, &[]);
    assert_eq!(proxy.stats.injected[Fault::ResetMidBody as usize].load(std::sync::atomic::Ordering::Relaxed), 1);
    let kept = data_files(&warehouse, &pool).await;
    assert!(!kept.is_empty(), "the load's data files are kept");
    assert_eq!(counts(d, &pool), expected(200), "the commit was applied, whole");
    assert_eq!(pyiceberg(&endpoint, &pool), (200, expected(200).2));
    // Every kept file is the table's: vacuum finds no orphan among them.
    let vacuum = json(d, &pool, &["pool", "vacuum", "--older-than-secs", "0"]);
    let removed: Vec<String> = vacuum["removed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert!(kept.iter().all(|k| !removed.iter().any(|r| r.ends_with(k.as_str()))), "{vacuum}");
    // The ledger has both objects: the next delta load has nothing to do.
    let again = delta(d);
    assert_eq!(again["rows"], 0, "{again}");
    assert_eq!(counts(d, &pool), expected(200));

    // 2. HTTP 500 from the gateway, which never forwarded the commit (not applied).
    src.put("in/c.csv", csv(200..250)).await;
    break_next_commit(&proxy, Fault::InternalError);
    let before = data_files(&warehouse, &pool).await;
    failing_load(d, &pool, &["--delta"]);
    let after = data_files(&warehouse, &pool).await;
    let orphans: Vec<&String> = after.iter().filter(|k| !before.contains(k)).collect();
    assert!(!orphans.is_empty(), "the load's data files are kept although the commit may not have happened");
    assert_eq!(counts(d, &pool), expected(200), "the commit was not applied: the table as before");
    assert_eq!(pyiceberg(&endpoint, &pool), (200, expected(200).2));
    let retry = delta(d);
    assert_eq!(retry["rows"], 50, "{retry}");
    assert_eq!(counts(d, &pool), expected(250), "every row exactly once");
    // The unknown commit's files were never referenced: vacuum removes them, the table stays.
    let vacuum = json(d, &pool, &["pool", "vacuum", "--older-than-secs", "0"]);
    let removed = vacuum["removed"].to_string();
    assert!(orphans.iter().all(|k| removed.contains(k.as_str())), "{vacuum}");
    assert_eq!(counts(d, &pool), expected(250));

    // 3. HTTP 504 after the commit was forwarded and applied.
    src.put("in/d.csv", csv(250..300)).await;
    break_next_commit(&proxy, Fault::GatewayTimeout);
    failing_load(d, &pool, &["--delta"]);
    assert_eq!(counts(d, &pool), expected(300), "the commit was applied, whole");
    assert_eq!(pyiceberg(&endpoint, &pool), (300, expected(300).2));
    let again = delta(d);
    assert_eq!(again["rows"], 0, "{again}");
    assert_eq!(counts(d, &pool), expected(300), "every row exactly once");
    println!("proxy: {}", proxy.stats.summary());
}
