//! [`WasmToolset`]: one installation of a WASM plugin, and how one tool call runs.

use crate::WasmError;
use crate::abi::{EPOCH_TICK, compile, engine};
use crate::config::AllowedHosts;
use crate::host::{CallState, HostTrap, Network, linker};
use aoi_core::{Access, ToolCall, ToolOutput};
use aoi_plugin_package::{PluginKind, PluginManifest};
use aoi_plugin_sdk::{PluginConfig, ToolManifest, Toolset, check_args};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use wasmtime::{ExternType, InstancePre, Store, StoreLimitsBuilder, Trap, TypedFunc};

/// The most bytes of a tool's text shown to the agent; more is cut with a note.
const MAX_OUTPUT_TEXT: usize = 16 * 1024;
const WASM_PAGE: u64 = 64 * 1024;

/// What one call may use. Every call gets the full amount afresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmLimits {
    /// Fuel units (about one per WASM instruction).
    pub fuel: u64,
    /// Wall-clock time of the whole call, host requests included.
    pub timeout: Duration,
    /// The largest the module's linear memory may grow.
    pub max_memory_bytes: usize,
    /// The largest HTTP response body handed to the guest (cut beyond, with `"truncated": true`)
    /// and the largest result the guest may return.
    pub max_response_bytes: usize,
}

impl Default for WasmLimits {
    fn default() -> Self {
        WasmLimits {
            fuel: 200_000_000,
            timeout: Duration::from_secs(5),
            max_memory_bytes: 64 << 20,
            max_response_bytes: 1 << 20,
        }
    }
}

/// `5 s`, `1.5 s` or `300 ms`.
fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else if d.as_secs() > 0 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The JSON a guest's `aoi_call` returns.
#[derive(Deserialize)]
struct GuestOutput {
    text: String,
    #[serde(default)]
    is_error: bool,
}

/// What a call shares with every other call of the installation.
struct Installed {
    plugin: String,
    tools: Vec<ToolManifest>,
    instance: InstancePre<CallState>,
    network: Arc<Network>,
    limits: WasmLimits,
}

/// A WASM plugin installation as a [`Toolset`]. The module is compiled once; every call gets a
/// fresh store and instance (nothing survives between calls) with its own fuel, deadline and
/// memory limit.
#[derive(Clone)]
pub struct WasmToolset {
    inner: Arc<Installed>,
}

impl std::fmt::Debug for WasmToolset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmToolset")
            .field("plugin", &self.inner.plugin)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl WasmToolset {
    /// Checks the manifest (kind `wasm`), compiles and checks the module, reads the config's
    /// `allowed_hosts` and checks the module's declared memory against the limits.
    pub fn load(
        manifest: &PluginManifest,
        module: &[u8],
        config: &PluginConfig,
        limits: WasmLimits,
    ) -> Result<WasmToolset, WasmError> {
        if manifest.kind != PluginKind::Wasm {
            return Err(WasmError::Manifest(format!(
                "plugin {} has kind {:?}; the WASM sandbox runs only kind wasm",
                manifest.name, manifest.kind
            )));
        }
        manifest
            .validate()
            .map_err(|e| WasmError::Manifest(e.to_string()))?;
        let allowed = AllowedHosts::from_config(config)?;
        let module = compile(module)?;
        if let Some(ExternType::Memory(m)) = module.get_export("memory") {
            let min = m.minimum().saturating_mul(WASM_PAGE);
            if min > limits.max_memory_bytes as u64 {
                return Err(WasmError::Limits(format!(
                    "the module's memory starts at {min} bytes; this installation allows {} bytes",
                    limits.max_memory_bytes
                )));
            }
        }
        let linker = linker(engine()?).map_err(|e| WasmError::Sandbox(format!("{e:#}")))?;
        let instance = linker
            .instantiate_pre(&module)
            .map_err(|e| WasmError::Compile(format!("{e:#}")))?;
        let network = Network::new(allowed).map_err(WasmError::Sandbox)?;
        Ok(WasmToolset {
            inner: Arc::new(Installed {
                plugin: manifest.name.clone(),
                tools: manifest.tools.clone(),
                instance,
                network: Arc::new(network),
                limits,
            }),
        })
    }

    /// How many guest requests this installation refused (host not allowed, bad URL) so far.
    pub fn refused_requests(&self) -> u64 {
        self.inner.network.refused()
    }
}

/// A failed call, as the tool's error text says it.
fn describe(err: &wasmtime::Error, limits: &WasmLimits) -> String {
    if let Some(host) = err.downcast_ref::<HostTrap>() {
        return format!("stopped: {host}");
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => format!(
            "stopped: ran out of fuel (the limit is {} units per call)",
            limits.fuel
        ),
        Some(Trap::Interrupt) => {
            format!("stopped: exceeded the {} time limit", human(limits.timeout))
        }
        Some(trap) => {
            format!("the module trapped ({trap}); a Rust guest traps like this when it panics")
        }
        None => format!("{err:#}"),
    }
}

fn cut(mut text: String) -> String {
    if text.len() <= MAX_OUTPUT_TEXT {
        return text;
    }
    let total = text.len();
    let mut end = MAX_OUTPUT_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("\n[output cut at {end} of {total} bytes]"));
    text
}

impl Installed {
    /// Runs one call on the current (blocking) thread.
    fn run(&self, tool: &str, access: Access, args: &str, runtime: Handle) -> ToolOutput {
        match self.try_run(tool, access, args, runtime) {
            Ok(out) if out.is_error => ToolOutput::error(cut(out.text)),
            Ok(out) => ToolOutput::ok(cut(out.text)),
            Err(message) => {
                ToolOutput::error(format!("{tool} ({} plugin): {message}", self.plugin))
            }
        }
    }

