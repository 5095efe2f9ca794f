//! Zero-copy against a catalog that changes between queries: schema evolution without new data,
//! tables and namespaces that appear and disappear. The Glue-style Iceberg REST catalog of the
//! test server (ministack, SigV4, IAM enforced); pyiceberg changes the tables and reads them for
//! comparison (testing/iceberg_evolve.py).

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{lakeport, stdout as ok, text};
use lakeport_testkit::TestS3;
use serde_json::Value;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run with ./scripts/test.sh"))
}

/// Runs testing/iceberg_evolve.py with the test server's endpoint; returns its JSON.
fn evolve(endpoint: &str, args: &[&str]) -> Value {
    let o = Command::new(var("LAKEPORT_TEST_PYTHON"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/iceberg_evolve.py"))
        .arg(endpoint)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "iceberg_evolve.py {args:?}: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn unique(label: &str) -> String {
    format!("{label}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// A pool with zero-copy connection `lake` (the key of the IAM user with the spec's permissions).
async fn pool_with_lake(s3: &TestS3, dir: &Path) {
    let endpoint = s3.endpoint.as_str();
    let catalog = format!("{endpoint}/iceberg");
    ok(dir, &[], &["pool", "create", "default"]);
    let (key, secret) = s3.user("glue");
    ok(
        dir,
        &[("SECRET", secret.expose())],
        &[
            "connection", "add", "lake", "--zero-copy", "--region", "us-east-1", "--warehouse", "123456789012", "--catalog-url", &catalog, "--endpoint", endpoint,
            "--path-style", "--allow-http", "--access-key-id", &key, "--secret-env", "SECRET", "--skip-test",
        ],
    );
}

/// One test's lake: a namespace made by `iceberg_evolve.py <create> <ns> <table>`, and a pool
/// (in `dir`) whose connection `lake` shares that namespace.
struct SharedLake {
    s3: TestS3,
    endpoint: String,
    ns: String,
    dir: tempfile::TempDir,
}

async fn shared_lake(label: &str, create: &str, table: &str) -> SharedLake {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let ns = unique(label);
    evolve(&endpoint, &[create, &ns, table]);
    let dir = tempfile::tempdir().unwrap();
    pool_with_lake(&s3, dir.path()).await;
    ok(dir.path(), &[], &["connection", "shares", "lake", "--add", &ns]);
    SharedLake { s3, endpoint, ns, dir }
}

fn query_json(dir: &Path, sql: &str) -> Value {
    serde_json::from_str(&ok(dir, &[], &["query", sql, "--json"])).unwrap()
}

/// Numbers compared by value: integral ones as integers (Python writes 1.0 where Rust may write 1),
/// others at f32 precision (a float column before it is widened: pyiceberg prints the f32 widened
/// to f64, 1.100000023841858, Rust the shortest f32 form, 1.1).
fn normalised(v: &Value) -> Value {
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => serde_json::json!(i),
            (None, Some(x)) if x.fract() == 0.0 && x.abs() < 9.0e15 => serde_json::json!(x as i64),
            (None, Some(x)) => serde_json::json!((x as f32) as f64),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(normalised).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), normalised(v))).collect()),
        other => other.clone(),
    }
}

/// Rows equal to pyiceberg's, reporting the first row that differs (not all of them).
fn assert_rows(got: &Value, want: &Value, context: &str) {
    let (got, want) = (got.as_array().unwrap(), want.as_array().unwrap());
    assert_eq!(got.len(), want.len(), "{context}: row count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(normalised(g), normalised(w), "{context}: lakeport's row (left) differs from pyiceberg's (right)");
    }
}

