//! Signing a package and verifying it against trusted publisher keys.

use crate::{Package, PackageError, PluginManifest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The first line of the signed bytes; bumps when the canonical form changes.
pub const SIGNING_DOMAIN: &str = "aoi-plugin-v1";

/// A package's signature (`signature.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub publisher: String,
    pub key_id: String,
    /// Lowercase hex sha256 of the canonical manifest bytes.
    pub manifest_sha256: String,
    /// Lowercase hex sha256 of the payload.
    pub payload_sha256: String,
    /// Base64 ed25519 signature over [`canonical_signed_bytes`].
    pub signature: String,
}

/// A package whose signature verified with a trusted key and whose manifest is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedPackage {
    pub manifest: PluginManifest,
    pub payload: Vec<u8>,
    pub publisher: String,
    pub key_id: String,
    pub payload_sha256: String,
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bytes that are signed: `aoi-plugin-v1\n<manifest sha256 hex>\n<payload sha256 hex>\n`.
pub fn canonical_signed_bytes(manifest_sha256: &str, payload_sha256: &str) -> Vec<u8> {
    format!("{SIGNING_DOMAIN}\n{manifest_sha256}\n{payload_sha256}\n").into_bytes()
}

/// A fresh random ed25519 signing key.
pub fn generate_signing_key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

/// Signs manifest JSON (any formatting; it is canonicalised) and payload with `key`, recording
/// the manifest's publisher and `key_id`. Refuses an invalid manifest.
pub fn sign(
    manifest_json: &[u8],
    payload: &[u8],
    key: &SigningKey,
    key_id: &str,
) -> Result<Signature, PackageError> {
    let package = Package::new(manifest_json, Vec::new())?;
    let manifest = PluginManifest::from_json(package.manifest_bytes())?;
    if key_id.trim().is_empty() {
        return Err(PackageError::malformed("key_id", "must not be empty"));
    }
    let manifest_sha256 = sha256_hex(package.manifest_bytes());
    let payload_sha256 = sha256_hex(payload);
    let sig = key.sign(&canonical_signed_bytes(&manifest_sha256, &payload_sha256));
    Ok(Signature {
        publisher: manifest.publisher,
        key_id: key_id.to_string(),
        manifest_sha256,
        payload_sha256,
        signature: B64.encode(sig.to_bytes()),
    })
}

/// Trusted publisher keys, from config `plugins.trusted_publishers`:
/// `{ "<publisher>": [{ "key_id": "...", "public_key": "<base64 ed25519>" }] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "BTreeMap<String, Vec<TrustedKeyConfig>>")]
pub struct TrustedKeys {
    keys: BTreeMap<String, Vec<(String, VerifyingKey)>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustedKeyConfig {
    key_id: String,
    public_key: String,
}

impl TryFrom<BTreeMap<String, Vec<TrustedKeyConfig>>> for TrustedKeys {
    type Error = PackageError;

    fn try_from(map: BTreeMap<String, Vec<TrustedKeyConfig>>) -> Result<Self, PackageError> {
        let mut keys = TrustedKeys::default();
        for (publisher, entries) in map {
            for entry in entries {
                keys.add(&publisher, &entry.key_id, &entry.public_key)?;
            }
        }
        Ok(keys)
    }
}

impl TrustedKeys {
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `public_key` (base64 of the 32-byte ed25519 key) as `publisher`'s key `key_id`.
    pub fn add(
        &mut self,
        publisher: &str,
        key_id: &str,
        public_key: &str,
    ) -> Result<(), PackageError> {
        let invalid = |message: String| PackageError::InvalidTrustedKey {
            publisher: publisher.to_string(),
            key_id: key_id.to_string(),
            message,
        };
        let bytes = B64
            .decode(public_key.trim())
            .map_err(|e| invalid(format!("public_key is not base64: {e}")))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            invalid(format!(
                "public_key is {} bytes; an ed25519 public key is 32",
                b.len()
            ))
        })?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|e| invalid(format!("public_key is not an ed25519 point: {e}")))?;
        let entries = self.keys.entry(publisher.to_string()).or_default();
        entries.retain(|(id, _)| id != key_id);
        entries.push((key_id.to_string(), key));
        Ok(())
    }

    fn key(&self, publisher: &str, key_id: &str) -> Result<&VerifyingKey, PackageError> {
        let entries = self
            .keys
            .get(publisher)
            .ok_or_else(|| PackageError::UntrustedPublisher {
                publisher: publisher.to_string(),
            })?;
        entries
            .iter()
            .find(|(id, _)| id == key_id)
            .map(|(_, key)| key)
            .ok_or_else(|| PackageError::UnknownKey {
                publisher: publisher.to_string(),
                key_id: key_id.to_string(),
                known: entries
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Checks, in order: signed at all, hashes match, manifest parses, publisher matches, publisher
/// and key trusted, signature verifies, manifest valid.
pub fn verify(package: &Package, trusted: &TrustedKeys) -> Result<VerifiedPackage, PackageError> {
    let sig = package.signature.as_ref().ok_or(PackageError::Unsigned)?;
    let manifest_sha256 = sha256_hex(package.manifest_bytes());
    if manifest_sha256 != sig.manifest_sha256 {
        return Err(PackageError::Tampered {
            what: "manifest",
            signed: sig.manifest_sha256.clone(),
            found: manifest_sha256,
        });
    }
    let payload_sha256 = sha256_hex(&package.payload);
    if payload_sha256 != sig.payload_sha256 {
        return Err(PackageError::Tampered {
            what: "payload",
            signed: sig.payload_sha256.clone(),
            found: payload_sha256,
        });
    }
    let manifest: PluginManifest =
        serde_json::from_slice(package.manifest_bytes()).map_err(|e| {
            PackageError::InvalidManifest {
                field: "manifest".into(),
                message: e.to_string(),
            }
        })?;
    if manifest.publisher != sig.publisher {
        return Err(PackageError::PublisherMismatch {
            manifest: manifest.publisher,
            signature: sig.publisher.clone(),
        });
    }
    let key = trusted.key(&sig.publisher, &sig.key_id)?;
    let bytes = B64
        .decode(&sig.signature)
        .map_err(|e| PackageError::malformed("signature.signature", format!("not base64: {e}")))?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|b: Vec<u8>| {
        PackageError::malformed(
            "signature.signature",
            format!("{} bytes; an ed25519 signature is 64", b.len()),
        )
    })?;
    let signature = ed25519_dalek::Signature::from_bytes(&bytes);
    key.verify_strict(
        &canonical_signed_bytes(&manifest_sha256, &payload_sha256),
        &signature,
    )
    .map_err(|_| PackageError::BadSignature {
        publisher: sig.publisher.clone(),
        key_id: sig.key_id.clone(),
    })?;
    manifest.validate()?;
    Ok(VerifiedPackage {
        manifest,
        payload: package.payload.clone(),
        publisher: sig.publisher.clone(),
        key_id: sig.key_id.clone(),
        payload_sha256,
    })
}
