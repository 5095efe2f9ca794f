use lakeport_error::ErrorKind;

/// Errors of the source side. Messages name the bucket/key involved and never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The connection settings are wrong (see [`crate::S3Config::validate`]), or a client cannot
    /// be built from them; the message says which setting and how to fix it.
    #[error("invalid connection settings: {0}")]
    InvalidConfig(String),

    /// A request through object_store failed (after its retries): a HEAD, GET, a body that broke
    /// off, or a listing of a store built with [`crate::S3Source::from_store`].
    #[error("{op} s3://{bucket}/{key}: {message}")]
    Store {
        /// What was done: `head`, `get`, `read` (the body stream) or `list`.
        op: &'static str,
        /// The bucket.
        bucket: String,
        /// The object's key (for `list`, the folder prefix).
        key: String,
        /// S3's error code with an explanation, or the first line of object_store's message.
        message: String,
        #[source]
        /// Boxed: object_store's error is large, and every `Result` of this crate carries it.
        source: Box<object_store::Error>,
    },

    /// S3 answered a request lakeport signs itself (the listing) with an error status.
    /// `message` is S3's error code with an explanation, or the HTTP status.
    #[error("{op} s3://{bucket}/{key}: {message}")]
    S3 {
        /// What was done (`list`).
        op: &'static str,
        /// The bucket.
        bucket: String,
        /// The key, or for `list` the folder prefix.
        key: String,
        /// S3's HTTP status code.
        status: u16,
        /// S3's error code with an explanation, or `HTTP <status>`.
        message: String,
    },

    /// A listing answer that is not a ListObjectsV2 result lakeport can read.
    #[error("list s3://{bucket}/{prefix}: unreadable answer from the server: {message}")]
    BadListing {
        /// The bucket.
        bucket: String,
        /// The folder prefix listed.
        prefix: String,
        /// What is wrong with the answer (not UTF-8, not the expected XML, a bad date or key,
        /// a truncated page without continuation token).
        message: String,
    },

    /// A key S3 stores but that cannot be put into a request through object_store (which lakeport
    /// reads objects with): see [`crate::S3Source::locate`] for which keys these are.
    #[error("s3://{bucket}/{} cannot be read: {reason}", key.escape_debug())]
    Unaddressable {
        /// The bucket.
        bucket: String,
        /// The key exactly as stored.
        key: String,
        /// Why no request can name it.
        reason: String,
    },

    /// A request lakeport signs itself ([`crate::SignedClient`]) could not be built, sent or its
    /// body received (connection refused, TLS, DNS, a timeout, an invalid header value).
    #[error("request to {url} failed: {message}")]
    Http {
        /// The request's URL.
        url: String,
        /// The cause, as [`crate::describe_reqwest_error`] names it.
        message: String,
        /// [`ErrorKind::Invalid`] when the request could not be built (an invalid header value:
        /// sending it again fails the same way), else [`ErrorKind::Unavailable`] (reqwest's own
        /// `is_builder`).
        kind: ErrorKind,
    },

    /// From the AWS layer: STS or a credential provider (the signing identity) failed.
    #[error(transparent)]
    Aws(lakeport_aws::AwsError),
}

/// The AWS layer's errors as this crate's: its settings errors are settings errors, its
/// transport failures keep their URL, message and kind.
impl From<lakeport_aws::AwsError> for SourceError {
    fn from(e: lakeport_aws::AwsError) -> Self {
        use lakeport_aws::AwsError as A;
        match e {
            A::InvalidConfig(m) => SourceError::InvalidConfig(m),
            A::Http { url, message, kind } => SourceError::Http { url, message, kind },
            other => SourceError::Aws(other),
        }
    }
}

impl SourceError {
    pub(crate) fn store(op: &'static str, bucket: &str, key: &str, source: object_store::Error) -> Self {
        SourceError::Store {
            op,
            bucket: bucket.to_string(),
            key: key.to_string(),
            message: describe_store_error(&source),
            source: Box::new(source),
        }
    }

    /// What kind of failure this is, from object_store's error variant
    /// ([`ErrorKind::of_object_store`]) or S3's HTTP status (never from message text).
    pub fn kind(&self) -> ErrorKind {
        match self {
            SourceError::InvalidConfig(_) | SourceError::Unaddressable { .. } => ErrorKind::Invalid,
            SourceError::Store { source, .. } => ErrorKind::of_object_store(source),
            SourceError::S3 { status, .. } => ErrorKind::from_http_status(*status).unwrap_or(ErrorKind::Unavailable),
            SourceError::BadListing { .. } => ErrorKind::Unavailable,
            SourceError::Http { kind, .. } => *kind,
            SourceError::Aws(e) => e.kind(),
        }
    }

    /// True when the object does not exist (any more): object_store's `NotFound`, or HTTP 404.
    pub fn is_not_found(&self) -> bool {
        match self {
            SourceError::Store { source, .. } => matches!(**source, object_store::Error::NotFound { .. }),
            SourceError::S3 { status, .. } => *status == 404,
            _ => false,
        }
    }
}

/// A short, human explanation of an object_store error: S3's error code when the server sent one
/// (SignatureDoesNotMatch, AccessDenied, NoSuchBucket, ...), otherwise the error text.
pub(crate) fn describe_store_error(err: &object_store::Error) -> String {
    // A read pinned to an ETag (If-Match) that no longer matches: S3 answers 412 PreconditionFailed.
    if matches!(err, object_store::Error::Precondition { .. }) {
        return "the object changed while it was read (its ETag no longer matches the one listed); nothing of it was loaded".into();
    }
    let text = err.to_string();
    if let Some(message) = describe_s3_error_document(&text) {
        return message;
    }
    // Keep the first line only: object_store appends request details on later lines.
    text.lines().next().unwrap_or_default().to_string()
}

/// `Code: explanation` for an S3 error document (or text containing one), `None` without a code.
pub(crate) fn describe_s3_error_document(text: &str) -> Option<String> {
    let code = lakeport_aws::xml_tag(text, "Code")?;
    Some(match crate::probe::explain_s3_code(code) {
        Some(hint) => format!("{code}: {hint}"),
        None => code.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kinds come from object_store's variants (S3's status as object_store maps it), also
    /// through a wrapper's source chain.
    #[test]
    fn store_errors_have_the_kind_of_their_variant() {
        let denied = || object_store::Error::PermissionDenied { path: "k".into(), source: "403 AccessDenied".into() };
        for (e, kind) in [
            (object_store::Error::NotFound { path: "k".into(), source: "404".into() }, ErrorKind::NotFound),
            (denied(), ErrorKind::Denied),
            (object_store::Error::Unauthenticated { path: "k".into(), source: "401".into() }, ErrorKind::Denied),
            (object_store::Error::Precondition { path: "k".into(), source: "412".into() }, ErrorKind::Conflict),
            (object_store::Error::Generic { store: "S3", source: "connection reset".into() }, ErrorKind::Unavailable),
        ] {
            assert_eq!(SourceError::store("get", "b", "k", e).kind(), kind);
        }
        let wrapped = std::io::Error::other(denied());
        assert_eq!(ErrorKind::of_object_store_in(&wrapped), Some(ErrorKind::Denied));
        assert_eq!(ErrorKind::of_object_store_in(&std::io::Error::other("no store error here")), None);
        assert_eq!(SourceError::S3 { op: "list", bucket: "b".into(), key: String::new(), status: 403, message: "AccessDenied".into() }.kind(), ErrorKind::Denied);
    }
}
