//! The SQL surface on a real pool (SQLite catalog, Iceberg metadata, Parquet files on disk): it
//! only reads, it stays within its memory and time limits, and tables go only by `drop_table`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use lakeport_pool::{JobStatus, LoadMode, Pool, PoolDir, PoolError, QueryLimits, TokenScope};

fn batch(ids: &[i64], names: &[&str]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true), Field::new("name", DataType::Utf8, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids.to_vec())), Arc::new(StringArray::from(names.to_vec()))]).unwrap()
}

async fn load(pool: &Pool, table: &str, b: &RecordBatch, mode: LoadMode) {
    let mut w = pool.begin_write(table, &b.schema(), mode).await.unwrap();
    w.write("made.csv", b).await.unwrap();
    w.commit(lakeport_pool::LedgerChange::default(), "test").await.unwrap();
}

async fn count(pool: &Pool, sql: &str) -> i64 {
    let r = pool.query(sql).await.unwrap();
    r.batches[0].column(0).as_primitive::<Int64Type>().value(0)
}


async fn pool_with_orders() -> (tempfile::TempDir, PoolDir, Pool) {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("sales").await.unwrap();
    load(&pool, "orders", &batch(&[1, 2, 3], &["a", "b", "c"]), LoadMode::Full).await;
    (dir, pd, pool)
}

#[tokio::test]
async fn queries_of_every_kind_run() {
    let (_dir, _pd, pool) = pool_with_orders().await;
    // (statement, rows it returns)
    let cases: &[(&str, usize)] = &[
        ("SELECT id, name FROM orders ORDER BY id", 3),
        ("WITH big AS (SELECT id FROM orders WHERE id > 1) SELECT sum(id) FROM big", 1),
        ("VALUES (1, 'a'), (2, 'b')", 2),
        ("EXPLAIN SELECT * FROM orders WHERE id = 2", 2),
        ("DESCRIBE orders", 2),
        ("SHOW TABLES", 0),
        ("SHOW COLUMNS FROM orders", 2),
        ("SELECT * FROM information_schema.tables WHERE table_name = 'orders'", 1),
    ];
    for (sql, rows) in cases {
        let r = pool.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        if *rows > 0 {
            assert_eq!(r.num_rows(), *rows, "{sql}");
        }
        assert!(!r.truncated);
    }
    assert!(pool.query("SHOW TABLES").await.unwrap().num_rows() >= 1);
}

