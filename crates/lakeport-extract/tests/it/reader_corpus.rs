//! DuckDB's own CSV and JSON reader tests (a stated sample in testing/corpora/duckdb, see its
//! README), loaded through a real S3 server into a pool, and compared file by file with what
//! DuckDB and pyarrow read from the same files (testing/compare_readers.py): row count, column
//! count and names, every value as text.
//!
//! Every file either loads and holds what a reference reads, or is on the expectations list
//! (testing/corpora/duckdb/expectations.tsv) with its reason: a refusal (the error must name the
//! file; the pool stays unchanged), or a deliberate difference. A file whose outcome is not the
//! listed one fails the test, and so does a list entry that no longer holds (stale).
//!
//! Loads run in batches (one extraction, one table per file): per-run overhead dominates these
//! small files. A batch that fails is checked (file named, pool unchanged), and the files after
//! the failing one run again (those before it staged fine and run on their own). Files listed as refused run alone.

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::setup;
use futures::StreamExt;
use lakeport_extract::{ExtractRequest, Item};
use lakeport_pool::LoadMode;

const BATCH: usize = 100;

struct Expectation {
    verdict: String,
    reason: String,
}

fn corpus_root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/corpora/duckdb")).canonicalize().unwrap()
}

fn expectations(root: &Path) -> BTreeMap<String, Expectation> {
    let text = std::fs::read_to_string(root.join("expectations.tsv")).unwrap();
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, '\t').collect();
        assert!(parts.len() == 3 && !parts[2].trim().is_empty(), "expectations.tsv line {}: want PATH<TAB>VERDICT<TAB>REASON: {line:?}", n + 1);
        assert!(["refused", "differs", "loaded", "unreadable"].contains(&parts[1]), "expectations.tsv line {}: unknown verdict {:?}", n + 1, parts[1]);
        let old = out.insert(parts[0].to_string(), Expectation { verdict: parts[1].to_string(), reason: parts[2].to_string() });
        assert!(old.is_none(), "expectations.tsv line {}: {} is listed twice", n + 1, parts[0]);
    }
    out
}

