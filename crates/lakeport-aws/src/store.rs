//! The one S3 store factory: every `AmazonS3Builder` of lakeport (extraction reads, zero-copy data
//! files and Test Connection, the test kit) is configured here, with one retry and timeout
//! policy, so a fault behaves the same whichever mode meets it.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpConnector, ReqwestConnector};
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use url::Url;

use crate::{AwsError, HttpPolicy, Secret};

/// First retry after this long; each further one waits twice as long (with jitter).
pub const RETRY_INIT_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two retries.
pub const RETRY_MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A request and its retries give up after this long in all.
pub const RETRY_TIMEOUT: Duration = Duration::from_secs(180);
/// Connecting (TCP + TLS) gives up after this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One request (headers and body) gives up after this long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// The retry policy of every S3 store: exponential backoff with jitter from
/// [`RETRY_INIT_BACKOFF`] doubling to [`RETRY_MAX_BACKOFF`], at most `max_retries` retries after
/// the first try, and [`RETRY_TIMEOUT`] in all.
pub fn retry_config(max_retries: usize) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig { init_backoff: RETRY_INIT_BACKOFF, max_backoff: RETRY_MAX_BACKOFF, base: 2.0 },
        max_retries,
        retry_timeout: RETRY_TIMEOUT,
    }
}

/// The HTTP options of every S3 store: [`CONNECT_TIMEOUT`], [`REQUEST_TIMEOUT`], plain HTTP as
/// `policy` allows it (per URL, the policy is checked by [`S3StoreSettings::builder`]).
pub fn client_options(policy: HttpPolicy) -> ClientOptions {
    ClientOptions::new().with_connect_timeout(CONNECT_TIMEOUT).with_timeout(REQUEST_TIMEOUT).with_allow_http(policy.allows_any_http())
}

/// Hands every object_store client it is given to the same HTTP client (one connection pool):
/// a source builds one store per odd key directory, all sharing this.
#[derive(Clone, Debug)]
pub struct SharedHttp(HttpClient);

impl SharedHttp {
    /// An HTTP client with [`client_options`] of `policy`.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when the client cannot be built (its TLS backend fails).
    pub fn new(policy: HttpPolicy) -> Result<Self, AwsError> {
        ReqwestConnector::default()
            .connect(&client_options(policy))
            .map(SharedHttp)
            .map_err(|e| AwsError::config(format!("cannot configure the S3 client: {e}")))
    }
}

impl HttpConnector for SharedHttp {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(self.0.clone())
    }
}

/// The credentials an S3 store signs with.
#[derive(Clone)]
pub enum StoreCredentials {
    /// A static access key (an IAM user's), optionally with a session token.
    Static {
        /// Access key ID (`AKIA…`), not secret.
        access_key_id: String,
        /// The secret access key.
        secret_access_key: Secret,
        /// The STS session token of temporary credentials.
        session_token: Option<Secret>,
    },
    /// Any object_store provider (an assumed role renewed before expiry, a profile, the default
    /// chain), asked before each request.
    Provider(AwsCredentialProvider),
}

impl std::fmt::Debug for StoreCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreCredentials::Static { access_key_id, .. } => write!(f, "Static({access_key_id})"),
            StoreCredentials::Provider(p) => write!(f, "Provider({p:?})"),
        }
    }
}

