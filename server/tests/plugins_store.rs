//! The plugin store against the built `aoi` binary: signed uploads (unsigned, tampered and
//! untrusted packages refused), a WASM plugin that loops, reaches for a host it was not given
//! or imports a filesystem is stopped while the server keeps serving, a plugin installed in
//! tenant A adds its tools to A's sessions and not to B's, and its secret never appears in an
//! API response, a log line, a prompt or the database file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_e2e::{Launch, Server, Tenant};
use aoi_plugin_package::{Package, generate_signing_key, sign};
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const AOI: &str = env!("CARGO_BIN_EXE_aoi");
const SECRET: &str = "tok-SECRET-7f3a9c1e";

/// A package document for `manifest` and `payload`, signed with `key` when given.
fn package(manifest: &Value, payload: &[u8], key: Option<(&SigningKey, &str)>) -> Vec<u8> {
    let manifest_json = serde_json::to_vec(manifest).unwrap();
    let mut p = Package::new(&manifest_json, payload.to_vec()).unwrap();
    if let Some((key, id)) = key {
        p.signature = Some(sign(&manifest_json, payload, key, id).unwrap());
    }
    p.to_json().unwrap().into_bytes()
}

fn tool(name: &str, access: &str) -> Value {
    json!({"name": name, "description": format!("test tool {name}"), "args_schema": {"type": "object", "properties": {}}, "access": access, "resource": "test"})
}

fn wasm_manifest(name: &str, version: &str, publisher: &str) -> Value {
    json!({
        "name": name, "version": version, "publisher": publisher,
        "description": "A test plugin in WASM", "kind": "wasm",
        "config_schema": [{"name": "allowed_hosts", "description": "hosts", "kind": "string"}],
        "tools": [tool("spin_forever", "read"), tool("fetch_upstream", "read")]
    })
}

/// A guest: `spin_forever` loops; `fetch_upstream` GETs `url` through `aoi.http_get` and says
/// whether the host refused.
fn guest(url: &str) -> Vec<u8> {
    let fetched = r#"{\"text\":\"fetched\"}"#;
    let refused = r#"{\"text\":\"refused by the host\",\"is_error\":true}"#;
    let unescaped = |s: &str| s.replace("\\\"", "\"").len();
    let wat = r#"(module
  (import "aoi" "http_get" (func $http_get (param i32 i32) (result i64)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 0x8000))
  (data (i32.const 0x100) "URL")
  (data (i32.const 0x400) "FETCHED")
  (data (i32.const 0x480) "REFUSED")
  (func (export "aoi_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $len)))
    (local.get $p))
  (func (export "aoi_call") (param $np i32) (param $nl i32) (param $ap i32) (param $al i32) (result i64)
    (local $r i64)
    (if (i32.eq (i32.load8_u (local.get $np)) (i32.const 115))
      (then (loop $forever (br $forever))))
    (local.set $r (call $http_get (i32.const 0x100) (i32.const URL_LEN)))
    (if (result i64)
      (i32.eq (i32.load8_u (i32.add (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32))) (i32.const 2))) (i32.const 101))
      (then (i64.or (i64.shl (i64.const 0x480) (i64.const 32)) (i64.const REFUSED_LEN)))
      (else (i64.or (i64.shl (i64.const 0x400) (i64.const 32)) (i64.const FETCHED_LEN))))))"#
        .replace("URL_LEN", &url.len().to_string())
        .replace("FETCHED_LEN", &unescaped(fetched).to_string())
        .replace("REFUSED_LEN", &unescaped(refused).to_string())
        .replace("URL", url)
        .replace("FETCHED", fetched)
        .replace("REFUSED", refused);
    wat::parse_str(&wat).unwrap()
}

/// A module that reaches for the filesystem through WASI.
fn file_opener() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "aoi_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "aoi_call") (param i32 i32 i32 i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap()
}

