//! HttpToolset against an axum server on 127.0.0.1 that records every request it gets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aoi_core::ToolCall;
use aoi_plugin_http::{HttpSpec, HttpToolset, MAX_OUTPUT};
use aoi_plugin_sdk::{PluginConfig, Toolset};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use common::{manifest, spec};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "tok-5e3a9b7c1d";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    authorization: Option<String>,
    org: Option<String>,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn handle(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_string())
    };
    log.lock().unwrap().push(Seen {
        method: method.to_string(),
        uri: uri.to_string(),
        authorization: header("authorization"),
        org: header("x-org"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let json = |status: StatusCode, value: Value| {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            value.to_string(),
        )
            .into_response()
    };
    let path = uri.path();
    match path {
        "/api/tickets" if method == Method::GET => json(
            StatusCode::OK,
            json!({"items": [
                {"id": "T-1", "status": "open", "owner": {"name": "ana"}, "body": "long"},
                {"id": "T-2", "status": "closed"}
            ]}),
        ),
        "/api/tickets" => json(StatusCode::CREATED, json!({"created": "T-3"})),
        "/api/whoami" => (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", format!("Bearer realm=\"{TOKEN}\""))],
            format!("invalid token {TOKEN}\n  for org x"),
        )
            .into_response(),
        "/raw/text" => (StatusCode::OK, "plain text {not json}").into_response(),
        "/raw/big" => (StatusCode::OK, "x".repeat(3 * MAX_OUTPUT)).into_response(),
        "/raw/empty" => StatusCode::NO_CONTENT.into_response(),
        "/raw/missing" => (StatusCode::NOT_FOUND, "no such thing").into_response(),
        p if p.starts_with("/api/tickets/") => json(
            StatusCode::OK,
            json!({"ticket": {
                "id": p.trim_start_matches("/api/tickets/"),
                "status": "open", "title": "Disk full", "internal": "hidden"
            }}),
        ),
        _ => (StatusCode::NOT_FOUND, "route not found").into_response(),
    }
}

async fn serve() -> (String, Log) {
    let log: Log = Arc::default();
    let app = axum::Router::new().fallback(handle).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/"), log)
}

fn toolset(base_url: &str, extra: Value) -> HttpToolset {
    let mut values = json!({"base_url": base_url, "token": TOKEN, "org": "acme"})
        .as_object()
        .unwrap()
        .clone();
    values.extend(extra.as_object().unwrap().clone());
    let m = manifest();
    let spec = HttpSpec::parse(spec().to_string().as_bytes(), &m).unwrap();
    HttpToolset::new(m, spec, &PluginConfig::new(values)).unwrap()
}

fn last(log: &Log) -> Seen {
    log.lock().unwrap().last().cloned().unwrap()
}

#[tokio::test]
async fn placeholders_fill_path_query_and_headers_with_encoding() {
    let (url, log) = serve().await;
    let tools = toolset(&url, json!({}));
    let out = tools
        .call(
            &ToolCall::new("tickets_get")
                .arg("id", "a/b c?")
                .arg("expand", "x&y=1"),
        )
        .await;
    assert!(!out.is_error, "{}", out.text);
    let seen = last(&log);
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.uri, "/api/tickets/a%2Fb%20c%3F?expand=x%26y%3D1");
    assert_eq!(
        seen.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(seen.org.as_deref(), Some("acme"));
    assert_eq!(
        out.text,
        r#"{"id":"a%2Fb%20c%3F","status":"open","title":"Disk full"}"#
    );
}

#[tokio::test]
async fn absent_optional_values_drop_their_query_params_and_headers() {
    let (url, log) = serve().await;
    let tools = toolset(&url, json!({"org": null}));
    let out = tools
        .call(&ToolCall::new("tickets_get").arg("id", "T-9"))
        .await;
    assert!(!out.is_error, "{}", out.text);
    let seen = last(&log);
    assert_eq!(seen.uri, "/api/tickets/T-9");
    assert_eq!(seen.org, None);

    tools
        .call(&ToolCall::new("tickets_list").arg("labels", json!(["db", "p1"])))
        .await;
    assert_eq!(last(&log).uri, "/api/tickets?labels=db%2Cp1");
}

#[tokio::test]
async fn arrays_render_one_line_per_item() {
    let (url, _log) = serve().await;
    let out = toolset(&url, json!({}))
        .call(&ToolCall::new("tickets_list").arg("q", "disk"))
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(
        out.text,
        "id | status | owner.name\nT-1 | open | ana\nT-2 | closed | -"
    );
}

