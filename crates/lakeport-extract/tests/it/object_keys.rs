//! An object key is whatever S3 allows: folder markers (`raw/`), empty, `.` and `..` segments,
//! `%`, `+`, spaces, unicode, very long keys. Each such key loads, or is skipped and named in the
//! report; one odd key never makes a folder unloadable. Against the real S3 test server
//! (ministack, IAM enforced, the least-privilege `reader` key); objects are put under exactly
//! these keys by a signed PUT to each key's exact URL (ministack stores every one of them as given:
//! checked by listing them back below).

use crate::common;

use std::sync::Arc;

use arrow::array::{AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use common::{parquet_bytes, setup, Env};
use lakeport_extract::{ExtractRequest, Item, SkipReason, TableReport};
use lakeport_pool::LoadMode;

fn skipped(t: &TableReport) -> Vec<(String, SkipReason)> {
    t.skipped.iter().map(|s| (s.key.clone(), s.reason)).collect()
}

/// `(key, rows)` for each `_source_key` of a table, sorted by key.
async fn rows_by_key(env: &Env, table: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for b in env.rows(&format!("SELECT _source_key, count(*) FROM {table} GROUP BY _source_key")).await {
        let keys = arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
        let keys = keys.as_string::<i32>();
        let counts = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            out.push((keys.value(i).to_string(), counts.value(i)));
        }
    }
    out.sort();
    out
}

