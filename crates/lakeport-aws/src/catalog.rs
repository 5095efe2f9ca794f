//! What every Iceberg REST catalog client of lakeport needs from the AWS layer — zero-copy
//! connections (read-only) and REST-catalog pools (read-write) alike: the auth settings
//! ([`CatalogAuth`]), the AWS credentials they give ([`CatalogCredentials`]), and one request
//! path ([`CatalogClient`]) that SigV4-signs each call (or sends a bearer token) and classifies
//! the catalog's error answers ([`CatalogAnswer::failure`]). iceberg-catalog-rest 0.10.1 cannot
//! sign per request (see STACK.md), so this is the one place that does.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lakeport_error::ErrorKind;
use object_store::aws::{AwsCredential, AwsCredentialProvider};
use object_store::CredentialProvider;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::{
    describe_reqwest_error, AssumedRole, AwsError, HttpPolicy, RoleSettings, Secret, SignedClient,
    DEFAULT_SESSION_SECONDS,
};

/// The SigV4 signing name of AWS Glue's Iceberg REST endpoint, the default of every catalog
/// setting (`s3tables` for S3 Tables).
pub const DEFAULT_SIGNING_NAME: &str = "glue";

/// How lakeport authenticates to an Iceberg REST catalog (and, with AWS credentials, to S3).
// Shared by zero-copy connections and REST-catalog pools; the schema keeps the name it was first
// published under in the API document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "method", rename_all = "kebab-case")]
#[schemars(rename = "ZeroCopyAuth")]
pub enum CatalogAuth {
    /// Recommended: lakeport's own principal assumes the user's role with an External ID.
    AssumeRole {
        /// The customer's role, `arn:aws:iam::<account>:role/<name>`.
        role_arn: String,
        /// The External ID the role's trust policy requires (`sts:ExternalId`); at least 2 characters.
        external_id: String,
    },
    /// The access key of a dedicated IAM user (the secret is stored separately).
    AccessKey {
        /// The access key ID (`AKIA…`); not a secret.
        access_key_id: String,
    },
    /// A bearer token for non-AWS REST catalogs (stored separately); data files are then read
    /// with the catalog's vended credentials.
    Bearer,
}

/// The AWS credentials a catalog client signs its catalog (SigV4) and S3 requests with.
#[derive(Clone)]
pub enum CatalogCredentials {
    /// The static access key of an IAM user ([`CatalogAuth::AccessKey`]).
    Static(Arc<AwsCredential>),
    /// Temporary credentials from STS AssumeRole with an External ID ([`CatalogAuth::AssumeRole`]),
    /// cached and renewed 5 minutes before they expire (sessions last 3600 s).
    AssumeRole(Arc<AssumedRole>),
    /// No AWS credentials (bearer-token catalogs).
    None,
}

impl std::fmt::Debug for CatalogCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogCredentials::Static(c) => write!(f, "Static({})", c.key_id),
            CatalogCredentials::AssumeRole(r) => write!(f, "AssumeRole({})", r.role_arn()),
            CatalogCredentials::None => f.write_str("None"),
        }
    }
}

