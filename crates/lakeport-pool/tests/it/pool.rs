//! The pool on real files: SQLite catalog, Iceberg metadata and Parquet data on disk.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use lakeport_pool::{LedgerChange, LoadMode, LoadedObject, PoolDir, PoolError};

fn batch(ids: &[i64], names: &[&str]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true), Field::new("name", DataType::Utf8, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids.to_vec())), Arc::new(StringArray::from(names.to_vec()))]).unwrap()
}

fn obj(key: &str, v: &str, rows: u64) -> LoadedObject {
    LoadedObject { key: key.into(), version: v.into(), size: 0, modified_ms: 0, rows, data_files: Vec::new() }
}

fn loaded(objects: Vec<LoadedObject>) -> LedgerChange {
    LedgerChange { loaded: objects, removed: Vec::new() }
}

async fn count(pool: &lakeport_pool::Pool, sql: &str) -> i64 {
    let r = pool.query(sql).await.unwrap();
    r.batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn full_delta_replace_and_drift() {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("sales").await.unwrap();
    assert!(matches!(pd.create_pool("sales").await, Err(PoolError::PoolExists(_))));

    // Full load creates the table in one commit.
    let b = batch(&[1, 2, 3], &["a", "b", "c"]);
    let mut w = pool.begin_write("orders", &b.schema(), LoadMode::Full).await.unwrap();
    w.write("in/a.csv", &b).await.unwrap();
    let c = w.commit(loaded(vec![obj("in/a.csv", "e1", 3)]), "job1").await.unwrap();
    assert_eq!((c.rows_added, c.total_rows), (3, 3));
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 3);

    // Delta appends, and the ledger remembers both objects.
    let b2 = batch(&[4], &["d"]);
    let mut w = pool.begin_write("orders", &b2.schema(), LoadMode::Delta).await.unwrap();
    w.write("in/b.csv", &b2).await.unwrap();
    w.commit(loaded(vec![obj("in/b.csv", "e2", 1)]), "job2").await.unwrap();
    assert_eq!(count(&pool, "SELECT sum(id) FROM orders").await, 10);
    let ledger = pool.ledger("orders").await.unwrap();
    assert!(ledger.contains("in/a.csv", "e1") && ledger.contains("in/b.csv", "e2"));
    let info = pool.table("orders").await.unwrap();
    assert_eq!((info.rows, info.data_files, info.snapshots, info.last_mode.as_deref()), (4, 2, 2, Some("delta")));

    // A delta load with another schema is refused and changes nothing.
    let other = Schema::new(vec![Field::new("id", DataType::Utf8, true)]);
    let err = pool.begin_write("orders", &other, LoadMode::Delta).await.err().unwrap().to_string();
    assert!(err.contains("'id'") && err.contains("full load"), "{err}");

    // An aborted load leaves the table and the data directory as they were.
    let data_dir = dir.path().join("warehouse/sales/orders/data");
    let files_before = std::fs::read_dir(&data_dir).unwrap().count();
    let mut w = pool.begin_write("orders", &b2.schema(), LoadMode::Full).await.unwrap();
    w.write("in/b.csv", &b2).await.unwrap();
    w.abort().await;
    assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), files_before);
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 4);

    // A full load replaces rows and schema; the ledger restarts at it.
    let s3 = Arc::new(Schema::new(vec![Field::new("code", DataType::Utf8, true)]));
    let b3 = RecordBatch::try_new(s3.clone(), vec![Arc::new(StringArray::from(vec!["x", "y"]))]).unwrap();
    let mut w = pool.begin_write("orders", &s3, LoadMode::Full).await.unwrap();
    w.write("in/c.csv", &b3).await.unwrap();
    w.commit(loaded(vec![obj("in/c.csv", "e3", 2)]), "job3").await.unwrap();
    let r = pool.query("SELECT code FROM orders ORDER BY code").await.unwrap();
    assert_eq!(r.num_rows(), 2);
    assert_eq!(r.batches[0].column(0).as_string_view_opt().map(|a| a.value(0).to_string()).or_else(|| r.batches[0].column(0).as_string_opt::<i32>().map(|a| a.value(0).to_string())), Some("x".to_string()));
    let ledger = pool.ledger("orders").await.unwrap();
    assert_eq!(ledger.objects.len(), 1);
    assert!(ledger.contains("in/c.csv", "e3"));

    // Reopening the directory sees the same state.
    drop(pool);
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.pool("sales").await.unwrap();
    assert_eq!(pool.table("orders").await.unwrap().rows, 2);
    assert_eq!(pd.list_pools().await.unwrap()[0].tables, Some(1));
    pd.drop_pool("sales").await.unwrap();
    assert!(!dir.path().join("warehouse/sales").exists());
    assert!(pd.pool("sales").await.is_err());
}