    fn try_run(
        &self,
        tool: &str,
        access: Access,
        args: &str,
        runtime: Handle,
    ) -> Result<GuestOutput, String> {
        let limits = &self.limits;
        let state = CallState {
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.max_memory_bytes)
                .instances(1)
                .memories(1)
                .tables(4)
                .table_elements(100_000)
                .build(),
            plugin: self.plugin.clone(),
            tool: tool.to_string(),
            access,
            network: self.network.clone(),
            runtime,
            deadline: Instant::now() + limits.timeout,
            max_response_bytes: limits.max_response_bytes,
            log_lines: 0,
        };
        let engine = engine().map_err(|e| e.to_string())?;
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);
        store
            .set_fuel(limits.fuel)
            .map_err(|e| format!("cannot set fuel: {e:#}"))?;
        let ticks = limits
            .timeout
            .as_millis()
            .div_ceil(EPOCH_TICK.as_millis())
            .max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        let fail = |e: wasmtime::Error| describe(&e, limits);

        let instance = self.instance.instantiate(&mut store).map_err(fail)?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or("the module has no exported `memory`")?;
        let alloc: TypedFunc<i32, i32> = instance
            .get_typed_func(&mut store, "aoi_alloc")
            .map_err(fail)?;
        let call: TypedFunc<(i32, i32, i32, i32), i64> = instance
            .get_typed_func(&mut store, "aoi_call")
            .map_err(fail)?;
        let put = |store: &mut Store<CallState>, bytes: &[u8]| -> Result<(i32, i32), String> {
            let len = i32::try_from(bytes.len())
                .map_err(|_| "the arguments are too large".to_string())?;
            let ptr = alloc.call(&mut *store, len).map_err(fail)?;
            memory
                .write(&mut *store, ptr as u32 as usize, bytes)
                .map_err(|_| {
                    format!("aoi_alloc({len}) returned {ptr}, outside the module's memory")
                })?;
            Ok((ptr, len))
        };
        let (name_ptr, name_len) = put(&mut store, tool.as_bytes())?;
        let (args_ptr, args_len) = put(&mut store, args.as_bytes())?;
        let packed = call
            .call(&mut store, (name_ptr, name_len, args_ptr, args_len))
            .map_err(fail)?;

        let (ptr, len) = (
            (packed as u64 >> 32) as usize,
            (packed as u64 & 0xffff_ffff) as usize,
        );
        if len > limits.max_response_bytes {
            return Err(format!(
                "the result is {len} bytes; the most a tool may return is {}",
                limits.max_response_bytes
            ));
        }
        let bytes = memory
            .data(&store)
            .get(ptr..ptr.saturating_add(len))
            .ok_or_else(|| {
                format!(
                    "aoi_call returned a result (ptr {ptr}, len {len}) outside the module's memory"
                )
            })?;
        serde_json::from_slice::<GuestOutput>(bytes).map_err(|e| {
            format!("aoi_call returned something other than {{\"text\": ..., \"is_error\": ...}} JSON: {e}")
        })
    }
}

#[async_trait]
impl Toolset for WasmToolset {
    fn manifests(&self) -> Vec<ToolManifest> {
        self.inner.tools.clone()
    }

    /// Runs the call on a blocking thread: the guest is synchronous WASM, and its HTTP host calls
    /// wait with `Handle::block_on` on that thread. This keeps wasmtime's plain synchronous API
    /// (no fibers, no async feature) while the async runtime's workers never block; fuel and the
    /// epoch deadline stop the guest, the request timeout (the call's remaining time) stops a host
    /// wait.
    async fn call(&self, call: &ToolCall) -> ToolOutput {
        let Some(tool) = self.inner.tools.iter().find(|t| t.name == call.tool) else {
            let names: Vec<&str> = self.inner.tools.iter().map(|t| t.name.as_str()).collect();
            return ToolOutput::error(format!(
                "{}: the {} plugin has no such tool; it has {}",
                call.tool,
                self.inner.plugin,
                names.join(", ")
            ));
        };
        if let Err(e) = check_args(tool, call) {
            return ToolOutput::error(e);
        }
        let args = match serde_json::to_string(&call.args) {
            Ok(args) => args,
            Err(e) => return ToolOutput::error(format!("{}: arguments: {e}", call.tool)),
        };
        let Ok(runtime) = Handle::try_current() else {
            return ToolOutput::error(format!(
                "{}: the WASM sandbox must be called inside a tokio runtime",
                call.tool
            ));
        };
        let inner = self.inner.clone();
        let (name, access) = (tool.name.clone(), tool.access);
        match tokio::task::spawn_blocking(move || inner.run(&name, access, &args, runtime)).await {
            Ok(output) => output,
            Err(e) => ToolOutput::error(format!("{}: the sandbox thread failed: {e}", call.tool)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_secs(5)), "5 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_millis(300)), "300 ms");
    }

    #[test]
    fn long_text_is_cut_with_a_note() {
        let text = "é".repeat(MAX_OUTPUT_TEXT);
        let out = cut(text);
        assert!(out.len() < MAX_OUTPUT_TEXT + 100);
        assert!(out.ends_with(&format!("of {} bytes]", 2 * MAX_OUTPUT_TEXT)));
        assert_eq!(cut("short".into()), "short");
    }
}
