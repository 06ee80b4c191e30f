//! The tools of a session: its environment's own toolsets plus the tenant's enabled plugins.
//! A plugin that fails to load, or whose tool names collide with tools already there, is left
//! out and reported in the session's result; the session still runs.

use aoi_agent::ToolRegistry;
use aoi_plugin_sdk::Toolset;
use aoi_store::TenantId;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::Platform;

/// What a session could reach, for its result: every tool with its access and where it comes
/// from, the plugins loaded and those left out with why.
pub struct SessionTools {
    pub registry: ToolRegistry,
    pub summary: Value,
}

/// Builds the session's registry from `base` (the environment's toolsets, `source`
/// `environment`) and the tenant's enabled plugins.
pub async fn session_tools(
    platform: &Platform,
    tenant: TenantId,
    base: Vec<Arc<dyn Toolset>>,
) -> Result<SessionTools, String> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut tools = Vec::new();
    for toolset in &base {
        for m in toolset.manifests() {
            names.insert(m.name.clone());
            tools.push(json!({"name": m.name, "access": m.access, "source": "environment"}));
        }
    }
    let (loaded, failed) = crate::plugins::session_plugins(platform, tenant).await?;
    let mut errors: Vec<Value> = failed
        .into_iter()
        .map(|f| json!({"plugin": f.plugin, "version": f.version, "error": f.error}))
        .collect();
    let mut plugins = Vec::new();
    let mut toolsets = base;
    for plugin in loaded {
        let manifests = plugin.toolset.manifests();
        if let Some(clash) = manifests.iter().find(|m| names.contains(&m.name)) {
            errors.push(json!({
                "plugin": plugin.name,
                "version": plugin.version,
                "error": format!("tool {} is already provided in this session", clash.name),
            }));
            continue;
        }
        for m in manifests {
            names.insert(m.name.clone());
            tools.push(json!({"name": m.name, "access": m.access, "source": format!("plugin:{}", plugin.name)}));
        }
        plugins.push(json!({"name": plugin.name, "version": plugin.version}));
        toolsets.push(plugin.toolset);
    }
    let registry = ToolRegistry::new(toolsets).map_err(|e| e.to_string())?;
    Ok(SessionTools {
        registry,
        summary: json!({"tools": tools, "plugins": plugins, "plugin_errors": errors}),
    })
}
