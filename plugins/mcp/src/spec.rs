//! The package payload of an MCP plugin: how to start or reach the server, with
//! `{config.key}` placeholders filled from the installation's config.

use crate::McpError;
use aoi_plugin_sdk::{ConfigError, PluginConfig};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Environment variables a stdio server inherits from this process; everything else it gets
/// from the spec's `env` (the server's own environment holds credentials it must not see).
const INHERITED_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER"];

#[derive(Deserialize)]
#[serde(tag = "transport", rename_all = "snake_case", deny_unknown_fields)]
enum RawSpec {
    Stdio {
        command: String,
        #[serde(default)]
        args: Vec<String>,
        #[serde(default)]
        env: BTreeMap<String, String>,
    },
    Http {
        url: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
}

/// A launch spec with its placeholders filled. `Debug` shows no values that could be secrets.
#[derive(Clone)]
pub(crate) enum Launch {
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    Http {
        url: String,
        headers: Vec<(http::HeaderName, http::HeaderValue)>,
    },
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Launch::Stdio { command, args, env } => f
                .debug_struct("Stdio")
                .field("command", command)
                .field("args", &args.len())
                .field("env", &env.iter().map(|(k, _)| k).collect::<Vec<_>>())
                .finish(),
            Launch::Http { headers, .. } => f
                .debug_struct("Http")
                .field(
                    "headers",
                    &headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                )
                .finish(),
        }
    }
}

impl Launch {
    /// The inherited environment plus the spec's.
    pub(crate) fn child_env(env: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = INHERITED_ENV
            .iter()
            .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
            .collect();
        out.extend(env.iter().cloned());
        out
    }
}

/// What the spec may use from the config: with a manifest, only declared fields, and secrets
/// only where they are not visible to other users of the machine (env, headers).
pub(crate) struct ConfigScope<'a> {
    pub(crate) config: &'a PluginConfig,
    /// `None` when no manifest is known (discovery): any config key may be used.
    pub(crate) declared: Option<HashSet<&'a str>>,
    pub(crate) secrets: HashSet<&'a str>,
}

fn spec_err(place: impl Into<String>, message: impl Into<String>) -> McpError {
    McpError::Spec {
        place: place.into(),
        message: message.into(),
    }
}

impl ConfigScope<'_> {
    /// `text` with `{config.key}` filled; `secret_ok` says whether secrets may appear here.
    fn fill(&self, place: &str, text: &str, secret_ok: bool) -> Result<String, McpError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{") {
                out.push('{');
                rest = after;
                continue;
            }
            if let Some(after) = tail.strip_prefix("}}") {
                out.push('}');
                rest = after;
                continue;
            }
            let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) else {
                return Err(spec_err(
                    place,
                    "unbalanced brace: use {config.key}, and `{{` or `}}` for a literal brace",
                ));
            };
            let name = &tail[1..end];
            let Some(key) = name.strip_prefix("config.").filter(|k| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }) else {
                return Err(spec_err(
                    place,
                    format!(
                        "`{{{name}}}` is not a placeholder: a launch spec only takes {{config.key}}"
                    ),
                ));
            };
            if let Some(declared) = &self.declared
                && !declared.contains(key)
            {
                return Err(spec_err(
                    place,
                    format!(
                        "unknown config value {{config.{key}}}: declare `{key}` in the manifest's config_schema"
                    ),
                ));
            }
            if !secret_ok && self.secrets.contains(key) {
                return Err(spec_err(
                    place,
                    format!(
                        "secret config value {{config.{key}}} may only be used in env or headers, where other users of the machine and logs do not see it"
                    ),
                ));
            }
            let value = match self.config.0.get(key) {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                None | Some(Value::Null) | Some(Value::String(_)) => {
                    return Err(McpError::Config(ConfigError::new(
                        key,
                        format!("is required by the launch spec ({place})"),
                    )));
                }
                Some(other) => other.to_string(),
            };
            out.push_str(&value);
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Checks a launch spec at upload time, before any installation has config: it parses, its
/// placeholders name fields the manifest declares, and secrets appear only in `env` and
/// `headers`.
pub fn check_spec(
    payload: &[u8],
    manifest: &aoi_plugin_package::PluginManifest,
) -> Result<(), McpError> {
    let values: serde_json::Map<String, Value> = manifest
        .config_schema
        .iter()
        .map(|f| (f.name.clone(), Value::String("x".into())))
        .collect();
    let config = PluginConfig::new(values);
    let scope = ConfigScope {
        config: &config,
        declared: Some(manifest.config_schema.iter().map(|f| f.name.as_str()).collect()),
        secrets: manifest
            .config_schema
            .iter()
            .filter(|f| f.secret)
            .map(|f| f.name.as_str())
            .collect(),
    };
    resolve(payload, &scope).map(|_| ())
}

