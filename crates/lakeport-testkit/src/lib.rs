//! Test support: the real S3 server that `scripts/test.sh` starts (ministack with IAM enforced),
//! reached over HTTP with SigV4. Each test gets a bucket of its own.
//!
//! The script exports `LAKEPORT_TEST_S3_ENDPOINT` and the keys of IAM users it created:
//! `reader` (exactly s3:GetBucketAcl, s3:GetObject, s3:ListBucket), `noacl` (without
//! s3:GetBucketAcl), `noget` (without s3:GetObject). The admin (root) key seeds buckets; it is
//! never used for what a test checks, because ministack does not verify the root key's signature.
#![warn(missing_docs)]

use std::sync::Arc;

use bytes::Bytes;
use lakeport_aws::{HttpPolicy, S3StoreSettings, StoreCredentials};
use lakeport_source::{S3Config, Secret, SignedClient};
use object_store::ObjectStore;

/// The S3 test server, as the test script describes it in the environment.
pub struct TestS3 {
    /// The server's URL (`http://127.0.0.1:<port>`), from `LAKEPORT_TEST_S3_ENDPOINT`.
    pub endpoint: String,
    admin: (String, String),
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need the real S3 test server; run them with ./scripts/test.sh")
    })
}

impl TestS3 {
    /// Reads `LAKEPORT_TEST_S3_ENDPOINT`, `LAKEPORT_TEST_ADMIN_KEY` and `LAKEPORT_TEST_ADMIN_SECRET`.
    ///
    /// # Panics
    /// When one is not set (the test was not started through `scripts/test.sh`); the message says so.
    pub fn from_env() -> TestS3 {
        TestS3 {
            endpoint: env("LAKEPORT_TEST_S3_ENDPOINT"),
            admin: (env("LAKEPORT_TEST_ADMIN_KEY"), env("LAKEPORT_TEST_ADMIN_SECRET")),
        }
    }

    /// The keys of one of the IAM users the test script made ("reader", "noacl", "noget"): access
    /// key ID and secret, from `LAKEPORT_TEST_<NAME>_KEY` and `LAKEPORT_TEST_<NAME>_SECRET`.
    ///
    /// # Panics
    /// When the script exported no such user.
    pub fn user(&self, name: &str) -> (String, Secret) {
        let upper = name.to_uppercase();
        (env(&format!("LAKEPORT_TEST_{upper}_KEY")), Secret::new(env(&format!("LAKEPORT_TEST_{upper}_SECRET"))))
    }

    /// Creates a fresh bucket `lp-<label>-<10 hex digits>` (`_` in `label` becomes `-`) with the
    /// admin key (S3 CreateBucket, path-style).
    ///
    /// # Panics
    /// When the server does not answer CreateBucket with 200, e.g. for a `label` that makes no
    /// valid bucket name (upper case, over 63 characters in all).
    pub async fn bucket(&self, label: &str) -> TestBucket {
        let name = format!("lp-{}-{}", label.replace('_', "-"), &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let admin_cfg = self.config(&name, &self.admin.0);
        let client = admin_cfg.signed_client(&Secret::new(self.admin.1.clone())).unwrap();
        let resp = client.send(http::Method::PUT, &admin_cfg.bucket_url().unwrap(), &[], Bytes::new()).await.unwrap();
        assert!(resp.status == 200, "CreateBucket {name}: HTTP {} {}", resp.status, resp.text());
        let store = S3StoreSettings {
            region: "us-east-1".into(),
            bucket: name.clone(),
            endpoint: Some(self.endpoint.clone()),
            path_style: true,
            http: HttpPolicy::new(true, false),
            max_retries: lakeport_source::DEFAULT_MAX_RETRIES,
            credentials: StoreCredentials::Static { access_key_id: self.admin.0.clone(), secret_access_key: Secret::new(self.admin.1.clone()), session_token: None },
        }
        .build()
        .unwrap();
        TestBucket { name, store, endpoint: self.endpoint.clone(), admin: client, admin_cfg }
    }

    /// Connection settings for `bucket` with the given access key (path-style, plain HTTP to loopback).
    pub fn config(&self, bucket: &str, access_key_id: &str) -> S3Config {
        let mut c = S3Config::new("us-east-1", bucket, access_key_id);
        c.endpoint = Some(self.endpoint.clone());
        c.path_style = true;
        c.allow_http = true;
        c
    }
}

/// One test's bucket, seeded and inspected with the admin key. Nothing deletes it afterwards:
/// the test server is thrown away at the end of the run.
pub struct TestBucket {
    /// The bucket's name.
    pub name: String,
    /// The server's URL, as [`TestS3::endpoint`].
    pub endpoint: String,
    store: Arc<dyn ObjectStore>,
    admin: SignedClient,
    admin_cfg: S3Config,
}

impl TestBucket {
    /// Stores an object under exactly this key, whatever S3 allows in it (trailing `/`, empty,
    /// `.` and `..` segments…): a signed PUT to the key's exact URL, not through object_store,
    /// whose `Path` would normalise such keys.
    ///
    /// # Panics
    /// When the server does not answer 200.
    pub async fn put(&self, key: &str, data: impl Into<Bytes>) {
        let url = self.admin_cfg.object_url(key).unwrap();
        let resp = self.admin.send(http::Method::PUT, &url, &[], data.into()).await.unwrap();
        assert!(resp.status == 200, "PutObject {key:?}: HTTP {} {}", resp.status, resp.text());
    }