/// A delta that loads an object again drops its earlier rows in the same commit; a removal drops
/// an object's rows; the ledger records rows and data files, and its size per commit stays small.
#[tokio::test]
async fn changed_objects_replace_their_rows_and_removed_ones_go() {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("p").await.unwrap();
    let b = batch(&[1, 2, 3], &["a", "b", "c"]);
    let mut w = pool.begin_write("t", &b.schema(), LoadMode::Full).await.unwrap();
    w.write("a.csv", &b).await.unwrap();
    w.write("b.csv", &batch(&[10], &["x"])).await.unwrap();
    w.commit(loaded(vec![obj("a.csv", "v1", 3), obj("b.csv", "v1", 1)]), "j1").await.unwrap();
    let ledger = pool.ledger("t").await.unwrap();
    assert_eq!((ledger.get("a.csv").unwrap().rows, ledger.get("a.csv").unwrap().data_files.len()), (3, 1));

    // a.csv changed: 3 rows + 1.
    let mut w = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    w.write("a.csv", &batch(&[1, 2, 3, 4], &["a", "b", "c", "d"])).await.unwrap();
    let c = w.commit(loaded(vec![obj("a.csv", "v2", 4)]), "j2").await.unwrap();
    assert_eq!((c.rows_added, c.rows_removed, c.total_rows), (4, 3, 5));
    assert_eq!(count(&pool, "SELECT count(*) FROM t").await, 5);
    assert_eq!(count(&pool, "SELECT sum(id) FROM t").await, 20);
    assert!(pool.ledger("t").await.unwrap().contains("a.csv", "v2"));

    // b.csv is gone from the source: removed, nothing added.
    let w = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    let c = w.commit(LedgerChange { loaded: Vec::new(), removed: vec!["b.csv".into()] }, "j3").await.unwrap();
    assert_eq!((c.rows_added, c.rows_removed, c.total_rows), (0, 1, 4));
    assert_eq!(count(&pool, "SELECT sum(id) FROM t").await, 10);
    let ledger = pool.ledger("t").await.unwrap();
    assert_eq!(ledger.objects.keys().collect::<Vec<_>>(), vec!["a.csv"]);
    let info = pool.table("t").await.unwrap();
    assert_eq!((info.rows, info.data_files), (4, 1));
}

#[tokio::test]
async fn a_failed_first_load_creates_no_table() {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("p").await.unwrap();
    let b = batch(&[1], &["a"]);
    let mut w = pool.begin_write("t", &b.schema(), LoadMode::Full).await.unwrap();
    w.write("a.csv", &b).await.unwrap();
    w.abort().await;
    assert!(pool.table_names().await.unwrap().is_empty());
}

