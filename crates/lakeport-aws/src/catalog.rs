//! What every Iceberg REST catalog client of lakeport needs from the AWS layer — zero-copy
//! connections (read-only) and REST-catalog pools (read-write) alike: the auth settings
//! ([`CatalogAuth`]), the AWS credentials they give ([`CatalogCredentials`]), and one request
//! path ([`CatalogClient`]) that SigV4-signs each call (or sends a bearer token: a fixed one or
//! one from OAuth2 client credentials, [`CatalogToken`]) and classifies the catalog's error
//! answers ([`CatalogAnswer::failure`]). iceberg-catalog-rest 0.10.1 cannot
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
    describe_reqwest_error, oauth2_token_url, AssumedRole, AwsError, HttpPolicy,
    OAuth2ClientCredentials, RoleSettings, Secret, SignedClient, DEFAULT_SESSION_SECONDS,
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
    /// OAuth2 client credentials (RFC 6749 §4.4) for non-AWS REST catalogs: lakeport fetches
    /// access tokens with the client id and the client secret (stored separately) and renews
    /// them before they expire; data files as for [`CatalogAuth::Bearer`].
    #[serde(rename = "oauth2")]
    OAuth2 {
        /// The client id; not a secret.
        client_id: String,
        /// The scope asked for; `None`: `catalog` ([`crate::DEFAULT_OAUTH2_SCOPE`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// The token endpoint of an external authorization server (the Iceberg REST spec's
        /// `oauth2-server-uri`); `None`: the catalog's own `<catalog URL>/v1/oauth/tokens`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_uri: Option<String>,
    },
}

/// The settings every Iceberg REST catalog client of lakeport has, whatever it is for: zero-copy
/// connections (`ZeroCopyConfig`) and REST-catalog pools (`RestPoolSettings`) embed this with
/// `#[serde(flatten)]`, so their JSON (stored rows, API bodies) keeps these members at its top
/// level, as it had them before they were one struct.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CatalogSettings {
    /// AWS region of the catalog, STS and S3, such as `eu-west-1`; also the SigV4 signing region.
    pub region: String,
    /// The `warehouse` of the Iceberg REST `GET /v1/config` call; for AWS Glue the AWS account id
    /// that owns the catalog.
    pub warehouse: String,
    /// How catalog (and S3) requests are authenticated.
    pub auth: CatalogAuth,
    /// SigV4 signing name of the catalog (`glue`; `s3tables` for S3 Tables).
    #[serde(default = "default_signing_name")]
    pub signing_name: String,
    /// S3 endpoint for data files (S3-compatible stores); `None`: AWS.
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    /// Path-style S3 URLs (`endpoint/bucket/key`) instead of virtual-hosted ones.
    #[serde(default)]
    pub s3_path_style: bool,
    /// STS endpoint for AssumeRole; `None`: `https://sts.<region>.amazonaws.com`.
    #[serde(default)]
    pub sts_endpoint: Option<String>,
    /// Allow plain HTTP; only to loopback endpoints (local test servers) unless
    /// `allow_http_anywhere` is set too.
    #[serde(default)]
    pub allow_http: bool,
    /// The explicit override for plain HTTP to a non-loopback host (one [`HttpPolicy`] with
    /// `allow_http`). Not written when false, so settings saved before it existed are stored as
    /// they were.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_http_anywhere: bool,
}

fn default_signing_name() -> String {
    DEFAULT_SIGNING_NAME.into()
}

impl CatalogSettings {
    /// Settings for `region` and `warehouse` with `auth`; everything else at its default (AWS
    /// endpoints, HTTPS only, signing name `glue`).
    pub fn new(region: &str, warehouse: &str, auth: CatalogAuth) -> CatalogSettings {
        CatalogSettings {
            region: region.to_string(),
            warehouse: warehouse.to_string(),
            auth,
            signing_name: default_signing_name(),
            s3_endpoint: None,
            s3_path_style: false,
            sts_endpoint: None,
            allow_http: false,
            allow_http_anywhere: false,
        }
    }

    /// The plain-HTTP rule (`allow_http`, `allow_http_anywhere`).
    pub fn http_policy(&self) -> HttpPolicy {
        HttpPolicy::new(self.allow_http, self.allow_http_anywhere)
    }

    /// The STS endpoint for AssumeRole: `sts_endpoint`, else `https://sts.<region>.amazonaws.com/`.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when it does not parse or plain HTTP is refused.
    pub fn sts_url(&self) -> Result<Url, AwsError> {
        crate::sts_url(&self.region, self.sts_endpoint.as_deref(), self.http_policy())
    }

