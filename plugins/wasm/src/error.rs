//! What can go wrong when checking or loading a WASM plugin module.

use aoi_plugin_sdk::ConfigError;
use thiserror::Error;

/// Why a module or an installation was refused. Each message names the import, export, field or
/// limit at fault and says what the plugin author or admin should change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WasmError {
    /// The bytes are not a valid WebAssembly module (or a feature the sandbox does not enable).
    #[error("the module does not compile: {0}")]
    Compile(String),
    /// An import the sandbox does not provide.
    #[error("imports {module}.{name}: {reason}")]
    Import {
        module: String,
        name: String,
        reason: String,
    },
    /// A required export is missing or has the wrong type.
    #[error("export `{name}`: {reason}")]
    Export { name: String, reason: String },
    /// The manifest does not describe a WASM plugin the sandbox can run.
    #[error("manifest: {0}")]
    Manifest(String),
    /// The installation's config is invalid (e.g. a bad `allowed_hosts` entry).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The module's declared memory or tables do not fit the installation's limits.
    #[error("limits: {0}")]
    Limits(String),
    /// The WASM engine or HTTP client could not be set up (a host problem, not the module's).
    #[error("the WASM sandbox could not start: {0}")]
    Sandbox(String),
}
