//! AWS credentials for zero-copy connections: the static key of an IAM user, or temporary
//! credentials from STS AssumeRole(RoleArn, ExternalId), cached and renewed before they expire.
//! object_store has no AssumeRole with an External ID, so this is the one place that does it: the
//! STS call is signed with object_store's `AwsAuthorizer` (through `SignedClient`), and the result
//! is handed to object_store as a `CredentialProvider`, so a long query keeps reading after a
//! renewal.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use lakeport_error::ErrorKind;
use lakeport_source::{xml_tag, Secret, SignedClient};
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;
use url::Url;

use crate::{ZeroCopyAuth, ZeroCopyConfig, ZeroCopyError};

/// Renew assumed-role credentials this long before they expire.
const RENEW_BEFORE_MINUTES: i64 = 5;
const SESSION_SECONDS: u32 = 3600;

/// The AWS credentials a zero-copy connection signs its catalog (SigV4) and S3 requests with.
#[derive(Clone)]
pub enum Credentials {
    /// The static access key of an IAM user ([`ZeroCopyAuth::AccessKey`]).
    Static(Arc<AwsCredential>),
    /// Temporary credentials from STS AssumeRole with an External ID ([`ZeroCopyAuth::AssumeRole`]),
    /// cached and renewed 5 minutes before they expire (sessions last 3600 s).
    AssumeRole(Arc<AssumedRole>),
    /// No AWS credentials (bearer-token catalogs): data files need vended credentials.
    None,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Static(c) => write!(f, "Static({})", c.key_id),
            Credentials::AssumeRole(r) => write!(f, "AssumeRole({})", r.role_arn),
            Credentials::None => f.write_str("None"),
        }
    }
}

/// A role lakeport assumes (STS AssumeRole, as lakeport's own identity) and its cached credentials.
pub struct AssumedRole {
    sts: SignedClient,
    url: Url,
    role_arn: String,
    external_id: String,
    session_name: String,
    cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, DateTime<Utc>)>>,
}

/// The principal lakeport runs as (the one a customer's role trusts): `LAKEPORT_AWS_ACCESS_KEY_ID`
/// / `LAKEPORT_AWS_SECRET_ACCESS_KEY` (optionally `LAKEPORT_AWS_SESSION_TOKEN`), else the standard
/// `AWS_…` variables.
///
/// # Errors
/// [`ZeroCopyError::InvalidConfig`] when neither pair of key variables is set (empty counts as unset).
pub fn identity_from_env() -> Result<Arc<AwsCredential>, ZeroCopyError> {
    let var = |name: &str| std::env::var(format!("LAKEPORT_{name}")).or_else(|_| std::env::var(name)).ok().filter(|v| !v.is_empty());
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(key_id), Some(secret_key)) => Ok(Arc::new(AwsCredential { key_id, secret_key, token: var("AWS_SESSION_TOKEN") })),
        _ => Err(ZeroCopyError::InvalidConfig(
            "assumed-role connections need lakeport's own AWS identity: set LAKEPORT_AWS_ACCESS_KEY_ID and LAKEPORT_AWS_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)".into(),
        )),
    }
}

fn sts_client(region: &str, credential: Arc<AwsCredential>) -> Result<SignedClient, ZeroCopyError> {
    SignedClient::for_service(credential, "sts", region).map_err(|e| ZeroCopyError::InvalidConfig(e.to_string()))
}

/// One STS Query API call (POST, form-encoded). Errors: the kind (from the transport, or STS's
/// error code and HTTP status: `AccessDenied` is [`ErrorKind::Denied`]) and a message.
async fn sts_call(client: &SignedClient, url: &Url, params: &[(&str, &str)]) -> Result<String, (ErrorKind, String)> {
    let body: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let resp = client
        .send(http::Method::POST, url, &[("content-type", "application/x-www-form-urlencoded")], Bytes::from(body))
        .await
        .map_err(|e| (e.kind(), e.to_string()))?;
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
        return Err((kind, format!("HTTP {} {code}: {message}", resp.status)));
    }
    Ok(text)
}

