//! Identity: access tokens, API keys, OIDC and the authenticator, through the public API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aoi_control::auth::{
    ApiKeyLookup, ApiKeyRecord, AuthError, Authenticator, Claims, JwksVerifier, JwtCodec,
    LoginRequest, PortError, SigningKey, UserLookup, UserRecord, bearer_token, generate_api_key,
    hash_password,
};
use aoi_control::config::AuthConfig;
use aoi_control::{ApiError, PrincipalKind, Role, TenantSlug};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const NOW: u64 = 1_800_000_000;

fn tenant(s: &str) -> TenantSlug {
    TenantSlug::new(s).unwrap()
}

fn codec_with(key: &str, issuer: &str, audience: &str) -> JwtCodec {
    let auth = AuthConfig {
        issuer: issuer.into(),
        audience: audience.into(),
        ..AuthConfig::default()
    };
    JwtCodec::new(
        &SigningKey::from_bytes(key.as_bytes().to_vec()).unwrap(),
        &auth,
    )
}

fn codec() -> JwtCodec {
    codec_with(&"k".repeat(32), "aoi", "aoi-api")
}

fn claims(now: u64) -> Claims {
    Claims {
        sub: "u1".into(),
        tenant: "acme".into(),
        roles: vec!["operator".into()],
        iss: "aoi".into(),
        aud: "aoi-api".into(),
        iat: now,
        exp: now + 600,
        jti: "j1".into(),
        name: Some("alice".into()),
    }
}

fn b64_json(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

#[test]
fn jwt_round_trip() {
    let c = codec();
    let issued = c
        .issue_at("u1", "alice", &tenant("acme"), &[Role::Operator], NOW)
        .unwrap();
    assert_eq!(issued.expires_in, 3600);
    let p = c.verify_at(&issued.access_token, NOW + 10).unwrap();
    assert_eq!(p.kind, PrincipalKind::User);
    assert_eq!(p.id, "u1");
    assert_eq!(p.tenant, tenant("acme"));
    assert_eq!(p.roles, vec![Role::Operator]);
    assert_eq!(p.display, "alice");
    let json = serde_json::to_value(&issued).unwrap();
    assert!(json.get("access_token").is_some() && json.get("expires_in").is_some());
}

#[test]
fn each_bad_token_is_its_own_error() {
    let c = codec();
    let good = c.sign(&claims(NOW)).unwrap();

    // alg none: a header jsonwebtoken cannot even parse, and no signature.
    let none = format!(
        "{}.{}.",
        b64_json(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        b64_json(&serde_json::to_value(claims(NOW)).unwrap())
    );
    assert_eq!(
        c.verify_at(&none, NOW),
        Err(AuthError::AlgorithmNotAllowed("none".into()))
    );

    // Another HMAC algorithm with the same key is refused too.
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims(NOW),
        &EncodingKey::from_secret("k".repeat(32).as_bytes()),
    )
    .unwrap();
    assert!(matches!(
        c.verify_at(&hs512, NOW),
        Err(AuthError::AlgorithmNotAllowed(_))
    ));

    // Wrong key.
    let other = codec_with(&"x".repeat(32), "aoi", "aoi-api");
    let forged = other.sign(&claims(NOW)).unwrap();
    assert_eq!(c.verify_at(&forged, NOW), Err(AuthError::BadSignature));

    // Expired (beyond leeway), and issued in the future.
    assert_eq!(c.verify_at(&good, NOW + 600 + 31), Err(AuthError::Expired));
    assert!(c.verify_at(&good, NOW + 600 + 29).is_ok(), "within leeway");
    let future = c.sign(&claims(NOW + 120)).unwrap();
    assert_eq!(c.verify_at(&future, NOW), Err(AuthError::IssuedInFuture));

    // Wrong audience, wrong issuer.
    let mut cl = claims(NOW);
    cl.aud = "someone-else".into();
    assert_eq!(
        c.verify_at(&c.sign(&cl).unwrap(), NOW),
        Err(AuthError::WrongAudience)
    );
    let mut cl = claims(NOW);
    cl.iss = "evil".into();
    assert_eq!(
        c.verify_at(&c.sign(&cl).unwrap(), NOW),
        Err(AuthError::WrongIssuer)
    );

    // Tampered tenant claim: payload rewritten, signature kept. It cannot be told apart from
    // a wrong key (both are a signature that does not verify), but never verifies.
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["tenant"] = "victim".into();
    let tampered = format!("{}.{}.{}", parts[0], b64_json(&payload), parts[2]);
    assert_eq!(c.verify_at(&tampered, NOW), Err(AuthError::BadSignature));

    // Signed but unacceptable claims.
    let mut cl = claims(NOW);
    cl.tenant = "*".into();
    assert!(matches!(
        c.verify_at(&c.sign(&cl).unwrap(), NOW),
        Err(AuthError::InvalidClaim { claim, .. }) if claim == "tenant"
    ));
    let mut cl = claims(NOW);
    cl.roles = vec!["root".into()];
    assert!(matches!(
        c.verify_at(&c.sign(&cl).unwrap(), NOW),
        Err(AuthError::InvalidClaim { claim, .. }) if claim == "roles"
    ));
    let no_tenant = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &serde_json::json!({"sub": "u1", "roles": [], "iss": "aoi", "aud": "aoi-api",
            "iat": NOW, "exp": NOW + 60, "jti": "j"}),
        &EncodingKey::from_secret("k".repeat(32).as_bytes()),
    )
    .unwrap();
    assert_eq!(
        c.verify_at(&no_tenant, NOW),
        Err(AuthError::MissingClaim("tenant".into()))
    );
    assert!(matches!(
        c.verify_at("not-a-jwt", NOW),
        Err(AuthError::Malformed(_))
    ));

    // Clients see stable codes.
    assert_eq!(ApiError::from(AuthError::Expired).code(), "token_expired");
    assert_eq!(
        ApiError::from(AuthError::BadSignature).code(),
        "invalid_token"
    );
    assert_eq!(
        ApiError::from(AuthError::MissingToken).code(),
        "unauthenticated"
    );
}

