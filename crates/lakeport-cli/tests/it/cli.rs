//! The `lakeport` binary end to end, against the real S3 test server (ministack, IAM enforced).

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{lakeport, ok, text, Lake, PoolKind, Served};
use lakeport_testkit::TestS3;

fn add_args<'a>(name: &'a str, bucket: &'a str, key: &'a str, endpoint: &'a str) -> Vec<&'a str> {
    vec!["connection", "add", name, "--region", "us-east-1", "--bucket", bucket, "--access-key-id", key, "--secret-env", "SECRET", "--endpoint", endpoint, "--path-style", "--allow-http"]
}

#[tokio::test]
async fn test_connection_names_the_missing_permission_and_never_saves_a_failed_connection() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("probe").await;
    bucket.put("data/a.csv", "id\n1\n").await;
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &[], &["pool", "create", "default"]);

    for (user, missing) in [("noacl", "s3:GetBucketAcl"), ("noget", "s3:GetObject"), ("nolist", "s3:ListBucket")] {
        let (key, secret) = s3.user(user);
        let o = lakeport(dir.path(), &[("SECRET", secret.expose())], &add_args(user, &bucket.name, &key, &s3.endpoint));
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{out}");
        assert!(out.contains(&format!("FAIL  {missing}")), "{user}: {out}");
        assert!(out.contains(&format!("Missing: {missing}")) && out.contains("\"Version\": \"2012-10-17\""), "{user}: {out}");
        assert!(out.contains("Not saved"), "{out}");
        assert!(!out.contains(secret.expose()), "the secret was echoed");
    }
    // The wrong secret: a signature mismatch, named as such.
    let (key, _) = s3.user("reader");
    let o = lakeport(dir.path(), &[("SECRET", "not-the-secret")], &add_args("wrong", &bucket.name, &key, &s3.endpoint));
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("SignatureDoesNotMatch") && out.contains("secret access key is wrong"), "{out}");
    // No bucket: named as such.
    let (key, secret) = s3.user("reader");
    let o = lakeport(dir.path(), &[("SECRET", secret.expose())], &add_args("nobucket", "no-such-bucket-here", &key, &s3.endpoint));
    assert!(text(&o).contains("NoSuchBucket"), "{}", text(&o));

    let list = common::stdout(dir.path(), &[], &["connection", "list", "--json"]);
    assert_eq!(list.trim(), "[]", "a failed test saved nothing");

    // Plain HTTP to a non-loopback host is refused before anything is sent.
    let o = lakeport(dir.path(), &[("SECRET", "x")], &["connection", "add", "c", "--region", "us-east-1", "--bucket", "b-1", "--access-key-id", "k", "--secret-env", "SECRET", "--endpoint", "http://s3.example.com", "--path-style", "--allow-http"]);
    assert!(!o.status.success() && text(&o).contains("loopback"), "{}", text(&o));
}

