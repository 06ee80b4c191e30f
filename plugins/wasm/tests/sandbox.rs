//! The sandbox against hostile and broken guests: each bad call ends as a tool error and the next
//! good call on the same installation still works.

#![allow(clippy::unwrap_used)]

mod common;

use aoi_plugin_wasm::{WasmError, WasmLimits, WasmToolset, check_module};
use common::*;
use std::time::Duration;

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel() {
    let limits = WasmLimits {
        fuel: 2_000_000,
        timeout: Duration::from_secs(120),
        ..WasmLimits::default()
    };
    let toolset = load(&guest_wat("http://a/", "http://a/"), &allowed(""), limits);
    let out = call(&toolset, "spin").await;
    assert!(out.is_error);
    assert!(
        out.text.starts_with("spin (sandbox-test plugin): "),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("stopped: ran out of fuel"),
        "{}",
        out.text
    );
    still_works(&toolset).await;
}

#[tokio::test]
async fn an_infinite_loop_with_ample_fuel_hits_the_time_limit() {
    let limits = WasmLimits {
        fuel: u64::MAX,
        timeout: Duration::from_millis(300),
        ..WasmLimits::default()
    };
    let toolset = load(&guest_wat("http://a/", "http://a/"), &allowed(""), limits);
    let out = call(&toolset, "spin").await;
    assert!(out.is_error);
    assert!(
        out.text.contains("stopped: exceeded the 300 ms time limit"),
        "{}",
        out.text
    );
    still_works(&toolset).await;
}

#[tokio::test]
async fn a_slow_request_is_cut_off_at_the_time_limit() {
    let server = TestServer::start().await;
    let limits = WasmLimits {
        timeout: Duration::from_millis(300),
        ..WasmLimits::default()
    };
    let toolset = load(
        &guest_wat(&server.url("/"), &server.url("/slow")),
        &allowed("127.0.0.1"),
        limits,
    );
    let out = call(&toolset, "redirected_get").await;
    // Either the guest gets the timeout as its reply, or the epoch deadline stops it right after;
    // never the server's late answer.
    if out.is_error {
        assert!(
            out.text.contains("exceeded the 300 ms time limit"),
            "{}",
            out.text
        );
    } else {
        let reply = host_reply(&out);
        assert!(
            reply["error"].as_str().unwrap().contains("timed out"),
            "{reply}"
        );
    }
    still_works(&toolset).await;
}

