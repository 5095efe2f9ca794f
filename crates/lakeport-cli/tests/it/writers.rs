//! Several writers into one pool, with real processes: `lakeport extract --delta` processes
//! loading one table at once (overlapping and disjoint objects) and other tables beside them, and
//! `--shard I/N` workers splitting one folder. What they leave is read back the way another
//! engine would (testing/check_writers.py: pyiceberg for rows, snapshots and data files, pyarrow
//! for the ledger files): every object's rows exactly once, the ledger listing each object once
//! with the table's data files, every snapshot in one parent chain — and the commit conflicts
//! the processes met were retried (counted in their reports), so the test is not passing because
//! the processes happened to run one after another.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{binary, lakeport, ok, pool_over, text};
use lakeport_testkit::{TestBucket, TestS3};
use serde_json::Value;

/// The CSV of object number `n`: `rows` rows with ids unique across the test (`n * 100 + j`)
/// and a value column; returns the text, the sum of its ids and the sum of its values.
fn csv(n: u64, rows: u64, salt: u64) -> (String, u64, u64) {
    let mut s = String::from("id,v\n");
    let (mut ids, mut values) = (0, 0);
    for j in 0..rows {
        let (id, v) = (n * 100 + j, (n * 7 + j * 3 + salt) % 1000);
        s.push_str(&format!("{id},{v}\n"));
        ids += id;
        values += v;
    }
    (s, ids, values)
}

/// What the source holds: rows per key, and the sums of ids and values over all of them.
#[derive(Default)]
struct Source {
    rows: BTreeMap<String, u64>,
    ids: u64,
    values: u64,
}

impl Source {
    async fn put(&mut self, bucket: &TestBucket, key: &str, n: u64, rows: u64, salt: u64) {
        let (text, ids, values) = csv(n, rows, salt);
        bucket.put(key, text).await;
        if let Some(before) = self.rows.insert(key.to_string(), rows) {
            // A new version replaces the object's rows (same ids, other values).
            let (_, old_ids, old_values) = csv(n, before, 0);
            self.ids -= old_ids;
            self.values -= old_values;
        }
        self.ids += ids;
        self.values += values;
    }
}

/// `lakeport extract … --json` as a child process.
fn spawn(d: &Path, args: &[&str]) -> Child {
    Command::new(binary()).arg("--pool-dir").arg(d).args(["extract", "-c", "src", "--json"]).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Waits for every child; each must succeed. Their JSON reports.
fn reports(children: Vec<Child>) -> Vec<Value> {
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", text(&out));
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
        })
        .collect()
}

