//! The one entry point from a bearer token (or a login) to a [`Principal`].

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::api_key::{ApiKeyLookup, PortError, verify_api_key};
use super::jwt::{IssuedToken, JwtCodec};
use super::oidc::JwksVerifier;
use super::password::{dummy_hash, verify_password};
use super::{AuthError, now_secs};
use crate::principal::{Principal, Role, TenantSlug};

/// What the store keeps for a local user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user id.
    pub id: String,
    /// The tenant.
    pub tenant: TenantSlug,
    /// The login name, unique in the tenant.
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Roles in the tenant (put into the token).
    pub roles: Vec<Role>,
    /// Disabled users cannot log in.
    pub disabled: bool,
}

/// Finds users for login. The store crate implements it.
#[async_trait]
pub trait UserLookup: Send + Sync {
    /// The user `username` of `tenant`, if any.
    async fn find_user(
        &self,
        tenant: &TenantSlug,
        username: &str,
    ) -> Result<Option<UserRecord>, PortError>;
}

/// The body of `POST /api/v1/auth/login`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Tenant slug.
    pub tenant: String,
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("tenant", &self.tenant)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The answer of `POST /api/v1/auth/login`.
pub type LoginResponse = IssuedToken;

/// Extracts the token from an `Authorization` header value (`Bearer <token>`).
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::MissingToken)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token.trim())
}

/// Decides between an API key (`aoi_` prefix), an OIDC token (its `iss` is the configured OIDC
/// issuer) and a local access token, and verifies it.
pub struct Authenticator {
    jwt: JwtCodec,
    api_keys: Arc<dyn ApiKeyLookup>,
    users: Arc<dyn UserLookup>,
    oidc: Option<JwksVerifier>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("jwt", &self.jwt)
            .field("oidc", &self.oidc.as_ref().map(JwksVerifier::issuer))
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator over the given codec and ports, without OIDC.
    pub fn new(
        jwt: JwtCodec,
        api_keys: Arc<dyn ApiKeyLookup>,
        users: Arc<dyn UserLookup>,
    ) -> Authenticator {
        Authenticator {
            jwt,
            api_keys,
            users,
            oidc: None,
        }
    }

    /// Accepts tokens of an OIDC issuer too.
    pub fn with_oidc(mut self, oidc: JwksVerifier) -> Authenticator {
        self.oidc = Some(oidc);
        self
    }

    /// The access-token codec.
    pub fn jwt(&self) -> &JwtCodec {
        &self.jwt
    }

    /// Verifies a bearer token now.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        self.authenticate_at(token, now_secs()).await
    }

    /// Verifies a bearer token at `now`.
    pub async fn authenticate_at(&self, token: &str, now: u64) -> Result<Principal, AuthError> {
        if token.starts_with("aoi_") {
            return verify_api_key(self.api_keys.as_ref(), token).await;
        }
        if let Some(oidc) = &self.oidc {
            // Routing only: the unverified `iss` picks the verifier, which then checks all.
            let iss = token
                .split('.')
                .nth(1)
                .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|c| c.get("iss").and_then(|i| i.as_str()).map(str::to_string));
            if iss.as_deref() == Some(oidc.issuer()) && oidc.issuer() != self.jwt.issuer() {
                return oidc.verify_at(token, now);
            }
        }
        self.jwt.verify_at(token, now)
    }

    /// Checks a login and issues an access token. Unknown tenant, unknown user, disabled user
    /// and wrong password all answer [`AuthError::InvalidCredentials`], in similar time.
    pub async fn login(&self, request: &LoginRequest) -> Result<IssuedToken, AuthError> {
        self.login_at(request, now_secs()).await
    }

    /// [`Authenticator::login`] at `now`.
    pub async fn login_at(
        &self,
        request: &LoginRequest,
        now: u64,
    ) -> Result<IssuedToken, AuthError> {
        let user = match TenantSlug::new(&request.tenant) {
            Ok(tenant) => self
                .users
                .find_user(&tenant, &request.username)
                .await
                .map_err(|e| AuthError::Store(e.0))?,
            Err(_) => None,
        };
        let Some(user) = user else {
            let _ = verify_password(&request.password, dummy_hash());
            return Err(AuthError::InvalidCredentials);
        };
        let matches = verify_password(&request.password, &user.password_hash)
            .map_err(|e| AuthError::Store(e.to_string()))?;
        if !matches || user.disabled {
            return Err(AuthError::InvalidCredentials);
        }
        self.jwt
            .issue_at(&user.id, &user.username, &user.tenant, &user.roles, now)
    }
}