    /// Deletes the object under exactly this key (S3 DeleteObject, a signed request as in
    /// [`TestBucket::put`]).
    ///
    /// # Panics
    /// When the server answers anything but 200 or 204.
    pub async fn delete(&self, key: &str) {
        let url = self.admin_cfg.object_url(key).unwrap();
        let resp = self.admin.send(http::Method::DELETE, &url, &[], Bytes::new()).await.unwrap();
        assert!(resp.status == 204 || resp.status == 200, "DeleteObject {key:?}: HTTP {} {}", resp.status, resp.text());
    }

    /// Every key with its ETag, sorted: a fingerprint of the bucket's contents. Listed through
    /// object_store, so keys are its `Path`s (a trailing `/` is dropped).
    ///
    /// # Panics
    /// When the listing fails, which includes a key with an empty, `.` or `..` segment (object_store
    /// refuses to list it).
    pub async fn fingerprint(&self) -> Vec<(String, Option<String>)> {
        use futures::TryStreamExt;
        let mut v: Vec<(String, Option<String>)> =
            self.store.list(None).map_ok(|m| (m.location.to_string(), m.e_tag)).try_collect().await.unwrap();
        v.sort();
        v
    }
}

/// Every file below `dir` (recursively; none if it does not exist), in the order the file
/// system lists them: what tests compare against what a table's metadata references.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// A local AWS container-credentials endpoint (the `AWS_CONTAINER_CREDENTIALS_FULL_URI` contract,
/// as on ECS): a plain HTTP/1.1 server on a free loopback port, one thread, one connection at a
/// time. Each request is handed to `answer` as `(its text, lowercased; the number of requests
/// answered so far + 1)`; `Some(body)` answers 200 with that JSON and counts in
/// [`CredentialsEndpoint::hits`], `None` answers 401 (say, without the expected
/// `Authorization` token). It serves until the test process ends.
///
/// # Panics
/// When no loopback port can be bound.
pub fn credentials_endpoint(answer: impl Fn(&str, usize) -> Option<String> + Send + 'static) -> CredentialsEndpoint {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}/v2/credentials/task", listener.local_addr().expect("address"));
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let (status, body) = match answer(&request, counter.load(Ordering::SeqCst) + 1) {
                Some(body) => {
                    counter.fetch_add(1, Ordering::SeqCst);
                    ("200 OK", body)
                }
                None => ("401 Unauthorized", "{}".to_string()),
            };
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    CredentialsEndpoint { url, hits }
}

/// A running [`credentials_endpoint`].
pub struct CredentialsEndpoint {
    /// Its URL, for `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub url: String,
    /// Requests answered with credentials (200) so far.
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
}

/// The two kinds of pool the integration suite runs its pool tests against (issue 15: one commit
/// interface, two implementations, the same tests): the embedded pool (SQLite catalog, local
/// warehouse) and a REST-catalog pool on the test server (its Glue-style Iceberg REST catalog,
/// SigV4-signed as the IAM user `gluewriter`, files in a bucket of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// SQLite catalog + local folder (`lakeport pool create NAME`).
    Embedded,
    /// The test server's Iceberg REST catalog + an S3 bucket (`lakeport pool create NAME --catalog-url …`).
    Rest,
}

/// Runs each named test body `async fn NAME(kind: PoolKind)` once per pool kind, as the tests
/// `NAME::embedded` and `NAME::rest` (so `cargo test ::rest` runs the REST half).
/// `pool_kinds!(multi_thread; NAME, …)` runs them on tokio's multi-thread runtime.
#[macro_export]
macro_rules! pool_kinds {
    (multi_thread; $($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() { super::$name($crate::PoolKind::Embedded).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn rest() { super::$name($crate::PoolKind::Rest).await }
        }
    )+};
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn embedded() { super::$name($crate::PoolKind::Embedded).await }
            #[tokio::test]
            async fn rest() { super::$name($crate::PoolKind::Rest).await }
        }
    )+};
}

/// A REST-catalog pool on the test server, before it is created: a unique pool name (the pool's
/// namespace in the catalog, which the whole test run shares: ministack keeps one catalog in
/// memory and writes each table's metadata under `<namespace>/<table>/` whatever its location),
/// a fresh bucket for its files, and the writer's keys.
pub struct RestPoolFixture {
    /// The pool's name and catalog namespace: `<label>_<8 hex digits>`.
    pub name: String,
    /// The bucket under whose `pools/` prefix the pool's files go.
    pub warehouse: TestBucket,
    /// The catalog's base URL (`<endpoint>/iceberg`, the Glue-style endpoint).
    pub catalog_url: String,
    /// The IAM user `gluewriter`'s access key id and secret.
    pub access_key_id: String,
    /// Its secret access key.
    pub secret: Secret,
    endpoint: String,
}

