//! aoi-plugin-package: what a plugin package is and whether to trust it.
//!
//! A package is a [`PluginManifest`] (name, version, publisher, kind, config schema, tools), a
//! payload (the WASM module, the HTTP template, the MCP launch spec; empty for built-ins) and a
//! [`Signature`]: ed25519 over [`canonical_signed_bytes`], which binds the manifest's and the
//! payload's SHA-256. [`verify`] refuses an unsigned, tampered or untrusted package with a
//! [`PackageError`] that says which and what to do. Loading or running a plugin is not here.
//!
//! Depends on aoi-plugin-sdk (tool manifests) only among project crates; it must not depend on
//! sea-orm, axum, tonic or wasmtime. The `aoi-plugin-sign` binary wraps keygen, sign and verify.
//! The format is described in docs/plugins.md.

mod error;
mod manifest;
mod package;
mod signing;

pub use error::{PackageError, TRUSTED_PUBLISHERS_KEY};
pub use manifest::{ConfigField, ConfigKind, ManifestError, PluginKind, PluginManifest};
pub use package::Package;
pub use signing::{
    SIGNING_DOMAIN, Signature, TrustedKeys, VerifiedPackage, canonical_signed_bytes,
    generate_signing_key, sha256_hex, sign, verify,
};
