//! STS: lakeport's own identity, GetCallerIdentity, and temporary credentials from
//! AssumeRole(RoleArn, ExternalId), cached and renewed before they expire. object_store has no
//! AssumeRole with an External ID, so this is the one place that does it: the STS call is signed
//! with object_store's `AwsAuthorizer` (through [`SignedClient`]), and [`AssumedRole`] is an
//! object_store `CredentialProvider`, so a long read keeps going across a renewal.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use lakeport_error::ErrorKind;
use object_store::aws::{AwsCredential, AwsCredentialProvider};
use object_store::CredentialProvider;
use url::Url;

use crate::cache::Renewing;
use crate::{static_provider, xml_tag, AwsError, HttpPolicy, SignedClient};

/// Renew temporary credentials this long before they expire (at most half their lifetime).
pub const RENEW_BEFORE: std::time::Duration = std::time::Duration::from_secs(300);
/// The session length asked of AssumeRole when the settings do not say (seconds).
pub const DEFAULT_SESSION_SECONDS: u32 = 3600;

/// The settings of a role to assume, checked before anything is sent (both connection types):
/// `role_arn` is an ARN, and `external_id` has at least the 2 characters STS requires of an
/// External ID (surrounding whitespace not counted; STS allows none).
///
/// # Errors
/// [`AwsError::InvalidConfig`] naming the setting that is wrong.
pub fn check_role(role_arn: &str, external_id: &str) -> Result<(), AwsError> {
    if !role_arn.starts_with("arn:") {
        return Err(AwsError::config(format!("role ARN '{role_arn}' is not an ARN (arn:aws:iam::<account>:role/<name>)")));
    }
    if external_id.trim().len() < 2 {
        return Err(AwsError::config("the External ID is required (at least 2 characters)"));
    }
    Ok(())
}

/// The STS endpoint: `endpoint` when given, else `https://sts.<region>.amazonaws.com/`.
///
/// # Errors
/// [`AwsError::InvalidConfig`] when it is not a URL or fails `policy` (named `STS endpoint`).
pub fn sts_url(region: &str, endpoint: Option<&str>, policy: HttpPolicy) -> Result<Url, AwsError> {
    let raw = match endpoint {
        Some(u) if !u.trim().is_empty() => u.trim().to_string(),
        _ => format!("https://sts.{}.amazonaws.com/", region.trim()),
    };
    policy.parse(&raw, "STS endpoint")
}

/// The principal lakeport runs as (the one a customer's role trusts): `LAKEPORT_AWS_ACCESS_KEY_ID`
/// / `LAKEPORT_AWS_SECRET_ACCESS_KEY` (optionally `LAKEPORT_AWS_SESSION_TOKEN`), else the standard
/// `AWS_…` variables.
///
/// # Errors
/// [`AwsError::InvalidConfig`] when neither pair of key variables is set (empty counts as unset).
pub fn identity_from_env() -> Result<Arc<AwsCredential>, AwsError> {
    let var = |name: &str| std::env::var(format!("LAKEPORT_{name}")).or_else(|_| std::env::var(name)).ok().filter(|v| !v.is_empty());
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(key_id), Some(secret_key)) => Ok(Arc::new(AwsCredential { key_id, secret_key, token: var("AWS_SESSION_TOKEN") })),
        _ => Err(AwsError::config(
            "assumed-role connections need lakeport's own AWS identity: set LAKEPORT_AWS_ACCESS_KEY_ID and LAKEPORT_AWS_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
        )),
    }
}

/// One STS Query API call (POST, form-encoded) at `url`; the answer's text.
///
/// # Errors
/// The transport's [`AwsError`], or `(kind, message)` for an error status: the kind from STS's
/// error code (`AccessDenied`: [`ErrorKind::Denied`]; lakeport's own identity refused:
/// [`ErrorKind::Invalid`]) or the HTTP status.
async fn sts_call(client: &SignedClient, url: &Url, params: &[(&str, &str)]) -> Result<Result<String, (ErrorKind, String)>, AwsError> {
    let body: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let resp = client.send(http::Method::POST, url, &[("content-type", "application/x-www-form-urlencoded")], Bytes::from(body)).await?;
    let text = resp.text().to_string();
    if resp.status != 200 {
        let code = xml_tag(&text, "Code").unwrap_or("");
        let message = xml_tag(&text, "Message").unwrap_or("");
        let kind = match code {
            // Refused: the role does not trust the caller (or this External ID).
            "AccessDenied" => ErrorKind::Denied,
            // lakeport's own identity is wrong (unknown key, wrong secret, expired session):
            // fixed in lakeport's settings, not in the role.
            "InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken" => ErrorKind::Invalid,
            _ => ErrorKind::from_http_status(resp.status).unwrap_or(ErrorKind::Unavailable),
        };
        return Ok(Err((kind, format!("HTTP {} {code}: {message}", resp.status))));
    }
    Ok(Ok(text))
}