#[tokio::test]
async fn wasi_and_unknown_imports_are_refused_naming_the_import() {
    let path_open = module_with_imports(
        r#"(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#,
    );
    let err = check_module(&path_open).unwrap_err().to_string();
    assert!(
        err.starts_with("imports wasi_snapshot_preview1.path_open: the sandbox has no filesystem"),
        "{err}"
    );
    assert!(err.contains("only aoi.* host functions exist"), "{err}");
    let loaded = WasmToolset::load(
        &manifest(guest_tools()),
        &path_open,
        &allowed(""),
        WasmLimits::default(),
    );
    assert!(
        matches!(&loaded, Err(WasmError::Import { module, name, .. }) if module == "wasi_snapshot_preview1" && name == "path_open"),
        "{loaded:?}"
    );

    let fd_write = module_with_imports(
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
    );
    let err = check_module(&fd_write).unwrap_err().to_string();
    assert!(err.contains("wasi_snapshot_preview1.fd_write"), "{err}");
    assert!(
        WasmToolset::load(
            &manifest(guest_tools()),
            &fd_write,
            &allowed(""),
            WasmLimits::default()
        )
        .is_err()
    );

    let env = module_with_imports(r#"(import "env" "abort" (func))"#);
    let err = check_module(&env).unwrap_err().to_string();
    assert!(
        err.starts_with("imports env.abort: the sandbox provides only"),
        "{err}"
    );

    let unknown = module_with_imports(r#"(import "aoi" "exec" (func))"#);
    let err = check_module(&unknown).unwrap_err().to_string();
    assert!(
        err.starts_with("imports aoi.exec: no such host function"),
        "{err}"
    );

    let wrong_type =
        module_with_imports(r#"(import "aoi" "http_get" (func (param i32) (result i64)))"#);
    let err = check_module(&wrong_type).unwrap_err().to_string();
    assert!(
        err.contains("has type (i32) -> i64; the host function is (i32, i32) -> i64"),
        "{err}"
    );

    assert!(
        check_module(&module_with_imports(
            r#"(import "aoi" "log" (func (param i32 i32)))"#
        ))
        .is_ok()
    );
}

#[tokio::test]
async fn missing_exports_and_garbage_are_named() {
    let no_call = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "aoi_alloc") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    let err = check_module(&no_call).unwrap_err().to_string();
    assert!(err.starts_with("export `aoi_call`: is missing"), "{err}");
    let no_memory = wat::parse_str(
        r#"(module (func (export "aoi_alloc") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    assert!(
        check_module(&no_memory)
            .unwrap_err()
            .to_string()
            .starts_with("export `memory`")
    );
    let err = check_module(b"not wasm").unwrap_err().to_string();
    assert!(err.starts_with("the module does not compile"), "{err}");
}

#[tokio::test]
async fn a_read_tool_cannot_reach_http_post() {
    let server = TestServer::start().await;
    let config = allowed(&format!("127.0.0.1:{}", server.port));
    let toolset = load(
        &guest_wat(&server.url("/"), &server.url("/")),
        &config,
        WasmLimits::default(),
    );
    let out = call(&toolset, "post_from_read").await;
    assert!(out.is_error);
    assert!(
        out.text
            .starts_with("post_from_read (sandbox-test plugin): "),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("write host function from a read tool"),
        "{}",
        out.text
    );
    assert_eq!(server.hits(), 0);
    still_works(&toolset).await;

    let reply = host_reply(&call(&toolset, "post_from_write").await);
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["body"], "posted x");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn http_get_reaches_only_allowed_hosts() {
    let server = TestServer::start().await;
    let module = guest_wat(&server.url("/"), &server.url("/redirect"));

    let closed = load(&module, &allowed("api.example.com"), WasmLimits::default());
    let reply = host_reply(&call(&closed, "get_url").await);
    assert_eq!(
        reply["error"],
        "host 127.0.0.1 is not in this installation's allowed_hosts"
    );
    assert_eq!(
        server.hits(),
        0,
        "a refused request must not reach the server"
    );
    assert_eq!(closed.refused_requests(), 1);
    // Another port of an allowed host is refused too.
    let other_port = load(
        &module,
        &allowed(&format!("127.0.0.1:{}", server.port.wrapping_add(1))),
        WasmLimits::default(),
    );
    assert!(host_reply(&call(&other_port, "get_url").await)["error"].is_string());
    assert_eq!(server.hits(), 0);
    still_works(&closed).await;

    let open = load(
        &module,
        &allowed(&format!("127.0.0.1:{}", server.port)),
        WasmLimits::default(),
    );
    let reply = host_reply(&call(&open, "get_url").await);
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["body"], "hello from the test server");
    assert_eq!(server.hits(), 1);
    assert_eq!(open.refused_requests(), 0);

    // A redirect to a host that is not allowed (localhost) is not followed.
    let reply = host_reply(&call(&open, "redirected_get").await);
    let error = reply["error"].as_str().unwrap();
    assert!(
        error.contains("host localhost is not in this installation's allowed_hosts"),
        "{error}"
    );
    assert_eq!(server.hits(), 2, "only the redirecting request arrived");
}

#[tokio::test]
async fn a_result_larger_than_the_response_limit_is_refused() {
    // The cut of large HTTP bodies is shown with the example plugin (tests/example_plugin.rs).
    let server = TestServer::start().await;
    let limits = WasmLimits {
        max_response_bytes: 40,
        ..WasmLimits::default()
    };
    let toolset = load(
        &guest_wat(&server.url("/"), &server.url("/")),
        &allowed("127.0.0.1"),
        limits,
    );
    let out = call(&toolset, "get_url").await;
    assert!(out.is_error);
    assert!(
        out.text.contains("bytes; the most a tool may return is 40"),
        "{}",
        out.text
    );
    still_works(&toolset).await;
}

#[tokio::test]
async fn memory_cannot_grow_past_the_limit() {
    let limits = WasmLimits {
        max_memory_bytes: 1 << 20,
        ..WasmLimits::default()
    };
    let toolset = load(
        &guest_wat("http://a/", "http://a/"),
        &allowed(""),
        limits.clone(),
    );
    let out = call(&toolset, "memory_hog").await;
    assert!(out.is_error);
    assert_eq!(out.text, "memory.grow failed");
    still_works(&toolset).await;

    // A module whose memory starts above the limit is refused when it is loaded.
    let tiny = WasmLimits {
        max_memory_bytes: 64 * 1024,
        ..WasmLimits::default()
    };
    let err = WasmToolset::load(
        &manifest(guest_tools()),
        &guest_wat("http://a/", "http://a/"),
        &allowed(""),
        tiny,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("memory starts at 262144 bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn traps_and_bad_results_name_the_tool() {
    let toolset = load(
        &guest_wat("http://a/", "http://a/"),
        &allowed(""),
        WasmLimits::default(),
    );
    let out = call(&toolset, "unreachable_panic").await;
    assert!(out.is_error);
    assert!(
        out.text
            .starts_with("unreachable_panic (sandbox-test plugin): the module trapped"),
        "{}",
        out.text
    );
    still_works(&toolset).await;

    let out = call(&toolset, "bad_pointer").await;
    assert!(out.is_error);
    assert!(
        out.text.contains("outside the module's memory"),
        "{}",
        out.text
    );
    still_works(&toolset).await;

    let out = call(&toolset, "log_then_ok").await;
    assert_eq!(out.text, "fine");

    let out = call(&toolset, "no_such_tool").await;
    assert!(out.is_error);
    assert!(out.text.contains("has no such tool"), "{}", out.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_share_no_state_and_run_in_parallel() {
    let server = TestServer::start().await;
    let toolset = load(
        &guest_wat(&server.url("/"), &server.url("/")),
        &allowed("127.0.0.1"),
        WasmLimits::default(),
    );
    let calls = (0..8).map(|_| {
        let toolset = toolset.clone();
        tokio::spawn(async move { call(&toolset, "get_url").await })
    });
    for handle in calls {
        // A fresh instance per call: the guest's bump allocator starts over each time, so every
        // reply is the same, complete JSON.
        let reply = host_reply(&handle.await.unwrap());
        assert_eq!(reply["body"], "hello from the test server");
    }
    assert_eq!(server.hits(), 8);
}

#[test]
fn a_non_wasm_manifest_is_refused() {
    let mut m = manifest(guest_tools());
    m.kind = aoi_plugin_package::PluginKind::Http;
    let err = WasmToolset::load(
        &m,
        &guest_wat("http://a/", "http://a/"),
        &allowed(""),
        WasmLimits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("runs only kind wasm"), "{err}");
    let err = WasmToolset::load(
        &manifest(guest_tools()),
        &guest_wat("http://a/", "http://a/"),
        &allowed("http://x"),
        WasmLimits::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("config.allowed_hosts: `http://x` has a scheme"),
        "{err}"
    );
}
