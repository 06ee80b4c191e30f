//! The one error response: `{"error": {"code", "message"}}` with the status the error asks
//! for. Malformed bodies answer 400 `invalid_input`; a well-formed body with a wrong value
//! answers 422 `invalid_input` (ApiError's own status).

use aoi_control::ApiError;
use aoi_control::authz::AuthzError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An [`ApiError`] on its way to an HTTP response.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    error: ApiError,
}

impl HttpError {
    /// A request the server could not even read (bad JSON, wrong type, unknown field, bad
    /// UTF-8, a malformed path or query): 400 `invalid_input`.
    pub fn bad_request(field: impl Into<String>, problem: impl Into<String>) -> HttpError {
        HttpError {
            status: StatusCode::BAD_REQUEST,
            error: ApiError::invalid_input(field, problem),
        }
    }
}

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> HttpError {
        let status =
            StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpError { status, error }
    }
}

impl From<AuthzError> for HttpError {
    fn from(error: AuthzError) -> HttpError {
        HttpError::from(ApiError::from(error))
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, Json(self.error.body())).into_response()
    }
}

/// A handler's result.
pub type HttpResult<T> = Result<T, HttpError>;
