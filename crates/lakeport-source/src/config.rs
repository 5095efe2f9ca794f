use std::sync::Arc;

use lakeport_aws::{AssumedRole, AwsCredential, AwsCredentialProvider, HttpPolicy, RoleSettings, SdkCredentials, SdkSource};
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
    /// Access key ID of the credentials (not secret; the secret key is a [`crate::Secret`]);
    /// empty for the other [`S3Auth`] methods.
    #[serde(default)]
    pub access_key_id: String,
    /// How the connection gets its AWS credentials; [`S3Auth::AccessKey`] (the default, and what
    /// connections saved before other methods existed hold) is not written out.
    #[serde(default, skip_serializing_if = "S3Auth::is_access_key")]
    pub auth: S3Auth,
    /// STS endpoint for GetCallerIdentity and AssumeRole; `None`: the regional AWS endpoint
    /// (`https://sts.<region>.amazonaws.com/`), or for an S3-compatible `endpoint` that endpoint
    /// itself (where S3-compatible stores with STS serve it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_endpoint: Option<String>,
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

/// How an extraction connection authenticates. Only [`S3Auth::AccessKey`] has a secret (stored
/// apart, in the pool's secrets); the others store their non-secret parameters only, and get
/// temporary credentials when used, renewed before they expire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum S3Auth {
    /// An IAM user's access key: [`S3Config::access_key_id`] and the secret access key.
    #[default]
    AccessKey,
    /// lakeport's own identity (`LAKEPORT_AWS_*` / `AWS_*` keys, as for zero-copy) assumes the
    /// user's role with an External ID (STS AssumeRole), renewed before expiry.
    AssumeRole {
        /// The role, `arn:aws:iam::<account>:role/<name>`.
        role_arn: String,
        /// The External ID the role's trust policy requires (`sts:ExternalId`); at least 2 characters.
        external_id: String,
        /// Session length in seconds (AWS: 900 up to the role's maximum; default 3600).
        #[serde(default = "default_session_seconds")]
        session_seconds: u32,
    },
    /// A named profile of the shared AWS config/credentials files (`~/.aws/config`,
    /// `AWS_CONFIG_FILE`), including `role_arn`/`source_profile` chains, SSO and
    /// `credential_process`; resolved by the AWS SDK's own provider.
    Profile {
        /// The profile's name (`[profile NAME]` in the config file).
        profile: String,
    },
    /// The AWS SDK's default chain: environment variables, `AWS_PROFILE`, a web identity token
    /// file (EKS), container credentials (ECS), instance metadata (EC2).
    DefaultChain,
}

impl S3Auth {
    /// True for [`S3Auth::AccessKey`] (then the connection has a secret).
    pub fn is_access_key(&self) -> bool {
        matches!(self, S3Auth::AccessKey)
    }

    /// The method's name as in the API (`access-key`, `assume-role`, `profile`, `default-chain`).
    pub fn method(&self) -> &'static str {
        match self {
            S3Auth::AccessKey => "access-key",
            S3Auth::AssumeRole { .. } => "assume-role",
            S3Auth::Profile { .. } => "profile",
            S3Auth::DefaultChain => "default-chain",
        }
    }
}