/// The ARN of the principal `credentials` belong to (STS GetCallerIdentity at `sts_url`, signed
/// for `region`). Never a secret: the answer's `Arn` only.
///
/// # Errors
/// [`AwsError::Sts`] (operation `STS GetCallerIdentity`) when STS answers an error status (kind
/// as in [`AwsError::Sts`]) or an answer without `Arn`; [`AwsError::Http`] when it cannot be
/// reached; [`AwsError::Credentials`] when the provider has none; [`AwsError::InvalidConfig`]
/// when `sts_url` fails `policy`.
pub async fn caller_identity(credentials: AwsCredentialProvider, region: &str, sts_url: &Url, policy: HttpPolicy) -> Result<String, AwsError> {
    let client = SignedClient::new(credentials, "sts", region, policy)?;
    let op = || "STS GetCallerIdentity".to_string();
    let text = sts_call(&client, sts_url, &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")])
        .await?
        .map_err(|(kind, message)| AwsError::Sts { operation: op(), message, kind })?;
    xml_tag(&text, "Arn")
        .map(str::to_string)
        .ok_or_else(|| AwsError::Sts { operation: op(), message: "no Arn in the response".into(), kind: ErrorKind::Unavailable })
}

/// The trust relationship to paste into the customer's role: `principal_arn` may
/// `sts:AssumeRole` it with exactly `external_id`.
pub fn trust_policy(principal_arn: &str, external_id: &str) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": principal_arn },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": external_id } }
        }]
    }))
    .expect("static JSON")
}

/// Plain settings of a role to assume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSettings {
    /// The role, `arn:aws:iam::<account>:role/<name>`.
    pub role_arn: String,
    /// The External ID the role's trust policy requires (`sts:ExternalId`); `None` sends none.
    pub external_id: Option<String>,
    /// The STS endpoint ([`sts_url`]).
    pub sts_url: Url,
    /// The region STS requests are signed for.
    pub region: String,
    /// How long each session lasts (seconds; AWS accepts 900 up to the role's maximum).
    pub session_seconds: u32,
    /// Which endpoints may be reached over plain HTTP.
    pub http: HttpPolicy,
}

/// A role lakeport assumes (STS AssumeRole, signed with an identity's credentials) and its cached
/// temporary credentials, renewed [`RENEW_BEFORE`] (at most half the session) before they
/// expire. Usable as an object_store `CredentialProvider`.
pub struct AssumedRole {
    sts: SignedClient,
    settings: RoleSettings,
    session_name: String,
    cache: Renewing,
}

impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssumedRole({})", self.settings.role_arn)
    }
}

