use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lakeport_core::CoreError;
use lakeport_extract::ExtractError;
use lakeport_pool::PoolError;

/// An API error: a status and a message for people. Messages come from the library errors, which
/// never carry secrets.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

fn pool_status(e: &PoolError) -> StatusCode {
    match e {
        PoolError::NoSuchPool(_) | PoolError::NoSuchConnection { .. } | PoolError::NoSuchTable { .. } | PoolError::NoSuchExtraction { .. } | PoolError::NoSuchJob { .. } => StatusCode::NOT_FOUND,
        PoolError::PoolExists(_) | PoolError::ConnectionExists { .. } | PoolError::CommitConflict(_) | PoolError::ExtractionExists { .. } | PoolError::ExtractionRunning { .. } | PoolError::TableBusy { .. } => StatusCode::CONFLICT,
        PoolError::NoSuchToken(_) => StatusCode::NOT_FOUND,
        PoolError::InvalidName(_) | PoolError::SchemaDrift { .. } | PoolError::UnsupportedType { .. } | PoolError::Query(_) | PoolError::ReadOnlySql { .. } => {
            StatusCode::BAD_REQUEST
        }
        // A well-formed query that needs more than the server allows.
        PoolError::QueryMemory { .. } | PoolError::QueryTimeout { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<PoolError> for ApiError {
    fn from(e: PoolError) -> Self {
        ApiError(pool_status(&e), e.to_string())
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let status = match &e {
            CoreError::Pool(p) => pool_status(p),
            CoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            CoreError::Conflict(_) | CoreError::Stopped(_) => StatusCode::CONFLICT,
            CoreError::Source(lakeport_source::SourceError::InvalidConfig(_)) => StatusCode::BAD_REQUEST,
            CoreError::ZeroCopy(lakeport_zerocopy::ZeroCopyError::InvalidConfig(_)) => StatusCode::BAD_REQUEST,
            _ => StatusCode::BAD_GATEWAY,
        };
        ApiError(status, e.to_string())
    }
}

impl From<ExtractError> for ApiError {
    fn from(e: ExtractError) -> Self {
        match e {
            ExtractError::Pool(p) => p.into(),
            other => ApiError(StatusCode::BAD_REQUEST, other.to_string()),
        }
    }
}

pub fn bad_request(m: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, m.into())
}
