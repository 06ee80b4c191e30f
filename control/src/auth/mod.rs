//! Identity: passwords, access tokens (JWT), API keys, OIDC, and the [`Authenticator`] that
//! turns a bearer token into a [`Principal`].

mod api_key;
mod authenticator;
mod jwt;
mod oidc;
mod password;
mod signing_key;

pub use api_key::{
    ApiKeyLookup, ApiKeyRecord, GeneratedApiKey, PortError, generate_api_key, hash_api_key_secret,
    parse_api_key,
};
pub use authenticator::{
    Authenticator, LoginRequest, LoginResponse, UserLookup, UserRecord, bearer_token,
};
pub use jwt::{Claims, IssuedToken, JwtCodec};
pub use oidc::JwksVerifier;
pub use password::{PasswordError, hash_password, verify_password};
pub use signing_key::{KeyOrigin, SigningKey, SigningKeyError};

use crate::error::ApiError;
pub use crate::principal::Principal;

/// Why a request could not be authenticated. Each cause is its own variant so logs and tests
/// can tell them apart; clients see [`ApiError`] (see the `From` impl).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header, or not `Bearer`.
    #[error("no bearer token")]
    MissingToken,
    /// Not a JWT (three base64url parts with JSON) nor an API key.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// `alg` is `none` or any algorithm this verifier does not accept.
    #[error("token algorithm {0} is not accepted")]
    AlgorithmNotAllowed(String),
    /// The signature does not match: another key, or the header or claims were changed.
    #[error("token signature does not verify")]
    BadSignature,
    /// `exp` is in the past (beyond leeway).
    #[error("token expired")]
    Expired,
    /// `iat` is in the future (beyond leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `iss` is not the configured issuer.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// `aud` is not the configured audience.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// A required claim is missing.
    #[error("token claim {0} is missing")]
    MissingClaim(String),
    /// A claim is present but not acceptable (bad tenant slug, unknown role...).
    #[error("token claim {claim} is not valid: {problem}")]
    InvalidClaim {
        /// The claim.
        claim: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An OIDC token names a key id the JWKS does not have.
    #[error("no key {0} in the issuer's key set")]
    UnknownKeyId(String),
    /// No API key with that prefix, or its secret does not match.
    #[error("unknown API key")]
    UnknownApiKey,
    /// The API key was revoked.
    #[error("API key revoked")]
    RevokedApiKey,
    /// Tenant, username or password wrong (login).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A port (store) failed.
    #[error("credential store failed: {0}")]
    Store(String),
    /// Signing failed.
    #[error("cannot sign token: {0}")]
    Signing(String),
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::MissingToken => ApiError::Unauthenticated,
            AuthError::Expired => ApiError::TokenExpired,
            AuthError::InvalidCredentials => ApiError::InvalidCredentials,
            AuthError::Store(_) => ApiError::Unavailable {
                what: "the credential store".into(),
            },
            AuthError::Signing(_) => ApiError::Internal {
                reference: "token-signing".into(),
            },
            AuthError::Malformed(_)
            | AuthError::AlgorithmNotAllowed(_)
            | AuthError::BadSignature
            | AuthError::IssuedInFuture
            | AuthError::WrongIssuer
            | AuthError::WrongAudience
            | AuthError::MissingClaim(_)
            | AuthError::InvalidClaim { .. }
            | AuthError::UnknownKeyId(_)
            | AuthError::UnknownApiKey
            | AuthError::RevokedApiKey => ApiError::InvalidToken {
                reason: e.to_string(),
            },
        }
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
