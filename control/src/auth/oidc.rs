//! OIDC: tokens from a configured issuer, verified against its JWKS (RS256 and ES256).
//! Fetching the JWKS is the server's job; this verifies with the key set it is given.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::AuthError;
use super::jwt::{
    LEEWAY_SECS, check_algorithm, check_tenant_and_roles, check_times, map_jwt_error,
};
use crate::principal::{Principal, PrincipalKind};

/// Claims read from an OIDC token. The issuer must put `tenant` (a slug) and `roles` in it.
#[derive(Debug, Deserialize)]
struct OidcClaims {
    sub: String,
    exp: u64,
    #[serde(default)]
    iat: Option<u64>,
    tenant: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Verifies tokens of one OIDC issuer with its key set.
#[derive(Debug, Clone)]
pub struct JwksVerifier {
    keys: JwkSet,
    issuer: String,
    audience: String,
}

const ALLOWED: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

impl JwksVerifier {
    /// A verifier for `issuer` and `audience` with `keys`.
    pub fn new(keys: JwkSet, issuer: &str, audience: &str) -> JwksVerifier {
        JwksVerifier {
            keys,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        }
    }

    /// Parses a JWKS JSON document.
    pub fn from_json(jwks: &str, issuer: &str, audience: &str) -> Result<JwksVerifier, AuthError> {
        let keys: JwkSet = serde_json::from_str(jwks)
            .map_err(|e| AuthError::Malformed(format!("JWKS document: {e}")))?;
        Ok(JwksVerifier::new(keys, issuer, audience))
    }

    /// Replaces the key set (after the server refetched it).
    pub fn set_keys(&mut self, keys: JwkSet) {
        self.keys = keys;
    }

    /// The issuer whose tokens this verifies.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn key_for(&self, kid: Option<&str>) -> Result<&Jwk, AuthError> {
        match kid {
            Some(kid) => self
                .keys
                .find(kid)
                .ok_or_else(|| AuthError::UnknownKeyId(kid.to_string())),
            None if self.keys.keys.len() == 1 => self
                .keys
                .keys
                .first()
                .ok_or_else(|| AuthError::UnknownKeyId("(none)".into())),
            None => Err(AuthError::UnknownKeyId("(no kid in header)".into())),
        }
    }

    /// Verifies `token` at `now` and returns its principal (`id` is `oidc:<sub>`).
    pub fn verify_at(&self, token: &str, now: u64) -> Result<Principal, AuthError> {
        let alg = check_algorithm(token, &ALLOWED)?;
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        let jwk = self.key_for(header.kid.as_deref())?;
        let fits = match (&jwk.algorithm, alg) {
            (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
            (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => {
                p.curve == EllipticCurve::P256
            }
            _ => false,
        };
        let declared_ok = match jwk.common.key_algorithm {
            Some(declared) => format!("{declared:?}") == format!("{alg:?}"),
            None => true,
        };
        if !fits || !declared_ok {
            return Err(AuthError::AlgorithmNotAllowed(format!(
                "{alg:?} with this key"
            )));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| AuthError::Malformed(e.to_string()))?;
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = false;
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<OidcClaims>(token, &key, &validation)
            .map_err(map_jwt_error)?
            .claims;
        check_times(claims.iat.unwrap_or(0), claims.exp, now)?;
        let tenant = claims
            .tenant
            .ok_or_else(|| AuthError::MissingClaim("tenant".into()))?;
        let (tenant, roles) = check_tenant_and_roles(&tenant, &claims.roles)?;
        Ok(Principal {
            kind: PrincipalKind::User,
            display: claims
                .preferred_username
                .or(claims.email)
                .unwrap_or_else(|| claims.sub.clone()),
            id: format!("oidc:{}", claims.sub),
            tenant,
            roles,
        })
    }
}
