//! Micro-benchmark of the text readers on in-memory data: sample + type inference (`open_text`)
//! and the full decode into typed Arrow batches (`into_batches`), for CSV and NDJSON shaped like
//! the event log of `bench/gen.py`. `cargo bench -p lakeport-formats` (release profile).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures::StreamExt;
use lakeport_formats::{open_text, ByteStream, FileKind, ReadOptions};

const ROWS: usize = 100_000;
const ACTIVITIES: [&str; 6] = ["Create Purchase Order", "Approve Requisition", "Receive Invoice", "Pay Invoice", "Change Price", "Vendor Reminder"];
const VENDORS: [&str; 4] = ["Acme GmbH", "\"Stark & Co, KG\"", "Initech Inc.", "Wonka AG"];

/// One event row drawn from `rng` (seeded, so every run decodes the same bytes).
fn event(rng: &mut fastrand::Rng, i: usize) -> (i64, String, &'static str, String, f64, &'static str) {
    let case = 10_000_000 + i as i64 / 9;
    let secs = 1_672_531_200 + (rng.u64(..) % 63_072_000) as i64;
    let ts = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string();
    let cost = (rng.u64(..) % 100_000) as f64 / 100.0;
    (i as i64 + 1, format!("CASE-{case}"), ACTIVITIES[rng.u64(..) as usize % ACTIVITIES.len()], ts, cost, VENDORS[rng.u64(..) as usize % VENDORS.len()])
}

fn csv_data() -> Bytes {
    let mut rng = fastrand::Rng::with_seed(42);
    let mut s = String::from("event_id,case_id,activity,timestamp,cost,vendor\n");
    for i in 0..ROWS {
        let (id, case, act, ts, cost, vendor) = event(&mut rng, i);
        s.push_str(&format!("{id},{case},{act},{ts},{cost},{vendor}\n"));
    }
    Bytes::from(s)
}

fn ndjson_data() -> Bytes {
    let mut rng = fastrand::Rng::with_seed(42);
    let mut s = String::new();
    for i in 0..ROWS {
        let (id, case, act, ts, cost, vendor) = event(&mut rng, i);
        let vendor = vendor.trim_matches('"').replace('"', "\\\"");
        s.push_str(&format!(r#"{{"event_id":{id},"case_id":"{case}","activity":"{act}","timestamp":"{ts}","cost":{cost},"vendor":"{vendor}"}}"#));
        s.push('\n');
    }
    Bytes::from(s)
}

/// The data as an object body arrives: 256 KiB chunks.
fn stream(data: &Bytes) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = data.chunks(256 << 10).map(|c| Ok(data.slice_ref(c))).collect();
    futures::stream::iter(chunks).boxed()
}

async fn decode_all(name: &str, data: &Bytes, options: &ReadOptions) -> usize {
    let opened = open_text(name, FileKind::from_key(name).unwrap(), stream(data), options).await.unwrap();
    let schema = opened.schema();
    let mut batches = opened.into_batches(schema, options);
    let mut rows = 0;
    while let Some(b) = batches.next().await {
        rows += b.unwrap().num_rows();
    }
    assert_eq!(rows, ROWS);
    rows
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let options = ReadOptions::default();
    for (name, data) in [("events.csv", csv_data()), ("events.ndjson", ndjson_data())] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.sample_size(10);
        group.bench_function("infer (open_text: sample + schema)", |b| {
            b.iter_batched(
                || stream(&data),
                |s| rt.block_on(async { black_box(open_text(name, FileKind::from_key(name).unwrap(), s, &options).await.unwrap().schema()) }),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("infer + decode (100k rows)", |b| b.iter(|| rt.block_on(decode_all(name, &data, &options))));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
