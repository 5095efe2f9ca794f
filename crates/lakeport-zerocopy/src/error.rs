use lakeport_error::ErrorKind;

/// Errors of zero-copy connections. Messages never contain secrets or session tokens.
#[derive(Debug, thiserror::Error)]
pub enum ZeroCopyError {
    #[error("invalid connection settings: {0}")]
    InvalidConfig(String),
    /// The server refused the call for lack of a permission.
    #[error("{operation}: access denied — the credentials lack {permission} ({message})")]
    Denied { operation: String, permission: &'static str, message: String },
    #[error("{operation}: {message}")]
    /// `kind` from the HTTP status or the library error's variant, never from the text.
    Request { operation: String, message: String, kind: ErrorKind },
    #[error("STS AssumeRole of {role_arn} failed: {message}")]
    /// `kind`: [`ErrorKind::Denied`] when STS refused (AccessDenied: the trust policy or the
    /// External ID), else from the HTTP status or the transport.
    AssumeRole { role_arn: String, message: String, kind: ErrorKind },
    #[error("table {0} does not exist in the catalog")]
    NoSuchTable(String),
    #[error("namespace {0} does not exist in the catalog")]
    NoSuchNamespace(String),
    #[error("iceberg: {0}")]
    Iceberg(#[from] iceberg::Error),
}

impl ZeroCopyError {
    /// What kind of failure this is, from the variant (and iceberg's own kind).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ZeroCopyError::InvalidConfig(_) => ErrorKind::Invalid,
            ZeroCopyError::Denied { .. } => ErrorKind::Denied,
            ZeroCopyError::AssumeRole { kind, .. } => *kind,
            ZeroCopyError::NoSuchTable(_) | ZeroCopyError::NoSuchNamespace(_) => ErrorKind::NotFound,
            ZeroCopyError::Request { kind, .. } => *kind,
            ZeroCopyError::Iceberg(e) => ErrorKind::of_iceberg(e),
        }
    }

    /// The IAM permission whose absence caused this error, if that is what happened.
    pub fn missing_permission(&self) -> Option<&'static str> {
        match self {
            ZeroCopyError::Denied { permission, .. } => Some(permission),
            ZeroCopyError::AssumeRole { kind: ErrorKind::Denied, .. } => Some("sts:AssumeRole"),
            _ => None,
        }
    }
}
