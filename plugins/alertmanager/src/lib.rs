//! aoi-plugin-alertmanager: the built-in Alertmanager plugin. It owns the `alertmanager_*` tools
//! over Alertmanager's API v2: listing alerts and silences (reads) and creating a silence (a
//! write on resource `alerts`, recorded as created by the person who approved it). It depends on
//! the plugin SDK, package and httpapi crates only among project crates, and keeps no state.

mod tools;

/// The typed config (`base_url`, secret `bearer_token`, `timeout_seconds`), shared by the
/// HTTP API plugins.
pub use aoi_plugin_httpapi::Config;

use aoi_plugin_httpapi::System;
use aoi_plugin_package::PluginManifest;
use aoi_plugin_sdk::{ConfigError, PluginConfig, Toolset};
use std::sync::Arc;

/// The plugin's name, also the prefix of its tools.
pub const NAME: &str = "alertmanager";

const SYSTEM: System = System {
    plugin: NAME,
    display: "Alertmanager",
    example_url: "http://alertmanager:9093",
};

pub fn manifest() -> PluginManifest {
    let description = "Alertmanager: list alerts and silences; create a silence (write).";
    SYSTEM.manifest(env!("CARGO_PKG_VERSION"), description, tools::manifests())
}

/// The tools for one installation; refuses a config without a usable `base_url`.
pub fn toolset(config: &PluginConfig) -> Result<Arc<dyn Toolset>, ConfigError> {
    Ok(Arc::new(tools::AlertmanagerTools::new(SYSTEM.api(config)?)))
}
