//! The delta ledger (issue 10, points 1–3) on real components: the S3 test server over HTTP, the
//! pool's SQLite catalog and warehouse, and three Iceberg readers — DataFusion (the pool's own
//! SQL), pyiceberg and DuckDB (its iceberg extension from the PyPI wheel). Other engines' Iceberg
//! maintenance (snapshot expiry, rollback, rewriting data files) is run with pyiceberg through the
//! same catalog, by `testing/iceberg_engines.py`.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use common::{setup, setup_on, Env, PoolKind};
use lakeport_extract::{ChangedObject, DeletedObjects, ExtractError, ExtractRequest, Item, RemovedObject};
use lakeport_pool::{LoadMode, PoolError};
use serde_json::Value;

/// A CSV with columns `id,name` and one row per id.
fn ids_csv(ids: impl IntoIterator<Item = i64>) -> String {
    let mut s = String::from("id,name\n");
    for i in ids {
        s.push_str(&format!("{i},name {i}\n"));
    }
    s
}

/// Runs `testing/iceberg_engines.py POOL_DIR test TABLE args…` and returns its JSON.
fn engines(env: &Env, table: &str, args: &[&str]) -> Value {
    let py = std::env::var("LAKEPORT_TEST_PYTHON").expect("LAKEPORT_TEST_PYTHON: run with scripts/test-env.sh sourced");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/iceberg_engines.py");
    let o = Command::new(py).arg(script).arg(env.dir.path()).args([env.pool.name(), table]).args(args).output().unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "iceberg_engines.py {table} {args:?} failed:\n{out}");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The ids in `table` as DataFusion (the pool's SQL) reads them, sorted.
async fn ids(env: &Env, table: &str) -> Vec<i64> {
    let batches = env.rows(&format!("SELECT id FROM {table} ORDER BY id")).await;
    batches.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect()
}

/// The ids as pyiceberg and DuckDB read them: both must equal `expected` (sorted). DuckDB reads
/// only an embedded pool's tables (iceberg_engines.py says why).
fn assert_other_readers(env: &Env, table: &str, expected: &[i64]) {
    let read = engines(env, table, &["read", "id"]);
    let as_ids = |v: &Value| -> Vec<i64> { v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect() };
    assert_eq!(as_ids(&read["pyiceberg"]), expected, "pyiceberg reads {table}");
    if env.rest.is_none() {
        assert_eq!(as_ids(&read["duckdb"]), expected, "DuckDB reads {table} ({})", read["metadata"]);
    }
}

async fn delta(env: &Env, prefix: &str) -> Result<lakeport_extract::ExtractReport, ExtractError> {
    env.run(vec![Item::folder(prefix)], LoadMode::Delta).await
}

async fn delta_removing(env: &Env, prefix: &str) -> Result<lakeport_extract::ExtractReport, ExtractError> {
    let mut req = ExtractRequest::new(vec![Item::folder(prefix)], LoadMode::Delta);
    req.deleted = DeletedObjects::Remove;
    env.run_with(req).await
}

fn current_snapshot(env: &Env, table: &str) -> i64 {
    engines(env, table, &["snapshots"])["current"].as_i64().unwrap()
}

/// Issue 10, scenario 1: a changed object's earlier rows are replaced in the same commit, and
/// every reader sees exactly the new rows; objects that did not change keep theirs.
async fn changed_object_replaces_its_rows_for_every_reader(kind: PoolKind) {
    let env = setup_on("ledger-changed", kind).await;
    env.bucket.put("f/a.csv", ids_csv(1..=3)).await;
    env.bucket.put("f/b.csv", ids_csv([10, 11])).await;
    let r = delta(&env, "f/").await.unwrap();
    assert_eq!((r.rows, r.tables[0].total_rows), (5, 5));
    assert!(r.tables[0].changed.is_empty());

    env.bucket.put("f/a.csv", ids_csv(1..=4)).await;
    let r = delta(&env, "f/").await.unwrap();
    let t = &r.tables[0];
    assert_eq!(t.changed, vec![ChangedObject { key: "f/a.csv".into(), rows_before: 3, rows_after: 4 }]);
    assert_eq!((t.loaded.clone(), t.unchanged, t.rows, t.total_rows), (vec!["f/a.csv".to_string()], 1, 4, 6));

    let expected = vec![1, 2, 3, 4, 10, 11];
    assert_eq!(ids(&env, "f").await, expected, "DataFusion");
    assert_eq!(env.scalar("SELECT count(*) FROM f").await, 6);
    assert_other_readers(&env, "f", &expected);

    // The ledger now holds the new version: a rerun loads nothing.
    let r = delta(&env, "f/").await.unwrap();
    assert_eq!((r.rows, r.tables[0].unchanged, r.tables[0].committed), (0, 2, false));
    assert_eq!(ids(&env, "f").await, expected);
}

/// The family of a changed object: whatever its new version holds (more rows, fewer, only a
/// header, nothing at all, a new column), its earlier rows are replaced by exactly those; a new
/// version whose column types the table cannot take fails the load naming the file and the
/// column, and the table is unchanged.
async fn every_kind_of_changed_object_replaces_its_rows(kind: PoolKind) {
    let env = setup_on("ledger-changed-kinds", kind).await;
    let cases = [
        ("grows", ids_csv(1..=4), Ok(vec![1, 2, 3, 4])),
        ("shrinks", ids_csv([2]), Ok(vec![2])),
        ("header_only", "id,name\n".into(), Ok(vec![])),
        ("emptied", String::new(), Ok(vec![])),
        // A new column evolves the table (see schema_evolution.rs); the rows are still replaced.
        ("new_column", "id,name,extra\n1,a,x\n".into(), Ok(vec![1])),
        // A type Iceberg cannot change the column to: refused, table unchanged.
        ("retyped", "id,name\nx1,a\n".into(), Err("column 'id'")),
    ];
    for (table, _, _) in &cases {
        env.bucket.put(&format!("{table}/a.csv"), ids_csv(1..=3)).await;
        env.bucket.put(&format!("{table}/b.csv"), ids_csv([10, 11])).await;
        env.run(vec![Item::folder(format!("{table}/"))], LoadMode::Full).await.unwrap();
    }
    for (table, body, expected) in cases {
        env.bucket.put(&format!("{table}/a.csv"), body).await;
        let result = delta(&env, &format!("{table}/")).await;
        match expected {
            Ok(a_ids) => {
                let r = result.unwrap_or_else(|e| panic!("{table}: {e}"));
                let t = &r.tables[0];
                let changed = ChangedObject { key: format!("{table}/a.csv"), rows_before: 3, rows_after: a_ids.len() as u64 };
                assert_eq!(t.changed, vec![changed], "{table}");
                let mut all = a_ids.clone();
                all.extend([10, 11]);
                assert_eq!(t.total_rows, all.len() as u64, "{table}");
                assert_eq!(ids(&env, table).await, all, "{table}");
                let r = delta(&env, &format!("{table}/")).await.unwrap();
                assert_eq!((r.tables[0].committed, r.tables[0].unchanged), (false, 2), "{table}: the new version is in the ledger");
            }
            Err(message) => {
                let e = result.unwrap_err().to_string();
                assert!(e.contains(&format!("s3://{}/{table}/a.csv", env.bucket.name)) && e.contains(message), "{table}: {e}");
                assert_eq!(ids(&env, table).await, vec![1, 2, 3, 10, 11], "{table}: unchanged");
            }
        }
    }

    // A delta whose only new object is empty: recorded (not revisited), no rows change.
    env.bucket.put("grows/c.csv", "").await;
    let r = delta(&env, "grows/").await.unwrap();
    assert_eq!((r.tables[0].skipped_empty.clone(), r.tables[0].total_rows), (vec!["grows/c.csv".to_string()], 6));
    let r = delta(&env, "grows/").await.unwrap();
    assert_eq!((r.tables[0].committed, r.tables[0].unchanged), (false, 3));

    // A single-file table whose object was emptied: its rows are replaced by none.
    env.bucket.put("single/a.csv", ids_csv(1..=3)).await;
    env.run(vec![Item::file("single/a.csv")], LoadMode::Full).await.unwrap();
    env.bucket.put("single/a.csv", "").await;
    let r = env.run(vec![Item::file("single/a.csv")], LoadMode::Delta).await.unwrap();
    assert_eq!(r.tables[0].changed, vec![ChangedObject { key: "single/a.csv".into(), rows_before: 3, rows_after: 0 }]);
    assert_eq!(env.scalar("SELECT count(*) FROM a").await, 0);
}

/// Issue 10, scenario 2: expiring every older snapshot (pyiceberg's standard maintenance, then
/// vacuum of the files no snapshot references any more) forgets nothing that was loaded.
#[tokio::test]
async fn snapshot_expiry_keeps_the_ledger() {
    let env = setup("ledger-expiry").await;
    for n in 0..3i64 {
        env.bucket.put(&format!("f/{n}.csv"), ids_csv(n * 10..n * 10 + 10)).await;
        let r = delta(&env, "f/").await.unwrap();
        assert_eq!(r.tables[0].loaded, vec![format!("f/{n}.csv")]);
    }
    assert_eq!(env.scalar("SELECT count(*) FROM f").await, 30);
    assert_eq!(env.pool.table("f").await.unwrap().snapshots, 3);

    let expired = engines(&env, "f", &["expire"]);
    assert_eq!(expired["snapshots"], 1, "every snapshot but the current one is expired");
    let vacuumed = env.pool.vacuum(Duration::ZERO).await.unwrap();
    assert!(vacuumed.files_removed > 0, "the expired snapshots' files are orphans now: {vacuumed:?}");

    let r = delta(&env, "f/").await.unwrap();
    assert_eq!((r.rows, r.tables[0].unchanged, r.tables[0].committed), (0, 3, false), "nothing new: nothing loaded");
    assert_eq!(env.scalar("SELECT count(*) FROM f").await, 30);

    env.bucket.put("f/3.csv", ids_csv(30..40)).await;
    let r = delta(&env, "f/").await.unwrap();
    assert_eq!((r.tables[0].loaded.clone(), r.tables[0].total_rows), (vec!["f/3.csv".to_string()], 40));
    assert_eq!(ids(&env, "f").await, (0..40).collect::<Vec<_>>());

    // The data files the ledger names survived expiry and vacuum: a changed object still
    // replaces exactly its rows.
    env.bucket.put("f/0.csv", ids_csv(0..5)).await;
    let r = delta(&env, "f/").await.unwrap();
    assert_eq!(r.tables[0].changed, vec![ChangedObject { key: "f/0.csv".into(), rows_before: 10, rows_after: 5 }]);
    assert_eq!(ids(&env, "f").await, (0..5).chain(10..40).collect::<Vec<_>>());
}

/// Issue 10, scenario 3: after a rollback the ledger is the rolled-back-to snapshot's, so the
/// next delta loads again exactly what that snapshot did not hold.
#[tokio::test]
async fn rollback_brings_back_that_snapshots_ledger() {
    let env = setup("ledger-rollback").await;
    env.bucket.put("r/a.csv", ids_csv(0..10)).await;
    let a = env.run(vec![Item::folder("r/")], LoadMode::Full).await.unwrap().tables[0].snapshot_id.unwrap();
    env.bucket.put("r/b.csv", ids_csv(10..15)).await;
    let b = delta(&env, "r/").await.unwrap();
    assert_eq!(b.tables[0].loaded, vec!["r/b.csv".to_string()]);
    assert_eq!(current_snapshot(&env, "r"), b.tables[0].snapshot_id.unwrap());

    engines(&env, "r", &["rollback", &a.to_string()]);
    assert_eq!(current_snapshot(&env, "r"), a);
    assert_eq!(ids(&env, "r").await, (0..10).collect::<Vec<_>>(), "the table is A's again");

    let r = delta(&env, "r/").await.unwrap();
    let t = &r.tables[0];
    assert_eq!((t.loaded.clone(), t.unchanged, t.total_rows), (vec!["r/b.csv".to_string()], 1, 15), "B's object is loaded again");
    assert!(t.changed.is_empty(), "A's ledger never held r/b.csv");
    let expected: Vec<i64> = (0..15).collect();
    assert_eq!(ids(&env, "r").await, expected, "A + B exactly, no duplicates");
    assert_other_readers(&env, "r", &expected);
    let r = delta(&env, "r/").await.unwrap();
    assert_eq!((r.rows, r.tables[0].unchanged), (0, 2));

    // A changed object across a rollback: C replaces r/a.csv's rows; rolled back to the snapshot
    // before C, the next delta replaces them again, once.
    let before_c = current_snapshot(&env, "r");
    env.bucket.put("r/a.csv", ids_csv((0..10).chain([100]))).await;
    let c = delta(&env, "r/").await.unwrap();
    let changed = vec![ChangedObject { key: "r/a.csv".into(), rows_before: 10, rows_after: 11 }];
    assert_eq!(c.tables[0].changed, changed);
    engines(&env, "r", &["rollback", &before_c.to_string()]);
    assert_eq!(ids(&env, "r").await, expected);
    let r = delta(&env, "r/").await.unwrap();
    assert_eq!((r.tables[0].changed.clone(), r.tables[0].total_rows), (changed, 16));
    let expected: Vec<i64> = (0..15).chain([100]).collect();
    assert_eq!(ids(&env, "r").await, expected);
    assert_other_readers(&env, "r", &expected);
}

/// Issue 10, scenario 4: another engine rewrote the data files (same rows, new files). A delta
/// that would have to drop a changed — or removed — object's rows cannot find them any more: it
/// stops with "a full load is needed", the table unchanged; a full load then works.
#[tokio::test]
async fn rewritten_data_files_make_a_delta_ask_for_a_full_load() {
    let env = setup("ledger-compacted").await;
    env.bucket.put("c/1.csv", ids_csv(0..5)).await;
    env.bucket.put("c/2.csv", ids_csv(5..10)).await;
    env.run(vec![Item::folder("c/")], LoadMode::Full).await.unwrap();
    let rewrite = engines(&env, "c", &["rewrite"]);
    let (before, after) = (rewrite["files_before"].as_array().unwrap(), rewrite["files_after"].as_array().unwrap());
    assert_eq!(before.len(), 2, "one data file per object");
    assert!(after.iter().all(|f| !before.contains(f)), "new files: {rewrite}");
    let expected: Vec<i64> = (0..10).collect();
    assert_eq!(ids(&env, "c").await, expected);
    let snapshot = current_snapshot(&env, "c");

    // New objects alone need no rows dropped: still fine after the rewrite.
    env.bucket.put("c/3.csv", ids_csv(10..12)).await;
    let r = delta(&env, "c/").await.unwrap();
    assert_eq!((r.tables[0].loaded.clone(), r.tables[0].total_rows), (vec!["c/3.csv".to_string()], 12));
    let expected: Vec<i64> = (0..12).collect();
    let snapshot_before = current_snapshot(&env, "c");
    assert_ne!(snapshot_before, snapshot);

    // A changed object, and (with --deleted remove) a deleted one: both refused, nothing committed.
    env.bucket.put("c/1.csv", ids_csv(0..6)).await;
    let e = delta(&env, "c/").await.unwrap_err();
    assert!(matches!(&e, ExtractError::Pool(PoolError::LedgerStale { table, .. }) if table == "c"), "{e:?}");
    assert!(e.to_string().contains("table 'c' needs a full load before the next delta load"), "{e}");
    assert_eq!(ids(&env, "c").await, expected, "the table is unchanged");
    assert_eq!(current_snapshot(&env, "c"), snapshot_before);
    env.bucket.put("c/1.csv", ids_csv(0..5)).await; // the same bytes as loaded: the same ETag again
    env.bucket.delete("c/2.csv").await;
    let e = delta_removing(&env, "c/").await.unwrap_err();
    assert!(e.to_string().contains("needs a full load"), "{e}");
    assert_eq!(ids(&env, "c").await, expected, "the table is unchanged");
    assert_eq!(current_snapshot(&env, "c"), snapshot_before);
    let jobs = env.pool.jobs(2).await.unwrap();
    assert!(jobs.iter().all(|j| j.error.as_deref().is_some_and(|e| e.contains("needs a full load"))), "{jobs:?}");

    // A full load rebuilds the table and its ledger; deltas work again.
    let r = env.run(vec![Item::folder("c/")], LoadMode::Full).await.unwrap();
    assert_eq!(r.rows, 7);
    assert_eq!(ids(&env, "c").await, vec![0, 1, 2, 3, 4, 10, 11]);
    env.bucket.put("c/1.csv", ids_csv(0..6)).await;
    let r = delta(&env, "c/").await.unwrap();
    assert_eq!(r.tables[0].changed, vec![ChangedObject { key: "c/1.csv".into(), rows_before: 5, rows_after: 6 }]);
    assert_eq!(ids(&env, "c").await, vec![0, 1, 2, 3, 4, 5, 10, 11]);
}

/// Issue 10, scenario 5: `deleted: remove` drops the rows of objects gone from the source in one
/// commit and reports them with their counts; the default `keep` leaves them.
async fn deleted_objects_kept_by_default_and_removed_on_request(kind: PoolKind) {
    let env = setup_on("ledger-deleted", kind).await;
    env.bucket.put("d/1.csv", ids_csv(0..5)).await;
    env.bucket.put("d/2.csv", ids_csv(5..12)).await;
    env.bucket.put("d/3.csv", ids_csv(12..15)).await;
    env.run(vec![Item::folder("d/")], LoadMode::Full).await.unwrap();
    env.bucket.delete("d/2.csv").await;

    // keep (the default): nothing to do, the rows stay.
    let r = delta(&env, "d/").await.unwrap();
    assert_eq!((r.tables[0].committed, r.tables[0].removed.clone()), (false, vec![]));
    assert_eq!(ids(&env, "d").await, (0..15).collect::<Vec<_>>());

    // remove: exactly its rows go, in one commit.
    let snapshots = env.pool.table("d").await.unwrap().snapshots;
    let r = delta_removing(&env, "d/").await.unwrap();
    let t = &r.tables[0];
    assert_eq!(t.removed, vec![RemovedObject { key: "d/2.csv".into(), rows: 7 }]);
    assert_eq!((t.committed, t.rows, t.total_rows, t.loaded.len()), (true, 0, 8, 0));
    assert_eq!(env.pool.table("d").await.unwrap().snapshots, snapshots + 1, "one commit");
    let expected: Vec<i64> = (0..5).chain(12..15).collect();
    assert_eq!(ids(&env, "d").await, expected);
    assert_other_readers(&env, "d", &expected);
    let r = delta_removing(&env, "d/").await.unwrap();
    assert_eq!((r.tables[0].committed, r.tables[0].removed.len()), (false, 0), "the ledger no longer holds it");
    // Put back (the same bytes): a new object to the ledger, loaded again.
    env.bucket.put("d/2.csv", ids_csv(5..12)).await;
    let r = delta_removing(&env, "d/").await.unwrap();
    assert_eq!((r.tables[0].loaded.clone(), r.tables[0].total_rows), (vec!["d/2.csv".to_string()], 15));
    env.bucket.delete("d/2.csv").await;
    let r = delta_removing(&env, "d/").await.unwrap();
    assert_eq!((r.tables[0].removed.clone(), r.tables[0].total_rows), (vec![RemovedObject { key: "d/2.csv".into(), rows: 7 }], 8));

    // A new object and a deleted one in the same delta: one commit does both.
    env.bucket.put("d/4.csv", ids_csv(20..22)).await;
    env.bucket.delete("d/1.csv").await;
    let r = delta_removing(&env, "d/").await.unwrap();
    let t = &r.tables[0];
    assert_eq!((t.loaded.clone(), t.removed.clone(), t.total_rows), (vec!["d/4.csv".to_string()], vec![RemovedObject { key: "d/1.csv".into(), rows: 5 }], 5));
    assert_eq!(env.pool.table("d").await.unwrap().snapshots, snapshots + 4);
    let expected = vec![12, 13, 14, 20, 21];
    assert_eq!(ids(&env, "d").await, expected);
    assert_other_readers(&env, "d", &expected);
}

/// The current metadata file of `table`, and the ledger chain (paths, entries) of its current
/// snapshot, read from that file as any Iceberg reader would.
fn metadata_and_chain(env: &Env, table: &str) -> (std::path::PathBuf, Vec<(String, u64)>) {
    let location = engines(env, table, &["snapshots"])["metadata"].as_str().unwrap().to_string();
    let path = std::path::PathBuf::from(location.strip_prefix("file://").unwrap());
    let meta: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let current = meta["current-snapshot-id"].as_i64().unwrap();
    let snapshot = meta["snapshots"].as_array().unwrap().iter().find(|s| s["snapshot-id"] == current).unwrap();
    let chain: Vec<Value> = serde_json::from_str(snapshot["summary"]["lakeport.ledger"].as_str().unwrap()).unwrap();
    let chain = chain.iter().map(|l| (l["path"].as_str().unwrap().to_string(), l["entries"].as_u64().unwrap())).collect();
    (path, chain)
}

/// Issue 10, point 1: the size of `metadata.json` does not depend on how many objects were loaded;
/// the ledger is in files next to it, which vacuum keeps.
#[tokio::test]
async fn metadata_json_does_not_grow_with_objects() {
    let env = setup("ledger-size").await;
    for (prefix, n) in [("small", 5i64), ("large", 300)] {
        let puts = (0..n).map(|i| {
            let b = &env.bucket;
            async move { b.put(&format!("{prefix}/f{i:04}.csv"), ids_csv([i])).await }
        });
        futures::future::join_all(puts).await;
        let mut req = ExtractRequest::new(vec![Item::folder(format!("{prefix}/"))], LoadMode::Full);
        req.concurrency = Some(16);
        let r = env.run_with(req).await.unwrap();
        assert_eq!(r.rows, n as u64);
    }
    let (small, small_chain) = metadata_and_chain(&env, "small");
    let (large, large_chain) = metadata_and_chain(&env, "large");
    let (small_len, large_len) = (std::fs::metadata(&small).unwrap().len(), std::fs::metadata(&large).unwrap().len());
    eprintln!("current metadata.json: {small_len} bytes after 5 objects, {large_len} bytes after 300");
    // It used to grow by about 65 bytes per object (295 more objects: ~19 KB).
    assert!(large_len.abs_diff(small_len) < 2048, "metadata.json: {small_len} bytes for 5 objects, {large_len} for 300");
    for (chain, metadata, objects) in [(&small_chain, &small, 5), (&large_chain, &large, 300)] {
        assert_eq!(chain.iter().map(|(_, n)| n).sum::<u64>(), objects);
        for (file, _) in chain {
            let file = Path::new(file.strip_prefix("file://").unwrap());
            assert!(file.is_file(), "ledger file {} exists", file.display());
            assert_eq!(file.parent(), metadata.parent(), "the ledger is next to metadata.json");
        }
    }

    // A delta of one object adds one snapshot (a few hundred bytes), not a copy of the ledger.
    env.bucket.put("large/f0300.csv", ids_csv([300])).await;
    delta(&env, "large/").await.unwrap();
    let (after, _) = metadata_and_chain(&env, "large");
    let grew = std::fs::metadata(&after).unwrap().len() - large_len;
    eprintln!("a delta of one object grew metadata.json by {grew} bytes");
    assert!(grew < 2048, "one more snapshot grew metadata.json by {grew} bytes");

    // Vacuum (no grace period) keeps every ledger file a snapshot references: the next delta
    // still knows every object.
    env.pool.vacuum(Duration::ZERO).await.unwrap();
    let (_, chain) = metadata_and_chain(&env, "large");
    assert!(chain.iter().all(|(f, _)| Path::new(f.strip_prefix("file://").unwrap()).is_file()));
    let r = delta(&env, "large/").await.unwrap();
    assert_eq!((r.rows, r.tables[0].unchanged, r.tables[0].committed), (0, 301, false));
    let r = delta(&env, "small/").await.unwrap();
    assert_eq!((r.rows, r.tables[0].unchanged), (0, 5));
}

lakeport_testkit::pool_kinds!(
    changed_object_replaces_its_rows_for_every_reader,
    every_kind_of_changed_object_replaces_its_rows,
    deleted_objects_kept_by_default_and_removed_on_request,
);
