//! Runs and their processes, with real processes: a `lakeport extract` and a `lakeport serve`
//! stopped by SIGTERM and killed by SIGKILL mid-run. Afterwards no job is "running": the job log
//! (`lakeport jobs`, the API after a restart) says interrupted, and every table is exactly its
//! old or its new state. Two CLI runs of one table: the second is refused, naming the first.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{binary, lakeport, ok, pool_over, stdout, text};
use lakeport_testkit::{TestBucket, TestS3};
use serde_json::Value;

/// Files per load: enough that a load with one request at a time runs for seconds.
const FILES: usize = 200;

/// A pool with connection "src" (one request at a time, so loads take a while) over a bucket of
/// `FILES` CSVs under `log/` (2 rows each), fully loaded once: the "old" state, 2 * FILES rows.
async fn setup(label: &str) -> (TestS3, TestBucket, tempfile::TempDir) {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket(label).await;
    for i in 0..FILES {
        bucket.put(&format!("log/part-{i:04}.csv"), format!("id,v\n{},{i}\n{},{i}\n", i * 2, i * 2 + 1)).await;
    }
    let dir = pool_over(&s3, &bucket);
    let d = dir.path();
    ok(d, &[], &["extract", "-c", "src", "--folder", "log", "--concurrency", "1"]);
    assert_eq!(rows(d, "log"), 2 * FILES as u64);
    // The "new" state a full load would bring: one more file.
    bucket.put("log/part-9999.csv", "id,v\n100000,1\n").await;
    (s3, bucket, dir)
}

fn rows(d: &Path, table: &str) -> u64 {
    let out: Value = serde_json::from_str(&stdout(d, &[], &["query", &format!("SELECT count(*) AS n FROM {table}"), "--json"])).unwrap();
    out[0]["n"].as_u64().unwrap()
}

fn jobs(d: &Path) -> Vec<Value> {
    serde_json::from_str::<Value>(&stdout(d, &[], &["jobs", "--json", "--limit", "100"])).unwrap().as_array().unwrap().clone()
}

/// Waits until a job is running and has loaded a few files (so a signal lands mid-run).
fn wait_running(d: &Path, child: &mut Child) -> Value {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it could be stopped; make it longer");
        }
        if let Some(j) = jobs(d).into_iter().find(|j| j["status"] == "running") {
            std::thread::sleep(Duration::from_millis(700));
            return j;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no run started");
}

fn signal(child: &Child, sig: &str) {
    assert!(Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().unwrap().success());
}

