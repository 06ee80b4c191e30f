//! The Loki plugin against recorded Loki API responses served over real HTTP.
//!
//! Fixture formats: Loki's HTTP API reference (grafana/loki docs/sources/reference/loki-http-api.md,
//! "GET /loki/api/v1/query_range", "GET /loki/api/v1/labels", "GET /loki/api/v1/label/<name>/values"):
//! `{"status":"success","data":{"resultType":"streams","result":[{"stream":{labels},"values":[["<unix
//! ns>","<line>"]]}],"stats":{...}}}` for log queries, `resultType` "matrix" with `[<unix seconds>,
//! "<value>"]` points for metric queries, `{"status":"success","data":[names]}` for labels; query
//! errors are HTTP 400 with a plain-text body. Lines come back newest first (direction=backward).
//! The tests check what the plugin sends (path, parameters, bearer token) and what it prints.

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

const TOKEN: &str = "loki-test-token-0123456789";

fn tools(base_url: &str, token: bool) -> Arc<dyn Toolset> {
    let mut values = json!({"base_url": base_url});
    if token {
        values["bearer_token"] = json!(TOKEN);
    }
    aoi_plugin_loki::toolset(&config(values)).unwrap()
}

async fn call(tools: &Arc<dyn Toolset>, call: ToolCall) -> Result<String, String> {
    calls::call_as(tools, call, &CallContext::default(), TOKEN).await
}

