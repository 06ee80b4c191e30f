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
}

#[cfg(test)]
mod tests {
    use super::*;

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