async fn extract_query_jobs_and_pyiceberg_reads_the_pool(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("cli").await;
    let mut csv = String::from("case_id,activity,ts,cost\n");
    for i in 0..250 {
        csv.push_str(&format!("{i},a{},2024-03-01 12:{:02}:00,{}.5\n", i % 3, i % 60, i));
    }
    bucket.put("in/events.csv", csv).await;
    bucket.put("in/more/part-0.ndjson", "{\"id\": 1, \"ok\": true}\n{\"id\": 2, \"ok\": false}\n").await;
    let lake = Lake::new(&s3, kind).await;
    let d = lake.d();
    let (key, secret) = s3.user("reader");
    let env = [("SECRET", secret.expose())];

    let added = lake.ok(&env, &add_args("s3-src", &bucket.name, &key, &s3.endpoint));
    assert!(added.contains("ok    s3:GetBucketAcl") && added.contains("Saved connection 's3-src'"), "{added}");
    let out = lake.ok(&[], &["extract", "-c", "s3-src", "--file", "in/events.csv", "--folder", "in/more"]);
    assert!(out.contains("events") && out.contains("250 rows") && out.contains("full load: 2 table(s), 2 file(s), 252 rows"), "{out}");

    let json = lake.json(&["extract", "-c", "s3-src", "--delta", "--folder", "in/more"]);
    assert_eq!(json["tables"][0]["unchanged"], 1);
    assert_eq!(json["rows"], 0);
    assert_eq!(json["tables"][0]["total_rows"], 2, "a no-op delta reports the rows the table holds");

    let q = lake.ok(&[], &["query", "SELECT activity, count(*) AS n, sum(cost) AS c FROM events GROUP BY activity ORDER BY activity", "--format", "csv"]);
    assert_eq!(q.lines().next(), Some("activity,n,c"));
    assert!(q.contains("a0,84,"), "{q}");
    let tables = lake.json(&["tables"]);
    assert_eq!(tables[0]["name"], "events");
    assert_eq!(tables[0]["rows"], 250);
    let jobs = lake.json(&["jobs"]);
    assert_eq!(jobs.as_array().unwrap().len(), 2);
    let bad = lake.run(&[], &["extract", "-c", "s3-src", "--file", "in/missing.csv"]);
    assert!(!bad.status.success() && text(&bad).contains("in/missing.csv"));
    let jobs = lake.json(&["jobs"]);
    assert_eq!(jobs[0]["status"], "failed");

    // The secret: masked by `show`, stored 0600, and nowhere else on disk.
    let show = lake.ok(&[], &["connection", "show", "s3-src", "--json"]);
    assert!(show.contains("\"secret\": \"********\"") && !show.contains(secret.expose()), "{show}");
    let show = lake.ok(&[], &["connection", "show", "s3-src"]);
    assert!(show.contains("secret: ********") && show.contains("bucket: ") && !show.contains(secret.expose()), "{show}");
    let secret_file = d.join(format!("secrets/{}/s3-src.secret", lake.pool));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&secret_file).unwrap().permissions().mode() & 0o777, 0o600);
    for entry in lakeport_testkit::files_under(d) {
        if entry != secret_file {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(!bytes.windows(secret.expose().len()).any(|w| w == secret.expose().as_bytes()), "secret found in {}", entry.display());
        }
    }

    // `pool list` names the pool's kind, and a REST-catalog pool's catalog — never its secret.
    let pools = lake.json(&["pool", "list"]);
    let listed = lake.ok(&[], &["pool", "list"]);
    match &lake.rest {
        None => {
            assert_eq!((pools[0]["kind"].as_str(), pools[0].get("catalog_url")), (Some("embedded"), None), "{pools}");
            assert!(listed.lines().nth(2).unwrap().trim_end().ends_with("embedded"), "{listed}");
        }
        Some(rest) => {
            assert_eq!((pools[0]["kind"].as_str(), pools[0]["catalog_url"].as_str()), (Some("rest"), Some(rest.catalog_url.as_str())), "{pools}");
            assert_eq!(pools[0]["location"].as_str(), Some(format!("{}/{}", rest.location(), lake.pool).as_str()), "{pools}");
            assert!(listed.contains(&format!("REST {}", rest.catalog_url)), "{listed}");
            assert!(!listed.contains(rest.secret.expose()) && !pools.to_string().contains(rest.secret.expose()), "{listed}");
        }
    }

    // Any Iceberg reader sees the same tables: pyiceberg through the pool's catalog (the same
    // SQLite catalog, or the same REST catalog).
    let read = lake.pyiceberg("events");
    assert_eq!(read["rows"], 250);
    assert_eq!(read["columns"]["case_id"], "int64");
    assert_eq!(read["columns"]["cost"], "double");
    assert!(read["columns"]["ts"].as_str().unwrap().starts_with("timestamp[us"), "{read}");
}


