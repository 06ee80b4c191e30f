//! Shared fixtures for the package tests.

#![allow(dead_code, clippy::unwrap_used)]

use aoi_plugin_package::{Package, TrustedKeys, generate_signing_key, sign};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

pub fn manifest() -> Value {
    json!({
        "name": "k8s-logs",
        "version": "1.2.0",
        "publisher": "acme",
        "description": "Reads pod logs",
        "kind": "http",
        "config_schema": [
            {"name": "base_url", "description": "API base", "kind": "url", "required": true},
            {"name": "token", "description": "API token", "kind": "string", "required": true, "secret": true}
        ],
        "tools": [{
            "name": "get_logs",
            "description": "Logs of one pod",
            "args_schema": {"type": "object", "properties": {"pod": {"type": "string"}}, "required": ["pod"]},
            "access": "read",
            "resource": "logs"
        }]
    })
}

pub const PAYLOAD: &[u8] = br#"{"method": "GET", "url": "{{base_url}}/logs/{{pod}}"}"#;

pub fn public_b64(key: &SigningKey) -> String {
    B64.encode(key.verifying_key().to_bytes())
}

/// A package of `manifest` signed by `key` as `key_id`.
pub fn signed(manifest: &Value, key: &SigningKey, key_id: &str) -> Package {
    let text = serde_json::to_vec_pretty(manifest).unwrap();
    let mut package = Package::new(&text, PAYLOAD.to_vec()).unwrap();
    package.signature = Some(sign(&text, PAYLOAD, key, key_id).unwrap());
    package
}

/// A key and a trust store holding it as acme's `acme-2026`.
pub fn acme() -> (SigningKey, TrustedKeys) {
    let key = generate_signing_key();
    let mut trusted = TrustedKeys::new();
    trusted.add("acme", "acme-2026", &public_b64(&key)).unwrap();
    (key, trusted)
}