fn default_session_seconds() -> u32 {
    lakeport_aws::DEFAULT_SESSION_SECONDS
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
            auth: S3Auth::AccessKey,
            sts_endpoint: None,
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
        match &self.auth {
            S3Auth::AccessKey if self.access_key_id.trim().is_empty() => return bad("access key ID is required".into()),
            S3Auth::AssumeRole { role_arn, external_id, .. } => lakeport_aws::check_role(role_arn, external_id)?,
            S3Auth::Profile { profile } if profile.trim().is_empty() => return bad("the AWS profile name is required".into()),
            _ => {}
        }
        if !self.auth.is_access_key() && !self.access_key_id.trim().is_empty() {
            return bad(format!("an access key ID belongs to the access-key method, not to {}", self.auth.method()));
        }
        if self.concurrency == 0 {
            return bad("concurrency must be at least 1".into());
        }
        let url = self.endpoint_url()?;
        self.http_policy().check(&url, "endpoint")?;
        if self.sts_endpoint.is_some() || matches!(self.auth, S3Auth::AssumeRole { .. }) {
            self.sts_url()?;
        }
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
        self.signed_with(self.credentials(Some(secret))?)
    }

    /// A client signing S3 requests (service `s3`, the region trimmed) with `credentials`.
    ///
    /// # Errors
    /// [`SourceError::InvalidConfig`] when reqwest cannot build its HTTP client.
    pub fn signed_with(&self, credentials: AwsCredentialProvider) -> Result<SignedClient, SourceError> {
        Ok(SignedClient::new(credentials, "s3", self.region.trim(), self.http_policy())?)
    }

    /// The STS endpoint: `sts_endpoint`; else for an S3-compatible `endpoint` that endpoint,
    /// else `https://sts.<region>.amazonaws.com/`.
    ///
    /// # Errors
    /// [`SourceError::InvalidConfig`] when it is no URL or fails the plain-HTTP rule.
    pub fn sts_url(&self) -> Result<Url, SourceError> {
        let custom = self.endpoint.as_deref().filter(|e| !e.trim().is_empty());
        Ok(lakeport_aws::sts_url(self.region.trim(), self.sts_endpoint.as_deref().or(custom), self.http_policy())?)
    }

    /// The credentials requests are signed with, by [`S3Auth`] method: the access key with
    /// `secret`; an assumed role (lakeport's identity from the environment); a profile or the
    /// default chain (the AWS SDK's providers). Temporary ones are renewed before they expire.
    /// Nothing is sent or read here.
    ///
    /// # Errors
    /// [`SourceError::InvalidConfig`] when the access-key method has no (or an empty) secret, an
    /// assumed role lacks lakeport's own identity or a valid STS endpoint.
    pub fn credentials(&self, secret: Option<&Secret>) -> Result<AwsCredentialProvider, SourceError> {
        Ok(match &self.auth {
            S3Auth::AccessKey => {
                let secret = secret.filter(|s| !s.is_empty()).ok_or_else(|| SourceError::InvalidConfig("the secret access key is required".into()))?;
                let credential = AwsCredential { key_id: self.access_key_id.trim().to_string(), secret_key: secret.expose().to_string(), token: None };
                lakeport_aws::static_provider(Arc::new(credential))
            }
            S3Auth::AssumeRole { role_arn, external_id, session_seconds } => {
                let settings = RoleSettings {
                    role_arn: role_arn.trim().to_string(),
                    external_id: Some(external_id.trim().to_string()),
                    sts_url: self.sts_url()?,
                    region: self.region.trim().to_string(),
                    session_seconds: *session_seconds,
                    http: self.http_policy(),
                };
                Arc::new(AssumedRole::with_identity(settings, lakeport_aws::identity_from_env()?)?)
            }
            S3Auth::Profile { profile } => Arc::new(SdkCredentials::new(SdkSource::Profile(profile.trim().to_string()), self.region.trim())),
            S3Auth::DefaultChain => Arc::new(SdkCredentials::new(SdkSource::DefaultChain, self.region.trim())),
        })
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
    fn saved_connections_of_todays_shape_load_as_access_key_and_write_back_the_same() {
        let today = r#"{"region":"us-east-1","bucket":"b-1","access_key_id":"AKID","endpoint":null,"path_style":false,"allow_http":false,"allow_http_anywhere":false,"concurrency":8,"max_retries":5}"#;
        let c: S3Config = serde_json::from_str(today).unwrap();
        assert_eq!(c.auth, S3Auth::AccessKey);
        assert_eq!(serde_json::to_string(&c).unwrap(), today);
        let role: S3Config = serde_json::from_str(r#"{"region":"us-east-1","bucket":"b-1","auth":{"method":"assume-role","role_arn":"arn:aws:iam::1:role/r","external_id":"x-1"}}"#).unwrap();
        assert!(role.validate().is_ok());
        assert!(matches!(role.auth, S3Auth::AssumeRole { session_seconds: 3600, .. }));
        let mut profile = S3Config::new("us-east-1", "b-1", "");
        profile.auth = S3Auth::Profile { profile: " ".into() };
        assert!(profile.validate().unwrap_err().to_string().contains("profile"));
        profile.auth = S3Auth::DefaultChain;
        assert!(profile.validate().is_ok());
        profile.access_key_id = "AKID".into();
        assert!(profile.validate().is_err(), "a key ID with another method is refused, not ignored");
    }

    #[test]
    fn rejects_bad_bucket_names() {
        assert!(S3Config::new("us-east-1", "Bad_Bucket", "AKID").validate().is_err());
        assert!(S3Config::new("us-east-1", "", "AKID").validate().is_err());
    }
}