#[tokio::test]
async fn vacuum_removes_what_no_snapshot_references_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("p").await.unwrap();
    let b = batch(&[1, 2, 3], &["a", "b", "c"]);
    for mode in [LoadMode::Full, LoadMode::Delta] {
        let mut w = pool.begin_write("t", &b.schema(), mode).await.unwrap();
        w.write(&format!("{mode:?}.csv"), &b).await.unwrap();
        w.commit(loaded(vec![obj(&format!("{mode:?}.csv"), "v", 3)]), "job").await.unwrap();
    }
    // A load that died before its commit: its writer is dropped, its files stay behind.
    let mut w = pool.begin_write("t", &b.schema(), LoadMode::Full).await.unwrap();
    for _ in 0..50 {
        w.write("x.csv", &b).await.unwrap();
    }
    drop(w);
    // A first load of a new table that never committed.
    let mut w = pool.begin_write("never", &b.schema(), LoadMode::Full).await.unwrap();
    w.write("x.csv", &b).await.unwrap();
    drop(w);
    let files = |p: &str| lakeport_testkit::files_under(&dir.path().join(p));
    let before = files("warehouse/p/t").len();

    // Within the grace period nothing is touched.
    assert_eq!(pool.vacuum(std::time::Duration::from_secs(3600)).await.unwrap().files_removed, 0);
    let report = pool.vacuum(std::time::Duration::ZERO).await.unwrap();
    assert!(report.files_removed >= 1, "{report:?}");
    assert!(!dir.path().join("warehouse/p/never").exists());
    assert_eq!(files("warehouse/p/t").len() as u64, report.files_kept);
    assert!(files("warehouse/p/t").len() < before);
    assert_eq!(count(&pool, "SELECT count(*) FROM t").await, 6, "the table reads as before");
    assert_eq!(pool.vacuum(std::time::Duration::ZERO).await.unwrap().files_removed, 0, "nothing left to remove");
}


/// What lakeport stored itself and cannot read back is an error naming the thing, never a
/// default (issue 11: a job read as "running", a time as 1970, shares as "none", a secret as "no
/// secret", a ledger entry as empty — each would misreport or lose data).
#[tokio::test]
async fn stored_state_that_does_not_parse_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("p").await.unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("catalog.db").display())).await.unwrap();
    let exec = |sql: &'static str| {
        let db = db.clone();
        async move { sqlx::query(sql).execute(&db).await.unwrap() }
    };

    // A job whose status lakeport never writes, then one whose start time does not parse.
    let job = pool.start_job("c", LoadMode::Full).await.unwrap();
    assert_eq!(pool.jobs(10).await.unwrap().len(), 1);
    exec("UPDATE lakeport_jobs SET status = 'bogus'").await;
    let err = pool.jobs(10).await.unwrap_err();
    assert!(matches!(err, PoolError::Corrupt { .. }) && err.to_string().contains(&format!("job {}", job.id)) && err.to_string().contains("status"), "{err}");
    exec("UPDATE lakeport_jobs SET status = 'failed', started_at = 'yesterday'").await;
    let err = pool.jobs(10).await.unwrap_err().to_string();
    assert!(err.contains(&job.id) && err.contains("'yesterday'"), "{err}");
    exec("DELETE FROM lakeport_jobs").await;

    // A pool's creation time.
    exec("UPDATE lakeport_pools SET created_at = '' WHERE name = 'p'").await;
    let err = pd.list_pools().await.unwrap_err().to_string();
    assert!(err.contains("pool 'p'") && err.contains("corrupt"), "{err}");
    exec("UPDATE lakeport_pools SET created_at = '2026-01-01T00:00:00Z'").await;

    // A shares row that is not the JSON lakeport writes.
    exec("INSERT INTO lakeport_shares (pool, connection, shares) VALUES ('p', 'lake', '[{broken')").await;
    let err = pool.shares("lake").await.unwrap_err().to_string();
    assert!(err.contains("shares of connection 'lake'") && err.contains("corrupt"), "{err}");

    // A secret: none stored is "no secret"; one that cannot be read is an error.
    assert!(pool.connection_secret_opt("nosecret").unwrap().is_none());
    std::fs::create_dir_all(dir.path().join("secrets/p/unreadable.secret")).unwrap();
    let err = pool.connection_secret_opt("unreadable").unwrap_err().to_string();
    assert!(err.contains("'unreadable'"), "{err}");

    // A ledger file whose entry lacks its version: the delta ledger is not read as if the
    // object had an empty version (the next delta would load it again).
    let b = batch(&[1, 2], &["a", "b"]);
    let mut w = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    w.write("in/a.csv", &b).await.unwrap();
    w.commit(loaded(vec![obj("in/a.csv", "e1", 2)]), "job").await.unwrap();
    assert!(pool.ledger("t").await.unwrap().contains("in/a.csv", "e1"));
    let ledger_file = lakeport_testkit::files_under(&dir.path().join("warehouse/p/t"))
        .into_iter()
        .find(|f| f.file_name().unwrap().to_string_lossy().starts_with("ledger-"))
        .expect("a ledger file");
    let file = std::fs::File::open(&ledger_file).unwrap();
    let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().next().unwrap().unwrap();
    let version = batch.schema().index_of("version").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[version] = Arc::new(StringArray::from(vec![None::<&str>]));
    let broken = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, broken.schema(), None).unwrap();
    writer.write(&broken).unwrap();
    writer.close().unwrap();
    std::fs::write(&ledger_file, out).unwrap();
    let err = pool.ledger("t").await.unwrap_err();
    assert!(matches!(err, PoolError::Corrupt { .. }), "{err}");
    let err = err.to_string();
    assert!(err.contains(&ledger_file.file_name().unwrap().to_string_lossy().to_string()) && err.contains("in/a.csv"), "{err}");
}

