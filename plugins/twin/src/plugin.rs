//! The twin behind the plugin interface every built-in has: a manifest (kind builtin, its tools
//! and config) and `toolset(config)`. Environments of kind `twin` build it per session; it is
//! not installable into a tenant (it is an environment, not an integration).

use aoi_plugin_package::{ConfigField, ConfigKind, PluginKind, PluginManifest};
use aoi_plugin_sdk::{ConfigError, PluginConfig, Toolset};
use std::sync::Arc;

use crate::env::{TwinEnv, manifests};
use crate::suite::Suite;

pub const NAME: &str = "twin";

pub fn manifest() -> PluginManifest {
    PluginManifest {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        publisher: "aoi".into(),
        description: "A simulated Kubernetes cluster running one problem of a suite, with AIOpsLab's tools (logs, metrics, traces, kubectl)".into(),
        kind: PluginKind::Builtin,
        config_schema: vec![
            ConfigField {
                name: "problem_id".into(),
                description: "The problem of the suite the twin runs".into(),
                kind: ConfigKind::String,
                required: true,
                secret: false,
            },
            ConfigField {
                name: "suite".into(),
                description: "The suite: `aiopslab` (shipped) or a suite folder".into(),
                kind: ConfigKind::String,
                required: false,
                secret: false,
            },
            ConfigField {
                name: "seed".into(),
                description: "Seed of the simulated names and telemetry".into(),
                kind: ConfigKind::Integer,
                required: false,
                secret: false,
            },
        ],
        tools: manifests(),
    }
}

/// A started twin for `config`.
pub fn toolset(config: &PluginConfig) -> Result<Arc<dyn Toolset>, ConfigError> {
    let problem = config.required_str("problem_id")?;
    let suite = Suite::resolve(config.str("suite").unwrap_or("aiopslab"))
        .map_err(|e| ConfigError::new("suite", e.to_string()))?;
    let seed = config.u64("seed").unwrap_or(0);
    let twin = TwinEnv::start(&suite, problem, seed).map_err(|e| ConfigError::new("problem_id", e))?;
    Ok(Arc::new(twin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_twin_has_the_plugin_shape() {
        manifest().validate().unwrap();
        let config = |v: serde_json::Value| PluginConfig::new(v.as_object().unwrap().clone());
        let twin = toolset(&config(json!({"problem_id": "k8s_target_port-misconfig-mitigation-1", "seed": 3}))).unwrap();
        assert_eq!(twin.manifests(), manifest().tools);
        let missing = toolset(&config(json!({}))).err().unwrap();
        assert_eq!(missing.field, "problem_id");
        let unknown = toolset(&config(json!({"problem_id": "nope"}))).err().unwrap();
        assert!(unknown.to_string().contains("nope"), "{unknown}");
    }
}
