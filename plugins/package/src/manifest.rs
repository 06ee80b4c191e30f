//! The plugin manifest and its validation.

use crate::PackageError;
use aoi_plugin_sdk::ToolManifest;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use thiserror::Error;

/// How a plugin is implemented; says what the payload holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    /// Compiled into the server; the payload is empty.
    Builtin,
    /// A WASM module; the payload is the module bytes.
    Wasm,
    /// Declarative HTTP; the payload is the request template JSON.
    Http,
    /// An MCP server; the payload is its launch spec.
    Mcp,
}

/// The type of a config value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    String,
    Integer,
    Boolean,
    Url,
}

/// One entry of a plugin's config schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigField {
    pub name: String,
    pub description: String,
    pub kind: ConfigKind,
    #[serde(default)]
    pub required: bool,
    /// A secret (token, password) is stored encrypted and never shown back.
    #[serde(default)]
    pub secret: bool,
}

/// What a plugin package declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginManifest {
    /// A slug: lowercase letters, digits and `-`, starting with a letter.
    pub name: String,
    /// `x.y.z`, three decimal numbers.
    pub version: String,
    /// A slug; the key under which its public keys are trusted.
    pub publisher: String,
    pub description: String,
    pub kind: PluginKind,
    #[serde(default)]
    pub config_schema: Vec<ConfigField>,
    pub tools: Vec<ToolManifest>,
}

/// What is wrong with a manifest, naming the field, e.g. `tools[1].name`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ManifestError {
    pub field: String,
    pub message: String,
}

impl From<ManifestError> for PackageError {
    fn from(e: ManifestError) -> Self {
        PackageError::InvalidManifest {
            field: e.field,
            message: e.message,
        }
    }
}

fn err(field: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError {
        field: field.into(),
        message: message.into(),
    }
}

const MAX_NAME: usize = 64;