/// The snapshot ids of table `t` of pool `p` from its current snapshot back to the first, by
/// each snapshot's `parent-snapshot-id` in the metadata file the catalog points at, and how many
/// snapshots the metadata holds: one chain holds them all.
async fn parent_chain(dir: &std::path::Path, table: &str) -> (Vec<i64>, usize) {
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("catalog.db").display())).await.unwrap();
    let (location,): (String,) = sqlx::query_as("SELECT metadata_location FROM iceberg_tables WHERE table_namespace = 'p' AND table_name = ?").bind(table).fetch_one(&db).await.unwrap();
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(location.trim_start_matches("file://")).unwrap()).unwrap();
    let snapshots = meta["snapshots"].as_array().unwrap();
    let parent = |id: i64| snapshots.iter().find(|s| s["snapshot-id"] == id).unwrap()["parent-snapshot-id"].as_i64();
    let mut chain = vec![meta["current-snapshot-id"].as_i64().unwrap()];
    while let Some(p) = parent(*chain.last().unwrap()) {
        chain.push(p);
    }
    (chain, snapshots.len())
}

/// Several writers on one table (`TableWriter::commit`). The committer publishes a commit only on
/// the table state it was built on (the `TableCommitter` contract): a full load that meets
/// another writer's commit fails, the table unchanged. A delta load is rebuilt on the new state
/// and retried: its rows are added once, an object the other writer committed in the same
/// version is left out, one it committed in another version is replaced, a schema change of its
/// own is kept — unless the other writer changed the schema too (then it fails, the table
/// unchanged) — and every snapshot's parent is the one before it.
#[tokio::test]
async fn a_full_load_meeting_a_conflict_fails_and_a_delta_is_rebuilt_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("p").await.unwrap();
    let b = batch(&[1, 2], &["a", "b"]);

    // Two full loads create the same table: the first commit creates it, the second fails.
    let mut first = pool.begin_write("t", &b.schema(), LoadMode::Full).await.unwrap();
    let mut second = pool.begin_write("t", &b.schema(), LoadMode::Full).await.unwrap();
    first.write("a.csv", &b).await.unwrap();
    second.write("b.csv", &batch(&[9], &["z"])).await.unwrap();
    first.commit(loaded(vec![obj("a.csv", "1", 2)]), "j1").await.unwrap();
    let err = second.commit(loaded(vec![obj("b.csv", "1", 1)]), "j2").await.unwrap_err();
    assert!(matches!(err, PoolError::CommitConflict(_)) && err.kind().is_retryable(), "{err}");
    assert_eq!(count(&pool, "SELECT sum(id) FROM t").await, 3);

    // A full load begun before a delta committed fails too (it would replace what the delta added).
    let mut full = pool.begin_write("t", &b.schema(), LoadMode::Full).await.unwrap();
    let mut d0 = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    full.write("a.csv", &b).await.unwrap();
    d0.write("b.csv", &batch(&[4], &["b"])).await.unwrap();
    d0.commit(loaded(vec![obj("b.csv", "1", 1)]), "j2").await.unwrap();
    assert!(matches!(full.commit(loaded(vec![obj("a.csv", "1", 2)]), "j3").await, Err(PoolError::CommitConflict(_))));
    assert_eq!(count(&pool, "SELECT sum(id) FROM t").await, 7);

    // Two deltas begun on the same snapshot, both having read c.csv in version 1: the second is
    // rebuilt on the first's snapshot, without c.csv.
    let mut d1 = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    let mut d2 = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    d1.write("c.csv", &batch(&[10], &["c"])).await.unwrap();
    d2.write("d.csv", &batch(&[100], &["d"])).await.unwrap();
    d2.write("c.csv", &batch(&[10], &["c"])).await.unwrap();
    let c1 = d1.commit(loaded(vec![obj("c.csv", "1", 1)]), "j4").await.unwrap();
    assert_eq!((c1.conflicts, c1.committed), (0, true));
    let c2 = d2.commit(loaded(vec![obj("d.csv", "1", 1), obj("c.csv", "1", 1)]), "j5").await.unwrap();
    assert_eq!((c2.conflicts, c2.already_loaded.clone(), c2.rows_added, c2.total_rows, c2.committed), (1, vec!["c.csv".to_string()], 1, 5, true));
    assert_eq!(count(&pool, "SELECT sum(id) FROM t").await, 117);
    assert_eq!(count(&pool, "SELECT count(*) FROM t WHERE id = 10").await, 1, "c.csv's row once");
    let ledger = pool.ledger("t").await.unwrap();
    assert!(ledger.contains("c.csv", "1") && ledger.contains("d.csv", "1"));
    // c.csv's rows are d1's data file; d2's copy of it is deleted, not left as an orphan.
    let data_files = lakeport_testkit::files_under(&dir.path().join("warehouse/p/t/data")).len();
    assert_eq!(pool.table("t").await.unwrap().data_files as usize, data_files);

    // A delta whose every object another writer committed meanwhile: nothing left to commit.
    let mut d3 = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    let mut d4 = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    d3.write("e.csv", &batch(&[1000], &["e"])).await.unwrap();
    d4.write("e.csv", &batch(&[1000], &["e"])).await.unwrap();
    d4.commit(loaded(vec![obj("e.csv", "1", 1)]), "j6").await.unwrap();
    let c3 = d3.commit(loaded(vec![obj("e.csv", "1", 1)]), "j7").await.unwrap();
    assert_eq!((c3.committed, c3.conflicts, c3.rows_added, c3.already_loaded.clone(), c3.total_rows), (false, 1, 0, vec!["e.csv".to_string()], 6));
    assert_eq!(count(&pool, "SELECT sum(id) FROM t").await, 1117);

    // An object another writer committed meanwhile in another version: replaced, as a delta
    // replaces a changed object (the ledger says which version the rows are from).
    let mut v1 = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    let mut v2 = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    v1.write("g.csv", &batch(&[5000], &["g"])).await.unwrap();
    v2.write("g.csv", &batch(&[7000, 7001], &["g", "g"])).await.unwrap();
    v1.commit(loaded(vec![obj("g.csv", "1", 1)]), "j9").await.unwrap();
    let c = v2.commit(loaded(vec![obj("g.csv", "2", 2)]), "j10").await.unwrap();
    assert_eq!((c.conflicts, c.rows_added, c.rows_removed, c.total_rows), (1, 2, 1, 8));
    assert_eq!(count(&pool, "SELECT sum(id) FROM t").await, 1117 + 14001);
    assert!(pool.ledger("t").await.unwrap().contains("g.csv", "2"));

    // A delta that widens the schema, begun before a delta that did not: rebuilt on it, with
    // its new column.
    let wide = |extra: &str, t: DataType| Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true), Field::new("name", DataType::Utf8, true), Field::new(extra, t, true)]));
    let wide_batch = |schema: Arc<Schema>, extra: arrow_array::ArrayRef| RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![5])), Arc::new(StringArray::from(vec!["w"])), extra]).unwrap();
    let x = wide("extra", DataType::Utf8);
    let mut evolving = pool.begin_write("t", &x, LoadMode::Delta).await.unwrap();
    let mut plain = pool.begin_write("t", &b.schema(), LoadMode::Delta).await.unwrap();
    evolving.write("h.csv", &wide_batch(x.clone(), Arc::new(StringArray::from(vec!["x"])))).await.unwrap();
    plain.write("i.csv", &batch(&[1], &["i"])).await.unwrap();
    plain.commit(loaded(vec![obj("i.csv", "1", 1)]), "j11").await.unwrap();
    assert_eq!(evolving.commit(loaded(vec![obj("h.csv", "1", 1)]), "j12").await.unwrap().conflicts, 1);
    assert_eq!(count(&pool, "SELECT count(extra) FROM t").await, 1);
    assert_eq!(pool.table("t").await.unwrap().rows, 10);

    // Two deltas that widen it differently: the second one's data files were written for a
    // schema the table no longer gets, so it fails and the table keeps the first one's.
    let (y, z) = (wide("more", DataType::Int64), wide("other", DataType::Utf8));
    let y = Arc::new(Schema::new(x.fields().iter().cloned().chain(y.fields().iter().skip(2).cloned()).collect::<Vec<_>>()));
    let z = Arc::new(Schema::new(x.fields().iter().cloned().chain(z.fields().iter().skip(2).cloned()).collect::<Vec<_>>()));
    let row = |schema: &Arc<Schema>, last: arrow_array::ArrayRef| {
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![6])), Arc::new(StringArray::from(vec!["w"])), Arc::new(StringArray::from(vec!["x"])), last]).unwrap()
    };
    let mut wy = pool.begin_write("t", &y, LoadMode::Delta).await.unwrap();
    let mut wz = pool.begin_write("t", &z, LoadMode::Delta).await.unwrap();
    wy.write("j.csv", &row(&y, Arc::new(Int64Array::from(vec![1])))).await.unwrap();
    wz.write("k.csv", &row(&z, Arc::new(StringArray::from(vec!["z"])))).await.unwrap();
    wy.commit(loaded(vec![obj("j.csv", "1", 1)]), "j13").await.unwrap();
    let err = wz.commit(loaded(vec![obj("k.csv", "1", 1)]), "j14").await.unwrap_err();
    assert!(matches!(err, PoolError::CommitConflict(_)), "{err}");
    let columns: Vec<String> = pool.query("SELECT * FROM t").await.unwrap().schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(columns, ["id", "name", "extra", "more"]);
    assert_eq!(pool.table("t").await.unwrap().rows, 11);
    assert!(!pool.ledger("t").await.unwrap().objects.contains_key("k.csv"));

    // One chain: first, d0, d1, d2, d4, v1, v2, plain, evolving, wy.
    let (chain, snapshots) = parent_chain(dir.path(), "t").await;
    assert_eq!((chain.len(), snapshots), (10, 10), "{chain:?}");
}