async fn query_only_reads_within_its_limits_and_tables_are_dropped_explicitly(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("readonly").await;
    let mut csv = String::from("id,name\n");
    for i in 0..40 {
        csv.push_str(&format!("{i},n{i}\n"));
    }
    bucket.put("in/events.csv", csv).await;
    bucket.put("in/other.csv", "id\n1\n").await;
    let lake = Lake::new(&s3, kind).await;
    let (key, secret) = s3.user("reader");
    lake.ok(&[("SECRET", secret.expose())], &add_args("src", &bucket.name, &key, &s3.endpoint));
    lake.ok(&[], &["extract", "-c", "src", "--file", "in/events.csv", "--file", "in/other.csv"]);

    let out = tempfile::tempdir().unwrap();
    let file = |n: &str| out.path().join(n).display().to_string();
    // (statement, how the refusal starts, what it points to instead)
    let refused: Vec<(String, &str, &str)> = vec![
        (format!("COPY (SELECT 42 AS x) TO '{}' STORED AS CSV", file("x.csv")), "COPY is not allowed", "--format csv"),
        ("COPY events TO 'relative.parquet' STORED AS PARQUET".into(), "COPY is not allowed", "--format csv"),
        ("DROP TABLE events".into(), "DROP TABLE is not allowed", "lakeport table drop"),
        ("CREATE TABLE t AS SELECT * FROM events".into(), "CREATE TABLE is not allowed", "lakeport extract"),
        ("CREATE VIEW v AS SELECT 1".into(), "CREATE VIEW is not allowed", "SELECT"),
        ("CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '/etc/passwd'".into(), "CREATE EXTERNAL TABLE is not allowed", "connection"),
        ("INSERT INTO events VALUES (99, 'x')".into(), "INSERT is not allowed", "lakeport extract"),
        ("DELETE FROM events".into(), "DELETE is not allowed", "lakeport extract"),
        ("UPDATE events SET name = 'x'".into(), "UPDATE is not allowed", "lakeport extract"),
        ("SET datafusion.runtime.memory_limit = '100G'".into(), "SET is not allowed", "--query-memory"),
        ("RESET datafusion.execution.batch_size".into(), "RESET is not allowed", "--query-memory"),
        ("PREPARE q AS SELECT 1".into(), "PREPARE is not allowed", "SELECT"),
        (format!("EXPLAIN ANALYZE COPY (SELECT 1) TO '{}' STORED AS CSV", file("e.csv")), "COPY is not allowed", "--format csv"),
    ];
    for (sql, start, instead) in &refused {
        let o = lake.run(&[], &["query", sql]);
        let err = text(&o);
        assert_eq!(o.status.code(), Some(1), "{sql}: {err}");
        assert!(err.contains(&format!("error: {start}")) && err.contains(instead), "{sql}: {err}");
    }
    for sql in ["SELECT * FROM '/etc/passwd'", "SELECT * FROM 'https://example.com/x.csv'"] {
        let o = lake.run(&[], &["query", sql]);
        assert!(!o.status.success() && !text(&o).contains("root:"), "{sql}: {}", text(&o));
    }
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "COPY wrote a file");
    assert!(!Path::new("relative.parquet").exists());
    // Queries of every kind answer.
    for (sql, first_line) in [("SELECT count(*) AS n FROM events", "n"), ("WITH x AS (SELECT id FROM events) SELECT max(id) AS m FROM x", "m"), ("VALUES (1)", "column1"), ("DESCRIBE events", "column_name,data_type,is_nullable"), ("SHOW TABLES", "table_catalog,table_schema,table_name,table_type"), ("EXPLAIN SELECT * FROM events", "plan_type,plan")] {
        let q = lake.stdout(&[], &["query", sql, "--format", "csv"]);
        assert_eq!(q.lines().next(), Some(first_line), "{sql}: {q}");
    }

    // Limits: memory (a hash join cannot spill), time, rows; bad values are named.
    let join = "SELECT count(*) FROM generate_series(1, 2000000) a JOIN generate_series(1, 2000000) b ON a.value = b.value";
    let o = lake.run(&[], &["query", "--query-memory", "8M", join]);
    assert!(text(&o).contains("error: query used more than 8 MiB of memory; narrow it") && text(&o).contains("raise --query-memory"), "{}", text(&o));
    let started = std::time::Instant::now();
    let o = lake.run(&[], &["query", "--query-timeout-secs", "1", "SELECT count(*) FROM generate_series(1, 1000000) a CROSS JOIN generate_series(1, 1000000) b"]);
    assert!(text(&o).contains("error: query ran longer than 1 s and was stopped"), "{}", text(&o));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    let o = lake.run(&[], &["query", "--max-rows", "3", "--format", "csv", "SELECT id FROM events ORDER BY id"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "id\n0\n1\n2\n");
    assert!(String::from_utf8_lossy(&o.stderr).contains("only the first 3 row(s) are shown"), "{}", text(&o));
    for bad in ["8X", "0M", "lots"] {
        let o = lake.run(&[], &["query", "--query-memory", bad, "SELECT 1"]);
        assert!(!o.status.success() && text(&o).contains("--query-memory"), "{bad}: {}", text(&o));
    }
    assert!(text(&lake.run(&[], &["query", "--query-timeout-secs", "0", "SELECT 1"])).contains("--query-timeout-secs"));

    // `table drop`: asks first (no terminal here: --yes is needed).
    let o = lake.run(&[], &["table", "drop", "events"]);
    assert!(!o.status.success() && text(&o).contains("pass --yes"), "{}", text(&o));
    let files = lake.table_files("events").await;
    assert!(files.iter().any(|f| f.starts_with("data/")), "{files:?}");
    match kind {
        PoolKind::Embedded => {
            // It drops, removes the table's files, and the job history records it.
            let dropped = lake.ok(&[], &["table", "drop", "events", "--yes"]);
            assert!(dropped.contains("Dropped table 'events' (40 rows); removed "), "{dropped}");
            assert_eq!(lake.table_files("events").await, Vec::<String>::new());
            assert_eq!(lake.table_dirs().await, vec!["other"]);
            let tables = lake.json(&["tables"]);
            assert_eq!(tables.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect::<Vec<_>>(), vec!["other"]);
            let jobs = lake.json(&["jobs"]);
            assert_eq!((jobs[0]["mode"].as_str(), jobs[0]["status"].as_str(), jobs[0]["tables"][0].as_str(), jobs[0]["rows"].as_u64()), (Some("drop"), Some("succeeded"), Some("events"), Some(40)));
            assert!(lake.ok(&[], &["jobs"]).contains("drop"));
            let o = lake.run(&[], &["table", "drop", "events", "--yes"]);
            assert!(!o.status.success() && text(&o).contains("table 'events' does not exist"), "{}", text(&o));
        }
        PoolKind::Rest => {
            // The test server's catalog does not drop tables (DropTable answers 501): the drop
            // fails naming the table and the catalog's answer, its job ends failed (not left
            // "running"), and the pool is unchanged.
            let o = lake.run(&[], &["table", "drop", "events", "--yes"]);
            let out = text(&o);
            assert!(!o.status.success() && out.contains(&format!("DropTable {}.events", lake.pool)) && out.contains("501") && out.contains("does not drop tables"), "{out}");
            let jobs = lake.json(&["jobs"]);
            assert_eq!((jobs[0]["mode"].as_str(), jobs[0]["status"].as_str(), jobs[0]["tables"][0].as_str()), (Some("drop"), Some("failed"), Some("events")), "{jobs}");
            assert!(jobs[0]["error"].as_str().unwrap().contains("501"), "{jobs}");
            assert_eq!(lake.table_files("events").await, files);
            let q = lake.stdout(&[], &["query", "SELECT count(*) AS n FROM events", "--format", "csv"]);
            assert_eq!(q, "n\n40\n");
        }
    }
}

