//! The example plugin (plugins/examples/http-prober), built by scripts/build-example-plugin.sh,
//! run in the sandbox against a local server.

#![allow(clippy::unwrap_used)]

mod common;

use aoi_core::{ToolCall, ToolOutput};
use aoi_plugin_package::PluginManifest;
use aoi_plugin_sdk::{PluginConfig, Toolset};
use aoi_plugin_wasm::{WasmLimits, WasmToolset, check_module};
use common::{TestServer, allowed};

const ENV: &str = "AOI_EXAMPLE_PLUGIN_WASM";

fn example_module() -> Vec<u8> {
    let Ok(path) = std::env::var(ENV) else {
        panic!(
            "{ENV} is not set: run scripts/build-example-plugin.sh and export the {ENV}=... line it prints"
        );
    };
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{ENV}={path}: cannot read it ({e}); run scripts/build-example-plugin.sh to build it"
        )
    })
}

fn example_manifest() -> PluginManifest {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/http-prober/manifest.json"
    );
    PluginManifest::from_json(&std::fs::read(path).unwrap()).unwrap()
}

fn prober(config: &PluginConfig, limits: WasmLimits) -> WasmToolset {
    WasmToolset::load(&example_manifest(), &example_module(), config, limits).unwrap()
}

async fn probe(toolset: &WasmToolset, url: &str, expect: Option<u16>) -> ToolOutput {
    let mut call = ToolCall::new("probe_http").arg("url", url);
    if let Some(status) = expect {
        call = call.arg("expect_status", status);
    }
    toolset.call(&call).await
}

#[test]
fn the_example_passes_the_upload_check_and_its_manifest_is_valid() {
    check_module(&example_module()).unwrap();
    let manifest = example_manifest();
    assert_eq!(manifest.publisher, "example");
    assert_eq!(manifest.kind, aoi_plugin_package::PluginKind::Wasm);
    assert_eq!(manifest.config_schema[0].name, "allowed_hosts");
}

#[tokio::test]
async fn probe_http_reports_status_size_and_the_start_of_the_body() {
    let server = TestServer::start().await;
    let toolset = prober(
        &allowed(&format!("127.0.0.1:{}", server.port)),
        WasmLimits::default(),
    );
    let out = probe(&toolset, &server.url("/"), Some(200)).await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(
        out.text,
        format!(
            "GET {}\nstatus: 200\nexpected status: 200 (matched)\nbody: 26 bytes\nfirst 200 characters:\nhello from the test server",
            server.url("/")
        )
    );
    let out = probe(&toolset, &server.url("/nothing-here"), Some(200)).await;
    assert!(
        out.text
            .contains("status: 404\nexpected status: 200 (DID NOT MATCH)"),
        "{}",
        out.text
    );
    assert_eq!(server.hits(), 1, "the 404 is axum's own; only `/` counts");
}

#[tokio::test]
async fn probe_http_shows_a_cut_body_and_refused_hosts() {
    let server = TestServer::start().await;
    let limits = WasmLimits {
        max_response_bytes: 1000,
        ..WasmLimits::default()
    };
    let toolset = prober(&allowed("127.0.0.1"), limits);
    let out = probe(&toolset, &server.url("/big"), None).await;
    assert!(!out.is_error, "{}", out.text);
    assert!(
        out.text
            .contains("body: 1000 bytes (cut at the sandbox's response limit"),
        "{}",
        out.text
    );
    assert!(
        out.text
            .ends_with(&format!("{} ...", "0123456789".repeat(20))),
        "{}",
        out.text
    );

    let closed = prober(&allowed("status.example.com"), WasmLimits::default());
    let before = server.hits();
    let out = probe(&closed, &server.url("/"), None).await;
    assert!(out.is_error);
    assert!(
        out.text
            .contains("host 127.0.0.1 is not in this installation's allowed_hosts"),
        "{}",
        out.text
    );
    assert_eq!(server.hits(), before);
    assert_eq!(closed.refused_requests(), 1);

    let out = toolset.call(&ToolCall::new("probe_http")).await;
    assert!(out.is_error);
    assert!(
        out.text.contains("missing required argument `url`"),
        "{}",
        out.text
    );
}
