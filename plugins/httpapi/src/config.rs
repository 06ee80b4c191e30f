//! The typed config every HTTP API plugin reads once from an installation's values.

use aoi_plugin_package::{ConfigField, ConfigKind};
use aoi_plugin_sdk::{ConfigError, PluginConfig};
use reqwest::Url;
use std::fmt;
use std::time::Duration;

const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
const MAX_TIMEOUT_SECONDS: u64 = 600;

/// Where the server is and how to reach it. `Debug` never prints the token.
#[derive(Clone)]
pub struct Config {
    /// The server's root, always ending in `/` so API paths join under it.
    pub base_url: Url,
    pub bearer_token: Option<String>,
    pub timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &shown_url(&self.base_url))
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Config {
    /// Reads `base_url` (required), `bearer_token` and `timeout_seconds`; the error names the field.
    pub fn from_plugin(config: &PluginConfig) -> Result<Config, ConfigError> {
        let raw = config.url("base_url")?;
        let base_url = Url::parse(&format!("{raw}/"))
            .map_err(|e| ConfigError::new("base_url", format!("is not a valid URL: {e}")))?;
        let timeout_seconds = match config.0.get("timeout_seconds") {
            None | Some(serde_json::Value::Null) => DEFAULT_TIMEOUT_SECONDS,
            Some(value) => value
                .as_u64()
                .filter(|s| (1..=MAX_TIMEOUT_SECONDS).contains(s))
                .ok_or_else(|| {
                    ConfigError::new(
                        "timeout_seconds",
                        format!("must be an integer from 1 to {MAX_TIMEOUT_SECONDS}, got {value}"),
                    )
                })?,
        };
        Ok(Config {
            base_url,
            bearer_token: config.str("bearer_token").map(str::to_string),
            timeout: Duration::from_secs(timeout_seconds),
        })
    }

    /// The config schema a manifest declares for `system` (e.g. `Prometheus`, whose root is
    /// like `example_url`); the token is a secret.
    pub fn schema(system: &str, example_url: &str) -> Vec<ConfigField> {
        vec![
            ConfigField {
                name: "base_url".into(),
                description: format!("{system} root URL, e.g. {example_url}"),
                kind: ConfigKind::Url,
                required: true,
                secret: false,
            },
            ConfigField {
                name: "bearer_token".into(),
                description: format!("Bearer token sent to {system} (optional)"),
                kind: ConfigKind::String,
                required: false,
                secret: true,
            },
            ConfigField {
                name: "timeout_seconds".into(),
                description: format!(
                    "Per-request timeout in seconds (default {DEFAULT_TIMEOUT_SECONDS}, at most {MAX_TIMEOUT_SECONDS})"
                ),
                kind: ConfigKind::Integer,
                required: false,
                secret: false,
            },
        ]
    }
}

/// The URL without user name or password, as outputs and errors may show it.
pub(crate) fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have credentials, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.as_str().trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(values: serde_json::Value) -> PluginConfig {
        PluginConfig::new(values.as_object().cloned().unwrap())
    }

    #[test]
    fn values_are_read_checked_and_the_token_never_debug_printed() {
        let parsed = Config::from_plugin(&config(
            json!({"base_url": "http://user:pw@p:9090/prom/", "bearer_token": "s3cret"}),
        ))
        .unwrap();
        assert_eq!(parsed.base_url.as_str(), "http://user:pw@p:9090/prom/");
        assert_eq!(parsed.timeout, Duration::from_secs(DEFAULT_TIMEOUT_SECONDS));
        let debug = format!("{parsed:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("pw"),
            "{debug}"
        );
        assert!(debug.contains("<redacted>") && debug.contains("http://p:9090/prom"));

        let err = Config::from_plugin(&config(
            json!({"base_url": "http://p", "timeout_seconds": 601}),
        ))
        .unwrap_err();
        assert_eq!(err.field, "timeout_seconds");
        assert!(err.message.contains("1 to 600, got 601"), "{}", err.message);
        let err = Config::from_plugin(&config(json!({}))).unwrap_err();
        assert_eq!(err.field, "base_url");
    }

    #[test]
    fn the_schema_names_the_system_and_marks_the_token_secret() {
        let schema = Config::schema("Loki", "http://loki:3100");
        assert_eq!(
            schema[0].description,
            "Loki root URL, e.g. http://loki:3100"
        );
        let secrets: Vec<&str> = schema
            .iter()
            .filter(|f| f.secret)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(secrets, ["bearer_token"]);
    }
}
