//! Test guests written in WAT, a local HTTP server that counts what reaches it, and helpers.
#![allow(dead_code, clippy::unwrap_used)]

use aoi_core::{Access, ToolCall, ToolOutput};
use aoi_plugin_package::{PluginKind, PluginManifest};
use aoi_plugin_sdk::{PluginConfig, ToolManifest, Toolset};
use aoi_plugin_wasm::{WasmLimits, WasmToolset};
use axum::Router;
use axum::extract::State;
use axum::response::Redirect;
use axum::routing::get;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A server on 127.0.0.1:0 that answers `/` (GET and POST) with `hello from the test server`
/// `/slow` after 30 s, `/big` with 5,000 bytes of digits and `/redirect` with a redirect to `localhost` (same server, another host name).
pub struct TestServer {
    pub port: u16,
    hits: Arc<AtomicUsize>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let hits = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new()
            .route(
                "/",
                get(|State(h): State<Arc<AtomicUsize>>| async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    "hello from the test server"
                })
                .post(
                    |State(h): State<Arc<AtomicUsize>>, body: String| async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        format!("posted {body}")
                    },
                ),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    "too late"
                }),
            )
            .route(
                "/big",
                get(|State(h): State<Arc<AtomicUsize>>| async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    "0123456789".repeat(500)
                }),
            )
            .route(
                "/redirect",
                get(move |State(h): State<Arc<AtomicUsize>>| async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    Redirect::temporary(&format!("http://localhost:{port}/"))
                }),
            )
            .with_state(hits.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer { port, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The tools of [`guest_wat`]; `aoi_call` picks the behaviour by the name's first letter.
pub fn guest_tools() -> Vec<ToolManifest> {
    let tool = |name: &str, access: Access| ToolManifest {
        name: name.into(),
        description: format!("test tool {name}"),
        args_schema: json!({"type": "object", "properties": {}}),
        access,
        classifier: None,
        resource: "test".into(),
    };
    vec![
        tool("ok", Access::Read),
        tool("spin", Access::Read),
        tool("get_url", Access::Read),
        tool("redirected_get", Access::Read),
        tool("post_from_read", Access::Read),
        tool("post_from_write", Access::Write),
        tool("memory_hog", Access::Read),
        tool("unreachable_panic", Access::Read),
        tool("bad_pointer", Access::Read),
        tool("log_then_ok", Access::Read),
    ]
}

/// A guest with the ABI and one behaviour per tool (first letter of the name): `o` ok, `s` loop
/// forever, `g` GET `url`, `r` GET `redirect_url`, `p` POST "x" to `url`, `m` grow memory by
/// 128 MiB (answers an error when memory.grow fails), `u` trap, `b` return a pointer outside
/// memory, `l` log then ok. HTTP replies come back as `{"text": "<hex of the host's JSON>"}`.
pub fn guest_wat(url: &str, redirect_url: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "aoi" "http_get" (func $http_get (param i32 i32) (result i64)))
  (import "aoi" "http_post" (func $http_post (param i32 i32 i32 i32) (result i64)))
  (import "aoi" "log" (func $log (param i32 i32)))
  (memory (export "memory") 4)
  (global $heap (mut i32) (i32.const 0x20000))
  (data (i32.const 0x100) "0123456789abcdef")
  (data (i32.const 0x200) "{url}")
  (data (i32.const 0x1000) "{redirect_url}")
  (data (i32.const 0x400) "{{\"text\":\"fine\"}}")
  (data (i32.const 0x480) "{{\"text\":\"memory.grow failed\",\"is_error\":true}}")
  (data (i32.const 0x500) "x")
  (data (i32.const 0x600) "{{\"text\":\"")
  (data (i32.const 0x620) "\"}}")
  (data (i32.const 0x640) "a line from the guest")
  (func (export "aoi_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $len)))
    (local.get $p))
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  (func $hexout (param $r i64) (result i64)
    (local $src i32) (local $len i32) (local $i i32) (local $b i32) (local $dst i32)
    (local.set $src (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32))))
    (local.set $len (i32.wrap_i64 (local.get $r)))
    (memory.copy (i32.const 0x10000) (i32.const 0x600) (i32.const 9))
    (local.set $dst (i32.const 0x10009))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $b (i32.load8_u (i32.add (local.get $src) (local.get $i))))
      (i32.store8 (local.get $dst)
        (i32.load8_u (i32.add (i32.const 0x100) (i32.shr_u (local.get $b) (i32.const 4)))))
      (i32.store8 (i32.add (local.get $dst) (i32.const 1))
        (i32.load8_u (i32.add (i32.const 0x100) (i32.and (local.get $b) (i32.const 15)))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (memory.copy (local.get $dst) (i32.const 0x620) (i32.const 2))
    (call $pack (i32.const 0x10000) (i32.add (i32.const 11) (i32.shl (local.get $len) (i32.const 1)))))
  (func (export "aoi_call") (param $np i32) (param $nl i32) (param $ap i32) (param $al i32) (result i64)
    (local $c i32)
    (local.set $c (i32.load8_u (local.get $np)))
    (if (i32.eq (local.get $c) (i32.const 0x73)) (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $c) (i32.const 0x67))
      (then (return (call $hexout (call $http_get (i32.const 0x200) (i32.const {url_len}))))))
    (if (i32.eq (local.get $c) (i32.const 0x72))
      (then (return (call $hexout (call $http_get (i32.const 0x1000) (i32.const {redirect_len}))))))
    (if (i32.eq (local.get $c) (i32.const 0x70))
      (then (return (call $hexout
        (call $http_post (i32.const 0x200) (i32.const {url_len}) (i32.const 0x500) (i32.const 1))))))
    (if (i32.eq (local.get $c) (i32.const 0x6d))
      (then (if (i32.eq (memory.grow (i32.const 2048)) (i32.const -1))
        (then (return (call $pack (i32.const 0x480) (i32.const 45)))))))
    (if (i32.eq (local.get $c) (i32.const 0x75)) (then unreachable))
    (if (i32.eq (local.get $c) (i32.const 0x62))
      (then (return (call $pack (i32.const 0x7ffffff0) (i32.const 100)))))
    (if (i32.eq (local.get $c) (i32.const 0x6c))
      (then (call $log (i32.const 0x640) (i32.const 21))))
    (call $pack (i32.const 0x400) (i32.const 15)))
)"#,
        url_len = url.len(),
        redirect_len = redirect_url.len(),
    );
    wat::parse_str(wat).unwrap()
}

