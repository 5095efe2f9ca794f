//! OAuth 2.0 client credentials (RFC 6749 §4.4) for Iceberg REST catalogs (Polaris, Lakekeeper,
//! Gravitino, Unity, Nessie behind an identity provider…): lakeport trades its client id and
//! secret at the token endpoint for an access token, sends it as `Authorization: Bearer`, keeps
//! it until shortly before `expires_in` runs out, and fetches a new one early or when the catalog
//! answers 401 to it.
//!
//! The token endpoint is the Iceberg REST spec's `POST <catalog>/v1/oauth/tokens` unless the
//! catalog names an external authorization server (the REST spec's `oauth2-server-uri`, which the
//! spec now recommends). The request is the plain form POST of RFC 6749 §4.4.2 with the client's
//! credentials in the body (`client_secret_post`, as the Iceberg Java client and pyiceberg send
//! them) and the answer JSON of §5.1 / §5.2, so reqwest with serde does it; the `oauth2` crate's
//! typestate client would add a dependency for the same one request.

use std::time::{Duration, Instant};

use lakeport_error::ErrorKind;
use serde::Deserialize;
use url::Url;

use crate::{describe_reqwest_error, AwsError, HttpPolicy, Secret};

/// The scope requested when none is configured: the Iceberg REST spec's `catalog` (what the
/// Iceberg clients ask for by default).
pub const DEFAULT_OAUTH2_SCOPE: &str = "catalog";

/// A token is renewed this long before it expires (less for tokens that live less than four
/// times this: then a quarter of their lifetime), so no request goes out with a token about to
/// lapse — servers count `expires_in` from their own clock, in whole seconds.
pub const OAUTH2_RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The token endpoint for a catalog at `catalog_base` (its URL up to, not including, `/v1`):
/// `server_uri` when given (an external authorization server), else
/// `<catalog_base>/v1/oauth/tokens` (Iceberg REST spec). Both must pass `http`.
///
/// # Errors
/// [`AwsError::InvalidConfig`] when `server_uri` does not parse or plain HTTP is refused.
pub fn oauth2_token_url(catalog_base: &Url, server_uri: Option<&str>, http: HttpPolicy) -> Result<Url, AwsError> {
    match server_uri.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => http.parse(raw, "OAuth2 server URI"),
        None => {
            let mut url = catalog_base.clone();
            url.path_segments_mut()
                .map_err(|_| AwsError::config(format!("the catalog URL {catalog_base} cannot have a path")))?
                .pop_if_empty()
                .extend(["v1", "oauth", "tokens"]);
            http.check(&url, "OAuth2 token endpoint")?;
            Ok(url)
        }
    }
}

/// OAuth2 client credentials for one token endpoint, with the current access token cached.
/// Shared by every request of a catalog client (clone the `Arc` it sits in).
pub struct OAuth2ClientCredentials {
    token_url: Url,
    client_id: String,
    client_secret: Secret,
    scope: String,
    http: reqwest::Client,
    /// The current token; the lock is held while a new one is fetched, so concurrent requests
    /// wait for that one instead of each fetching their own.
    cached: tokio::sync::Mutex<Option<CachedToken>>,
}

struct CachedToken {
    token: Secret,
    /// When to fetch a new one; `None` when the server gave no `expires_in` (kept until refused).
    renew_at: Option<Instant>,
}

impl std::fmt::Debug for OAuth2ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OAuth2ClientCredentials({} at {}, scope {})", self.client_id, self.token_url, self.scope)
    }
}

/// RFC 6749 §5.1.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    /// Seconds.
    #[serde(default)]
    expires_in: Option<u64>,
}

