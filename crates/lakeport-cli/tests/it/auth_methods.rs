//! Extraction connections without static keys, end to end through the `lakeport` binary against
//! the test server (ministack, IAM and STS enforced): every auth method adds (Test Connection
//! first, printing the identity it ran as before the verdicts), extracts and queries.
//!
//! * access key (today's method), for comparison;
//! * assumed role with External ID (lakeport's own identity from `LAKEPORT_AWS_*`);
//! * AWS profile: a shared config file written here, with a `role_arn` + `source_profile` chain;
//! * default chain from environment credentials;
//! * default chain from a web identity token file (as on EKS: STS AssumeRoleWithWebIdentity);
//! * default chain from container credentials (as on ECS): `AWS_CONTAINER_CREDENTIALS_FULL_URI`
//!   served by a tiny HTTP server in this test, handing out real temporary credentials.
//!
//! Nothing secret of the profile, the web identity or the container endpoint is stored: only the
//! access-key connection has a secret file.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{lakeport, text};
use lakeport_testkit::TestS3;

fn var(n: &str) -> String {
    std::env::var(n).unwrap_or_else(|_| panic!("{n} is not set: run with ./scripts/test.sh"))
}

/// Temporary credentials of the extraction role, as the container endpoint hands them out
/// (JSON with AccessKeyId, SecretAccessKey, Token, Expiration), from the test server's STS.
fn container_credentials(endpoint: &str) -> String {
    let script = r#"
import boto3, json, os, sys
sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=os.environ["LAKEPORT_AWS_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["LAKEPORT_AWS_SECRET_ACCESS_KEY"])
c = sts.assume_role(RoleArn=os.environ["LAKEPORT_TEST_EXTRACT_ROLE_ARN"], RoleSessionName="ecs-task",
                    ExternalId=os.environ["LAKEPORT_TEST_EXTERNAL_ID"])["Credentials"]
print(json.dumps({"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"],
                  "Expiration": c["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")}))
"#;
    let o = std::process::Command::new(var("LAKEPORT_TEST_PYTHON")).args(["-c", script, endpoint]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// A container credentials endpoint: answers every request with `body` when it carries the
/// authorization token; counts the requests it answered.
fn serve_container_credentials(body: String, token: &'static str) -> (String, Arc<AtomicUsize>) {
    let endpoint = lakeport_testkit::credentials_endpoint(move |request, _| request.contains(&format!("authorization: {token}")).then(|| body.clone()));
    (endpoint.url, endpoint.hits)
}

/// Connection name, its auth flags, the environment of its runs, the identity it must report.
type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'static str, String)>, String);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_auth_method_adds_tests_with_its_identity_and_extracts() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("auth-methods").await;
    bucket.put("d/a.csv", "id,v\n1,2\n3,4\n").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("pool");
    let ep = s3.endpoint.clone();
    let (key, secret) = s3.user("reader");
    let lakeport_key = var("LAKEPORT_AWS_ACCESS_KEY_ID");
    let lakeport_secret = var("LAKEPORT_AWS_SECRET_ACCESS_KEY");
    let role = var("LAKEPORT_TEST_EXTRACT_ROLE_ARN");
    let external_id = var("LAKEPORT_TEST_EXTERNAL_ID");

    // A shared config file with a role chain: lp-chain assumes the extraction role as lp-base.
    let config_file = dir.path().join("aws-config");
    std::fs::write(
        &config_file,
        format!(
            "[profile lp-base]\naws_access_key_id = {lakeport_key}\naws_secret_access_key = {lakeport_secret}\nendpoint_url = {ep}\n\n\
             [profile lp-chain]\nrole_arn = {role}\nsource_profile = lp-base\nexternal_id = {external_id}\nrole_session_name = lp-profile\nendpoint_url = {ep}\nregion = us-east-1\n"
        ),
    )
    .unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let token_file = dir.path().join("web-identity-token");
    // An unsigned JWT for the test OIDC provider (iss, aud as a service account token has them).
    std::fs::write(&token_file, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bGFrZXBvcnQ6bGFrZXBvcnQiLCJpc3MiOiJodHRwczovL29pZGMubGFrZXBvcnQudGVzdCIsImF1ZCI6InN0cy5hbWF6b25hd3MuY29tIiwiZXhwIjo0MTAyNDQ0ODAwfQ.").unwrap();
    let (container_url, container_hits) = serve_container_credentials(container_credentials(&ep), "lp-container-token");

    // Hermetic: no file of this machine's ~/.aws, no instance metadata.
    let base: Vec<(&str, String)> = vec![
        ("AWS_CONFIG_FILE", empty.display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", empty.display().to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("SECRET", secret.expose().to_string()),
    ];
    let with = |extra: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = base.clone();
        for (k, val) in extra {
            v.retain(|(kk, _)| kk != k);
            v.push((*k, val.clone()));
        }
        v
    };
    let cases: Vec<Case> = vec![
        ("key", vec!["--access-key-id", &key, "--secret-env", "SECRET"], with(&[]), "user/reader".into()),
        ("role", vec!["--role-arn", &role, "--external-id", &external_id], with(&[]), "assumed-role/lakeport-extraction/".into()),
        ("profile", vec!["--profile", "lp-chain"], with(&[("AWS_CONFIG_FILE", config_file.display().to_string())]), "assumed-role/lakeport-extraction/lp-profile".into()),
        ("chain-env", vec!["--default-chain"], with(&[("AWS_ACCESS_KEY_ID", key.clone()), ("AWS_SECRET_ACCESS_KEY", secret.expose().to_string())]), "user/reader".into()),
        (
            "chain-web-identity",
            vec!["--default-chain"],
            with(&[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.display().to_string()),
                ("AWS_ROLE_ARN", var("LAKEPORT_TEST_WEB_IDENTITY_ROLE_ARN")),
                ("AWS_ROLE_SESSION_NAME", "lp-eks".into()),
                ("AWS_ENDPOINT_URL_STS", ep.clone()),
            ]),
            "assumed-role/lakeport-web-identity/lp-eks".into(),
        ),
        (
            "chain-container",
            vec!["--default-chain"],
            with(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", container_url.clone()), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "lp-container-token".into())]),
            "assumed-role/lakeport-extraction/ecs-task".into(),
        ),
    ];
    let pool = d.as_path();
    let o = lakeport(pool, &[], &["pool", "create", "default"]);
    assert!(o.status.success(), "{}", text(&o));
    for (name, auth, env, identity) in &cases {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut args = vec!["connection", "add", name, "--region", "us-east-1", "--bucket", &bucket.name, "--endpoint", &ep, "--path-style", "--allow-http"];
        args.extend(auth.iter().copied());
        let o = lakeport(pool, &env, &args);
        let out = text(&o);
        assert!(o.status.success(), "{name}: {out}");
        let who = out.find("  identity: arn:aws:").unwrap_or_else(|| panic!("{name}: no identity line:\n{out}"));
        assert!(out[who..].lines().next().unwrap().contains(identity.as_str()), "{name}: identity should be …{identity}:\n{out}");
        assert!(who < out.find("s3:ListBucket").unwrap(), "{name}: the identity comes before the verdicts:\n{out}");
        assert!(out.contains("Connection OK.") && out.contains(&format!("Saved connection '{name}'")), "{name}: {out}");

        let table = format!("t_{}", name.replace('-', "_"));
        let o = lakeport(pool, &env, &["extract", "-c", name, "--file", "d/a.csv", "--table", &table]);
        assert!(o.status.success(), "{name}: extract failed:\n{}", text(&o));
        let o = lakeport(pool, &env, &["query", &format!("SELECT count(*) AS n FROM {table}"), "--format", "csv"]);
        assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "n\n2", "{name}: {}", text(&o));
    }
    assert!(container_hits.load(Ordering::SeqCst) >= 2, "the container endpoint was asked (test and extract)");

    // Only the access-key connection stored a secret; the others store their method and its
    // non-secret parameters only.
    let secret_files: Vec<String> = lakeport_testkit::files_under(pool)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "secret"))
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(secret_files, vec!["key".to_string()], "{secret_files:?}");
    let o = lakeport(pool, &[], &["connection", "show", "profile", "--json"]);
    let shown = text(&o);
    assert!(shown.contains("\"method\": \"profile\"") && shown.contains("lp-chain") && !shown.contains(&lakeport_secret), "{shown}");

    // Switching methods: the role connection becomes a profile one (nothing secret stored), then
    // an access-key one (its secret stored again).
    let profile_env: Vec<(&str, &str)> = vec![("AWS_CONFIG_FILE", config_file.to_str().unwrap()), ("AWS_EC2_METADATA_DISABLED", "true"), ("SECRET", secret.expose())];
    let o = lakeport(pool, &profile_env, &["connection", "update", "role", "--profile", "lp-chain"]);
    assert!(o.status.success(), "{}", text(&o));
    let shown = text(&lakeport(pool, &[], &["connection", "show", "role", "--json"]));
    assert!(shown.contains("\"method\": \"profile\"") && !shown.contains("role_arn"), "{shown}");
    let o = lakeport(pool, &profile_env, &["connection", "update", "role", "--access-key-id", &key, "--secret-env", "SECRET"]);
    assert!(o.status.success(), "{}", text(&o));
    let shown = text(&lakeport(pool, &[], &["connection", "show", "role", "--json"]));
    assert!(!shown.contains("\"method\"") && shown.contains(&key), "back to today's shape: {shown}");
    assert!(lakeport_testkit::files_under(pool).iter().any(|f| f.file_name().is_some_and(|n| n == "role.secret")), "the key's secret is stored");

    // A method without a usable source fails Test Connection with the provider's reason and
    // saves nothing.
    let env: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = lakeport(pool, &env, &["connection", "add", "nope", "--region", "us-east-1", "--bucket", &bucket.name, "--endpoint", &ep, "--path-style", "--allow-http", "--profile", "no-such-profile"]);
    let out = text(&o);
    assert!(!o.status.success() && out.contains("no-such-profile") && !out.contains("Saved connection"), "{out}");
}
