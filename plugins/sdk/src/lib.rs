//! aoi-plugin-sdk: what a plugin declares and implements.
//!
//! A plugin exposes a [`Toolset`]: a list of [`ToolManifest`]s and a `call` method. The manifest's
//! `access` is the promise the agent runtime enforces: a Probe can only reach tools whose manifest
//! says `read`. A tool whose access depends on its argument (a shell) declares `write` and names a
//! [`Classifier`]; the runtime may then treat one call as a read only when the classifier proves
//! it is one (fail closed). Depends on aoi-core only.

use aoi_core::{Access, ToolCall, ToolDoc, ToolOutput};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How the runtime may classify single calls of a tool declared `write`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Classifier {
    /// The string argument `arg` is a shell command; kubectl read verbs make it a read.
    KubectlShell { arg: String },
}

/// A tool's declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolManifest {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub args_schema: Value,
    /// `read` tools never change state; anything else is `write`.
    pub access: Access,
    /// Per-call classification for `write` tools whose calls may be reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<Classifier>,
    /// The kind of resource a call touches, e.g. `kubernetes`, `logs`, `metrics`.
    pub resource: String,
}

impl ToolManifest {
    pub fn doc(&self) -> ToolDoc {
        ToolDoc {
            name: self.name.clone(),
            description: self.description.clone(),
            access: self.access,
        }
    }
}

/// Who a call is made for. The gate fills it in for writes: `approved_by` is the person who
/// approved the write (a plugin that can impersonate, like kubernetes, acts as them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallContext {
    pub session_id: Option<String>,
    /// The identity the call runs as (the agent, or the approver of a write).
    pub actor: Option<String>,
    /// Set when a person approved this write.
    pub approved_by: Option<String>,
}

/// A set of tools a plugin serves. Implementations are shared between roles, so `call` takes
/// `&self`; the runtime decides which calls reach it.
#[async_trait]
pub trait Toolset: Send + Sync {
    fn manifests(&self) -> Vec<ToolManifest>;
    async fn call(&self, call: &ToolCall) -> ToolOutput;
    /// A call with its context; plugins that act for a person override this.
    async fn call_with(&self, call: &ToolCall, _ctx: &CallContext) -> ToolOutput {
        self.call(call).await
    }
}

/// Tool outputs longer than this are cut, with a note: an agent reads them in a prompt.
pub const MAX_OUTPUT: usize = 16 * 1024;

/// `text` cut at `max` bytes (on a character boundary) with a note saying how much was shown.
pub fn truncate_output(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[truncated: showing {end} of {} bytes]",
        &text[..end],
        text.len()
    )
}

/// What is wrong with an installation's config, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config.{field}: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An installation's config values (secrets already decrypted), as a plugin reads them.
#[derive(Clone, Default, PartialEq)]
pub struct PluginConfig(pub Map<String, Value>);

impl std::fmt::Debug for PluginConfig {
    /// Values are not printed: some are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginConfig")
            .field("keys", &self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl PluginConfig {
    pub fn new(values: Map<String, Value>) -> Self {
        PluginConfig(values)
    }

    /// A string value, if set and a non-empty string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn required_str(&self, key: &str) -> Result<&str, ConfigError> {
        self.str(key)
            .ok_or_else(|| ConfigError::new(key, "is required"))
    }

    /// An http(s) URL without a trailing `/`.
    pub fn url(&self, key: &str) -> Result<String, ConfigError> {
        let url = self.required_str(key)?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::new(
                key,
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
        Ok(url.trim_end_matches('/').to_string())
    }

    pub fn bool(&self, key: &str, default: bool) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(Value::as_u64)
    }

    /// A list given as a JSON array of strings or one comma-separated string.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.0.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Validates a call's arguments against the simple JSON Schema subset manifests use (object with
/// typed `properties` and `required`). Returns what is wrong, naming the argument.
pub fn check_args(manifest: &ToolManifest, call: &ToolCall) -> Result<(), String> {
    let schema = &manifest.args_schema;
    let props = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if !call.args.contains_key(r) {
                return Err(format!("{}: missing required argument `{r}`", manifest.name));
            }
        }
    }
    for (key, value) in &call.args {
        let Some(prop) = props.and_then(|p| p.get(key)) else {
            return Err(format!("{}: unknown argument `{key}`", manifest.name));
        };
        let ok = match prop.get("type").and_then(Value::as_str) {
            Some("string") => value.is_string(),
            Some("integer") => value.is_u64() || value.is_i64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            Some("array") => value.is_array(),
            Some("object") => value.is_object(),
            _ => true,
        };
        if !ok {
            return Err(format!(
                "{}: argument `{key}` must be of type {}",
                manifest.name,
                prop.get("type").and_then(Value::as_str).unwrap_or("?")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest() -> ToolManifest {
        ToolManifest {
            name: "get_logs".into(),
            description: "logs".into(),
            args_schema: json!({"type":"object","properties":{"namespace":{"type":"string"},"service":{"type":"string"}},"required":["namespace","service"]}),
            access: Access::Read,
            classifier: None,
            resource: "logs".into(),
        }
    }

    #[test]
    fn args_are_checked_by_name_and_type() {
        let m = manifest();
        assert!(check_args(&m, &ToolCall::get_logs("a", "b")).is_ok());
        let missing = ToolCall::new("get_logs").arg("namespace", "a");
        assert!(check_args(&m, &missing).unwrap_err().contains("`service`"));
        let wrong = ToolCall::get_logs("a", "b").arg("extra", 1);
        assert!(check_args(&m, &wrong).unwrap_err().contains("unknown argument `extra`"));
        let typed = ToolCall::new("get_logs").arg("namespace", 3).arg("service", "b");
        assert!(check_args(&m, &typed).unwrap_err().contains("type string"));
    }
}
