//! Zero-copy connections end to end: a Glue-style Iceberg REST catalog with SigV4 and IAM
//! enforced (ministack), fixture tables written by pyiceberg, the `lakeport` binary on top.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{lakeport, stdout as ok, text, Lake, PoolKind};
use lakeport_testkit::TestS3;
use serde_json::Value;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run with ./scripts/test.sh"))
}

/// Creates `namespace.events` (two snapshots) or appends to it, with pyiceberg; returns its JSON.
fn fixture(endpoint: &str, namespace: &str, rows: usize, append: bool) -> Value {
    let mut cmd = Command::new(var("LAKEPORT_TEST_PYTHON"));
    cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/iceberg_fixture.py")).args([endpoint, namespace, "--rows", &rows.to_string()]);
    if append {
        cmd.arg("--append");
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "fixture: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn unique(label: &str) -> String {
    format!("{label}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// `connection add … --zero-copy` against the test catalog, with extra auth arguments.
fn add_zero_copy<'a>(name: &'a str, endpoint: &'a str, catalog: &'a str, auth: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["connection", "add", name, "--zero-copy", "--region", "us-east-1", "--warehouse", "123456789012", "--catalog-url", catalog, "--endpoint", endpoint, "--path-style", "--allow-http"];
    v.extend_from_slice(auth);
    v
}

fn scalar(dir: &Path, sql: &str) -> i64 {
    let out: Value = serde_json::from_str(&ok(dir, &[], &["query", sql, "--json"])).unwrap();
    let row = out[0].as_object().unwrap();
    row.values().next().unwrap().as_i64().unwrap()
}

/// `scalar` on the pool of `lake`.
fn pool_scalar(lake: &Lake, sql: &str) -> i64 {
    let out = lake.json(&["query", sql]);
    let row = out[0].as_object().unwrap();
    row.values().next().unwrap().as_i64().unwrap()
}

/// On both pool kinds: the pool's own table (in the SQLite catalog, or in a REST catalog with its
/// files on S3) joins the shared table in one query (issue 15: DataFusion over the REST catalog,
/// joined with zero-copy shares).
async fn shares_are_queried_in_place_joined_fresh_and_time_travelled(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let catalog = format!("{endpoint}/iceberg");
    let ns = unique("sales");
    let created = fixture(&endpoint, &ns, 1000, false);
    let first_snapshot = created["snapshots"][0].as_i64().unwrap();

    let lake = Lake::new(&s3, kind).await;
    // An extracted table to join with: names for the ids.
    let bucket = s3.bucket("zcjoin").await;
    let mut csv = String::from("id,label\n");
    for i in (0..1000).step_by(100) {
        csv.push_str(&format!("{i},bucket-{}\n", i / 100));
    }
    bucket.put("labels.csv", csv).await;
    let (rkey, rsecret) = s3.user("reader");
    lake.stdout(&[("SECRET", rsecret.expose())], &["connection", "add", "src", "--region", "us-east-1", "--bucket", &bucket.name, "--access-key-id", &rkey, "--secret-env", "SECRET", "--endpoint", &endpoint, "--path-style", "--allow-http"]);
    lake.stdout(&[], &["extract", "-c", "src", "--file", "labels.csv"]);

    // Zero-copy with the key of an IAM user that holds exactly the spec's permissions.
    let (key, secret) = s3.user("glue");
    let added = lake.stdout(&[("SECRET", secret.expose())], &add_zero_copy("Glue Lake", &endpoint, &catalog, &["--access-key-id", &key, "--secret-env", "SECRET"]));
    assert!(added.contains("ok    glue:GetTable") && added.contains("ok    s3:GetObject") && added.contains("Saved connection 'Glue Lake'"), "{added}");

    // Authenticate and load namespaces (all of them, with their tables), then pick a share.
    let listing: Value = serde_json::from_str(&lake.stdout(&[], &["connection", "namespaces", "Glue Lake", "--json"])).unwrap();
    let entry = listing.as_array().unwrap().iter().find(|e| e["namespace"] == ns.as_str()).expect("fixture namespace listed");
    assert_eq!(entry["tables"], serde_json::json!(["events"]));
    let shares = lake.stdout(&[], &["connection", "shares", "Glue Lake", "--add", &ns]);
    assert!(shares.contains(&format!("glue_lake.{ns}.events")), "{shares}");

    let t = format!("glue_lake.{ns}.events");
    assert_eq!(pool_scalar(&lake, &format!("SELECT count(*) FROM {t}")), 1000);
    assert_eq!(pool_scalar(&lake, &format!("SELECT count(*) FROM {t} e JOIN labels l ON e.id = l.id WHERE l.label LIKE 'bucket-%'")), 10);

    // Projection and predicate reach the Iceberg scan.
    let plan = lake.stdout(&[], &["query", &format!("EXPLAIN SELECT name FROM {t} WHERE id >= 990")]);
    assert!(plan.contains("IcebergTableScan projection:[id,name] predicate:[id >= 990]"), "{plan}");

    // A new snapshot in the source is visible on the next query; the old one by time travel.
    fixture(&endpoint, &ns, 500, true);
    assert_eq!(pool_scalar(&lake, &format!("SELECT count(*) FROM {t}")), 1500);
    assert_eq!(pool_scalar(&lake, &format!("SELECT count(*) FROM glue_lake.{ns}.\"events@{first_snapshot}\"")), 500);
    let future = "2999-01-01T00:00:00Z";
    assert_eq!(pool_scalar(&lake, &format!("SELECT count(*) FROM glue_lake.{ns}.\"events@{future}\"")), 1500);
    let bad = lake.run(&[], &["query", &format!("SELECT count(*) FROM glue_lake.{ns}.\"events@42\"")]);
    assert!(!bad.status.success() && text(&bad).contains("snapshot 42 does not exist"), "{}", text(&bad));

    // Nothing was copied: the pool holds only the extracted table, in catalog and on disk.
    let tables: Value = serde_json::from_str(&lake.stdout(&[], &["tables", "--json"])).unwrap();
    let names = |kind: Option<&str>| tables.as_array().unwrap().iter().filter(|t| t["kind"].as_str() == kind).map(|t| t["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(names(Some("extracted")), vec!["labels"]);
    // The shared table is listed beside it, with its connection.
    assert_eq!(names(Some("shared")), vec![t.clone()]);
    let shared = tables.as_array().unwrap().iter().find(|x| x["kind"] == "shared").unwrap();
    assert_eq!((shared["connection"].as_str(), shared["namespace"].as_str(), shared["table"].as_str()), (Some("Glue Lake"), Some(ns.as_str()), Some("events")));
    assert!(lake.stdout(&[], &["tables"]).contains(&format!("{t}  Glue Lake")));
    assert_eq!(lake.table_dirs().await, vec!["labels".to_string()]);
    // The secret stays masked and out of every output.
    let show = lake.stdout(&[], &["connection", "show", "Glue Lake", "--json"]);
    assert!(show.contains("\"secret\": \"********\"") && !show.contains(secret.expose()), "{show}");
    let show = lake.stdout(&[], &["connection", "show", "Glue Lake"]);
    assert!(show.contains("secret: ********") && show.contains(&format!("share {ns}: {t}")) && !show.contains(secret.expose()) && !show.contains('{'), "{show}");

    // Deselecting the share takes the table out of SQL again.
    let left = lake.stdout(&[], &["connection", "shares", "Glue Lake", "--remove", &ns]);
    assert!(left.contains("No shares selected"), "{left}");
    let gone = lake.run(&[], &["query", &format!("SELECT count(*) FROM {t}")]);
    assert!(!gone.status.success() && text(&gone).contains("not found"), "{}", text(&gone));
    let e = lake.run(&[], &["connection", "shares", "Glue Lake", "--remove", &ns]);
    assert!(!e.status.success() && text(&e).contains("is not a selected share"), "{}", text(&e));

    // An extraction on a zero-copy connection is refused with the reason.
    let e = lake.run(&[], &["extract", "-c", "Glue Lake", "--file", "x.csv"]);
    assert!(!e.status.success() && text(&e).contains("queried in place"), "{}", text(&e));
}

lakeport_testkit::pool_kinds!(shares_are_queried_in_place_joined_fresh_and_time_travelled);

#[tokio::test]
async fn test_connection_and_assumed_role() {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let catalog = format!("{endpoint}/iceberg");
    let ns = unique("probe");
    fixture(&endpoint, &ns, 100, false);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &[], &["pool", "create", "default"]);

    // Each missing permission is named, with the policy that grants it; nothing is saved.
    for (user, missing) in [("gluenotables", "glue:GetTables"), ("gluenos3", "s3:GetObject"), ("gluenodbs", "glue:GetDatabases")] {
        let (key, secret) = s3.user(user);
        let o = lakeport(d, &[("SECRET", secret.expose())], &add_zero_copy(user, &endpoint, &catalog, &["--access-key-id", &key, "--secret-env", "SECRET"]));
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{out}");
        assert!(out.contains(&format!("FAIL  {missing}")) && out.contains(&format!("Missing: {missing}")), "{user}: {out}");
        assert!(!out.contains("0 namespace(s)"), "a refusal must not look like an empty catalog: {out}");
    }
    // A wrong secret: the signature check fails, and says so.
    let (key, _) = s3.user("glue");
    let o = lakeport(d, &[("SECRET", "wrong-secret")], &add_zero_copy("wrong", &endpoint, &catalog, &["--access-key-id", &key, "--secret-env", "SECRET"]));
    assert!(text(&o).contains("signature mismatch: the secret access key is wrong"), "{}", text(&o));

    // Vended credentials: a user without s3:GetObject reads through the catalog's credentials.
    let (key, secret) = s3.user("gluenos3");
    ok(d, &[("SECRET", secret.expose())], &add_zero_copy("vended", &endpoint, &catalog, &["--access-key-id", &key, "--secret-env", "SECRET", "--vended-credentials", "--skip-test"]));
    ok(d, &[], &["connection", "shares", "vended", "--add", &format!("{ns}.events")]);
    assert_eq!(scalar(d, &format!("SELECT count(*) FROM vended.{ns}.events")), 100);
    ok(d, &[("SECRET", secret.expose())], &add_zero_copy("own-keys", &endpoint, &catalog, &["--access-key-id", &key, "--secret-env", "SECRET", "--skip-test"]));
    ok(d, &[], &["connection", "shares", "own-keys", "--add", &format!("{ns}.events")]);
    let denied = lakeport(d, &[], &["query", &format!("SELECT count(*) FROM own_keys.{ns}.events")]);
    assert!(!denied.status.success(), "without vended credentials the user's own (insufficient) key is used");

    // Assumed role with the External ID: lakeport's principal (LAKEPORT_AWS_*) assumes the role.
    let role = var("LAKEPORT_TEST_ROLE_ARN");
    let external_id = var("LAKEPORT_TEST_EXTERNAL_ID");
    let sts = ["--role-arn", role.as_str(), "--sts-endpoint", endpoint.as_str()];
    let mut args = add_zero_copy("role", &endpoint, &catalog, &sts);
    args.extend(["--external-id", external_id.as_str()]);
    let out = ok(d, &[], &args);
    assert!(out.contains("ok    sts:AssumeRole") && out.contains("Saved connection 'role'"), "{out}");
    ok(d, &[], &["connection", "shares", "role", "--add", &ns]);
    assert_eq!(scalar(d, &format!("SELECT count(*) FROM role.{ns}.events")), 100);
    let shown = ok(d, &[], &["connection", "show", "role", "--json"]);
    assert!(shown.contains(&external_id) && !shown.contains("secret"), "{shown}");

    // A wrong External ID is refused by STS, clearly; without one, lakeport generates one and
    // shows the trust policy to paste — and the test fails until the role trusts it.
    let mut args = add_zero_copy("role-wrong", &endpoint, &catalog, &sts);
    args.extend(["--external-id", "not-the-external-id"]);
    let o = lakeport(d, &[], &args);
    assert!(o.status.code() == Some(2) && text(&o).contains("FAIL  sts:AssumeRole") && text(&o).contains("External ID"), "{}", text(&o));
    let o = lakeport(d, &[], &add_zero_copy("role-new", &endpoint, &catalog, &sts));
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("Generated External ID lakeport-") && out.contains("\"sts:ExternalId\"") && out.contains("user/lakeport"), "{out}");
    let trust: Value = serde_json::from_str(&ok(d, &[], &["connection", "trust-policy", "--region", "us-east-1", "--sts-endpoint", &endpoint, "--allow-http", "--json"])).unwrap();
    assert!(trust["principal"].as_str().unwrap().ends_with(":user/lakeport"), "{trust}");
    let names: Value = serde_json::from_str(&ok(d, &[], &["connection", "list", "--json"])).unwrap();
    let names: Vec<&str> = names.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["own-keys", "role", "vended"]);
}
