//! The apache/parquet-testing corpus (testing/corpora/parquet-testing: every Parquet file of its
//! `data/` and `bad_data/`), each file loaded through lakeport from the real S3 test server into a
//! pool table, then compared with what pyarrow and DuckDB read from the same file: rows, column
//! names and every value of every column (testing/parquet_corpus_compare.py; lakeport's table is
//! read back with pyiceberg, and its data files with pyarrow, so that a difference of pyiceberg's
//! reading is told apart from one lakeport made). Any disagreement — a refusal where a reference reads the file, a
//! row count, a column, a value — fails the test unless the expectations list
//! (testing/corpora/parquet-testing-expectations.json) names it with a reason. Entries that no
//! longer match fail too, so the list stays true. A refused load must name the file and leave
//! the pool unchanged.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::setup;
use lakeport_extract::{ExtractRequest, Item};
use lakeport_pool::LoadMode;
use serde_json::{json, Value};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/corpora/parquet-testing");
const EXPECTATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/corpora/parquet-testing-expectations.json");

/// Every Parquet file (plain or encrypted) below the corpus, as paths relative to it.
fn corpus_files() -> Vec<String> {
    let mut out: Vec<String> = lakeport_testkit::files_under(Path::new(CORPUS))
        .into_iter()
        .map(|p| p.strip_prefix(CORPUS).unwrap().to_string_lossy().into_owned())
        .filter(|p| p.contains(".parquet") && !p.ends_with(".json"))
        .collect();
    out.sort();
    out
}

/// One entry of the expectations list.
#[derive(Debug)]
struct Expectation {
    file: String,
    /// "refused": lakeport refuses the file with an error containing `error`.
    /// "differs": lakeport loads it and differs from a reference in `what` (`pyarrow:COLUMN`,
    /// `duckdb:*`, `pyarrow:rows`, …). "unverified": lakeport loads it and no reference reads it.
    outcome: String,
    error: Option<String>,
    what: Vec<String>,
    /// "differs": text the finding's detail must contain (e.g. that lakeport's data file holds
    /// the reference's values and only reading it back differs).
    detail: Option<String>,
    /// The references are not run on this file (the reason says why).
    skip_references: bool,
    used: std::cell::Cell<bool>,
}

fn expectations() -> Vec<Expectation> {
    let v: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(EXPECTATIONS).unwrap()).unwrap();
    v.into_iter()
        .map(|e| {
            assert!(e["reason"].as_str().is_some_and(|r| r.len() > 10), "expectation without a reason: {e}");
            Expectation {
                file: e["file"].as_str().unwrap().to_string(),
                outcome: e["outcome"].as_str().unwrap().to_string(),
                error: e["error"].as_str().map(String::from),
                what: e["what"].as_array().map(|a| a.iter().map(|w| w.as_str().unwrap().to_string()).collect()).unwrap_or_default(),
                detail: e["detail"].as_str().map(String::from),
                skip_references: e["skip_references"].as_bool().unwrap_or(false),
                used: Default::default(),
            }
        })
        .collect()
}

