//! aoi-e2e: the black-box harness and scenarios for the `aoi` binary. [`Server`] starts
//! `aoi serve` on a free port with a fresh data folder, on SQLite or on this machine's
//! PostgreSQL (a fresh database per run; it fails, never skips, when PostgreSQL is
//! unreachable); [`scenario`] drives it over HTTP with reqwest. The runners live where the
//! binary is built (server/tests/e2e_api.rs passes `env!("CARGO_BIN_EXE_aoi")`).
//!
//! It depends on no AOI crate: it sees only what a client sees.

// A test harness: a failed step is a failed test, so panicking with context is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use sea_orm::{ConnectOptions, ConnectionTrait, Database};
use serde_json::{Value, json};

/// The bootstrap admin's password every server of this harness starts with.
pub const ADMIN_PASSWORD: &str = "e2e-admin-password";

mod flow;
pub use flow::*;

fn pg_admin_url() -> String {
    std::env::var("AOI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{nanos}", std::process::id())
}

async fn pg_admin() -> sea_orm::DatabaseConnection {
    let url = pg_admin_url();
    let mut options = ConnectOptions::new(url.clone());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(1)
        .sqlx_logging(false);
    match Database::connect(options).await {
        Ok(c) => c,
        Err(e) => panic!(
            "PostgreSQL is not reachable (tried {url}): start it on 127.0.0.1:5432 or set AOI_TEST_POSTGRES_URL: {e}"
        ),
    }
}

/// A running `aoi serve`; killed (and its PostgreSQL database dropped) at the end.
pub struct Server {
    child: Child,
    base: String,
    data: tempfile::TempDir,
    pg_db: Option<String>,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed scenario must not leave the server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `bin serve` (SQLite, or PostgreSQL when `postgres`).
    pub async fn start(bin: &str, postgres: bool) -> Server {
        let mut launch = Launch::default();
        let mut pg_db = None;
        if postgres {
            let name = create_pg_database().await;
            launch.database_url = Some(pg_url(&name));
            pg_db = Some(name);
        }
        let mut server = Server::launch(bin, &launch);
        server.pg_db = pg_db;
        server
    }

    /// Starts `bin serve` with `launch` (a database and Redis the caller owns, more
    /// environment); waits until it prints its address.
    pub fn launch(bin: &str, launch: &Launch) -> Server {
        Server::launch_with_log(bin, launch, None)
    }

    /// [`Server::launch`] with the server's log (stderr) written to `log` at `RUST_LOG` level
    /// `level`, so a test can search every line it logged.
    pub fn launch_logged(bin: &str, launch: &Launch, log: &std::path::Path, level: &str) -> Server {
        Server::launch_with_log(bin, launch, Some((log, level)))
    }

    fn launch_with_log(bin: &str, launch: &Launch, log: Option<(&std::path::Path, &str)>) -> Server {
        let data = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        launch.apply(&mut cmd);
        if let Some((path, level)) = log {
            cmd.stderr(std::fs::File::create(path).unwrap())
                .env("RUST_LOG", level);
        }
        let mut child = cmd.spawn().expect("start aoi serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!("aoi serve did not print its address within 60 s (exit: {status:?})");
            }
        };
        Server {
            child,
            base,
            data,
            pg_db: None,
            http: reqwest::Client::new(),
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(name) = self.pg_db.take() {
            let admin = pg_admin().await;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .ok();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn raw(&self, path: &str, token: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let value = resp.json().await.unwrap_or(Value::Null);
        (status, value)
    }

    pub async fn login(&self, tenant: &str, user: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"tenant": tenant, "username": user, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {tenant}/{user}: {body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// The server's data folder (its SQLite database and key files).
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }

    pub fn signing_key(&self) -> Vec<u8> {
        let text = std::fs::read_to_string(self.data.path().join("jwt.key")).unwrap();
        text.trim().as_bytes().to_vec()
    }

    /// A token signed with this server's key for the `default` tenant that expired an hour
    /// ago: what a browser holds after its session ran out.
    pub fn expired_token(&self) -> String {
        let t = now();
        sign(&claims("default", "aoi-api", t - 7200, t - 3600), &self.signing_key())
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(tenant: &str, aud: &str, iat: u64, exp: u64) -> Value {
    json!({"sub": "00000000-0000-0000-0000-000000000001", "tenant": tenant, "roles": ["admin"],
           "iss": "aoi", "aud": aud, "iat": iat, "exp": exp, "jti": "e2e"})
}

fn sign(claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap()
}

/// An Alertmanager webhook (v4) with one alert of `status` and `fingerprint`.
pub fn alert_payload(status: &str, fingerprint: &str) -> Value {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"HighErrorRate\"}", "truncatedAlerts": 0,
        "status": status, "receiver": "aoi",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "severity": "critical"},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "HighErrorRate", "severity": "critical", "service": "frontend", "namespace": "shop"},
            "annotations": {"summary": "frontend 5xx above 5%"},
            "startsAt": "2026-11-26T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint
        }]
    })
}