/// Run locks (`Pool::lock_tables_as`): delta runs share a table, a full load or a drop holds it
/// alone; a holder's process that is gone frees its hold.
#[tokio::test]
async fn delta_runs_share_a_table_and_full_loads_hold_it_alone() {
    use lakeport_pool::TableHold::{Exclusive, Shared};
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("p").await.unwrap();
    let t = vec!["t".to_string()];
    pool.lock_tables_as(&t, "run d1", Shared).await.unwrap();
    pool.lock_tables_as(&t, "run d2", Shared).await.unwrap();
    let busy = pool.lock_tables_as(&t, "run f", Exclusive).await.unwrap_err().to_string();
    assert!(busy.starts_with("table 't' is being loaded by run d"), "{busy}");
    // All or none: a request for two tables, one of them held alone, holds neither.
    pool.lock_tables_as(&["u".to_string()], "a drop", Exclusive).await.unwrap();
    assert!(matches!(pool.lock_tables_as(&["t".to_string(), "u".to_string()], "run d3", Shared).await, Err(PoolError::TableBusy { .. })));
    pool.unlock_tables("run d1").await.unwrap();
    assert!(pool.lock_tables(&t, "run f").await.is_err(), "d2 still loads it");
    pool.unlock_tables("run d2").await.unwrap();
    pool.lock_tables(&t, "run f").await.unwrap();
    let busy = pool.lock_tables_as(&t, "run d4", Shared).await.unwrap_err().to_string();
    assert!(busy.starts_with("table 't' is being loaded by run f"), "{busy}");
    pool.unlock_tables("run f").await.unwrap();
    pool.unlock_tables("a drop").await.unwrap();
    // A shared hold of a process that is gone is taken over by an exclusive one.
    pool.lock_tables_as(&t, "run d5", Shared).await.unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("catalog.db").display())).await.unwrap();
    let gone = lakeport_pool::ProcessId { pid: u32::MAX - 1, ..lakeport_pool::ProcessId::current() };
    sqlx::query("UPDATE lakeport_table_holds SET process = ? WHERE holder = 'run d5'").bind(serde_json::to_string(&gone).unwrap()).execute(&db).await.unwrap();
    pool.lock_tables(&t, "run f2").await.unwrap();
}

