//! http-prober: an example AOI WASM plugin with one read tool, `probe_http`.
//!
//! It shows the whole guest side of the AOI plugin ABI (docs/plugin-tutorial-wasm.md):
//! exports `memory`, `aoi_alloc` and `aoi_call`; imports `aoi.http_get` and `aoi.log`. Every call
//! runs in a fresh instance, so memory handed out by `aoi_alloc` is never freed: the instance is
//! dropped after the call.

use serde::{Deserialize, Serialize};

// The host functions (module `aoi`). Pointers and lengths are 32-bit on wasm32.
#[link(wasm_import_module = "aoi")]
unsafe extern "C" {
    /// GET a URL; returns `ptr << 32 | len` of `{"status": u16, "body": "..."}` or `{"error": "..."}`.
    #[link_name = "http_get"]
    fn aoi_http_get(url_ptr: *const u8, url_len: usize) -> i64;
    /// Write one line to the server's log.
    #[link_name = "log"]
    fn aoi_log(ptr: *const u8, len: usize);
}

/// Host: "give me `len` bytes to write into". The buffer is leaked on purpose (see above).
#[unsafe(no_mangle)]
pub extern "C" fn aoi_alloc(len: i32) -> i32 {
    let buffer = vec![0u8; len.max(0) as usize].into_boxed_slice();
    Box::leak(buffer).as_mut_ptr() as i32
}

/// Host: "run tool `name` with these JSON arguments". Returns `ptr << 32 | len` of
/// `{"text": "...", "is_error": bool}`.
#[unsafe(no_mangle)]
pub extern "C" fn aoi_call(name_ptr: i32, name_len: i32, args_ptr: i32, args_len: i32) -> i64 {
    // SAFETY: the host wrote these ranges through `aoi_alloc` just before the call.
    let name = unsafe { guest_bytes(name_ptr, name_len) };
    let args = unsafe { guest_bytes(args_ptr, args_len) };
    let output = match name {
        b"probe_http" => probe_http(args),
        other => Output::error(format!(
            "http-prober has no tool {}",
            String::from_utf8_lossy(other)
        )),
    };
    let json = serde_json::to_vec(&output).unwrap_or_else(|_| {
        br#"{"text":"http-prober: cannot encode the output","is_error":true}"#.to_vec()
    });
    pack(Box::leak(json.into_boxed_slice()))
}

/// # Safety
/// `ptr..ptr + len` must be initialized memory of this instance.
unsafe fn guest_bytes<'a>(ptr: i32, len: i32) -> &'a [u8] {
    if len <= 0 {
        return &[];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }
}

fn pack(bytes: &[u8]) -> i64 {
    ((bytes.as_ptr() as usize as i64) << 32) | bytes.len() as i64
}

fn log(line: &str) {
    // SAFETY: a valid string slice of this instance's memory.
    unsafe { aoi_log(line.as_ptr(), line.len()) }
}

#[derive(Serialize)]
struct Output {
    text: String,
    is_error: bool,
}

impl Output {
    fn ok(text: String) -> Self {
        Output {
            text,
            is_error: false,
        }
    }
    fn error(text: String) -> Self {
        Output {
            text,
            is_error: true,
        }
    }
}

#[derive(Deserialize)]
struct ProbeArgs {
    url: String,
    expect_status: Option<u16>,
}

/// What the host answers to `http_get`.
#[derive(Deserialize)]
struct HttpReply {
    status: Option<u16>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    truncated: bool,
    error: Option<String>,
}

fn http_get(url: &str) -> Result<HttpReply, String> {
    // SAFETY: a valid string slice; the host writes its reply through `aoi_alloc`.
    let packed = unsafe { aoi_http_get(url.as_ptr(), url.len()) };
    let (ptr, len) = ((packed >> 32) as i32, (packed & 0xffff_ffff) as i32);
    // SAFETY: the host wrote `len` bytes at `ptr`, inside a buffer from `aoi_alloc`.
    let bytes = unsafe { guest_bytes(ptr, len) };
    serde_json::from_slice(bytes).map_err(|e| format!("the host's reply is not JSON: {e}"))
}

fn probe_http(args: &[u8]) -> Output {
    let args: ProbeArgs = match serde_json::from_slice(args) {
        Ok(args) => args,
        Err(e) => return Output::error(format!("probe_http: bad arguments: {e}")),
    };
    log(&format!("probe_http GET {}", args.url));
    let reply = match http_get(&args.url) {
        Ok(reply) => reply,
        Err(e) => return Output::error(format!("probe_http {}: {e}", args.url)),
    };
    if let Some(error) = reply.error {
        return Output::error(format!("probe_http {}: {error}", args.url));
    }
    let Some(status) = reply.status else {
        return Output::error(format!(
            "probe_http {}: the host's reply has no status",
            args.url
        ));
    };
    let mut text = format!("GET {}\nstatus: {status}\n", args.url);
    if let Some(expected) = args.expect_status {
        let verdict = if expected == status {
            "matched"
        } else {
            "DID NOT MATCH"
        };
        text.push_str(&format!("expected status: {expected} ({verdict})\n"));
    }
    let cut = if reply.truncated {
        " (cut at the sandbox's response limit; the body is larger)"
    } else {
        ""
    };
    text.push_str(&format!("body: {} bytes{cut}\n", reply.body.len()));
    let start: String = reply.body.chars().take(200).collect();
    let more = if start.len() < reply.body.len() {
        " ..."
    } else {
        ""
    };
    text.push_str(&format!("first 200 characters:\n{start}{more}"));
    Output::ok(text)
}