lakeport_testkit::pool_kinds!(extract_query_jobs_and_pyiceberg_reads_the_pool, query_only_reads_within_its_limits_and_tables_are_dropped_explicitly);

/// A GET over plain HTTP/1.1 (the test needs no HTTP client crate for two calls).
fn http_get(addr: &str, path: &str, token: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    (status, out.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}


/// Starts `lakeport serve` and returns it with its stdout up to the console line.
fn serve(d: &Path, addr: &str) -> (Served, String) {
    use std::io::BufRead;
    let mut child = Command::new(common::binary())
        .arg("--pool-dir")
        .arg(d)
        .args(["serve", "--listen", addr])
        .env_remove("LAKEPORT_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut printed = String::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("Web console") {
            break;
        }
    }
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (Served(child), printed)
}

#[test]
fn tokens_are_shown_once_stored_hashed_scoped_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");

    // The first start makes an admin token and prints it once, with a console link.
    let (server, printed) = serve(d, &addr);
    let admin = printed.lines().find_map(|l| l.trim().strip_prefix("lp_").map(|t| format!("lp_{t}"))).unwrap_or_else(|| panic!("{printed}"));
    assert!(printed.contains(&format!("#token={admin}")), "{printed}");
    assert_eq!(http_get(&addr, "/api/whoami", &admin).0, 200);
    let created: serde_json::Value = serde_json::from_str(&common::stdout(d, &[], &["token", "create", "--read-only", "--name", "analyst", "--json"])).unwrap();
    let reader = created["token"].as_str().unwrap().to_string();
    assert_eq!(created["scope"], "read-only");
    // The running server knows the new token at once; its scope holds.
    let (status, who) = http_get(&addr, "/api/whoami", &reader);
    assert_eq!((status, serde_json::from_str::<serde_json::Value>(&who).unwrap()["scope"].as_str()), (200, Some("read-only")));
    assert_eq!(http_get(&addr, "/api/pools", &reader).0, 200);
    assert_eq!(http_get(&addr, "/api/pools/default/connections", &reader).0, 403);
    assert_eq!(http_get(&addr, "/api/pools/default/jobs", &reader).0, 403);
    drop(server);

    // A second start prints no token; both keep working.
    let (server, printed) = serve(d, &addr);
    assert!(!printed.contains("lp_"), "{printed}");
    assert_eq!(http_get(&addr, "/api/whoami", &admin).0, 200);
    // Listed without the token itself; revoked by name, it stops working at once.
    let list = ok(d, &[], &["token", "list"]);
    assert!(list.contains("analyst") && list.contains("read-only") && list.contains("admin"), "{list}");
    assert!(!list.contains(&reader) && !list.contains(&admin), "{list}");
    assert!(ok(d, &[], &["token", "revoke", "analyst"]).contains("Revoked API token 'analyst'"));
    assert_eq!(http_get(&addr, "/api/whoami", &reader).0, 401);
    assert_eq!(http_get(&addr, "/api/whoami", &admin).0, 200);
    assert!(!lakeport(d, &[], &["token", "revoke", "analyst"]).status.success());
    drop(server);

    // Stored hashed: no file of the pool directory holds either token.
    for entry in lakeport_testkit::files_under(d) {
        let bytes = std::fs::read(&entry).unwrap();
        for t in [&admin, &reader] {
            assert!(!bytes.windows(t.len()).any(|w| w == t.as_bytes()), "a token is in {}", entry.display());
        }
    }
}

