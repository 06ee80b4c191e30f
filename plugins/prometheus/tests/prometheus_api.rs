//! The Prometheus plugin against a real Prometheus 2.42 (Debian package, started per test on a
//! free port): instant and range queries of its own scraped `up` series, a PromQL error from the
//! API's `error` field, the always-firing rule alert, the scrape target; plus the manifest, the
//! config refusals and an unreachable server, none of which may show the token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the alertmanager tests, which also start an Alertmanager.
#[allow(dead_code)]
#[path = "../../httpapi/tests/support/calls.rs"]
mod calls;
#[allow(dead_code)]
#[path = "support/servers.rs"]
mod servers;

use aoi_core::{Access, ToolCall};
use aoi_plugin_sdk::{CallContext, Toolset};
use calls::config;
use serde_json::json;
use std::sync::Arc;

const TOKEN: &str = "prom-test-token-0123456789";

fn tools(base_url: &str) -> Arc<dyn Toolset> {
    aoi_plugin_prometheus::toolset(&config(
        json!({"base_url": base_url, "bearer_token": TOKEN, "timeout_seconds": 10}),
    ))
    .unwrap()
}

async fn call(tools: &Arc<dyn Toolset>, call: ToolCall) -> Result<String, String> {
    calls::call_as(tools, call, &CallContext::default(), TOKEN).await
}

#[tokio::test]
async fn queries_alerts_and_targets_of_a_real_prometheus() {
    let prom = servers::start_prometheus(None).await;
    let tools = tools(&prom.base_url);
    let instance = format!("127.0.0.1:{}", prom.port);

    let expected = format!("up{{instance=\"{instance}\", job=\"prometheus\"}} 1");
    let text = servers::until_text(
        "the first self-scrape",
        || call(&tools, ToolCall::new("prometheus_query").arg("query", "up")),
        |text| text.contains(&expected),
    )
    .await;
    assert_eq!(text, expected);

    let range = call(
        &tools,
        ToolCall::new("prometheus_query_range")
            .arg("query", "up")
            .arg("minutes", 5)
            .arg("step_seconds", 1),
    )
    .await
    .unwrap();
    assert!(range.starts_with("1 series:\nup{instance="), "{range}");
    assert!(range.contains("min=1  max=1  last=1"), "{range}");

    let bad = call(
        &tools,
        ToolCall::new("prometheus_query").arg("query", "up{"),
    )
    .await
    .unwrap_err();
    assert!(
        bad.contains("HTTP 400") && bad.contains("parse error"),
        "{bad}"
    );

    let alerts = servers::until_text(
        "the always-firing alert",
        || call(&tools, ToolCall::new("prometheus_alerts")),
        |text| text.contains("firing   AoiAlwaysFiring"),
    )
    .await;
    assert!(alerts.contains("severity=\"page\""), "{alerts}");
    assert!(
        alerts.contains("always firing, for the plugin tests"),
        "{alerts}"
    );

    let targets = call(&tools, ToolCall::new("prometheus_targets"))
        .await
        .unwrap();
    assert!(
        targets.starts_with("1 active targets (0 not up):"),
        "{targets}"
    );
    assert!(
        targets.contains(&format!("prometheus   {instance}   up")),
        "{targets}"
    );
    let none = call(
        &tools,
        ToolCall::new("prometheus_targets").arg("job", "nope"),
    )
    .await
    .unwrap();
    assert_eq!(none, "no active targets for job `nope`");
}

#[test]
#[should_panic(expected = "`aoi-no-such-server` is not installed: run scripts/setup.sh")]
fn a_missing_server_binary_fails_naming_the_setup_script() {
    servers::binary("aoi-no-such-server", "aoi-no-such-package");
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_without_the_token() {
    let call = ToolCall::new("prometheus_query").arg("query", "up");
    calls::assert_unreachable(tools, call, TOKEN, "Prometheus", "/api/v1/query").await;
}

#[tokio::test]
async fn bad_arguments_are_refused_by_name() {
    let tools = tools("http://127.0.0.1:9");
    let err = call(&tools, ToolCall::new("prometheus_query"))
        .await
        .unwrap_err();
    assert!(err.contains("missing required argument `query`"), "{err}");
    let err = call(
        &tools,
        ToolCall::new("prometheus_query_range")
            .arg("query", "up")
            .arg("minutes", 0),
    )
    .await
    .unwrap_err();
    assert!(err.contains("`minutes` must be 1 to 10080"), "{err}");
    let err = call(&tools, ToolCall::new("prometheus_nope"))
        .await
        .unwrap_err();
    assert!(err.contains("no tool named `prometheus_nope`"), "{err}");
}

#[test]
fn the_manifest_validates_and_every_tool_is_a_prefixed_read() {
    let tools = [
        ("prometheus_query", Access::Read, "metrics"),
        ("prometheus_query_range", Access::Read, "metrics"),
        ("prometheus_alerts", Access::Read, "metrics"),
        ("prometheus_targets", Access::Read, "metrics"),
    ];
    calls::assert_http_plugin(
        aoi_plugin_prometheus::manifest(),
        &tools,
        aoi_plugin_prometheus::toolset,
        aoi_plugin_prometheus::Config::from_plugin,
    );
}