    /// Checks what these settings alone can: region, warehouse and signing name set, the S3
    /// endpoint valid under the plain-HTTP rule, an assumed role's ARN, External ID and STS
    /// endpoint, an OAuth2 client id and server URI. `warehouse_hint` ends the missing-warehouse
    /// message (how the caller's user gives it).
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] naming the first setting that is wrong.
    pub fn validate(&self, warehouse_hint: &str) -> Result<(), AwsError> {
        if self.region.trim().is_empty() {
            return Err(AwsError::config("the AWS region is required"));
        }
        if self.warehouse.trim().is_empty() {
            return Err(AwsError::config(format!("the warehouse is required ({warehouse_hint})")));
        }
        if self.signing_name.trim().is_empty() {
            return Err(AwsError::config("the signing name is empty"));
        }
        if let Some(e) = &self.s3_endpoint {
            self.http_policy().parse(e, "S3 endpoint")?;
        }
        match &self.auth {
            CatalogAuth::AssumeRole { role_arn, external_id } => {
                crate::check_role(role_arn, external_id)?;
                self.sts_url()?;
            }
            CatalogAuth::OAuth2 { client_id, server_uri, .. } => {
                if client_id.trim().is_empty() {
                    return Err(AwsError::config("the OAuth2 client id is empty"));
                }
                if let Some(uri) = server_uri.as_deref().filter(|u| !u.trim().is_empty()) {
                    self.http_policy().parse(uri.trim(), "OAuth2 server URI")?;
                }
            }
            CatalogAuth::AccessKey { .. } | CatalogAuth::Bearer => {}
        }
        Ok(())
    }
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
            CatalogAuth::Bearer | CatalogAuth::OAuth2 { .. } => CatalogCredentials::None,
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

/// The bearer token a catalog client sends when it has no AWS credentials.
#[derive(Clone, Debug)]
pub enum CatalogToken {
    /// A token given once and stored ([`CatalogAuth::Bearer`]).
    Fixed(Secret),
    /// Tokens from OAuth2 client credentials, cached and renewed ([`CatalogAuth::OAuth2`]).
    OAuth2(Arc<OAuth2ClientCredentials>),
}

impl From<Secret> for CatalogToken {
    fn from(token: Secret) -> Self {
        CatalogToken::Fixed(token)
    }
}

impl CatalogToken {
    /// The token source of `auth` with its stored `secret` (the bearer token, or the OAuth2
    /// client secret); `None` for the AWS methods (they sign instead). `catalog_base`: the
    /// catalog's URL up to `/v1`, whose `/v1/oauth/tokens` is the default token endpoint. Nothing
    /// is sent here. The one place that decides how a catalog's token is obtained.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when the secret is missing or empty, or the token endpoint is
    /// not a valid URL under `http`.
    pub fn for_auth(
        auth: &CatalogAuth,
        secret: Option<&Secret>,
        catalog_base: &Url,
        http: HttpPolicy,
    ) -> Result<Option<CatalogToken>, AwsError> {
        let secret = secret.filter(|s| !s.is_empty());
        Ok(match auth {
            CatalogAuth::Bearer => Some(CatalogToken::Fixed(
                secret
                    .cloned()
                    .ok_or_else(|| AwsError::config("the catalog's bearer token is missing"))?,
            )),
            CatalogAuth::OAuth2 {
                client_id,
                scope,
                server_uri,
            } => {
                let secret = secret
                    .cloned()
                    .ok_or_else(|| AwsError::config("the OAuth2 client secret is missing"))?;
                let url = oauth2_token_url(catalog_base, server_uri.as_deref(), http)?;
                Some(CatalogToken::OAuth2(Arc::new(OAuth2ClientCredentials::new(
                    url,
                    client_id,
                    secret,
                    scope.as_deref(),
                    http,
                )?)))
            }
            CatalogAuth::AccessKey { .. } | CatalogAuth::AssumeRole { .. } => None,
        })
    }

    /// The token to send now (for OAuth2: cached, or fetched).
    ///
    /// # Errors
    /// As [`OAuth2ClientCredentials::token`].
    pub async fn current(&self) -> Result<Secret, AwsError> {
        match self {
            CatalogToken::Fixed(t) => Ok(t.clone()),
            CatalogToken::OAuth2(c) => c.token().await,
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
/// token ([`CatalogToken`]). Each call times out after 60 s; nothing is retried here, except
/// that a call an OAuth2 token was refused for (HTTP 401) is sent once more with a new token.
#[derive(Clone)]
pub struct CatalogClient {
    base: Url,
    credentials: CatalogCredentials,
    signer: SignedClient,
    plain: reqwest::Client,
    bearer: Option<CatalogToken>,
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
    /// sent with `bearer` (see [`CatalogToken::for_auth`]). URLs must pass `http`. No request is
    /// made here.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when an HTTP client cannot be built.
    pub fn new(
        base: Url,
        credentials: CatalogCredentials,
        bearer: Option<CatalogToken>,
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
    /// [`AwsError::Http`] on a transport failure; as [`CatalogCredentials::get`] and
    /// [`CatalogToken::current`].
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
            (Some(source), None) => {
                let transport = |e: reqwest::Error| AwsError::Http {
                    url: url.to_string(),
                    message: describe_reqwest_error(&e),
                    kind: ErrorKind::Unavailable,
                };
                let mut retried = false;
                loop {
                    let token = source.current().await?;
                    let mut req = self
                        .plain
                        .request(method.clone(), url.as_str())
                        .bearer_auth(token.expose());
                    for (k, v) in headers {
                        req = req.header(*k, *v);
                    }
                    let r = req.body(bytes.clone()).send().await.map_err(transport)?;
                    let status = r.status().as_u16();
                    let body = r.bytes().await.map_err(transport)?;
                    // A refused OAuth2 token (revoked, or expired early): one more try with a
                    // new one. A fixed token would only be refused again.
                    match source {
                        CatalogToken::OAuth2(c) if status == 401 && !retried => {
                            c.invalidate(&token).await;
                            retried = true;
                        }
                        _ => break (status, body),
                    }
                }
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
