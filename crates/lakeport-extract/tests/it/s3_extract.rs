//! Extraction against a real S3 server (ministack with IAM enforced), over HTTP with SigV4, using
//! a key that holds only s3:GetBucketAcl, s3:GetObject and s3:ListBucket.

use crate::common;

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{events_csv, parquet_bytes, setup, setup_on, PoolKind};
use lakeport_extract::{ChangedObject, ExtractError, ExtractRequest, Item, SkipReason, SkippedObject};
use lakeport_core::ConnectionConfig;
use lakeport_pool::LoadMode;

#[tokio::test]
async fn every_format_as_file_items_with_typed_columns() {
    let env = setup("formats").await;
    env.bucket.put("raw/events.csv", events_csv(0, 100)).await;
    let nd: String = (0..50).map(|i| format!("{{\"case_id\": {i}, \"activity\": \"a{i}\", \"ts\": \"2024-02-01T10:00:00Z\"}}\n")).collect();
    env.bucket.put("raw/Events Lines.ndjson", nd).await;
    let arr = format!("[{}]", (0..30).map(|i| format!("{{\"case_id\": {i}, \"ok\": true}}")).collect::<Vec<_>>().join(",\n"));
    env.bucket.put("raw/array.json", arr).await;
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false), Field::new("amount", DataType::Float64, true)]));
    let b = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..70)), Arc::new(Float64Array::from_iter_values((0..70).map(|i| i as f64 / 2.0)))]).unwrap();
    env.bucket.put("raw/amounts.parquet", parquet_bytes(&b)).await;

    let report = env
        .run(vec![Item::file("raw/events.csv"), Item::file("raw/Events Lines.ndjson"), Item::file("raw/array.json"), Item::file("raw/amounts.parquet")], LoadMode::Full)
        .await
        .unwrap();
    assert_eq!(report.rows, 100 + 50 + 30 + 70);
    assert_eq!(
        env.state().await,
        vec![("amounts".into(), 70), ("array".into(), 30), ("events".into(), 100), ("events_lines".into(), 50)]
    );
    // Types were inferred, not strings: arithmetic and date functions work on them.
    assert_eq!(env.scalar("SELECT CAST(sum(cost * 4) AS BIGINT) FROM events").await, (0..100).map(|i| (i % 100) * 4 + 1).sum::<i64>());
    assert_eq!(env.scalar("SELECT count(*) FROM events WHERE ts >= TIMESTAMP '2024-01-15 00:00:00'").await, 100 - (0..100).filter(|i| 1 + i % 28 < 15).count() as i64);
    assert_eq!(env.scalar("SELECT count(*) FROM events_lines WHERE extract(hour FROM ts) = 10").await, 50);
    assert_eq!(env.scalar("SELECT count(*) FROM array WHERE ok").await, 30);
    assert_eq!(env.scalar("SELECT CAST(sum(amount * 2) AS BIGINT) FROM amounts").await, (0..70).sum::<i64>());
    // Resource codes with leading zeros stay text.
    assert_eq!(env.scalar("SELECT count(*) FROM events WHERE resource = 'R003'").await, (0..100).filter(|i| i % 7 == 3).count() as i64);
}

#[tokio::test]
async fn nested_json_becomes_struct_and_list_columns() {
    let env = setup("nested").await;
    let nd = "{\"case\": 1, \"vendor\": {\"id\": \"V1\", \"rating\": 4.5}, \"items\": [\"a\", \"b\"]}\n\
              {\"case\": 2, \"vendor\": {\"id\": \"V2\", \"rating\": null}, \"items\": []}\n";
    env.bucket.put("n/orders.ndjson.zst", zstd(nd.as_bytes())).await;
    env.run(vec![Item::file("n/orders.ndjson.zst")], LoadMode::Full).await.unwrap();
    assert_eq!(env.scalar("SELECT count(*) FROM orders WHERE vendor['id'] = 'V1' AND array_length(items) = 2").await, 1);
    assert_eq!(env.scalar("SELECT CAST(sum(vendor['rating'] * 2) AS BIGINT) FROM orders").await, 9);
}

