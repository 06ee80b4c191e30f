//! The catalog: built-in plugins (an explicit list of crates under plugins/) and the packages
//! a platform admin uploaded, resolved by name and version.

use aoi_core::Access;
use aoi_plugin_package::{ConfigField, PluginKind, PluginManifest};
use aoi_plugin_sdk::{ConfigError, PluginConfig, Toolset};
use aoi_store::PluginPackage;
use serde::Serialize;
use std::cmp::Ordering;
use std::sync::Arc;

/// A plugin compiled into the server.
pub struct BuiltinPlugin {
    pub manifest: fn() -> PluginManifest,
    pub toolset: fn(&PluginConfig) -> Result<Arc<dyn Toolset>, ConfigError>,
}

/// Every built-in plugin, in catalog order.
pub fn builtins() -> Vec<BuiltinPlugin> {
    vec![
        BuiltinPlugin {
            manifest: aoi_plugin_kubernetes::manifest,
            toolset: aoi_plugin_kubernetes::toolset,
        },
        BuiltinPlugin {
            manifest: aoi_plugin_prometheus::manifest,
            toolset: aoi_plugin_prometheus::toolset,
        },
        BuiltinPlugin {
            manifest: aoi_plugin_alertmanager::manifest,
            toolset: aoi_plugin_alertmanager::toolset,
        },
        BuiltinPlugin {
            manifest: aoi_plugin_loki::manifest,
            toolset: aoi_plugin_loki::toolset,
        },
        BuiltinPlugin {
            manifest: aoi_plugin_tempo::manifest,
            toolset: aoi_plugin_tempo::toolset,
        },
    ]
}

/// The built-in plugin named `name`.
pub fn builtin(name: &str) -> Option<BuiltinPlugin> {
    builtins().into_iter().find(|b| (b.manifest)().name == name)
}

/// A tool as the catalog shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ToolView {
    pub name: String,
    pub description: String,
    /// `read` or `write`.
    pub access: Access,
    pub resource: String,
    pub args_schema: serde_json::Value,
}

/// What the catalog says of one plugin (its newest version), with the caller's installation.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogEntry {
    pub name: String,
    pub version: String,
    /// Every version available, oldest first.
    pub versions: Vec<String>,
    pub publisher: String,
    pub kind: PluginKind,
    pub description: String,
    /// `builtin` or `uploaded`.
    pub source: &'static str,
    pub config_schema: Vec<ConfigField>,
    pub tools: Vec<ToolView>,
    /// The caller's tenant's installation, when there is one.
    pub installation: Option<super::InstallationView>,
}

pub fn tool_views(manifest: &PluginManifest) -> Vec<ToolView> {
    manifest
        .tools
        .iter()
        .map(|t| ToolView {
            name: t.name.clone(),
            description: t.description.clone(),
            access: t.access,
            resource: t.resource.clone(),
            args_schema: t.args_schema.clone(),
        })
        .collect()
}

/// Orders `x.y.z` versions numerically.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parse = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parse(a).cmp(&parse(b))
}

/// The catalog entries: built-ins first, then uploaded plugins by name (newest version each).
pub fn entries(packages: &[PluginPackage]) -> Vec<CatalogEntry> {
    let mut out: Vec<CatalogEntry> = builtins()
        .iter()
        .map(|b| {
            let m = (b.manifest)();
            CatalogEntry {
                versions: vec![m.version.clone()],
                version: m.version.clone(),
                publisher: m.publisher.clone(),
                kind: m.kind,
                description: m.description.clone(),
                source: "builtin",
                config_schema: m.config_schema.clone(),
                tools: tool_views(&m),
                name: m.name,
                installation: None,
            }
        })
        .collect();
    let mut names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let mut versions: Vec<&PluginPackage> =
            packages.iter().filter(|p| p.name == name).collect();
        versions.sort_by(|a, b| compare_versions(&a.version, &b.version));
        let Some(newest) = versions.last() else {
            continue;
        };
        let Ok(manifest) = serde_json::from_value::<PluginManifest>(newest.manifest.clone())
        else {
            tracing::error!(plugin = %name, version = %newest.version, "stored manifest does not parse");
            continue;
        };
        out.push(CatalogEntry {
            name: name.to_string(),
            version: newest.version.clone(),
            versions: versions.iter().map(|p| p.version.clone()).collect(),
            publisher: manifest.publisher.clone(),
            kind: manifest.kind,
            description: manifest.description.clone(),
            source: "uploaded",
            config_schema: manifest.config_schema.clone(),
            tools: tool_views(&manifest),
            installation: None,
        });
    }
    out
}

/// Splits an installation's config into plain values and secret values by the schema.
pub fn split_secrets(
    manifest: &PluginManifest,
    config: serde_json::Map<String, serde_json::Value>,
) -> (
    serde_json::Map<String, serde_json::Value>,
    serde_json::Map<String, serde_json::Value>,
) {
    let mut plain = serde_json::Map::new();
    let mut secret = serde_json::Map::new();
    for (k, v) in config {
        let is_secret = manifest
            .config_schema
            .iter()
            .any(|f| f.name == k && f.secret);
        if is_secret {
            secret.insert(k, v);
        } else {
            plain.insert(k, v);
        }
    }
    (plain, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically_and_builtins_validate() {
        assert_eq!(compare_versions("1.10.0", "1.9.3"), Ordering::Greater);
        assert_eq!(compare_versions("0.1.0", "0.1.0"), Ordering::Equal);
        let mut names = Vec::new();
        for b in builtins() {
            let m = (b.manifest)();
            m.validate().unwrap();
            assert_eq!(m.kind, PluginKind::Builtin);
            names.push(m.name);
        }
        assert_eq!(
            names,
            ["kubernetes", "prometheus", "alertmanager", "loki", "tempo"]
        );
    }
}