/// Login, tenant isolation, viewer writes, JWT attacks, bad input, Alertmanager, audit,
/// metrics: the whole identity/incidents surface.
pub async fn scenario(s: &Server) {
    // Liveness, readiness, OpenAPI.
    assert_eq!(
        s.call("GET", "/healthz", None, None).await.0,
        StatusCode::OK
    );
    assert_eq!(s.call("GET", "/readyz", None, None).await.0, StatusCode::OK);
    let (status, doc) = s.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/v1/auth/login",
        "/api/v1/incidents/{id}",
        "/api/v1/alerts/alertmanager",
        "/api/v1/audit/export",
    ] {
        assert!(doc["paths"].get(path).is_some(), "openapi lacks {path}");
    }

    // Login.
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"tenant": "default", "username": "admin", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let a = s.login("default", "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        s.call("GET", "/api/v1/incidents", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Tenant B with its own admin.
    let (status, body) = s
        .call("POST", "/api/v1/tenants", Some(&a), Some(json!({"slug": "tenant-b", "name": "B", "admin_username": "boss", "admin_password": "boss-password"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let b = s.login("tenant-b", "boss", "boss-password").await;
    let (status, body) = s.call("GET", "/api/v1/tenants", Some(&b), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "a tenant admin is not a platform admin"
    );

    // Tenant A's things.
    let (status, inc) = s
        .call(
            "POST",
            "/api/v1/incidents",
            Some(&a),
            Some(json!({"title": "checkout slow", "severity": "critical", "service": "checkout"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    let inc_id = inc["id"].as_str().unwrap().to_string();
    let (status, env) = s
        .call("POST", "/api/v1/environments", Some(&a), Some(json!({"name": "demo", "kind": "twin", "problem_id": "k8s_target_port-misconfig-mitigation-1"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{env}");
    let env_id = env["id"].as_str().unwrap().to_string();
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/environments",
            Some(&a),
            Some(json!({"name": "bad", "kind": "twin", "problem_id": "no-such-problem"})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    let (status, guard) = s
        .call(
            "PUT",
            "/api/v1/guardrails",
            Some(&a),
            Some(json!({"action_pattern": "kubectl delete*", "decision": "deny"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{guard}");
    let guard_id = guard["id"].as_str().unwrap().to_string();
    let (status, key) = s
        .call(
            "POST",
            "/api/v1/api-keys",
            Some(&a),
            Some(json!({"name": "alertmanager", "role": "operator"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key_id = key["id"].as_str().unwrap().to_string();
    let api_key = key["key"].as_str().unwrap().to_string();
    let (status, user) = s
        .call(
            "POST",
            "/api/v1/users",
            Some(&a),
            Some(json!({"username": "vera", "password": "viewer-password", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/users",
            Some(&a),
            Some(
                json!({"username": "root", "password": "root-password", "role": "platform-admin"}),
            ),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "a tenant admin cannot grant platform-admin"
    );

    // Tenant isolation: B gets 404 for A's ids, and its lists leak nothing of A.
    for (method, path) in [
        ("GET", format!("/api/v1/incidents/{inc_id}")),
        ("GET", format!("/api/v1/environments/{env_id}")),
        ("DELETE", format!("/api/v1/api-keys/{key_id}")),
        ("DELETE", format!("/api/v1/guardrails/{guard_id}")),
    ] {
        let (status, body) = s.call(method, &path, Some(&b), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method} {path}: {body}"
        );
        let text = body.to_string();
        assert!(
            !text.contains("checkout") && !text.contains("demo"),
            "404 leaks: {text}"
        );
    }
    for path in [
        "/api/v1/incidents",
        "/api/v1/environments",
        "/api/v1/api-keys",
        "/api/v1/guardrails",
        "/api/v1/users",
        "/api/v1/audit",
        "/api/v1/policies",
    ] {
        let (status, body) = s.call("GET", path, Some(&b), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let text = body.to_string();
        for id in [&inc_id, &env_id, &key_id, &guard_id] {
            assert!(!text.contains(id.as_str()), "{path} leaks tenant A's {id}");
        }
        assert!(
            !text.contains("vera") && !text.contains("\"default\""),
            "{path} leaks tenant A: {text}"
        );
    }
    // A's own view still works.
    assert_eq!(
        s.call(
            "GET",
            &format!("/api/v1/incidents/{inc_id}"),
            Some(&a),
            None
        )
        .await
        .0,
        StatusCode::OK
    );

    // A viewer reads but cannot write.
    let v = s.login("default", "vera", "viewer-password").await;
    assert_eq!(
        s.call("GET", "/api/v1/incidents", Some(&v), None).await.0,
        StatusCode::OK
    );
    for (method, path, body) in [
        ("POST", "/api/v1/incidents", json!({"title": "x"})),
        (
            "POST",
            "/api/v1/api-keys",
            json!({"name": "k", "role": "viewer"}),
        ),
        (
            "POST",
            "/api/v1/users",
            json!({"username": "u", "password": "password-1", "role": "viewer"}),
        ),
        (
            "PUT",
            "/api/v1/guardrails",
            json!({"action_pattern": "*", "decision": "auto"}),
        ),
        (
            "POST",
            "/api/v1/environments",
            json!({"name": "e", "kind": "twin", "problem_id": "k8s_target_port-misconfig-mitigation-1"}),
        ),
        ("POST", "/api/v1/tenants", json!({"slug": "c", "name": "C"})),
        (
            "POST",
            "/api/v1/alerts/alertmanager",
            alert_payload("firing", "viewer-fp"),
        ),
    ] {
        let (status, resp) = s.call(method, path, Some(&v), Some(body)).await;
        assert_eq!(
            (status, code(&resp)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "viewer {method} {path}: {resp}"
        );
    }

    // JWTs that must be refused.
    let key = s.signing_key();
    let t = now();
    let valid = sign(&claims("default", "aoi-api", t, t + 600), &key);
    assert_eq!(
        s.call("GET", "/api/v1/incidents", Some(&valid), None)
            .await
            .0,
        StatusCode::OK,
        "a well-formed token passes"
    );
    let none_token = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims("default", "aoi-api", t, t + 600).to_string())
    );
    let tampered = {
        let parts: Vec<&str> = a.split('.').collect();
        let mut payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["tenant"] = json!("tenant-b");
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            parts[2]
        )
    };
    for (what, token) in [
        ("alg none", none_token),
        (
            "wrong key",
            sign(
                &claims("default", "aoi-api", t, t + 600),
                b"another-key-another-key-another-key-0123",
            ),
        ),
        (
            "expired",
            sign(&claims("default", "aoi-api", t - 7200, t - 3600), &key),
        ),
        (
            "wrong audience",
            sign(&claims("default", "someone-else", t, t + 600), &key),
        ),
        ("tampered tenant", tampered),
    ] {
        let (status, body) = s.call("GET", "/api/v1/incidents", Some(&token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert!(
            ["invalid_token", "token_expired"].contains(&code(&body)),
            "{what}: {body}"
        );
    }

    // Bad input.
    for (what, bytes) in [
        ("malformed JSON", b"{\"title\": ".to_vec()),
        (
            "unknown field",
            br#"{"title": "x", "colour": "red"}"#.to_vec(),
        ),
        ("wrong type", br#"{"title": 5}"#.to_vec()),
        ("invalid UTF-8", b"{\"title\": \"\xff\xfe\"}".to_vec()),
    ] {
        let (status, body) = s.raw("/api/v1/incidents", &a, bytes).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_input"),
            "{what}: {body}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().len() > 10,
            "{what}: says what to fix"
        );
    }
    let big = format!("{{\"title\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let (status, body) = s.raw("/api/v1/incidents", &a, big.into_bytes()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let (_, listed) = s.call("GET", "/api/v1/incidents", Some(&a), None).await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "nothing half-written by bad input"
    );

    // Alertmanager: firing opens an incident (deduplicated), resolved resolves it.
    let (status, report) = s
        .call(
            "POST",
            "/api/v1/alerts/alertmanager",
            Some(&api_key),
            Some(alert_payload("firing", "fp-e2e-1")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["alerts"][0]["created"], json!(true));
    let am_id = report["alerts"][0]["incident_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, again) = s
        .call(
            "POST",
            "/api/v1/alerts/alertmanager",
            Some(&api_key),
            Some(alert_payload("firing", "fp-e2e-1")),
        )
        .await;
    assert_eq!(
        again["alerts"][0]["incident_id"].as_str(),
        Some(am_id.as_str())
    );
    assert_eq!(again["alerts"][0]["created"], json!(false));
    let (_, open) = s
        .call(
            "GET",
            "/api/v1/incidents?state=open&severity=critical&service=frontend",
            Some(&a),
            None,
        )
        .await;
    let open_ids: Vec<&str> = open
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(open_ids, vec![am_id.as_str()]);
    let (_, detail) = s
        .call("GET", &format!("/api/v1/incidents/{am_id}"), Some(&a), None)
        .await;
    assert_eq!(detail["title"], json!("frontend 5xx above 5%"));
    assert_eq!(detail["alerts"].as_array().unwrap().len(), 2);
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/alerts/alertmanager",
            Some(&api_key),
            Some(alert_payload("resolved", "fp-e2e-1")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = s
        .call("GET", &format!("/api/v1/incidents/{am_id}"), Some(&a), None)
        .await;
    assert_eq!(detail["state"], json!("resolved"));
    // Tenant B cannot see it either.
    assert_eq!(
        s.call("GET", &format!("/api/v1/incidents/{am_id}"), Some(&b), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // A revoked key stops working.
    let (_, k2) = s
        .call(
            "POST",
            "/api/v1/api-keys",
            Some(&a),
            Some(json!({"name": "temp", "role": "viewer"})),
        )
        .await;
    let k2_token = k2["key"].as_str().unwrap().to_string();
    assert_eq!(
        s.call("GET", "/api/v1/incidents", Some(&k2_token), None)
            .await
            .0,
        StatusCode::OK
    );
    let k2_id = k2["id"].as_str().unwrap();
    assert_eq!(
        s.call(
            "DELETE",
            &format!("/api/v1/api-keys/{k2_id}"),
            Some(&a),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.call("GET", "/api/v1/incidents", Some(&k2_token), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // The audit log has the logins (success and failure), the key use and the denials.
    let (_, logins) = s
        .call("GET", "/api/v1/audit?action=auth.login", Some(&a), None)
        .await;
    let decisions: Vec<&str> = logins
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["decision"].as_str())
        .collect();
    assert!(
        decisions.contains(&"success") && decisions.contains(&"failure"),
        "{logins}"
    );
    let (_, uses) = s
        .call("GET", "/api/v1/audit?action=api_key.use", Some(&a), None)
        .await;
    assert!(
        uses.as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == json!(format!("key:{key_id}"))),
        "{uses}"
    );
    let (_, denied) = s
        .call("GET", "/api/v1/audit?action=authz.denied", Some(&a), None)
        .await;
    assert!(
        !denied.as_array().unwrap().is_empty(),
        "viewer's refused writes are audited"
    );
    let resp = s
        .http
        .get(s.url("/api/v1/audit/export"))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|e| e["action"] == json!("alertmanager.ingest"))
    );
    assert!(
        lines
            .iter()
            .all(|e| e["tenant_id"] == lines[0]["tenant_id"]),
        "export is one tenant's"
    );

    // Metrics saw the traffic.
    let metrics = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("aoi_http_requests_total{method=\"GET\",route=\"/api/v1/incidents/{id}\",status=\"404\"}"), "{metrics}");
    assert!(metrics.contains("aoi_http_request_duration_seconds_bucket"));
}

/// `bin serve` on a non-loopback address with default secrets must refuse to start.
pub fn refuses_public_address(bin: &str) {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(data.path())
        .env_remove("AOI_ADMIN_PASSWORD")
        .env_remove("AOI__AUTH__ADMIN_PASSWORD")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen"), "{err}");
}