#[derive(Default)]
struct Keys(Mutex<HashMap<String, ApiKeyRecord>>);

#[async_trait]
impl ApiKeyLookup for Keys {
    async fn find_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRecord>, PortError> {
        Ok(self.0.lock().unwrap().get(prefix).cloned())
    }
}

#[derive(Default)]
struct Users(Vec<UserRecord>);

#[async_trait]
impl UserLookup for Users {
    async fn find_user(
        &self,
        tenant: &TenantSlug,
        username: &str,
    ) -> Result<Option<UserRecord>, PortError> {
        Ok(self
            .0
            .iter()
            .find(|u| &u.tenant == tenant && u.username == username)
            .cloned())
    }
}

fn authenticator(keys: Arc<Keys>) -> Authenticator {
    let users = Users(vec![UserRecord {
        id: "u1".into(),
        tenant: tenant("acme"),
        username: "alice".into(),
        password_hash: hash_password("s3cret-pass").unwrap(),
        roles: vec![Role::Admin],
        disabled: false,
    }]);
    Authenticator::new(codec(), keys, Arc::new(users))
}

#[tokio::test]
async fn api_keys_generate_verify_and_revoke() {
    let keys = Arc::new(Keys::default());
    let generated = generate_api_key("k1", "ci", &tenant("acme"), Role::Operator);
    let token = generated.token.clone();
    assert!(token.starts_with("aoi_"));
    assert_eq!(token.len(), 4 + 8 + 1 + 32);
    assert!(!format!("{:?}", generated.record).contains(&token[13..]));
    keys.0
        .lock()
        .unwrap()
        .insert(generated.record.prefix.clone(), generated.record.clone());
    let auth = authenticator(keys.clone());

    let p = auth.authenticate_at(&token, NOW).await.unwrap();
    assert_eq!(p.kind, PrincipalKind::ApiKey);
    assert_eq!(p.id, "k1");
    assert_eq!(p.roles, vec![Role::Operator]);
    assert_eq!(p.tenant, tenant("acme"));

    // Right prefix, wrong secret.
    let wrong = format!("{}{}", &token[..13], "A".repeat(32));
    assert_eq!(
        auth.authenticate_at(&wrong, NOW).await,
        Err(AuthError::UnknownApiKey)
    );
    // Unknown prefix.
    let unknown = generate_api_key("k2", "x", &tenant("acme"), Role::Viewer).token;
    assert_eq!(
        auth.authenticate_at(&unknown, NOW).await,
        Err(AuthError::UnknownApiKey)
    );
    // Malformed.
    assert!(matches!(
        auth.authenticate_at("aoi_short_x", NOW).await,
        Err(AuthError::Malformed(_))
    ));
    // Revoked.
    keys.0
        .lock()
        .unwrap()
        .get_mut(&generated.record.prefix)
        .unwrap()
        .revoked = true;
    assert_eq!(
        auth.authenticate_at(&token, NOW).await,
        Err(AuthError::RevokedApiKey)
    );
}

#[tokio::test]
async fn login_issues_a_token_the_authenticator_accepts() {
    let auth = authenticator(Arc::new(Keys::default()));
    let request: LoginRequest = serde_json::from_value(
        serde_json::json!({"tenant": "acme", "username": "alice", "password": "s3cret-pass"}),
    )
    .unwrap();
    assert!(!format!("{request:?}").contains("s3cret"));
    let issued = auth.login_at(&request, NOW).await.unwrap();
    let p = auth
        .authenticate_at(&issued.access_token, NOW + 5)
        .await
        .unwrap();
    assert_eq!((p.id.as_str(), p.roles.clone()), ("u1", vec![Role::Admin]));

    for (t, u, pw) in [
        ("acme", "alice", "wrong"),
        ("acme", "bob", "s3cret-pass"),
        ("other", "alice", "s3cret-pass"),
        ("NOT A SLUG", "alice", "s3cret-pass"),
    ] {
        let r = LoginRequest {
            tenant: t.into(),
            username: u.into(),
            password: pw.into(),
        };
        assert_eq!(
            auth.login_at(&r, NOW).await,
            Err(AuthError::InvalidCredentials)
        );
    }
    assert!(
        serde_json::from_value::<LoginRequest>(serde_json::json!(
            {"tenant": "acme", "username": "a", "password": "p", "extra": 1}
        ))
        .is_err()
    );
}