impl CatalogCredentials {
    /// The credentials of `auth`; `secret`: the stored secret (the secret access key; a bearer
    /// token is not an AWS credential). `region`/`sts_url`/`http`: where an assumed role's STS
    /// calls go. Nothing is sent here: a role is assumed on the first [`get`](Self::get).
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when an access-key setting has no (or an empty) secret, or an
    /// assumed-role one lacks lakeport's identity ([`crate::identity_from_env`]).
    pub fn for_auth(
        auth: &CatalogAuth,
        secret: Option<&Secret>,
        region: &str,
        sts_url: Url,
        http: HttpPolicy,
    ) -> Result<CatalogCredentials, AwsError> {
        Ok(match auth {
            CatalogAuth::AccessKey { access_key_id } => {
                let secret = secret
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| AwsError::config("the secret access key is missing"))?;
                CatalogCredentials::Static(Arc::new(AwsCredential {
                    key_id: access_key_id.clone(),
                    secret_key: secret.expose().to_string(),
                    token: None,
                }))
            }
            CatalogAuth::AssumeRole {
                role_arn,
                external_id,
            } => {
                let settings = RoleSettings {
                    role_arn: role_arn.clone(),
                    external_id: Some(external_id.clone()),
                    sts_url,
                    region: region.to_string(),
                    session_seconds: DEFAULT_SESSION_SECONDS,
                    http,
                };
                CatalogCredentials::AssumeRole(Arc::new(AssumedRole::with_identity(
                    settings,
                    crate::identity_from_env()?,
                )?))
            }
            CatalogAuth::Bearer => CatalogCredentials::None,
        })
    }

    /// Current credentials (assuming the role, or renewing, when needed); `None` for
    /// [`CatalogCredentials::None`].
    ///
    /// # Errors
    /// [`AwsError::AssumeRole`] when STS AssumeRole fails or its answer cannot be read.
    pub async fn get(&self) -> Result<Option<Arc<AwsCredential>>, AwsError> {
        match self {
            CatalogCredentials::Static(c) => Ok(Some(c.clone())),
            CatalogCredentials::AssumeRole(r) => Ok(Some(r.get().await?)),
            CatalogCredentials::None => Ok(None),
        }
    }

    /// The same credentials as an object_store provider (renewed on the fly); for
    /// [`CatalogCredentials::None`] one that fails every request, saying why.
    pub fn provider(&self) -> AwsCredentialProvider {
        match self {
            CatalogCredentials::Static(c) => crate::static_provider(c.clone()),
            CatalogCredentials::AssumeRole(r) => r.clone(),
            CatalogCredentials::None => Arc::new(NoCredentials),
        }
    }
}

/// A bearer-token catalog without vended credentials has nothing to sign S3 requests with.
#[derive(Debug)]
struct NoCredentials;

#[async_trait::async_trait]
impl CredentialProvider for NoCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        Err(object_store::Error::Generic {
            store: "S3",
            source: "no S3 credentials: enable vended credentials for this bearer-token catalog"
                .into(),
        })
    }
}

/// A client of one Iceberg REST catalog: every call SigV4-signed with [`CatalogCredentials`]
/// (signing name and region as configured) or, without AWS credentials, sent with the bearer
/// token. Each call times out after 60 s; nothing is retried here.
#[derive(Clone)]
pub struct CatalogClient {
    base: Url,
    credentials: CatalogCredentials,
    signer: SignedClient,
    plain: reqwest::Client,
    bearer: Option<Secret>,
}

impl std::fmt::Debug for CatalogClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CatalogClient({}, {:?}, {:?})",
            self.base, self.signer, self.credentials
        )
    }
}

/// A catalog's answer, whatever its status.
#[derive(Debug)]
pub struct CatalogAnswer {
    /// The HTTP status code.
    pub status: u16,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
}

/// What an error answer of a catalog means (AWS JSON errors `{"__type", "message"}` and Iceberg
/// REST errors `{"error": {"type", "message"}}` alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogFailure {
    /// 403 AccessDenied / Forbidden: the credentials lack a permission (the server's message).
    AccessDenied(String),
    /// The request was refused before any permission check; the text says why (wrong secret,
    /// unknown key, expired credentials, unsigned request, a refused token).
    Unauthenticated(String),
    /// 404 (the server's message).
    NotFound(String),
    /// 409: a commit's requirements failed, or what is created exists (the server's message).
    Conflict(String),
    /// Anything else: its kind from the HTTP status, and `HTTP <status> <type> <message>`.
    Other(ErrorKind, String),
}

