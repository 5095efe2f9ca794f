#![allow(dead_code)]
//! Running the `lakeport` binary from tests.

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test: cargo's build of it, or `LAKEPORT_BIN` (a copy taken right after the
/// build, for a target directory other builds share and may overwrite meanwhile).
pub fn binary() -> std::path::PathBuf {
    std::env::var_os("LAKEPORT_BIN").map(Into::into).unwrap_or_else(|| env!("CARGO_BIN_EXE_lakeport").into())
}

/// Runs `lakeport --pool-dir DIR ARGS…` with extra environment variables.
pub fn lakeport(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.arg("--pool-dir").arg(dir).args(args).env_remove("LAKEPORT_SECRET_ACCESS_KEY").env_remove("LAKEPORT_POOL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// stdout and stderr together.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs and expects success; returns stdout and stderr together.
pub fn ok(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let o = lakeport(dir, env, args);
    assert!(o.status.success(), "lakeport {args:?} failed:\n{}", text(&o));
    text(&o)
}

/// A new pool directory with pool "default" and connection "src" over `bucket` (the
/// least-privilege `reader` user's key, its secret from an environment variable).
pub fn pool_over(s3: &lakeport_testkit::TestS3, bucket: &lakeport_testkit::TestBucket) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, secret) = s3.user("reader");
    ok(d, &[], &["pool", "create", "default"]);
    ok(
        d,
        &[("SECRET", secret.expose())],
        &["connection", "add", "src", "--region", "us-east-1", "--bucket", &bucket.name, "--access-key-id", &key, "--secret-env", "SECRET", "--endpoint", &s3.endpoint, "--path-style", "--allow-http", "--skip-test"],
    );
    dir
}

