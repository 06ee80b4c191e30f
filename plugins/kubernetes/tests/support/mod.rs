//! A fake Kubernetes API server on 127.0.0.1: serves recorded API responses (tests/fixtures/) by
//! method and path, and records every request it gets so tests can assert on them.

#![allow(dead_code, clippy::unwrap_used)]

use aoi_core::{ToolCall, ToolOutput};
use aoi_plugin_sdk::{CallContext, PluginConfig, Toolset};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

pub const NS: &str = "hotel-reservation";
pub const TOKEN: &str = "test-token-s3cr3t-value";

/// One request as the fake API server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub impersonate_user: Option<String>,
    pub authorization: Option<String>,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A canned answer for one method and path.
#[derive(Clone)]
pub struct Route {
    method: &'static str,
    path: String,
    status: u16,
    body: String,
    content_type: &'static str,
}

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// Answers `method path` with the fixture file (JSON).
pub fn route(method: &'static str, path: &str, status: u16, fixture_name: &str) -> Route {
    Route {
        method,
        path: path.to_string(),
        status,
        body: fixture(fixture_name),
        content_type: "application/json",
    }
}

/// Answers `method path` with the fixture file as plain text (logs).
pub fn text_route(method: &'static str, path: &str, fixture_name: &str) -> Route {
    Route {
        content_type: "text/plain",
        ..route(method, path, 200, fixture_name)
    }
}

#[derive(Clone)]
struct AppState {
    routes: Arc<Vec<Route>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub struct FakeApi {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeApi {
    pub async fn start(routes: Vec<Route>) -> FakeApi {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = AppState {
            routes: Arc::new(routes),
            seen: seen.clone(),
        };
        let app = Router::new().fallback(answer).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeApi {
            url: format!("http://{addr}"),
            seen,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The toolset pointed at this server, with `extra` config values on top of url and token.
    pub fn toolset(&self, extra: Value) -> Arc<dyn Toolset> {
        let mut config = json!({"api_server": self.url, "token": TOKEN});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        aoi_plugin_kubernetes::toolset(&PluginConfig::new(config.as_object().unwrap().clone()))
            .unwrap()
    }
}

async fn answer(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    state.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        body: String::from_utf8_lossy(&body).to_string(),
        content_type: text("content-type"),
        accept: text("accept"),
        impersonate_user: text("impersonate-user"),
        authorization: text("authorization"),
    });
    let found = state
        .routes
        .iter()
        .find(|r| r.method == method.as_str() && r.path == uri.path());
    match found {
        Some(r) => (
            StatusCode::from_u16(r.status).unwrap(),
            [(header::CONTENT_TYPE, r.content_type)],
            r.body.clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "the server could not find the requested resource",
                   "reason": "NotFound", "details": {}, "code": 404})
            .to_string(),
        )
            .into_response(),
    }
}

pub async fn call(tools: &Arc<dyn Toolset>, call: ToolCall) -> ToolOutput {
    let out = tools.call(&call).await;
    assert!(!out.text.contains(TOKEN), "the token leaked into {out:?}");
    out
}

pub async fn call_as(tools: &Arc<dyn Toolset>, call: ToolCall, approver: &str) -> ToolOutput {
    let ctx = CallContext {
        approved_by: Some(approver.to_string()),
        ..CallContext::default()
    };
    let out = tools.call_with(&call, &ctx).await;
    assert!(!out.text.contains(TOKEN), "the token leaked into {out:?}");
    out
}

pub fn pods_path() -> String {
    format!("/api/v1/namespaces/{NS}/pods")
}

pub fn deployment_path(name: &str) -> String {
    format!("/apis/apps/v1/namespaces/{NS}/deployments/{name}")
}
