//! `[plugins]`: which publishers' packages are trusted, where the key that encrypts plugin
//! secrets lives, and the WASM sandbox's limits.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One trusted key of a publisher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeyEntry {
    pub key_id: String,
    /// Base64 of the 32-byte ed25519 public key.
    pub public_key: String,
}

/// `[plugins]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Publisher slug → its keys.
    pub trusted_publishers: BTreeMap<String, Vec<TrustedKeyEntry>>,
    /// Where the secrets key lives; `None` means `<data_dir>/plugins.key`.
    pub secret_key_file: Option<PathBuf>,
    pub wasm_fuel: u64,
    pub wasm_timeout_ms: u64,
    pub wasm_memory_mb: u64,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            trusted_publishers: BTreeMap::new(),
            secret_key_file: None,
            wasm_fuel: 200_000_000,
            wasm_timeout_ms: 5_000,
            wasm_memory_mb: 64,
        }
    }
}

impl PluginsConfig {
    /// The trusted keys, each checked to be an ed25519 public key.
    pub fn trusted_keys(
        &self,
    ) -> Result<aoi_plugin_package::TrustedKeys, aoi_plugin_package::PackageError> {
        let mut keys = aoi_plugin_package::TrustedKeys::new();
        for (publisher, entries) in &self.trusted_publishers {
            for entry in entries {
                keys.add(publisher, &entry.key_id, &entry.public_key)?;
            }
        }
        Ok(keys)
    }
}