/// Plain settings of one bucket's store.
#[derive(Clone, Debug)]
pub struct S3StoreSettings {
    /// The bucket's region (`eu-central-1`), part of every signature.
    pub region: String,
    /// The bucket's name.
    pub bucket: String,
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); `None`: AWS
    /// (`https://s3.<region>.amazonaws.com`).
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`) instead of virtual-host style
    /// (`bucket.endpoint/key`).
    pub path_style: bool,
    /// Which endpoints may be reached over plain HTTP.
    pub http: HttpPolicy,
    /// Retries per request after the first try ([`retry_config`]).
    pub max_retries: usize,
    /// What requests are signed with.
    pub credentials: StoreCredentials,
}

impl S3StoreSettings {
    /// The builder for this bucket's store, configured with the one retry/timeout policy
    /// ([`retry_config`], [`client_options`]); `http`: a shared HTTP client (else object_store
    /// makes its own). Callers may clone it to build further stores of the same settings.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when the endpoint is not a URL or fails the [`HttpPolicy`], or
    /// the bucket cannot be put in front of its host (virtual-host style).
    pub fn builder(&self, http: Option<SharedHttp>) -> Result<AmazonS3Builder, AwsError> {
        let mut builder = AmazonS3Builder::new()
            .with_region(&self.region)
            .with_bucket_name(&self.bucket)
            .with_allow_http(self.http.allows_any_http())
            .with_retry(retry_config(self.max_retries))
            .with_client_options(client_options(self.http));
        builder = match &self.credentials {
            StoreCredentials::Static { access_key_id, secret_access_key, session_token } => {
                let b = builder.with_access_key_id(access_key_id).with_secret_access_key(secret_access_key.expose());
                match session_token {
                    Some(t) => b.with_token(t.expose()),
                    None => b,
                }
            }
            StoreCredentials::Provider(p) => builder.with_credentials(p.clone()),
        };
        if let Some(http) = http {
            builder = builder.with_http_connector(http);
        }
        Ok(match &self.endpoint {
            Some(raw) => {
                let endpoint = self.http.parse(raw.trim().trim_end_matches('/'), "endpoint")?;
                if self.path_style {
                    builder.with_endpoint(endpoint.as_str().trim_end_matches('/'))
                } else {
                    // object_store takes a virtual-host endpoint with the bucket already in it.
                    let vhost = bucket_host(&endpoint, &self.bucket)?;
                    builder.with_virtual_hosted_style_request(true).with_endpoint(vhost.as_str().trim_end_matches('/'))
                }
            }
            None => builder.with_virtual_hosted_style_request(!self.path_style),
        })
    }

    /// The store itself ([`S3StoreSettings::builder`] without a shared client). Nothing is sent.
    ///
    /// # Errors
    /// As for [`S3StoreSettings::builder`], or when object_store's builder refuses the settings.
    pub fn build(&self) -> Result<Arc<dyn ObjectStore>, AwsError> {
        let store = self.builder(None)?.build().map_err(|e| AwsError::config(format!("cannot configure the S3 client for bucket {}: {e}", self.bucket)))?;
        Ok(Arc::new(store))
    }
}

/// `endpoint` with `bucket.` in front of its host, path `/`.
fn bucket_host(endpoint: &Url, bucket: &str) -> Result<Url, AwsError> {
    let mut url = endpoint.clone();
    let host = format!("{bucket}.{}", endpoint.host_str().unwrap_or_default());
    url.set_host(Some(&host)).map_err(|e| AwsError::config(format!("cannot address bucket as a host name: {e}")))?;
    url.set_path("/");
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: Option<&str>, path_style: bool) -> S3StoreSettings {
        S3StoreSettings {
            region: "us-east-1".into(),
            bucket: "b-1".into(),
            endpoint: endpoint.map(str::to_string),
            path_style,
            http: HttpPolicy::new(true, false),
            max_retries: 3,
            credentials: StoreCredentials::Static { access_key_id: "AKID".into(), secret_access_key: Secret::new("s"), session_token: None },
        }
    }

    #[test]
    fn one_policy_and_the_http_rule() {
        assert!(settings(Some("http://127.0.0.1:9000"), true).build().is_ok());
        assert!(settings(Some("https://minio.internal:9000"), false).build().is_ok());
        let err = settings(Some("http://s3.example.com"), true).build().err().unwrap();
        assert!(err.to_string().contains("loopback"), "{err}");
        let r = retry_config(7);
        assert_eq!((r.max_retries, r.retry_timeout, r.backoff.init_backoff, r.backoff.max_backoff), (7, RETRY_TIMEOUT, RETRY_INIT_BACKOFF, RETRY_MAX_BACKOFF));
        assert!(!format!("{:?}", settings(None, false)).contains("\"s\""), "the secret is not in Debug");
    }
}