/// The table as pyiceberg and pyarrow read it (testing/check_writers.py).
fn read_back(d: &Path, table: &str) -> Value {
    let py = std::env::var("LAKEPORT_TEST_PYTHON").expect("LAKEPORT_TEST_PYTHON: run with ./scripts/test.sh");
    let o = Command::new(py).arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/check_writers.py")).arg(d).args(["default", table, "id", "v"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The table holds exactly the source: every object's rows once (rows per `_source_key`), no
/// duplicate row, the sums; the ledger lists each object once, in its current version, with
/// its rows and exactly the table's data files; every snapshot in one parent chain.
fn exact(read: &Value, source: &Source, table: &str) {
    let total: u64 = source.rows.values().sum();
    assert_eq!(read["rows"], total, "{table}: rows");
    assert_eq!(read["distinct_ids"], total, "{table}: a row is there twice");
    assert_eq!((read["id_sum"].as_u64().unwrap(), read["value_sum"].as_u64().unwrap()), (source.ids, source.values), "{table}: checksums");
    let per_key: BTreeMap<String, u64> = serde_json::from_value(read["per_key"].clone()).unwrap();
    assert_eq!(per_key, source.rows, "{table}: rows per object");
    let ledger = read["ledger"].as_object().unwrap();
    assert_eq!(ledger.keys().cloned().collect::<BTreeSet<_>>(), source.rows.keys().cloned().collect::<BTreeSet<_>>(), "{table}: ledger keys");
    let mut ledger_files = Vec::new();
    for (key, entry) in ledger {
        assert_eq!(entry["rows"].as_u64(), source.rows.get(key).copied(), "{table}: ledger rows of {key}");
        ledger_files.extend(entry["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()));
    }
    ledger_files.sort();
    let files: Vec<String> = serde_json::from_value(read["files"].clone()).unwrap();
    assert_eq!(ledger_files, files, "{table}: the ledger's data files (each in one entry) are the table's");
    let chain = read["chain"].as_array().unwrap();
    assert_eq!(chain.len() as u64, read["snapshots"].as_u64().unwrap(), "{table}: snapshots outside the current one's parent chain: {read}");
    // What a commit that met a conflict wrote (metadata file, manifests, ledger file) was
    // deleted: no file under metadata/ that the table does not refer to.
    assert_eq!(read["stray_metadata"], serde_json::json!([]), "{table}: files left by commits that met a conflict");
}

fn sum(reports: &[Value], field: &str) -> u64 {
    reports.iter().flat_map(|r| r["tables"].as_array().unwrap()).map(|t| t[field].as_u64().unwrap()).sum()
}

#[tokio::test]
async fn concurrent_delta_processes_load_one_table_exactly_and_other_tables_beside_them() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("writers").await;
    let mut ev = Source::default();
    for n in 0..60u64 {
        let key = format!("ev/{}/part-{n:03}.csv", if n % 2 == 0 { "a" } else { "b" });
        ev.put(&bucket, &key, n, 1 + n % 4, 0).await;
    }
    let mut other = Source::default();
    for n in 0..20u64 {
        other.put(&bucket, &format!("other/part-{n:03}.csv"), 1000 + n, 2, 0).await;
    }
    let dir = pool_over(&s3, &bucket);
    let d = dir.path();
    let delta = ["--folder", "ev", "--delta", "--source-columns", "--concurrency", "2"];
    let a_only: Vec<&str> = delta.iter().copied().chain(["--pattern", "a/*"]).collect();
    let b_only: Vec<&str> = delta.iter().copied().chain(["--pattern", "b/*"]).collect();

    // Round 1, the table does not exist yet: two processes load all of ev/, one its a/ half,
    // one its b/ half (overlapping and disjoint objects); meanwhile two more load other tables
    // (a full load and a delta of other/).
    let children = vec![
        spawn(d, &delta),
        spawn(d, &delta),
        spawn(d, &a_only),
        spawn(d, &b_only),
        spawn(d, &["--folder", "other", "--full", "--source-columns"]),
        spawn(d, &["--folder", "other", "--table", "other2", "--delta", "--source-columns"]),
    ];
    let round1 = reports(children);
    let (ev_reports, others) = round1.split_at(4);
    let read = read_back(d, "ev");
    exact(&read, &ev, "ev");
    // Loaded once: each key's entry in one ledger file only.
    for (key, n) in read["ledger_entries"].as_object().unwrap() {
        assert_eq!(n, 1, "{key} has {n} ledger entries");
    }
    exact(&read_back(d, "other"), &other, "other");
    exact(&read_back(d, "other2"), &other, "other2");
    assert!(others.iter().all(|r| sum(std::slice::from_ref(r), "commit_retries") == 0), "{others:?}");
    // The conflicts really happened and were retried: all four began writing a table that did
    // not exist yet, so every one that began before the first commit met one.
    let retries = sum(ev_reports, "commit_retries");
    assert!(retries >= 1, "no commit retries: the processes did not overlap");
    let left_out: usize = ev_reports.iter().map(|r| r["tables"][0]["already_loaded"].as_array().unwrap().len()).sum();
    eprintln!("round 1: {retries} commit retries, {left_out} objects left out as committed by another process");
    // Between them the four loaded each object once; the others left out what was committed
    // meanwhile (or found it loaded already).
    let loaded: Vec<String> = ev_reports.iter().flat_map(|r| r["tables"][0]["loaded"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_string())).collect();
    assert_eq!(loaded.len(), ev.rows.len(), "objects loaded by more than one process: {loaded:?}");
    assert_eq!(sum(ev_reports, "rows"), ev.rows.values().sum::<u64>());
    assert!(ev_reports.iter().any(|r| !r["tables"][0]["already_loaded"].as_array().unwrap().is_empty()), "no process met an object another had committed: {ev_reports:?}");

    // Round 2: a new version of two objects and new objects; the same four processes again.
    ev.put(&bucket, "ev/a/part-000.csv", 0, 3, 5).await;
    ev.put(&bucket, "ev/b/part-001.csv", 1, 1, 9).await;
    for n in 60..80u64 {
        ev.put(&bucket, &format!("ev/{}/part-{n:03}.csv", if n % 2 == 0 { "a" } else { "b" }), n, 2, 0).await;
    }
    let round2 = reports(vec![spawn(d, &delta), spawn(d, &delta), spawn(d, &a_only), spawn(d, &b_only)]);
    exact(&read_back(d, "ev"), &ev, "ev");
    let changed: Vec<&str> = round2.iter().flat_map(|r| r["tables"][0]["changed"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap())).collect();
    assert_eq!(changed.len(), 2, "each changed object replaced once: {changed:?}");
    // `lakeport query` agrees.
    let out: Value = serde_json::from_str(&common::stdout(d, &[], &["query", "SELECT count(*) AS n, sum(v) AS s FROM ev", "--json"])).unwrap();
    assert_eq!((out[0]["n"].as_u64().unwrap(), out[0]["s"].as_u64().unwrap()), (ev.rows.values().sum::<u64>(), ev.values));
    // A full load holds the table alone: with no delta running it goes through.
    ok(d, &[], &["extract", "-c", "src", "--folder", "ev", "--full", "--source-columns"]);
}

#[tokio::test]
async fn four_shard_workers_split_a_folder_and_the_table_ends_exact() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("shards").await;
    let mut src = Source::default();
    for n in 0..400u64 {
        src.put(&bucket, &format!("many/f{n:04}.csv"), n, 1 + n % 3, 0).await;
    }
    let dir = pool_over(&s3, &bucket);
    let d = dir.path();

    // Refused before anything runs: a shard outside 0..N, text that is not I/N, a full load.
    for (shard, mode, says) in [("4/4", "--delta", "invalid shard 4/4: the shard index counts from 0"), ("1-4", "--delta", "invalid shard '1-4': not I/N"), ("0/4", "--full", "a full load replaces the whole table")] {
        let o = lakeport(d, &[], &["extract", "-c", "src", "--folder", "many", mode, "--shard", shard]);
        assert!(!o.status.success() && text(&o).contains(says), "{shard} {mode}: {}", text(&o));
    }
    let jobs: Value = serde_json::from_str(&common::stdout(d, &[], &["jobs", "--json"])).unwrap();
    assert_eq!(jobs, serde_json::json!([]), "nothing recorded");

    let workers: Vec<Child> = (0..4).map(|i| spawn(d, &["--folder", "many", "--delta", "--source-columns", "--shard", &format!("{i}/4")])).collect();
    let done = reports(workers);
    exact(&read_back(d, "many"), &src, "many");
    // The shards are disjoint and cover every key; each worker passed over the others' objects.
    let mut seen = BTreeSet::new();
    for r in &done {
        let t = &r["tables"][0];
        let loaded = t["loaded"].as_array().unwrap();
        assert!(!loaded.is_empty() && loaded.len() < 200, "one shard of 400 objects: {}", loaded.len());
        assert_eq!(t["other_shards"].as_u64().unwrap() + loaded.len() as u64, 400, "{t}");
        for k in loaded {
            assert!(seen.insert(k.as_str().unwrap().to_string()), "{k} loaded by two workers");
        }
    }
    assert_eq!(seen, src.rows.keys().cloned().collect::<BTreeSet<_>>());

    // Again with nothing new: each worker finds its shard loaded.
    let again = reports((0..4).map(|i| spawn(d, &["--folder", "many", "--delta", "--source-columns", "--shard", &format!("{i}/4")])).collect());
    assert!(again.iter().all(|r| r["tables"][0]["outcome"] == "nothing_new"), "{again:?}");
    assert_eq!(sum(&again, "unchanged"), 400);

    // An object deleted from the source, and workers that mirror the folder (--deleted remove):
    // only the worker whose shard holds it removes its rows; none touches the others' objects.
    bucket.delete("many/f0007.csv").await;
    let (_, ids, values) = csv(7, src.rows.remove("many/f0007.csv").unwrap(), 0);
    (src.ids, src.values) = (src.ids - ids, src.values - values);
    let mirrored = reports((0..4).map(|i| spawn(d, &["--folder", "many", "--delta", "--deleted", "remove", "--source-columns", "--shard", &format!("{i}/4")])).collect());
    let removed: Vec<&Value> = mirrored.iter().flat_map(|r| r["tables"][0]["removed"].as_array().unwrap()).collect();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["key"], "many/f0007.csv");
    exact(&read_back(d, "many"), &src, "many");
}

