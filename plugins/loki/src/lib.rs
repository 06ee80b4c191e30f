//! aoi-plugin-loki: the built-in Loki plugin. It owns the `loki_*` tools (LogQL queries over
//! a time range, label names and values), all reads, over Loki's HTTP API v1, and their
//! rendering for an agent. It depends on the plugin SDK, package and httpapi crates only among
//! project crates, and keeps no state beyond its HTTP client.

mod tools;

/// The typed config (`base_url`, secret `bearer_token`, `timeout_seconds`), shared by the
/// HTTP API plugins.
pub use aoi_plugin_httpapi::Config;

use aoi_plugin_httpapi::System;
use aoi_plugin_package::PluginManifest;
use aoi_plugin_sdk::{ConfigError, PluginConfig, Toolset};
use std::sync::Arc;

/// The plugin's name, also the prefix of its tools.
pub const NAME: &str = "loki";

const SYSTEM: System = System {
    plugin: NAME,
    display: "Loki",
    example_url: "http://loki:3100",
};

pub fn manifest() -> PluginManifest {
    let description = "Loki: LogQL log and metric queries, label names and values (read only).";
    SYSTEM.manifest(env!("CARGO_PKG_VERSION"), description, tools::manifests())
}

/// The tools for one installation; refuses a config without a usable `base_url`.
pub fn toolset(config: &PluginConfig) -> Result<Arc<dyn Toolset>, ConfigError> {
    Ok(Arc::new(tools::LokiTools::new(SYSTEM.api(config)?)))
}
