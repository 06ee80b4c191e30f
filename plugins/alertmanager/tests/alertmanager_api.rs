//! The Alertmanager plugin against a real Alertmanager 0.25 fed by a real Prometheus 2.42 (Debian
//! packages, started per test on free ports): the rule's always-firing alert listed, a silence
//! created through `alertmanager_silence` as the approver, listed, and muting the alert; plus
//! the manifest, the config refusals and an unreachable server, none of which may show the token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../../httpapi/tests/support/calls.rs"]
mod calls;
#[path = "../../prometheus/tests/support/servers.rs"]
mod servers;

use aoi_core::{Access, ToolCall};
use aoi_plugin_sdk::{CallContext, Toolset};
use calls::config;
use serde_json::json;
use std::sync::Arc;

const TOKEN: &str = "am-test-token-0123456789";

fn tools(base_url: &str) -> Arc<dyn Toolset> {
    aoi_plugin_alertmanager::toolset(&config(
        json!({"base_url": base_url, "bearer_token": TOKEN}),
    ))
    .unwrap()
}

async fn call_as(
    tools: &Arc<dyn Toolset>,
    call: ToolCall,
    ctx: &CallContext,
) -> Result<String, String> {
    calls::call_as(tools, call, ctx, TOKEN).await
}

async fn call(tools: &Arc<dyn Toolset>, call: ToolCall) -> Result<String, String> {
    call_as(tools, call, &CallContext::default()).await
}

#[tokio::test]
async fn a_real_alert_is_listed_silenced_by_the_approver_and_muted() {
    let am = servers::start_alertmanager().await;
    let _prom = servers::start_prometheus(Some(&am)).await;
    let tools = tools(&am.base_url);

    let alerts = servers::until_text(
        "the rule's alert reaching Alertmanager",
        || call(&tools, ToolCall::new("alertmanager_alerts")),
        |text| text.contains("AoiAlwaysFiring   active"),
    )
    .await;
    assert!(alerts.starts_with("1 alerts:"), "{alerts}");
    assert!(alerts.contains("severity=\"page\""), "{alerts}");
    assert!(
        alerts.contains("always firing, for the plugin tests"),
        "{alerts}"
    );

    let filtered = call(
        &tools,
        ToolCall::new("alertmanager_alerts").arg("filter", json!(["alertname=\"SomethingElse\""])),
    )
    .await
    .unwrap();
    assert!(filtered.starts_with("no active alerts"), "{filtered}");

    let ctx = CallContext {
        session_id: Some("s1".into()),
        actor: Some("aoi-agent".into()),
        approved_by: Some("alice".into()),
    };
    let created = call_as(
        &tools,
        ToolCall::new("alertmanager_silence")
            .arg(
                "matchers",
                json!([
                    "alertname=\"AoiAlwaysFiring\"",
                    "severity=~\"page|critical\""
                ]),
            )
            .arg("duration_minutes", 30)
            .arg("comment", "plugin test"),
        &ctx,
    )
    .await
    .unwrap();
    assert!(created.starts_with("created silence "), "{created}");
    assert!(
        created.ends_with("matching alertname=\"AoiAlwaysFiring\", severity=~\"page|critical\", by alice: plugin test"),
        "{created}"
    );
    let id = created.split_whitespace().nth(2).unwrap().to_string();

    let silences = call(&tools, ToolCall::new("alertmanager_silences"))
        .await
        .unwrap();
    assert!(silences.starts_with("1 silences:"), "{silences}");
    assert!(silences.contains(&format!("{id}   active")), "{silences}");
    assert!(
        silences.contains(
            "alice        alertname=\"AoiAlwaysFiring\", severity=~\"page|critical\"   plugin test"
        ),
        "{silences}"
    );

    let muted = servers::until_text(
        "the silence muting the alert",
        || call(&tools, ToolCall::new("alertmanager_alerts")),
        |text| text.starts_with("no active alerts"),
    )
    .await;
    assert!(muted.contains("include_suppressed=true"), "{muted}");
    let all = call(
        &tools,
        ToolCall::new("alertmanager_alerts").arg("include_suppressed", true),
    )
    .await
    .unwrap();
    assert!(
        all.contains(&format!("suppressed (silenced by {id})")),
        "{all}"
    );
}

#[tokio::test]
async fn the_actor_or_aoi_creates_a_silence_without_an_approver() {
    let am = servers::start_alertmanager().await;
    let tools = tools(&am.base_url);
    let silence = |comment: &str| {
        ToolCall::new("alertmanager_silence")
            .arg("matchers", json!(["job=\"x\""]))
            .arg("duration_minutes", 5)
            .arg("comment", comment)
    };
    let ctx = CallContext {
        actor: Some("bob".into()),
        ..CallContext::default()
    };
    let by_actor = call_as(&tools, silence("one"), &ctx).await.unwrap();
    assert!(by_actor.ends_with("by bob: one"), "{by_actor}");
    let by_default = call(&tools, silence("two")).await.unwrap();
    assert!(by_default.ends_with("by aoi: two"), "{by_default}");

    // Alertmanager itself refuses a silence whose matchers all match the empty string.
    let err = call(
        &tools,
        ToolCall::new("alertmanager_silence")
            .arg("matchers", json!(["job=~\".*\""]))
            .arg("duration_minutes", 5)
            .arg("comment", "everything"),
    )
    .await
    .unwrap_err();
    assert!(
        err.starts_with("Alertmanager answered HTTP 400 Bad Request to /api/v2/silences:"),
        "{err}"
    );
}

#[tokio::test]
async fn silence_arguments_are_checked_before_any_request() {
    let tools = tools("http://127.0.0.1:9");
    let base = || {
        ToolCall::new("alertmanager_silence")
            .arg("comment", "c")
            .arg("duration_minutes", 5)
    };
    let err = call(&tools, base().arg("matchers", json!([])))
        .await
        .unwrap_err();
    assert!(err.contains("at least one matcher"), "{err}");
    let err = call(&tools, base().arg("matchers", json!(["no matcher"])))
        .await
        .unwrap_err();
    assert!(
        err.contains("matcher `no matcher` is not a label matcher"),
        "{err}"
    );
    let err = call(
        &tools,
        base()
            .arg("matchers", json!(["a=\"b\""]))
            .arg("duration_minutes", 20000),
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("`duration_minutes` must be 1 to 10080"),
        "{err}"
    );
    let err = call(
        &tools,
        ToolCall::new("alertmanager_silence").arg("matchers", json!(["a=b"])),
    )
    .await
    .unwrap_err();
    assert!(err.contains("missing required argument"), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_without_the_token() {
    let call = ToolCall::new("alertmanager_silences");
    calls::assert_unreachable(tools, call, TOKEN, "Alertmanager", "/api/v2/silences").await;
}

#[test]
fn the_manifest_validates_and_only_the_silence_writes() {
    let tools = [
        ("alertmanager_alerts", Access::Read, "alerts"),
        ("alertmanager_silences", Access::Read, "alerts"),
        ("alertmanager_silence", Access::Write, "alerts"),
    ];
    calls::assert_http_plugin(
        aoi_plugin_alertmanager::manifest(),
        &tools,
        aoi_plugin_alertmanager::toolset,
        aoi_plugin_alertmanager::Config::from_plugin,
    );
}
