//! A REST-catalog pool authenticated with OAuth2 client credentials: `pool create
//! --oauth2-client-id … --oauth2-server-uri …` with the client secret read like any secret; the
//! tokens come from a real OAuth 2.0 server (oidc-provider from npm, `testing/oauth/server.mjs`)
//! and go to the test server's Iceberg REST catalog as `Authorization: Bearer`; the warehouse is
//! written with the default AWS credential chain (here: the environment's keys of an IAM user).
//!
//! A zero-copy connection takes the same OAuth2 options.
//!
//! What is NOT shown here: that the catalog checks the token. ministack's catalog accepts any
//! bearer token (it only refuses requests without one), and no catalog that installs from the
//! registries here checks OAuth2 tokens; lakeport-aws's tests/oauth2.rs checks renewal and the
//! one retry on 401 against a stand-in catalog that asks the token server (introspection).

use crate::common;

use common::{lakeport, text};
use lakeport_testkit::{TestS3, TokenServer};
use serde_json::Value;

const CLIENT_ID: &str = "lakeport-pool";
const CLIENT_SECRET: &str = "pool-oauth-secret-5be1d0";

/// The token server for this file's client.
fn token_server() -> TokenServer {
    TokenServer::start(CLIENT_ID, CLIENT_SECRET, None)
}

#[tokio::test]
async fn a_rest_pool_with_oauth2_client_credentials_loads_and_keeps_its_secret() {
    let s3 = TestS3::from_env();
    let endpoint = s3.endpoint.clone();
    let tokens = token_server();
    let token_url = tokens.token_url();
    let src = s3.bucket("oauthsrc").await;
    let warehouse = s3.bucket("oauthwh").await;
    src.put("in/a.csv", "id,amount\n1,10\n2,20\n3,30\n").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pool = format!("oauth_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (wkey, wsecret) = s3.user("gluewriter");
    // The warehouse's S3 credentials: the default chain, from the environment.
    let aws = [("AWS_ACCESS_KEY_ID", wkey.as_str()), ("AWS_SECRET_ACCESS_KEY", wsecret.expose())];
    let location = format!("s3://{}/pools", warehouse.name);
    let catalog = format!("{endpoint}/iceberg");
    let create = [
        "pool", "create", &pool, "--catalog-url", &catalog, "--warehouse", "123456789012", "--location", &location, "--region",
        "us-east-1", "--oauth2-client-id", CLIENT_ID, "--oauth2-server-uri", &token_url, "--secret-env", "SECRET", "--endpoint",
        &endpoint, "--path-style", "--allow-http",
    ];
    let run = |secret: &str, args: &[&str]| {
        let mut env = aws.to_vec();
        env.push(("SECRET", secret));
        lakeport(d, &env, args)
    };

    // A wrong client secret: the token server refuses it; the error names the token endpoint,
    // never the secret; no pool stays behind.
    let o = run("wrong-client-secret-42", &create);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&token_url) && text(&o).contains("invalid_client"), "{}", text(&o));
    assert!(!text(&o).contains("wrong-client-secret-42"), "{}", text(&o));
    assert!(!run("", &["pool", "list", "--json"]).stdout.windows(pool.len()).any(|w| w == pool.as_bytes()));

    let o = run(CLIENT_SECRET, &create);
    assert!(o.status.success(), "{}", text(&o));
    let (rkey, rsecret) = s3.user("reader");
    let o = run(
        rsecret.expose(),
        &[
            "-p", &pool, "connection", "add", "src", "--region", "us-east-1", "--bucket", &src.name, "--access-key-id", &rkey,
            "--secret-env", "SECRET", "--endpoint", &endpoint, "--path-style", "--allow-http",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run("", &["-p", &pool, "extract", "-c", "src", "--folder", "in", "--table", "events", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let load: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(load["rows"], 3, "{load}");
    let o = run("", &["-p", &pool, "query", "SELECT sum(amount) AS s FROM events", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let q: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(q[0]["s"], 60, "{q}");

    // A zero-copy connection with the same client credentials. A wrong secret fails Test
    // Connection naming the token endpoint; with the right one (the test skipped: the data files
    // of a token catalog are read with vended credentials, which ministack's catalog does not
    // vend) its catalog lists the pool's namespace.
    let zero_copy = |secret: &str, extra: &[&str]| {
        let mut args = vec![
            "-p", &pool, "connection", "add", "lake", "--zero-copy", "--region", "us-east-1", "--warehouse", "123456789012",
            "--catalog-url", &catalog, "--oauth2-client-id", CLIENT_ID, "--oauth2-server-uri", &token_url, "--secret-env", "SECRET",
            "--endpoint", &endpoint, "--path-style", "--allow-http",
        ];
        args.extend_from_slice(extra);
        run(secret, &args)
    };
    let o = zero_copy("wrong-client-secret-42", &[]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&token_url) && text(&o).contains("invalid_client"), "{}", text(&o));
    assert!(!text(&o).contains("wrong-client-secret-42"), "{}", text(&o));
    let o = zero_copy(CLIENT_SECRET, &["--skip-test"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run("", &["-p", &pool, "connection", "namespaces", "lake", "--json"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains(&pool), "{}", text(&o));

    // The stored settings name the client, not the secret; the secret is only in its 0600 files.
    let listed = String::from_utf8(run("", &["pool", "list", "--json"]).stdout).unwrap();
    assert!(listed.contains(&pool) && !listed.contains(CLIENT_SECRET), "{listed}");
    let secret_files = [d.join(format!("secrets/{pool}/.catalog.secret")), d.join(format!("secrets/{pool}/lake.secret"))];
    assert!(secret_files.iter().all(|f| f.exists()));
    for entry in lakeport_testkit::files_under(d) {
        if !secret_files.contains(&entry) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(!bytes.windows(CLIENT_SECRET.len()).any(|w| w == CLIENT_SECRET.as_bytes()), "secret found in {}", entry.display());
        }
    }
}