impl AssumedRole {
    /// Assumes `settings.role_arn` as `identity` (the credentials STS calls are signed with: a
    /// static key, or any provider, itself renewed). Nothing is sent here: the role is assumed on
    /// the first [`get`](Self::get).
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when the HTTP client cannot be built.
    pub fn new(settings: RoleSettings, identity: AwsCredentialProvider) -> Result<Self, AwsError> {
        // Renew 5 minutes before expiry, or halfway through a session shorter than 10 minutes.
        let renew_before = RENEW_BEFORE.min(std::time::Duration::from_secs(u64::from(settings.session_seconds / 2)));
        Ok(AssumedRole {
            sts: SignedClient::new(identity, "sts", &settings.region, settings.http)?,
            session_name: format!("lakeport-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            settings,
            cache: Renewing::new(renew_before),
        })
    }

    /// [`AssumedRole::new`] with a fixed identity credential.
    ///
    /// # Errors
    /// As for [`AssumedRole::new`].
    pub fn with_identity(settings: RoleSettings, identity: Arc<AwsCredential>) -> Result<Self, AwsError> {
        Self::new(settings, static_provider(identity))
    }

    /// The role's ARN.
    pub fn role_arn(&self) -> &str {
        &self.settings.role_arn
    }

    /// Current temporary credentials: the cached ones while they have more than the renewal
    /// window left, else new ones from STS.
    ///
    /// # Errors
    /// [`AwsError::AssumeRole`] when STS refuses or cannot be reached, or its answer lacks a
    /// credential field or has an `Expiration` that does not parse.
    pub async fn get(&self) -> Result<Arc<AwsCredential>, AwsError> {
        self.cache.get_or(|| async { self.assume().await.map(|(c, t)| (c, Some(t))) }).await
    }

    /// When the cached credentials expire (`None` before the first [`get`](Self::get)).
    pub async fn expires(&self) -> Option<DateTime<Utc>> {
        self.cache.expires().await
    }

    /// Sets the cached credentials' expiry (tests: move a session into its renewal window).
    #[doc(hidden)]
    pub async fn set_expiry_for_test(&self, expires: DateTime<Utc>) {
        self.cache.set_expiry(expires).await
    }

    async fn assume(&self) -> Result<(Arc<AwsCredential>, DateTime<Utc>), AwsError> {
        let s = &self.settings;
        let duration = s.session_seconds.to_string();
        let mut params = vec![
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", s.role_arn.as_str()),
            ("RoleSessionName", self.session_name.as_str()),
            ("DurationSeconds", duration.as_str()),
        ];
        if let Some(id) = &s.external_id {
            params.push(("ExternalId", id.as_str()));
        }
        let err = |kind: ErrorKind, message: String| AwsError::AssumeRole { role_arn: s.role_arn.clone(), message, kind };
        let text = match sts_call(&self.sts, &s.sts_url, &params).await {
            Ok(Ok(text)) => text,
            Ok(Err((kind, message))) => return Err(err(kind, message)),
            Err(e) => return Err(err(e.kind(), e.to_string())),
        };
        let field = |tag: &str| xml_tag(&text, tag).map(str::to_string).ok_or_else(|| err(ErrorKind::Unavailable, format!("no {tag} in the STS response")));
        let credential = AwsCredential { key_id: field("AccessKeyId")?, secret_key: field("SecretAccessKey")?, token: Some(field("SessionToken")?) };
        // An expiry that does not parse is an error, not a guess: a guessed one could outlive the
        // credentials (every request failing until then) or renew needlessly often.
        let expiration = field("Expiration")?;
        let expires = DateTime::parse_from_rfc3339(&expiration)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| err(ErrorKind::Unavailable, format!("STS answered an Expiration that does not parse ('{expiration}'): {e}")))?;
        tracing::debug!(role = %s.role_arn, %expires, "assumed role");
        Ok((Arc::new(credential), expires))
    }
}

#[async_trait::async_trait]
impl CredentialProvider for AssumedRole {
    type Credential = AwsCredential;

    /// The current credentials; a refusal keeps its kind (object_store's `PermissionDenied`).
    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.get().await.map_err(|e| match e.kind() {
            ErrorKind::Denied => object_store::Error::PermissionDenied { path: String::new(), source: Box::new(e) },
            _ => object_store::Error::Generic { store: "S3", source: Box::new(e) },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the test server's real STS (scripts/test.sh provides it and the role).
    #[tokio::test]
    async fn assumed_role_credentials_are_cached_and_renewed_before_expiry() {
        let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} is not set: run with ./scripts/test.sh"));
        let http = HttpPolicy::new(true, false);
        let settings = RoleSettings {
            role_arn: var("LAKEPORT_TEST_ROLE_ARN"),
            external_id: Some(var("LAKEPORT_TEST_EXTERNAL_ID")),
            sts_url: sts_url("us-east-1", Some(&var("LAKEPORT_TEST_S3_ENDPOINT")), http).unwrap(),
            region: "us-east-1".into(),
            session_seconds: DEFAULT_SESSION_SECONDS,
            http,
        };
        let role = AssumedRole::with_identity(settings, identity_from_env().unwrap()).unwrap();
        let first = role.get().await.unwrap();
        assert!(first.token.is_some(), "temporary credentials carry a session token");
        let again = role.get().await.unwrap();
        assert_eq!(first.key_id, again.key_id, "valid credentials are reused");

        // Two minutes before expiry is inside the renewal window: the next use assumes the role anew.
        role.set_expiry_for_test(Utc::now() + chrono::Duration::minutes(2)).await;
        let renewed = role.get().await.unwrap();
        assert_ne!(renewed.key_id, first.key_id);
        assert!(format!("{role:?}").contains("AssumedRole") && !format!("{role:?}").contains(&renewed.secret_key));
    }
}