fn is_slug(s: &str) -> bool {
    s.len() <= MAX_NAME
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_snake(s: &str) -> bool {
    s.len() <= MAX_NAME
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 9
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

fn non_empty(field: String, value: &str) -> Result<(), ManifestError> {
    if value.trim().is_empty() {
        return Err(err(field, "must not be empty"));
    }
    Ok(())
}

impl PluginManifest {
    /// Parses manifest JSON (unknown fields refused) and validates it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: PluginManifest =
            serde_json::from_slice(bytes).map_err(|e| err("manifest", e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks names, version and tools; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if !is_slug(&self.name) {
            return Err(err(
                "name",
                format!(
                    "`{}` is not a slug: use lowercase letters, digits and `-`, starting with a letter, at most {MAX_NAME} characters",
                    self.name
                ),
            ));
        }
        if !is_version(&self.version) {
            return Err(err(
                "version",
                format!(
                    "`{}` is not a version: use x.y.z with decimal numbers, e.g. 1.0.0",
                    self.version
                ),
            ));
        }
        if !is_slug(&self.publisher) {
            return Err(err(
                "publisher",
                format!(
                    "`{}` is not a slug: use lowercase letters, digits and `-`, starting with a letter",
                    self.publisher
                ),
            ));
        }
        non_empty("description".into(), &self.description)?;
        let mut seen = HashSet::new();
        for (i, field) in self.config_schema.iter().enumerate() {
            let at = format!("config_schema[{i}]");
            if !is_snake(&field.name) {
                return Err(err(
                    format!("{at}.name"),
                    format!("`{}` is not snake_case", field.name),
                ));
            }
            if !seen.insert(field.name.as_str()) {
                return Err(err(
                    format!("{at}.name"),
                    format!("`{}` is declared twice", field.name),
                ));
            }
            non_empty(format!("{at}.description"), &field.description)?;
        }
        if self.tools.is_empty() {
            return Err(err("tools", "a plugin declares at least one tool"));
        }
        let mut seen = HashSet::new();
        for (i, tool) in self.tools.iter().enumerate() {
            let at = format!("tools[{i}]");
            if !is_snake(&tool.name) {
                return Err(err(
                    format!("{at}.name"),
                    format!("`{}` is not snake_case", tool.name),
                ));
            }
            if !seen.insert(tool.name.as_str()) {
                return Err(err(
                    format!("{at}.name"),
                    format!("tool `{}` is declared twice", tool.name),
                ));
            }
            non_empty(format!("{at}.description"), &tool.description)?;
            non_empty(format!("{at}.resource"), &tool.resource)?;
            if !tool.args_schema.is_object() {
                return Err(err(
                    format!("{at}.args_schema"),
                    "must be a JSON Schema object, e.g. {\"type\": \"object\", \"properties\": {}}",
                ));
            }
        }
        Ok(())
    }

    /// Checks an installation's config against the schema: every key declared, each value of
    /// its kind, required ones present. The error names `config.<key>` and never shows a value.
    pub fn check_config(
        &self,
        config: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), ManifestError> {
        use serde_json::Value;
        for (key, value) in config {
            let Some(field) = self.config_schema.iter().find(|f| &f.name == key) else {
                let known: Vec<&str> = self.config_schema.iter().map(|f| f.name.as_str()).collect();
                return Err(err(
                    format!("config.{key}"),
                    format!(
                        "plugin {} has no config key `{key}`; its keys are [{}]",
                        self.name,
                        known.join(", ")
                    ),
                ));
            };
            let ok = match field.kind {
                ConfigKind::String => value.is_string(),
                ConfigKind::Integer => value.is_u64() || value.is_i64(),
                ConfigKind::Boolean => value.is_boolean(),
                ConfigKind::Url => value.as_str().is_some_and(|u| {
                    (u.starts_with("http://") || u.starts_with("https://")) && u.len() > 8
                }),
            };
            if !ok {
                let expected = match field.kind {
                    ConfigKind::String => "a string",
                    ConfigKind::Integer => "an integer",
                    ConfigKind::Boolean => "true or false",
                    ConfigKind::Url => "an http:// or https:// URL",
                };
                return Err(err(format!("config.{key}"), format!("must be {expected}")));
            }
            if field.required && matches!(value, Value::String(s) if s.trim().is_empty()) {
                return Err(err(format!("config.{key}"), "is required and must not be empty"));
            }
        }
        for field in &self.config_schema {
            if field.required && !config.contains_key(&field.name) {
                return Err(err(
                    format!("config.{}", field.name),
                    format!("is required: {}", field.description),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked_against_the_schema_without_showing_values() {
        let manifest = PluginManifest {
            name: "p".into(),
            version: "1.0.0".into(),
            publisher: "acme".into(),
            description: "d".into(),
            kind: PluginKind::Http,
            config_schema: vec![
                ConfigField {
                    name: "base_url".into(),
                    description: "API base".into(),
                    kind: ConfigKind::Url,
                    required: true,
                    secret: false,
                },
                ConfigField {
                    name: "token".into(),
                    description: "token".into(),
                    kind: ConfigKind::String,
                    required: false,
                    secret: true,
                },
            ],
            tools: vec![],
        };
        let config = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert!(manifest
            .check_config(&config(serde_json::json!({"base_url": "http://x:1", "token": "s3cret"})))
            .is_ok());
        let missing = manifest.check_config(&config(serde_json::json!({}))).unwrap_err();
        assert_eq!(missing.field, "config.base_url");
        let unknown = manifest
            .check_config(&config(serde_json::json!({"base_url": "http://x:1", "tokn": "s3cret"})))
            .unwrap_err();
        assert!(unknown.message.contains("[base_url, token]"), "{unknown}");
        assert!(!unknown.to_string().contains("s3cret"));
        let typed = manifest
            .check_config(&config(serde_json::json!({"base_url": "ftp://x", "token": 3})))
            .unwrap_err();
        assert_eq!(typed.field, "config.base_url");
        assert!(!typed.to_string().contains("ftp://x"));
    }

    #[test]
    fn slugs_versions_and_snake_names() {
        assert!(is_slug("k8s-tools"));
        assert!(!is_slug("K8s"));
        assert!(!is_slug("-a"));
        assert!(!is_slug("a-"));
        assert!(!is_slug(""));
        assert!(is_version("0.1.0"));
        assert!(is_version("10.20.30"));
        assert!(!is_version("1.0"));
        assert!(!is_version("01.0.0"));
        assert!(!is_version("1.0.0-rc1"));
        assert!(is_snake("get_pods"));
        assert!(!is_snake("get-pods"));
    }
}