#[test]
fn bearer_header_parsing() {
    assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
    assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
    assert_eq!(bearer_token(None), Err(AuthError::MissingToken));
    assert_eq!(
        bearer_token(Some("Basic abc")),
        Err(AuthError::MissingToken)
    );
    assert_eq!(bearer_token(Some("Bearer ")), Err(AuthError::MissingToken));
}

const RSA_PEM: &str = include_str!("keys/test_rsa.pem");
const EC_PEM: &str = include_str!("keys/test_ec.pem");
const IDP: &str = "https://idp.example.com";

fn oidc_claims(now: u64) -> serde_json::Value {
    serde_json::json!({
        "sub": "abc", "iss": IDP, "aud": "aoi", "iat": now, "exp": now + 300,
        "tenant": "acme", "roles": ["viewer"], "preferred_username": "carol"
    })
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    jwk
}

fn signed(
    alg: Algorithm,
    kid: Option<&str>,
    key: &EncodingKey,
    claims: &serde_json::Value,
) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

#[tokio::test]
async fn oidc_tokens_verify_against_the_jwks() {
    let rsa = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
    let ec = EncodingKey::from_ec_pem(EC_PEM.as_bytes()).unwrap();
    let set = JwkSet {
        keys: vec![
            jwk(&rsa, Algorithm::RS256, "rsa-1"),
            jwk(&ec, Algorithm::ES256, "ec-1"),
        ],
    };
    let jwks_json = serde_json::to_string(&set).unwrap();
    let verifier = JwksVerifier::from_json(&jwks_json, IDP, "aoi").unwrap();

    let rs = signed(Algorithm::RS256, Some("rsa-1"), &rsa, &oidc_claims(NOW));
    let p = verifier.verify_at(&rs, NOW).unwrap();
    assert_eq!(p.id, "oidc:abc");
    assert_eq!(p.display, "carol");
    assert_eq!(p.roles, vec![Role::Viewer]);
    let es = signed(Algorithm::ES256, Some("ec-1"), &ec, &oidc_claims(NOW));
    assert!(verifier.verify_at(&es, NOW).is_ok());

    // A key id the set does not have; a key of the wrong family for the alg.
    let unknown = signed(Algorithm::RS256, Some("rsa-9"), &rsa, &oidc_claims(NOW));
    assert_eq!(
        verifier.verify_at(&unknown, NOW),
        Err(AuthError::UnknownKeyId("rsa-9".into()))
    );
    let mismatched = signed(Algorithm::RS256, Some("ec-1"), &rsa, &oidc_claims(NOW));
    assert!(matches!(
        verifier.verify_at(&mismatched, NOW),
        Err(AuthError::AlgorithmNotAllowed(_))
    ));
    // HS256 (key confusion with the public key) is refused before anything else.
    let hs = signed(
        Algorithm::HS256,
        Some("rsa-1"),
        &EncodingKey::from_secret(b"public-key-bytes-used-as-a-secret"),
        &oidc_claims(NOW),
    );
    assert!(matches!(
        verifier.verify_at(&hs, NOW),
        Err(AuthError::AlgorithmNotAllowed(_))
    ));
    // Claims.
    let mut c = oidc_claims(NOW);
    c["aud"] = "other".into();
    assert_eq!(
        verifier.verify_at(&signed(Algorithm::RS256, Some("rsa-1"), &rsa, &c), NOW),
        Err(AuthError::WrongAudience)
    );
    let mut c = oidc_claims(NOW);
    c.as_object_mut().unwrap().remove("tenant");
    assert_eq!(
        verifier.verify_at(&signed(Algorithm::RS256, Some("rsa-1"), &rsa, &c), NOW),
        Err(AuthError::MissingClaim("tenant".into()))
    );
    assert_eq!(verifier.verify_at(&rs, NOW + 400), Err(AuthError::Expired));

    // The authenticator routes by issuer: OIDC tokens to the verifier, local ones to the codec.
    let auth = authenticator(Arc::new(Keys::default())).with_oidc(verifier);
    assert_eq!(auth.authenticate_at(&rs, NOW).await.unwrap().id, "oidc:abc");
    let local = auth
        .jwt()
        .issue_at("u1", "alice", &tenant("acme"), &[Role::Viewer], NOW)
        .unwrap();
    assert_eq!(
        auth.authenticate_at(&local.access_token, NOW)
            .await
            .unwrap()
            .id,
        "u1"
    );
}
