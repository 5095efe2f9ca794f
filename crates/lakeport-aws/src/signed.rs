//! SigV4-signed HTTP requests for the AWS calls `object_store` has no method for: S3 GetBucketAcl
//! and ListObjectsV2 with keys exactly as stored (extraction), STS AssumeRole and
//! GetCallerIdentity, the Glue Iceberg REST catalog (zero-copy), CreateBucket (test set-up).
//! Signing is object_store's own public `AwsAuthorizer` (the body hash goes into
//! `x-amz-content-sha256`); we only build the request and send it with reqwest.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lakeport_error::ErrorKind;
use object_store::aws::{AwsAuthorizer, AwsCredential, AwsCredentialProvider};
use object_store::client::HttpRequest;
use url::Url;

use crate::{AwsError, HttpPolicy};

/// A client that signs each request for one AWS service (`s3`, `sts`, `glue`…) and region, with
/// the credentials of a provider (asked before each request, so renewed temporary credentials are
/// used as soon as the provider has them).
#[derive(Clone)]
pub struct SignedClient {
    http: reqwest::Client,
    credentials: AwsCredentialProvider,
    service: String,
    region: String,
    policy: HttpPolicy,
}

impl std::fmt::Debug for SignedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignedClient({} in {})", self.service, self.region)
    }
}

/// An answer to a signed request, whatever its status (an error status is not an `Err`).
#[derive(Debug)]
pub struct SignedResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The whole body, read into memory (these answers are small XML/JSON documents).
    pub body: Bytes,
    /// `x-amz-bucket-region`, which S3 sends when a bucket lives in another region.
    pub bucket_region: Option<String>,
}

impl SignedResponse {
    /// The AWS error code (`AccessDenied`, `NoSuchBucket`…) when the body is UTF-8 and holds a
    /// `<Code>` element (an S3 or STS error document); `None` otherwise.
    pub fn error_code(&self) -> Option<&str> {
        xml_tag(std::str::from_utf8(&self.body).ok()?, "Code")
    }

    /// The body as text; `<binary>` when it is not UTF-8.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("<binary>")
    }
}

impl SignedClient {
    /// A client for any SigV4 service (`service` as in the signature's scope: `s3`, `sts`,
    /// `glue`) in `region`, signing with `credentials`; URLs must pass `policy`. Connect timeout
    /// 10 s, whole-request timeout 60 s. Nothing is sent here.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when reqwest cannot build its HTTP client (its TLS backend
    /// fails to initialise).
    pub fn new(credentials: AwsCredentialProvider, service: &str, region: &str, policy: HttpPolicy) -> Result<Self, AwsError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| AwsError::config(format!("cannot build HTTP client: {e}")))?;
        Ok(SignedClient { http, credentials, service: service.to_string(), region: region.to_string(), policy })
    }

    /// [`SignedClient::new`] with one fixed credential (a static key, or temporary credentials
    /// that are not renewed).
    ///
    /// # Errors
    /// As for [`SignedClient::new`].
    pub fn with_static(credential: Arc<AwsCredential>, service: &str, region: &str, policy: HttpPolicy) -> Result<Self, AwsError> {
        Self::new(static_provider(credential), service, region, policy)
    }

    /// The same client (connection pool included) signing with another fixed credential.
    pub fn with_credential(&self, credential: Arc<AwsCredential>) -> Self {
        SignedClient { credentials: static_provider(credential), ..self.clone() }
    }

    /// The same client (connection pool included) signing for another service and region.
    pub fn with_service(&self, service: &str, region: &str) -> Self {
        SignedClient { service: service.to_string(), region: region.to_string(), ..self.clone() }
    }

    /// The credential provider requests are signed with.
    pub fn credentials(&self) -> &AwsCredentialProvider {
        &self.credentials
    }

    /// Sends one signed request (once: no retries) and reads the whole answer. `headers` are added
    /// before signing, so they are signed too. Any HTTP status comes back as `Ok`.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when `url` fails the client's [`HttpPolicy`];
    /// [`AwsError::Credentials`] when the provider has no credentials;
    /// [`AwsError::Http`] with the underlying cause spelled out: a header value that is not
    /// valid in HTTP, or a network, TLS or timeout failure sending the request or reading its body.
    ///
    /// # Panics
    /// When a header *name* is not a valid HTTP header name: callers pass fixed names.
    pub async fn send(&self, method: http::Method, url: &Url, headers: &[(&str, &str)], body: Bytes) -> Result<SignedResponse, AwsError> {
        self.policy.check(url, "URL")?;
        let invalid = |message: String| AwsError::Http { url: url.to_string(), message, kind: ErrorKind::Invalid };
        let mut req: HttpRequest = http::Request::builder()
            .method(method.clone())
            .uri(url.as_str())
            .body(body.clone().into())
            .map_err(|e| invalid(e.to_string()))?;
        for (k, v) in headers {
            req.headers_mut().insert(
                http::HeaderName::from_bytes(k.as_bytes()).expect("static header name"),
                http::HeaderValue::from_str(v).map_err(|e| invalid(e.to_string()))?,
            );
        }
        let credential = self.credentials.get_credential().await.map_err(credentials_error)?;
        AwsAuthorizer::new(&credential, &self.service, &self.region).authorize(&mut req, None);

        let mut out = self.http.request(method, url.as_str());
        for (k, v) in req.headers() {
            out = out.header(k, v);
        }
        let transport = |e: reqwest::Error| AwsError::Http {
            url: url.to_string(),
            message: describe_reqwest_error(&e),
            kind: if e.is_builder() { ErrorKind::Invalid } else { ErrorKind::Unavailable },
        };
        let resp = out.body(body).send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let bucket_region = resp.headers().get("x-amz-bucket-region").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.bytes().await.map_err(transport)?;
        Ok(SignedResponse { status, body, bucket_region })
    }
}

/// A provider's failure: lakeport's own providers ([`crate::AssumedRole`],
/// [`crate::SdkCredentials`]) carry their [`AwsError`] inside object_store's error, and it comes
/// back out as it was; any other is [`AwsError::Credentials`].
pub(crate) fn credentials_error(e: object_store::Error) -> AwsError {
    match e {
        object_store::Error::Generic { source, .. } | object_store::Error::PermissionDenied { source, .. } if source.is::<AwsError>() => {
            *source.downcast::<AwsError>().expect("checked by is")
        }
        other => AwsError::Credentials(Box::new(other)),
    }
}

/// One fixed credential as an object_store provider.
pub fn static_provider(credential: Arc<AwsCredential>) -> AwsCredentialProvider {
    Arc::new(Fixed(credential))
}

/// object_store's `StaticCredentialProvider` takes the credential by value, and `AwsCredential`
/// is not `Clone`; this one shares the `Arc` callers already hold.
#[derive(Debug)]
struct Fixed(Arc<AwsCredential>);

#[async_trait::async_trait]
impl object_store::CredentialProvider for Fixed {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        Ok(self.0.clone())
    }
}

/// Names the cause of a transport failure: reqwest's top-level message is often just
/// "error sending request", the useful part (refused, certificate, DNS) is in the source chain.
pub fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    let all = parts.join(": ");
    let lower = all.to_lowercase();
    let kind = if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        "TLS error"
    } else if e.is_timeout() {
        "timed out"
    } else if lower.contains("dns") || lower.contains("resolve") {
        "host name not found"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "network error"
    };
    format!("{kind} ({all})")
}

/// The text of the first `<tag>…</tag>` in an XML document; enough for S3's and STS's flat
/// error documents and STS's answers.
pub fn xml_tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}
