//! [`McpToolset`]: the manifest's tools, served by an MCP server over one session that is
//! reopened on the next call after it dies; and [`discover`], the server's tools as manifest
//! entries.

use crate::McpError;
use crate::access::{discovered, server_access, snake_name, stricter};
use crate::connection::{Session, open};
use crate::render::{result_text, truncate};
use crate::spec::{ConfigScope, Launch, resolve};
use aoi_core::{ToolCall, ToolOutput};
use aoi_plugin_package::{PluginKind, PluginManifest};
use aoi_plugin_sdk::{ConfigError, PluginConfig, ToolManifest, Toolset, check_args};
use async_trait::async_trait;
use rmcp::model::{CallToolRequestParams, Tool};
use rmcp::service::{Peer, RoleClient, ServiceError};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::Mutex;

/// Used when the config has no `timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

fn timeout_of(config: &PluginConfig) -> Result<Duration, ConfigError> {
    let seconds = match config.0.get("timeout_seconds") {
        None | Some(Value::Null) => DEFAULT_TIMEOUT_SECONDS,
        Some(_) => match config.u64("timeout_seconds") {
            Some(n) if (1..=3600).contains(&n) => n,
            _ => {
                return Err(ConfigError::new(
                    "timeout_seconds",
                    "must be a whole number of seconds from 1 to 3600",
                ));
            }
        },
    };
    Ok(Duration::from_secs(seconds))
}

/// A tool offered to the agent and the server tool it calls.
struct Offered {
    manifest: ToolManifest,
    server_name: String,
}

/// The session and how many times it was opened, so a failed call resets only the session
/// it used.
struct Live {
    session: Option<Session>,
    generation: u64,
}

/// The tools of one installed MCP plugin. `Debug` shows no config values.
pub struct McpToolset {
    plugin: String,
    launch: Launch,
    timeout: Duration,
    secrets: Vec<String>,
    offered: Vec<Offered>,
    missing: Vec<String>,
    live: Mutex<Live>,
}

impl std::fmt::Debug for McpToolset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpToolset")
            .field("plugin", &self.plugin)
            .field("launch", &self.launch)
            .field(
                "tools",
                &self
                    .offered
                    .iter()
                    .map(|t| &t.manifest.name)
                    .collect::<Vec<_>>(),
            )
            .field("missing", &self.missing)
            .finish()
    }
}

async fn list_tools(session: &Session, timeout: Duration) -> Result<Vec<Tool>, McpError> {
    match tokio::time::timeout(timeout, session.list_all_tools()).await {
        Ok(Ok(tools)) => Ok(tools),
        Ok(Err(e)) => Err(McpError::Server(format!("tools/list failed: {e}"))),
        Err(_) => Err(McpError::Server(format!(
            "tools/list got no answer within {}s",
            timeout.as_secs()
        ))),
    }
}

/// The server tool a manifest tool stands for: the same name in snake_case, or with the
/// plugin's name (`-` as `_`) and `_` in front.
fn find_server_tool<'a>(tools: &'a [Tool], name: &str, prefix: &str) -> Option<&'a Tool> {
    tools
        .iter()
        .find(|t| snake_name(&t.name) == name)
        .or_else(|| {
            let bare = name.strip_prefix(prefix)?;
            tools.iter().find(|t| snake_name(&t.name) == bare)
        })
}

/// The server's tools mapped as [`McpToolset::connect`] maps them (names in snake_case, access
/// from the hints, resource `mcp`), so an author can generate a manifest. Starts or reaches the
/// server and closes the session again.
pub async fn discover(
    spec_payload: &[u8],
    config: &PluginConfig,
) -> Result<Vec<ToolManifest>, McpError> {
    let scope = ConfigScope {
        config,
        declared: None,
        secrets: HashSet::new(),
    };
    let launch = resolve(spec_payload, &scope)?;
    let timeout = timeout_of(config)?;
    let session = open(&launch, timeout, "discover").await?;
    let tools = list_tools(&session, timeout).await;
    let _ = session.cancel().await;
    let mut seen = HashSet::new();
    Ok(tools?
        .iter()
        .map(discovered)
        .filter(|m| seen.insert(m.name.clone()))
        .collect())
}

