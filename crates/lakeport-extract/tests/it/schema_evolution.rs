//! Delta loads evolve the table's schema in the same commit (Iceberg schema evolution), report
//! every difference they meet (the schema-drift report), and refuse what Iceberg cannot do,
//! naming the file and the column, with the pool unchanged. Against the real S3 test server;
//! pyiceberg reads the evolved tables too.

use crate::common;

use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch};
use common::{parquet_bytes, setup_on, Env, PoolKind};
use lakeport_extract::{ExtractRequest, Item, OnSchemaChange, SchemaChangeKind};
use lakeport_pool::LoadMode;

async fn delta(env: &Env, prefix: &str, policy: OnSchemaChange) -> Result<lakeport_extract::ExtractReport, lakeport_extract::ExtractError> {
    let mut req = ExtractRequest::new(vec![Item::folder(prefix)], LoadMode::Delta);
    req.on_schema_change = policy;
    env.run_with(req).await
}

fn pyiceberg(env: &Env, table: &str) -> serde_json::Value {
    let py = std::env::var("LAKEPORT_TEST_PYTHON").expect("LAKEPORT_TEST_PYTHON: run with ./scripts/test.sh");
    let o = Command::new(py)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/read_with_pyiceberg.py"))
        .arg(env.dir.path())
        .args([env.pool.name(), table])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A new column is added (earlier rows NULL), a column a file lacks is NULL for its rows; both
/// are in the report, with the first file that brought them, and in the job history.
async fn new_and_missing_columns_evolve_the_table(kind: PoolKind) {
    let env = setup_on("evolve", kind).await;
    env.bucket.put("t/a.csv", "id,name\n1,a\n2,b\n").await;
    env.run(vec![Item::folder("t/")], LoadMode::Full).await.unwrap();

    env.bucket.put("t/b.csv", "id,name,priority\n3,c,7\n").await;
    let r = delta(&env, "t/", OnSchemaChange::Evolve).await.unwrap();
    let changes = &r.tables[0].schema_changes;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0].column.as_str(), changes[0].change, changes[0].new_type.as_deref()), ("priority", SchemaChangeKind::Added, Some("Int64")));
    assert!(changes[0].file.ends_with("t/b.csv"));
    assert_eq!(env.scalar("SELECT count(*) FROM t WHERE priority IS NULL").await, 2);
    assert_eq!(env.scalar("SELECT sum(priority) FROM t").await, 7);

    env.bucket.put("t/c.csv", "id,priority\n4,9\n").await;
    let r = delta(&env, "t/", OnSchemaChange::Evolve).await.unwrap();
    let changes = &r.tables[0].schema_changes;
    assert_eq!((changes[0].column.as_str(), changes[0].change), ("name", SchemaChangeKind::Missing), "{changes:?}");
    assert_eq!(env.scalar("SELECT count(*) FROM t WHERE name IS NULL").await, 1);
    assert_eq!(env.scalar("SELECT count(*) FROM t").await, 4);

    // The job history keeps the report.
    let jobs = env.pool.jobs(1).await.unwrap();
    assert_eq!(jobs[0].details[0]["schema_changes"][0]["change"], "missing");
    // Another engine reads the evolved table.
    let read = pyiceberg(&env, "t");
    assert_eq!(read["rows"], 4);
    assert_eq!(read["columns"]["priority"], "int64");
}

/// Iceberg's type promotions (int → long, float → double) evolve the column; old files keep
/// their values and every reader sees the promoted type.
async fn lossless_widening_is_a_type_promotion(kind: PoolKind) {
    let env = setup_on("promote", kind).await;
    let narrow = RecordBatch::try_from_iter([
        ("id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
        ("x", Arc::new(Float32Array::from(vec![0.5, 1.5])) as ArrayRef),
    ])
    .unwrap();
    env.bucket.put("p/a.parquet", parquet_bytes(&narrow)).await;
    env.run(vec![Item::folder("p/")], LoadMode::Full).await.unwrap();
    let wide = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![5_000_000_000])) as ArrayRef),
        ("x", Arc::new(Float64Array::from(vec![0.1])) as ArrayRef),
    ])
    .unwrap();
    env.bucket.put("p/b.parquet", parquet_bytes(&wide)).await;
    let r = delta(&env, "p/", OnSchemaChange::Evolve).await.unwrap();
    let kinds: Vec<(String, SchemaChangeKind, Option<String>, Option<String>)> =
        r.tables[0].schema_changes.iter().map(|c| (c.column.clone(), c.change, c.old_type.clone(), c.new_type.clone())).collect();
    assert_eq!(
        kinds,
        vec![
            ("id".into(), SchemaChangeKind::Promoted, Some("Int32".into()), Some("Int64".into())),
            ("x".into(), SchemaChangeKind::Promoted, Some("Float32".into()), Some("Float64".into())),
        ]
    );
    assert_eq!(env.scalar("SELECT sum(id) FROM p").await, 5_000_000_003);
    assert_eq!(env.scalar("SELECT CAST(sum(x) * 10 AS BIGINT) FROM p").await, 21);
    let read = pyiceberg(&env, "p");
    assert_eq!((read["rows"].as_i64(), read["columns"]["id"].as_str(), read["columns"]["x"].as_str()), (Some(3), Some("int64"), Some("double")));
}

