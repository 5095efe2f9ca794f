use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lakeport_core::{CoreError, ErrorKind};
use lakeport_core::ExtractError;
use lakeport_core::PoolError;

/// An API error: a status, the error's kind and a message for people. Messages come from the
/// library errors, which never carry secrets. The body is `{"error": message, "kind": kind}`
/// (`kind` as in [`ErrorKind`], snake_case; absent for the API's own authentication errors).
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// The error's kind (`kind` in the body); `None` for the API's own checks.
    pub kind: Option<ErrorKind>,
    /// What went wrong, for people (`error` in the body).
    pub message: String,
}

impl ApiError {
    /// An error with an explicit status (the API's own checks: authentication, request shape).
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, kind: None, message: message.into() }
    }

    /// An error of a kind; its status is [`status_of`]'s.
    pub fn of_kind(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError { status: status_of(kind), kind: Some(kind), message: message.into() }
    }
}

/// The one place where error kinds become HTTP statuses. `Denied` and `Unavailable` are 502: the
/// caller's request was fine and authorised, a service lakeport talks to (S3, a catalog, STS)
/// refused it or failed — a 401/403 here would read as the API token's fault.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Exists | ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::LimitExceeded => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Denied | ErrorKind::Unavailable => StatusCode::BAD_GATEWAY,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.kind {
            Some(kind) => serde_json::json!({ "error": self.message, "kind": kind }),
            None => serde_json::json!({ "error": self.message }),
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<PoolError> for ApiError {
    fn from(e: PoolError) -> Self {
        ApiError::of_kind(e.kind(), e.to_string())
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::of_kind(e.kind(), e.to_string())
    }
}

impl From<ExtractError> for ApiError {
    fn from(e: ExtractError) -> Self {
        ApiError::of_kind(e.kind(), e.to_string())
    }
}

/// A 400 of kind [`ErrorKind::Invalid`]: the request's body, path or query is not acceptable.
pub fn bad_request(m: impl Into<String>) -> ApiError {
    ApiError::of_kind(ErrorKind::Invalid, m)
}
