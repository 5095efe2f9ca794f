/// Errors of the source side. Messages name the bucket/key involved and never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("invalid connection settings: {0}")]
    InvalidConfig(String),

    #[error("{op} s3://{bucket}/{key}: {message}")]
    Store {
        op: &'static str,
        bucket: String,
        key: String,
        message: String,
        #[source]
        source: object_store::Error,
    },

    #[error("request to {url} failed: {message}")]
    Http { url: String, message: String },
}

impl SourceError {
    pub(crate) fn store(op: &'static str, bucket: &str, key: &str, source: object_store::Error) -> Self {
        SourceError::Store {
            op,
            bucket: bucket.to_string(),
            key: key.to_string(),
            message: describe_store_error(&source),
            source,
        }
    }

    /// True when the object does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SourceError::Store { source: object_store::Error::NotFound { .. }, .. })
    }
}

/// A short, human explanation of an object_store error: S3's error code when the server sent one
/// (SignatureDoesNotMatch, AccessDenied, NoSuchBucket, ...), otherwise the error text.
pub(crate) fn describe_store_error(err: &object_store::Error) -> String {
    let text = err.to_string();
    if let Some(code) = crate::signed::xml_tag(&text, "Code") {
        if let Some(hint) = crate::probe::explain_s3_code(code) {
            return format!("{code}: {hint}");
        }
        return code.to_string();
    }
    // Keep the first line only: object_store appends request details on later lines.
    text.lines().next().unwrap_or_default().to_string()
}