#[tokio::test]
async fn parquet_testing_corpus_matches_pyarrow_and_duckdb() {
    let started = Instant::now();
    let env = setup("pqcorpus").await;
    let files = corpus_files();
    assert!(files.len() >= 95, "the corpus has {} Parquet files", files.len());
    for f in &files {
        env.bucket.put(&format!("pt/{f}"), std::fs::read(Path::new(CORPUS).join(f)).unwrap()).await;
    }
    let expected = expectations();
    let mut problems: Vec<String> = Vec::new();
    let mut outcomes: BTreeMap<String, Result<String, String>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let table = format!("t{i}");
        let before = env.state().await;
        let req = ExtractRequest::new(vec![Item::File { key: format!("pt/{f}"), table: Some(table.clone()) }], LoadMode::Full);
        match env.run_with(req).await {
            Ok(_) => {
                outcomes.insert(f.clone(), Ok(table));
            }
            Err(e) => {
                let msg = e.to_string();
                if !msg.contains(&format!("pt/{f}")) {
                    problems.push(format!("{f}: the error does not name the file: {msg}"));
                }
                if env.state().await != before {
                    problems.push(format!("{f}: a failed load changed the pool"));
                }
                outcomes.insert(f.clone(), Err(msg));
            }
        }
    }
    let loaded_at = started.elapsed();

    // The references read the same files from disk; lakeport's tables are read with pyiceberg
    // (and their data files with pyarrow).
    let manifest = json!({
        "pool_dir": env.dir.path(),
        "pool": "test",
        "files": files.iter().map(|f| json!({
            "file": f,
            "path": PathBuf::from(CORPUS).join(f),
            "table": outcomes[f].as_ref().ok(),
            "skip_references": expected.iter().any(|e| &e.file == f && e.skip_references),
        })).collect::<Vec<_>>(),
    });
    let manifest_path = env.dir.path().join("manifest.json");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let py = std::env::var("LAKEPORT_TEST_PYTHON").expect("LAKEPORT_TEST_PYTHON: run with ./scripts/test.sh");
    let o = Command::new(py).arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/parquet_corpus_compare.py")).arg(&manifest_path).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let compared: Value = serde_json::from_slice(&o.stdout).unwrap();

    let (mut same, mut loaded, mut refused) = (0, 0, 0);
    for entry in compared["files"].as_array().unwrap() {
        let f = entry["file"].as_str().unwrap();
        let readable: Vec<&str> = ["pyarrow", "duckdb"].into_iter().filter(|r| entry[*r].get("error").is_none() && entry[*r].get("skipped").is_none()).collect();
        let expect = |outcome: &str| expected.iter().find(|e| e.file == f && e.outcome == outcome);
        match &outcomes[f] {
            Err(msg) => {
                refused += 1;
                match expect("refused") {
                    Some(e) if msg.contains(e.error.as_deref().unwrap_or("\u{0}")) => e.used.set(true),
                    Some(e) => problems.push(format!("{f}: refused with another error than expected ({:?}): {msg}", e.error)),
                    None => problems.push(format!("{f}: lakeport refuses it ({msg}); pyarrow: {}; duckdb: {}", brief(&entry["pyarrow"]), brief(&entry["duckdb"]))),
                }
            }
            Ok(_) => {
                loaded += 1;
                if readable.is_empty() {
                    match expect("unverified") {
                        Some(e) => e.used.set(true),
                        None => problems.push(format!("{f}: lakeport loads it ({}) but neither reference reads it: pyarrow: {}; duckdb: {}", brief(&entry["lakeport"]), brief(&entry["pyarrow"]), brief(&entry["duckdb"]))),
                    }
                }
                let findings = entry["findings"].as_array().unwrap();
                if findings.is_empty() && !readable.is_empty() {
                    same += 1;
                }
                for x in findings {
                    let (reference, kind) = (x["reference"].as_str().unwrap(), x["kind"].as_str().unwrap());
                    let key = format!("{reference}:{}", x["column"].as_str().unwrap_or(kind));
                    let detail = x["detail"].as_str().unwrap_or_default();
                    let listed = |e: &&Expectation| {
                        e.file == f
                            && e.outcome == "differs"
                            && e.what.iter().any(|w| *w == key || *w == format!("{reference}:*"))
                            && e.detail.as_deref().is_none_or(|d| detail.contains(d))
                    };
                    match expected.iter().find(listed) {
                        Some(e) => e.used.set(true),
                        None => problems.push(format!("{f}: lakeport differs from {reference} ({kind}): {detail}")),
                    }
                }
            }
        }
    }
    for e in expected.iter().filter(|e| !e.used.get()) {
        problems.push(format!("{}: expectation '{}' ({:?} {:?}) no longer holds: remove or update it", e.file, e.outcome, e.error, e.what));
    }
    println!(
        "parquet-testing: {} files; {loaded} loaded ({same} equal to every reference that reads them), {refused} refused; loads {:.1} s, total {:.1} s",
        files.len(),
        loaded_at.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{} disagreements:\n{}", problems.len(), problems.join("\n"));
}

fn brief(v: &Value) -> String {
    if let Some(e) = v.get("error") {
        return format!("error {}", e.as_str().unwrap_or_default());
    }
    if v.get("skipped").is_some() {
        return "not read (skip-references)".into();
    }
    format!("{} rows", v["rows"])
}