/// A minimal module with the ABI exports plus `imports` (WAT import lines).
pub fn module_with_imports(imports: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {imports}
  (memory (export "memory") 1)
  (func (export "aoi_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "aoi_call") (param i32 i32 i32 i32) (result i64) (i64.const 0)))"#
    ))
    .unwrap()
}

pub fn manifest(tools: Vec<ToolManifest>) -> PluginManifest {
    PluginManifest {
        name: "sandbox-test".into(),
        version: "0.1.0".into(),
        publisher: "example".into(),
        description: "adversarial test guest".into(),
        kind: PluginKind::Wasm,
        config_schema: Vec::new(),
        tools,
    }
}

pub fn allowed(hosts: &str) -> PluginConfig {
    let mut map = Map::new();
    map.insert("allowed_hosts".into(), Value::String(hosts.into()));
    PluginConfig::new(map)
}

pub fn load(module: &[u8], config: &PluginConfig, limits: WasmLimits) -> WasmToolset {
    WasmToolset::load(&manifest(guest_tools()), module, config, limits).unwrap()
}

pub async fn call(toolset: &WasmToolset, tool: &str) -> ToolOutput {
    toolset.call(&ToolCall::new(tool)).await
}

/// The host's JSON reply that a `g`/`r`/`p` tool returned hex-encoded.
pub fn host_reply(out: &ToolOutput) -> Value {
    assert!(!out.is_error, "{}", out.text);
    let bytes: Vec<u8> = (0..out.text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&out.text[i..i + 2], 16).unwrap())
        .collect();
    serde_json::from_slice(&bytes).unwrap()
}

/// After a bad call, a good one on the same installation still works.
pub async fn still_works(toolset: &WasmToolset) {
    let out = call(toolset, "ok").await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(out.text, "fine");
}