impl CatalogAnswer {
    /// The error type (`AccessDeniedException`, `CommitFailedException`…); empty when none.
    pub fn error_type(&self) -> String {
        let j = &self.json;
        j["__type"]
            .as_str()
            .or(j["error"]["type"].as_str())
            .unwrap_or("")
            .rsplit('#')
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// The server's error message; empty when none.
    pub fn message(&self) -> String {
        let j = &self.json;
        j["message"]
            .as_str()
            .or(j["Message"].as_str())
            .or(j["error"]["message"].as_str())
            .unwrap_or("")
            .to_string()
    }

    /// `None` for a 2xx answer; else what the error means.
    pub fn failure(&self) -> Option<CatalogFailure> {
        if (200..300).contains(&self.status) {
            return None;
        }
        let (kind, message) = (self.error_type(), self.message());
        Some(match (self.status, kind.as_str()) {
            (403, "AccessDeniedException")
            | (403, "AccessDenied")
            | (403, "ForbiddenException") => CatalogFailure::AccessDenied(message),
            (_, "InvalidSignatureException") | (_, "SignatureDoesNotMatch") => {
                CatalogFailure::Unauthenticated(
                    "signature mismatch: the secret access key is wrong".into(),
                )
            }
            (_, "UnrecognizedClientException") | (_, "InvalidClientTokenId") => {
                CatalogFailure::Unauthenticated(
                    "the access key ID is unknown to this account".into(),
                )
            }
            (_, "ExpiredTokenException") => {
                CatalogFailure::Unauthenticated("the credentials have expired".into())
            }
            (_, "MissingAuthenticationTokenException") => {
                CatalogFailure::Unauthenticated("the request was not signed".into())
            }
            (401, _) => CatalogFailure::Unauthenticated(format!(
                "unauthorized: the token was refused ({message})"
            )),
            (404, _) => CatalogFailure::NotFound(message),
            (409, _) => CatalogFailure::Conflict(format!("{kind} {message}").trim().to_string()),
            (status, _) => CatalogFailure::Other(
                ErrorKind::from_http_status(status).unwrap_or(ErrorKind::Unavailable),
                format!("HTTP {status} {kind} {message}").trim().to_string(),
            ),
        })
    }
}

impl CatalogClient {
    /// A client for the catalog at `base` (its URL up to, not including, `/v1`). Requests are
    /// SigV4-signed for `signing_name` in `region` when `credentials` has AWS credentials, else
    /// sent with `bearer`. URLs must pass `http`. No request is made here.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when an HTTP client cannot be built.
    pub fn new(
        base: Url,
        credentials: CatalogCredentials,
        bearer: Option<Secret>,
        signing_name: &str,
        region: &str,
        http: HttpPolicy,
    ) -> Result<CatalogClient, AwsError> {
        let signer = SignedClient::new(credentials.provider(), signing_name, region, http)?;
        let plain = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| AwsError::config(format!("cannot build HTTP client: {e}")))?;
        Ok(CatalogClient {
            base,
            credentials,
            signer,
            plain,
            bearer,
        })
    }

    /// The credentials requests are signed with.
    pub fn credentials(&self) -> &CatalogCredentials {
        &self.credentials
    }

