//! The kinds of error every lakeport crate sorts its errors into.
//!
//! Each library crate keeps its own typed error (thiserror) with messages for people; each of
//! those errors also says which [`ErrorKind`] it is, decided from the libraries' own variants
//! (object_store's `Error`, an HTTP status, sqlx's and iceberg's error kinds) and never from
//! message text. Callers match on the kind: the HTTP server maps kinds to status codes in one
//! place, retry loops retry what [`ErrorKind::is_retryable`] says, the CLI picks its exit code.
//!
//! Modelled on iceberg-rust's `ErrorKind` + retryable flag and on object_store's typed `Error`
//! (`NotFound`, `AlreadyExists`, `Precondition`, `PermissionDenied`, …).
#![warn(missing_docs)]

use serde::Serialize;

/// What went wrong, in the terms a caller acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The named thing (pool, connection, table, object, job, share…) does not exist.
    NotFound,
    /// Something of that name exists already.
    Exists,
    /// Another operation got there first (a commit conflict, a run holding the table); the same
    /// request may succeed once the other has finished.
    Conflict,
    /// The request or the input is wrong (a bad setting, an unreadable file, a query that does not
    /// plan, data that does not fit the table): repeating it unchanged fails the same way.
    Invalid,
    /// The credentials lack a permission, or were refused.
    Denied,
    /// A service lakeport talks to (S3, a catalog, STS) could not be reached or failed on its
    /// side (timeouts, connection errors, HTTP 5xx); a later try may succeed.
    Unavailable,
    /// A well-formed request that needs more than the configured limits allow (a query's
    /// memory budget or time limit): narrowing the request or raising the limit helps.
    LimitExceeded,
    /// lakeport's own state is broken (a corrupt catalog row or ledger file) or a bug was hit.
    Internal,
}

impl ErrorKind {
    /// True for kinds where the same request may succeed later without any change:
    /// [`ErrorKind::Conflict`] and [`ErrorKind::Unavailable`].
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Conflict | ErrorKind::Unavailable)
    }

    /// The kind an HTTP error status stands for (RFC 9110 §15): 404 not found, 409/412
    /// conflict, 401/403 denied, 408/429/5xx unavailable, other 4xx invalid. `None` for a status
    /// that is not an error (below 400).
    pub fn from_http_status(status: u16) -> Option<ErrorKind> {
        Some(match status {
            0..=399 => return None,
            404 | 410 => ErrorKind::NotFound,
            409 | 412 => ErrorKind::Conflict,
            401 | 403 => ErrorKind::Denied,
            408 | 429 => ErrorKind::Unavailable,
            400..=499 => ErrorKind::Invalid,
            _ => ErrorKind::Unavailable,
        })
    }

    /// The kind of an object_store (0.13) error, from its variant. object_store turns 404, 403,
    /// 401, 412 and 304 answers into variants of their own; what it reports as `Generic` is a
    /// transport failure or a 5xx answer after its retries, hence [`ErrorKind::Unavailable`].
    #[cfg(feature = "object_store")]
    pub fn of_object_store(err: &object_store::Error) -> ErrorKind {
        use object_store::Error as E;
        match err {
            E::NotFound { .. } => ErrorKind::NotFound,
            E::AlreadyExists { .. } => ErrorKind::Exists,
            E::Precondition { .. } | E::NotModified { .. } => ErrorKind::Conflict,
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => ErrorKind::Denied,
            E::InvalidPath { .. } | E::UnknownConfigurationKey { .. } | E::NotSupported { .. } | E::NotImplemented { .. } => ErrorKind::Invalid,
            E::JoinError { .. } => ErrorKind::Internal,
            _ => ErrorKind::Unavailable,
        }
    }

    /// The kind of the first object_store error in `e`'s source chain (`e` itself included),
    /// for errors that wrap one (iceberg's FileIO over lakeport's object_store `Storage`);
    /// `None` when the chain holds none.
    #[cfg(feature = "object_store")]
    pub fn of_object_store_in(e: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
        let mut next = Some(e);
        while let Some(e) = next {
            if let Some(store) = e.downcast_ref::<object_store::Error>() {
                return Some(ErrorKind::of_object_store(store));
            }
            // A boxed one is another type to `downcast_ref`: thiserror's `#[source]` on a
            // `Box<object_store::Error>` field (lakeport-source's errors) answers the box.
            if let Some(store) = e.downcast_ref::<Box<object_store::Error>>() {
                return Some(ErrorKind::of_object_store(store));
            }
            // An io::Error's `source()` skips the error it wraps (it answers that one's source).
            if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                next = Some(inner);
                continue;
            }
            next = e.source();
        }
        None
    }

    /// The kind of an iceberg-rust (0.10) error, from its `ErrorKind` and `retryable` flag.
    #[cfg(feature = "iceberg")]
    pub fn of_iceberg(e: &iceberg::Error) -> ErrorKind {
        use iceberg::ErrorKind as K;
        match e.kind() {
            K::TableNotFound | K::NamespaceNotFound => ErrorKind::NotFound,
            K::TableAlreadyExists | K::NamespaceAlreadyExists => ErrorKind::Exists,
            K::CatalogCommitConflicts | K::PreconditionFailed => ErrorKind::Conflict,
            K::DataInvalid | K::FeatureUnsupported => ErrorKind::Invalid,
            _ if e.retryable() => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn http_statuses_have_the_kinds_rfc_9110_gives_them() {
        for (status, kind) in [
            (200, None),
            (304, None),
            (400, Some(ErrorKind::Invalid)),
            (401, Some(ErrorKind::Denied)),
            (403, Some(ErrorKind::Denied)),
            (404, Some(ErrorKind::NotFound)),
            (409, Some(ErrorKind::Conflict)),
            (412, Some(ErrorKind::Conflict)),
            (422, Some(ErrorKind::Invalid)),
            (429, Some(ErrorKind::Unavailable)),
            (500, Some(ErrorKind::Unavailable)),
            (503, Some(ErrorKind::Unavailable)),
        ] {
            assert_eq!(ErrorKind::from_http_status(status), kind, "{status}");
        }
        assert!(ErrorKind::Conflict.is_retryable() && ErrorKind::Unavailable.is_retryable());
        assert!(!ErrorKind::Invalid.is_retryable() && !ErrorKind::Denied.is_retryable() && !ErrorKind::Internal.is_retryable());
    }

    /// object_store's error is found in a chain as it, boxed (a `#[source]` field of type
    /// `Box<object_store::Error>`) and inside an `std::io::Error` (a byte stream's error).
    #[cfg(feature = "object_store")]
    #[test]
    fn an_object_store_error_is_found_boxed_and_inside_io_errors() {
        #[derive(Debug)]
        struct Wrapper(Box<object_store::Error>);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "reading k: {}", self.0)
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let precondition = || object_store::Error::Precondition { path: "k".into(), source: "412".into() };
        assert_eq!(ErrorKind::of_object_store_in(&precondition()), Some(ErrorKind::Conflict));
        assert_eq!(ErrorKind::of_object_store_in(&Wrapper(Box::new(precondition()))), Some(ErrorKind::Conflict));
        let io = std::io::Error::other(Wrapper(Box::new(object_store::Error::NotFound { path: "k".into(), source: "404".into() })));
        assert_eq!(ErrorKind::of_object_store_in(&io), Some(ErrorKind::NotFound));
        assert_eq!(ErrorKind::of_object_store_in(&std::io::Error::other("no store here")), None);
    }
}