/// The ARN of the principal lakeport runs as (STS GetCallerIdentity in `region`, at `sts_endpoint`
/// when given).
///
/// # Errors
/// [`ZeroCopyError::InvalidConfig`] when lakeport's identity is not set ([`identity_from_env`]) or
/// the STS URL is not valid; [`ZeroCopyError::Request`] when the call fails (kind
/// [`ErrorKind::Denied`] for `AccessDenied`, [`ErrorKind::Invalid`] for lakeport's own identity
/// refused — `InvalidClientTokenId`, `SignatureDoesNotMatch`, `ExpiredToken`; else from the HTTP
/// status) or the answer has no `Arn`.
pub async fn caller_identity(region: &str, sts_endpoint: Option<&str>, allow_http: bool) -> Result<String, ZeroCopyError> {
    let client = sts_client(region, identity_from_env()?)?;
    let url = crate::config::sts_url(region, sts_endpoint, allow_http)?;
    let text = sts_call(&client, &url, &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")])
        .await
        .map_err(|(kind, message)| ZeroCopyError::Request { operation: "STS GetCallerIdentity".into(), message, kind })?;
    xml_tag(&text, "Arn")
        .map(str::to_string)
        .ok_or_else(|| ZeroCopyError::Request { operation: "STS GetCallerIdentity".into(), message: "no Arn in the response".into(), kind: ErrorKind::Unavailable })
}

/// The trust relationship to paste into the customer's role.
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

impl Credentials {
    /// The credentials a connection uses; `secret` is the stored secret (access key / token).
    /// Nothing is sent here: a role is assumed on the first [`get`](Self::get).
    ///
    /// # Errors
    /// [`ZeroCopyError::InvalidConfig`] when an access-key connection has no (or an empty)
    /// secret, or an assumed-role one lacks lakeport's identity ([`identity_from_env`]) or a valid
    /// STS endpoint.
    pub fn for_config(config: &ZeroCopyConfig, secret: Option<&Secret>) -> Result<Credentials, ZeroCopyError> {
        Ok(match &config.auth {
            ZeroCopyAuth::AccessKey { access_key_id } => {
                let secret = secret.filter(|s| !s.is_empty()).ok_or_else(|| ZeroCopyError::InvalidConfig("the secret access key is missing".into()))?;
                Credentials::Static(Arc::new(AwsCredential { key_id: access_key_id.clone(), secret_key: secret.expose().to_string(), token: None }))
            }
            ZeroCopyAuth::AssumeRole { role_arn, external_id } => Credentials::AssumeRole(Arc::new(AssumedRole {
                sts: sts_client(&config.region, identity_from_env()?)?,
                url: config.sts_url()?,
                role_arn: role_arn.clone(),
                external_id: external_id.clone(),
                session_name: format!("lakeport-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
                cached: tokio::sync::Mutex::new(None),
            })),
            ZeroCopyAuth::Bearer => Credentials::None,
        })
    }

    /// Current credentials (assuming the role, or renewing, when needed); `None` for
    /// [`Credentials::None`].
    ///
    /// # Errors
    /// [`ZeroCopyError::AssumeRole`] when STS AssumeRole fails or its answer lacks a credential
    /// field or has an `Expiration` that does not parse.
    pub async fn get(&self) -> Result<Option<Arc<AwsCredential>>, ZeroCopyError> {
        match self {
            Credentials::Static(c) => Ok(Some(c.clone())),
            Credentials::AssumeRole(r) => r.get().await.map(Some),
            Credentials::None => Ok(None),
        }
    }

    /// The same credentials as an object_store provider (renewed on the fly).
    pub(crate) fn provider(&self) -> Arc<dyn CredentialProvider<Credential = AwsCredential>> {
        Arc::new(ObjectStoreCredentials(self.clone()))
    }
}

impl AssumedRole {
    async fn get(&self) -> Result<Arc<AwsCredential>, ZeroCopyError> {
        let mut cached = self.cached.lock().await;
        if let Some((c, expires)) = cached.as_ref() {
            if *expires - Utc::now() > Duration::minutes(RENEW_BEFORE_MINUTES) {
                return Ok(c.clone());
            }
        }
        let fresh = self.assume().await?;
        *cached = Some(fresh.clone());
        Ok(fresh.0)
    }

    async fn assume(&self) -> Result<(Arc<AwsCredential>, DateTime<Utc>), ZeroCopyError> {
        let duration = SESSION_SECONDS.to_string();
        let params = [
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", self.session_name.as_str()),
            ("ExternalId", self.external_id.as_str()),
            ("DurationSeconds", duration.as_str()),
        ];
        let err = |kind: ErrorKind, message: String| ZeroCopyError::AssumeRole { role_arn: self.role_arn.clone(), message, kind };
        let text = sts_call(&self.sts, &self.url, &params).await.map_err(|(kind, message)| err(kind, message))?;
        let field = |tag: &str| xml_tag(&text, tag).map(str::to_string).ok_or_else(|| err(ErrorKind::Unavailable, format!("no {tag} in the STS response")));
        let credential = AwsCredential { key_id: field("AccessKeyId")?, secret_key: field("SecretAccessKey")?, token: Some(field("SessionToken")?) };
        // An expiry that does not parse is an error, not a guess: a guessed one could outlive the
        // credentials (every request failing until then) or renew needlessly often.
        let expiration = field("Expiration")?;
        let expires = DateTime::parse_from_rfc3339(&expiration)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| err(ErrorKind::Unavailable, format!("STS answered an Expiration that does not parse ('{expiration}'): {e}")))?;
        tracing::debug!(role = %self.role_arn, %expires, "assumed role");
        Ok((Arc::new(credential), expires))
    }
}

#[derive(Debug)]
struct ObjectStoreCredentials(Credentials);

#[async_trait::async_trait]
impl CredentialProvider for ObjectStoreCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        match self.0.get().await {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(object_store::Error::Generic {
                store: "S3",
                source: "no S3 credentials: enable vended credentials for this bearer-token catalog".into(),
            }),
            Err(e) => Err(object_store::Error::Generic { store: "S3", source: Box::new(e) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the test server's real STS (scripts/test.sh provides it and the role).
    #[tokio::test]
    async fn assumed_role_credentials_are_cached_and_renewed_before_expiry() {
        let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} is not set: run with ./scripts/test.sh"));
        let config = ZeroCopyConfig {
            region: "us-east-1".into(),
            catalog_url: Some(format!("{}/iceberg", var("LAKEPORT_TEST_S3_ENDPOINT"))),
            warehouse: "123456789012".into(),
            auth: ZeroCopyAuth::AssumeRole { role_arn: var("LAKEPORT_TEST_ROLE_ARN"), external_id: var("LAKEPORT_TEST_EXTERNAL_ID") },
            signing_name: "glue".into(),
            s3_endpoint: None,
            s3_path_style: true,
            sts_endpoint: Some(var("LAKEPORT_TEST_S3_ENDPOINT")),
            allow_http: true,
            vended_credentials: false,
        };
        let creds = Credentials::for_config(&config, None).unwrap();
        let first = creds.get().await.unwrap().unwrap();
        assert!(first.token.is_some(), "temporary credentials carry a session token");
        let again = creds.get().await.unwrap().unwrap();
        assert_eq!(first.key_id, again.key_id, "valid credentials are reused");

        // Two minutes before expiry is inside the renewal window: the next use assumes the role anew.
        let Credentials::AssumeRole(role) = &creds else { unreachable!() };
        role.cached.lock().await.as_mut().unwrap().1 = Utc::now() + Duration::minutes(2);
        let renewed = creds.get().await.unwrap().unwrap();
        assert_ne!(renewed.key_id, first.key_id);
        assert!(format!("{creds:?}").contains("AssumeRole") && !format!("{creds:?}").contains(&renewed.secret_key));
    }
}
