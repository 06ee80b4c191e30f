//! Starting or reaching an MCP server and running the initialize handshake with rmcp.

use crate::McpError;
use crate::spec::Launch;
use rmcp::ServiceExt;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A live client session; dropping it closes the connection (and kills a stdio server).
pub(crate) type Session = RunningService<RoleClient, ()>;

/// Longest stderr line of a stdio server that is logged.
const MAX_LOG_LINE: usize = 1024;

/// Starts (stdio) or reaches (HTTP) the server and initializes the session within `timeout`.
/// `label` names the plugin in logs.
pub(crate) async fn open(
    launch: &Launch,
    timeout: Duration,
    label: &str,
) -> Result<Session, McpError> {
    let handshake = async {
        match launch {
            Launch::Stdio { command, args, env } => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(args)
                    .env_clear()
                    .envs(Launch::child_env(env))
                    .kill_on_drop(true);
                let (transport, stderr) = TokioChildProcess::builder(cmd)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| McpError::Connect(format!("cannot start `{command}`: {e}")))?;
                if let Some(stderr) = stderr {
                    let label = label.to_string();
                    tokio::spawn(async move {
                        let mut lines = BufReader::new(stderr).lines();
                        while let Ok(Some(mut line)) = lines.next_line().await {
                            if line.len() > MAX_LOG_LINE {
                                let mut end = MAX_LOG_LINE;
                                while !line.is_char_boundary(end) {
                                    end -= 1;
                                }
                                line.truncate(end);
                            }
                            tracing::debug!(plugin = %label, "mcp server stderr: {line}");
                        }
                    });
                }
                ().serve(transport).await.map_err(|e| {
                    McpError::Connect(format!(
                        "`{command}` did not complete the MCP handshake: {e}"
                    ))
                })
            }
            Launch::Http { url, headers } => {
                let headers: HashMap<_, _> = headers.iter().cloned().collect();
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(headers);
                let transport = StreamableHttpClientTransport::from_config(config);
                ().serve(transport).await.map_err(|e| {
                    McpError::Connect(format!("{url} did not complete the MCP handshake: {e}"))
                })
            }
        }
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| {
            McpError::Connect(format!(
                "the server did not complete the MCP handshake within {}s",
                timeout.as_secs()
            ))
        })?
}
