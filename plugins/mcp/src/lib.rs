//! aoi-plugin-mcp: the MCP plugin kind.
//!
//! An MCP plugin package's payload is a launch spec: a command to start as a child process
//! speaking MCP over stdio, or a streamable-HTTP URL, with `{config.key}` placeholders filled
//! from the installation's config. [`McpToolset::connect`] starts or reaches the server with the
//! rmcp client, lists its tools and offers those the signed manifest declares, each with the
//! stricter of the manifest's access and the server's hints (read only for `readOnlyHint` without
//! `destructiveHint`). A dead server is restarted on the next call; every call has a timeout
//! (config `timeout_seconds`). [`discover`] lists a server's tools as manifest entries for an
//! author. The format is described in docs/plugin-kinds.md.
//!
//! Depends on the plugin SDK and package crates and rmcp; it must not depend on the server, the
//! store or the agent runtime.

mod access;
mod connection;
mod render;
mod spec;
mod tools;

use aoi_plugin_sdk::ConfigError;

pub use access::{MCP_RESOURCE, snake_name};
pub use render::MAX_OUTPUT;
pub use spec::check_spec;
pub use tools::{DEFAULT_TIMEOUT_SECONDS, McpToolset, discover};

/// Why an MCP plugin could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The launch spec (or the manifest it goes with) is wrong at `place`, e.g. `spec.args[0]`.
    #[error("{place}: {message}")]
    Spec { place: String, message: String },
    /// The installation's config lacks or has a bad value.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The server could not be started, reached or initialized.
    #[error("cannot start or reach the MCP server: {0}")]
    Connect(String),
    /// The server answered a request wrongly or not at all.
    #[error("the MCP server failed: {0}")]
    Server(String),
    /// The server has none of the manifest's tools.
    #[error(
        "the MCP server offers none of the manifest's tools ({}); check the launch spec and the server's version",
        missing.join(", ")
    )]
    NoTools { missing: Vec<String> },
}