#[tokio::test]
async fn every_schema_evolution_step_without_new_data_reads_as_pyiceberg_does() {
    let SharedLake { endpoint, ns, dir, .. } = shared_lake("evo", "create", "items").await;
    let d = dir.path();
    let t = format!("lake.{ns}.items");

    for step in ["add", "rename", "widen-int", "widen-float", "widen-decimal", "drop", "reorder", "optional"] {
        let schema = evolve(&endpoint, &["evolve", &ns, "items", step]);
        let expected = evolve(&endpoint, &["read", &ns, "items"]);
        // Every row and column, in the current schema's order, as pyiceberg reads them.
        let all = query_json(d, &format!("SELECT * FROM {t} ORDER BY id"));
        assert_rows(&all, &expected, &format!("after {step} (schema {schema})"));
        let header = ok(d, &[], &["query", &format!("SELECT * FROM {t} LIMIT 1"), "--format", "csv"]);
        let names: Vec<&str> = header.lines().next().unwrap().split(',').collect();
        let want: Vec<&str> = schema.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, want, "after {step}: columns in the current schema's order");
        // Aggregates over the changed columns (the panic of issue 18 was `sum(qty)` after a widening).
        let sums = query_json(d, &format!("SELECT sum(qty) AS q, sum(price) AS p, sum(amount) AS a, count(*) AS n FROM {t}"));
        let want_q: i64 = expected.as_array().unwrap().iter().filter_map(|r| r["qty"].as_i64()).sum();
        assert_eq!(sums[0]["q"].as_i64(), Some(want_q), "after {step}: {sums}");
        assert_eq!(sums[0]["n"].as_i64(), Some(100), "after {step}: {sums}");
    }
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let o = lakeport(dir, &[], args);
    assert!(!o.status.success(), "lakeport {args:?} should fail:\n{}", text(&o));
    text(&o)
}

fn count(dir: &Path, table: &str) -> i64 {
    query_json(dir, &format!("SELECT count(*) AS n FROM {table}"))[0]["n"].as_i64().unwrap()
}

