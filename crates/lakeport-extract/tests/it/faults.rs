//! Faults between lakeport and S3: a proxy answers 5% of requests with 503 SlowDown or 500,
//! resets or truncates bodies mid-way, or stalls. 20 extractions of 1,000 files: each one either
//! loads exactly every row once, or fails cleanly with the pool unchanged; at least 90% succeed.

use crate::common;

use common::setup;
use lakeport_extract::{ExtractRequest, Item};
use lakeport_faultproxy::FaultProxy;
use lakeport_core::ConnectionConfig;
use lakeport_pool::LoadMode;

const FILES: usize = 1000;
const ROWS_PER_FILE: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn extractions_through_faults_are_exact_or_clean_failures() {
    let env = setup("faults").await;
    futures::future::join_all((0..FILES).map(|f| {
        let b = &env.bucket;
        let body: String = std::iter::once("id,file,v\n".to_string()).chain((0..ROWS_PER_FILE).map(|r| format!("{},{f},{r}.5\n", f * ROWS_PER_FILE + r))).collect();
        async move { b.put(&format!("many/part-{f:05}.csv"), body).await }
    }))
    .await;

    let seed = std::env::var("FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261125);
    let proxy = FaultProxy::start(&env.s3.endpoint, seed, 0.05).await;
    let (key, secret) = env.s3.user("reader");
    let mut config = env.s3.config(&env.bucket.name, &key);
    config.endpoint = Some(proxy.endpoint.clone());
    env.pool.add_connection("flaky", ConnectionConfig::S3Extraction(config), Some(&secret)).await.unwrap();

    let expected = (FILES * ROWS_PER_FILE) as i64;
    let (mut ok, mut failed) = (0, 0);
    for run in 0..20 {
        let before = env.state().await;
        let mut req = ExtractRequest::new(vec![Item::folder("many/")], LoadMode::Full);
        req.concurrency = Some(8);
        match lakeport_core::runs::extract(&env.pool, "flaky", &req, std::sync::Arc::new(lakeport_extract::NoProgress)).await {
            Ok(report) => {
                assert_eq!(report.rows as i64, expected, "run {run}");
                assert_eq!(env.scalar("SELECT count(*) FROM many").await, expected, "run {run}: rows in the table");
                assert_eq!(env.scalar("SELECT count(DISTINCT id) FROM many").await, expected, "run {run}: duplicated rows");
                ok += 1;
            }
            Err(e) => {
                println!("run {run} failed cleanly: {e}");
                assert_eq!(env.state().await, before, "run {run}: a failed extraction changed the pool");
                failed += 1;
            }
        }
    }
    println!("faults (seed {seed}): {ok} of 20 extractions exact, {failed} failed cleanly; {}", proxy.stats.summary());
    assert!(proxy.stats.injected_total() > 500, "faults were really injected: {}", proxy.stats.summary());
    assert!(ok >= 18, "{ok} of 20 succeeded; at least 90% must");
    assert!(proxy.stats.resumed_reads.load(std::sync::atomic::Ordering::Relaxed) > 0, "broken bodies were resumed with ranged reads");
}
