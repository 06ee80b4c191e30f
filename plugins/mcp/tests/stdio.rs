//! McpToolset and discover against tests/fixtures/mcp_server.py (Python 3, standard library),
//! started as a child process speaking MCP over stdio.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_core::{Access, ToolCall};
use aoi_plugin_mcp::{McpError, McpToolset, discover};
use aoi_plugin_package::{ConfigField, ConfigKind, PluginKind, PluginManifest};
use aoi_plugin_sdk::{PluginConfig, ToolManifest, Toolset};
use serde_json::{Value, json};

const TOKEN: &str = "tok-9f8e7d6c5b4a";

fn fixture() -> String {
    format!(
        "{}/tests/fixtures/mcp_server.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn spec() -> Vec<u8> {
    json!({
        "transport": "stdio",
        "command": "python3",
        "args": [fixture()],
        "env": {"API_TOKEN": "{config.token}", "GREETING": "hello {{world}}"}
    })
    .to_string()
    .into_bytes()
}

fn config(extra: Value) -> PluginConfig {
    let mut values = json!({"token": TOKEN}).as_object().unwrap().clone();
    values.extend(extra.as_object().unwrap().clone());
    PluginConfig::new(values)
}

fn tool(name: &str, access: Access) -> ToolManifest {
    ToolManifest {
        name: name.into(),
        description: format!("{name} (signed)"),
        args_schema: json!({"type": "object", "properties": {"name": {"type": "string"}, "seconds": {"type": "number"}}}),
        access,
        classifier: None,
        resource: "users".into(),
    }
}

fn manifest(tools: Vec<ToolManifest>) -> PluginManifest {
    let manifest = PluginManifest {
        name: "user-admin".into(),
        version: "1.0.0".into(),
        publisher: "acme".into(),
        description: "users over MCP".into(),
        kind: PluginKind::Mcp,
        config_schema: vec![ConfigField {
            name: "token".into(),
            description: "API token".into(),
            kind: ConfigKind::String,
            required: true,
            secret: true,
        }],
        tools,
    };
    manifest.validate().unwrap();
    manifest
}

/// The manifest of most tests: it claims read for every tool, so the server's hints decide.
fn all_read() -> PluginManifest {
    manifest(
        [
            "lookup_user",
            "delete_user",
            "echo_env",
            "fail",
            "crash",
            "sleep",
            "missing_tool",
        ]
        .into_iter()
        .map(|n| tool(n, Access::Read))
        .collect(),
    )
}

fn access_of(toolset: &McpToolset, name: &str) -> Option<Access> {
    toolset
        .manifests()
        .into_iter()
        .find(|t| t.name == name)
        .map(|t| t.access)
}

#[tokio::test]
async fn discover_maps_the_servers_hints_to_access() {
    let tools = discover(&spec(), &config(json!({}))).await.unwrap();
    let access: Vec<(String, Access)> = tools.iter().map(|t| (t.name.clone(), t.access)).collect();
    assert_eq!(
        access,
        [
            ("lookup_user".to_string(), Access::Read),
            ("delete_user".to_string(), Access::Write),
            ("echo_env".to_string(), Access::Write),
            ("peek_secret".to_string(), Access::Write),
            ("fail".to_string(), Access::Read),
            ("crash".to_string(), Access::Write),
            ("sleep".to_string(), Access::Read),
        ]
    );
    assert!(tools.iter().all(|t| t.resource == "mcp"));
    assert_eq!(tools[0].description, "Look a user up");
    assert_eq!(tools[0].args_schema["required"], json!(["name"]));
    assert_eq!(tools[3].description, "MCP tool peekSecret");
}

#[tokio::test]
async fn the_manifest_bounds_tools_and_the_stricter_access_wins() {
    let mut m = all_read();
    m.tools.push(tool("peek_secret", Access::Read));
    m.tools[0].access = Access::Write; // lookup_user: manifest write, server read
    let toolset = McpToolset::connect(&m, &spec(), &config(json!({})))
        .await
        .unwrap();
    assert_eq!(access_of(&toolset, "lookup_user"), Some(Access::Write));
    assert_eq!(access_of(&toolset, "delete_user"), Some(Access::Write));
    assert_eq!(access_of(&toolset, "echo_env"), Some(Access::Write));
    assert_eq!(access_of(&toolset, "peek_secret"), Some(Access::Write));
    assert_eq!(access_of(&toolset, "fail"), Some(Access::Read));
    assert_eq!(access_of(&toolset, "missing_tool"), None);
    assert_eq!(toolset.missing_tools(), ["missing_tool"]);
    // The signed description is what the agent sees, not the server's.
    let lookup = toolset
        .manifests()
        .into_iter()
        .find(|t| t.name == "lookup_user")
        .unwrap();
    assert_eq!(lookup.description, "lookup_user (signed)");
    assert_eq!(lookup.resource, "users");

    // The camelCase server tool is called by its own name.
    let out = toolset.call(&ToolCall::new("peek_secret")).await;
    assert_eq!(out.text, "peek");
    toolset.shutdown().await;
}

#[tokio::test]
async fn tools_the_manifest_does_not_declare_are_not_offered() {
    let m = manifest(vec![tool("lookup_user", Access::Read)]);
    let toolset = McpToolset::connect(&m, &spec(), &config(json!({})))
        .await
        .unwrap();
    assert_eq!(toolset.manifests().len(), 1);
    let out = toolset
        .call(&ToolCall::new("delete_user").arg("name", "ana"))
        .await;
    assert!(out.is_error);
    assert!(
        out.text.contains("no such tool in plugin user-admin"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn a_plugin_prefixed_manifest_name_finds_the_server_tool() {
    let m = manifest(vec![tool("user_admin_lookup_user", Access::Read)]);
    let toolset = McpToolset::connect(&m, &spec(), &config(json!({})))
        .await
        .unwrap();
    let out = toolset
        .call(&ToolCall::new("user_admin_lookup_user").arg("name", "ana"))
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(out.text, "user ana: active");
}

#[tokio::test]
async fn a_call_returns_the_text_and_arguments_are_checked() {
    let toolset = McpToolset::connect(&all_read(), &spec(), &config(json!({})))
        .await
        .unwrap();
    let out = toolset
        .call(&ToolCall::new("lookup_user").arg("name", "ana"))
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(out.text, "user ana: active");

    let out = toolset
        .call(&ToolCall::new("lookup_user").arg("name", 3))
        .await;
    assert!(out.is_error);
    assert!(out.text.contains("must be of type string"), "{}", out.text);

    let out = toolset
        .call(&ToolCall::new("echo_env").arg("name", "GREETING"))
        .await;
    assert_eq!(out.text, "GREETING=hello {world}");
}

#[tokio::test]
async fn is_error_results_are_tool_errors() {
    let toolset = McpToolset::connect(&all_read(), &spec(), &config(json!({})))
        .await
        .unwrap();
    let out = toolset.call(&ToolCall::new("fail")).await;
    assert!(out.is_error);
    assert_eq!(out.text, "the backend is down");
}

#[tokio::test]
async fn the_secret_reaches_the_server_env_but_never_an_output() {
    let toolset = McpToolset::connect(&all_read(), &spec(), &config(json!({})))
        .await
        .unwrap();
    let out = toolset
        .call(&ToolCall::new("echo_env").arg("name", "API_TOKEN"))
        .await;
    // The server saw the token (it echoed something in its place) ...
    assert_eq!(out.text, "API_TOKEN=[redacted]");
    assert!(!format!("{toolset:?}").contains(TOKEN));
    // ... and the server does not inherit this process's environment.
    assert!(std::env::var("CARGO_PKG_NAME").is_ok());
    let out = toolset
        .call(&ToolCall::new("echo_env").arg("name", "CARGO_PKG_NAME"))
        .await;
    assert_eq!(out.text, "CARGO_PKG_NAME=(unset)");
}

#[tokio::test]
async fn a_server_that_exits_is_reported_and_restarted_on_the_next_call() {
    let toolset = McpToolset::connect(&all_read(), &spec(), &config(json!({})))
        .await
        .unwrap();
    let out = toolset.call(&ToolCall::new("crash")).await;
    assert!(out.is_error);
    assert!(
        out.text
            .starts_with("crash: the MCP server connection failed"),
        "{}",
        out.text
    );
    assert!(out.text.contains("the next call starts it again"));
    let out = toolset
        .call(&ToolCall::new("lookup_user").arg("name", "bo"))
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(out.text, "user bo: active");
}

#[tokio::test]
async fn a_call_past_the_timeout_fails_and_the_next_call_reconnects() {
    let toolset = McpToolset::connect(&all_read(), &spec(), &config(json!({"timeout_seconds": 1})))
        .await
        .unwrap();
    let out = toolset
        .call(&ToolCall::new("sleep").arg("seconds", 30))
        .await;
    assert!(out.is_error);
    assert!(
        out.text.contains("did not answer within 1s"),
        "{}",
        out.text
    );
    let out = toolset
        .call(&ToolCall::new("lookup_user").arg("name", "cy"))
        .await;
    assert_eq!(out.text, "user cy: active");
}

#[tokio::test]
async fn connect_refusals_say_what_is_wrong() {
    let none_in_common = manifest(vec![tool("nothing_here", Access::Read)]);
    let e = McpToolset::connect(&none_in_common, &spec(), &config(json!({})))
        .await
        .unwrap_err();
    assert!(matches!(e, McpError::NoTools { .. }));
    assert!(e.to_string().contains("nothing_here"), "{e}");

    let secret_in_args =
        json!({"transport": "stdio", "command": "python3", "args": [fixture(), "{config.token}"]})
            .to_string();
    let e = McpToolset::connect(&all_read(), secret_in_args.as_bytes(), &config(json!({})))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("spec.args[1]: secret config value {config.token}"),
        "{e}"
    );

    let e = McpToolset::connect(&all_read(), &spec(), &PluginConfig::default())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "config.token: is required");

    let no_such = br#"{"transport": "stdio", "command": "/nonexistent/mcp-server"}"#;
    let e = McpToolset::connect(&all_read(), no_such, &config(json!({})))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "cannot start or reach the MCP server: cannot start `/nonexistent/mcp-server`"
        ),
        "{e}"
    );

    let mut builtin = all_read();
    builtin.kind = PluginKind::Builtin;
    let e = McpToolset::connect(&builtin, &spec(), &config(json!({})))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("manifest.kind:"), "{e}");
}
