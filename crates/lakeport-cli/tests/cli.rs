//! The `lakeport` binary end to end, against the real S3 test server (ministack, IAM enforced).

mod common;

use std::path::Path;
use std::process::Command;

use common::{lakeport, ok, text};
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

#[tokio::test]
async fn extract_query_jobs_and_pyiceberg_reads_the_pool() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("cli").await;
    let mut csv = String::from("case_id,activity,ts,cost\n");
    for i in 0..250 {
        csv.push_str(&format!("{i},a{},2024-03-01 12:{:02}:00,{}.5\n", i % 3, i % 60, i));
    }
    bucket.put("in/events.csv", csv).await;
    bucket.put("in/more/part-0.ndjson", "{\"id\": 1, \"ok\": true}\n{\"id\": 2, \"ok\": false}\n").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, secret) = s3.user("reader");
    let env = [("SECRET", secret.expose())];

    ok(d, &[], &["pool", "create", "default"]);
    let added = ok(d, &env, &add_args("s3-src", &bucket.name, &key, &s3.endpoint));
    assert!(added.contains("ok    s3:GetBucketAcl") && added.contains("Saved connection 's3-src'"), "{added}");
    let out = ok(d, &[], &["extract", "-c", "s3-src", "--file", "in/events.csv", "--folder", "in/more"]);
    assert!(out.contains("events") && out.contains("250 rows") && out.contains("full load: 2 table(s), 2 file(s), 252 rows"), "{out}");

    let json: serde_json::Value = serde_json::from_str(&common::stdout(d, &[], &["extract", "-c", "s3-src", "--delta", "--folder", "in/more", "--json"])).unwrap();
    assert_eq!(json["tables"][0]["unchanged"], 1);
    assert_eq!(json["rows"], 0);

    let q = ok(d, &[], &["query", "SELECT activity, count(*) AS n, sum(cost) AS c FROM events GROUP BY activity ORDER BY activity", "--format", "csv"]);
    assert_eq!(q.lines().next(), Some("activity,n,c"));
    assert!(q.contains("a0,84,"), "{q}");
    let tables: serde_json::Value = serde_json::from_str(&common::stdout(d, &[], &["tables", "--json"])).unwrap();
    assert_eq!(tables[0]["name"], "events");
    assert_eq!(tables[0]["rows"], 250);
    let jobs: serde_json::Value = serde_json::from_str(&common::stdout(d, &[], &["jobs", "--json"])).unwrap();
    assert_eq!(jobs.as_array().unwrap().len(), 2);
    let bad = lakeport(d, &[], &["extract", "-c", "s3-src", "--file", "in/missing.csv"]);
    assert!(!bad.status.success() && text(&bad).contains("in/missing.csv"));
    let jobs: serde_json::Value = serde_json::from_str(&common::stdout(d, &[], &["jobs", "--json"])).unwrap();
    assert_eq!(jobs[0]["status"], "failed");

    // The secret: masked by `show`, stored 0600, and nowhere else on disk.
    let show = ok(d, &[], &["connection", "show", "s3-src"]);
    assert!(show.contains("\"secret\": \"********\"") && !show.contains(secret.expose()), "{show}");
    let secret_file = d.join("secrets/default/s3-src.secret");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&secret_file).unwrap().permissions().mode() & 0o777, 0o600);
    for entry in walk(d) {
        if entry != secret_file {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(!bytes.windows(secret.expose().len()).any(|w| w == secret.expose().as_bytes()), "secret found in {}", entry.display());
        }
    }

    // Any Iceberg reader sees the same tables: pyiceberg through the same SQLite catalog.
    let py = std::env::var("LAKEPORT_TEST_PYTHON").expect("LAKEPORT_TEST_PYTHON: run with ./scripts/test.sh");
    let o = Command::new(py).arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/read_with_pyiceberg.py")).arg(d).args(["default", "events"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let read: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(read["rows"], 250);
    assert_eq!(read["columns"]["case_id"], "int64");
    assert_eq!(read["columns"]["cost"], "double");
    assert!(read["columns"]["ts"].as_str().unwrap().starts_with("timestamp[us"), "{read}");
}

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

/// A delta load's summary names changed objects (rows replaced) and, with `--deleted remove`,
/// removed ones with their row counts; the default `keep` removes nothing.
#[tokio::test]
async fn delta_summary_names_changed_and_removed_objects() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("clidelta").await;
    bucket.put("d/a.csv", "id\n1\n2\n3\n").await;
    bucket.put("d/b.csv", "id\n4\n5\n").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, secret) = s3.user("reader");
    ok(d, &[], &["pool", "create", "default"]);
    ok(d, &[("SECRET", secret.expose())], &add_args("src", &bucket.name, &key, &s3.endpoint));
    ok(d, &[], &["extract", "-c", "src", "--folder", "d/"]);

    bucket.put("d/a.csv", "id\n1\n2\n3\n6\n").await;
    bucket.delete("d/b.csv").await;
    let out = ok(d, &[], &["extract", "-c", "src", "--delta", "--folder", "d/"]);
    assert!(out.contains("changed: d/a.csv (3 rows replaced by 4)"), "{out}");
    assert!(!out.contains("removed:"), "keep is the default: {out}");
    assert!(out.contains("(6 rows in table)"), "{out}");

    let out = ok(d, &[], &["extract", "-c", "src", "--delta", "--deleted", "remove", "--folder", "d/"]);
    assert!(out.contains("removed: d/b.csv (2 rows; the object is gone from the source)"), "{out}");
    assert!(out.contains("(4 rows in table)"), "{out}");
    let q = ok(d, &[], &["query", "SELECT id FROM d ORDER BY id", "--format", "csv"]);
    assert_eq!(q.lines().collect::<Vec<_>>(), ["id", "1", "2", "3", "6"]);

    // `--deleted` only means something for a delta load.
    let o = lakeport(d, &[], &["extract", "-c", "src", "--deleted", "remove", "--folder", "d/"]);
    assert!(!o.status.success() && text(&o).contains("--delta"), "{}", text(&o));
}
