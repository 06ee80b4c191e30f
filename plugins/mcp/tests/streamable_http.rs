//! McpToolset over streamable HTTP against rmcp's own server side on 127.0.0.1, behind an axum
//! layer that records the Authorization headers it receives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_core::{Access, ToolCall};
use aoi_plugin_mcp::{McpToolset, discover};
use aoi_plugin_package::{ConfigField, ConfigKind, PluginKind, PluginManifest};
use aoi_plugin_sdk::{PluginConfig, ToolManifest, Toolset};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::json;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "http-tok-1a2b3c4d";

#[derive(Clone)]
struct Tickets;

fn schema() -> Arc<serde_json::Map<String, serde_json::Value>> {
    Arc::new(
        json!({"type": "object", "properties": {"id": {"type": "string"}}})
            .as_object()
            .unwrap()
            .clone(),
    )
}

impl ServerHandler for Tickets {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![
            Tool::new("getTicket", "Get a ticket", schema())
                .with_annotations(ToolAnnotations::new().read_only(true)),
            Tool::new("close-ticket", "Close a ticket", schema()),
        ]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let id = request
            .arguments
            .as_ref()
            .and_then(|a| a.get("id"))
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string();
        let result = match request.name.as_ref() {
            "getTicket" => {
                CallToolResult::success(vec![ContentBlock::text(format!("ticket {id}: open"))])
            }
            _ => CallToolResult::error(vec![ContentBlock::text(format!(
                "cannot close {id} with token {TOKEN}"
            ))]),
        };
        Ok(result.into())
    }
}

/// Starts the server; returns its URL and the Authorization headers it has seen.
async fn serve() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service: StreamableHttpService<Tickets, LocalSessionManager> = StreamableHttpService::new(
        || Ok(Tickets),
        Default::default(),
        StreamableHttpServerConfig::default(),
    );
    let record = seen.clone();
    let router =
        axum::Router::new()
            .nest_service("/mcp", service)
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    let record = record.clone();
                    async move {
                        if let Some(v) = request.headers().get("authorization") {
                            record
                                .lock()
                                .unwrap()
                                .push(v.to_str().unwrap_or("").to_string());
                        }
                        next.run(request).await
                    }
                },
            ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}"), seen)
}

fn spec() -> Vec<u8> {
    json!({
        "transport": "http",
        "url": "{config.url}/mcp",
        "headers": {"Authorization": "Bearer {config.token}"}
    })
    .to_string()
    .into_bytes()
}

fn config(url: &str) -> PluginConfig {
    PluginConfig::new(
        json!({"url": url, "token": TOKEN})
            .as_object()
            .unwrap()
            .clone(),
    )
}

fn manifest() -> PluginManifest {
    let field = |name: &str, kind, secret| ConfigField {
        name: name.into(),
        description: name.into(),
        kind,
        required: true,
        secret,
    };
    let tool = |name: &str| ToolManifest {
        name: name.into(),
        description: name.into(),
        args_schema: json!({"type": "object", "properties": {"id": {"type": "string"}}}),
        access: Access::Read,
        classifier: None,
        resource: "tickets".into(),
    };
    let manifest = PluginManifest {
        name: "tickets".into(),
        version: "0.1.0".into(),
        publisher: "acme".into(),
        description: "tickets over MCP".into(),
        kind: PluginKind::Mcp,
        config_schema: vec![
            field("url", ConfigKind::Url, false),
            field("token", ConfigKind::String, true),
        ],
        tools: vec![tool("get_ticket"), tool("close_ticket")],
    };
    manifest.validate().unwrap();
    manifest
}

#[tokio::test]
async fn streamable_http_discover_connect_and_call() {
    let (url, seen) = serve().await;
    let discovered = discover(&spec(), &config(&url)).await.unwrap();
    let names: Vec<(&str, Access)> = discovered
        .iter()
        .map(|t| (t.name.as_str(), t.access))
        .collect();
    assert_eq!(
        names,
        [
            ("get_ticket", Access::Read),
            ("close_ticket", Access::Write)
        ]
    );

    let toolset = McpToolset::connect(&manifest(), &spec(), &config(&url))
        .await
        .unwrap();
    let access: Vec<Access> = toolset.manifests().iter().map(|t| t.access).collect();
    assert_eq!(access, [Access::Read, Access::Write]);

    let out = toolset
        .call(&ToolCall::new("get_ticket").arg("id", "T-1"))
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(out.text, "ticket T-1: open");

    let out = toolset
        .call(&ToolCall::new("close_ticket").arg("id", "T-1"))
        .await;
    assert!(out.is_error);
    assert_eq!(out.text, "cannot close T-1 with token [redacted]");

    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|h| h == &format!("Bearer {TOKEN}")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn an_unreachable_url_is_a_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut config = config(&url);
    config.0.insert("timeout_seconds".into(), json!(2));
    let e = McpToolset::connect(&manifest(), &spec(), &config)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("cannot start or reach the MCP server"), "{e}");
    assert!(!e.contains(TOKEN), "{e}");
}