#[tokio::test]
async fn every_statement_that_changes_something_is_refused_and_changes_nothing() {
    let (dir, pd, pool) = pool_with_orders().await;
    let out = tempfile::tempdir().unwrap();
    let target = |name: &str| out.path().join(name).display().to_string();
    // (statement, the words the refusal names, a word of what to use instead)
    let cases: Vec<(String, &str, &str)> = vec![
        ("CREATE TABLE t (x INT)".into(), "CREATE TABLE", "extract"),
        ("CREATE TABLE t AS SELECT * FROM orders".into(), "CREATE TABLE", "extract"),
        ("CREATE VIEW v AS SELECT 1".into(), "CREATE VIEW", "query"),
        ("CREATE SCHEMA other".into(), "CREATE SCHEMA", "query"),
        ("CREATE DATABASE other".into(), "CREATE DATABASE", "query"),
        (format!("CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '{}'", "/etc/passwd"), "CREATE EXTERNAL TABLE", "connection"),
        ("CREATE EXTERNAL TABLE e2 STORED AS CSV LOCATION 's3://bucket/x.csv'".into(), "CREATE EXTERNAL TABLE", "connection"),
        ("DROP TABLE orders".into(), "DROP TABLE", "lakeport table drop"),
        ("DROP TABLE IF EXISTS orders".into(), "DROP TABLE", "lakeport table drop"),
        ("DROP VIEW IF EXISTS v".into(), "DROP VIEW", "query"),
        ("DROP SCHEMA sales".into(), "DROP SCHEMA", "query"),
        ("INSERT INTO orders VALUES (9, 'x')".into(), "INSERT", "extract"),
        ("INSERT INTO orders SELECT * FROM orders".into(), "INSERT", "extract"),
        ("DELETE FROM orders WHERE id = 1".into(), "DELETE", "extract"),
        ("UPDATE orders SET name = 'z'".into(), "UPDATE", "extract"),
        (format!("COPY (SELECT 42 AS x) TO '{}' STORED AS CSV", target("x.csv")), "COPY", "--format csv"),
        (format!("COPY orders TO '{}' STORED AS PARQUET", target("orders.parquet")), "COPY", "--format csv"),
        (format!("COPY (SELECT 1) TO '{}' STORED AS CSV", "relative.csv"), "COPY", "--format csv"),
        (format!("EXPLAIN ANALYZE COPY (SELECT 1) TO '{}' STORED AS CSV", target("explained.csv")), "COPY", "--format csv"),
        ("EXPLAIN ANALYZE INSERT INTO orders VALUES (9, 'x')".into(), "INSERT", "extract"),
        ("SET datafusion.execution.target_partitions = 1".into(), "SET", "--query-memory"),
        ("SET datafusion.runtime.memory_limit = '100G'".into(), "SET", "--query-memory"),
        ("SET datafusion.catalog.information_schema = false".into(), "SET", "--query-memory"),
        ("RESET datafusion.execution.batch_size".into(), "RESET", "--query-memory"),
        ("PREPARE q(INT) AS SELECT * FROM orders WHERE id = $1".into(), "PREPARE", "query"),
    ];
    for (sql, words, instead) in &cases {
        let e = pool.query(sql).await.err().unwrap_or_else(|| panic!("{sql} ran"));
        let text = e.to_string();
        assert!(matches!(e, PoolError::ReadOnlySql { .. }), "{sql}: {text}");
        assert!(text.starts_with(&format!("{words} is not allowed")), "{sql}: {text}");
        assert!(text.contains("only reads the pool") && text.contains(instead), "{sql}: {text}");
    }
    // Statements DataFusion's planner does not know are refused before any switch is needed.
    for sql in ["BEGIN TRANSACTION", "COMMIT", "CREATE TEMPORARY TABLE t (x INT)", "ATTACH DATABASE 'x.db' AS x", "VACUUM", "MERGE INTO orders USING orders o ON true WHEN MATCHED THEN DELETE"] {
        let e = pool.query(sql).await.err().unwrap_or_else(|| panic!("{sql} ran"));
        assert!(matches!(e, PoolError::Query(_) | PoolError::ReadOnlySql { .. }), "{sql}: {e}");
    }
    // Nothing changed: the table, its rows, the pool's namespaces, no file written anywhere.
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 3);
    assert_eq!(pool.table_names().await.unwrap(), vec!["orders"]);
    assert_eq!(pd.list_pools().await.unwrap().len(), 1);
    assert!(lakeport_testkit::files_under(out.path()).is_empty(), "COPY wrote {:?}", lakeport_testkit::files_under(out.path()));
    assert!(!Path::new("relative.csv").exists() && !dir.path().join("relative.csv").exists());
    assert!(pool.jobs(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn sql_reaches_no_host_file_and_no_url() {
    let (_dir, _pd, pool) = pool_with_orders().await;
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "id,name\n7,host-file-content\n").unwrap();
    let p = secret.path().display().to_string();
    for sql in [
        format!("SELECT * FROM '{p}'"),
        format!("SELECT * FROM 'file://{p}'"),
        "SELECT * FROM '/etc/passwd'".to_string(),
        "SELECT * FROM 'https://example.com/data.csv'".to_string(),
        "SELECT * FROM 's3://bucket/data.parquet'".to_string(),
        format!("SELECT * FROM read_csv('{p}')"),
        format!("SELECT * FROM parquet_metadata('{p}')"),
    ] {
        let e = pool.query(&sql).await.err().unwrap_or_else(|| panic!("{sql} ran"));
        let text = e.to_string();
        assert!(!text.contains("host-file-content") && !text.contains("root:"), "{sql}: {text}");
        assert!(text.contains("not found") || text.contains("invalid function") || text.contains("not allowed"), "{sql}: {text}");
    }
}

fn limits(memory: usize, secs: u64, rows: Option<usize>) -> QueryLimits {
    QueryLimits { memory_bytes: memory, time_limit: Duration::from_secs(secs), max_rows: rows }
}

#[tokio::test]
async fn a_query_beyond_its_memory_budget_fails_naming_the_budget() {
    let (_dir, _pd, pool) = pool_with_orders().await;
    // A hash join cannot spill: its build side of 2 M rows does not fit in 8 MiB.
    let sql = "SELECT count(*) FROM generate_series(1, 2000000) a JOIN generate_series(1, 2000000) b ON a.value = b.value";
    let e = pool.query_with(sql, &limits(8 << 20, 120, None)).await.err().expect("the join ran within 8 MiB");
    assert!(matches!(e, PoolError::QueryMemory { .. }), "{e}");
    let text = e.to_string();
    assert!(text.starts_with("query used more than 8 MiB of memory; narrow it") && text.contains("raise --query-memory"), "{text}");
    // The same query is fine with room for it.
    assert_eq!(pool.query_with(sql, &limits(1 << 30, 120, None)).await.unwrap().batches[0].column(0).as_primitive::<Int64Type>().value(0), 2_000_000);
}

#[tokio::test]
async fn a_sort_beyond_its_memory_budget_spills_to_disk_and_succeeds() {
    let (_dir, _pd, pool) = pool_with_orders().await;
    // 10 M rows of 16 bytes (160 MB) sorted within 96 MiB: only possible by spilling. (A much
    // tighter budget can fail in the merge phase, which reserves 10 MB per sorting partition
    // and cannot spill.)
    let sql = "EXPLAIN ANALYZE SELECT v, v * 2 FROM (SELECT value AS v FROM generate_series(1, 10000000)) ORDER BY v DESC";
    let r = pool.query_with(sql, &limits(96 << 20, 120, None)).await.unwrap();
    let plan = arrow_cast::pretty::pretty_format_batches(&r.batches).unwrap().to_string();
    let spills: u64 = plan
        .split("spill_count=")
        .skip(1)
        .map(|rest| rest.chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse::<u64>().unwrap_or(0))
        .sum();
    assert!(spills > 0, "the sort did not spill:\n{plan}");
}

#[tokio::test]
async fn a_query_beyond_its_time_limit_is_cancelled() {
    let (_dir, _pd, pool) = pool_with_orders().await;
    let started = Instant::now();
    let sql = "SELECT count(*) FROM generate_series(1, 1000000) a CROSS JOIN generate_series(1, 1000000) b";
    let e = pool.query_with(sql, &limits(1 << 30, 1, None)).await.err().expect("10^12 rows in a second");
    assert!(matches!(e, PoolError::QueryTimeout { .. }), "{e}");
    assert_eq!(e.to_string(), "query ran longer than 1 s and was stopped; narrow it or raise --query-timeout-secs");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped after {:?}", started.elapsed());
}

#[tokio::test]
async fn the_row_cap_keeps_the_first_rows_and_says_so() {
    let (_dir, _pd, pool) = pool_with_orders().await;
    for (cap, rows, truncated) in [(10, 10, true), (99_999, 99_999, true), (100_000, 100_000, false), (200_000, 100_000, false), (0, 0, true)] {
        let r = pool.query_with("SELECT value FROM generate_series(1, 100000) ORDER BY value", &limits(1 << 30, 60, Some(cap))).await.unwrap();
        assert_eq!((r.num_rows(), r.truncated), (rows, truncated), "cap {cap}");
        if rows > 0 {
            assert_eq!(r.batches[0].column(0).as_primitive::<Int64Type>().value(0), 1, "the first rows are kept");
        }
    }
}

#[tokio::test]
async fn drop_table_removes_its_files_keeps_others_and_is_recorded() {
    let (dir, _pd, pool) = pool_with_orders().await;
    load(&pool, "orders", &batch(&[4], &["d"]), LoadMode::Delta).await;
    load(&pool, "customers", &batch(&[1], &["x"]), LoadMode::Full).await;
    let table_dir = dir.path().join("warehouse/sales/orders");
    let referenced = lakeport_testkit::files_under(&table_dir).len();
    // A file the table's metadata does not reference (a load writing right now): left for vacuum.
    let in_flight = table_dir.join("data/in-flight.parquet");
    std::fs::write(&in_flight, b"not yet committed").unwrap();
    let customers_before = lakeport_testkit::files_under(&dir.path().join("warehouse/sales/customers"));

    let report = pool.drop_table("orders").await.unwrap();
    assert_eq!((report.table.as_str(), report.rows, report.files_removed as usize, report.files_left), ("orders", 4, referenced, 1));
    assert!(report.bytes_removed > 0);
    assert_eq!(pool.table_names().await.unwrap(), vec!["customers"]);
    assert!(matches!(pool.query("SELECT * FROM orders").await, Err(PoolError::Query(_))));
    assert_eq!(lakeport_testkit::files_under(&table_dir), vec![in_flight.clone()]);
    assert_eq!(lakeport_testkit::files_under(&dir.path().join("warehouse/sales/customers")), customers_before, "other tables keep their files");
    assert_eq!(count(&pool, "SELECT count(*) FROM customers").await, 1);

    let job = &pool.jobs(1).await.unwrap()[0];
    assert_eq!((job.mode.as_str(), job.status, job.tables.clone(), job.rows, job.files), ("drop", JobStatus::Succeeded, vec!["orders".to_string()], 4, referenced as u64));
    assert_eq!(job.id, report.job_id);

    // Vacuum takes the rest once its grace period has passed.
    assert_eq!(pool.vacuum(Duration::from_secs(3600)).await.unwrap().files_removed, 0);
    assert_eq!(pool.vacuum(Duration::ZERO).await.unwrap().files_removed, 1);
    assert!(!table_dir.exists());

    // A table that does not exist: an error, nothing recorded.
    let jobs = pool.jobs(10).await.unwrap().len();
    assert!(matches!(pool.drop_table("orders").await, Err(PoolError::NoSuchTable { .. })));
    assert!(matches!(pool.drop_table("../customers").await, Err(PoolError::InvalidName(_))));
    assert_eq!(pool.jobs(10).await.unwrap().len(), jobs);
    // The name is free again: a new load creates a fresh table.
    load(&pool, "orders", &batch(&[5], &["e"]), LoadMode::Full).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn tokens_are_stored_hashed_scoped_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let admin = pd.create_token(Some("ops"), TokenScope::Admin).await.unwrap();
    let reader = pd.create_token(None, TokenScope::ReadOnly).await.unwrap();
    assert!(admin.token.starts_with("lp_") && admin.token.len() >= 64);
    assert_ne!(admin.token, reader.token);
    assert_eq!(reader.info.name, format!("read-only-{}", reader.info.id));

    assert_eq!(pd.authenticate(&admin.token).await.unwrap().map(|t| t.scope), Some(TokenScope::Admin));
    assert_eq!(pd.authenticate(&reader.token).await.unwrap().map(|t| t.scope), Some(TokenScope::ReadOnly));
    for wrong in ["", "lp_", &admin.token[..admin.token.len() - 1], &format!("{}x", admin.token), &admin.token.to_uppercase()] {
        assert_eq!(pd.authenticate(wrong).await.unwrap(), None, "{wrong}");
    }
    // Names are unique and checked.
    assert!(pd.create_token(Some("ops"), TokenScope::ReadOnly).await.is_err());
    assert!(pd.create_token(Some("bad name"), TokenScope::ReadOnly).await.is_err());

    // Stored hashed: no file of the directory holds a token.
    drop(pd);
    let pd = PoolDir::open(dir.path()).await.unwrap();
    for file in lakeport_testkit::files_under(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        for t in [&admin.token, &reader.token] {
            assert!(!bytes.windows(t.len()).any(|w| w == t.as_bytes()), "token in {}", file.display());
        }
    }
    let listed = pd.tokens().await.unwrap();
    assert_eq!(listed.iter().map(|t| (t.name.as_str(), t.scope)).collect::<Vec<_>>(), vec![("ops", TokenScope::Admin), (reader.info.name.as_str(), TokenScope::ReadOnly)]);

    // Revoked by name or id: it stops working at once, the other keeps working.
    assert_eq!(pd.revoke_token("ops").await.unwrap().id, admin.info.id);
    assert_eq!(pd.authenticate(&admin.token).await.unwrap(), None);
    assert!(pd.authenticate(&reader.token).await.unwrap().is_some());
    pd.revoke_token(&reader.info.id).await.unwrap();
    assert_eq!(pd.authenticate(&reader.token).await.unwrap(), None);
    assert!(matches!(pd.revoke_token("ops").await, Err(PoolError::NoSuchToken(_))));
}
