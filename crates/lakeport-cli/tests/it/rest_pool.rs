//! A REST-catalog pool end to end: the pool's tables in the test server's Glue-style Iceberg REST
//! catalog (ministack, AUTH=true: every call SigV4-signed as an IAM user, the signature checked),
//! its files in the server's S3; full and delta loads with the ledger, `tables`, `query`, `pool
//! vacuum`, and pyiceberg reading the committed table through the same catalog.
//!
//! Limits of the test server (TESTING.md), which nothing in lakeport relies on: state is in
//! memory only; the catalog writes each metadata JSON under
//! `s3://ministack-glue-warehouse/<ns>/<table>/metadata/` whatever the table's location (data,
//! manifests and ledger files do go under the pool's `--location`); DropTable and rename answer
//! 501; `remove-snapshots` is accepted and ignored; no pagination; the signature's scope
//! (signing name, region) is not checked — lakeport-aws's `catalog.rs` unit test checks that
//! `glue` is what the signer uses.

use crate::common;

use std::process::Command;

use common::{lakeport, stdout, text};
use lakeport_testkit::TestS3;
use serde_json::Value;

fn unique(label: &str) -> String {
    format!(
        "{label}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

fn csv(ids: std::ops::Range<i64>, factor: i64) -> String {
    let mut s = String::from("id,amount\n");
    for i in ids {
        s.push_str(&format!("{i},{}\n", i * factor));
    }
    s
}

/// `lakeport -p POOL connection add src …`: the extraction connection `src` to `bucket` on the
/// test server, as the IAM user whose keys are given; must succeed.
fn add_source(dir: &std::path::Path, pool: &str, bucket: &str, endpoint: &str, key: &str, secret: &str) {
    let o = lakeport(
        dir,
        &[("SECRET", secret)],
        &[
            "-p", pool, "connection", "add", "src", "--region", "us-east-1", "--bucket", bucket, "--access-key-id", key, "--secret-env", "SECRET",
            "--endpoint", endpoint, "--path-style", "--allow-http",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
}

fn json(dir: &std::path::Path, pool: &str, args: &[&str]) -> Value {
    let mut all = vec!["-p", pool];
    all.extend_from_slice(args);
    all.push("--json");
    serde_json::from_str(&stdout(dir, &[], &all)).unwrap()
}

/// One row, one column of `lakeport query … --json`.
fn scalar(dir: &std::path::Path, pool: &str, sql: &str) -> i64 {
    let out = json(dir, pool, &["query", sql]);
    out[0]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_i64()
        .unwrap_or_else(|| panic!("{out}"))
}

#[tokio::test]
async fn rest_catalog_pool_loads_delta_queries_vacuums_and_other_engines_read_it() {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let catalog = format!("{endpoint}/iceberg");
    let src = s3.bucket("restsrc").await;
    let warehouse = s3.bucket("restwh").await;
    src.put("in/a.csv", csv(0..100, 1)).await;
    src.put("in/b.csv", csv(100..200, 1)).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pool = unique("lake");
    let location = format!("s3://{}/pools", warehouse.name);

    // The pool: tables in the REST catalog, signed as an IAM user that may write it.
    let (wkey, wsecret) = s3.user("gluewriter");
    let create = [
        "pool",
        "create",
        &pool,
        "--catalog-url",
        &catalog,
        "--warehouse",
        "123456789012",
        "--location",
        &location,
        "--region",
        "us-east-1",
    ];
    let s3_flags = [
        "--endpoint",
        endpoint.as_str(),
        "--path-style",
        "--allow-http",
    ];
    // A wrong secret: refused by the catalog, and no pool stays behind.
    let mut args = create.to_vec();
    args.extend(["--access-key-id", &wkey, "--secret-env", "SECRET"]);
    args.extend(s3_flags);
    let o = lakeport(d, &[("SECRET", "not-the-secret")], &args);
    assert!(
        !o.status.success() && text(&o).contains("signature mismatch"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("not-the-secret"));
    assert_eq!(stdout(d, &[], &["pool", "list", "--json"]).trim(), "[]");
    let o = lakeport(d, &[("SECRET", wsecret.expose())], &args);
    assert!(o.status.success(), "{}", text(&o));

    // An extraction connection of the pool (its state stays in the local pool directory).
    let (rkey, rsecret) = s3.user("reader");
    add_source(d, &pool, &src.name, &endpoint, &rkey, rsecret.expose());

    // Full load.
    let full = json(
        d,
        &pool,
        &[
            "extract", "-c", "src", "--folder", "in", "--table", "events",
        ],
    );
    assert_eq!(full["rows"], 200, "{full}");
    let tables = json(d, &pool, &["tables"]);
    assert_eq!(tables[0]["name"], "events", "{tables}");
    assert_eq!(tables[0]["rows"], 200, "{tables}");
    assert!(
        tables[0]["location"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{location}/{pool}/events")),
        "{tables}"
    );
    assert_eq!(
        scalar(d, &pool, "SELECT sum(amount) FROM events"),
        (0..200).sum::<i64>()
    );

    // Delta: a new object is appended, a changed one replaced, the unchanged one skipped.
    src.put("in/c.csv", csv(200..250, 1)).await;
    src.put("in/a.csv", csv(0..100, 2)).await;
    let delta = json(
        d,
        &pool,
        &[
            "extract", "-c", "src", "--delta", "--folder", "in", "--table", "events",
        ],
    );
    assert_eq!(delta["rows"], 150, "{delta}");
    assert_eq!(delta["tables"][0]["unchanged"], 1, "{delta}");
    let expected = (0..100).map(|i| i * 2).sum::<i64>() + (100..250).sum::<i64>();
    assert_eq!(scalar(d, &pool, "SELECT sum(amount) FROM events"), expected);
    assert_eq!(scalar(d, &pool, "SELECT count(*) FROM events"), 250);
    assert_eq!(
        scalar(d, &pool, "SELECT count(DISTINCT id) FROM events"),
        250,
        "nothing loaded twice"
    );
    // Again: nothing new, nothing loaded.
    let again = json(
        d,
        &pool,
        &[
            "extract", "-c", "src", "--delta", "--folder", "in", "--table", "events",
        ],
    );
    assert_eq!(again["rows"], 0, "{again}");
    assert_eq!(scalar(d, &pool, "SELECT count(*) FROM events"), 250);

    // Another engine through the same catalog: pyiceberg sees the committed table, one parent chain.
    let py = std::env::var("LAKEPORT_TEST_PYTHON")
        .expect("LAKEPORT_TEST_PYTHON: run with ./scripts/test.sh");
    let o = Command::new(py)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testing/read_rest_pool.py"
        ))
        .args([endpoint.as_str(), &pool, "events", "amount"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let read: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(read["rows"], 250, "{read}");
    assert_eq!(read["sum"], expected, "{read}");
    assert_eq!(read["columns"]["id"], "int64", "{read}");
    let snapshots = read["snapshots"].as_array().unwrap();
    assert!(snapshots.len() >= 2, "{read}");
    assert!(snapshots[0][1].is_null(), "{read}");
    for pair in snapshots.windows(2) {
        assert_eq!(pair[1][1], pair[0][0], "one parent chain: {read}");
    }

    // Vacuum: an orphan under the pool's location goes, everything referenced stays.
    let orphan_key = format!("pools/{pool}/events/data/orphan-from-a-killed-load.parquet");
    warehouse.put(&orphan_key, "not parquet").await;
    let vacuum = json(d, &pool, &["pool", "vacuum", "--older-than-secs", "0"]);
    assert_eq!(
        vacuum["removed"],
        serde_json::json!([format!("s3://{}/{orphan_key}", warehouse.name)]),
        "{vacuum}"
    );
    assert!(vacuum["files_kept"].as_u64().unwrap() >= 4, "{vacuum}");
    assert_eq!(scalar(d, &pool, "SELECT sum(amount) FROM events"), expected);

    // The catalog secret: stored 0600 beside connection secrets, nowhere else, never shown.
    let secret_file = d.join(format!("secrets/{pool}/.catalog.secret"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    for entry in lakeport_testkit::files_under(d) {
        if entry != secret_file {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes
                    .windows(wsecret.expose().len())
                    .any(|w| w == wsecret.expose().as_bytes()),
                "secret found in {}",
                entry.display()
            );
        }
    }
    let pools = stdout(d, &[], &["pool", "list", "--json"]);
    assert!(
        pools.contains(&pool) && !pools.contains(wsecret.expose()),
        "{pools}"
    );
}

/// A second machine joins a REST-catalog pool another one created: its own pool directory
/// (connections, secrets, jobs stay on each machine), the same catalog, namespace and tables.
/// `--join` refuses a namespace that does not exist (a mistyped name starts no second pool);
/// without it, an existing namespace is joined as well, and the output says so.
#[tokio::test]
async fn a_second_machine_joins_an_existing_rest_pool() {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let catalog = format!("{endpoint}/iceberg");
    let src = s3.bucket("joinsrc").await;
    let warehouse = s3.bucket("joinwh").await;
    src.put("in/a.csv", csv(0..100, 1)).await;
    let pool = unique("shared");
    let location = format!("s3://{}/pools", warehouse.name);
    let (wkey, wsecret) = s3.user("gluewriter");
    let (rkey, rsecret) = s3.user("reader");
    let env = [("SECRET", wsecret.expose())];
    let create = |name: &str, join: bool| {
        let mut args = vec![
            "pool".to_string(),
            "create".into(),
            name.into(),
            "--catalog-url".into(),
            catalog.clone(),
            "--warehouse".into(),
            "123456789012".into(),
            "--location".into(),
            location.clone(),
            "--region".into(),
            "us-east-1".into(),
            "--access-key-id".into(),
            wkey.clone(),
            "--secret-env".into(),
            "SECRET".into(),
            "--endpoint".into(),
            endpoint.clone(),
            "--path-style".into(),
            "--allow-http".into(),
        ];
        if join {
            args.push("--join".into());
        }
        args
    };
    let run = |dir: &std::path::Path, args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        lakeport(dir, &env, &args)
    };
    let add_src = |dir: &std::path::Path| add_source(dir, &pool, &src.name, &endpoint, &rkey, rsecret.expose());

    // Machine A creates the pool and loads a table.
    let a = tempfile::tempdir().unwrap();
    let mut args = create(&pool, false);
    args.push("--json".into());
    let o = run(a.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let created: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(created["joined"], false, "{created}");
    add_src(a.path());
    let full = json(
        a.path(),
        &pool,
        &[
            "extract", "-c", "src", "--folder", "in", "--table", "events",
        ],
    );
    assert_eq!(full["rows"], 100, "{full}");

    // Machine B: --join of a name the catalog does not have is refused, and leaves nothing.
    let b = tempfile::tempdir().unwrap();
    let missing = unique("typo");
    let o = run(b.path(), &create(&missing, true));
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("no namespace '{missing}' to join")),
        "{}",
        text(&o)
    );
    assert_eq!(
        stdout(b.path(), &[], &["pool", "list", "--json"]).trim(),
        "[]"
    );
    assert!(!b
        .path()
        .join(format!("secrets/{missing}"))
        .join(".catalog.secret")
        .exists());
    // … and the catalog got no namespace of that name: a later --join still finds none.
    let o = run(b.path(), &create(&missing, true));
    assert!(!o.status.success(), "{}", text(&o));

    // Machine B joins the pool: A's table is there; B's own connection loads into it.
    let o = run(b.path(), &create(&pool, true));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("Joined pool '{pool}'")) && text(&o).contains("(1 table(s))"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains(wsecret.expose()));
    let tables = json(b.path(), &pool, &["tables"]);
    assert_eq!(tables[0]["name"], "events", "{tables}");
    assert_eq!(tables[0]["rows"], 100, "{tables}");
    let conns = json(b.path(), &pool, &["connection", "list"]);
    assert_eq!(
        conns.as_array().unwrap().len(),
        0,
        "B's connections are B's own: {conns}"
    );
    add_src(b.path());
    src.put("in/b.csv", csv(100..180, 1)).await;
    let delta = json(
        b.path(),
        &pool,
        &[
            "extract", "-c", "src", "--delta", "--folder", "in", "--table", "events",
        ],
    );
    // B's ledger is the table's: a.csv, loaded by A, is not loaded again.
    assert_eq!(delta["rows"], 80, "{delta}");
    assert_eq!(scalar(a.path(), &pool, "SELECT count(*) FROM events"), 180);
    assert_eq!(
        scalar(a.path(), &pool, "SELECT count(DISTINCT id) FROM events"),
        180
    );

    // Machine C, without --join: the existing namespace is joined all the same, and said so.
    let c = tempfile::tempdir().unwrap();
    let mut args = create(&pool, false);
    args.push("--json".into());
    let o = run(c.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let joined: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(joined["joined"], true, "{joined}");
    assert_eq!(
        scalar(c.path(), &pool, "SELECT sum(amount) FROM events"),
        (0..180).sum::<i64>()
    );
}
