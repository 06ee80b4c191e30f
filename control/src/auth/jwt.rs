//! Access tokens: HS256 JWTs with `sub`, `tenant`, `roles`, `iss`, `aud`, `iat`, `exp`, `jti`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{AuthError, SigningKey};
use crate::config::AuthConfig;
use crate::principal::{Principal, PrincipalKind, Role, TenantSlug};

/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The tenant slug.
    pub tenant: String,
    /// Role names in that tenant.
    pub roles: Vec<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// Token id.
    pub jti: String,
    /// Display name (username); optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A signed token as the login endpoint answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Signs and verifies access tokens. Only HS256 is accepted; `none` and every other
/// algorithm are refused before any claim is read.
#[derive(Clone)]
pub struct JwtCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    audience: String,
    ttl_secs: u64,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl JwtCodec {
    /// A codec for `auth.issuer`, `auth.audience` and `auth.token_ttl_secs` with `key`.
    pub fn new(key: &SigningKey, auth: &AuthConfig) -> JwtCodec {
        JwtCodec {
            encoding: EncodingKey::from_secret(key.bytes()),
            decoding: DecodingKey::from_secret(key.bytes()),
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            ttl_secs: auth.token_ttl_secs,
        }
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Issues a token for `user_id` in `tenant` with `roles`, valid from `now`.
    pub fn issue_at(
        &self,
        user_id: &str,
        display: &str,
        tenant: &TenantSlug,
        roles: &[Role],
        now: u64,
    ) -> Result<IssuedToken, AuthError> {
        let jti: [u8; 16] = rand::random();
        let claims = Claims {
            sub: user_id.to_string(),
            tenant: tenant.as_str().to_string(),
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now.saturating_add(self.ttl_secs),
            jti: jti.iter().map(|b| format!("{b:02x}")).collect(),
            name: Some(display.to_string()),
        };
        self.sign(&claims).map(|access_token| IssuedToken {
            access_token,
            expires_in: self.ttl_secs,
        })
    }

    /// Signs arbitrary claims (tests and tooling use this to build bad tokens).
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    /// Verifies `token` at time `now`: algorithm, signature, `iss`, `aud`, `exp`, `iat`, then
    /// `tenant` and `roles`; returns the principal it names.
    pub fn verify_at(&self, token: &str, now: u64) -> Result<Principal, AuthError> {
        check_algorithm(token, &[Algorithm::HS256])?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = false; // checked below against `now`
        validation.leeway = LEEWAY_SECS;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(map_jwt_error)?;
        let claims = data.claims;
        check_times(claims.iat, claims.exp, now)?;
        let (tenant, roles) = check_tenant_and_roles(&claims.tenant, &claims.roles)?;
        Ok(Principal {
            kind: PrincipalKind::User,
            display: claims.name.clone().unwrap_or_else(|| claims.sub.clone()),
            id: claims.sub,
            tenant,
            roles,
        })
    }

    /// [`JwtCodec::verify_at`] now.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.verify_at(token, super::now_secs())
    }
}

/// Refuses a token whose header `alg` is not in `allowed` (including `none`, which
/// jsonwebtoken cannot even parse), before anything else is looked at.
pub(crate) fn check_algorithm(token: &str, allowed: &[Algorithm]) -> Result<Algorithm, AuthError> {
    match jsonwebtoken::decode_header(token) {
        Ok(header) if allowed.contains(&header.alg) => Ok(header.alg),
        Ok(header) => Err(AuthError::AlgorithmNotAllowed(format!("{:?}", header.alg))),
        Err(_) => {
            // Read the raw header to name the algorithm (e.g. `none`) when there is one.
            let alg = token
                .split('.')
                .next()
                .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                .and_then(|v| v.get("alg").and_then(|a| a.as_str()).map(str::to_string));
            match alg {
                Some(alg) => Err(AuthError::AlgorithmNotAllowed(alg)),
                None => Err(AuthError::Malformed(
                    "the header is not a JWT header".into(),
                )),
            }
        }
    }
}

pub(crate) fn check_times(iat: u64, exp: u64, now: u64) -> Result<(), AuthError> {
    if now > exp.saturating_add(LEEWAY_SECS) {
        return Err(AuthError::Expired);
    }
    if iat > now.saturating_add(LEEWAY_SECS) {
        return Err(AuthError::IssuedInFuture);
    }
    Ok(())
}

pub(crate) fn check_tenant_and_roles(
    tenant: &str,
    roles: &[String],
) -> Result<(TenantSlug, Vec<Role>), AuthError> {
    let tenant = TenantSlug::new(tenant).map_err(|e| AuthError::InvalidClaim {
        claim: "tenant".into(),
        problem: e.to_string(),
    })?;
    let roles = roles
        .iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AuthError::InvalidClaim {
            claim: "roles".into(),
            problem: e.to_string(),
        })?;
    Ok((tenant, roles))
}

pub(crate) fn map_jwt_error(e: jsonwebtoken::errors::Error) -> AuthError {
    match e.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            AuthError::AlgorithmNotAllowed("(mismatch)".into())
        }
        ErrorKind::MissingRequiredClaim(c) => AuthError::MissingClaim(c.clone()),
        ErrorKind::Json(err) => {
            let text = err.to_string();
            match text.strip_prefix("missing field `") {
                Some(rest) => AuthError::MissingClaim(rest.split('`').next().unwrap_or("").into()),
                None => AuthError::Malformed(format!("claims: {text}")),
            }
        }
        other => AuthError::Malformed(format!("{other:?}")),
    }
}
