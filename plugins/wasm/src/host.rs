//! The host functions a guest may import from module `aoi`, and the per-call state they see.
//!
//! `http_get` (a read) and `http_post` (a write) reach only the installation's `allowed_hosts`;
//! `log` writes a capped line to the server log. Results go back to the guest as JSON written into
//! its memory through its own `aoi_alloc`, returned as `ptr << 32 | len`.

use crate::config::AllowedHosts;
use aoi_core::Access;
use reqwest::{Client, Method, redirect};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use wasmtime::{Caller, Linker, Memory, StoreLimits};

/// The most log lines one call may write, and the most bytes kept of one line.
const MAX_LOG_LINES: u32 = 100;
const MAX_LOG_LINE: usize = 2048;
/// The most bytes of a URL a guest may pass.
const MAX_URL: usize = 8192;
/// Redirects are followed only to allowed hosts, at most this many times.
const MAX_REDIRECTS: usize = 5;

/// A host function stopped the call; the message becomes the tool's error output.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HostTrap(pub String);

fn trap(message: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap(message.into()))
}

/// The network side of one installation: its client, its allowed hosts and its refusals.
pub(crate) struct Network {
    client: Client,
    allowed: Arc<AllowedHosts>,
    refused: AtomicU64,
}

impl Network {
    pub(crate) fn new(allowed: AllowedHosts) -> Result<Self, String> {
        let allowed = Arc::new(allowed);
        let for_redirects = allowed.clone();
        // A redirect is a new request: it must pass the same host check, or an allowed host
        // could bounce the guest anywhere.
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match for_redirects.check(attempt.url().as_str()) {
                Ok(_) => attempt.follow(),
                Err(why) => attempt.error(format!("redirect refused: {why}")),
            }
        });
        let client = Client::builder()
            .redirect(policy)
            .user_agent(concat!("aoi-wasm-plugin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Network {
            client,
            allowed,
            refused: AtomicU64::new(0),
        })
    }

    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// What one call's store holds: its limits and what its host functions may do.
pub(crate) struct CallState {
    pub(crate) limits: StoreLimits,
    pub(crate) plugin: String,
    pub(crate) tool: String,
    pub(crate) access: Access,
    pub(crate) network: Arc<Network>,
    pub(crate) runtime: Handle,
    pub(crate) deadline: Instant,
    pub(crate) max_response_bytes: usize,
    pub(crate) log_lines: u32,
}

fn memory(caller: &mut Caller<'_, CallState>) -> wasmtime::Result<Memory> {
    caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or_else(|| trap("the module has no exported `memory`"))
}

/// Copies `len` bytes at `ptr` out of guest memory, refusing a range outside it.
fn read_bytes(
    caller: &mut Caller<'_, CallState>,
    what: &str,
    ptr: i32,
    len: i32,
    max: usize,
) -> wasmtime::Result<Vec<u8>> {
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    if len > max {
        return Err(trap(format!("{what} is {len} bytes; the most is {max}")));
    }
    let memory = memory(caller)?;
    memory
        .data(&caller)
        .get(start..start.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            trap(format!(
                "{what} (ptr {start}, len {len}) is outside the module's memory"
            ))
        })
}

/// Writes `bytes` into a buffer from the guest's `aoi_alloc` and returns `ptr << 32 | len`.
pub(crate) fn write_to_guest(
    caller: &mut Caller<'_, CallState>,
    bytes: &[u8],
) -> wasmtime::Result<i64> {
    let len = i32::try_from(bytes.len()).map_err(|_| {
        trap(format!(
            "a host result of {} bytes is too large",
            bytes.len()
        ))
    })?;
    let alloc = caller
        .get_export("aoi_alloc")
        .and_then(|e| e.into_func())
        .ok_or_else(|| trap("the module has no exported `aoi_alloc`"))?
        .typed::<i32, i32>(&caller)?;
    let ptr = alloc.call(&mut *caller, len)?;
    let memory = memory(caller)?;
    memory
        .write(&mut *caller, ptr as u32 as usize, bytes)
        .map_err(|_| {
            trap(format!(
                "aoi_alloc({len}) returned {ptr}, which is not {len} bytes inside the module's memory"
            ))
        })?;
    Ok((i64::from(ptr as u32) << 32) | i64::from(len as u32))
}