#[tokio::test]
async fn tables_and_namespaces_that_appear_and_disappear() {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    // A namespace share (whole namespace) and a table share in another namespace; the second
    // namespace has capitals and a dash, so its SQL names need quotes.
    let a = unique("mkt");
    let b = format!("Sales-{}", unique("EU"));
    evolve(&endpoint, &["create", &a, "t1"]);
    evolve(&endpoint, &["create", &b, "Campaign-Stats"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pool_with_lake(&s3, d).await;
    ok(d, &[], &["connection", "shares", "lake", "--add", &a]);
    let listed = ok(d, &[], &["connection", "shares", "lake", "--add", &format!("{b}.Campaign-Stats")]);
    let quoted = format!("lake.\"{b}\".\"Campaign-Stats\"");
    assert!(listed.contains(&quoted), "printed SQL names are quoted so that they parse: {listed}");
    assert_eq!(count(d, &quoted), 100);
    // A table inside a shared namespace is already shared: refused as a second share.
    let e = fails(d, &["connection", "shares", "lake", "--add", &format!("{a}.t1")]);
    assert!(e.contains("already shared through the namespace share"), "{e}");

    // A table created in the shared namespace is queryable on the next query, no refresh.
    evolve(&endpoint, &["create", &a, "t2"]);
    assert_eq!(count(d, &format!("lake.{a}.t2")), 100);
    let listed = ok(d, &[], &["connection", "shares", "lake"]);
    assert!(listed.contains(&format!("new in the source (queryable): lake.{a}.t2")), "{listed}");

    // Not shared vs does not exist.
    evolve(&endpoint, &["create", &b, "other"]);
    let e = fails(d, &["query", &format!("SELECT * FROM lake.\"{b}\".other")]);
    assert!(e.contains("exists in the source catalog but is not shared") && e.contains(&format!("--add {b}.other")), "{e}");
    let e = fails(d, &["query", &format!("SELECT * FROM lake.{a}.nope")]);
    assert!(e.contains(&format!("table lake.{a}.nope does not exist in the source catalog")) && e.contains("t1, t2"), "{e}");
    let e = fails(d, &["query", "SELECT * FROM lake.no_such_namespace.t"]);
    assert!(e.contains("the source catalog has no namespace no_such_namespace"), "{e}");

    // A table removed in the source: the query says so; `shares` and `namespaces` mark it gone.
    evolve(&endpoint, &["drop-table", &a, "t1"]);
    let e = fails(d, &["query", &format!("SELECT count(*) FROM lake.{a}.t1")]);
    assert!(e.contains(&format!("table lake.{a}.t1 was removed from the source catalog")), "{e}");
    let listed = ok(d, &[], &["connection", "shares", "lake"]);
    assert!(listed.contains(&format!("GONE from the source: lake.{a}.t1")), "{listed}");
    // A whole namespace removed: its share is marked gone, and every other operation still works.
    evolve(&endpoint, &["drop-namespace", &b]);
    let listed = ok(d, &[], &["connection", "shares", "lake"]);
    assert!(listed.contains(&format!("{b}.Campaign-Stats")) && listed.contains("GONE: the table was removed from the source catalog"), "{listed}");
    let status: Value = serde_json::from_str(&ok(d, &[], &["connection", "shares", "lake", "--json"])).unwrap();
    let gone: Vec<bool> = status.as_array().unwrap().iter().map(|s| s["gone"].as_bool().unwrap()).collect();
    assert_eq!(gone.iter().filter(|g| **g).count(), 1, "{status}");
    let namespaces = ok(d, &[], &["connection", "namespaces", "lake"]);
    assert!(namespaces.contains(&format!("{b}  GONE")) && namespaces.contains("[x] t1  GONE"), "{namespaces}");
    let e = fails(d, &["query", &format!("SELECT count(*) FROM {quoted}")]);
    assert!(e.contains("was removed from the source catalog"), "{e}");

    // --refresh with a dead share present: refreshes the live one, keeps the dead one (gone).
    let refreshed = ok(d, &[], &["connection", "shares", "lake", "--refresh"]);
    assert!(refreshed.contains(&format!("lake.{a}.t2")) && !refreshed.contains("new in the source") && !refreshed.contains(&format!("lake.{a}.t1")), "{refreshed}");
    // --remove of the dead share works, and the live share still answers.
    let left = ok(d, &[], &["connection", "shares", "lake", "--remove", &format!("{b}.Campaign-Stats")]);
    assert!(!left.contains("GONE") && left.contains(&format!("lake.{a}.t2")), "{left}");
    assert_eq!(count(d, &format!("lake.{a}.t2")), 100);
    // Connection names that would collide in SQL are refused.
    let (key, secret) = s3.user("glue");
    let catalog = format!("{endpoint}/iceberg");
    for (name, says) in [("Lakeport", "the pool's own SQL catalog"), ("LAKE", "already exists"), ("La-Ke", "nothing"), ("la ke", "like the existing connection 'La-Ke'")] {
        let args = [
            "connection", "add", name, "--zero-copy", "--region", "us-east-1", "--warehouse", "123456789012", "--catalog-url", &catalog, "--endpoint", &endpoint,
            "--path-style", "--allow-http", "--access-key-id", &key, "--secret-env", "SECRET", "--skip-test",
        ];
        let o = lakeport(d, &[("SECRET", secret.expose())], &args);
        if says == "nothing" {
            assert!(o.status.success(), "{}", text(&o));
        } else {
            assert!(!o.status.success() && text(&o).contains(says), "{name}: {}", text(&o));
        }
    }
    // Adding what does not exist says so.
    let e = fails(d, &["connection", "shares", "lake", "--add", &b]);
    assert!(e.contains(&format!("namespace '{b}' does not exist in the catalog")), "{e}");
}

#[tokio::test]
async fn test_connection_checks_the_shared_tables_with_the_credentials_queries_use() {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let catalog = format!("{endpoint}/iceberg");
    let empty = unique("empty");
    let full = unique("full");
    evolve(&endpoint, &["create-empty", &empty, "nothing_yet"]);
    evolve(&endpoint, &["create", &full, "rows"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &[], &["pool", "create", "default"]);
    // A key without s3:GetObject, saved untested.
    let (key, secret) = s3.user("gluenos3");
    for (name, extra) in [("own", None), ("vended", Some("--vended-credentials"))] {
        let mut args = vec![
            "connection", "add", name, "--zero-copy", "--region", "us-east-1", "--warehouse", "123456789012", "--catalog-url", &catalog, "--endpoint", &endpoint,
            "--path-style", "--allow-http", "--access-key-id", &key, "--secret-env", "SECRET", "--skip-test",
        ];
        args.extend(extra);
        ok(d, &[("SECRET", secret.expose())], &args);
    }
    // Only an empty table shared: the read cannot be checked, and that is not a pass.
    ok(d, &[], &["connection", "shares", "own", "--add", &empty]);
    let o = lakeport(d, &[], &["connection", "test", "own"]);
    let out = text(&o);
    assert!(o.status.success() && out.contains("warn  s3:GetObject") && !out.contains("ok    s3:GetObject"), "{out}");
    assert!(out.contains(&format!("loaded {empty}.nothing_yet")), "the shared table is the one checked: {out}");
    // With a table that has data: the read is refused, named, and every check is still reported.
    ok(d, &[], &["connection", "shares", "own", "--add", &full]);
    let o = lakeport(d, &[], &["connection", "test", "own"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("FAIL  s3:GetObject") && out.contains(&format!("loaded {empty}.nothing_yet")) && out.contains(&format!("loaded {full}.rows")), "{out}");
    // The policy names the real region, account and bucket.
    assert!(!out.contains("warn  s3:GetObject"), "a refused read is not also 'not checked': {out}");
    assert!(out.contains("arn:aws:s3:::") && !out.contains("<bucket>") && !out.contains("<region>") && !out.contains("<account>"), "{out}");
    // With vended credentials, the reads use the catalog's credentials, as queries do: it passes.
    ok(d, &[], &["connection", "shares", "vended", "--add", &full]);
    let out = ok(d, &[], &["connection", "test", "vended"]);
    assert!(out.contains("ok    s3:GetObject") && out.contains("with the catalog's vended credentials") && out.contains("Connection OK."), "{out}");
    assert_eq!(count(d, &format!("vended.{full}.rows")), 100);

    // An STS that cannot be reached is not a trust-policy problem: no hint about it.
    let args = [
        "connection", "add", "unreachable", "--zero-copy", "--region", "us-east-1", "--warehouse", "123456789012", "--catalog-url", &catalog, "--endpoint", &endpoint,
        "--path-style", "--allow-http", "--role-arn", "arn:aws:iam::123456789012:role/r", "--external-id", "lakeport-x", "--sts-endpoint", "http://127.0.0.1:1",
    ];
    let o = lakeport(d, &[], &args);
    let out = text(&o);
    assert!(o.status.code() == Some(2) && out.contains("FAIL  sts:AssumeRole") && !out.contains("trust policy"), "{out}");
    assert!(out.contains("skip  glue:GetCatalog"), "the later checks are reported as skipped: {out}");
}

#[tokio::test]
async fn snapshots_are_listed_and_time_travel_takes_dates_and_zone_less_times_as_utc() {
    // A mixed-case namespace (`Hist-x_…`): the SQL name needs quotes.
    let SharedLake { ns, dir, .. } = shared_lake("Hist-x", "create", "items").await;
    let d = dir.path();
    let t = format!("lake.\"{ns}\".items");
    let snaps: Value = serde_json::from_str(&ok(d, &[], &["snapshots", &t, "--json"])).unwrap();
    let snaps = snaps.as_array().unwrap();
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    assert_eq!((snaps[0]["operation"].as_str(), snaps[0]["added_rows"].as_u64(), snaps[0]["total_rows"].as_u64()), (Some("append"), Some(50), Some(50)));
    assert_eq!((snaps[1]["total_rows"].as_u64(), snaps[1]["current"].as_bool(), snaps[0]["current"].as_bool()), (Some(100), Some(true), Some(false)));
    let listed = ok(d, &[], &["snapshots", &t]);
    assert!(listed.contains("committed (UTC)") && listed.contains("current"), "{listed}");

    // Time travel: a zone-less time is UTC; a date alone is its 00:00 UTC.
    let first: chrono::DateTime<chrono::Utc> = snaps[0]["committed_at"].as_str().unwrap().parse().unwrap();
    let second: chrono::DateTime<chrono::Utc> = snaps[1]["committed_at"].as_str().unwrap().parse().unwrap();
    let at = |when: String| format!("lake.\"{ns}\".\"items@{when}\"");
    if second > first {
        assert_eq!(count(d, &at(first.format("%Y-%m-%d %H:%M:%S%.3f").to_string())), 50);
    }
    assert_eq!(count(d, &at(second.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())), 100);
    let tomorrow = (second + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    assert_eq!(count(d, &at(tomorrow)), 100);
    let today = second.format("%Y-%m-%d").to_string();
    let e = fails(d, &["query", &format!("SELECT count(*) FROM {}", at(today))]);
    assert!(e.contains("has no snapshot as old as"), "{e}");
    let e = fails(d, &["snapshots", &format!("lake.\"{ns}\".nope")]);
    assert!(e.contains("is not shared") || e.contains("does not exist"), "{e}");
}

#[tokio::test]
async fn connection_update_tests_first_keeps_the_shares_and_changes_nothing_when_the_test_fails() {
    let SharedLake { s3, endpoint, ns, dir } = shared_lake("upd", "create", "items").await;
    let d = dir.path();
    let t = format!("lake.{ns}.items");
    let before: Value = serde_json::from_str(&ok(d, &[], &["connection", "show", "lake", "--json"])).unwrap();
    let secret_file = d.join("secrets/default/lake.secret");
    let stored_secret = std::fs::read(&secret_file).unwrap();

    // A key without s3:GetObject: the test (on the shared table) fails, and nothing changes.
    let (nos3, nos3_secret) = s3.user("gluenos3");
    let o = lakeport(d, &[("NEW", nos3_secret.expose())], &["connection", "update", "lake", "--access-key-id", &nos3, "--secret-env", "NEW"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("FAIL  s3:GetObject") && out.contains("Not updated") && out.contains("auth.access_key_id, secret"), "{out}");
    let after: Value = serde_json::from_str(&ok(d, &[], &["connection", "show", "lake", "--json"])).unwrap();
    assert_eq!(after, before, "a failed test changes neither settings nor shares");
    assert_eq!(std::fs::read(&secret_file).unwrap(), stored_secret, "nor the secret");
    assert_eq!(count(d, &t), 100);

    // Switching to the assumed role (External ID): tested, saved, the key's secret deleted, shares kept.
    let role = var("LAKEPORT_TEST_ROLE_ARN");
    let external_id = var("LAKEPORT_TEST_EXTERNAL_ID");
    let o = lakeport(d, &[], &["connection", "update", "lake", "--role-arn", &role, "--external-id", "wrong-id", "--sts-endpoint", &endpoint]);
    assert!(o.status.code() == Some(2) && text(&o).contains("FAIL  sts:AssumeRole"), "{}", text(&o));
    assert_eq!(std::fs::read(&secret_file).unwrap(), stored_secret);
    let out = ok(d, &[], &["connection", "update", "lake", "--role-arn", &role, "--external-id", &external_id, "--sts-endpoint", &endpoint]);
    assert!(out.contains("ok    sts:AssumeRole") && out.contains("Updated connection 'lake'") && out.contains("its 1 share(s) are kept"), "{out}");
    assert!(!secret_file.exists(), "an assumed role keeps no secret");
    let shown: Value = serde_json::from_str(&ok(d, &[], &["connection", "show", "lake", "--json"])).unwrap();
    assert_eq!((shown["config"]["auth"]["method"].as_str(), shown["config"]["auth"]["external_id"].as_str()), (Some("assume-role"), Some(external_id.as_str())));
    assert_eq!(shown["shares"], before["shares"]);
    assert_eq!(count(d, &t), 100);
    // Only the External ID: the role ARN and everything else stay.
    let o = lakeport(d, &[], &["connection", "update", "lake", "--external-id", "another-wrong-id"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let shown: Value = serde_json::from_str(&ok(d, &[], &["connection", "show", "lake", "--json"])).unwrap();
    assert_eq!(shown["config"]["auth"]["external_id"].as_str(), Some(external_id.as_str()));
    // Back to the key: it needs the secret.
    let (key, secret) = s3.user("glue");
    let e = fails(d, &["connection", "update", "lake", "--access-key-id", &key]);
    assert!(e.contains("needs its secret"), "{e}");
    ok(d, &[("S", secret.expose())], &["connection", "update", "lake", "--access-key-id", &key, "--secret-env", "S"]);
    // A wrong S3 endpoint fails the read check; the queries keep the working one.
    let o = lakeport(d, &[], &["connection", "update", "lake", "--endpoint", "http://127.0.0.1:1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(count(d, &t), 100);
    // A setting the type does not have is refused, not ignored.
    let e = fails(d, &["connection", "update", "lake", "--bucket", "x"]);
    assert!(e.contains("has no setting 'bucket'"), "{e}");
}

/// `123.45` as thousandths (exact; the test's own decimal comparison).
fn milli(text: &str) -> i128 {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let neg = int.starts_with('-');
    let frac = format!("{frac:0<3}");
    let v = int.trim_start_matches('-').parse::<i128>().unwrap() * 1000 + frac[..3].parse::<i128>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

/// The number in `name=N` of an EXPLAIN ANALYZE line.
fn metric(plan: &str, name: &str) -> Option<u64> {
    let at = plan.find(&format!("{name}="))? + name.len() + 1;
    plan[at..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().ok()
}

#[tokio::test]
async fn decimal_filters_reach_the_iceberg_scan_exactly_and_explain_analyze_shows_the_pruned_files() {
    let SharedLake { endpoint, ns, dir, .. } = shared_lake("prune", "create-partitioned", "payments").await;
    let rows = evolve(&endpoint, &["read", &ns, "payments"]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 100);
    let d = dir.path();
    let t = format!("lake.{ns}.payments");
    let amounts: Vec<Option<i128>> = rows.iter().map(|r| r["amount"].as_str().map(milli)).collect();
    let n = |keep: &dyn Fn(i128) -> bool| amounts.iter().filter(|a| a.is_some_and(keep)).count() as u64;

    // (filter, pushed into the scan as, rows pyiceberg's data has, data files read of 4)
    let cases: Vec<(&str, Option<&str>, u64, u64)> = vec![
        ("amount > 50000.50", Some("amount > 50000.50"), n(&|a| a > 50_000_500), 3),
        // Literals of another scale and integers, rescaled exactly. (`201000.25` is parsed as a
        // double; DataFusion alone made it 201000.249999999991808 and found no row.)
        ("amount = 201000.250", Some("amount = 201000.25"), n(&|a| a == 201_000_250), 1),
        ("amount = 201000.25", Some("amount = 201000.25"), 1, 1),
        ("amount < 300000", Some("amount < 300000.00"), n(&|a| a < 300_000_000), 3),
        // Short IN lists become ORs (DataFusion), longer ones stay IN lists; both are pushed.
        ("amount IN (1000.25, 301000.25)", Some("(amount = 1000.25) OR (amount = 301000.25)"), 2, 2),
        // (Iceberg prunes a file for IN only when every value is below or above its range.)
        ("amount IN (301000.25, 302000.500, 300000, 310000)", Some("amount IN ("), 3, 1),
        ("amount NOT IN (1000.25, 301000.25, 5.5, 7)", Some("amount NOT IN ("), n(&|a| ![1_000_250, 301_000_250, 5_500, 7_000].contains(&a)), 4),
        ("amount BETWEEN 100000 AND 110000", Some("amount >= 100000.00"), n(&|a| (100_000_000..=110_000_000).contains(&a)), 1),
        ("NOT (amount > 50000.50)", Some("amount <= 50000.50"), n(&|a| a <= 50_000_500), 1),
        ("amount > 250000 OR amount < 1000", Some("OR"), n(&|a| !(1_000_000..=250_000_000).contains(&a)), 2),
        // Not exact at the column's scale (2): never rounded into a predicate; the rows stay right.
        ("amount > 50000.505", None, n(&|a| a > 50_000_505), 4),
        ("amount IN (1000.25, 1000.251, 5.5, 7)", None, 1, 4),
        ("amount < 99999999999999.99", None, n(&|_| true), 4),
        // The day partition prunes, and so do a timestamp's statistics.
        ("day >= DATE '2024-06-03'", Some("day >="), 50, 2),
        ("ts >= '2024-06-04T00:00:00Z'", Some("ts >="), 25, 1),
    ];
    for (filter, pushed, want, files) in cases {
        let sql = format!("SELECT count(*) AS n FROM {t} WHERE {filter}");
        let got = query_json(d, &sql)[0]["n"].as_u64();
        assert_eq!(got, Some(want), "{filter}: rows");
        let plan = ok(d, &[], &["query", &format!("EXPLAIN {}", sql.replace("count(*) AS n", "id")), "--format", "csv"]);
        let scan = plan.lines().find(|l| l.contains("IcebergTableScan")).unwrap_or_else(|| panic!("{plan}")).to_string();
        match pushed {
            Some(p) => assert!(scan.contains(p) && !scan.contains("predicate:[]"), "{filter}: {scan}"),
            None => assert!(!scan[scan.find("predicate:").unwrap()..].contains("amount"), "{filter} must not be pushed (not exact at scale 2): {scan}"),
        }
        let analyzed = ok(d, &[], &["query", &format!("EXPLAIN ANALYZE {sql}"), "--format", "csv"]);
        assert_eq!(metric(&analyzed, "data_files_in_snapshot"), Some(4), "{filter}: {analyzed}");
        assert_eq!(metric(&analyzed, "data_files_scanned"), Some(files), "{filter}: {analyzed}");
        assert_eq!(metric(&analyzed, "data_files_pruned"), Some(4 - files), "{filter}: {analyzed}");
    }
    // Time travel reads through the same scan: the first snapshot has one file.
    let snaps: Value = serde_json::from_str(&ok(d, &[], &["snapshots", &t, "--json"])).unwrap();
    let first = snaps[0]["snapshot_id"].as_i64().unwrap();
    let old = format!("lake.{ns}.\"payments@{first}\"");
    assert_eq!(count(d, &old), 25);
    let analyzed = ok(d, &[], &["query", &format!("EXPLAIN ANALYZE SELECT count(*) FROM {old} WHERE amount > 1000"), "--format", "csv"]);
    assert_eq!((metric(&analyzed, "data_files_in_snapshot"), metric(&analyzed, "data_files_scanned")), (Some(1), Some(1)), "{analyzed}");
}

#[tokio::test]
async fn the_s3_endpoint_the_catalog_announces_is_used_and_an_unreachable_sts_gets_no_trust_hint() {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let catalog = format!("{endpoint}/iceberg");
    let ns = unique("announced");
    evolve(&endpoint, &["create", &ns, "items"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &[], &["pool", "create", "default"]);
    // No --endpoint: the test server's catalog announces its S3 endpoint in /v1/config
    // (s3.endpoint, path-style), and lakeport reads the data files there, saying so.
    let (key, secret) = s3.user("glue");
    let out = ok(
        d,
        &[("SECRET", secret.expose())],
        &["connection", "add", "lake", "--zero-copy", "--region", "us-east-1", "--warehouse", "123456789012", "--catalog-url", &catalog, "--allow-http", "--access-key-id", &key, "--secret-env", "SECRET"],
    );
    assert!(out.contains(&format!("data files are read from S3 endpoint {endpoint}, as the catalog announces")) && out.contains("ok    s3:GetObject"), "{out}");
    ok(d, &[], &["connection", "shares", "lake", "--add", &ns]);
    assert_eq!(count(d, &format!("lake.{ns}.items")), 100);
    let shown = ok(d, &[], &["connection", "test", "lake"]);
    assert!(shown.contains("as the catalog announces"), "{shown}");
    let shown = ok(d, &[], &["connection", "show", "lake"]);
    assert!(shown.contains("s3_endpoint: not set: data files are read from the S3 endpoint the catalog announces"), "{shown}");
    // An endpoint on the connection wins over the announced one (here a dead one: the read fails).
    let o = lakeport(d, &[], &["connection", "update", "lake", "--endpoint", "http://127.0.0.1:1"]);
    assert!(o.status.code() == Some(2) && !text(&o).contains("as the catalog announces"), "{}", text(&o));

    // An assumed role without --sts-endpoint in a region whose STS does not resolve: the failure
    // says STS could not be reached, with no trust-policy advice (the role was never asked).
    let started = std::time::Instant::now();
    let o = lakeport(
        d,
        &[],
        &[
            "connection", "add", "nosts", "--zero-copy", "--region", "xx-nowhere-1", "--warehouse", "123456789012", "--catalog-url", &catalog, "--allow-http",
            "--role-arn", "arn:aws:iam::123456789012:role/r", "--external-id", "lakeport-x",
        ],
    );
    let out = text(&o);
    assert!(o.status.code() == Some(2) && out.contains("FAIL  sts:AssumeRole") && out.contains("sts.xx-nowhere-1.amazonaws.com"), "{out}");
    assert!(!out.to_lowercase().contains("trust"), "no trust-policy hint for an unreachable STS: {out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "took {:?}", started.elapsed());
}
