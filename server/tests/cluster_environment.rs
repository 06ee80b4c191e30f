//! Environments of kind `kubernetes` run on the tenant's plugins: refused before the
//! kubernetes plugin is installed, then a session on an incident gets the plugins' tools (and
//! no twin), and its task is the incident in its namespace. The cluster's API server is a
//! stand-in that answers every request with an empty list (the plugin's own requests are
//! tested in plugins/kubernetes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_e2e::{Server, Tenant};
use axum::Router;
use axum::extract::{OriginalUri, State};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const AOI: &str = env!("CARGO_BIN_EXE_aoi");

async fn api_server() -> String {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .fallback(|State(seen): State<Arc<Mutex<Vec<String>>>>, uri: OriginalUri| async move {
            seen.lock().unwrap().push(uri.0.path().to_string());
            axum::Json(json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []}))
        })
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_session_runs_on_the_tenants_plugins() {
    let s = Server::start(AOI, false).await;
    let t = Tenant::setup(&s).await;
    let env = json!({"name": "prod", "kind": "kubernetes", "config": {"namespace": "shop"}});
    let (status, body) = s.call("POST", "/api/v1/environments", Some(&t.admin), Some(env.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("install and enable it first"), "{body}");

    let api = api_server().await;
    let (status, body) = s
        .call("POST", "/api/v1/plugins/kubernetes/install", Some(&t.admin), Some(json!({"config": {"api_server": api, "token": "cluster-token-123"}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s
        .call("POST", "/api/v1/environments", Some(&t.admin), Some(json!({"name": "bad", "kind": "kubernetes", "config": {"namespase": "x"}})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("config.namespase"), "{body}");
    let (status, env) = s.call("POST", "/api/v1/environments", Some(&t.admin), Some(env)).await;
    assert_eq!(status, StatusCode::CREATED, "{env}");

    let incident = t.alert(&s, "fp-cluster").await;
    let (status, session) = s
        .call("POST", &format!("/api/v1/incidents/{incident}/sessions"), Some(&t.operator), Some(json!({"environment_id": env["id"]})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let id = session["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let body = t.session(&s, id).await;
        if ["succeeded", "failed"].contains(&body["status"].as_str().unwrap_or("")) {
            break body;
        }
        assert!(Instant::now() < deadline, "session not final: {}", body["status"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let result = &done["result"];
    assert_eq!(result["environment"], json!("kubernetes"), "{result}");
    let tools: Vec<&str> = result["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(tools.contains(&"k8s_get") && tools.contains(&"k8s_scale"), "{tools:?}");
    assert!(!tools.contains(&"exec_shell"), "no twin tools on a cluster: {tools:?}");
    assert!(result["tools"].as_array().unwrap().iter().all(|t| t["source"] == "plugin:kubernetes"));
    // The task is the incident, in its namespace.
    let first = &done["steps"][0]["payload"]["exchange"]["prompt"];
    assert!(first.to_string().contains("Namespace: shop"), "{first}");
    assert!(!done.to_string().contains("cluster-token-123"));
    s.stop().await;
}