/// Parses the payload and fills it from the config.
pub(crate) fn resolve(payload: &[u8], scope: &ConfigScope<'_>) -> Result<Launch, McpError> {
    let raw: RawSpec =
        serde_json::from_slice(payload).map_err(|e| spec_err("spec", e.to_string()))?;
    match raw {
        RawSpec::Stdio { command, args, env } => {
            if command.trim().is_empty() {
                return Err(spec_err("spec.command", "must not be empty"));
            }
            let command = scope.fill("spec.command", &command, false)?;
            let args = args
                .iter()
                .enumerate()
                .map(|(i, a)| scope.fill(&format!("spec.args[{i}]"), a, false))
                .collect::<Result<_, _>>()?;
            let mut filled = Vec::new();
            for (key, value) in &env {
                let place = format!("spec.env.{key}");
                if key.is_empty() || key.contains(['=', '\0']) {
                    return Err(spec_err(place, "is not a valid environment variable name"));
                }
                filled.push((key.clone(), scope.fill(&place, value, true)?));
            }
            Ok(Launch::Stdio {
                command,
                args,
                env: filled,
            })
        }
        RawSpec::Http { url, headers } => {
            let url = scope.fill("spec.url", &url, false)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(spec_err("spec.url", "is not an http:// or https:// URL"));
            }
            let mut filled = Vec::new();
            for (name, value) in &headers {
                let place = format!("spec.headers.{name}");
                let header = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| spec_err(&place, "is not a valid header name"))?;
                let value = scope.fill(&place, value, true)?;
                let value = http::HeaderValue::from_str(&value).map_err(|_| {
                    spec_err(&place, "the filled-in value is not a valid header value")
                })?;
                filled.push((header, value));
            }
            Ok(Launch::Http {
                url,
                headers: filled,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> PluginConfig {
        PluginConfig::new(
            json!({"token": "s3cret", "url": "http://127.0.0.1:9"})
                .as_object()
                .unwrap()
                .clone(),
        )
    }

    #[test]
    fn placeholders_are_filled_and_secrets_stay_in_env_and_headers() {
        let config = config();
        let scope = ConfigScope {
            config: &config,
            declared: Some(["token", "url"].into()),
            secrets: ["token"].into(),
        };
        let spec = br#"{"transport": "stdio", "command": "srv", "args": ["--x={{a}}"], "env": {"T": "{config.token}"}}"#;
        let Launch::Stdio { args, env, .. } = resolve(spec, &scope).unwrap() else {
            panic!("stdio expected")
        };
        assert_eq!(args, ["--x={a}"]);
        assert_eq!(env, [("T".to_string(), "s3cret".to_string())]);

        let spec = br#"{"transport": "stdio", "command": "srv", "args": ["{config.token}"]}"#;
        let e = resolve(spec, &scope).unwrap_err().to_string();
        assert!(e.starts_with("spec.args[0]: secret config value"), "{e}");
        assert!(!e.contains("s3cret"));

        let spec = br#"{"transport": "http", "url": "{config.url}/mcp", "headers": {"Authorization": "Bearer {config.token}"}}"#;
        let launch = resolve(spec, &scope).unwrap();
        assert!(!format!("{launch:?}").contains("s3cret"));
        let Launch::Http { url, headers } = launch else {
            panic!("http expected")
        };
        assert_eq!(url, "http://127.0.0.1:9/mcp");
        assert_eq!(headers[0].1, "Bearer s3cret");
    }

    #[test]
    fn bad_specs_name_the_place() {
        let config = config();
        let scope = ConfigScope {
            config: &config,
            declared: Some(["token"].into()),
            secrets: HashSet::new(),
        };
        let e = |spec: &[u8]| resolve(spec, &scope).unwrap_err().to_string();
        assert!(
            e(br#"{"transport": "stdio", "command": "x", "env": {"A": "{config.nope}"}}"#)
                .starts_with("spec.env.A: unknown config value {config.nope}")
        );
        assert!(
            e(br#"{"transport": "stdio", "command": "x", "args": ["{oops}"]}"#)
                .starts_with("spec.args[0]: `{oops}` is not a placeholder")
        );
        assert!(e(br#"{"transport": "ws", "url": "x"}"#).starts_with("spec: unknown variant"));
        assert!(e(br#"{"transport": "http", "url": "ftp://x"}"#).starts_with("spec.url"));
        let empty = PluginConfig::default();
        let scope = ConfigScope {
            config: &empty,
            declared: None,
            secrets: HashSet::new(),
        };
        let e = resolve(
            br#"{"transport": "stdio", "command": "x", "env": {"A": "{config.token}"}}"#,
            &scope,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "config.token: is required by the launch spec (spec.env.A)"
        );
    }
}
