//! The one error a client of the control plane sees.
//!
//! Every variant has a stable snake_case [`ApiError::code`] (the console shows and translates
//! it), a message that says what to fix, an HTTP status and a gRPC code. The two transport
//! mappings list every variant explicitly, so a new variant forces a decision in both.

use serde::Serialize;

/// A control-plane error as clients see it. Internal causes stay in logs, never in messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No credentials were presented.
    #[error(
        "authentication required: send `Authorization: Bearer <token>` with a token from POST /api/v1/auth/login or an API key"
    )]
    Unauthenticated,
    /// Login failed: unknown tenant, unknown user, wrong password or disabled user.
    #[error("tenant, username or password is wrong: check them and log in again")]
    InvalidCredentials,
    /// A bearer token or API key was presented but is not acceptable.
    #[error("the bearer token is not valid ({reason}): log in again or use a current API key")]
    InvalidToken {
        /// What was wrong with it, safe to show.
        reason: String,
    },
    /// The access token has expired.
    #[error("the access token has expired: log in again to get a new one")]
    TokenExpired,
    /// The principal is authenticated but lacks the permission.
    #[error(
        "permission {permission} is required in tenant {tenant}: ask a tenant admin to grant a role that has it"
    )]
    Forbidden {
        /// The permission that was checked (its snake_case name).
        permission: String,
        /// The tenant (or `*` for the platform) it was checked in.
        tenant: String,
    },
    /// The addressed thing does not exist (or is not visible to the caller).
    #[error("{what} was not found: check the identifier")]
    NotFound {
        /// What was looked for, e.g. `incident 42`.
        what: String,
    },
    /// The request conflicts with the current state.
    #[error("{what}: reload the current state and retry")]
    Conflict {
        /// What conflicted, e.g. `user alice already exists`.
        what: String,
    },
    /// The request is well-formed but a field is wrong.
    #[error("invalid {field}: {problem}")]
    InvalidInput {
        /// The field (dotted path) at fault.
        field: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// The request body exceeds `server.body_limit_bytes`.
    #[error(
        "the request body is larger than {limit_bytes} bytes: send less, or raise server.body_limit_bytes"
    )]
    PayloadTooLarge {
        /// The configured limit.
        limit_bytes: u64,
    },
    /// Too many requests.
    #[error("too many requests: retry after {retry_after_secs} seconds")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// A dependency (database, queue, inference backend) is not reachable.
    #[error("{what} is unavailable: retry later")]
    Unavailable {
        /// What is unavailable.
        what: String,
    },
    /// A bug or an unexpected failure; the cause is logged under `reference`.
    #[error(
        "internal error (reference {reference}): retry, and report the reference if it persists"
    )]
    Internal {
        /// An identifier that ties the response to the logged cause.
        reference: String,
    },
}

/// The JSON body of an error response: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDetail {
    /// The stable snake_case code.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// Every code this enum can produce, in declaration order (for docs and tests).
    pub const CODES: [&'static str; 12] = [
        "unauthenticated",
        "invalid_credentials",
        "invalid_token",
        "token_expired",
        "forbidden",
        "not_found",
        "conflict",
        "invalid_input",
        "payload_too_large",
        "rate_limited",
        "unavailable",
        "internal",
    ];

    /// The stable snake_case code clients may match on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::InvalidToken { .. } => "invalid_token",
            ApiError::TokenExpired => "token_expired",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Conflict { .. } => "conflict",
            ApiError::InvalidInput { .. } => "invalid_input",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Internal { .. } => "internal",
        }
    }

    /// The HTTP status for REST responses.
    pub fn http_status(&self) -> u16 {
        match self {
            ApiError::Unauthenticated => 401,
            ApiError::InvalidCredentials => 401,
            ApiError::InvalidToken { .. } => 401,
            ApiError::TokenExpired => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::NotFound { .. } => 404,
            ApiError::Conflict { .. } => 409,
            ApiError::InvalidInput { .. } => 422,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::RateLimited { .. } => 429,
            ApiError::Unavailable { .. } => 503,
            ApiError::Internal { .. } => 500,
        }
    }

    /// The gRPC status code name (as in `tonic::Code`) for gRPC responses.
    pub fn grpc_code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::InvalidCredentials => "UNAUTHENTICATED",
            ApiError::InvalidToken { .. } => "UNAUTHENTICATED",
            ApiError::TokenExpired => "UNAUTHENTICATED",
            ApiError::Forbidden { .. } => "PERMISSION_DENIED",
            ApiError::NotFound { .. } => "NOT_FOUND",
            ApiError::Conflict { .. } => "ALREADY_EXISTS",
            ApiError::InvalidInput { .. } => "INVALID_ARGUMENT",
            ApiError::PayloadTooLarge { .. } => "RESOURCE_EXHAUSTED",
            ApiError::RateLimited { .. } => "RESOURCE_EXHAUSTED",
            ApiError::Unavailable { .. } => "UNAVAILABLE",
            ApiError::Internal { .. } => "INTERNAL",
        }
    }

    /// The user-facing message (the `Display` text).
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The JSON body for this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.message(),
            },
        }
    }

    /// Shorthand for [`ApiError::InvalidInput`].
    pub fn invalid_input(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ApiError::InvalidInput {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of_each() -> Vec<ApiError> {
        vec![
            ApiError::Unauthenticated,
            ApiError::InvalidCredentials,
            ApiError::InvalidToken { reason: "x".into() },
            ApiError::TokenExpired,
            ApiError::Forbidden {
                permission: "read_incidents".into(),
                tenant: "acme".into(),
            },
            ApiError::NotFound {
                what: "incident 1".into(),
            },
            ApiError::Conflict { what: "x".into() },
            ApiError::invalid_input("username", "must not be empty"),
            ApiError::PayloadTooLarge { limit_bytes: 10 },
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            ApiError::Unavailable {
                what: "database".into(),
            },
            ApiError::Internal {
                reference: "r1".into(),
            },
        ]
    }

    #[test]
    fn codes_are_stable_snake_case_and_unique() {
        let errors = one_of_each();
        let codes: Vec<&str> = errors.iter().map(ApiError::code).collect();
        assert_eq!(codes, ApiError::CODES.to_vec());
        for code in codes {
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }

    #[test]
    fn client_errors_are_4xx_and_bodies_carry_code_and_message() {
        for e in one_of_each() {
            let status = e.http_status();
            match e {
                ApiError::Unavailable { .. } | ApiError::Internal { .. } => {
                    assert!(status >= 500)
                }
                _ => assert!((400..500).contains(&status), "{e:?}"),
            }
            let body = serde_json::to_value(e.body()).unwrap();
            assert_eq!(body["error"]["code"], e.code());
            assert!(!e.grpc_code().is_empty());
        }
    }
}