/// The key a corpus file is uploaded under: its path, with `.json` added to JSON files whose
/// name lakeport does not know as JSON (`.geojson`, `.geojsonl`, no extension).
fn key_of(path: &str) -> String {
    let known = lakeport_formats::FileKind::from_key(path).is_ok();
    if path.starts_with("data/json/") && !known {
        format!("duckdb/{path}.json")
    } else {
        format!("duckdb/{path}")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_reader_tests_load_as_duckdb_or_pyarrow_read_them() {
    let started = Instant::now();
    let env = setup("readercorpus").await;
    let root = corpus_root();
    let expected = expectations(&root);
    let mut paths: Vec<String> = lakeport_testkit::files_under(&root.join("data"))
        .into_iter()
        .map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().into_owned())
        .collect();
    paths.sort();
    let csv = paths.iter().filter(|p| p.starts_with("data/csv/")).count();
    assert!(csv >= 300 && paths.len() - csv >= 80, "the sample has {csv} CSV and {} JSON files", paths.len() - csv);
    for listed in expected.keys() {
        assert!(paths.contains(listed), "expectations.tsv lists {listed}, which is not in the sample");
    }

    let uploads = futures::stream::iter(paths.iter().map(|p| {
        let (env, root) = (&env, &root);
        async move { env.bucket.put(&key_of(p), std::fs::read(root.join(p)).unwrap()).await }
    }));
    uploads.buffer_unordered(16).collect::<Vec<()>>().await;
    let uploaded = started.elapsed();
    // Listed refusals load into a pool of their own: checking that a failed load left a pool
    // unchanged reads every table's metadata, cheap in a pool that stays empty.
    let refusals = lakeport_pool::PoolDir::open(env.dir.path()).await.unwrap().create_pool("refusals").await.unwrap();
    let (key, secret) = env.s3.user("reader");
    refusals
        .add_connection("src", lakeport_core::ConnectionConfig::S3Extraction(env.s3.config(&env.bucket.name, &key)), Some(&secret))
        .await
        .unwrap();

    // Load: listed refusals alone, the rest in batches.
    let table = |i: usize| format!("t{i}");
    let mut errors: BTreeMap<usize, String> = BTreeMap::new();
    let mut problems: Vec<String> = Vec::new();
    let alone: Vec<usize> = (0..paths.len()).filter(|&i| expected.get(&paths[i]).is_some_and(|e| e.verdict == "refused")).collect();
    let batched: Vec<usize> = (0..paths.len()).filter(|i| !alone.contains(i)).collect();
    let mut runs = 0;
    let mut queue: Vec<Vec<usize>> = alone.iter().map(|&i| vec![i]).chain(batched.chunks(BATCH).map(|c| c.to_vec())).collect();
    let state = |pool: &lakeport_pool::Pool| {
        let pool = pool.clone();
        async move { pool.tables().await.unwrap().into_iter().map(|t| (t.name, t.rows)).collect::<Vec<_>>() }
    };
    while let Some(mut batch) = queue.pop() {
        if batch.is_empty() {
            continue;
        }
        let pool = if batch.len() == 1 && alone.contains(&batch[0]) { &refusals } else { &env.pool };
        let before = state(pool).await;
        let items = batch.iter().map(|&i| Item::File { key: key_of(&paths[i]), table: Some(table(i)) }).collect();
        runs += 1;
        if std::env::var_os("LAKEPORT_CORPUS_VERBOSE").is_some() {
            eprintln!("[{:.1}s] run {runs}: {} files from {}", started.elapsed().as_secs_f64(), batch.len(), paths[batch[0]]);
        }
        let request = ExtractRequest::new(items, LoadMode::Full);
        if let Err(e) = lakeport_core::runs::extract(pool, "src", &request, std::sync::Arc::new(lakeport_extract::NoProgress)).await {
            let msg = e.to_string();
            let named = batch.iter().copied().filter(|&i| msg.contains(&key_of(&paths[i]))).max_by_key(|&i| paths[i].len());
            let Some(failed) = named else {
                problems.push(format!("a load of {} files failed without naming one of them: {msg}", batch.len()));
                continue;
            };
            if state(pool).await != before {
                problems.push(format!("{}: the failed load changed the pool", paths[failed]));
            }
            errors.insert(failed, msg);
            // Tables are staged in item order: the files before the failed one staged fine
            // (they load in a run of their own); the files after it are not known yet.
            let at = batch.iter().position(|&i| i == failed).unwrap();
            let after = batch.split_off(at + 1);
            batch.pop();
            queue.push(batch);
            queue.push(after);
        }
    }
    let loaded_at = started.elapsed();

    // Each loaded table as Parquet, for the comparison: read with SQL, through one session (a
    // session per query would register every table of the pool each time).
    let out = tempfile::tempdir().unwrap();
    let session = env.pool.session().await.unwrap();
    let mut manifest = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let lakeport = match errors.get(&i) {
            Some(msg) => serde_json::json!({ "error": msg }),
            None if refusals.table(&table(i)).await.is_ok() => {
                problems.push(format!("{p}: listed as refused, but it loaded"));
                serde_json::json!({ "unreadable": "loaded into the pool for refusals" })
            }
            None => match read_table(&session, &table(i)).await {
                // A table that loaded but cannot be read back (e.g. column names another layer
                // reserves) is a disagreement of its own.
                Err(e) => serde_json::json!({ "unreadable": e.lines().next().unwrap_or_default() }),
                Ok((schema, batches)) => {
                // Compared under the source's column names, as the pool gives them (the few names
                // a table stores under another are reported with the load: `renamed_columns`).
                let source = env.pool.table_schema(&table(i)).await.unwrap().expect("the table was loaded");
                let fields: Vec<arrow_schema::Field> = schema.fields().iter().zip(source.fields()).map(|(f, s)| f.as_ref().clone().with_name(s.name())).collect();
                let schema = std::sync::Arc::new(arrow_schema::Schema::new(fields));
                let batches: Vec<arrow::array::RecordBatch> = batches.iter().map(|b| arrow::array::RecordBatch::try_new(schema.clone(), b.columns().to_vec()).unwrap()).collect();
                let file = out.path().join(format!("{i}.parquet"));
                let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), schema, None).unwrap();
                for b in &batches {
                    w.write(b).unwrap();
                }
                w.close().unwrap();
                serde_json::json!({ "parquet": file })
                }
            },
        };
        let format = if p.starts_with("data/json/") { "json" } else { "csv" };
        manifest.push(serde_json::json!({ "path": p, "format": format, "lakeport": lakeport }));
    }
    let manifest_file = out.path().join("manifest.json");
    std::fs::write(&manifest_file, serde_json::json!({ "root": root, "files": manifest }).to_string()).unwrap();
    let python = std::env::var("LAKEPORT_TEST_PYTHON").expect("LAKEPORT_TEST_PYTHON is not set: run with scripts/test-env.sh");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testing/compare_readers.py");
    let res = std::process::Command::new(python).arg(&script).arg(&manifest_file).output().unwrap();
    assert!(res.status.success(), "compare_readers.py failed: {}", String::from_utf8_lossy(&res.stderr));
    let report: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    if let Ok(dump) = std::env::var("LAKEPORT_CORPUS_REPORT") {
        // For looking into differences: the report, and the tables as Parquet next to it.
        std::fs::write(&dump, serde_json::to_string_pretty(&report).unwrap()).unwrap();
        eprintln!("report in {dump}; lakeport's tables and the manifest in {}", out.path().display());
        std::mem::forget(out);
    }

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for f in report["files"].as_array().unwrap() {
        let (path, verdict, detail) = (f["path"].as_str().unwrap(), f["verdict"].as_str().unwrap(), f["detail"].as_str().unwrap());
        *counts.entry(verdict.to_string()).or_default() += 1;
        let i = paths.iter().position(|p| p == path).unwrap();
        if let Some(msg) = errors.get(&i) {
            if !msg.contains(&key_of(path)) {
                problems.push(format!("{path}: the error does not name the file: {msg}"));
            }
        }
        // lakeport's own outcome: refused, or loaded with the same / other data.
        let outcome = match verdict {
            "both-refuse" => "refused",
            v => v,
        };
        match (expected.get(path), outcome) {
            (None, "same") => {}
            (Some(e), o) if e.verdict == o => {
                seen.insert(path);
            }
            (Some(e), o) => problems.push(format!("{path}: listed as {} ({}), but {o}: {detail} [{}]", e.verdict, e.reason, f["references"])),
            (None, o) => problems.push(format!("{path}: {o} (not on the expectations list): {detail} [{}]", f["references"])),
        }
    }
    println!(
        "duckdb corpus: {} files ({csv} CSV, {} JSON), verdicts {counts:?}, {} listed; {runs} extraction runs; upload {:.1}s, loads {:.1}s, total {:.1}s (comparison {}s)",
        paths.len(),
        paths.len() - csv,
        expected.len(),
        uploaded.as_secs_f64(),
        (loaded_at - uploaded).as_secs_f64(),
        started.elapsed().as_secs_f64(),
        report["seconds"]
    );
    assert!(problems.is_empty(), "{} disagreements with DuckDB/pyarrow or the expectations list:\n{}", problems.len(), problems.join("\n"));
}

