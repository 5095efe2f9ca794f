use lakeport_error::ErrorKind;

/// Errors of the AWS layer. Messages name the URL, role or setting involved and never contain a
/// secret, a session token or a signature.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A setting is unusable before anything is sent: a URL that does not parse, plain HTTP the
    /// [`crate::HttpPolicy`] refuses, an HTTP client or S3 store that cannot be built from the
    /// settings, lakeport's own identity not set. The message names the setting and the fix.
    #[error("{0}")]
    InvalidConfig(String),

    /// A signed request ([`crate::SignedClient`]) could not be built, sent or its body received
    /// (connection refused, TLS, DNS, a timeout, an invalid header value).
    #[error("request to {url} failed: {message}")]
    Http {
        /// The request's URL.
        url: String,
        /// The cause, as [`crate::describe_reqwest_error`] names it.
        message: String,
        /// [`ErrorKind::Invalid`] when the request could not be built (reqwest's `is_builder`, an
        /// invalid header value: sending it again fails the same way), else
        /// [`ErrorKind::Unavailable`].
        kind: ErrorKind,
    },

    /// An STS call answered an error status, or an answer lakeport cannot read.
    #[error("{operation}: {message}")]
    Sts {
        /// The call: `STS GetCallerIdentity`, or `STS AssumeRole of <role ARN>`.
        operation: String,
        /// STS's HTTP status, error code and message, or what is wrong with its answer.
        message: String,
        /// From STS's error code (`AccessDenied` → [`ErrorKind::Denied`]; lakeport's own identity
        /// refused — `InvalidClientTokenId`, `SignatureDoesNotMatch`, `ExpiredToken` →
        /// [`ErrorKind::Invalid`]), else from the HTTP status; an unreadable answer is
        /// [`ErrorKind::Unavailable`].
        kind: ErrorKind,
    },

    /// STS AssumeRole failed, or answered something lakeport cannot read.
    #[error("STS AssumeRole of {role_arn} failed: {message}")]
    AssumeRole {
        /// The role that was to be assumed.
        role_arn: String,
        /// STS's HTTP status, error code and message, the transport failure, or what is wrong
        /// with its answer.
        message: String,
        /// [`ErrorKind::Denied`] when STS refused (AccessDenied: the trust policy or the External
        /// ID); otherwise as for [`AwsError::Sts`], or the transport's kind.
        kind: ErrorKind,
    },

    /// An AWS SDK credential provider (a profile, the default chain) gave no credentials.
    #[error("cannot get AWS credentials from {source_name}: {message}")]
    Provider {
        /// Where they were to come from (`AWS profile 'x'`, `the default AWS credential chain`).
        source_name: String,
        /// The provider's reason, with its causes.
        message: String,
        /// From the SDK's error variant: nothing configured or a broken configuration is
        /// [`ErrorKind::Invalid`], a failure of a provider's service (STS, IMDS, the container
        /// endpoint) or a timeout [`ErrorKind::Unavailable`].
        kind: ErrorKind,
    },

    /// An OAuth2 token request (client credentials) failed: the token endpoint could not be
    /// reached, refused the client, or answered no usable token. Never contains the secret.
    #[error("OAuth2 token request to {token_url} failed: {message}")]
    OAuth2 {
        /// The token endpoint.
        token_url: String,
        /// The HTTP status with the RFC 6749 error code and description, the transport failure,
        /// or what is wrong with the answer.
        message: String,
        /// [`ErrorKind::Denied`] for `invalid_client`, `unauthorized_client` and `invalid_scope`;
        /// else from the HTTP status; a transport failure or an unreadable answer is
        /// [`ErrorKind::Unavailable`].
        kind: ErrorKind,
    },

    /// A credential provider of object_store failed (its own variant says which kind).
    #[error("cannot get AWS credentials: {0}")]
    Credentials(#[source] Box<object_store::Error>),
}

impl AwsError {
    /// What kind of failure this is, from the variant, STS's error code or HTTP status, or
    /// object_store's error variant (never from message text).
    pub fn kind(&self) -> ErrorKind {
        match self {
            AwsError::InvalidConfig(_) => ErrorKind::Invalid,
            AwsError::Http { kind, .. } | AwsError::Sts { kind, .. } | AwsError::AssumeRole { kind, .. } | AwsError::Provider { kind, .. } | AwsError::OAuth2 { kind, .. } => *kind,
            AwsError::Credentials(e) => ErrorKind::of_object_store(e),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        AwsError::InvalidConfig(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_variant_not_the_text() {
        assert_eq!(AwsError::config("denied").kind(), ErrorKind::Invalid);
        let sts = AwsError::Sts { operation: "STS AssumeRole of r".into(), message: "timeout".into(), kind: ErrorKind::Denied };
        assert_eq!(sts.kind(), ErrorKind::Denied);
        let store = object_store::Error::PermissionDenied { path: "p".into(), source: "not found".into() };
        assert_eq!(AwsError::Credentials(Box::new(store)).kind(), ErrorKind::Denied);
    }
}