/// The input: zero-byte folder markers in a listed prefix, as the S3 console makes them.
#[tokio::test]
async fn folder_markers_are_skipped_and_named() {
    let env = setup("markers").await;
    env.bucket.put("raw/", "").await;
    env.bucket.put("raw/2024/", "").await;
    env.bucket.put("raw/2024/a.csv", "id,v\n1,a\n2,b\n").await;
    env.bucket.put("raw/b.csv", "id,v\n3,c\n4,d\n").await;

    let r = env.run(vec![Item::folder("raw/")], LoadMode::Full).await.unwrap();
    assert_eq!((r.files, r.rows), (2, 4));
    let t = &r.tables[0];
    assert_eq!(t.loaded, ["raw/2024/a.csv", "raw/b.csv"]);
    assert_eq!(skipped(t), [("raw/".to_string(), SkipReason::DirectoryMarker), ("raw/2024/".to_string(), SkipReason::DirectoryMarker)]);
    assert!(t.skipped.iter().all(|s| s.detail == "directory marker"));
    assert_eq!(env.scalar("SELECT count(*) FROM raw").await, 4);
    assert_eq!(env.scalar("SELECT sum(id) FROM raw").await, 10);

    // A delta run: nothing new; the markers are named again (they never enter the ledger).
    let r = env.run(vec![Item::folder("raw")], LoadMode::Delta).await.unwrap();
    assert_eq!((r.rows, r.tables[0].unchanged), (0, 2));
    assert_eq!(skipped(&r.tables[0]).len(), 2);

    // A key ending in '/' that holds data has no file name and so no file type: named, not guessed.
    env.bucket.put("raw/notes/", "id,v\n9,z\n").await;
    let r = env.run(vec![Item::folder("raw")], LoadMode::Full).await.unwrap();
    assert_eq!(r.rows, 4);
    assert!(skipped(&r.tables[0]).contains(&("raw/notes/".to_string(), SkipReason::FolderKeyWithData)), "{:?}", r.tables[0].skipped);

    // A folder that holds nothing but markers is an error that names what was passed over.
    env.bucket.put("only/", "").await;
    env.bucket.put("only/sub/", "").await;
    let e = env.run(vec![Item::folder("only/")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("s3://") && e.contains("only/ is empty") && e.contains("only/sub/ (directory marker)"), "{e}");
    assert_eq!(env.state().await, vec![("raw".to_string(), 4)], "the failed run changed nothing");
}

/// One folder holding one key of each kind S3 allows and a path type would normalise. Every key
/// that names a file loads under exactly its key; the marker and the one key object_store cannot
/// put in a request are skipped and named; nothing else is lost or mixed up.
#[tokio::test]
async fn a_folder_with_one_of_each_odd_key_loads_every_key_as_stored() {
    let env = setup("oddkeys").await;
    let long = format!("odd/{}.csv", "k".repeat(1000 - "odd/.csv".len()));
    assert_eq!(long.len(), 1000);
    // Pairs that a wrong decoding would confuse: `a b`/`a+b` (form encoding), `100%`/`100%25`
    // (decoding twice), `odd//double`/`odd/double` (collapsing empty segments), `./dot`/`dot`.
    let keys = [
        "odd/a b.csv",
        "odd/a+b.csv",
        "odd/x+y.csv",
        "odd/100%.csv",
        "odd/100%25.csv",
        "odd/ü/日本.csv",
        "odd//double.csv",
        "odd/double.csv",
        "odd/./dot.csv",
        "odd/dot.csv",
        "odd/../dotdot.csv",
        "odd/%2E%2E/encoded-dots.csv",
        "odd/semi;colon&amp=eq?q#h.csv",
        long.as_str(),
    ];
    // Key i holds i + 1 rows, so each key's row count identifies it.
    for (i, k) in keys.iter().enumerate() {
        let body: String = std::iter::once("id,n\n".to_string()).chain((0..=i).map(|j| format!("{},{i}\n", i * 100 + j))).collect();
        env.bucket.put(k, body).await;
    }
    env.bucket.put("odd/trailing/", "").await;
    // ASCII control characters cannot be in an object_store path segment, so this key cannot be
    // requested: it must be skipped and named, and must not stop the others.
    env.bucket.put("odd/tab\tname.csv", "id,n\n999,999\n").await;

    let mut req = ExtractRequest::new(vec![Item::folder("odd/")], LoadMode::Full);
    req.source_columns = true;
    let r = env.run_with(req.clone()).await.unwrap();
    let expected_rows: usize = (1..=keys.len()).sum();
    assert_eq!((r.files as usize, r.rows as usize), (keys.len(), expected_rows));
    let mut expected: Vec<(String, i64)> = keys.iter().enumerate().map(|(i, k)| (k.to_string(), i as i64 + 1)).collect();
    expected.sort();
    assert_eq!(rows_by_key(&env, "odd").await, expected, "each key appears exactly as uploaded, with its own rows");
    let mut loaded = r.tables[0].loaded.clone();
    loaded.sort();
    assert_eq!(loaded, expected.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
    assert_eq!(
        skipped(&r.tables[0]),
        [("odd/tab\tname.csv".to_string(), SkipReason::Unaddressable), ("odd/trailing/".to_string(), SkipReason::DirectoryMarker)]
    );
    let why = &r.tables[0].skipped[0].detail;
    assert!(why.contains("control characters"), "{why}");
    // The rows are the files' own: key i's rows carry n = i.
    assert_eq!(env.scalar("SELECT count(*) FROM odd WHERE _source_key = 'odd/./dot.csv' AND n = 8").await, 9);
    assert_eq!(env.scalar("SELECT count(*) FROM odd WHERE _source_key = 'odd/dot.csv' AND n = 9").await, 10);

    // A delta run finds every key unchanged: the ledger holds the keys exactly as listed.
    req.mode = LoadMode::Delta;
    let r = env.run_with(req).await.unwrap();
    assert_eq!((r.rows, r.tables[0].unchanged), (0, keys.len()));

    // Each key as a file of its own (HEAD, then GET) loads the same rows.
    let items: Vec<Item> = keys.iter().enumerate().map(|(i, k)| Item::File { key: k.to_string(), table: Some(format!("k{i:02}")) }).collect();
    env.run(items, LoadMode::Full).await.unwrap();
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(env.scalar(&format!("SELECT count(*) FROM k{i:02} WHERE n = {i}")).await, i as i64 + 1, "{key}");
    }
    // The unreadable key, picked as a file, is a clear error naming it; the pool is unchanged.
    let before = env.state().await;
    let e = env.run(vec![Item::File { key: "odd/tab\tname.csv".into(), table: Some("tab".into()) }], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("odd/tab\\tname.csv") && e.contains("cannot be read") && e.contains("control characters"), "{e}");
    assert_eq!(env.state().await, before);
}

/// Parquet is read with ranged GETs (footer first, then column chunks): those requests must
/// address odd keys exactly too.
#[tokio::test]
async fn parquet_under_odd_keys_is_read_with_ranged_gets() {
    let env = setup("oddparquet").await;
    let keys = ["pq//a.parquet", "pq/./b.parquet", "pq/../c.parquet", "pq/ü d+e%.parquet"];
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    for (i, k) in keys.iter().enumerate() {
        let n = 1000 * (i as i64 + 1);
        let b = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(0..n))]).unwrap();
        env.bucket.put(k, parquet_bytes(&b)).await;
    }
    env.bucket.put("pq/", "").await;
    let mut req = ExtractRequest::new(vec![Item::folder("pq")], LoadMode::Full);
    req.source_columns = true;
    let r = env.run_with(req).await.unwrap();
    assert_eq!(r.rows, 1000 + 2000 + 3000 + 4000);
    assert_eq!(skipped(&r.tables[0]), [("pq/".to_string(), SkipReason::DirectoryMarker)]);
    let mut expected: Vec<(String, i64)> = keys.iter().enumerate().map(|(i, k)| (k.to_string(), 1000 * (i as i64 + 1))).collect();
    expected.sort();
    assert_eq!(rows_by_key(&env, "pq").await, expected);
}
