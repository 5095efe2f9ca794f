//! AWS credentials for zero-copy connections: the static key of an IAM user, or temporary
//! credentials from STS AssumeRole(RoleArn, ExternalId), cached and renewed before they expire.
//! The mechanism (STS calls, caching, renewal, lakeport's own identity) is the AWS layer's
//! (`lakeport_aws::sts`); this module only maps a [`ZeroCopyConfig`] onto it.

use std::sync::Arc;

use lakeport_aws::{AssumedRole, AwsCredential, RoleSettings, Secret, DEFAULT_SESSION_SECONDS};
use object_store::CredentialProvider;

use crate::{ZeroCopyAuth, ZeroCopyConfig, ZeroCopyError};

pub use lakeport_aws::trust_policy;

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
            Credentials::AssumeRole(r) => write!(f, "AssumeRole({})", r.role_arn()),
            Credentials::None => f.write_str("None"),
        }
    }
}

/// The principal lakeport runs as (the one a customer's role trusts): see
/// [`lakeport_aws::identity_from_env`].
///
/// # Errors
/// [`ZeroCopyError::InvalidConfig`] when neither pair of key variables is set (empty counts as unset).
pub fn identity_from_env() -> Result<Arc<AwsCredential>, ZeroCopyError> {
    Ok(lakeport_aws::identity_from_env()?)
}

/// The ARN of the principal lakeport runs as (STS GetCallerIdentity in `region`, at `sts_endpoint`
/// when given; plain HTTP to loopback only with `allow_http`).
///
/// # Errors
/// [`ZeroCopyError::InvalidConfig`] when lakeport's identity is not set ([`identity_from_env`]) or
/// the STS URL is not valid; [`ZeroCopyError::Request`] when the call fails (kind
/// [`lakeport_aws::ErrorKind::Denied`] for `AccessDenied`, `Invalid` for lakeport's own identity
/// refused — `InvalidClientTokenId`, `SignatureDoesNotMatch`, `ExpiredToken`; else from the HTTP
/// status) or the answer has no `Arn`.
pub async fn caller_identity(region: &str, sts_endpoint: Option<&str>, allow_http: bool) -> Result<String, ZeroCopyError> {
    let policy = lakeport_aws::HttpPolicy::new(allow_http, false);
    let identity = lakeport_aws::static_provider(identity_from_env()?);
    let url = lakeport_aws::sts_url(region, sts_endpoint, policy)?;
    Ok(lakeport_aws::caller_identity(identity, region, &url, policy).await?)
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
            ZeroCopyAuth::AssumeRole { role_arn, external_id } => {
                let settings = RoleSettings {
                    role_arn: role_arn.clone(),
                    external_id: Some(external_id.clone()),
                    sts_url: config.sts_url()?,
                    region: config.region.clone(),
                    session_seconds: DEFAULT_SESSION_SECONDS,
                    http: config.http_policy(),
                };
                Credentials::AssumeRole(Arc::new(AssumedRole::with_identity(settings, identity_from_env()?)?))
            }
            ZeroCopyAuth::Bearer => Credentials::None,
        })
    }

    /// Current credentials (assuming the role, or renewing, when needed); `None` for
    /// [`Credentials::None`].
    ///
    /// # Errors
    /// [`ZeroCopyError::Aws`] when STS AssumeRole fails or its answer lacks a credential
    /// field or has an `Expiration` that does not parse.
    pub async fn get(&self) -> Result<Option<Arc<AwsCredential>>, ZeroCopyError> {
        match self {
            Credentials::Static(c) => Ok(Some(c.clone())),
            Credentials::AssumeRole(r) => Ok(Some(r.get().await?)),
            Credentials::None => Ok(None),
        }
    }

    /// The same credentials as an object_store provider (renewed on the fly).
    pub(crate) fn provider(&self) -> Arc<dyn CredentialProvider<Credential = AwsCredential>> {
        match self {
            Credentials::Static(c) => lakeport_aws::static_provider(c.clone()),
            Credentials::AssumeRole(r) => r.clone(),
            Credentials::None => Arc::new(NoCredentials),
        }
    }
}

/// A bearer-token catalog without vended credentials has nothing to read S3 with.
#[derive(Debug)]
struct NoCredentials;

#[async_trait::async_trait]
impl CredentialProvider for NoCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        Err(object_store::Error::Generic { store: "S3", source: "no S3 credentials: enable vended credentials for this bearer-token catalog".into() })
    }
}