/// A saved extraction's claim names its process by identity (pid, boot id, start time): a claim
/// whose process is gone is taken over, even when its pid now belongs to a living process
/// (pids are reused), and the job it ran ends interrupted; a living claimant keeps it.
#[tokio::test]
async fn a_claim_of_a_gone_process_is_taken_over_even_under_a_reused_pid() {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("p").await.unwrap();
    pool.create_extraction("ev", &serde_json::json!({ "format": 1 })).await.unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("catalog.db").display())).await.unwrap();
    let job = pool.start_job("c", LoadMode::Full).await.unwrap();
    let me = lakeport_pool::ProcessId::current();
    let claim_by = |process: lakeport_pool::ProcessId| {
        let (db, job) = (db.clone(), job.id.clone());
        async move {
            sqlx::query("UPDATE lakeport_extractions SET running_job = ?, running_pid = ?, running_process = ? WHERE name = 'ev'")
                .bind(job)
                .bind(i64::from(process.pid))
                .bind(serde_json::to_string(&process).unwrap())
                .execute(&db)
                .await
                .unwrap();
        }
    };

    // Held by a living process (this one): not taken.
    claim_by(me.clone()).await;
    assert!(!pool.claim_extraction("ev", "other-run").await.unwrap());

    // This pid, but another process that had it before (another start time): gone.
    if let Some(ticks) = me.start_ticks {
        claim_by(lakeport_pool::ProcessId { start_ticks: Some(ticks + 1), ..me.clone() }).await;
        assert!(pool.claim_extraction("ev", "other-run").await.unwrap());
        let ended = pool.job(&job.id).await.unwrap();
        assert_eq!(ended.status, lakeport_pool::JobStatus::Interrupted);
        assert!(ended.error.as_deref().unwrap().contains(&format!("pid {}", me.pid)), "{ended:?}");
        assert_eq!(pool.extraction("ev").await.unwrap().running_job.as_deref(), Some("other-run"));
    }
}

