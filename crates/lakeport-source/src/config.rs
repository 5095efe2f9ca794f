use std::sync::Arc;

use lakeport_aws::{AwsCredential, HttpPolicy};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::{Secret, SignedClient, SourceError};

/// Objects fetched at once when a connection does not say ([`S3Config::concurrency`]).
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Retries per request when a connection does not say ([`S3Config::max_retries`]).
pub const DEFAULT_MAX_RETRIES: usize = 5;

/// The non-secret settings of an S3 extraction connection. The secret access key travels
/// separately as a [`crate::Secret`] so that this struct can be shown, logged and serialised freely.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct S3Config {
    /// AWS region the bucket lives in (`eu-central-1`); part of every SigV4 signature.
    pub region: String,
    /// Bucket name (S3 naming rules: 3–63 characters of lowercase letters, digits, `.`, `-`).
    pub bucket: String,
    /// Access key ID of the credentials (not secret; the secret key is a [`crate::Secret`]).
    pub access_key_id: String,
    /// Endpoint URL of an S3-compatible store; `None` means AWS (`https://s3.<region>.amazonaws.com`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`) instead of virtual-host style.
    #[serde(default)]
    pub path_style: bool,
    /// Allow plain HTTP. Only honoured for loopback endpoints unless `allow_http_anywhere` is set too.
    #[serde(default)]
    pub allow_http: bool,
    /// The explicit override for plain HTTP to a non-loopback host.
    #[serde(default)]
    pub allow_http_anywhere: bool,
    /// How many requests are in flight at once (at least 1): objects fetched at once, and the
    /// ranged GETs of one big object ([`crate::S3Source::read_stream`]).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Retry budget per request: retries after the first try, with exponential backoff from
    /// 100 ms up to 10 s (object reads add jitter and give up after 180 s in all).
    #[serde(default = "default_max_retries")]
    pub max_retries: usize,
}

fn default_concurrency() -> usize {
    DEFAULT_CONCURRENCY
}
fn default_max_retries() -> usize {
    DEFAULT_MAX_RETRIES
}

impl S3Config {
    /// Settings for AWS itself: virtual-host addressing, HTTPS only, default concurrency and retries.
    /// Nothing is checked here; [`S3Config::validate`] does that.
    pub fn new(region: impl Into<String>, bucket: impl Into<String>, access_key_id: impl Into<String>) -> Self {
        S3Config {
            region: region.into(),
            bucket: bucket.into(),
            access_key_id: access_key_id.into(),
            endpoint: None,
            path_style: false,
            allow_http: false,
            allow_http_anywhere: false,
            concurrency: DEFAULT_CONCURRENCY,
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }

    /// Checks the settings before anything is sent: required fields, a parseable endpoint, and the
    /// plain-HTTP rule (HTTPS by default; HTTP only to loopback, or anywhere when forced).
    ///
    /// # Errors
    /// [`SourceError::InvalidConfig`], naming the setting and how to fix it: an empty region,
    /// bucket or access key ID; a bucket name outside S3's character and length rules;
    /// `concurrency` 0; an endpoint that is no URL or not `http(s)`; plain HTTP without
    /// `allow_http`, or to a non-loopback host without `allow_http_anywhere`; an IP-address
    /// endpoint without path-style addressing (the bucket cannot become part of an IP host).
    pub fn validate(&self) -> Result<(), SourceError> {
        let bad = |m: String| Err(SourceError::InvalidConfig(m));
        if self.region.trim().is_empty() {
            return bad("AWS region is required (e.g. eu-central-1)".into());
        }
        if self.bucket.trim().is_empty() {
            return bad("bucket is required".into());
        }
        if !valid_bucket_name(&self.bucket) {
            return bad(format!(
                "bucket name '{}' is not a valid S3 bucket name (3-63 characters: lowercase letters, digits, '.', '-')",
                self.bucket
            ));
        }
        if self.access_key_id.trim().is_empty() {
            return bad("access key ID is required".into());
        }
        if self.concurrency == 0 {
            return bad("concurrency must be at least 1".into());
        }
        let url = self.endpoint_url()?;
        self.http_policy().check(&url, "endpoint")?;
        if !self.path_style && matches!(url.host(), Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))) {
            return bad(format!(
                "endpoint {url} is an IP address, which cannot carry the bucket as a host name: use path-style addressing (--path-style)"
            ));
        }
        Ok(())
    }

    /// The plain-HTTP rule of this connection (`allow_http`, `allow_http_anywhere`).
    pub fn http_policy(&self) -> HttpPolicy {
        HttpPolicy::new(self.allow_http, self.allow_http_anywhere)
    }

    /// A client signing S3 requests (service `s3`, the region trimmed) with the connection's
    /// access key ID (trimmed, as object_store sends it) and `secret` (as given).
    ///
    /// # Errors
    /// [`SourceError::InvalidConfig`] when reqwest cannot build its HTTP client.
    pub fn signed_client(&self, secret: &Secret) -> Result<SignedClient, SourceError> {
        let credential = AwsCredential { key_id: self.access_key_id.trim().to_string(), secret_key: secret.expose().to_string(), token: None };
        Ok(SignedClient::with_static(Arc::new(credential), "s3", self.region.trim(), self.http_policy())?)
    }

    /// The endpoint as a URL, trailing `/` trimmed (`https://s3.<region>.amazonaws.com` when none
    /// is set).
    ///
    /// # Errors
    /// [`SourceError::InvalidConfig`] when the endpoint does not parse as a URL.
    pub fn endpoint_url(&self) -> Result<Url, SourceError> {
        let raw = match &self.endpoint {
            Some(e) if !e.trim().is_empty() => e.trim().trim_end_matches('/').to_string(),
            _ => format!("https://s3.{}.amazonaws.com", self.region.trim()),
        };
        Url::parse(&raw).map_err(|e| SourceError::InvalidConfig(format!("endpoint URL '{raw}' is not valid: {e}")))
    }

    /// The URL of the bucket itself, ending in `/`: `<endpoint>/<bucket>/` (path-style) or
    /// `<bucket>.<endpoint host>/` (virtual-host style).
    ///
    /// # Errors
    /// [`SourceError::InvalidConfig`] when the endpoint is no URL, or the bucket cannot be put in
    /// front of its host.
    pub fn bucket_url(&self) -> Result<Url, SourceError> {
        let mut url = self.endpoint_url()?;
        if self.path_style {
            url.set_path(&format!("/{}/", self.bucket));
        } else {
            let host = format!("{}.{}", self.bucket, url.host_str().unwrap_or_default());
            url.set_host(Some(&host))
                .map_err(|e| SourceError::InvalidConfig(format!("cannot address bucket as a host name: {e}")))?;
            url.set_path("/");
        }
        Ok(url)
    }

    /// The URL of exactly the object `key` (any key S3 allows). Each key segment is
    /// percent-encoded as SigV4 expects. When the key has an empty, `.` or `..` segment (or ends
    /// in `/`), URL parsing would resolve or drop that segment and address another key, so the
    /// whole key goes as one segment, `/` as `%2F`, which S3 decodes back to `/`.
    ///
    /// # Errors
    /// [`SourceError::InvalidConfig`] as for [`S3Config::bucket_url`], or when the resulting URL
    /// does not parse.
    pub fn object_url(&self, key: &str) -> Result<Url, SourceError> {
        let base = self.bucket_url()?;
        let plain = key.split('/').all(|s| !s.is_empty() && s != "." && s != "..");
        let encoded = if plain { key.split('/').map(uri_encode).collect::<Vec<_>>().join("/") } else { uri_encode(key) };
        let mut raw = base.to_string();
        raw.push_str(&encoded);
        Url::parse(&raw).map_err(|e| SourceError::InvalidConfig(format!("object URL for '{key}': {e}")))
    }
}

