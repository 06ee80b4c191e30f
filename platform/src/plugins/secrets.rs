//! Plugin config secrets at rest: XChaCha20-Poly1305 under a key derived from the secrets key
//! file (`plugins.secret_key_file`, generated on first run), with the tenant and plugin name as
//! associated data so a ciphertext copied to another row does not decrypt.

use aoi_control::auth::SigningKey;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The format tag of a stored ciphertext.
const VERSION: &str = "v1";

/// Encrypts and decrypts the secret values of installations.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// Loads the key file, or creates it (mode 0600) with a new random key.
    pub fn load_or_generate(path: &Path) -> Result<SecretBox, String> {
        let key = SigningKey::load_or_generate_file(path)
            .map_err(|e| format!("plugins.secret_key_file: {e}"))?;
        Ok(SecretBox::from_key_material(key.bytes()))
    }

    pub fn from_key_material(material: &[u8]) -> SecretBox {
        let mut hasher = Sha256::new();
        hasher.update(b"aoi-plugin-secrets-v1\n");
        hasher.update(material);
        let key = hasher.finalize();
        SecretBox {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    fn aad(tenant: &str, plugin: &str) -> Vec<u8> {
        format!("{VERSION}\n{tenant}\n{plugin}\n").into_bytes()
    }

    /// `v1:<base64 nonce||ciphertext>`, or `""` when there are no secrets.
    pub fn seal(&self, tenant: &str, plugin: &str, secrets: &Map<String, Value>) -> Result<String, String> {
        if secrets.is_empty() {
            return Ok(String::new());
        }
        let plain = serde_json::to_vec(secrets).map_err(|e| e.to_string())?;
        let nonce_bytes: [u8; 24] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let aad = Self::aad(tenant, plugin);
        let sealed = self
            .cipher
            .encrypt(&nonce, Payload { msg: &plain, aad: &aad })
            .map_err(|_| "encrypting plugin secrets failed".to_string())?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{VERSION}:{}", B64.encode(out)))
    }

    /// The secret values sealed by [`SecretBox::seal`] for the same tenant and plugin.
    pub fn open(&self, tenant: &str, plugin: &str, stored: &str) -> Result<Map<String, Value>, String> {
        if stored.is_empty() {
            return Ok(Map::new());
        }
        let Some(body) = stored.strip_prefix("v1:") else {
            return Err("stored plugin secrets have an unknown format".into());
        };
        let raw = B64
            .decode(body)
            .map_err(|_| "stored plugin secrets are not base64".to_string())?;
        if raw.len() < 24 {
            return Err("stored plugin secrets are truncated".into());
        }
        let (nonce, sealed) = raw.split_at(24);
        let nonce: [u8; 24] = nonce
            .try_into()
            .map_err(|_| "stored plugin secrets are truncated".to_string())?;
        let nonce = XNonce::from(nonce);
        let aad = Self::aad(tenant, plugin);
        let plain = self
            .cipher
            .decrypt(&nonce, Payload { msg: sealed, aad: &aad })
            .map_err(|_| {
                "stored plugin secrets do not decrypt: the secrets key (plugins.secret_key_file) changed or the row was altered; configure the plugin's secrets again".to_string()
            })?;
        serde_json::from_slice(&plain).map_err(|e| format!("stored plugin secrets: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sealed_secrets_open_only_for_their_row_and_key() {
        let sb = SecretBox::from_key_material(b"0123456789abcdef0123456789abcdef");
        let secrets = json!({"token": "tok-SECRET-1"}).as_object().unwrap().clone();
        let sealed = sb.seal("t1", "prometheus", &secrets).unwrap();
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("tok-SECRET-1"));
        assert_eq!(sb.open("t1", "prometheus", &sealed).unwrap(), secrets);
        assert!(sb.open("t2", "prometheus", &sealed).is_err());
        assert!(sb.open("t1", "loki", &sealed).is_err());
        let other = SecretBox::from_key_material(b"another key another key another k");
        assert!(other.open("t1", "prometheus", &sealed).unwrap_err().contains("secret_key_file"));
        assert_eq!(sb.seal("t1", "p", &Map::new()).unwrap(), "");
        assert!(sb.open("t1", "p", "").unwrap().is_empty());
    }
}
