use lakeport_error::ErrorKind;

/// Errors of zero-copy connections. Messages never contain secrets or session tokens.
#[derive(Debug, thiserror::Error)]
pub enum ZeroCopyError {
    /// The connection settings are unusable (a required field is empty, a URL is not HTTPS, a
    /// share does not parse, lakeport's own AWS identity is not set); found before any request.
    #[error("invalid connection settings: {0}")]
    InvalidConfig(String),
    /// The server refused the call for lack of a permission.
    #[error("{operation}: access denied — the credentials lack {permission} ({message})")]
    Denied {
        /// The call that was refused, such as `ListNamespaces`.
        operation: String,
        /// The IAM permission the call needs, such as `glue:GetDatabases`.
        permission: &'static str,
        /// The server's own message.
        message: String,
    },
    #[error("{operation}: {message}")]
    /// `kind` from the HTTP status or the library error's variant, never from the text.
    Request {
        /// The call that failed, such as `LoadTable sales.orders`.
        operation: String,
        /// What went wrong: the HTTP status and the server's error type and message.
        message: String,
        /// What kind of failure this is.
        kind: ErrorKind,
    },
    /// A call of the AWS layer failed (STS AssumeRole or GetCallerIdentity, lakeport's own
    /// identity, a credential provider, a setting it refuses): its own message and kind.
    #[error(transparent)]
    Aws(#[from] lakeport_aws::AwsError),
    /// LoadTable answered 404: the table (`namespace.table`) is not (or no longer) in the catalog.
    #[error("table {0} does not exist in the catalog")]
    NoSuchTable(String),
    /// ListTables answered 404: the namespace is not (or no longer) in the catalog.
    #[error("namespace {0} does not exist in the catalog")]
    NoSuchNamespace(String),
    /// An error of the iceberg crate (table metadata, manifests, FileIO).
    #[error("iceberg: {0}")]
    Iceberg(#[from] iceberg::Error),
}

impl ZeroCopyError {
    /// What kind of failure this is, from the variant (and iceberg's own kind).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ZeroCopyError::InvalidConfig(_) => ErrorKind::Invalid,
            ZeroCopyError::Denied { .. } => ErrorKind::Denied,
            ZeroCopyError::Aws(e) => e.kind(),
            ZeroCopyError::NoSuchTable(_) | ZeroCopyError::NoSuchNamespace(_) => ErrorKind::NotFound,
            ZeroCopyError::Request { kind, .. } => *kind,
            ZeroCopyError::Iceberg(e) => ErrorKind::of_iceberg(e),
        }
    }

    /// The IAM permission whose absence caused this error, if that is what happened.
    pub fn missing_permission(&self) -> Option<&'static str> {
        match self {
            ZeroCopyError::Denied { permission, .. } => Some(permission),
            // STS refused (AccessDenied: the role's trust policy or the External ID).
            ZeroCopyError::Aws(lakeport_aws::AwsError::AssumeRole { kind: ErrorKind::Denied, .. }) => Some("sts:AssumeRole"),
            _ => None,
        }
    }
}
