//! aoi-plugin-wasm: the sandbox that runs third-party WASM plugins as tools.
//!
//! It owns the guest/host ABI ([`check_module`], used at upload time), the host functions a
//! guest may import (`aoi.http_get`, `aoi.http_post`, `aoi.log`, nothing else: no WASI), the
//! network policy of an installation (`allowed_hosts`) and the per-call limits ([`WasmLimits`]:
//! fuel, wall-clock time by epoch interruption, memory, response size). [`WasmToolset`] is one
//! installation as an [`aoi_plugin_sdk::Toolset`]. The ABI is documented in
//! docs/plugin-tutorial-wasm.md.
//!
//! It must not depend on the platform, the store or the server: installing, signing and auditing
//! plugins is theirs; package verification is in aoi-plugin-package.

mod abi;
mod config;
mod error;
mod host;
mod toolset;

pub use abi::{HOST_MODULE, check_module};
pub use config::{ALLOWED_HOSTS, AllowedHosts};
pub use error::WasmError;
pub use toolset::{WasmLimits, WasmToolset};
