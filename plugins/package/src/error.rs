//! Why a package is refused.

use thiserror::Error;

/// The config key under which a platform admin lists trusted publisher keys.
pub const TRUSTED_PUBLISHERS_KEY: &str = "plugins.trusted_publishers";

/// Why a package cannot be parsed or is not trusted. Each variant is a distinct refusal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackageError {
    /// The package document is not well formed; `field` names where.
    #[error("malformed package: {field}: {message}")]
    Malformed { field: String, message: String },
    /// The package carries no signature.
    #[error(
        "package is unsigned: sign it with `aoi-plugin-sign sign` using a key of a trusted publisher"
    )]
    Unsigned,
    /// The manifest or the payload does not match the hash that was signed.
    #[error(
        "package is tampered: the {what} does not match the signed sha256 (signed {signed}, found {found}); obtain the package again from its publisher"
    )]
    Tampered {
        what: &'static str,
        signed: String,
        found: String,
    },
    /// The hashes match but the ed25519 signature does not verify with the trusted key.
    #[error(
        "bad signature: the signature of publisher `{publisher}` with key `{key_id}` does not verify; the package or its signature was altered"
    )]
    BadSignature { publisher: String, key_id: String },
    /// The publisher has no key configured.
    #[error(
        "untrusted publisher `{publisher}`: no key is configured; a platform admin adds its public key under `{TRUSTED_PUBLISHERS_KEY}.{publisher}`"
    )]
    UntrustedPublisher { publisher: String },
    /// The signature names a different publisher than the manifest.
    #[error(
        "publisher mismatch: the manifest says `{manifest}` but the signature says `{signature}`; the package must be signed by its own publisher"
    )]
    PublisherMismatch { manifest: String, signature: String },
    /// The publisher is trusted but not with this key.
    #[error(
        "unknown key `{key_id}` for publisher `{publisher}`: configured keys are [{known}]; a platform admin adds this key under `{TRUSTED_PUBLISHERS_KEY}.{publisher}` if the publisher vouches for it"
    )]
    UnknownKey {
        publisher: String,
        key_id: String,
        known: String,
    },
    /// A configured trusted key is not a valid ed25519 public key.
    #[error(
        "invalid trusted key `{key_id}` of publisher `{publisher}` in `{TRUSTED_PUBLISHERS_KEY}`: {message}"
    )]
    InvalidTrustedKey {
        publisher: String,
        key_id: String,
        message: String,
    },
    /// The manifest is signed but not valid; `field` names where, e.g. `tools[1].name`.
    #[error("invalid manifest: {field}: {message}")]
    InvalidManifest { field: String, message: String },
}

impl PackageError {
    pub(crate) fn malformed(field: impl Into<String>, message: impl Into<String>) -> Self {
        PackageError::Malformed {
            field: field.into(),
            message: message.into(),
        }
    }
}