fn ns(recorded: &stub::Recorded, key: &str) -> i64 {
    recorded
        .param(key)
        .unwrap_or_else(|| panic!("no `{key}` in {recorded:?}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_log_query_sends_the_range_and_token_and_prints_lines_oldest_first() {
    let stub = Stub::start(vec![(
        "/loki/api/v1/query_range",
        Answer::json(&fixture("query_range_streams.json")),
    )])
    .await;
    let tools = tools(&stub.base_url, true);
    let query = r#"{namespace="test-hotel-reservation"} |= "geo""#;
    let out = call(
        &tools,
        ToolCall::new("loki_query")
            .arg("query", query)
            .arg("minutes", 15)
            .arg("limit", 50),
    )
    .await
    .unwrap();

    let sent = stub.only_request();
    assert_eq!(sent.path, "/loki/api/v1/query_range");
    assert_eq!(sent.param("query"), Some(query));
    assert_eq!(sent.param("limit"), Some("50"));
    assert_eq!(sent.param("direction"), Some("backward"));
    assert_eq!(
        ns(&sent, "end") - ns(&sent, "start"),
        15 * 60 * 1_000_000_000
    );
    assert_eq!(
        sent.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    assert_eq!(
        out,
        "4 lines from 2 streams, oldest first:\n\
         {app=\"geo\", container=\"hotel-reserv-geo\", namespace=\"test-hotel-reservation\", pod=\"geo-84fbc958c7-lxb9r\"}\n\
         \x20 2026-01-13T12:30:06.104Z  2026-01-13T12:30:06Z INF cmd/geo/main.go:36 > Read database URL: mongodb-geo:27017\n\
         \x20 2026-01-13T12:30:16.511Z  2026-01-13T12:30:16Z PNC cmd/geo/db.go:26 > no reachable servers\n\
         \x20 2026-01-13T12:30:16.512Z  panic: no reachable servers\n\
         {app=\"frontend\", container=\"hotel-reserv-frontend\", namespace=\"test-hotel-reservation\", pod=\"frontend-5d8f9c7b5-x2kqz\"}\n\
         \x20 2026-01-13T12:30:17.000Z  2026-01-13T12:30:17Z ERR cmd/frontend/server.go:210 > SearchHandler GetNearby failed: rpc error: code = Unavailable"
    );
}

#[tokio::test]
async fn a_metric_query_prints_series_and_no_token_means_no_header() {
    let stub = Stub::start(vec![(
        "/loki/api/v1/query_range",
        Answer::json(&fixture("query_range_matrix.json")),
    )])
    .await;
    let tools = tools(&stub.base_url, false);
    let out = call(
        &tools,
        ToolCall::new("loki_query").arg(
            "query",
            r#"sum by (app, level) (rate({app="geo"} |= "error" [1m]))"#,
        ),
    )
    .await
    .unwrap();
    let sent = stub.only_request();
    assert_eq!(sent.authorization, None);
    assert_eq!(sent.param("limit"), Some("100"));
    assert_eq!(
        ns(&sent, "end") - ns(&sent, "start"),
        60 * 60 * 1_000_000_000
    );
    assert_eq!(
        out,
        "1 series:\nSERIES                       POINTS   MIN   MAX   LAST   RANGE\n\
         {app=\"geo\", level=\"error\"}   3        0     1.5   1.5    2026-01-13T12:30:00Z to 2026-01-13T12:32:00Z"
    );
}

#[tokio::test]
async fn labels_and_label_values_are_listed() {
    let stub = Stub::start(vec![
        ("/loki/api/v1/labels", Answer::json(&fixture("labels.json"))),
        (
            "/loki/api/v1/label/app/values",
            Answer::json(&fixture("label_values.json")),
        ),
    ])
    .await;
    let tools = tools(&stub.base_url, true);
    let names = call(&tools, ToolCall::new("loki_labels").arg("minutes", 30))
        .await
        .unwrap();
    assert_eq!(
        names,
        "4 labels (last 30 minutes):\napp\ncontainer\nnamespace\npod"
    );
    let values = call(&tools, ToolCall::new("loki_labels").arg("label", "app"))
        .await
        .unwrap();
    assert_eq!(
        values,
        "4 values of `app` (last 60 minutes):\nfrontend\ngeo\nmongodb-geo\nsearch"
    );

    let sent = stub.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].path, "/loki/api/v1/labels");
    assert_eq!(
        ns(&sent[0], "end") - ns(&sent[0], "start"),
        30 * 60 * 1_000_000_000
    );
    assert_eq!(sent[1].path, "/loki/api/v1/label/app/values");
    assert!(
        sent.iter()
            .all(|r| r.authorization.as_deref() == Some(&*format!("Bearer {TOKEN}")))
    );

    let err = call(&tools, ToolCall::new("loki_labels").arg("label", "../x"))
        .await
        .unwrap_err();
    assert!(err.contains("`../x` is not a label name"), "{err}");
    assert_eq!(
        stub.requests().len(),
        2,
        "a bad label name is refused before any request"
    );
}

#[tokio::test]
async fn a_bad_query_shows_lokis_error_text_without_the_token() {
    let error =
        "parse error at line 1, col 5: syntax error: unexpected IDENTIFIER, expecting STRING\n";
    let stub = Stub::start(vec![("/loki/api/v1/query_range", Answer::text(400, error))]).await;
    let tools = tools(&stub.base_url, true);
    let err = call(
        &tools,
        ToolCall::new("loki_query").arg("query", "{app=geo}"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        "Loki answered HTTP 400 Bad Request to /loki/api/v1/query_range: parse error at line 1, col 5: syntax error: unexpected IDENTIFIER, expecting STRING"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_without_the_token() {
    let call = ToolCall::new("loki_labels");
    calls::assert_unreachable(
        |url| tools(url, true),
        call,
        TOKEN,
        "Loki",
        "/loki/api/v1/labels",
    )
    .await;
}

#[tokio::test]
async fn arguments_are_checked_before_any_request() {
    let tools = tools("http://127.0.0.1:9", false);
    let err = call(
        &tools,
        ToolCall::new("loki_query")
            .arg("query", "{a=\"b\"}")
            .arg("limit", 0),
    )
    .await
    .unwrap_err();
    assert!(err.contains("`limit` must be 1 to 5000"), "{err}");
    let err = call(&tools, ToolCall::new("loki_query").arg("query", " "))
        .await
        .unwrap_err();
    assert!(
        err.contains("`query` must be a non-empty LogQL query"),
        "{err}"
    );
    let err = call(
        &tools,
        ToolCall::new("loki_query")
            .arg("query", "x")
            .arg("minutes", "5"),
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("argument `minutes` must be of type integer"),
        "{err}"
    );
}

#[test]
fn the_manifest_validates_and_configs_are_checked() {
    let tools = [
        ("loki_query", Access::Read, "logs"),
        ("loki_labels", Access::Read, "logs"),
    ];
    calls::assert_http_plugin(
        aoi_plugin_loki::manifest(),
        &tools,
        aoi_plugin_loki::toolset,
        aoi_plugin_loki::Config::from_plugin,
    );
}