/// A delta load's summary names changed objects (rows replaced) and, with `--deleted remove`,
/// removed ones with their row counts; the default `keep` removes nothing.
async fn delta_summary_names_changed_and_removed_objects(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("clidelta").await;
    bucket.put("d/a.csv", "id\n1\n2\n3\n").await;
    bucket.put("d/b.csv", "id\n4\n5\n").await;
    let lake = Lake::new(&s3, kind).await;
    let (key, secret) = s3.user("reader");
    lake.ok(&[("SECRET", secret.expose())], &add_args("src", &bucket.name, &key, &s3.endpoint));
    lake.ok(&[], &["extract", "-c", "src", "--folder", "d/"]);

    bucket.put("d/a.csv", "id\n1\n2\n3\n6\n").await;
    bucket.delete("d/b.csv").await;
    let out = lake.ok(&[], &["extract", "-c", "src", "--delta", "--folder", "d/"]);
    assert!(out.contains("changed: d/a.csv (3 rows replaced by 4)"), "{out}");
    assert!(!out.contains("removed:"), "keep is the default: {out}");
    assert!(out.contains("(6 rows in table)"), "{out}");

    let out = lake.ok(&[], &["extract", "-c", "src", "--delta", "--deleted", "remove", "--folder", "d/"]);
    assert!(out.contains("removed: d/b.csv (2 rows; the object is gone from the source)"), "{out}");
    assert!(out.contains("(4 rows in table)"), "{out}");
    let q = lake.ok(&[], &["query", "SELECT id FROM d ORDER BY id", "--format", "csv"]);
    assert_eq!(q.lines().collect::<Vec<_>>(), ["id", "1", "2", "3", "6"]);

    // `pool vacuum` removes what a killed load left (no snapshot references it) and nothing else.
    lake.put_orphan("d", "data/orphan-of-a-killed-load.parquet", "not parquet").await;
    let kept = lake.table_files("d").await;
    let vacuum = lake.json(&["pool", "vacuum", "--older-than-secs", "0"]);
    let removed: Vec<&str> = vacuum["removed"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(removed.len() == 1 && removed[0].ends_with("/d/data/orphan-of-a-killed-load.parquet"), "{vacuum}");
    assert_eq!(vacuum["files_kept"].as_u64(), Some(kept.len() as u64 - 1), "{vacuum}");
    let q = lake.ok(&[], &["query", "SELECT id FROM d ORDER BY id", "--format", "csv"]);
    assert_eq!(q.lines().collect::<Vec<_>>(), ["id", "1", "2", "3", "6"]);

    // `--deleted` only means something for a delta load.
    let o = lake.run(&[], &["extract", "-c", "src", "--deleted", "remove", "--folder", "d/"]);
    assert!(!o.status.success() && text(&o).contains("--delta"), "{}", text(&o));
}

lakeport_testkit::pool_kinds!(delta_summary_names_changed_and_removed_objects);

/// Folder markers (zero-byte `raw/`, `raw/2024/`, as the S3 console makes them) are passed over,
/// and the summary names them with the reason; the JSON report carries them too.
#[tokio::test]
async fn extract_summary_names_skipped_folder_markers() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("climarkers").await;
    bucket.put("raw/", "").await;
    bucket.put("raw/2024/", "").await;
    bucket.put("raw/2024/a.csv", "id,v\n1,a\n2,b\n").await;
    bucket.put("raw/b.csv", "id,v\n3,c\n4,d\n").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, secret) = s3.user("reader");
    ok(d, &[], &["pool", "create", "default"]);
    ok(d, &[("SECRET", secret.expose())], &add_args("src", &bucket.name, &key, &s3.endpoint));
    let out = ok(d, &[], &["extract", "-c", "src", "--folder", "raw/"]);
    assert!(out.contains("4 rows from 2 file(s)"), "{out}");
    assert!(out.contains("2 object(s) passed over: raw/ (directory marker), raw/2024/ (directory marker)"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&common::stdout(d, &[], &["extract", "-c", "src", "--delta", "--folder", "raw/", "--json"])).unwrap();
    assert_eq!(json["tables"][0]["skipped"][0]["key"], "raw/");
    assert_eq!(json["tables"][0]["skipped"][0]["reason"], "directory_marker");
    assert_eq!(json["tables"][0]["skipped"][1]["key"], "raw/2024/");
}