/// Reads at most `max` bytes of a response body; says whether more were cut.
async fn capped_body(
    mut response: reqwest::Response,
    max: usize,
) -> reqwest::Result<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = max - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// One guest request: checked against allowed_hosts, then sent with the call's remaining time
/// as its timeout. The reply is what the guest sees.
fn request(state: &CallState, method: Method, url: &str, body: Option<Vec<u8>>) -> Value {
    let parsed = match state.network.allowed.check(url) {
        Ok(parsed) => parsed,
        Err(refusal) => {
            state.network.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                plugin = %state.plugin,
                tool = %state.tool,
                %refusal,
                "wasm plugin request refused"
            );
            return json!({ "error": refusal });
        }
    };
    let remaining = state.deadline.saturating_duration_since(Instant::now());
    if remaining < Duration::from_millis(1) {
        return json!({ "error": "the call's time limit is used up" });
    }
    let host = parsed.host_str().unwrap_or_default().to_string();
    let mut builder = state
        .network
        .client
        .request(method, parsed)
        .timeout(remaining);
    if let Some(body) = body {
        builder = builder.body(body);
    }
    let max = state.max_response_bytes;
    let result = state.runtime.block_on(async move {
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let (body, truncated) = capped_body(response, max).await?;
        Ok::<_, reqwest::Error>((status, body, truncated))
    });
    match result {
        Ok((status, body, truncated)) => {
            let mut reply = json!({ "status": status, "body": String::from_utf8_lossy(&body) });
            if truncated {
                reply["truncated"] = json!(true);
            }
            reply
        }
        Err(e) if e.is_timeout() => {
            json!({ "error": format!("request to {host} timed out: the call's time limit was reached") })
        }
        Err(e) => json!({ "error": format!("request to {host} failed: {}", error_chain(&e)) }),
    }
}

/// An error with its causes, e.g. `error sending request: connection refused`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn http(
    caller: &mut Caller<'_, CallState>,
    method: Method,
    url: (i32, i32),
    body: Option<(i32, i32)>,
) -> wasmtime::Result<i64> {
    let url = read_bytes(caller, "the URL", url.0, url.1, MAX_URL)?;
    let url = String::from_utf8(url).map_err(|_| trap("the URL is not UTF-8"))?;
    let body = match body {
        Some((ptr, len)) => {
            let max = caller.data().max_response_bytes;
            Some(read_bytes(caller, "the request body", ptr, len, max)?)
        }
        None => None,
    };
    let reply = request(caller.data(), method, &url, body);
    write_to_guest(caller, reply.to_string().as_bytes())
}

/// The linker with the three host functions; built once per installation.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap(
        crate::abi::HOST_MODULE,
        "http_get",
        |mut caller: Caller<'_, CallState>, ptr: i32, len: i32| {
            http(&mut caller, Method::GET, (ptr, len), None)
        },
    )?;
    linker.func_wrap(
        crate::abi::HOST_MODULE,
        "http_post",
        |mut caller: Caller<'_, CallState>, ptr: i32, len: i32, body_ptr: i32, body_len: i32| {
            if caller.data().access == Access::Read {
                return Err(trap(
                    "called aoi.http_post, a write host function from a read tool; declare the tool `write` or use aoi.http_get",
                ));
            }
            http(&mut caller, Method::POST, (ptr, len), Some((body_ptr, body_len)))
        },
    )?;
    linker.func_wrap(
        crate::abi::HOST_MODULE,
        "log",
        |mut caller: Caller<'_, CallState>, ptr: i32, len: i32| {
            if caller.data().log_lines >= MAX_LOG_LINES {
                return Ok(());
            }
            caller.data_mut().log_lines += 1;
            let len = (len as u32 as usize).min(MAX_LOG_LINE) as i32;
            let bytes = read_bytes(&mut caller, "the log line", ptr, len, MAX_LOG_LINE)?;
            // One line per call of `log`: control characters could forge other log lines.
            let line: String = String::from_utf8_lossy(&bytes)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let state = caller.data();
            tracing::info!(
                plugin = %state.plugin,
                tool = %state.tool,
                "wasm plugin: {line}"
            );
            Ok(())
        },
    )?;
    Ok(linker)
}