impl McpToolset {
    /// Starts or reaches the server, lists its tools and offers those the manifest declares,
    /// each with the stricter of the manifest's access and the server's hints. Manifest tools
    /// the server lacks are logged and listed by [`McpToolset::missing_tools`]; none at all in
    /// common is an error.
    pub async fn connect(
        manifest: &PluginManifest,
        spec_payload: &[u8],
        config: &PluginConfig,
    ) -> Result<McpToolset, McpError> {
        if manifest.kind != PluginKind::Mcp {
            return Err(McpError::Spec {
                place: "manifest.kind".into(),
                message: format!(
                    "is {:?}; an MCP launch spec belongs to a manifest of kind mcp",
                    manifest.kind
                ),
            });
        }
        for field in manifest.config_schema.iter().filter(|f| f.required) {
            match config.0.get(&field.name) {
                None | Some(Value::Null) => {
                    return Err(ConfigError::new(&field.name, "is required").into());
                }
                Some(Value::String(s)) if s.is_empty() => {
                    return Err(ConfigError::new(&field.name, "is required").into());
                }
                Some(_) => {}
            }
        }
        let scope = ConfigScope {
            config,
            declared: Some(
                manifest
                    .config_schema
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect(),
            ),
            secrets: manifest
                .config_schema
                .iter()
                .filter(|f| f.secret)
                .map(|f| f.name.as_str())
                .collect(),
        };
        let launch = resolve(spec_payload, &scope)?;
        let secrets: Vec<String> = manifest
            .config_schema
            .iter()
            .filter(|f| f.secret)
            .filter_map(|f| match config.0.get(&f.name)? {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .filter(|s| !s.is_empty())
            .collect();
        let timeout = timeout_of(config)?;
        let session = open(&launch, timeout, &manifest.name)
            .await
            .map_err(|e| e.redacted(&secrets))?;
        let tools = list_tools(&session, timeout)
            .await
            .map_err(|e| e.redacted(&secrets))?;
        let prefix = format!("{}_", manifest.name.replace('-', "_"));
        let mut offered = Vec::new();
        let mut missing = Vec::new();
        for tool in &manifest.tools {
            let Some(server_tool) = find_server_tool(&tools, &tool.name, &prefix) else {
                missing.push(tool.name.clone());
                continue;
            };
            let mut entry = tool.clone();
            entry.access = stricter(tool.access, server_access(server_tool));
            offered.push(Offered {
                manifest: entry,
                server_name: server_tool.name.to_string(),
            });
        }
        if offered.is_empty() {
            let _ = session.cancel().await;
            return Err(McpError::NoTools { missing });
        }
        if !missing.is_empty() {
            tracing::warn!(
                plugin = %manifest.name,
                missing = ?missing,
                "the MCP server lacks tools the manifest declares; they are not offered"
            );
        }
        Ok(McpToolset {
            plugin: manifest.name.clone(),
            launch,
            timeout,
            secrets,
            offered,
            missing,
            live: Mutex::new(Live {
                session: Some(session),
                generation: 1,
            }),
        })
    }

    /// Manifest tools the server did not have when connecting.
    pub fn missing_tools(&self) -> &[String] {
        &self.missing
    }

    /// Closes the session (a stdio server is asked to stop); the next call opens a new one.
    pub async fn shutdown(&self) {
        let session = self.live.lock().await.session.take();
        if let Some(session) = session {
            let _ = session.cancel().await;
        }
    }

    fn redact(&self, text: &str) -> String {
        redact(text, &self.secrets)
    }

    /// The live session's peer, opening a new session when there is none or it has closed.
    async fn peer(&self) -> Result<(Peer<RoleClient>, u64), McpError> {
        let mut live = self.live.lock().await;
        if let Some(session) = &live.session
            && !session.is_transport_closed()
        {
            return Ok((session.peer().clone(), live.generation));
        }
        live.session = None;
        let session = open(&self.launch, self.timeout, &self.plugin).await?;
        let peer = session.peer().clone();
        live.session = Some(session);
        live.generation += 1;
        Ok((peer, live.generation))
    }

    /// Drops the session opened as `generation` (not a newer one another call opened).
    async fn reset(&self, generation: u64) {
        let mut live = self.live.lock().await;
        if live.generation == generation {
            live.session = None;
        }
    }

    async fn call_server(&self, tool: &str, server_name: &str, call: &ToolCall) -> ToolOutput {
        let (peer, generation) = match self.peer().await {
            Ok(p) => p,
            Err(e) => return ToolOutput::error(format!("{tool}: {e}; the next call tries again")),
        };
        let params =
            CallToolRequestParams::new(server_name.to_string()).with_arguments(call.args.clone());
        match tokio::time::timeout(self.timeout, peer.call_tool(params)).await {
            Err(_) => {
                self.reset(generation).await;
                ToolOutput::error(format!(
                    "{tool}: the MCP server did not answer within {}s; the session was closed and the next call opens a new one",
                    self.timeout.as_secs()
                ))
            }
            Ok(Err(ServiceError::McpError(e))) => ToolOutput::error(format!(
                "{tool}: the MCP server refused the call: {}",
                e.message
            )),
            Ok(Err(e)) => {
                self.reset(generation).await;
                ToolOutput::error(format!(
                    "{tool}: the MCP server connection failed ({e}); the next call starts it again"
                ))
            }
            Ok(Ok(result)) => {
                let result = serde_json::to_value(&result).unwrap_or(Value::Null);
                let (text, is_error) = result_text(&result);
                let text = truncate(self.redact(&text));
                if is_error {
                    ToolOutput::error(text)
                } else {
                    ToolOutput::ok(text)
                }
            }
        }
    }
}

/// `text` with every secret value replaced by `[redacted]`.
fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "[redacted]");
        }
    }
    out
}

impl McpError {
    fn redacted(self, secrets: &[String]) -> McpError {
        match self {
            McpError::Connect(m) => McpError::Connect(redact(&m, secrets)),
            McpError::Server(m) => McpError::Server(redact(&m, secrets)),
            other => other,
        }
    }
}

#[async_trait]
impl Toolset for McpToolset {
    fn manifests(&self) -> Vec<ToolManifest> {
        self.offered.iter().map(|t| t.manifest.clone()).collect()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        let Some(tool) = self.offered.iter().find(|t| t.manifest.name == call.tool) else {
            return ToolOutput::error(format!(
                "{}: no such tool in plugin {}",
                call.tool, self.plugin
            ));
        };
        if let Err(e) = check_args(&tool.manifest, call) {
            return ToolOutput::error(e);
        }
        let output = self.call_server(&call.tool, &tool.server_name, call).await;
        if output.is_error {
            ToolOutput::error(self.redact(&output.text))
        } else {
            output
        }
    }
}