impl TestS3 {
    /// A [`RestPoolFixture`] named `<label>_…` with a fresh warehouse bucket.
    ///
    /// # Panics
    /// As [`TestS3::bucket`]; when the test script exported no `gluewriter` user.
    pub async fn rest_pool(&self, label: &str) -> RestPoolFixture {
        let warehouse = self.bucket("wh").await;
        let (access_key_id, secret) = self.user("gluewriter");
        RestPoolFixture {
            name: format!("{label}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            warehouse,
            catalog_url: format!("{}/iceberg", self.endpoint),
            access_key_id,
            secret,
            endpoint: self.endpoint.clone(),
        }
    }
}

impl RestPoolFixture {
    /// `s3://<bucket>/pools`: the pool's `--location` (its tables go under `<location>/<name>/`).
    pub fn location(&self) -> String {
        format!("s3://{}/pools", self.warehouse.name)
    }

    /// The key prefix of the pool's files in [`RestPoolFixture::warehouse`]: `pools/<name>/`.
    pub fn key_prefix(&self) -> String {
        format!("pools/{}/", self.name)
    }

    /// The arguments of `lakeport pool create` after the name (the secret is read from the
    /// environment variable `secret_env`).
    pub fn create_args(&self, secret_env: &str) -> Vec<String> {
        [
            "--catalog-url", &self.catalog_url, "--warehouse", "123456789012", "--location", &self.location(), "--region", "us-east-1",
            "--access-key-id", &self.access_key_id, "--secret-env", secret_env, "--endpoint", &self.endpoint, "--path-style", "--allow-http",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// The pool's catalog settings as the API and `lakeport_pool::PoolCatalog` take them (JSON,
    /// `{"kind": "rest", …}`), without the secret.
    pub fn catalog_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": "rest", "catalog_url": self.catalog_url, "warehouse": "123456789012", "location": self.location(),
            "region": "us-east-1", "auth": { "method": "access-key", "access_key_id": self.access_key_id },
            "s3_endpoint": self.endpoint, "s3_path_style": true, "allow_http": true,
        })
    }

    /// The keys of the pool's files in the warehouse (under [`RestPoolFixture::key_prefix`],
    /// without it), sorted.
    pub async fn keys(&self) -> Vec<String> {
        let prefix = self.key_prefix();
        self.warehouse.fingerprint().await.into_iter().filter_map(|(k, _)| k.strip_prefix(&prefix).map(str::to_string)).collect()
    }
}

/// The OAuth 2.0 test server: panva's oidc-provider from npm (`testing/oauth/server.mjs`, which
/// `scripts/test-env.sh` installs and names in `LAKEPORT_TEST_OAUTH_SERVER`) on a free loopback
/// port, with one client and its token endpoint at the Iceberg REST path `/v1/oauth/tokens`.
/// Stopped (by its PID) when dropped.
pub struct TokenServer {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>/` (introspection at `token/introspection`, revocation at
    /// `token/revocation`).
    pub base: String,
}

impl TokenServer {
    /// Starts it for the client `client_id` / `client_secret`; its tokens live `ttl_secs`
    /// seconds (`None`: the server's default).
    ///
    /// # Panics
    /// When `LAKEPORT_TEST_OAUTH_SERVER` is not set, node cannot be started, or the server does
    /// not say it is listening.
    pub fn start(client_id: &str, client_secret: &str, ttl_secs: Option<u64>) -> TokenServer {
        use std::io::BufRead;
        let script = std::env::var("LAKEPORT_TEST_OAUTH_SERVER")
            .expect("LAKEPORT_TEST_OAUTH_SERVER is not set: these tests need the OAuth2 test server; run them with ./scripts/test.sh");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = std::process::Command::new("node");
        command.args([script, port.to_string()]).env("CLIENT_ID", client_id).env("CLIENT_SECRET", client_secret);
        if let Some(ttl) = ttl_secs {
            command.env("TOKEN_TTL", ttl.to_string());
        }
        let mut child = command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().expect("node");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.starts_with("listening"), "the OAuth2 test server did not start: {line:?}");
        // Keep reading its output: node ends on a write to a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        TokenServer { child, base: format!("http://127.0.0.1:{port}/") }
    }

    /// The token endpoint: `<base>v1/oauth/tokens`.
    pub fn token_url(&self) -> String {
        format!("{}v1/oauth/tokens", self.base)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The table directories that hold files in a pool's warehouse, sorted: the sub-folders of
/// `local` (an embedded pool's `warehouse/<pool>/`) with a file under them, or, for a REST-catalog
/// pool (`rest`), the first path segment of its keys under [`RestPoolFixture::key_prefix`].
pub async fn table_dirs(local: &std::path::Path, rest: Option<&RestPoolFixture>) -> Vec<String> {
    let mut out: Vec<String> = match rest {
        None => std::fs::read_dir(local)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !files_under(&e.path()).is_empty())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Some(r) => r.keys().await.into_iter().filter_map(|k| k.split('/').next().map(str::to_string)).collect(),
    };
    out.sort();
    out.dedup();
    out
}