/// What Iceberg cannot do is refused, naming the file and the column, and the pool is unchanged:
/// long → text, a changed nested type; `text` loads other types into a text column; `fail`
/// refuses any difference.
async fn other_changes_are_refused_by_name_or_loaded_as_text(kind: PoolKind) {
    let env = setup_on("refuse", kind).await;
    env.bucket.put("r/a.csv", "id,code\n1,A1\n2,B2\n").await;
    env.bucket.put("j/a.ndjson", "{\"id\": 1, \"s\": {\"a\": 1}}\n").await;
    env.run(vec![Item::folder("r/"), Item::folder("j/")], LoadMode::Full).await.unwrap();
    let before = env.state().await;

    // id: long in the table, text in the file.
    env.bucket.put("r/b.csv", "id,code\nx9,C3\n").await;
    for policy in [OnSchemaChange::Evolve, OnSchemaChange::Text] {
        let e = delta(&env, "r/", policy).await.unwrap_err().to_string();
        assert!(e.contains("r/b.csv") && e.contains("'id'") && e.contains("full load"), "{policy:?}: {e}");
        assert_eq!(env.state().await, before);
    }
    env.bucket.delete("r/b.csv").await;

    // code: text in the table, integers in the file: loaded as text only with `text`.
    env.bucket.put("r/c.csv", "id,code\n3,42\n").await;
    let e = delta(&env, "r/", OnSchemaChange::Evolve).await.unwrap_err().to_string();
    assert!(e.contains("r/c.csv") && e.contains("'code'"), "{e}");
    let r = delta(&env, "r/", OnSchemaChange::Text).await.unwrap();
    assert_eq!(r.tables[0].schema_changes[0].change, SchemaChangeKind::AsText);
    assert_eq!(env.scalar("SELECT count(*) FROM r WHERE code = '42'").await, 1);

    // A nested type that changed: refused.
    env.bucket.put("j/b.ndjson", "{\"id\": 2, \"s\": {\"a\": 1, \"b\": true}}\n").await;
    let before = env.state().await;
    let e = delta(&env, "j/", OnSchemaChange::Evolve).await.unwrap_err().to_string();
    assert!(e.contains("j/b.ndjson") && e.contains("'s'"), "{e}");
    assert_eq!(env.state().await, before);

    // `fail`: a new column is an error.
    env.bucket.put("r/d.csv", "id,code,extra\n4,D,1\n").await;
    let e = delta(&env, "r/", OnSchemaChange::Fail).await.unwrap_err().to_string();
    assert!(e.contains("r/d.csv") && e.contains("'extra'"), "{e}");
    assert_eq!(env.state().await, before);
}

/// A delta of JSON files with list and struct columns fits the table although Iceberg names a
/// list's items `element` and Arrow `item`, and a struct in a file may lack some of the table's
/// children (NULL for them).
async fn nested_columns_fit_by_structure(kind: PoolKind) {
    let env = setup_on("nested", kind).await;
    env.bucket.put("n/a.ndjson", "{\"id\": 1, \"tags\": [1, 2], \"s\": {\"a\": 1, \"b\": \"x\"}}\n").await;
    env.run(vec![Item::folder("n/")], LoadMode::Full).await.unwrap();
    env.bucket.put("n/b.ndjson", "{\"id\": 2, \"tags\": [3], \"s\": {\"a\": 2}}\n").await;
    let r = delta(&env, "n/", OnSchemaChange::Fail).await.unwrap();
    assert!(r.tables[0].schema_changes.is_empty(), "{:?}", r.tables[0].schema_changes);
    assert_eq!(env.scalar("SELECT count(*) FROM n").await, 2);
    assert_eq!(env.scalar("SELECT sum(s['a']) FROM n").await, 3);
    assert_eq!(env.scalar("SELECT count(*) FROM n WHERE s['b'] IS NULL").await, 1);
}

lakeport_testkit::pool_kinds!(
    new_and_missing_columns_evolve_the_table,
    lossless_widening_is_a_type_promotion,
    other_changes_are_refused_by_name_or_loaded_as_text,
    nested_columns_fit_by_structure,
);