/// RFC 6749 §5.2.
#[derive(Deserialize)]
struct TokenErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuth2ClientCredentials {
    /// Client credentials for `token_url` (see [`oauth2_token_url`]); `scope`: `None` or blank
    /// for [`DEFAULT_OAUTH2_SCOPE`]. Nothing is sent here.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when the client id or secret is empty, `token_url` is refused
    /// by `http`, or the HTTP client cannot be built.
    pub fn new(token_url: Url, client_id: &str, client_secret: Secret, scope: Option<&str>, http: HttpPolicy) -> Result<Self, AwsError> {
        http.check(&token_url, "OAuth2 token endpoint")?;
        if client_id.trim().is_empty() {
            return Err(AwsError::config("the OAuth2 client id is empty"));
        }
        if client_secret.is_empty() {
            return Err(AwsError::config("the OAuth2 client secret is missing"));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            // A token endpoint that redirects would carry the secret to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AwsError::config(format!("cannot build HTTP client: {e}")))?;
        Ok(OAuth2ClientCredentials {
            token_url,
            client_id: client_id.trim().to_string(),
            client_secret,
            scope: scope.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(DEFAULT_OAUTH2_SCOPE).to_string(),
            http: client,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// The access token to send: the cached one while it is not due for renewal, else a new one
    /// from the token endpoint.
    ///
    /// # Errors
    /// [`AwsError::OAuth2`] when the token endpoint cannot be reached, refuses the client
    /// (`invalid_client`: kind denied), or answers something that is not a token.
    pub async fn token(&self) -> Result<Secret, AwsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if c.renew_at.is_none_or(|at| Instant::now() < at) {
                return Ok(c.token.clone());
            }
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `refused` if it is still the cached token (the catalog answered 401 to it), so the
    /// next [`token`](Self::token) fetches a new one. A token another request renewed meanwhile
    /// is kept.
    pub async fn invalidate(&self, refused: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == refused) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<CachedToken, AwsError> {
        let fail = |message: String, kind: ErrorKind| AwsError::OAuth2 { token_url: self.token_url.to_string(), message, kind };
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("scope", self.scope.as_str()),
        ];
        let asked = Instant::now();
        let answer = self
            .http
            .post(self.token_url.as_str())
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| fail(describe_reqwest_error(&e), ErrorKind::Unavailable))?;
        let status = answer.status().as_u16();
        let body = answer.bytes().await.map_err(|e| fail(describe_reqwest_error(&e), ErrorKind::Unavailable))?;
        // The server's words never carry the secret out (a server may echo its input).
        let scrub = |text: &str| text.replace(self.client_secret.expose(), "********");
        if !(200..300).contains(&status) {
            let kind = ErrorKind::from_http_status(status).unwrap_or(ErrorKind::Unavailable);
            return Err(match serde_json::from_slice::<TokenErrorAnswer>(&body) {
                Ok(e) => {
                    let why = match e.error.as_str() {
                        "invalid_client" => " (the client id or secret is wrong)",
                        "invalid_scope" => " (the scope is not allowed for this client)",
                        "unauthorized_client" => " (this client may not use the client-credentials grant)",
                        _ => "",
                    };
                    let kind = match e.error.as_str() {
                        "invalid_client" | "unauthorized_client" | "invalid_scope" => ErrorKind::Denied,
                        _ => kind,
                    };
                    let description = e.error_description.map(|d| format!(": {}", scrub(&d))).unwrap_or_default();
                    fail(format!("HTTP {status} {}{description}{why}", scrub(&e.error)), kind)
                }
                Err(_) => fail(format!("HTTP {status}"), kind),
            });
        }
        let token: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| fail(format!("the answer is not an OAuth2 token (RFC 6749 §5.1): {e}"), ErrorKind::Unavailable))?;
        if token.access_token.is_empty() {
            return Err(fail("the answer has an empty access_token".into(), ErrorKind::Unavailable));
        }
        if let Some(t) = token.token_type.as_deref().filter(|t| !t.eq_ignore_ascii_case("bearer")) {
            return Err(fail(format!("token_type '{t}' is not Bearer, the only kind lakeport can send"), ErrorKind::Invalid));
        }
        let renew_at = token.expires_in.map(|secs| {
            let life = Duration::from_secs(secs);
            asked + life.saturating_sub(OAUTH2_RENEW_BEFORE.min(life / 4))
        });
        tracing::debug!(token_url = %self.token_url, expires_in = ?token.expires_in, "OAuth2 access token fetched");
        Ok(CachedToken { token: Secret::new(token.access_token), renew_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_endpoint_is_the_catalogs_unless_a_server_is_named() {
        let http = HttpPolicy::new(true, false);
        let base = Url::parse("http://127.0.0.1:9/iceberg/").unwrap();
        assert_eq!(oauth2_token_url(&base, None, http).unwrap().as_str(), "http://127.0.0.1:9/iceberg/v1/oauth/tokens");
        assert_eq!(oauth2_token_url(&base, Some(" "), http).unwrap().as_str(), "http://127.0.0.1:9/iceberg/v1/oauth/tokens");
        assert_eq!(oauth2_token_url(&base, Some("http://127.0.0.1:8/token"), http).unwrap().as_str(), "http://127.0.0.1:8/token");
        let https_only = HttpPolicy::new(false, false);
        assert!(oauth2_token_url(&base, Some("http://idp.example.com/token"), https_only).is_err());
        let creds = OAuth2ClientCredentials::new(Url::parse("https://idp.example.com/t").unwrap(), "id", Secret::new("s3cr3t"), None, https_only).unwrap();
        assert_eq!(creds.scope, "catalog");
        assert!(!format!("{creds:?}").contains("s3cr3t"));
        assert!(OAuth2ClientCredentials::new(Url::parse("https://idp.example.com/t").unwrap(), "id", Secret::new(""), None, https_only).is_err());
    }
}
