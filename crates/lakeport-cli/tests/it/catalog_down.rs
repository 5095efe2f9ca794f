//! One REST-catalog pool whose catalog is down does not take the pool directory's other pools
//! with it: `pool list` lists every pool (that one with why its tables were not counted), and the
//! headless scheduler starts (its job recovery asks no catalog) and runs the embedded pool's due
//! extraction. The catalog goes down for real: the REST pool was created through
//! lakeport-faultproxy in front of the test server's catalog, and the proxy is then shut down, so
//! the catalog's address refuses connections.

use crate::common;

use common::{lakeport, ok, stdout, text};
use lakeport_faultproxy::FaultProxy;
use lakeport_testkit::TestS3;
use serde_json::Value;

#[tokio::test]
async fn a_rest_catalog_that_is_down_hides_no_other_pool_and_stops_no_schedule() {
    let s3 = TestS3::from_env();
    let (proxy, proxy_thread) = FaultProxy::start_on_thread(&s3.endpoint, 1, 0.0);
    let src = s3.bucket("downsrc").await;
    src.put("in/a.csv", "id,amount\n1,10\n2,20\n").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // The embedded pool `default`, with a source connection and an extraction on a schedule.
    ok(d, &[], &["pool", "create", "default"]);
    let (rkey, rsecret) = s3.user("reader");
    ok(
        d,
        &[("SECRET", rsecret.expose())],
        &["connection", "add", "src", "--region", "us-east-1", "--bucket", &src.name, "--access-key-id", &rkey, "--secret-env", "SECRET", "--endpoint", &s3.endpoint, "--path-style", "--allow-http"],
    );
    ok(d, &[], &["extraction", "create", "nightly", "-c", "src", "--folder", "in", "--table", "nightly", "--delta", "--schedule", "0 3 * * *"]);

    // The REST-catalog pool, its catalog reached through the proxy (its files on S3 directly).
    let rest = s3.rest_pool("down").await;
    let mut args = vec!["pool".to_string(), "create".into(), rest.name.clone()];
    let mut create = rest.create_args("CATALOG_SECRET");
    let at = create.iter().position(|a| a == "--catalog-url").unwrap() + 1;
    create[at] = format!("{}/iceberg", proxy.endpoint);
    args.extend(create);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(d, &[("CATALOG_SECRET", rest.secret.expose())], &args);
    let listed: Value = serde_json::from_str(&stdout(d, &[], &["pool", "list", "--json"])).unwrap();
    let far = listed.as_array().unwrap().iter().find(|p| p["name"] == rest.name.as_str()).cloned().unwrap();
    assert_eq!((far["tables"].as_u64(), far.get("catalog_error")), (Some(0), None), "{listed}");

    // The catalog goes down.
    proxy_thread.stop();
    let o = lakeport(d, &[], &["-p", &rest.name, "tables"]);
    assert!(!o.status.success(), "the REST pool's tables cannot be listed with its catalog down: {}", text(&o));

    // `pool list`: both pools; the REST one without a table count, and why.
    let listed: Value = serde_json::from_str(&stdout(d, &[], &["pool", "list", "--json"])).unwrap();
    let pools = listed.as_array().unwrap();
    assert_eq!(pools.len(), 2, "{listed}");
    let local = pools.iter().find(|p| p["name"] == "default").unwrap();
    assert_eq!((local["tables"].as_u64(), local.get("catalog_error")), (Some(0), None), "{listed}");
    let far = pools.iter().find(|p| p["name"] == rest.name.as_str()).unwrap();
    assert!(far["tables"].is_null(), "{listed}");
    let why = far["catalog_error"].as_str().unwrap_or_else(|| panic!("no catalog_error: {listed}"));
    assert!(why.contains(&format!("{}/iceberg", proxy.endpoint)) && why.contains("cannot connect") && !why.contains(rest.secret.expose()), "{why}");
    let o = lakeport(d, &[], &["pool", "list"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let row = out.lines().find(|l| l.starts_with(&rest.name)).unwrap_or_else(|| panic!("{out}"));
    assert!(row.split_whitespace().nth(1) == Some("?") && row.contains(&format!("REST {}/iceberg", proxy.endpoint)), "{out}");
    assert!(out.contains(&format!("pool '{}': its tables could not be counted: ", rest.name)), "{out}");
    assert!(out.lines().any(|l| l.starts_with("default ")), "{out}");

    // The headless scheduler starts (its recovery of interrupted jobs lists pools without asking
    // a catalog) and runs the embedded pool's extraction, which was due an hour ago.
    common::make_extractions_due(d);
    let (runs, said) = common::run_scheduler_until_a_run_ends(d, "nightly");
    assert_eq!(runs.len(), 1, "the scheduler ran nothing: {runs:?}\n{said}");
    assert_eq!((runs[0]["status"].as_str(), runs[0]["rows"].as_u64()), (Some("succeeded"), Some(2)), "{runs:?}\n{said}");
    let q = ok(d, &[], &["query", "SELECT count(*) AS n, sum(amount) AS s FROM nightly", "--format", "csv"]);
    assert_eq!(q.lines().nth(1), Some("2,30"), "{q}");
}