#[tokio::test]
async fn a_body_template_keeps_json_types_and_drops_absent_keys() {
    let (url, log) = serve().await;
    let tools = toolset(&url, json!({}));
    let out = tools
        .call(
            &ToolCall::new("tickets_create")
                .arg("title", "Disk \"full\"")
                .arg("priority", 2),
        )
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(out.text, r#"{"created":"T-3"}"#);
    let seen = last(&log);
    assert_eq!(seen.method, "POST");
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(
        body,
        json!({"title": "Disk \"full\"", "priority": 2, "org": "acme",
               "note": "filed by aoi: Disk \"full\"", "tags": ["aoi"]})
    );
    tools
        .call(&ToolCall::new("tickets_create").arg("title", "t"))
        .await;
    let body: Value = serde_json::from_str(&last(&log).body).unwrap();
    assert_eq!(body.get("priority"), None);
}

#[tokio::test]
async fn the_token_reaches_the_server_but_no_output_error_or_debug() {
    let (url, log) = serve().await;
    let tools = toolset(&url, json!({}));
    let out = tools.call(&ToolCall::new("tickets_whoami")).await;
    assert!(out.is_error);
    assert_eq!(
        out.text,
        "tickets_whoami: GET /api/whoami returned HTTP 401 Unauthorized: invalid token [redacted] for org x"
    );
    assert_eq!(last(&log).authorization, Some(format!("Bearer {TOKEN}")));
    assert!(!format!("{tools:?}").contains(TOKEN));
    assert!(
        !format!(
            "{:?}",
            HttpSpec::parse(spec().to_string().as_bytes(), &manifest())
        )
        .contains(TOKEN)
    );
}

#[tokio::test]
async fn text_empty_large_and_error_responses() {
    let (url, _log) = serve().await;
    let tools = toolset(&url, json!({}));
    let raw = |name: &str| ToolCall::new("tickets_raw").arg("name", name);

    let out = tools.call(&raw("text")).await;
    assert_eq!(
        (out.is_error, out.text.as_str()),
        (false, "plain text {not json}")
    );

    let out = tools.call(&raw("empty")).await;
    assert_eq!(out.text, "HTTP 204 No Content, empty response");

    let out = tools.call(&raw("big")).await;
    assert!(!out.is_error);
    assert!(out.text.len() < MAX_OUTPUT + 100);
    assert!(out.text.ends_with(&format!(
        "[truncated: showing {MAX_OUTPUT} of {} bytes]",
        3 * MAX_OUTPUT
    )));

    let out = tools.call(&raw("missing")).await;
    assert!(out.is_error);
    assert_eq!(
        out.text,
        "tickets_raw: GET /raw/missing returned HTTP 404 Not Found: no such thing"
    );
}

#[tokio::test]
async fn bad_arguments_and_unknown_tools_are_errors() {
    let (url, _log) = serve().await;
    let tools = toolset(&url, json!({}));
    let out = tools.call(&ToolCall::new("tickets_get")).await;
    assert!(out.is_error);
    assert!(
        out.text.contains("missing required argument `id`"),
        "{}",
        out.text
    );
    let out = tools.call(&ToolCall::new("tickets_nope")).await;
    assert!(out.is_error);
    assert!(
        out.text.contains("no such tool in plugin tickets"),
        "{}",
        out.text
    );
    let out = tools
        .call(
            &ToolCall::new("tickets_get")
                .arg("id", "1")
                .arg("expand", "a\nb"),
        )
        .await;
    assert!(
        !out.is_error,
        "a line break in a query value is encoded: {}",
        out.text
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = toolset(&url, json!({}))
        .call(&ToolCall::new("tickets_get").arg("id", "1"))
        .await;
    assert!(out.is_error);
    assert!(
        out.text
            .starts_with("tickets_get: GET /api/tickets/1 failed:"),
        "{}",
        out.text
    );
    assert!(!out.text.contains(TOKEN));
}

#[tokio::test]
async fn config_is_checked_when_the_toolset_is_built() {
    let m = manifest();
    let parsed = HttpSpec::parse(spec().to_string().as_bytes(), &m).unwrap();
    let build = |values: Value| {
        HttpToolset::new(
            m.clone(),
            parsed.clone(),
            &PluginConfig::new(values.as_object().unwrap().clone()),
        )
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        build(json!({"token": TOKEN})),
        "config.base_url: is required"
    );
    assert!(build(json!({"base_url": "ftp://x", "token": TOKEN})).starts_with("config.base_url:"));
    assert_eq!(
        build(json!({"base_url": "http://127.0.0.1:9"})),
        "config.token: is required"
    );
    assert!(
        build(json!({"base_url": "http://127.0.0.1:9", "token": TOKEN, "timeout_seconds": 0}))
            .starts_with("config.timeout_seconds:")
    );
}
