//! The one AWS layer of lakeport, under both the extraction side (`lakeport-source`) and zero-copy
//! connections (`lakeport-zerocopy`), and the test kit. Every primitive takes plain settings
//! (region, bucket, endpoint, a credential), never a connection mode's config type.
//!
//! * [`Secret`]: a secret value, masked in `Debug`/`Display`.
//! * [`HttpPolicy`]: the plain-HTTP rule (HTTPS by default; HTTP to loopback with `allow_http`,
//!   anywhere only with `allow_http_anywhere` too), one [`HttpPolicy::check`] for every URL.
//! * [`S3StoreSettings`]: the one S3 store factory, with one retry/timeout policy
//!   ([`retry_config`], [`client_options`]) and a shared HTTP client ([`SharedHttp`]).
//! * [`SignedClient`]: SigV4-signed requests for the AWS calls object_store has no method for.
//! * [`sts`]: lakeport's own identity, GetCallerIdentity, the trust policy, and [`AssumedRole`]:
//!   STS AssumeRole with an External ID, renewed before expiry, as an object_store credential
//!   provider.
//! * [`sdk`]: credentials of an AWS profile or the default chain, through the AWS SDK's own
//!   providers, renewed before expiry, as an object_store credential provider.
//! * [`probe`]: the verdict types of Test Connection.
//! * [`CatalogClient`]: Iceberg REST catalog calls, SigV4-signed ([`CatalogAuth`],
//!   [`CatalogCredentials`]) or with a bearer token (a fixed one, or one from OAuth2 client
//!   credentials: [`OAuth2ClientCredentials`]), and their error answers classified.
//! * [`s3_file_io`]: an Iceberg FileIO over this layer's S3 stores (read-only or writable).
//! * [`AwsError`]: typed errors with a [`lakeport_error::ErrorKind`].
#![warn(missing_docs)]

mod cache;
mod catalog;
mod error;
mod iceberg_io;
mod oauth2;
mod policy;
pub mod probe;
pub mod sdk;
mod secret;
mod signed;
mod store;
pub mod sts;

pub use catalog::{CatalogAnswer, CatalogAuth, CatalogClient, CatalogCredentials, CatalogFailure, CatalogSettings, CatalogToken, DEFAULT_SIGNING_NAME};
pub use oauth2::{oauth2_token_url, OAuth2ClientCredentials, DEFAULT_OAUTH2_SCOPE, OAUTH2_RENEW_BEFORE};
pub use error::AwsError;
pub use iceberg_io::{s3_file_io, split_s3_path, ObjectStoreStorage, S3IoSettings};
pub use lakeport_error::ErrorKind;
pub use object_store::aws::{AwsCredential, AwsCredentialProvider};
pub use policy::{is_loopback, HttpPolicy};
pub use secret::Secret;
pub use signed::{describe_reqwest_error, static_provider, xml_tag, SignedClient, SignedResponse};
pub use store::{client_options, retry_config, S3StoreSettings, SharedHttp, StoreCredentials, CONNECT_TIMEOUT, REQUEST_TIMEOUT, RETRY_INIT_BACKOFF, RETRY_MAX_BACKOFF, RETRY_TIMEOUT};
pub use sdk::{SdkCredentials, SdkSource};
pub use sts::{caller_identity, check_role, identity_from_env, sts_url, trust_policy, AssumedRole, RoleSettings, DEFAULT_SESSION_SECONDS, RENEW_BEFORE};
