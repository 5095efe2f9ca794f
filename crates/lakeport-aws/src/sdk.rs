//! Credentials resolved the way the AWS SDKs and the AWS CLI resolve them, through the AWS SDK's
//! own `aws-config` providers (no resolution of our own): a named profile of the shared
//! config/credentials files (static keys, `role_arn` + `source_profile` chains, SSO,
//! `credential_process`), or the default chain (environment, profile, web identity token file as on
//! EKS, container credentials as on ECS — `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`
//! —, instance metadata as on EC2). object_store has providers for some of these, but they are
//! crate-private (reachable only through its builder), it reads no profile files, and it takes
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` only together with an EKS Pod Identity token file.
//!
//! This module is the glue: [`SdkCredentials`] adapts an SDK provider to object_store's
//! `CredentialProvider` and renews what it caches before it expires. The SDK's HTTP client is
//! built on rustls with *ring*, the TLS stack the rest of lakeport already uses.

use std::sync::Arc;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use chrono::{DateTime, Utc};
use lakeport_error::ErrorKind;
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;

use crate::cache::Renewing;
use crate::AwsError;

/// Which SDK provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SdkSource {
    /// A named profile of the shared config (`AWS_CONFIG_FILE`, default `~/.aws/config`) and
    /// credentials (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`) files.
    Profile(String),
    /// The SDK's default chain, in its order: environment variables, the profile of
    /// `AWS_PROFILE` (else `default`), web identity token file, container credentials, instance
    /// metadata.
    DefaultChain,
}

impl std::fmt::Display for SdkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SdkSource::Profile(p) => write!(f, "AWS profile '{p}'"),
            SdkSource::DefaultChain => f.write_str("the default AWS credential chain"),
        }
    }
}

/// Credentials from an SDK provider ([`SdkSource`]), cached and renewed
/// [`crate::RENEW_BEFORE`] before they expire (credentials without an expiry, such as static
/// keys from a file or the environment, are kept). The provider is built on first use, in the
/// region given (STS calls of a role chain are signed for it).
pub struct SdkCredentials {
    source: SdkSource,
    region: String,
    provider: tokio::sync::OnceCell<SharedCredentialsProvider>,
    cache: Renewing,
}

impl std::fmt::Debug for SdkCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SdkCredentials({})", self.source)
    }
}

impl SdkCredentials {
    /// Credentials of `source`, STS calls signed for `region`. Nothing is read or sent here.
    pub fn new(source: SdkSource, region: &str) -> Self {
        SdkCredentials { source, region: region.to_string(), provider: tokio::sync::OnceCell::new(), cache: Renewing::new(crate::RENEW_BEFORE) }
    }

    /// Where the credentials come from.
    pub fn source(&self) -> &SdkSource {
        &self.source
    }

    /// Current credentials: the cached ones while they have more than the renewal window left,
    /// else the provider's.
    ///
    /// # Errors
    /// [`AwsError::Provider`] naming the source, with the provider's reason (no such profile, no
    /// credentials in the chain, a refused role, an unreachable endpoint…).
    pub async fn get(&self) -> Result<Arc<AwsCredential>, AwsError> {
        self.cache
            .get_or(|| async {
                let provider = self.provider.get_or_init(|| self.build()).await;
                let c = provider.provide_credentials().await.map_err(|e| self.error(e))?;
                let expires = c.expiry().map(DateTime::<Utc>::from);
                let credential = AwsCredential { key_id: c.access_key_id().to_string(), secret_key: c.secret_access_key().to_string(), token: c.session_token().map(str::to_string) };
                Ok((Arc::new(credential), expires))
            })
            .await
    }

    async fn build(&self) -> SharedCredentialsProvider {
        let config = provider_config(&self.region);
        match &self.source {
            SdkSource::Profile(name) => SharedCredentialsProvider::new(ProfileFileCredentialsProvider::builder().configure(&config).profile_name(name).build()),
            SdkSource::DefaultChain => SharedCredentialsProvider::new(DefaultCredentialsChain::builder().configure(config).build().await),
        }
    }

    /// The SDK's error with its whole source chain (its top-level text is often generic), kind
    /// from its variant.
    fn error(&self, e: CredentialsError) -> AwsError {
        let kind = match &e {
            CredentialsError::CredentialsNotLoaded(_) | CredentialsError::InvalidConfiguration(_) => ErrorKind::Invalid,
            _ => ErrorKind::Unavailable,
        };
        let mut parts = vec![e.to_string()];
        let mut next = std::error::Error::source(&e);
        while let Some(s) = next {
            parts.push(s.to_string());
            next = s.source();
        }
        AwsError::Provider { source_name: self.source.to_string(), message: parts.join(": "), kind }
    }
}

/// The SDK providers' settings: `region`, and an HTTP client on rustls + *ring* (the SDK's
/// default would add aws-lc, a second TLS crypto stack).
fn provider_config(region: &str) -> ProviderConfig {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    ProviderConfig::without_region().with_http_client(http).with_region(Some(aws_config::Region::new(region.to_string())))
}

#[async_trait::async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.get().await.map_err(|e| object_store::Error::Generic { store: "S3", source: Box::new(e) })
    }
}
