//! Calling a plugin's tools from its integration tests: config values, calls whose output must
//! never show the test's token, recorded fixtures, the error against a closed port, and the
//! checks every HTTP API plugin's manifest and config must pass. Shared (by `#[path]`) by the
//! httpapi, prometheus, alertmanager, loki and tempo tests.

use aoi_core::{Access, ToolCall};
use aoi_plugin_package::{PluginKind, PluginManifest};
use aoi_plugin_sdk::{CallContext, ConfigError, PluginConfig, Toolset};
use serde_json::{Value, json};
use std::sync::Arc;

/// Config values from a JSON object.
pub fn config(values: Value) -> PluginConfig {
    PluginConfig::new(
        values
            .as_object()
            .cloned()
            .expect("config values are an object"),
    )
}

/// The output text when the call succeeded, else the error text as `Err`; fails when either
/// shows `token`.
pub async fn call_as(
    tools: &Arc<dyn Toolset>,
    call: ToolCall,
    ctx: &CallContext,
    token: &str,
) -> Result<String, String> {
    let out = tools.call_with(&call, ctx).await;
    assert!(!out.text.contains(token), "the token leaked: {}", out.text);
    if out.is_error {
        Err(out.text)
    } else {
        Ok(out.text)
    }
}

/// A file of the including crate's tests/fixtures.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A 127.0.0.1 port nothing listens on (it was free a moment ago).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Checks that `call`, made by the tools `tools_at` builds for a closed port, fails with
/// `{system} at http://127.0.0.1:{port} is unreachable ({path})` and no token.
pub async fn assert_unreachable(
    tools_at: impl Fn(&str) -> Arc<dyn Toolset>,
    call: ToolCall,
    token: &str,
    system: &str,
    path: &str,
) {
    let port = closed_port();
    let tools = tools_at(&format!("http://127.0.0.1:{port}"));
    let err = call_as(&tools, call, &CallContext::default(), token)
        .await
        .expect_err("a call to a closed port succeeded");
    let expected = format!("{system} at http://127.0.0.1:{port} is unreachable ({path})");
    assert!(err.starts_with(&expected), "{err}");
}

/// A plugin's `toolset` function.
pub type ToolsetFn = fn(&PluginConfig) -> Result<Arc<dyn Toolset>, ConfigError>;
/// A plugin's `Config::from_plugin`.
pub type ConfigFn = fn(&PluginConfig) -> Result<aoi_plugin_httpapi::Config, ConfigError>;

/// Checks what every HTTP API plugin shares: its manifest validates, is a built-in by `aoi`
/// whose tools are exactly `tools` (name, access, resource), all named `{name}_*`, and whose
/// only secret is `bearer_token`; `toolset`
/// refuses a config without a usable `base_url` or with `timeout_seconds` 0, naming the field;
/// the config never debug-prints the token or the URL's password.
pub fn assert_http_plugin(
    manifest: PluginManifest,
    tools: &[(&str, Access, &str)],
    toolset: ToolsetFn,
    from_plugin: ConfigFn,
) {
    manifest.validate().expect("the manifest validates");
    assert_eq!(
        (manifest.kind, manifest.publisher.as_str()),
        (PluginKind::Builtin, "aoi")
    );
    let declared: Vec<(&str, Access, &str)> = manifest
        .tools
        .iter()
        .map(|t| (t.name.as_str(), t.access, t.resource.as_str()))
        .collect();
    assert_eq!(declared, tools);
    let prefix = format!("{}_", manifest.name);
    for tool in &manifest.tools {
        assert!(
            tool.name.starts_with(&prefix),
            "{} lacks {prefix}",
            tool.name
        );
    }
    let secrets: Vec<&str> = manifest
        .config_schema
        .iter()
        .filter(|f| f.secret)
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(secrets, ["bearer_token"]);

    let token = "shared-check-token-0123456789";
    for (values, field) in [
        (json!({"bearer_token": token}), "base_url"),
        (json!({"base_url": ""}), "base_url"),
        (json!({"base_url": "server:3200"}), "base_url"),
        (
            json!({"base_url": "http://s:1", "timeout_seconds": 0}),
            "timeout_seconds",
        ),
    ] {
        let err = toolset(&config(values.clone())).err();
        let err = err.unwrap_or_else(|| panic!("{values} was accepted"));
        assert_eq!(err.field, field, "{values}: {}", err.message);
        assert!(!err.message.contains(token), "{}", err.message);
    }
    let parsed = from_plugin(&config(
        json!({"base_url": "http://user:pw@s:9090/sub/", "bearer_token": token}),
    ))
    .expect("a good config");
    let debug = format!("{parsed:?}");
    assert!(!debug.contains(token) && !debug.contains("pw"), "{debug}");
    assert!(
        debug.contains("<redacted>") && debug.contains("http://s:9090/sub"),
        "{debug}"
    );
}