/// RFC 3986 unreserved characters stay, everything else is %XX — the encoding SigV4 canonicalises.
pub(crate) fn uri_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(endpoint: &str) -> S3Config {
        let mut c = S3Config::new("us-east-1", "my-bucket", "AKID");
        c.endpoint = Some(endpoint.to_string());
        c.path_style = true;
        c
    }

    #[test]
    fn https_is_the_default_and_http_needs_consent() {
        assert!(S3Config::new("us-east-1", "b-1", "AKID").validate().is_ok());
        let mut c = cfg("http://127.0.0.1:9000");
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("--allow-http"), "{err}");
        c.allow_http = true;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn http_to_a_remote_host_needs_the_explicit_override() {
        let mut c = cfg("http://s3.example.com");
        c.allow_http = true;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("loopback"), "{err}");
        c.allow_http_anywhere = true;
        assert!(c.validate().is_ok());
        for local in ["http://localhost:9000", "http://[::1]:9000", "http://127.0.0.2:1"] {
            let mut c = cfg(local);
            c.allow_http = true;
            assert!(c.validate().is_ok(), "{local}");
        }
        let mut ip_vhost = cfg("http://127.0.0.1:9000");
        ip_vhost.allow_http = true;
        ip_vhost.path_style = false;
        assert!(ip_vhost.validate().unwrap_err().to_string().contains("--path-style"));
    }

    #[test]
    fn addressing_styles() {
        let mut c = cfg("http://127.0.0.1:9000");
        c.path_style = true;
        assert_eq!(c.object_url("a b/ü.csv").unwrap().as_str(), "http://127.0.0.1:9000/my-bucket/a%20b/%C3%BC.csv");
        let mut v = cfg("https://minio.internal:9000");
        v.path_style = false;
        assert_eq!(v.object_url("x/y.csv").unwrap().as_str(), "https://my-bucket.minio.internal:9000/x/y.csv");
        let aws = S3Config::new("eu-central-1", "data", "AKID");
        assert_eq!(aws.bucket_url().unwrap().as_str(), "https://data.s3.eu-central-1.amazonaws.com/");
    }

    #[test]
    fn object_urls_name_exactly_the_key() {
        let c = cfg("http://127.0.0.1:9000");
        let path = |k: &str| c.object_url(k).unwrap().path().to_string();
        assert_eq!(path("raw/a b+c.csv"), "/my-bucket/raw/a%20b%2Bc.csv");
        assert_eq!(path("raw/"), "/my-bucket/raw%2F");
        assert_eq!(path("odd/./dot.csv"), "/my-bucket/odd%2F.%2Fdot.csv");
        assert_eq!(path("odd/../dotdot.csv"), "/my-bucket/odd%2F..%2Fdotdot.csv");
        assert_eq!(path("odd//double.csv"), "/my-bucket/odd%2F%2Fdouble.csv");
    }

    #[test]
    fn rejects_bad_bucket_names() {
        assert!(S3Config::new("us-east-1", "Bad_Bucket", "AKID").validate().is_err());
        assert!(S3Config::new("us-east-1", "", "AKID").validate().is_err());
    }
}
