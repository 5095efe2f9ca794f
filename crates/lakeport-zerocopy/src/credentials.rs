//! AWS credentials for zero-copy connections: the static key of an IAM user, or temporary
//! credentials from STS AssumeRole(RoleArn, ExternalId), cached and renewed before they expire.
//! The mechanism (STS calls, caching, renewal, lakeport's own identity) is the AWS layer's
//! (`lakeport_aws::sts`); this module only maps a [`ZeroCopyConfig`] onto it.

use std::sync::Arc;

use lakeport_aws::{AwsCredential, Secret};

use crate::{ZeroCopyAuth, ZeroCopyConfig, ZeroCopyError};

pub use lakeport_aws::trust_policy;

/// The AWS credentials a zero-copy connection signs its catalog (SigV4) and S3 requests with: the
/// AWS layer's [`lakeport_aws::CatalogCredentials`] (REST-catalog pools use the same).
pub use lakeport_aws::CatalogCredentials as Credentials;

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

/// The credentials a connection uses; `secret` is the stored secret (access key / token).
/// Nothing is sent here: a role is assumed on the first `get`.
///
/// # Errors
/// [`ZeroCopyError::InvalidConfig`] when an access-key connection has no (or an empty)
/// secret; [`ZeroCopyError::Aws`] when an assumed-role one lacks lakeport's identity
/// ([`identity_from_env`]) or a valid STS endpoint.
pub fn for_config(config: &ZeroCopyConfig, secret: Option<&Secret>) -> Result<Credentials, ZeroCopyError> {
    let sts_url = match config.auth {
        ZeroCopyAuth::AssumeRole { .. } => config.sts_url()?,
        // Not used without a role; any valid URL.
        _ => url::Url::parse("https://sts.amazonaws.com/").expect("static URL"),
    };
    Credentials::for_auth(&config.auth, secret, &config.region, sts_url, config.http_policy()).map_err(|e| match e {
        lakeport_aws::AwsError::InvalidConfig(m) if matches!(config.auth, ZeroCopyAuth::AccessKey { .. }) => ZeroCopyError::InvalidConfig(m),
        other => other.into(),
    })
}
