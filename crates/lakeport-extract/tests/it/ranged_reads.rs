//! A big object is read as parallel ranged GETs pinned to its ETag (`S3Source::read_stream`):
//! the rows are exact with and without faults between lakeport and S3, the server sees the ranges,
//! and an object rewritten while it is read fails the read instead of mixing two versions — a
//! big text object's ranges and a Parquet object's footer and column chunks alike.

use crate::common;

use std::sync::atomic::Ordering;

use common::setup;
use futures::StreamExt;
use lakeport_core::ConnectionConfig;
use lakeport_extract::{ExtractRequest, Item};
use lakeport_faultproxy::FaultProxy;
use lakeport_pool::LoadMode;
use lakeport_source::{ObjectInfo, S3Source, RANGED_READ_CHUNK};

/// Rows of `id,name,v`; about 28 bytes a row, so 1,000,000 rows make a ~28 MB object (4 ranges).
fn big_csv(rows: usize) -> String {
    let mut s = String::with_capacity(rows * 48);
    s.push_str("id,name,v\n");
    for i in 0..rows {
        s.push_str(&format!(
            "{i},name-{:08},{}.{:02}\n",
            i * 7919 % 100_000_000,
            i % 1000,
            i % 100
        ));
    }
    s
}

/// Connection `name` with the least-privilege `reader` key, its requests through `endpoint` (a
/// proxy in front of the test server).
async fn add_connection_through(env: &common::Env, name: &str, endpoint: &str) {
    let (key, secret) = env.s3.user("reader");
    let mut config = env.s3.config(&env.bucket.name, &key);
    config.endpoint = Some(endpoint.to_string());
    env.pool.add_connection(name, ConnectionConfig::S3Extraction(config), Some(&secret)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_big_object_is_read_in_parallel_ranges_and_loads_exactly_also_through_faults() {
    const ROWS: usize = 1_000_000;
    let env = setup("ranged").await;
    let body = big_csv(ROWS);
    let size = body.len() as u64;
    assert!(
        size > 3 * RANGED_READ_CHUNK,
        "the object spans several ranges: {size} bytes"
    );
    env.bucket.put("big/events.csv", body).await;
    let expected_sum: i64 = (0..ROWS as i64).sum();

    // Counting proxy (no faults): the object arrives as ranged GETs, the rows are exact.
    let counter = FaultProxy::start(&env.s3.endpoint, 1, 0.0).await;
    add_connection_through(&env, "counted", &counter.endpoint).await;
    let mut req = ExtractRequest::new(vec![Item::file("big/events.csv")], LoadMode::Full);
    req.concurrency = Some(4);
    let report = lakeport_core::runs::extract(
        &env.pool,
        "counted",
        &req,
        std::sync::Arc::new(lakeport_extract::NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(report.rows, ROWS as u64);
    assert_eq!(
        env.scalar("SELECT count(DISTINCT id) FROM events").await,
        ROWS as i64
    );
    assert_eq!(env.scalar("SELECT sum(id) FROM events").await, expected_sum);
    let ranges = size.div_ceil(RANGED_READ_CHUNK);
    let gets = counter.stats.gets.load(Ordering::Relaxed);
    println!(
        "{size} bytes in {ranges} ranges: the server saw {gets} object GETs ({})",
        counter.stats.summary()
    );
    assert!(
        gets >= ranges,
        "one GET per range at least: {gets} GETs for {ranges} ranges"
    );

    // Through faults (503s, 500s, bodies reset or cut short, stalls on 20% of requests): every
    // load is exact or fails cleanly with the table unchanged.
    let proxy = FaultProxy::start(&env.s3.endpoint, 20261130, 0.2).await;
    add_connection_through(&env, "flaky", &proxy.endpoint).await;
    let mut exact = 0;
    for run in 0..3 {
        let before = env.state().await;
        match lakeport_core::runs::extract(
            &env.pool,
            "flaky",
            &req,
            std::sync::Arc::new(lakeport_extract::NoProgress),
        )
        .await
        {
            Ok(report) => {
                assert_eq!(report.rows, ROWS as u64, "run {run}");
                assert_eq!(
                    env.scalar("SELECT count(DISTINCT id) FROM events").await,
                    ROWS as i64,
                    "run {run}"
                );
                assert_eq!(
                    env.scalar("SELECT sum(id) FROM events").await,
                    expected_sum,
                    "run {run}"
                );
                exact += 1;
            }
            Err(e) => {
                println!("run {run} failed cleanly: {e}");
                assert_eq!(
                    env.state().await,
                    before,
                    "run {run}: a failed load changed the pool"
                );
            }
        }
    }
    println!(
        "through faults: {exact} of 3 loads exact; {}",
        proxy.stats.summary()
    );
    assert!(
        proxy.stats.injected_total() > 0,
        "faults were injected: {}",
        proxy.stats.summary()
    );
    assert!(exact >= 2, "{exact} of 3 loads succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_object_rewritten_while_it_is_read_fails_the_read_instead_of_mixing_versions() {
    let env = setup("ranged-change").await;
    let body = big_csv(1_000_000);
    env.bucket.put("big/changing.csv", body.clone()).await;
    let (key, secret) = env.s3.user("reader");
    let source = S3Source::connect(&env.s3.config(&env.bucket.name, &key), &secret).unwrap();
    let info = source.head("big/changing.csv").await.unwrap();

    // Unchanged: the ranges put together are the object, byte for byte.
    let mut whole = Vec::new();
    let mut stream = source.read_stream(&info, 2).await.unwrap();
    while let Some(chunk) = stream.next().await {
        whole.extend_from_slice(&chunk.unwrap());
    }
    assert!(
        whole == body.as_bytes(),
        "the ranges put together differ from the object"
    );

    // Listed without an ETag: nothing to pin ranges to, so the object is read as one GET.
    let counter = FaultProxy::start(&env.s3.endpoint, 1, 0.0).await;
    let mut config = env.s3.config(&env.bucket.name, &key);
    config.endpoint = Some(counter.endpoint.clone());
    let counted = S3Source::connect(&config, &secret).unwrap();
    let unpinned = ObjectInfo { etag: None, ..info.clone() };
    let mut whole = Vec::new();
    let mut stream = counted.read_stream(&unpinned, 4).await.unwrap();
    while let Some(chunk) = stream.next().await {
        whole.extend_from_slice(&chunk.unwrap());
    }
    assert!(whole == body.as_bytes(), "the object read whole differs from it");
    assert_eq!(counter.stats.gets.load(Ordering::Relaxed), 1, "one GET, no unpinned ranges: {}", counter.stats.summary());

    // Rewritten after the first range arrived: a later range is refused (If-Match), never a mix.
    let mut stream = source.read_stream(&info, 2).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.len() as u64, RANGED_READ_CHUNK);
    env.bucket
        .put("big/changing.csv", body.replace("name-", "NAME-"))
        .await;
    let mut error = None;
    while let Some(chunk) = stream.next().await {
        if let Err(e) = chunk {
            error = Some(e);
            break;
        }
    }
    let e = error.expect("a range read after the rewrite must fail");
    println!("{e}");
    assert!(
        e.to_string().contains("big/changing.csv")
            && e.to_string()
                .contains("the object changed while it was read"),
        "the error names the object and says why: {e}"
    );
    assert_eq!(e.kind(), lakeport_source::ErrorKind::Conflict, "{e}");
}

/// One row group of eight Int64 columns, 200,000 rows, neither compressed nor dictionary-encoded:
/// column chunks of 1.6 MB side by side (12.8 MB), as a big Parquet file's row group lies.
fn wide_parquet(rows: i64) -> Vec<u8> {
    use arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let columns: Vec<(String, ArrayRef)> = (0..8)
        .map(|c| (format!("c{c}"), std::sync::Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i * 8 + c))) as ArrayRef))
        .collect();
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(parquet::basic::Compression::UNCOMPRESSED)
        .set_max_row_group_row_count(Some(rows as usize))
        .build();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parquet_row_group_is_fetched_as_parallel_ranges_and_loads_exactly_also_through_faults() {
    const ROWS: i64 = 200_000;
    let env = setup("ranged-parquet").await;
    env.bucket.put("wide/wide.parquet", wide_parquet(ROWS)).await;
    // Every value of the eight columns is distinct: 0 .. 8 × ROWS.
    let check = |run: &str, report: &lakeport_extract::ExtractReport| {
        assert_eq!(report.rows, ROWS as u64, "{run}");
    };
    async fn exact(env: &common::Env) -> (i64, i64) {
        let sum = env.scalar("SELECT sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7) FROM wide").await;
        (sum, env.scalar("SELECT count(DISTINCT c7) FROM wide").await)
    }
    let expected = ((0..8 * ROWS).sum::<i64>(), ROWS);

    // The same load with 1 and with 4 GETs at once, through a counting proxy: the row group
    // comes as one GET, then as at least four (a share each of its 12.8 MB).
    let counter = FaultProxy::start(&env.s3.endpoint, 1, 0.0).await;
    add_connection_through(&env, "counted", &counter.endpoint).await;
    let mut gets = Vec::new();
    for concurrency in [1, 4] {
        let before = counter.stats.gets.load(Ordering::Relaxed);
        let mut req = ExtractRequest::new(vec![Item::file("wide/wide.parquet")], LoadMode::Full);
        req.concurrency = Some(concurrency);
        let report = lakeport_core::runs::extract(&env.pool, "counted", &req, std::sync::Arc::new(lakeport_extract::NoProgress)).await.unwrap();
        check(&format!("concurrency {concurrency}"), &report);
        assert_eq!(exact(&env).await, expected, "concurrency {concurrency}");
        gets.push(counter.stats.gets.load(Ordering::Relaxed) - before);
    }
    println!("object GETs of the load: {} with 1 at once, {} with 4 at once", gets[0], gets[1]);
    assert!(gets[1] >= gets[0] + 3, "the row group's 12.8 MB came in at least four GETs instead of one: {gets:?}");

    // Through faults on 20% of requests: every load exact, or a clean failure with the table unchanged.
    let proxy = FaultProxy::start(&env.s3.endpoint, 20261201, 0.2).await;
    add_connection_through(&env, "flaky", &proxy.endpoint).await;
    let mut done = 0;
    for run in 0..3 {
        let before = env.state().await;
        let mut req = ExtractRequest::new(vec![Item::file("wide/wide.parquet")], LoadMode::Full);
        req.concurrency = Some(4);
        match lakeport_core::runs::extract(&env.pool, "flaky", &req, std::sync::Arc::new(lakeport_extract::NoProgress)).await {
            Ok(report) => {
                check(&format!("run {run}"), &report);
                assert_eq!(exact(&env).await, expected, "run {run}");
                done += 1;
            }
            Err(e) => {
                println!("run {run} failed cleanly: {e}");
                assert_eq!(env.state().await, before, "run {run}: a failed load changed the pool");
            }
        }
    }
    println!("through faults: {done} of 3 loads exact; {}", proxy.stats.summary());
    assert!(proxy.stats.injected_total() > 0, "faults were injected: {}", proxy.stats.summary());
    assert!(done >= 2, "{done} of 3 loads succeeded");
}

/// Every read of one object in several GETs is pinned to the version listed: a Parquet object's
/// footer and then its column chunks (one GET for them, or several at once), and a big text
/// object's ranges after its sample. Rewritten between those GETs, the read fails as changed
/// (`ReadCause::Changed`, kind Conflict, naming the object) instead of mixing two versions; read
/// unchanged, the same reads give every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parquet_and_text_objects_rewritten_between_their_gets_fail_as_changed() {
    use futures::TryStreamExt;
    use lakeport_formats::{open_parquet, open_text, FileKind, FormatError, ReadCause, ReadOptions};

    let env = setup("changed-between").await;
    let (key, secret) = env.s3.user("reader");
    let source = S3Source::connect(&env.s3.config(&env.bucket.name, &key), &secret).unwrap();
    let read = ReadOptions::default();
    let changed = |e: &FormatError, name: &str| {
        assert!(matches!(e, FormatError::Read { cause: ReadCause::Changed, .. }), "{e:?}");
        assert_eq!(e.kind(), lakeport_source::ErrorKind::Conflict, "{e}");
        assert!(e.to_string().contains(name) && e.to_string().contains("the object changed while it was read"), "{e}");
    };

    let rows = 200_000;
    let v1 = wide_parquet(rows);
    for parallel in [1, 4] {
        env.bucket.put("changing/wide.parquet", v1.clone()).await;
        let open = || async {
            let info = source.head("changing/wide.parquet").await.unwrap();
            let (store, path) = source.locate(&info.key).unwrap();
            let name = format!("s3://{}/{}", env.bucket.name, info.key);
            (open_parquet(&name, store, path, info.size, info.etag.clone(), 8192, parallel).await.unwrap(), name)
        };
        // Unchanged: every row.
        let (opened, _) = open().await;
        let schema = opened.schema();
        let batches: Vec<_> = opened.into_batches(schema, &read).try_collect().await.unwrap();
        assert_eq!(batches.iter().map(|b| b.num_rows() as i64).sum::<i64>(), rows, "parallel {parallel}");
        // Rewritten after the footer was read: the column chunks' GET is refused.
        let (opened, name) = open().await;
        env.bucket.put("changing/wide.parquet", wide_parquet(rows + 1)).await;
        let schema = opened.schema();
        let e = opened.into_batches(schema, &read).try_collect::<Vec<_>>().await.expect_err("a rewritten Parquet object must not be read");
        changed(&e, &name);
    }

    // Text: four ranges of RANGED_READ_CHUNK, two in flight; rewritten once the sample is read,
    // the last range is asked for after the rewrite.
    let body = big_csv(1_000_000);
    assert!(body.len() as u64 > 3 * RANGED_READ_CHUNK);
    env.bucket.put("changing/big.csv", body.clone()).await;
    let info = source.head("changing/big.csv").await.unwrap();
    let name = format!("s3://{}/{}", env.bucket.name, info.key);
    let stream = source.read_stream(&info, 2).await.unwrap().map_err(std::io::Error::other).boxed();
    let opened = open_text(&name, FileKind::from_key(&info.key).unwrap(), stream, &read).await.unwrap();
    env.bucket.put("changing/big.csv", body.replace("name-", "NAME-")).await;
    let schema = opened.schema();
    let e = opened.into_batches(schema, &read).try_collect::<Vec<_>>().await.expect_err("a rewritten text object must not be read");
    changed(&e, &name);
}