/// Issue 13, points 8 and 9 on the command line: the detected CSV dialect is printed and the
/// flags override it (a single-column result with delimiter-like values warns); `--encoding`
/// takes WHATWG labels, and the hint of a failed load names one that works.
#[tokio::test]
async fn csv_dialect_and_encoding_flags() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("clidialect").await;
    bucket.put("s.csv", "id;name\n1;a\n2;b\n").await;
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("id,city\n1,東京\n2,大阪\n");
    bucket.put("j.csv", sjis.to_vec()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, secret) = s3.user("reader");
    ok(d, &[], &["pool", "create", "default"]);
    ok(d, &[("SECRET", secret.expose())], &add_args("src", &bucket.name, &key, &s3.endpoint));

    let out = ok(d, &[], &["extract", "-c", "src", "--file", "s.csv"]);
    assert!(out.contains("delimiter ';' (detected)") && out.contains("header row (detected)"), "{out}");
    let q = ok(d, &[], &["query", "SELECT name FROM s ORDER BY id", "--format", "csv"]);
    assert_eq!(q.lines().collect::<Vec<_>>(), ["name", "a", "b"]);
    let out = ok(d, &[], &["extract", "-c", "src", "--file", "s.csv", "--table", "s1", "--delimiter", ","]);
    assert!(out.contains("delimiter ',' (given)") && out.contains("warning") && out.contains("';'"), "{out}");

    let bad = lakeport(d, &[], &["extract", "-c", "src", "--file", "j.csv"]);
    assert!(!bad.status.success() && text(&bad).contains("j.csv") && text(&bad).contains("shift_jis"), "{}", text(&bad));
    ok(d, &[], &["extract", "-c", "src", "--file", "j.csv", "--encoding", "shift_jis"]);
    let q = ok(d, &[], &["query", "SELECT city FROM j ORDER BY id", "--format", "csv"]);
    assert_eq!(q.lines().collect::<Vec<_>>(), ["city", "東京", "大阪"]);
    let bad = lakeport(d, &[], &["extract", "-c", "src", "--file", "j.csv", "--encoding", "klingon"]);
    assert!(!bad.status.success() && text(&bad).contains("klingon") && text(&bad).contains("WHATWG"), "{}", text(&bad));
}

