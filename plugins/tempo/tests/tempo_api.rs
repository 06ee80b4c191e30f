//! The Tempo plugin against recorded Tempo API responses served over real HTTP.
//!
//! Fixture formats: Tempo's HTTP API reference (grafana/tempo docs/sources/tempo/api_docs/_index.md).
//! search.json follows "Searching traces" (`GET /api/search?tags=<logfmt>&limit&start&end`):
//! `{"traces":[{"traceID","rootServiceName","rootTraceName","startTimeUnixNano","durationMs"}],
//! "metrics":{...}}`, `durationMs` left out under 1 ms as protobuf JSON omits zeros.
//! trace_by_id.json follows "Query" (`GET /api/traces/<traceID>`): OpenTelemetry JSON under
//! `batches` (Tempo's name for `resourceSpans`), `scopeSpans` of spans with `traceId`, `spanId`,
//! `parentSpanId` base64-encoded as Tempo's protobuf JSON marshaller writes them (grafana/tempo
//! issue #5437), `startTimeUnixNano`/`endTimeUnixNano` as strings, `kind` as `SPAN_KIND_*` and
//! `status.code` as `STATUS_CODE_ERROR`. The values are a HotelReservation request failing at geo.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../../httpapi/tests/support/calls.rs"]
mod calls;
#[allow(dead_code)]
#[path = "../../httpapi/tests/support/stub.rs"]
mod stub;

use aoi_core::{Access, ToolCall};
use aoi_plugin_sdk::{CallContext, Toolset};
use calls::{config, fixture};
use serde_json::json;
use std::sync::Arc;
use stub::{Answer, Stub};

const TOKEN: &str = "tempo-test-token-0123456789";
const TRACE: &str = "2f3e0cee77ae5dc9c17ade3689eb2e54";

fn tools(base_url: &str) -> Arc<dyn Toolset> {
    aoi_plugin_tempo::toolset(&config(
        json!({"base_url": base_url, "bearer_token": TOKEN}),
    ))
    .unwrap()
}

async fn call(tools: &Arc<dyn Toolset>, call: ToolCall) -> Result<String, String> {
    calls::call_as(tools, call, &CallContext::default(), TOKEN).await
}

#[tokio::test]
async fn search_sends_tags_range_limit_and_token_and_prints_a_table() {
    let stub = Stub::start(vec![("/api/search", Answer::json(&fixture("search.json")))]).await;
    let tools = tools(&stub.base_url);
    let out = call(
        &tools,
        ToolCall::new("tempo_search")
            .arg("service", "frontend")
            .arg("tags", "http.status_code=500")
            .arg("min_duration", "100ms")
            .arg("minutes", 30)
            .arg("limit", 3),
    )
    .await
    .unwrap();

    let sent = stub.only_request();
    assert_eq!(sent.path, "/api/search");
    assert_eq!(
        sent.param("tags"),
        Some("service.name=frontend http.status_code=500")
    );
    assert_eq!(sent.param("minDuration"), Some("100ms"));
    assert_eq!(sent.param("limit"), Some("3"));
    let start: i64 = sent.param("start").unwrap().parse().unwrap();
    let end: i64 = sent.param("end").unwrap().parse().unwrap();
    assert_eq!(end - start, 30 * 60);
    assert_eq!(
        sent.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    assert_eq!(
        out,
        "3 traces (limit 3 reached):\n\
         TRACE ID                           ROOT SERVICE   ROOT SPAN                   START                  DURATION\n\
         2f3e0cee77ae5dc9c17ade3689eb2e54   frontend       HTTP GET /hotels            2026-01-13T12:30:16Z   120 ms\n\
         1b1ba462b409200d                   frontend       HTTP GET /recommendations   2026-01-13T12:30:11Z   611 ms\n\
         9c0d7e2a41b3f5e6d7c8b9a0f1e2d3c4   frontend       HTTP GET /user              2026-01-13T12:30:07Z   <1 ms"
    );
}

#[tokio::test]
async fn a_trace_prints_as_a_span_tree_with_errors() {
    let path = format!("/api/traces/{TRACE}");
    let stub = Stub::start(vec![(
        path.as_str(),
        Answer::json(&fixture("trace_by_id.json")),
    )])
    .await;
    let tools = tools(&stub.base_url);
    let out = call(
        &tools,
        ToolCall::new("tempo_trace").arg("trace_id", TRACE.to_uppercase()),
    )
    .await
    .unwrap();
    assert_eq!(stub.only_request().path, path);
    assert_eq!(
        out,
        format!(
            "trace {TRACE}: 6 spans, 3 services, 120.4 ms, 5 with error status\n\
             frontend HTTP GET /hotels [server]  120.4 ms  +0 µs  ERROR: rpc error: code = Unavailable desc = no reachable servers\n\
             ├─ frontend /search.Search/Nearby [client]  110.0 ms  +1.2 ms  ERROR: rpc error: code = Unavailable desc = no reachable servers\n\
             │  └─ search /search.Search/Nearby [server]  108.1 ms  +2.0 ms  ERROR: no reachable servers\n\
             │     └─ search /geo.Geo/Nearby [client]  105.0 ms  +2.5 ms  ERROR: no reachable servers\n\
             │        └─ geo /geo.Geo/Nearby [server]  103.7 ms  +3.0 ms  ERROR: no reachable servers\n\
             └─ frontend memcached_get_profile [client]  350 µs  +112.0 ms"
        )
    );
}

#[tokio::test]
async fn a_missing_trace_and_a_bad_id_are_clear_errors() {
    let stub = Stub::start(vec![(
        "/api/search",
        Answer::text(
            400,
            "invalid maxDuration: time: invalid duration \"fast\"\n",
        ),
    )])
    .await;
    let tools = tools(&stub.base_url);
    let err = call(
        &tools,
        ToolCall::new("tempo_trace").arg("trace_id", "abc123"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        "Tempo answered HTTP 404 Not Found to /api/traces/abc123: 404 page not found"
    );
    let err = call(
        &tools,
        ToolCall::new("tempo_trace").arg("trace_id", "../../x"),
    )
    .await
    .unwrap_err();
    assert!(err.contains("`../../x` is not a trace id"), "{err}");
    assert_eq!(
        stub.requests().len(),
        1,
        "a bad id is refused before any request"
    );
    let err = call(
        &tools,
        ToolCall::new("tempo_search").arg("min_duration", "fast"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        "Tempo answered HTTP 400 Bad Request to /api/search: invalid maxDuration: time: invalid duration \"fast\""
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_without_the_token() {
    let call = ToolCall::new("tempo_search");
    calls::assert_unreachable(tools, call, TOKEN, "Tempo", "/api/search").await;
}

#[test]
fn the_manifest_validates_and_configs_are_checked() {
    let tools = [
        ("tempo_search", Access::Read, "traces"),
        ("tempo_trace", Access::Read, "traces"),
    ];
    calls::assert_http_plugin(
        aoi_plugin_tempo::manifest(),
        &tools,
        aoi_plugin_tempo::toolset,
        aoi_plugin_tempo::Config::from_plugin,
    );
}
