//! Crash consistency: extractions killed with SIGKILL at random moments, 50 times, while the
//! source changes the ways a living bucket does: new objects, rewritten objects (their rows are
//! replaced), deleted objects (`--deleted remove`), and objects with a new column (the schema
//! evolves). Kill times are aimed at the measured duration of each load mode, so most kills land
//! while it runs and around its commit. After each kill the table reads as exactly the old or
//! exactly the new state; the next delta load completes the work exactly once; vacuum then
//! leaves no orphan file behind.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{lakeport, ok, pool_over, stdout};
use lakeport_testkit::TestS3;

const ROWS_PER_FILE: u64 = 3000;

/// Object `file` in version `version`: NDJSON (a folder of JSON files may differ in keys, so a
/// full load also takes a file with an extra column). Ids are unique across objects.
fn ndjson(file: u64, rows: u64, extra: bool) -> String {
    let mut s = String::new();
    for i in 0..rows {
        let extra = if extra { format!(", \"extra\": {i}") } else { String::new() };
        s.push_str(&format!("{{\"id\": {}, \"file\": {file}, \"activity\": \"step {}\", \"cost\": {}.5{extra}}}\n", file * 100_000 + i, i % 5, i % 100));
    }
    s
}

fn count(dir: &std::path::Path) -> (u64, u64) {
    let out: serde_json::Value = serde_json::from_str(&stdout(dir, &[], &["query", "SELECT count(*) AS n, count(DISTINCT id) AS d FROM log", "--json"])).unwrap();
    (out[0]["n"].as_u64().unwrap(), out[0]["d"].as_u64().unwrap())
}

/// Tiny deterministic generator (the seed is printed, so a failure can be replayed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[tokio::test]
async fn killed_loads_leave_old_or_new_state_and_the_next_delta_completes_exactly_once() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("crash").await;
    let dir = pool_over(&s3, &bucket);
    let d = dir.path();
    // The model of the bucket: object number → rows it holds now.
    let mut objects: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
    let mut next_file = 0u64;
    for _ in 0..8 {
        bucket.put(&format!("log/part-{next_file:04}.ndjson"), ndjson(next_file, ROWS_PER_FILE, false)).await;
        objects.insert(next_file, ROWS_PER_FILE);
        next_file += 1;
    }
    let t = Instant::now();
    ok(d, &[], &["extract", "-c", "src", "--folder", "log"]);
    let mut full_time = t.elapsed();
    let total = |o: &std::collections::BTreeMap<u64, u64>| o.values().sum::<u64>();
    assert_eq!(count(d), (total(&objects), total(&objects)));
    bucket.put(&format!("log/part-{next_file:04}.ndjson"), ndjson(next_file, ROWS_PER_FILE, false)).await;
    objects.insert(next_file, ROWS_PER_FILE);
    next_file += 1;
    let t = Instant::now();
    ok(d, &[], &["extract", "-c", "src", "--folder", "log", "--delta", "--deleted", "remove"]);
    let mut delta_time = t.elapsed();

    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| std::process::id() as u64);
    println!("crash test seed {seed} (set CRASH_SEED to replay); a full load takes {full_time:?}, a one-object delta {delta_time:?}");
    let mut rng = Lcg(seed);
    let (mut killed_before_commit, mut killed_after_commit, mut finished) = (0, 0, 0);
    let mut actions = [0u32; 4];
    for round in 0..50 {
        // The source changes; then a full or a delta load starts and is killed at a random moment.
        let action = rng.next() % 4;
        actions[action as usize] += 1;
        match action {
            // A rewritten object: other rows, another count (its earlier rows must be replaced).
            1 => {
                let keys: Vec<u64> = objects.keys().copied().collect();
                let k = keys[(rng.next() % keys.len() as u64) as usize];
                let rows = 1000 + rng.next() % 4000;
                bucket.put(&format!("log/part-{k:04}.ndjson"), ndjson(k, rows, false)).await;
                objects.insert(k, rows);
            }
            // A deleted object (its rows must go).
            2 if objects.len() > 3 => {
                let keys: Vec<u64> = objects.keys().copied().collect();
                let k = keys[(rng.next() % keys.len() as u64) as usize];
                bucket.delete(&format!("log/part-{k:04}.ndjson")).await;
                objects.remove(&k);
            }
            // A new object, with a new column now and then (the schema evolves).
            _ => {
                bucket.put(&format!("log/part-{next_file:04}.ndjson"), ndjson(next_file, ROWS_PER_FILE, action == 3)).await;
                objects.insert(next_file, ROWS_PER_FILE);
                next_file += 1;
            }
        }
        let before = count(d).0;
        let full = rng.next().is_multiple_of(2);
        let args: &[&str] = if full { &["extract", "-c", "src", "--folder", "log", "--full"] } else { &["extract", "-c", "src", "--folder", "log", "--delta", "--deleted", "remove"] };
        let mut child = Command::new(env!("CARGO_BIN_EXE_lakeport"))
            .arg("--pool-dir")
            .arg(d)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Aimed at the load: between 40 % and 110 % of its measured duration (kept up to date
        // below as the table grows), so kills land while it writes, around its commit and after.
        let span = if full { full_time } else { delta_time }.as_micros() as u64;
        let delay = Duration::from_micros(span * 4 / 10 + rng.next() % (span * 7 / 10).max(1));
        std::thread::sleep(delay);
        let exited = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let all = total(&objects);
        let (n, distinct) = count(d);
        let allowed = [before, all];
        let mode = if full { "full" } else { "delta" };
        assert!(allowed.contains(&n), "round {round} ({mode}, action {action}, killed after {delay:?}): {n} rows, expected old {before} or new {all}");
        assert_eq!(n, distinct, "round {round}: duplicated rows");
        match (exited, n == before && before != all) {
            (true, _) => finished += 1,
            (false, true) => killed_before_commit += 1,
            (false, false) => killed_after_commit += 1,
        }

        // The next delta load completes the work exactly once.
        let t = Instant::now();
        ok(d, &[], &["extract", "-c", "src", "--folder", "log", "--delta", "--deleted", "remove"]);
        if !full && n == before {
            delta_time = t.elapsed();
        }
        assert_eq!(count(d), (all, all), "round {round}: after the follow-up delta load");
        if round % 5 == 4 {
            let t = Instant::now();
            ok(d, &[], &["extract", "-c", "src", "--folder", "log", "--full"]);
            full_time = t.elapsed();
            assert_eq!(count(d), (all, all), "round {round}: after a full load");
        }
        if round % 10 == 9 {
            let v: serde_json::Value = serde_json::from_str(&stdout(d, &[], &["pool", "vacuum", "--older-than-secs", "0", "--json"])).unwrap();
            assert_eq!(count(d), (all, all), "vacuum changed the table");
            let on_disk = lakeport_testkit::files_under(&d.join("warehouse/default/log")).len() as u64;
            assert_eq!(on_disk, v["files_kept"].as_u64().unwrap(), "round {round}: files not referenced by the table remain: {v}");
        }
    }
    println!("50 kills: {killed_before_commit} before the commit, {killed_after_commit} after it, {finished} had already finished; actions new/changed/deleted/new column: {actions:?}");
    assert!(killed_before_commit > 0, "no kill landed before a commit; the test did not exercise crashes");
    assert!(killed_before_commit + killed_after_commit >= 20, "most kills should land while a load runs");
    assert!(killed_after_commit + finished > 0, "no load got to its commit: the kill times are aimed too early");
    let jobs = lakeport(d, &[], &["jobs", "--limit", "200"]);
    assert!(jobs.status.success());
}