/// Dictionary encoding is chosen per data file from its first batch: columns of (nearly) unique
/// values are stored plain, columns of repeated values keep their dictionary; every value reads
/// back the same (issue 14: hashing unique values for a dictionary was a third of a Parquet
/// load's CPU).
#[tokio::test]
async fn data_files_keep_dictionaries_only_where_values_repeat() {
    use arrow_array::{Float64Array, TimestampMicrosecondArray};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let pool = PoolDir::open(dir.path()).await.unwrap().create_pool("p").await.unwrap();
    let n = 5000i64;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("uid", DataType::Utf8, true),
        Field::new("at", DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None), true),
        Field::new("amount", DataType::Float64, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("code", DataType::Int64, true),
        Field::new("sparse", DataType::Int64, true),
    ]));
    let uids: Vec<String> = (0..n).map(|i| format!("u-{i:06}")).collect();
    let statuses = ["open", "closed", "on hold"];
    let b = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(StringArray::from_iter_values(uids.iter())),
            Arc::new(TimestampMicrosecondArray::from_iter_values((0..n).map(|i| 1_700_000_000_000_000 + i * 1_000_003))),
            Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64 * 0.37))),
            Arc::new(StringArray::from_iter_values((0..n).map(|i| statuses[(i % 3) as usize]))),
            Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 10))),
            // Mostly nulls: the few values it has are judged, unique ones included.
            Arc::new(Int64Array::from_iter((0..n).map(|i| (i % 10 == 0).then_some(i)))),
        ],
    )
    .unwrap();
    let mut w = pool.begin_write("t", &schema, LoadMode::Full).await.unwrap();
    w.write("a.parquet", &b).await.unwrap();
    w.commit(loaded(vec![obj("a.parquet", "v", n as u64)]), "job").await.unwrap();

    let files: Vec<_> = lakeport_testkit::files_under(&dir.path().join("warehouse/p/t/data")).into_iter().filter(|f| f.extension().is_some_and(|e| e == "parquet")).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let reader = SerializedFileReader::new(std::fs::File::open(&files[0]).unwrap()).unwrap();
    let rg = reader.metadata().row_group(0);
    let dictionary: Vec<(String, bool)> = rg.columns().iter().map(|c| (c.column_path().string(), c.dictionary_page_offset().is_some())).collect();
    let expected: Vec<(String, bool)> = [("id", false), ("uid", false), ("at", false), ("amount", false), ("status", true), ("code", true), ("sparse", false)]
        .iter()
        .map(|(c, d)| (c.to_string(), *d))
        .collect();
    assert_eq!(dictionary, expected);
    // Every column still has its bounds (the manifest's lower/upper bounds come from them).
    assert!(rg.columns().iter().all(|c| c.statistics().is_some_and(|s| s.min_bytes_opt().is_some())));

    let sums = pool
        .query("SELECT sum(id), count(DISTINCT uid), count(DISTINCT at), sum(code), count(sparse), sum(sparse), count(*) FILTER (WHERE status = 'on hold') FROM t")
        .await
        .unwrap();
    let row: Vec<i64> = sums.batches[0].columns().iter().map(|c| arrow_cast::cast(c, &DataType::Int64).unwrap().as_primitive::<Int64Type>().value(0)).collect();
    assert_eq!(row, vec![n * (n - 1) / 2, n, n, (0..n).map(|i| i % 10).sum::<i64>(), n / 10, (0..n).filter(|i| i % 10 == 0).sum::<i64>(), n / 3]);
}
