//! What differs between the HTTP API plugins, and what they build from it the same way: the
//! plugin manifest and the client of one installation.

use crate::client::Api;
use crate::config::Config;
use aoi_plugin_package::{PluginKind, PluginManifest};
use aoi_plugin_sdk::{ConfigError, PluginConfig, ToolManifest};

/// The server software a plugin talks to, as the plugin names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct System {
    /// The plugin's name and tool prefix, e.g. `prometheus`; tool errors start with it.
    pub plugin: &'static str,
    /// The server's display name, e.g. `Prometheus`; HTTP errors and the config schema use it.
    pub display: &'static str,
    /// A typical root URL, shown in the config schema, e.g. `http://prometheus:9090`.
    pub example_url: &'static str,
}

impl System {
    /// The built-in plugin's manifest: publisher `aoi`, the shared config schema (the token a
    /// secret). `version` is the plugin crate's own (`env!("CARGO_PKG_VERSION")` there).
    pub fn manifest(
        &self,
        version: &str,
        description: &str,
        tools: Vec<ToolManifest>,
    ) -> PluginManifest {
        PluginManifest {
            name: self.plugin.into(),
            version: version.into(),
            publisher: "aoi".into(),
            description: description.into(),
            kind: PluginKind::Builtin,
            config_schema: Config::schema(self.display, self.example_url),
            tools,
        }
    }

    /// The client for one installation; refuses a config without a usable `base_url`.
    pub fn api(self, config: &PluginConfig) -> Result<Api, ConfigError> {
        Api::new(&Config::from_plugin(config)?, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_tools;
    use serde_json::{Map, json};

    const DEMO: System = System {
        plugin: "demo",
        display: "Demo",
        example_url: "http://demo:1234",
    };

    #[test]
    fn the_manifest_is_a_valid_builtin_of_the_system() {
        let tools = read_tools(
            "things",
            [("demo_get", "Get a thing", json!({"type": "object"}))],
        );
        let manifest = DEMO.manifest("1.2.3", "Demo: things (read only).", tools);
        manifest.validate().unwrap();
        assert_eq!(
            (manifest.name.as_str(), manifest.version.as_str()),
            ("demo", "1.2.3")
        );
        assert_eq!(
            (manifest.publisher.as_str(), manifest.kind),
            ("aoi", PluginKind::Builtin)
        );
        assert!(
            manifest.config_schema[0]
                .description
                .contains("http://demo:1234")
        );
    }

    #[test]
    fn a_client_needs_a_base_url() {
        let err = DEMO.api(&PluginConfig::new(Map::new())).err().unwrap();
        assert_eq!(err.field, "base_url");
    }
}
