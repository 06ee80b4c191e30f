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
    /// No backend could load the LoRA adapter the request names. `status` is the last backend's
    /// HTTP answer (`None`: it did not answer); `answer` what it said.
    #[error(
        "cannot load LoRA adapter `{adapter}` from `{path}`: backend `{backend}` answered {}: {answer}",
        status.map_or_else(|| "nothing".to_string(), |s| s.to_string())
    )]
    AdapterLoad {
        adapter: String,
        path: String,
        backend: String,
        status: Option<u16>,
        answer: String,
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
            // vLLM's 4xx (bad path, bad adapter) is the request's fault; anything else the backend's.
            RouterError::AdapterLoad {
                status: Some(status),
                ..
            } if (400..500).contains(status) => *status,
            RouterError::AdapterLoad { .. } => 502,
        }
    }
}