    /// `base` + `segments` (each split at `/`, empty parts dropped, each percent-encoded) +
    /// `query`.
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().expect("http(s) URL");
            path.pop_if_empty();
            for s in segments {
                path.extend(s.split('/').filter(|p| !p.is_empty()));
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends one call (`body` as JSON, `Content-Type: application/json`) and reads the whole
    /// answer; any HTTP status comes back as `Ok` (see [`CatalogAnswer::failure`]).
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when neither AWS credentials nor a bearer token are set;
    /// [`AwsError::Http`] on a transport failure; as [`CatalogCredentials::get`].
    pub async fn send(
        &self,
        method: http::Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<CatalogAnswer, AwsError> {
        let bytes = body
            .map(|b| Bytes::from(serde_json::to_vec(b).expect("JSON values serialise")))
            .unwrap_or_default();
        let headers: &[(&str, &str)] = if body.is_some() {
            &[("content-type", "application/json")]
        } else {
            &[]
        };
        let (status, body) = match (&self.bearer, self.credentials.get().await?) {
            (_, Some(_)) => {
                let r = self.signer.send(method, url, headers, bytes).await?;
                (r.status, r.body)
            }
            (Some(token), None) => {
                let transport = |e: reqwest::Error| AwsError::Http {
                    url: url.to_string(),
                    message: describe_reqwest_error(&e),
                    kind: ErrorKind::Unavailable,
                };
                let mut req = self
                    .plain
                    .request(method, url.as_str())
                    .bearer_auth(token.expose());
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                let r = req.body(bytes).send().await.map_err(transport)?;
                let status = r.status().as_u16();
                (status, r.bytes().await.map_err(transport)?)
            }
            (None, None) => return Err(AwsError::config("no catalog credentials configured")),
        };
        Ok(CatalogAnswer {
            status,
            json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The signing name is what the signature's scope names: ministack checks signatures but not
    /// their scope (TESTING.md), so this is the check that `glue` is what AWS Glue receives.
    #[tokio::test]
    async fn requests_are_signed_for_the_signing_name_with_the_body_hash() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..2 {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 16384];
                let mut n = 0;
                // Headers, then the body's Content-Length bytes.
                loop {
                    n += sock.read(&mut buf[n..]).await.unwrap();
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if n >= end + 4 + len {
                            break;
                        }
                    }
                }
                seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
                let answer = r#"{"error":{"type":"CommitFailedException","message":"stale xxx"}}"#;
                let reply = format!("HTTP/1.1 409 Conflict\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}", answer.len());
                sock.write_all(reply.as_bytes()).await.unwrap();
            }
            seen
        });
        let credentials = CatalogCredentials::Static(Arc::new(AwsCredential {
            key_id: "AKIDEXAMPLE".into(),
            secret_key: "secret".into(),
            token: None,
        }));
        let base = Url::parse(&format!("http://{addr}/iceberg")).unwrap();
        let http = HttpPolicy::new(true, false);
        let client = CatalogClient::new(
            base.clone(),
            credentials.clone(),
            None,
            DEFAULT_SIGNING_NAME,
            "eu-west-1",
            http,
        )
        .unwrap();
        let body = serde_json::json!({ "requirements": [], "updates": [] });
        let answer = client
            .send(
                http::Method::POST,
                &client.url(
                    &["v1", "catalogs/1", "namespaces", "a b", "tables", "t"],
                    &[],
                ),
                Some(&body),
            )
            .await
            .unwrap();
        assert_eq!(
            answer.failure(),
            Some(CatalogFailure::Conflict(
                "CommitFailedException stale xxx".into()
            ))
        );
        let other =
            CatalogClient::new(base, credentials, None, "s3tables", "eu-west-1", http).unwrap();
        other
            .send(http::Method::GET, &other.url(&["v1", "config"], &[]), None)
            .await
            .unwrap();
        let seen = server.await.unwrap();
        let auth = |req: &str| {
            req.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .unwrap()
                .to_string()
        };
        assert!(
            seen[0].starts_with("POST /iceberg/v1/catalogs/1/namespaces/a%20b/tables/t "),
            "{}",
            seen[0]
        );
        assert!(
            auth(&seen[0]).contains("/eu-west-1/glue/aws4_request"),
            "{}",
            auth(&seen[0])
        );
        let sha = seen[0]
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("x-amz-content-sha256:"))
            .unwrap()
            .split(':')
            .nth(1)
            .unwrap()
            .trim()
            .to_string();
        let body_bytes = serde_json::to_vec(&body).unwrap();
        assert_eq!(sha, hex_sha256(&body_bytes), "the body hash is signed");
        assert!(
            auth(&seen[1]).contains("/eu-west-1/s3tables/aws4_request"),
            "{}",
            auth(&seen[1])
        );
        assert!(!seen[0].contains("secret"), "the secret never travels");
    }

    pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
