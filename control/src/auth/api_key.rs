//! API keys for machines: `aoi_<prefix8>_<secret32>`, stored as the prefix plus the SHA-256 of
//! the secret, scoped to one tenant and one role, revocable, shown once.

use async_trait::async_trait;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AuthError;
use crate::principal::{Principal, PrincipalKind, Role, TenantSlug};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PREFIX_LEN: usize = 8;
const SECRET_LEN: usize = 32;

/// What the store keeps for an API key (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The key's id.
    pub id: String,
    /// The 8-character public prefix (unique; the lookup key).
    pub prefix: String,
    /// SHA-256 of the secret part.
    pub secret_sha256: [u8; 32],
    /// The tenant the key acts in.
    pub tenant: TenantSlug,
    /// The role it carries there.
    pub role: Role,
    /// A name for people ("ci-deployer").
    pub name: String,
    /// Whether it has been revoked.
    pub revoked: bool,
}

/// A new key: the token to show once, and the record to store. `Debug` hides the token.
#[derive(Clone)]
pub struct GeneratedApiKey {
    /// The full token, `aoi_<prefix>_<secret>`. Show it once; it is not stored.
    pub token: String,
    /// What to store.
    pub record: ApiKeyRecord,
}

impl std::fmt::Debug for GeneratedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedApiKey")
            .field("token", &"<shown once>")
            .field("record", &self.record)
            .finish()
    }
}

/// A port failure (the store crate maps its errors into this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PortError(pub String);

/// Finds API keys by prefix. The store crate implements it.
#[async_trait]
pub trait ApiKeyLookup: Send + Sync {
    /// The key with this prefix, revoked or not.
    async fn find_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRecord>, PortError>;
}

fn random_text(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let i = rng.random_range(0..ALPHABET.len());
            char::from(ALPHABET.get(i).copied().unwrap_or(b'0'))
        })
        .collect()
}

/// SHA-256 of an API key's secret part.
pub fn hash_api_key_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Makes a new key with id `id` for `tenant` and `role`.
pub fn generate_api_key(id: &str, name: &str, tenant: &TenantSlug, role: Role) -> GeneratedApiKey {
    let prefix = random_text(PREFIX_LEN);
    let secret = random_text(SECRET_LEN);
    GeneratedApiKey {
        token: format!("aoi_{prefix}_{secret}"),
        record: ApiKeyRecord {
            id: id.to_string(),
            secret_sha256: hash_api_key_secret(&secret),
            prefix,
            tenant: tenant.clone(),
            role,
            name: name.to_string(),
            revoked: false,
        },
    }
}

/// Splits `aoi_<prefix8>_<secret32>` into prefix and secret.
pub fn parse_api_key(token: &str) -> Result<(&str, &str), AuthError> {
    let malformed =
        || AuthError::Malformed("an API key is aoi_<8 characters>_<32 characters>".into());
    let rest = token.strip_prefix("aoi_").ok_or_else(malformed)?;
    let (prefix, secret) = rest.split_once('_').ok_or_else(malformed)?;
    let valid =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if !valid(prefix, PREFIX_LEN) || !valid(secret, SECRET_LEN) {
        return Err(malformed());
    }
    Ok((prefix, secret))
}

/// Verifies an API key through the lookup port; constant-time hash comparison, revoked keys
/// refused.
pub(crate) async fn verify_api_key(
    lookup: &dyn ApiKeyLookup,
    token: &str,
) -> Result<Principal, AuthError> {
    let (prefix, secret) = parse_api_key(token)?;
    let presented = hash_api_key_secret(secret);
    let record = lookup
        .find_by_prefix(prefix)
        .await
        .map_err(|e| AuthError::Store(e.0))?;
    let Some(record) = record else {
        return Err(AuthError::UnknownApiKey);
    };
    if !bool::from(presented.ct_eq(&record.secret_sha256)) {
        return Err(AuthError::UnknownApiKey);
    }
    if record.revoked {
        return Err(AuthError::RevokedApiKey);
    }
    Ok(Principal {
        kind: PrincipalKind::ApiKey,
        id: record.id,
        tenant: record.tenant,
        roles: vec![record.role],
        display: record.name,
    })
}