/// An upstream (a Prometheus stand-in) that records the Authorization headers it receives.
async fn upstream() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .fallback(get(|State(seen): State<Arc<Mutex<Vec<String>>>>, headers: HeaderMap| async move {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            seen.lock().unwrap().push(auth);
            axum::Json(json!({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"__name__": "up", "job": "checkout"}, "value": [1700000000.0, "1"]}
            ]}}))
        }))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn wait_final(s: &Server, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = s.call("GET", &format!("/api/v1/sessions/{id}"), Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if ["succeeded", "failed", "cancelled"].contains(&body["status"].as_str().unwrap_or("")) {
            return body;
        }
        assert!(Instant::now() < deadline, "session {id} not final: {}", body["status"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn tool_names(session: &Value) -> Vec<String> {
    session["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("the session result lists its tools: {session}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_plugins_install_per_tenant_and_secrets_never_leak() {
    let key = generate_signing_key();
    let public = B64.encode(key.verifying_key().to_bytes());
    let trusted = format!("{{ acme = [{{ key_id = \"acme-1\", public_key = \"{public}\" }}] }}");
    let logs = tempfile::tempdir().unwrap();
    let log_path = logs.path().join("aoi.log");
    let launch = Launch::default()
        .with("AOI__PLUGINS__TRUSTED_PUBLISHERS", &trusted)
        .with("AOI__PLUGINS__WASM_TIMEOUT_MS", "1500");
    let s = Server::launch_logged(AOI, &launch, &log_path, "debug");
    let a = Tenant::setup(&s).await;
    let mut responses: Vec<String> = Vec::new();

    // --- uploads: unsigned, tampered, untrusted are refused, each saying which.
    let forbidden_host = "http://127.0.0.1:9/forbidden";
    let module = guest(forbidden_host);
    let manifest = wasm_manifest("sandboxed", "1.0.0", "acme");
    let (status, body) = s.raw("/api/v1/plugins", &a.admin, package(&manifest, &module, None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("unsigned"), "{body}");

    let signed = package(&manifest, &module, Some((&key, "acme-1")));
    let mut doc: Value = serde_json::from_slice(&signed).unwrap();
    doc["manifest"]["description"] = json!("A friendlier description");
    let (status, body) = s.raw("/api/v1/plugins", &a.admin, serde_json::to_vec(&doc).unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("tampered") && body.to_string().contains("manifest"), "{body}");
    let mut doc: Value = serde_json::from_slice(&signed).unwrap();
    doc["payload_base64"] = json!(B64.encode(guest("http://127.0.0.1:9/other")));
    let (status, body) = s.raw("/api/v1/plugins", &a.admin, serde_json::to_vec(&doc).unwrap()).await;
    assert!(status == StatusCode::UNPROCESSABLE_ENTITY && body.to_string().contains("payload"), "{body}");

    let stranger = generate_signing_key();
    let (status, body) = s
        .raw("/api/v1/plugins", &a.admin, package(&wasm_manifest("sandboxed", "1.0.0", "mallory"), &module, Some((&stranger, "m-1"))))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("untrusted publisher `mallory`"), "{body}");
    let (status, body) = s
        .raw("/api/v1/plugins", &a.admin, package(&manifest, &module, Some((&stranger, "acme-2"))))
        .await;
    assert!(status == StatusCode::UNPROCESSABLE_ENTITY && body.to_string().contains("unknown key"), "{body}");

    // A module that imports a filesystem is refused at upload, naming the import.
    let opener = wasm_manifest("opener", "1.0.0", "acme");
    let (status, body) = s
        .raw("/api/v1/plugins", &a.admin, package(&opener, &file_opener(), Some((&key, "acme-1"))))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("path_open"), "{body}");

    // Only a platform admin uploads; then the signed one is accepted.
    let (status, _) = s.raw("/api/v1/plugins", &a.operator, signed.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = s.raw("/api/v1/plugins", &a.admin, signed.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["key_id"], json!("acme-1"));

    // --- the sandbox stops a loop and a reach for another host; the server keeps serving.
    let (status, body) = s
        .call("POST", "/api/v1/plugins/sandboxed/install", Some(&a.admin), Some(json!({"config": {"allowed_hosts": "127.0.0.1:1"}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, out) = s
        .call("POST", "/api/v1/plugins/sandboxed/tools/spin_forever/call", Some(&a.operator), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["is_error"], json!(true), "{out}");
    assert!(out["text"].as_str().unwrap().contains("stopped"), "{out}");
    let (status, out) = s
        .call("POST", "/api/v1/plugins/sandboxed/tools/fetch_upstream/call", Some(&a.operator), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["text"], json!("refused by the host"), "{out}");
    assert_eq!(s.call("GET", "/healthz", None, None).await.0, StatusCode::OK);

    // --- a built-in with a secret, installed in tenant A only.
    let (up_url, seen) = upstream().await;
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/plugins/prometheus/install",
            Some(&a.admin),
            Some(json!({"config": {"base_url": up_url, "bearer_token": SECRET}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["secrets_set"], json!(["bearer_token"]), "{body}");
    responses.push(body.to_string());
    let (status, out) = s
        .call("POST", "/api/v1/plugins/prometheus/tools/prometheus_query/call", Some(&a.operator), Some(json!({"args": {"query": "up"}})))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(out["text"].as_str().unwrap().contains("checkout"), "{out}");
    responses.push(out.to_string());
    assert!(
        seen.lock().unwrap().iter().any(|h| h == &format!("Bearer {SECRET}")),
        "the secret reaches the upstream it is for"
    );
    // A write tool is not callable outside a session's gate.
    let (status, body) = s
        .call("POST", "/api/v1/plugins/sandboxed/tools/nope/call", Some(&a.operator), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // A viewer may not run tools.
    let (status, _) = s
        .call("POST", "/api/v1/plugins/prometheus/tools/prometheus_query/call", Some(&a.viewer), Some(json!({"args": {"query": "up"}})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, catalog) = s.call("GET", "/api/v1/plugins", Some(&a.viewer), None).await;
    assert_eq!(status, StatusCode::OK, "{catalog}");
    let prom = catalog.as_array().unwrap().iter().find(|p| p["name"] == "prometheus").unwrap();
    assert_eq!(prom["installation"]["secrets_set"], json!(["bearer_token"]));
    assert!(prom["tools"].as_array().unwrap().iter().all(|t| t["access"] == "read" || t["access"] == "write"));
    responses.push(catalog.to_string());

    // --- the same through `aoi plugins` (the CLI is a client of the REST API).
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(AOI)
            .arg("plugins")
            .args(args)
            .env("AOI_URL", s.url(""))
            .env("AOI_TOKEN", &a.admin)
            .env("PROM_TOKEN", SECRET)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, listed, err) = cli(&["list"]);
    assert!(ok, "{err}");
    assert!(listed.contains("prometheus 0.1.0") && listed.contains("installed"), "{listed}");
    assert!(listed.contains("write alertmanager_silence"), "{listed}");
    let (ok, out, err) = cli(&["configure", "prometheus", "--secret-env", "bearer_token=PROM_TOKEN", "--set", "timeout_seconds=5"]);
    assert!(ok, "{err}");
    assert!(out.contains("secrets set: bearer_token") && !out.contains(SECRET), "{out}");
    let (ok, out, err) = cli(&["call", "prometheus", "prometheus_query", "--arg", "query=up"]);
    assert!(ok, "{err}");
    assert!(out.contains("checkout"), "{out}");
    let (ok, _, err) = cli(&["rollback", "prometheus"]);
    assert!(!ok && err.contains("no previous version"), "{err}");
    responses.push(listed);

    // --- tenant B has none of it.
    let (status, body) = s
        .call("POST", "/api/v1/tenants", Some(&a.admin), Some(json!({"slug": "tenant-b", "name": "B", "admin_username": "boss", "admin_password": "boss-password"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let b = s.login("tenant-b", "boss", "boss-password").await;
    let (_, catalog_b) = s.call("GET", "/api/v1/plugins", Some(&b), None).await;
    assert!(catalog_b.as_array().unwrap().iter().all(|p| p["installation"].is_null()), "{catalog_b}");
    let (status, body) = s
        .call("POST", "/api/v1/plugins/prometheus/tools/prometheus_query/call", Some(&b), Some(json!({"args": {"query": "up"}})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // --- sessions: A's has the plugin's tools, B's does not; no prompt holds the secret.
    a.auto_writes(&s).await;
    let incident = a.alert(&s, "fp-plugins").await;
    let session_a = a.start_session(&s, &incident).await;
    let (status, body) = s
        .call("PUT", "/api/v1/guardrails", Some(&b), Some(json!({"action_pattern": "*", "decision": "auto"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, inc_b) = s
        .call("POST", "/api/v1/incidents", Some(&b), Some(json!({"title": "checkout slow", "severity": "critical", "service": "checkout"})))
        .await;
    let (_, env_b) = s
        .call("POST", "/api/v1/environments", Some(&b), Some(json!({"name": "demo", "kind": "twin", "problem_id": aoi_e2e::MITIGATION_PROBLEM})))
        .await;
    let (status, sb) = s
        .call(
            "POST",
            &format!("/api/v1/incidents/{}/sessions", inc_b["id"].as_str().unwrap()),
            Some(&b),
            Some(json!({"environment_id": env_b["id"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sb}");
    let done_a = wait_final(&s, &a.viewer, &session_a).await;
    let done_b = wait_final(&s, &b, sb["id"].as_str().unwrap()).await;
    let tools_a = tool_names(&done_a);
    let tools_b = tool_names(&done_b);
    assert!(tools_a.contains(&"prometheus_query".to_string()), "{tools_a:?}");
    assert!(tools_a.contains(&"fetch_upstream".to_string()), "{tools_a:?}");
    assert!(!tools_b.iter().any(|t| t.starts_with("prometheus") || t == "fetch_upstream"), "{tools_b:?}");
    assert!(tools_b.contains(&"exec_shell".to_string()), "{tools_b:?}");
    let prompts_a: Vec<String> = done_a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|st| st["payload"].get("exchange"))
        .map(|e| e.to_string())
        .collect();
    assert!(!prompts_a.is_empty(), "the session recorded its prompts");
    assert!(prompts_a.iter().any(|p| p.contains("prometheus_query")), "A's prompts document the plugin's tools");
    responses.push(done_a.to_string());
    responses.push(done_b.to_string());

    // --- disable: the tools leave new sessions; the audit log names every change.
    let (status, body) = s.call("POST", "/api/v1/plugins/prometheus/disable", Some(&a.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], json!(false));
    let (status, audit) = s.call("GET", "/api/v1/audit?limit=500", Some(&a.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let audit_text = audit.to_string();
    for action in ["plugin.upload", "plugin.upload_refused", "plugin.install", "plugin.tool_call", "plugin.disable"] {
        assert!(audit_text.contains(&format!("\"{action}\"")), "audit has {action}");
    }
    responses.push(audit_text);

    // --- the secret is in no response, no log line and not in clear in the database.
    for r in &responses {
        assert!(!r.contains(SECRET), "an API response holds the secret: {r}");
    }
    s.call("GET", "/healthz", None, None).await;
    let data_dir = s.data_dir().to_path_buf();
    let db_bytes: Vec<u8> = std::fs::read_dir(&data_dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("aoi.db"))
        .flat_map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    assert!(!db_bytes.is_empty(), "the SQLite database is in the data folder");
    assert!(
        !db_bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "the secret is stored in clear"
    );
    s.stop().await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.lines().count() > 20, "the debug log was captured ({} lines)", log.lines().count());
    assert!(!log.contains(SECRET), "a log line holds the secret");
}

/// A declarative HTTP plugin and an MCP plugin (a stdio server) go through the same store:
/// signed upload, install with a secret, a read tool called, a write tool refused outside a
/// session, and MCP hints mapping to read and write in the catalog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_http_and_mcp_plugins_run_through_the_store() {
    let key = generate_signing_key();
    let public = B64.encode(key.verifying_key().to_bytes());
    let trusted = format!("{{ acme = [{{ key_id = \"acme-1\", public_key = \"{public}\" }}] }}");
    let s = Server::launch(AOI, &Launch::default().with("AOI__PLUGINS__TRUSTED_PUBLISHERS", &trusted));
    let a = Tenant::setup(&s).await;
    let (up_url, seen) = upstream().await;

    let http_manifest = json!({
        "name": "metrics-http", "version": "1.0.0", "publisher": "acme",
        "description": "Prometheus through declarative HTTP", "kind": "http",
        "config_schema": [
            {"name": "base_url", "description": "API base", "kind": "url", "required": true},
            {"name": "token", "description": "API token", "kind": "string", "secret": true}
        ],
        "tools": [{"name": "instant_query", "description": "PromQL now",
                   "args_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
                   "access": "read", "resource": "metrics"}]
    });
    let spec = json!({"tools": {"instant_query": {
        "method": "GET", "path": "/api/v1/query", "query": {"query": "{query}"},
        "headers": {"Authorization": "Bearer {config.token}"},
        "extract": {"pointer": "/data/result"}
    }}});
    let doc = package(&http_manifest, spec.to_string().as_bytes(), Some((&key, "acme-1")));
    let (status, body) = s.raw("/api/v1/plugins", &a.admin, doc).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s
        .call("POST", "/api/v1/plugins/metrics-http/install", Some(&a.admin), Some(json!({"config": {"base_url": up_url, "token": SECRET}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, out) = s
        .call("POST", "/api/v1/plugins/metrics-http/tools/instant_query/call", Some(&a.operator), Some(json!({"args": {"query": "up"}})))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(out["text"].as_str().unwrap().contains("checkout") && !out.to_string().contains(SECRET), "{out}");
    assert!(seen.lock().unwrap().iter().any(|h| h == &format!("Bearer {SECRET}")));

    let fixture = format!("{}/../plugins/mcp/tests/fixtures/mcp_server.py", env!("CARGO_MANIFEST_DIR"));
    let mcp_tool = |name: &str, access: &str| {
        json!({"name": name, "description": format!("{name} (signed)"),
               "args_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
               "access": access, "resource": "users"})
    };
    let mcp_manifest = json!({
        "name": "user-admin", "version": "1.0.0", "publisher": "acme",
        "description": "users over MCP", "kind": "mcp",
        "config_schema": [{"name": "token", "description": "API token", "kind": "string", "required": true, "secret": true}],
        "tools": [mcp_tool("lookup_user", "read"), mcp_tool("delete_user", "write")]
    });
    let launch = json!({"transport": "stdio", "command": "python3", "args": [fixture], "env": {"API_TOKEN": "{config.token}"}});
    let doc = package(&mcp_manifest, launch.to_string().as_bytes(), Some((&key, "acme-1")));
    let (status, body) = s.raw("/api/v1/plugins", &a.admin, doc).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A launch spec that puts a secret on the command line is refused at upload.
    let leaky = json!({"transport": "stdio", "command": "python3", "args": ["{config.token}"]});
    let mut leaky_manifest = mcp_manifest.clone();
    leaky_manifest["version"] = json!("1.0.1");
    let doc = package(&leaky_manifest, leaky.to_string().as_bytes(), Some((&key, "acme-1")));
    let (status, body) = s.raw("/api/v1/plugins", &a.admin, doc).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = s
        .call("POST", "/api/v1/plugins/user-admin/install", Some(&a.admin), Some(json!({"config": {"token": SECRET}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, out) = s
        .call("POST", "/api/v1/plugins/user-admin/tools/lookup_user/call", Some(&a.operator), Some(json!({"args": {"name": "ada"}})))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(out["text"].as_str().unwrap().contains("ada"), "{out}");
    let (status, body) = s
        .call("POST", "/api/v1/plugins/user-admin/tools/delete_user/call", Some(&a.operator), Some(json!({"args": {"name": "ada"}})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("through the approval gate"), "{body}");
    let (_, catalog) = s.call("GET", "/api/v1/plugins", Some(&a.viewer), None).await;
    let mcp = catalog.as_array().unwrap().iter().find(|p| p["name"] == "user-admin").unwrap();
    let access: Vec<(String, String)> = mcp["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["access"].as_str().unwrap().to_string()))
        .collect();
    assert!(access.contains(&("delete_user".into(), "write".into())), "{access:?}");
    assert!(!catalog.to_string().contains(SECRET));
    s.stop().await;
}