/// Every row of a table, with SQL (`SELECT *`) in a pool session.
async fn read_table(session: &datafusion::prelude::SessionContext, table: &str) -> Result<(arrow_schema::SchemaRef, Vec<arrow::array::RecordBatch>), String> {
    let df = session.sql(&format!("SELECT * FROM \"{table}\"")).await.map_err(|e| e.to_string())?;
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    Ok((schema, batches))
}

/// Issue 13, point 12: a JSON field that is a scalar in the sample and an object later fails
/// naming file, line and field, and leaves the pool unchanged; `--type-fallback` then loads the
/// field as text, the object as its JSON text. Fields that mix them within the sample
/// (`inconsistent_schemas.ndjson`, `bluesky.json.gz` of DuckDB's tests) are JSON text without
/// any flag (compared with DuckDB in the corpus test above).
#[tokio::test]
async fn json_scalars_then_objects_fail_or_fall_back_to_json_text() {
    let env = setup("jsonfallback").await;
    let mut nd = String::new();
    for i in 0..1000 {
        nd.push_str(&format!("{{\"id\": {i}, \"v\": {i}}}\n"));
    }
    nd.push_str("{\"id\": 1000, \"v\": {\"x\": [1, 2]}}\n");
    env.bucket.put("m.ndjson", nd.into_bytes()).await;
    let item = || vec![Item::File { key: "m.ndjson".into(), table: Some("m".into()) }];
    let before = env.state().await;
    let e = env.run(item(), LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("m.ndjson") && e.contains("line 1001") && e.contains("column 'v'") && e.contains("--type-fallback"), "{e}");
    assert_eq!(env.state().await, before);
    let mut req = ExtractRequest::new(item(), LoadMode::Full);
    req.type_fallback = true;
    let report = env.run_with(req).await.unwrap();
    assert_eq!(report.tables[0].text_columns, vec!["v".to_string()]);
    assert_eq!(env.scalar("SELECT count(*) FROM m WHERE v = '{\"x\":[1,2]}' AND id = 1000").await, 1);
    assert_eq!(env.scalar("SELECT count(*) FROM m WHERE v = '7' AND id = 7").await, 1);
}
