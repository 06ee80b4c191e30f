//! The router's errors. The server maps them to HTTP status with [`RouterError::http_status`].

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RouterError {
    /// The pool's configuration is invalid.
    #[error("inference pool `{pool}` is misconfigured: {reason}")]
    Config { pool: String, reason: String },
    /// No backend could take or complete the request.
    #[error(
        "inference pool `{pool}` is unavailable: {reason}; check the backends' health and retry later"
    )]
    Unavailable { pool: String, reason: String },
    /// The request's deadline passed before an answer (or a stream's first chunk).
    #[error("inference pool `{pool}` did not answer within {after:?}")]
    DeadlineExceeded { pool: String, after: Duration },
    /// A backend refused the request itself (4xx other than 429): retrying elsewhere won't help.
    #[error("backend `{backend}` rejected the request with status {status}: {body}")]
    Rejected {
        backend: String,
        status: u16,
        body: String,
    },
    /// A stream broke after some of it had been passed on; it cannot be failed over.
    #[error("the stream from backend `{backend}` broke after it started: {reason}")]
    StreamInterrupted { backend: String, reason: String },
}

impl RouterError {
    /// The HTTP status the server answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            RouterError::Config { .. } => 500,
            RouterError::Unavailable { .. } => 503,
            RouterError::DeadlineExceeded { .. } => 504,
            RouterError::Rejected { status, .. } => *status,
            RouterError::StreamInterrupted { .. } => 502,
        }
    }
}