fn spawn_extract(d: &Path) -> Child {
    Command::new(binary())
        .arg("--pool-dir")
        .arg(d)
        .args(["extract", "-c", "src", "--folder", "log", "--full", "--concurrency", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The table holds exactly the old or exactly the new rows, never a mix.
fn old_or_new(d: &Path) {
    let n = rows(d, "log");
    assert!(n == 2 * FILES as u64 || n == 2 * FILES as u64 + 1, "table log holds {n} rows: neither old ({}) nor new ({})", 2 * FILES, 2 * FILES + 1);
}

/// `job` as the job log now shows it: interrupted, and no job of the pool still running.
fn interrupted(d: &Path, job: &Value) -> Value {
    let after = jobs(d);
    let j = after.iter().find(|j| j["id"] == job["id"]).unwrap().clone();
    assert_eq!(j["status"], "interrupted", "{j}");
    assert!(after.iter().all(|j| j["status"] != "running"), "{after:?}");
    j
}

/// After a run was stopped: the table is old or new, and nothing holds it any more (a dead run's
/// lock is taken over): the next load runs and brings the new state.
fn old_or_new_then_the_next_load_runs(d: &Path) {
    old_or_new(d);
    ok(d, &[], &["extract", "-c", "src", "--folder", "log", "--full"]);
    assert_eq!(rows(d, "log"), 2 * FILES as u64 + 1);
}

#[tokio::test]
async fn a_cli_run_stopped_by_sigterm_ends_interrupted_and_tables_are_old_or_new() {
    let (_s3, _bucket, dir) = setup("sigterm-cli").await;
    let d = dir.path();
    let mut child = spawn_extract(d);
    let job = wait_running(d, &mut child);
    assert!(job["process"]["pid"].as_u64() == Some(child.id() as u64), "the job records its process: {job}");
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("interrupted: lakeport received SIGTERM"), "{said}");
    let j = interrupted(d, &job);
    assert!(j["error"].as_str().unwrap().contains("SIGTERM"), "{j}");
    old_or_new_then_the_next_load_runs(d);
}

#[tokio::test]
async fn a_cli_run_killed_by_sigkill_is_marked_interrupted_by_the_next_command() {
    let (_s3, _bucket, dir) = setup("sigkill-cli").await;
    let d = dir.path();
    let mut child = spawn_extract(d);
    let job = wait_running(d, &mut child);
    signal(&child, "KILL");
    child.wait().unwrap();
    // The next command that opens the job log finds the process gone.
    let j = interrupted(d, &job);
    let error = j["error"].as_str().unwrap();
    assert!(error.contains(&format!("pid {}", child.id())) && error.contains("ended without finishing it"), "{error}");
    let shown = ok(d, &[], &["jobs", "show", job["id"].as_str().unwrap()]);
    assert!(shown.contains("interrupted"), "{shown}");
    old_or_new_then_the_next_load_runs(d);
}

#[tokio::test]
async fn a_second_cli_run_of_the_same_table_is_refused_naming_the_first() {
    let (_s3, _bucket, dir) = setup("two-cli").await;
    let d = dir.path();
    let mut first = spawn_extract(d);
    let job = wait_running(d, &mut first);
    let second = lakeport(d, &[], &["extract", "-c", "src", "--folder", "log", "--delta"]);
    let said = text(&second);
    assert!(!second.status.success(), "{said}");
    let id = job["id"].as_str().unwrap();
    assert!(said.contains(&format!("table 'log' is being loaded by run {id} (pid {}", first.id())), "{said}");
    // Refused before anything was recorded or read.
    assert_eq!(jobs(d).iter().filter(|j| j["status"] == "running").count(), 1);
    // Another process sees how far the run got (written to the job log every second).
    let t = Instant::now();
    loop {
        let running = jobs(d).into_iter().find(|j| j["id"] == id).unwrap();
        if running["status"] != "running" {
            panic!("the run ended before its progress was seen: {running}");
        }
        if running["files"].as_u64().unwrap() > 0 && running["rows"].as_u64().unwrap() > 0 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "no progress in the job log: {running}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(rows(d, "log"), 2 * FILES as u64 + 1);
    // Once the first is done, the second goes through.
    ok(d, &[], &["extract", "-c", "src", "--folder", "log", "--delta"]);
}

/// `lakeport serve` on a free port with a known token.
struct Serve {
    child: Child,
    base: String,
}

const TOKEN: &str = "runs-test-token-0123456789";

fn serve(d: &Path) -> Serve {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(binary())
        .arg("--pool-dir")
        .arg(d)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--token", TOKEN, "--no-scheduler"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let s = Serve { child, base: format!("http://127.0.0.1:{port}") };
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        if s.call("GET", "/api/health", None).0 == 200 {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("lakeport serve did not start");
}

impl Serve {
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "-H", &format!("Authorization: Bearer {TOKEN}"), "-H", "Content-Type: application/json"]);
        if let Some(b) = body {
            cmd.args(["--data", b]);
        }
        let out = cmd.arg(format!("{}{path}", self.base)).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Starts the full load of `log/` through the API; waits until it has loaded a few files.
    fn start_run(&self) -> String {
        let (st, run) = self.call("POST", "/api/pools/default/extractions", Some(r#"{"connection": "src", "mode": "full", "concurrency": 1, "items": [{"type": "folder", "prefix": "log"}]}"#));
        assert_eq!(st, 202, "{run}");
        let id = run["id"].as_str().unwrap().to_string();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(60) {
            let (_, r) = self.call("GET", &format!("/api/runs/{id}"), None);
            assert_eq!(r["status"], "running", "the run ended before it could be stopped: {r}");
            if r["files_done"].as_u64().unwrap_or(0) >= 5 {
                return id;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the run made no progress");
    }
}

#[tokio::test]
async fn a_server_killed_mid_run_shows_the_run_interrupted_after_a_restart() {
    let (_s3, _bucket, dir) = setup("sigkill-serve").await;
    let d = dir.path();
    let mut s = serve(d);
    let id = s.start_run();
    signal(&s.child, "KILL");
    s.child.wait().unwrap();
    let pid = s.child.id();
    // After a restart the API says interrupted (never running), naming the process that died.
    let mut s = serve(d);
    let (st, r) = s.call("GET", &format!("/api/runs/{id}"), None);
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["status"], "interrupted", "{r}");
    assert!(r["error"].as_str().unwrap().contains(&format!("pid {pid}")), "{r}");
    let (_, runs) = s.call("GET", "/api/pools/default/runs", None);
    assert!(runs.as_array().unwrap().iter().all(|r| r["status"] != "running"), "{runs}");
    // Not cancellable any more, but it can be re-run: the same request again.
    let (st, refused) = s.call("POST", &format!("/api/runs/{id}/cancel"), None);
    assert_eq!(st, 409, "{refused}");
    old_or_new(d);
    let (st, again) = s.call("POST", &format!("/api/runs/{id}/rerun"), None);
    assert_eq!(st, 202, "{again}");
    let again = again["id"].as_str().unwrap().to_string();
    let t = Instant::now();
    loop {
        let (_, r) = s.call("GET", &format!("/api/runs/{again}"), None);
        if r["status"] != "running" {
            assert_eq!(r["status"], "succeeded", "{r}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "the re-run did not finish");
        std::thread::sleep(Duration::from_millis(200));
    }
    signal(&s.child, "KILL");
    s.child.wait().unwrap();
    assert_eq!(rows(d, "log"), 2 * FILES as u64 + 1);
}

#[tokio::test]
async fn a_server_stopped_by_sigterm_records_its_run_interrupted_before_it_exits() {
    let (_s3, _bucket, dir) = setup("sigterm-serve").await;
    let d = dir.path();
    let mut s = serve(d);
    let id = s.start_run();
    signal(&s.child, "TERM");
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status}");
    // Recorded by the server itself, before it exited.
    let all = jobs(d);
    let j = all.iter().find(|j| j["id"] == id.as_str()).unwrap();
    assert_eq!(j["status"], "interrupted", "{j}");
    assert!(j["error"].as_str().unwrap().contains("lakeport serve received SIGTERM"), "{j}");
    assert!(all.iter().all(|j| j["status"] != "running"), "{all:?}");
    old_or_new(d);
}

#[tokio::test]
async fn jobs_show_gives_per_table_details_and_jobs_page_with_before() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("jobs-show").await;
    bucket.put("f/a.csv", "id\n1\n2\n").await;
    bucket.put("f/_SUCCESS", "").await;
    let dir = pool_over(&s3, &bucket);
    let d = dir.path();
    ok(d, &[], &["extract", "-c", "src", "--folder", "f", "--delta"]);
    ok(d, &[], &["extract", "-c", "src", "--folder", "f", "--delta"]);
    let all = jobs(d);
    let (noop, first) = (all[0]["id"].as_str().unwrap(), all[1]["id"].as_str().unwrap());
    let shown = ok(d, &[], &["jobs", "show", first]);
    assert!(shown.contains("f: committed 2 rows from 1 file(s)") && shown.contains("skipped f/_SUCCESS: job marker"), "{shown}");
    let shown = ok(d, &[], &["jobs", "show", noop]);
    assert!(shown.contains("f: nothing new: 1 file(s) already loaded, the table holds 2 rows") && !shown.contains("committed"), "{shown}");
    let detail: Value = serde_json::from_str(&stdout(d, &[], &["jobs", "show", noop, "--json"])).unwrap();
    assert_eq!(detail["details"][0]["outcome"], "nothing_new", "{detail}");
    // Paging: the jobs before the newest one.
    let older: Value = serde_json::from_str(&stdout(d, &[], &["jobs", "--json", "--before", noop])).unwrap();
    assert_eq!(older.as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect::<Vec<_>>(), vec![first]);
    let missing = lakeport(d, &[], &["jobs", "show", "nope"]);
    assert!(!missing.status.success() && text(&missing).contains("job 'nope' does not exist in pool 'default'"), "{}", text(&missing));
}