/// Saved extractions from the command line: create with a folder pattern, a column subset,
/// pseudonymisation and a schedule; list shows the next run; run, edit (version 2), history.
/// Then the headless scheduler, started after a missed slot, runs it once.
#[tokio::test]
async fn saved_extractions_and_the_headless_scheduler() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("clisaved").await;
    bucket.put("crm/a.csv", "id,email,name\n1,ann@example.com,Ann\n2,,Bob\n").await;
    bucket.put("crm/notes.txt", "not data").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, secret) = s3.user("reader");
    ok(d, &[], &["pool", "create", "default"]);
    ok(d, &[("SECRET", secret.expose())], &add_args("src", &bucket.name, &key, &s3.endpoint));
    let out = ok(
        d,
        &[],
        &["extraction", "create", "crm", "-c", "src", "--folder", "crm", "--pattern", "*.csv", "--columns", "id,email", "--pseudonymise", "crm=email", "--delta", "--schedule", "0 3 * * *", "--timezone", "Europe/Berlin"],
    );
    assert!(out.contains("Saved extraction 'crm' (version 1)") && out.contains("Schedule 0 3 * * * (Europe/Berlin): next runs"), "{out}");
    let list = ok(d, &[], &["extraction", "list"]);
    let row = list.lines().find(|l| l.starts_with("crm")).unwrap();
    // 03:00 in Berlin is 01:00 or 02:00 UTC.
    assert!(row.contains("delta") && row.contains("0 3 * * * (Europe/Berlin)") && (row.contains(" 01:00:00") || row.contains(" 02:00:00")), "{list}");
    let out = ok(d, &[], &["extraction", "run", "crm"]);
    assert!(out.contains("crm/notes.txt (matches none of the include patterns)"), "{out}");
    let q = ok(d, &[], &["query", "SELECT * FROM crm ORDER BY id", "--format", "csv"]);
    let lines: Vec<&str> = q.lines().collect();
    assert_eq!(lines[0], "id,email");
    assert!(lines[1].starts_with("1,") && lines[1].len() == 2 + 64 && !q.contains("ann@"), "{q}");
    assert_eq!(lines[2], "2,");
    // Bad settings: the error lists the real columns; the pool is unchanged.
    let o = lakeport(d, &[], &["extraction", "edit", "crm", "--folder", "crm", "--pattern", "*.csv", "--columns", "id,mail"]);
    assert!(o.status.success(), "{}", text(&o));
    // The edit replaced the whole definition: what it dropped is named (pseudonymisation, schedule).
    let warned = text(&o);
    let dropped = warned.split("no longer has").nth(1).unwrap_or_default();
    assert!(warned.contains("warning: this edit replaced the whole definition") && dropped.contains("pseudonymise") && dropped.contains("\"email\"") && dropped.contains("Europe/Berlin"), "{warned}");
    let o = lakeport(d, &[], &["extraction", "run", "crm", "--full"]);
    assert!(!o.status.success() && text(&o).contains("names column 'mail', which the files do not have; their columns are: id, email, name"), "{}", text(&o));
    let o = lakeport(d, &[], &["extraction", "create", "x", "-c", "src", "--folder", "crm", "--schedule", "0 3 * *"]);
    assert!(!o.status.success() && text(&o).contains("has 4 fields"), "{}", text(&o));
    ok(d, &[], &["extraction", "edit", "crm", "--delta", "--folder", "crm", "--pattern", "*.csv", "--exclude-columns", "name", "--pseudonymise", "email", "--schedule", "* * * * *"]);
    let history: serde_json::Value = serde_json::from_str(&common::stdout(d, &[], &["extraction", "history", "crm", "--json"])).unwrap();
    let h: Vec<(String, i64, String)> = history.as_array().unwrap().iter().map(|h| (h["status"].as_str().unwrap().into(), h["version"].as_i64().unwrap(), h["mode"].as_str().unwrap().into())).collect();
    assert_eq!(h, vec![("failed".into(), 2, "full".into()), ("succeeded".into(), 1, "delta".into())]);
    let shown: serde_json::Value = serde_json::from_str(&common::stdout(d, &[], &["extraction", "show", "crm"])).unwrap();
    assert_eq!(shown["version"], 3);
    assert_eq!(shown["upcoming_runs"].as_array().unwrap().len(), 3);

    // Downtime: the next run was due an hour ago. The headless scheduler runs it once.
    common::make_extractions_due(d);
    bucket.put("crm/b.csv", "id,email,name\n3,ann@example.com,Ann\n").await;
    let (runs, said) = common::run_scheduler_until_a_run_ends(d, "crm");
    assert_eq!(runs.len(), 1, "{runs:?}\n{said}");
    assert_eq!((runs[0]["status"].as_str(), runs[0]["version"].as_i64(), runs[0]["rows"].as_u64()), (Some("succeeded"), Some(3), Some(1)));
    // Equal inputs, equal pseudonyms across runs.
    let q = ok(d, &[], &["query", "SELECT count(DISTINCT email) AS n FROM crm WHERE id IN (1, 3)", "--format", "csv"]);
    assert_eq!(q.lines().nth(1), Some("1"), "{q}");
    let list = ok(d, &[], &["extraction", "list"]);
    assert!(list.lines().any(|l| l.starts_with("crm") && l.contains("* * * * *")), "{list}");
}

#[test]
fn serve_with_a_given_token_says_where_it_is_kept_and_writes_no_file() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let token = "given-token-0123456789";
    let mut child = Command::new(common::binary())
        .arg("--pool-dir")
        .arg(d)
        .args(["serve", "--listen", &addr, "--token", token])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let line = std::io::BufReader::new(child.stdout.take().unwrap()).lines().map(|l| l.unwrap()).find(|l| l.starts_with("Web console")).unwrap();
    let server = Served(child);
    assert!(line.contains("--token/LAKEPORT_TOKEN") && line.contains("written nowhere") && !line.contains("server.token"), "{line}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(http_get(&addr, "/api/whoami", token).0, 200);
    drop(server);
    // Nothing holds the token: no file, and no stored hash of it.
    assert!(!d.join("server.token").exists());
    let files: Vec<String> = walk(d).into_iter().filter(|p| std::fs::read(p).is_ok_and(|b| b.windows(token.len()).any(|w| w == token.as_bytes()))).map(|p| p.display().to_string()).collect();
    assert!(files.is_empty(), "the token is written in {files:?}");
    assert!(!ok(d, &[], &["token", "list"]).contains("given"));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