/// Runs and expects success; returns stdout only (for JSON output).
pub fn stdout(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let o = lakeport(dir, env, args);
    assert!(o.status.success(), "lakeport {args:?} failed:\n{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A child process of the test (`lakeport serve`, `lakeport scheduler`), stopped (by its pid)
/// when the test ends, also on failure.
pub struct Served(pub std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Makes every saved extraction of the pool directory `dir` due an hour ago (its `next_run_at`),
/// as after a downtime: through python's sqlite3 (`LAKEPORT_TEST_PYTHON`), not through lakeport.
pub fn make_extractions_due(dir: &Path) {
    let python = std::env::var("LAKEPORT_TEST_PYTHON").expect("LAKEPORT_TEST_PYTHON: run with ./scripts/test.sh");
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let set = Command::new(&python)
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE lakeport_extractions SET next_run_at=?', (sys.argv[2],)); c.commit()", dir.join("catalog.db").to_str().unwrap(), &past])
        .status()
        .unwrap();
    assert!(set.success());
}

/// Runs the headless scheduler (`lakeport scheduler --interval-secs 1`) on `dir` until a
/// scheduled run of `extraction` has ended (20 s at most), then stops it. Returns the scheduled
/// runs of `extraction` (`extraction history --json`) and what the scheduler printed.
pub fn run_scheduler_until_a_run_ends(dir: &Path, extraction: &str) -> (Vec<serde_json::Value>, String) {
    let (log, err) = (dir.join("scheduler.log"), dir.join("scheduler.err"));
    let child = Command::new(binary())
        .arg("--pool-dir")
        .arg(dir)
        .args(["scheduler", "--interval-secs", "1"])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let stop = Served(child);
    let mut runs = Vec::new();
    for _ in 0..100 {
        let history: serde_json::Value = serde_json::from_str(&stdout(dir, &[], &["extraction", "history", extraction, "--json"])).unwrap();
        runs = history.as_array().unwrap().iter().filter(|h| h["trigger"] == "schedule").cloned().collect();
        if runs.iter().any(|h| h["status"] != "running") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop(stop);
    let said = format!("{}{}", std::fs::read_to_string(&log).unwrap_or_default(), std::fs::read_to_string(&err).unwrap_or_default());
    (runs, said)
}

pub use lakeport_testkit::PoolKind;

/// A pool of either kind in a fresh pool directory, and the commands run on it: the tests about
/// loading and reading tables run their one body on both kinds (`lakeport_testkit::pool_kinds!`).
/// Every command gets the pool through `LAKEPORT_POOL`, as a user with several pools would.
pub struct Lake {
    pub dir: tempfile::TempDir,
    /// The pool's name: `default` for the embedded pool; unique for a REST-catalog pool (its
    /// namespace in the test server's catalog, which every test shares).
    pub pool: String,
    pub kind: PoolKind,
    /// A REST-catalog pool's catalog and warehouse.
    pub rest: Option<lakeport_testkit::RestPoolFixture>,
}

impl Lake {
    /// Creates the pool with `lakeport pool create` (a REST-catalog pool: in the test server's
    /// catalog as the IAM user `gluewriter`, files in a bucket of its own).
    pub async fn new(s3: &lakeport_testkit::TestS3, kind: PoolKind) -> Lake {
        let dir = tempfile::tempdir().unwrap();
        let (pool, rest) = match kind {
            PoolKind::Embedded => ("default".to_string(), None),
            PoolKind::Rest => {
                let r = s3.rest_pool("lake").await;
                (r.name.clone(), Some(r))
            }
        };
        let mut args = vec!["pool".to_string(), "create".into(), pool.clone()];
        let mut env = Vec::new();
        if let Some(r) = &rest {
            args.extend(r.create_args("CATALOG_SECRET"));
            env.push(("CATALOG_SECRET", r.secret.expose()));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(dir.path(), &env, &args);
        Lake { dir, pool, kind, rest }
    }

    pub fn d(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `lakeport ARGS…` on this pool.
    pub fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut all = vec![("LAKEPORT_POOL", self.pool.as_str())];
        all.extend_from_slice(env);
        lakeport(self.d(), &all, args)
    }

    /// Runs and expects success; stdout and stderr together.
    pub fn ok(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        let o = self.run(env, args);
        assert!(o.status.success(), "lakeport {args:?} on the {:?} pool failed:\n{}", self.kind, text(&o));
        text(&o)
    }

    /// Runs and expects success; stdout only.
    pub fn stdout(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        let o = self.run(env, args);
        assert!(o.status.success(), "lakeport {args:?} on the {:?} pool failed:\n{}", self.kind, text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `ARGS… --json`, parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.stdout(&[], &all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// The table directories that hold files in the pool's warehouse (the local folder
    /// `warehouse/<pool>/`, or `<location>/<pool>/` in S3), sorted.
    pub async fn table_dirs(&self) -> Vec<String> {
        lakeport_testkit::table_dirs(&self.d().join("warehouse").join(&self.pool), self.rest.as_ref()).await
    }

    /// The files of table `table` in the warehouse (paths below the table's directory).
    pub async fn table_files(&self, table: &str) -> Vec<String> {
        match &self.rest {
            None => {
                let dir = self.d().join("warehouse").join(&self.pool).join(table);
                lakeport_testkit::files_under(&dir).iter().map(|p| p.strip_prefix(&dir).unwrap().display().to_string()).collect()
            }
            Some(r) => r.keys().await.into_iter().filter_map(|k| k.strip_prefix(&format!("{table}/")).map(str::to_string)).collect(),
        }
    }

    /// Puts a file no table references into `table`'s directory of the warehouse (as a load
    /// killed before its commit leaves one): `path` below the table's directory.
    pub async fn put_orphan(&self, table: &str, path: &str, bytes: &str) {
        match &self.rest {
            None => {
                let file = self.d().join("warehouse").join(&self.pool).join(table).join(path);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(file, bytes).unwrap();
            }
            Some(r) => r.warehouse.put(&format!("{}{table}/{path}", r.key_prefix()), bytes.to_string()).await,
        }
    }

    /// pyiceberg reads `table` through the pool's own catalog (testing/read_with_pyiceberg.py):
    /// rows, columns with their types, snapshots.
    pub fn pyiceberg(&self, table: &str) -> serde_json::Value {
        let py = std::env::var("LAKEPORT_TEST_PYTHON").expect("LAKEPORT_TEST_PYTHON: run with ./scripts/test.sh");
        let o = Command::new(py)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/read_with_pyiceberg.py"))
            .arg(self.d())
            .args([self.pool.as_str(), table])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}