async fn folder_full_then_delta_then_changed_object(kind: PoolKind) {
    let env = setup_on("delta", kind).await;
    env.bucket.put("log/part-1.csv", events_csv(0, 10)).await;
    env.bucket.put("log/part-2.csv.gz", gzip(events_csv(10, 10).as_bytes())).await;
    env.bucket.put("log/_SUCCESS", "").await;
    env.bucket.put("log/part-0-empty.csv", "").await;
    let r = env.run(vec![Item::folder("log/")], LoadMode::Full).await.unwrap();
    assert_eq!((r.files, r.rows), (2, 20));
    assert_eq!(r.tables[0].skipped, vec![SkippedObject { key: "log/_SUCCESS".into(), reason: SkipReason::JobMarker, detail: "job marker file".into() }]);
    assert_eq!(r.tables[0].skipped_empty, vec!["log/part-0-empty.csv".to_string()]);

    // Rerun of a delta: nothing new, and it says so.
    let r = env.run(vec![Item::folder("log")], LoadMode::Delta).await.unwrap();
    assert_eq!((r.files, r.rows, r.tables[0].unchanged, r.tables[0].committed), (0, 0, 3, false), "the empty file is in the ledger too");
    assert_eq!(env.scalar("SELECT count(*) FROM log").await, 20);

    // A new file: only it is appended.
    env.bucket.put("log/part-3.csv", events_csv(20, 5)).await;
    let r = env.run(vec![Item::folder("log")], LoadMode::Delta).await.unwrap();
    assert_eq!(r.tables[0].loaded, vec!["log/part-3.csv".to_string()]);
    assert_eq!(env.scalar("SELECT count(*) FROM log").await, 25);
    assert_eq!(env.scalar("SELECT count(DISTINCT case_id) FROM log").await, 25);

    // A changed object (new ETag): its earlier rows are replaced in the same commit.
    env.bucket.put("log/part-3.csv", events_csv(100, 3)).await;
    let r = env.run(vec![Item::folder("log")], LoadMode::Delta).await.unwrap();
    assert_eq!(r.tables[0].changed, vec![ChangedObject { key: "log/part-3.csv".into(), rows_before: 5, rows_after: 3 }]);
    assert_eq!(env.scalar("SELECT count(*) FROM log").await, 23);
    assert_eq!(env.scalar("SELECT count(*) FROM log WHERE case_id >= 100").await, 3);

    // A full load replaces everything with the folder's current contents.
    let r = env.run(vec![Item::folder("log")], LoadMode::Full).await.unwrap();
    assert_eq!(r.rows, 23);
    assert_eq!(env.scalar("SELECT count(*) FROM log").await, 23);
    let r = env.run(vec![Item::folder("log")], LoadMode::Delta).await.unwrap();
    assert_eq!(r.rows, 0);

    // The job history has every run, with counts.
    let jobs = env.pool.jobs(10).await.unwrap();
    assert_eq!(jobs.len(), 6);
    assert!(jobs.iter().all(|j| j.status == lakeport_pool::JobStatus::Succeeded));
    assert_eq!(jobs[1].rows, 23);
}

#[tokio::test]
async fn pagination_past_1000_objects() {
    let env = setup("paging").await;
    let puts = (0..1105).map(|i| {
        let b = &env.bucket;
        async move { b.put(&format!("many/f{i:05}.csv"), format!("id,v\n{i},{}\n", i * 2)).await }
    });
    futures::future::join_all(puts).await;
    let mut req = ExtractRequest::new(vec![Item::folder("many")], LoadMode::Full);
    req.concurrency = Some(16);
    let r = env.run_with(req).await.unwrap();
    assert_eq!((r.files, r.rows), (1105, 1105));
    assert_eq!(env.scalar("SELECT sum(v) FROM many").await, (0..1105).map(|i| i * 2).sum::<i64>());
}

