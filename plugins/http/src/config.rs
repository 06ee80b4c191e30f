//! An installation's config for an HTTP plugin, checked once when the toolset is built.

use aoi_plugin_package::PluginManifest;
use aoi_plugin_sdk::{ConfigError, PluginConfig};
use serde_json::{Map, Value};
use std::time::Duration;

/// Used when the config has no `timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// The typed config. `Debug` prints no values: some are secrets.
pub(crate) struct HttpConfig {
    /// `base_url` without a trailing `/`.
    pub(crate) base_url: String,
    pub(crate) timeout: Duration,
    /// All values, for `{config.key}` placeholders.
    pub(crate) values: Map<String, Value>,
    /// The values of secret fields, removed from anything shown.
    pub(crate) secrets: Vec<String>,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl HttpConfig {
    pub(crate) fn new(
        manifest: &PluginManifest,
        config: &PluginConfig,
    ) -> Result<HttpConfig, ConfigError> {
        let base_url = config.url("base_url")?;
        for field in manifest.config_schema.iter().filter(|f| f.required) {
            match config.0.get(&field.name) {
                None | Some(Value::Null) => {
                    return Err(ConfigError::new(&field.name, "is required"));
                }
                Some(Value::String(s)) if s.is_empty() => {
                    return Err(ConfigError::new(&field.name, "is required"));
                }
                Some(_) => {}
            }
        }
        let timeout = match config.0.get("timeout_seconds") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT_SECONDS,
            Some(_) => match config.u64("timeout_seconds") {
                Some(n) if (1..=3600).contains(&n) => n,
                _ => {
                    return Err(ConfigError::new(
                        "timeout_seconds",
                        "must be a whole number of seconds from 1 to 3600",
                    ));
                }
            },
        };
        let secrets = manifest
            .config_schema
            .iter()
            .filter(|f| f.secret)
            .filter_map(|f| config.0.get(&f.name))
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .filter(|s| !s.is_empty())
            .collect();
        Ok(HttpConfig {
            base_url,
            timeout: Duration::from_secs(timeout),
            values: config.0.clone(),
            secrets,
        })
    }

    /// `text` with every secret value replaced by `[redacted]`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }
}