/// Several processes mirroring one folder at once (`--deleted remove`, no shards): the object
/// deleted from the source is removed once, and only the process whose commit removed it says
/// so — a process whose commit was rebuilt after another had removed it already left the removal
/// out, so its report (and job history) must not list it, nor count rows it did not remove.
#[tokio::test]
async fn concurrent_mirrors_report_a_removal_only_where_it_was_committed() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("mirrors").await;
    let mut src = Source::default();
    for n in 0..20u64 {
        src.put(&bucket, &format!("m/f{n:03}.csv"), n, 2, 0).await;
    }
    let dir = pool_over(&s3, &bucket);
    let d = dir.path();
    let mirror = ["--folder", "m", "--delta", "--deleted", "remove", "--source-columns", "--concurrency", "2"];
    reports(vec![spawn(d, &mirror)]);
    // One object gone, many new ones: every process loads the new ones, so their commits overlap.
    bucket.delete("m/f005.csv").await;
    let (_, ids, values) = csv(5, src.rows.remove("m/f005.csv").unwrap(), 0);
    (src.ids, src.values) = (src.ids - ids, src.values - values);
    for n in 20..80u64 {
        src.put(&bucket, &format!("m/f{n:03}.csv"), n, 1 + n % 3, 0).await;
    }
    let done = reports((0..4).map(|_| spawn(d, &mirror)).collect());
    exact(&read_back(d, "m"), &src, "m");
    assert!(sum(&done, "commit_retries") >= 1, "no commit retries: the processes did not overlap");
    let removed: Vec<&Value> = done.iter().flat_map(|r| r["tables"][0]["removed"].as_array().unwrap()).collect();
    assert_eq!(removed.len(), 1, "the removal is reported by each process that planned it, not once: {done:?}");
    // The job history agrees: one job removed the object.
    let jobs: Value = serde_json::from_str(&common::stdout(d, &[], &["jobs", "--json"])).unwrap();
    let mut in_history = 0;
    for job in jobs.as_array().unwrap() {
        let shown: Value = serde_json::from_str(&common::stdout(d, &[], &["jobs", "show", job["id"].as_str().unwrap(), "--json"])).unwrap();
        in_history += shown["details"].as_array().unwrap().iter().map(|t| t["removed"].as_array().unwrap().len()).sum::<usize>();
    }
    assert_eq!(in_history, 1, "{jobs}");
}