async fn empty_folder_and_missing_file_are_clear_errors(kind: PoolKind) {
    let env = setup_on("empty", kind).await;
    env.bucket.put("other/x.csv", "a\n1\n").await;
    let e = env.run(vec![Item::folder("nothing-here/")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("nothing-here/") && e.contains("empty"), "{e}");
    let e = env.run(vec![Item::file("nope.csv")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("nope.csv") && e.contains("does not exist"), "{e}");
    assert!(env.state().await.is_empty());
    let jobs = env.pool.jobs(10).await.unwrap();
    assert_eq!(jobs[0].status, lakeport_pool::JobStatus::Failed);
    assert!(jobs[0].error.as_deref().unwrap().contains("nope.csv"));
}

async fn mixed_schemas_in_a_folder_name_the_file_and_change_nothing(kind: PoolKind) {
    let env = setup_on("mixed", kind).await;
    env.bucket.put("ok/a.csv", events_csv(0, 5)).await;
    env.run(vec![Item::folder("ok")], LoadMode::Full).await.unwrap();
    let before = env.state().await;

    env.bucket.put("mix/a.csv", "id,name\n1,x\n").await;
    env.bucket.put("mix/b.csv", "id,label\n2,y\n").await;
    let e = env.run(vec![Item::folder("ok"), Item::folder("mix")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("mix/b.csv") && e.contains("'name' is missing") && e.contains("mix/a.csv"), "{e}");

    env.bucket.put("types/a.csv", "id,flag\n1,true\n").await;
    env.bucket.put("types/b.csv", "id,flag\n2,17\n").await;
    let e = env.run(vec![Item::folder("types")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("types/b.csv") && e.contains("'flag' is Int64 here but Boolean"), "{e}");

    env.bucket.put("kinds/a.csv", "id\n1\n").await;
    env.bucket.put("kinds/b.json", "{\"id\": 2}\n").await;
    let e = env.run(vec![Item::folder("kinds")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("kinds/b.json") && e.contains("one type"), "{e}");

    assert_eq!(env.state().await, before, "a failed extraction leaves the pool unchanged");
    assert_eq!(env.table_dirs().await, vec!["ok"], "no table directory was left behind");
}

/// Only the first files (a probe of `concurrency` files) fix the schema up front; every later file
/// is checked as it loads, so one GET per object suffices.
async fn files_past_the_schema_probe_are_checked_as_they_load(kind: PoolKind) {
    let env = setup_on("probe", kind).await;
    for i in 0..12 {
        // part-09 has a decimal value: the column must widen to Float64 (staging restarts).
        let v = if i == 9 { "2.5".to_string() } else { i.to_string() };
        env.bucket.put(&format!("wide/part-{i:02}.csv"), format!("id,v\n{i},{v}\n{},{i}\n", i + 100)).await;
    }
    env.bucket.put("wide/part-05b.csv", "").await;
    let mut req = ExtractRequest::new(vec![Item::folder("wide")], LoadMode::Full);
    req.concurrency = Some(2);
    let r = env.run_with(req.clone()).await.unwrap();
    assert_eq!((r.files, r.rows), (12, 24));
    assert_eq!(r.tables[0].skipped_empty, vec!["wide/part-05b.csv".to_string()]);
    let schema = env.pool.table_schema("wide").await.unwrap().unwrap();
    assert_eq!(schema.field_with_name("v").unwrap().data_type(), &DataType::Float64);
    // v: 0..=11 with 9 replaced by 2.5 in the first rows, 0..=11 in the second rows.
    assert_eq!(env.scalar("SELECT CAST(sum(v) * 10 AS BIGINT) FROM wide").await, 1255);
    assert_eq!(env.scalar("SELECT count(DISTINCT id) FROM wide").await, 24, "no rows lost or doubled by the restart");
    let before = env.state().await;
    let files_before = env.warehouse_files().await;

    // A late file with another column fails the load, names the file, and changes nothing —
    // not even the data file of part-04 (200,000 rows), which is likely still being written
    // when part-05's header is read: the lanes close it on abort and it is deleted too.
    for i in 0..6 {
        let header = if i == 5 { "id,w" } else { "id,v" };
        let rows: String = if i == 4 { (0..200_000).map(|r| format!("{r},{r}\n")).collect() } else { format!("{i},{i}\n") };
        env.bucket.put(&format!("late/part-{i:02}.csv"), format!("{header}\n{rows}")).await;
    }
    let mut late = ExtractRequest::new(vec![Item::folder("wide"), Item::folder("late")], LoadMode::Full);
    late.concurrency = Some(2);
    let e = env.run_with(late).await.unwrap_err().to_string();
    assert!(e.contains("late/part-05.csv") && e.contains("'v' is missing"), "{e}");
    assert_eq!(env.state().await, before, "a failed extraction leaves the pool unchanged");
    assert_eq!(env.warehouse_files().await, files_before, "the staged files of the failed load were deleted");
}

async fn malformed_files_are_named_and_leave_the_pool_unchanged(kind: PoolKind) {
    let env = setup_on("malformed", kind).await;
    env.bucket.put("t/good.csv", events_csv(0, 10)).await;
    env.run(vec![Item::folder("t")], LoadMode::Full).await.unwrap();
    let before = env.state().await;

    let mut bad_csv = events_csv(10, 3000);
    bad_csv.push_str("9999,step,2024-01-01 10:00:00,not-a-number,R001\n");
    env.bucket.put("t/bad.csv", bad_csv).await;
    let e = env.run(vec![Item::folder("t")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("t/bad.csv") && e.contains("line 3002") && e.contains("column 'cost'") && e.contains("not-a-number"), "{e}");
    assert_eq!(env.state().await, before);
    env.bucket.delete("t/bad.csv").await;

    env.bucket.put("j/a.ndjson", "{\"id\": 1}\n{\"id\": 2\n{\"id\": 3}\n").await;
    let e = env.run(vec![Item::file("j/a.ndjson")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("j/a.ndjson") && e.contains("line 2"), "{e}");

    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let b = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..1000))]).unwrap();
    let mut pq = parquet_bytes(&b);
    pq.truncate(pq.len() - 20);
    env.bucket.put("p/broken.parquet", pq).await;
    let e = env.run(vec![Item::file("p/broken.parquet")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("p/broken.parquet") && e.contains("Parquet"), "{e}");

    env.bucket.put("p/empty.csv", "").await;
    let e = env.run(vec![Item::file("p/empty.csv")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("p/empty.csv") && e.contains("empty"), "{e}");

    assert_eq!(env.state().await, before);
    let data = env.warehouse_files().await.into_iter().filter(|f| f.starts_with("t/data/")).count();
    assert_eq!(data, 1, "the failed loads' data files were removed");
}

/// The input through the real S3 server: a quoted title over lines 2-3, integer
/// priorities on lines 4-5, `high` on line 6. With 3 rows sampled the error names line 6 (not
/// arrow-csv's record number 5) and column 'priority', plain and compressed, and the pool keeps
/// the table it had.
#[tokio::test]
async fn a_type_error_after_a_multi_line_record_names_its_physical_line() {
    let env = setup("lines").await;
    let tickets = "id,title,priority\n1,\"Printer\njams\",1\n2,VPN down,2\n3,Disk full,3\n4,Mail slow,high\n";
    env.bucket.put("tickets.csv", "id,title,priority\n1,first,1\n").await;
    env.run(vec![Item::file("tickets.csv")], LoadMode::Full).await.unwrap();
    let before = env.state().await;
    assert_eq!(before, vec![("tickets".into(), 1)]);

    let high = tickets.find("high").unwrap();
    for (key, body) in [("tickets.csv", tickets.as_bytes().to_vec()), ("tickets.csv.gz", gzip(tickets.as_bytes())), ("tickets.csv.zst", zstd(tickets.as_bytes()))] {
        env.bucket.put(key, body).await;
        let mut req = ExtractRequest::new(vec![Item::File { key: key.into(), table: Some("tickets".into()) }], LoadMode::Full);
        req.read.infer_rows = 3;
        let e = env.run_with(req).await.unwrap_err().to_string();
        assert!(
            e.contains(&format!("{key}, line 6 (byte offset {high}), column 'priority': value 'high' is not Int64")),
            "{key}: {e}"
        );
        assert_eq!(env.state().await, before, "{key}: a failed load changed the pool");
    }
    assert_eq!(env.scalar("SELECT count(*) FROM tickets WHERE priority = 1").await, 1);
}

#[tokio::test]
async fn type_fallback_makes_the_column_text() {
    let env = setup("fallback").await;
    let mut csv = String::from("id,code\n");
    for i in 0..2000 {
        csv.push_str(&format!("{i},{i}\n"));
    }
    csv.push_str("2000,A-17\n");
    env.bucket.put("codes.csv", csv).await;
    assert!(env.run(vec![Item::file("codes.csv")], LoadMode::Full).await.is_err());
    let mut req = ExtractRequest::new(vec![Item::file("codes.csv")], LoadMode::Full);
    req.type_fallback = true;
    let r = env.run_with(req).await.unwrap();
    assert_eq!(r.tables[0].text_columns, vec!["code".to_string()]);
    assert_eq!(env.scalar("SELECT count(*) FROM codes WHERE code = 'A-17'").await, 1);
    // A larger sample finds it without any fallback.
    let mut req = ExtractRequest::new(vec![Item::file("codes.csv")], LoadMode::Full);
    req.read.infer_rows = 5000;
    let r = env.run_with(req).await.unwrap();
    assert!(r.tables[0].text_columns.is_empty());
}

#[tokio::test]
async fn read_only_with_least_privilege_and_wrong_secret() {
    let env = setup("readonly").await;
    env.bucket.put("d/x.csv", events_csv(0, 3)).await;
    env.bucket.put("j/y.json", "[{\"a\": 1}]").await;
    let before = env.bucket.fingerprint().await;
    if let Err(e) = env.run(vec![Item::folder("d/"), Item::file("j/y.json")], LoadMode::Full).await {
        panic!("{e}");
    }
    assert_eq!(env.bucket.fingerprint().await, before, "the source bucket is unchanged");

    let (key, _) = env.s3.user("reader");
    env.pool
        .add_connection("bad", ConnectionConfig::S3Extraction(env.s3.config(&env.bucket.name, &key)), Some(&lakeport_source::Secret::new("wrong-secret")))
        .await
        .unwrap();
    let e = lakeport_core::runs::extract(&env.pool, "bad", &ExtractRequest::new(vec![Item::folder("d")], LoadMode::Full), Arc::new(lakeport_extract::NoProgress))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ExtractError::Source(_)), "{msg}");
    assert!(msg.contains("SignatureDoesNotMatch") || msg.contains("secret"), "{msg}");
    assert!(!msg.contains("wrong-secret"));
}

#[tokio::test]
async fn source_columns_on_request() {
    let env = setup("srccols").await;
    env.bucket.put("s/a.csv", events_csv(0, 2)).await;
    env.bucket.put("s/b.csv", events_csv(2, 3)).await;
    let mut req = ExtractRequest::new(vec![Item::folder("s")], LoadMode::Full);
    req.source_columns = true;
    env.run_with(req.clone()).await.unwrap();
    assert_eq!(env.scalar("SELECT count(*) FROM s WHERE _source_key = 's/b.csv'").await, 3);
    env.bucket.put("s/c.csv", events_csv(5, 1)).await;
    req.mode = LoadMode::Delta;
    env.run_with(req).await.unwrap();
    assert_eq!(env.scalar("SELECT count(DISTINCT _source_key) FROM s WHERE _source_modified IS NOT NULL").await, 3);
    assert_eq!(env.scalar("SELECT count(*) FROM s WHERE case_id = 5 AND _source_key = 's/c.csv'").await, 1);
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd_codec::encode_all(data, 3).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn hostile_object_names_become_safe_tables_inside_the_warehouse() {
    let env = setup("names").await;
    let long = format!("odd/{}.csv", "very-long-name-".repeat(30));
    // (Keys with literal `.`/`..` segments load too: tests/it/object_keys.rs; a `../` in a name is
    // covered by the table-name unit tests.)
    let keys = ["odd/%2E%2E-escape.csv", "odd/with space & (parens).csv", "odd/ünïcödé-Événements.csv", long.as_str(), "odd/..csv"];
    for k in keys {
        env.bucket.put(k, "id,v\n1,2\n").await;
    }
    let mut names = Vec::new();
    for k in keys {
        match env.run(vec![Item::file(k)], LoadMode::Full).await {
            Ok(r) => names.push(r.tables[0].table.clone()),
            Err(e) => {
                // A name with nothing usable in it is refused with a clear message, not mangled.
                assert_eq!(k, "odd/..csv", "{k}: {e}");
                assert!(e.to_string().contains("name the table explicitly"), "{e}");
            }
        }
    }
    assert_eq!(names[0], "t_2e_2e_escape");
    assert_eq!(names[1], "with_space_parens");
    assert_eq!(names[2], "n_c_d_v_nements");
    assert!(names[3].len() <= 128 && names[3].starts_with("very_long_name_"));
    // The folder of them all loads as one table too.
    let r = env.run(vec![Item::Folder { prefix: "odd/".into(), table: Some("odd_names".into()), include: vec![], exclude: vec![] }], LoadMode::Full).await.unwrap();
    let skipped: Vec<(&str, SkipReason)> = r.tables[0].skipped.iter().map(|s| (s.key.as_str(), s.reason)).collect();
    assert_eq!(skipped, vec![("odd/..csv", SkipReason::Hidden)], "hidden files are passed over in a folder");
    assert_eq!(env.scalar("SELECT count(*) FROM odd_names").await, 4);
    // Nothing was written outside the pool's warehouse directory, and every table directory is one
    // of the sanitised names.
    let root = env.dir.path().canonicalize().unwrap();
    let mut tables: Vec<String> = std::fs::read_dir(root.join("warehouse/test")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    tables.sort();
    let mut expected = names.clone();
    expected.push("odd_names".into());
    expected.sort();
    assert_eq!(tables, expected);
    let top: Vec<String> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(top.iter().all(|f| ["warehouse", "secrets", "catalog.db", "catalog.db-wal", "catalog.db-shm"].contains(&f.as_str())), "{top:?}");
    assert!(!root.parent().unwrap().join("escape").exists());
}

lakeport_testkit::pool_kinds!(
    folder_full_then_delta_then_changed_object,
    empty_folder_and_missing_file_are_clear_errors,
    mixed_schemas_in_a_folder_name_the_file_and_change_nothing,
    files_past_the_schema_probe_are_checked_as_they_load,
    malformed_files_are_named_and_leave_the_pool_unchanged,
);
