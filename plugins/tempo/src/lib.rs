//! aoi-plugin-tempo: the built-in Tempo plugin. It owns the `tempo_*` tools (trace search, one
//! trace as a span tree), all reads, over Tempo's HTTP API, and their rendering for an agent.
//! It depends on the plugin SDK, package and httpapi crates only among project crates, and keeps no
//! state beyond its HTTP client.

mod tools;

/// The typed config (`base_url`, secret `bearer_token`, `timeout_seconds`), shared by the
/// HTTP API plugins.
pub use aoi_plugin_httpapi::Config;

use aoi_plugin_httpapi::System;
use aoi_plugin_package::PluginManifest;
use aoi_plugin_sdk::{ConfigError, PluginConfig, Toolset};
use std::sync::Arc;

/// The plugin's name, also the prefix of its tools.
pub const NAME: &str = "tempo";

const SYSTEM: System = System {
    plugin: NAME,
    display: "Tempo",
    example_url: "http://tempo:3200",
};

pub fn manifest() -> PluginManifest {
    let description =
        "Tempo: search traces and show one as a span tree with durations and errors (read only).";
    SYSTEM.manifest(env!("CARGO_PKG_VERSION"), description, tools::manifests())
}

/// The tools for one installation; refuses a config without a usable `base_url`.
pub fn toolset(config: &PluginConfig) -> Result<Arc<dyn Toolset>, ConfigError> {
    Ok(Arc::new(tools::TempoTools::new(SYSTEM.api(config)?)))
}
