//! aoi-plugin-prometheus: the built-in Prometheus plugin. It owns the `prometheus_*` tools
//! (PromQL instant and range queries, alerts of Prometheus's rules, scrape targets), all reads,
//! over Prometheus's HTTP API v1, and their rendering for an agent. It depends on the plugin SDK,
//! package and httpapi crates only among project crates, and keeps no state beyond its HTTP client.

mod tools;

/// The typed config (`base_url`, secret `bearer_token`, `timeout_seconds`), shared by the
/// HTTP API plugins.
pub use aoi_plugin_httpapi::Config;

use aoi_plugin_httpapi::System;
use aoi_plugin_package::PluginManifest;
use aoi_plugin_sdk::{ConfigError, PluginConfig, Toolset};
use std::sync::Arc;

/// The plugin's name, also the prefix of its tools.
pub const NAME: &str = "prometheus";

const SYSTEM: System = System {
    plugin: NAME,
    display: "Prometheus",
    example_url: "http://prometheus:9090",
};

pub fn manifest() -> PluginManifest {
    let description = "Prometheus: PromQL instant and range queries, firing alerts and scrape targets (read only).";
    SYSTEM.manifest(env!("CARGO_PKG_VERSION"), description, tools::manifests())
}

/// The tools for one installation; refuses a config without a usable `base_url`.
pub fn toolset(config: &PluginConfig) -> Result<Arc<dyn Toolset>, ConfigError> {
    Ok(Arc::new(tools::PrometheusTools::new(SYSTEM.api(config)?)))
}
