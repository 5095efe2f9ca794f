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

/// The body of every error answer (the OpenAPI document's `Error` schema).
#[derive(serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// The error's kind; left out for the API's own authentication errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: self.message, kind: self.kind })).into_response()
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

/// A JSON request body; a body that cannot be read (not JSON, a missing or mistyped member, no
/// `Content-Type: application/json`, too large) is answered as every other error, `{error,
/// kind}` with axum's status and message (400, 415, 422; 413), not as axum's plain text.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Body<T>(pub T);

/// Query parameters; ones that cannot be read are a 400 `{error, kind}` as [`Body`]'s are.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Params<T>(pub T);

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        let kind = if r.status() == StatusCode::PAYLOAD_TOO_LARGE { ErrorKind::LimitExceeded } else { ErrorKind::Invalid };
        ApiError { status: r.status(), kind: Some(kind), message: r.body_text() }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        ApiError { status: r.status(), kind: Some(ErrorKind::Invalid), message: r.body_text() }
    }
}
