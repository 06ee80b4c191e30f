//! aoi-plugin-http: the declarative HTTP plugin kind.
//!
//! An HTTP plugin package carries no code: its payload is a JSON spec giving, for each tool of
//! the (signed) manifest, a request template (method, path, query, headers, body with `{arg}`
//! and `{config.key}` placeholders) and a response extraction (JSON pointer, fields).
//! [`HttpSpec::parse`] checks the spec against the manifest once (every tool templated,
//! placeholders declared, secrets only in headers, `read` tools only GET/HEAD);
//! [`HttpToolset`] serves the tools against the installation's `base_url`. Outputs are capped at
//! [`MAX_OUTPUT`] bytes and never carry a secret config value. The format is described in
//! docs/plugin-kinds.md.
//!
//! Depends on the plugin SDK and package crates and reqwest; it must not depend on the server,
//! the store or the agent runtime.

mod config;
mod render;
mod spec;
mod template;
mod tools;

pub use config::DEFAULT_TIMEOUT_SECONDS;
pub use render::MAX_OUTPUT;
pub use spec::{Extract, HttpSpec, HttpSpecError, Method, ToolTemplate};
pub use tools::HttpToolset;
