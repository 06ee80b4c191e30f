//! Sessions end to end: launch options (shared PostgreSQL database, Redis key prefix, extra
//! environment), `aoi worker agent` processes, an SSE reader over reqwest's byte stream,
//! Redis helpers, and the approval-flow scenario.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{ADMIN_PASSWORD, Server, alert_payload, code, pg_admin, pg_admin_url, unique};

/// A signing key every process of one deployment shares (so a token of one replica works on
/// the others).
pub const SHARED_SIGNING_KEY: &str = "e2e-shared-signing-key-0123456789abcdef";

/// How a process of the deployment under test is started.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// `DATABASE_URL`; SQLite in the data folder when unset.
    pub database_url: Option<String>,
    /// `REDIS_URL` and `AOI__REDIS__KEY_PREFIX`.
    pub redis: Option<(String, String)>,
    /// More environment (`AOI__...`).
    pub env: Vec<(String, String)>,
}

impl Launch {
    /// A PostgreSQL + Redis deployment with short worker timings and a shared signing key.
    pub fn cluster(database_url: String, redis_prefix: &str) -> Launch {
        Launch {
            database_url: Some(database_url),
            redis: Some((redis_url(), redis_prefix.to_owned())),
            env: vec![
                ("AOI__AUTH__SIGNING_KEY".into(), SHARED_SIGNING_KEY.into()),
                ("AOI__WORKERS__LEASE_SECS".into(), "3".into()),
                ("AOI__WORKERS__RECONCILE_SECS".into(), "1".into()),
            ],
        }
    }

    /// This launch with one more variable.
    pub fn with(mut self, key: &str, value: &str) -> Launch {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn apply(&self, cmd: &mut Command) {
        cmd.env("AOI_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("RUST_LOG", "warn");
        for (k, _) in std::env::vars() {
            if k.starts_with("AOI__") {
                cmd.env_remove(k);
            }
        }
        if let Some(url) = &self.database_url {
            cmd.env("DATABASE_URL", url);
        }
        if let Some((url, prefix)) = &self.redis {
            cmd.env("REDIS_URL", url)
                .env("AOI__REDIS__KEY_PREFIX", prefix);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }
}

/// The URL of database `name` on the test PostgreSQL.
pub fn pg_url(name: &str) -> String {
    let base = pg_admin_url();
    let host = base.rsplit_once('/').map(|(h, _)| h.to_string()).unwrap();
    format!("{host}/{name}")
}

/// Creates a fresh database (fails when PostgreSQL is unreachable) and returns its name.
pub async fn create_pg_database() -> String {
    let name = unique("aoi_e2e");
    let admin = pg_admin().await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create the e2e database");
    admin.close().await.ok();
    name
}

/// Drops a database [`create_pg_database`] made.
pub async fn drop_pg_database(name: &str) {
    let admin = pg_admin().await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .ok();
    admin.close().await.ok();
}

/// The test Redis (`AOI_TEST_REDIS_URL`, default redis://127.0.0.1:6379).
pub fn redis_url() -> String {
    std::env::var("AOI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A fresh key prefix.
pub fn redis_prefix() -> String {
    unique("aoi-e2e")
}

/// A connection to the test Redis; panics with what to do when it is down.
pub async fn redis_conn() -> redis::aio::MultiplexedConnection {
    let url = redis_url();
    let client = redis::Client::open(url.as_str()).unwrap();
    match tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            panic!("Redis is not reachable at {url}: start it or set AOI_TEST_REDIS_URL: {e}")
        }
        Err(_) => panic!("Redis at {url} did not answer within 5 s"),
    }
}

/// Deletes every key under `prefix` (a flush of this deployment); returns how many.
pub async fn delete_redis_prefix(prefix: &str) -> usize {
    let mut conn = redis_conn().await;
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    for k in &keys {
        let _: i64 = redis::cmd("DEL")
            .arg(k)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    keys.len()
}

/// A running `aoi worker agent`.
pub struct WorkerProc {
    child: Child,
    _data: tempfile::TempDir,
}

impl WorkerProc {
    /// Starts `bin worker agent --concurrency 1` with `launch`.
    pub fn start(bin: &str, launch: &Launch) -> WorkerProc {
        let data = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(["worker", "agent", "--concurrency", "1", "--data-dir"])
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        launch.apply(&mut cmd);
        let child = cmd.spawn().expect("start aoi worker agent");
        WorkerProc { child, _data: data }
    }

    /// SIGKILL: no goodbye, no lease released.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub data: Value,
}

/// A GET .../events stream read in the background: `event:` and `data:` lines parsed from
/// reqwest's byte stream.
pub struct Sse {
    rx: mpsc::UnboundedReceiver<SseEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Sse {
    /// Opens `path` on `server` as `token`; asserts 200 and `text/event-stream`.
    pub async fn open(server: &Server, path: &str, token: &str) -> Sse {
        let mut resp = server
            .http
            .get(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "SSE {path}");
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(ctype.starts_with("text/event-stream"), "{ctype}");
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut buf: Vec<u8> = Vec::new();
            let mut event = String::new();
            let mut data = String::new();
            while let Ok(Some(chunk)) = resp.chunk().await {
                buf.extend_from_slice(&chunk);
                while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=nl).collect();
                    let line = String::from_utf8_lossy(&line);
                    let line = line.trim_end_matches(['\n', '\r']);
                    if line.is_empty() {
                        if !data.is_empty() {
                            let value =
                                serde_json::from_str(&data).unwrap_or(Value::String(data.clone()));
                            let name = if event.is_empty() {
                                "message".to_owned()
                            } else {
                                event.clone()
                            };
                            if tx
                                .send(SseEvent {
                                    event: name,
                                    data: value,
                                })
                                .is_err()
                            {
                                return;
                            }
                        }
                        event.clear();
                        data.clear();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    }
                }
            }
        });
        Sse { rx, task }
    }

    /// The next event, or `None` after `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        tokio::time::timeout(wait, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Everything received so far.
    pub fn drain(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            out.push(e);
        }
        out
    }
}

impl Drop for Sse {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The ids of `step` events.
pub fn step_indices(events: &[SseEvent]) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e.event == "step")
        .filter_map(|e| e.data["index"].as_i64())
        .collect()
}

/// Asserts the session's steps are 0..n, each once, and match the recorded count.
pub fn assert_steps_contiguous(session: &Value) -> usize {
    let indices: Vec<i64> = session["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["index"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = (0..i64::try_from(indices.len()).unwrap()).collect();
    assert_eq!(indices, expected, "steps lost or doubled");
    assert_eq!(
        session["result"]["steps"].as_u64(),
        Some(indices.len() as u64),
        "the result counts every step: {}",
        session["result"]
    );
    indices.len()
}

/// The gate records of the Executor's steps.
pub fn executor_gates(session: &Value) -> Vec<Value> {
    session["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["role"] == "executor")
        .filter_map(|s| s["payload"].get("gate").cloned())
        .filter(|g| !g.is_null())
        .collect()
}

const FINAL: [&str; 3] = ["succeeded", "failed", "cancelled"];

/// A tenant ready for sessions: admin token, an operator (token, id), a viewer token, an
/// operator API key, and a twin environment of a mitigation problem.
pub struct Tenant {
    pub admin: String,
    pub operator: String,
    pub operator_id: String,
    pub viewer: String,
    pub api_key: String,
    pub environment_id: String,
}

pub const MITIGATION_PROBLEM: &str = "k8s_target_port-misconfig-mitigation-1";

impl Tenant {
    /// Sets up the `default` tenant of `s`.
    pub async fn setup(s: &Server) -> Tenant {
        let admin = s.login("default", "admin", ADMIN_PASSWORD).await;
        let (status, op) = s
            .call(
                "POST",
                "/api/v1/users",
                Some(&admin),
                Some(json!({"username": "olga", "password": "operator-password", "role": "operator"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{op}");
        let operator_id = op["id"].as_str().unwrap().to_owned();
        let (status, v) = s
            .call(
                "POST",
                "/api/v1/users",
                Some(&admin),
                Some(json!({"username": "vera", "password": "viewer-password", "role": "viewer"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let (status, key) = s
            .call(
                "POST",
                "/api/v1/api-keys",
                Some(&admin),
                Some(json!({"name": "alertmanager", "role": "operator"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        let (status, env) = s
            .call(
                "POST",
                "/api/v1/environments",
                Some(&admin),
                Some(
                    json!({"name": "twin-demo", "kind": "twin", "problem_id": MITIGATION_PROBLEM}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{env}");
        Tenant {
            operator: s.login("default", "olga", "operator-password").await,
            viewer: s.login("default", "vera", "viewer-password").await,
            admin,
            operator_id,
            api_key: key["key"].as_str().unwrap().to_owned(),
            environment_id: env["id"].as_str().unwrap().to_owned(),
        }
    }

    /// An Alertmanager payload (firing, fresh fingerprint) becomes an incident; its id.
    pub async fn alert(&self, s: &Server, fingerprint: &str) -> String {
        let (status, report) = s
            .call(
                "POST",
                "/api/v1/alerts/alertmanager",
                Some(&self.api_key),
                Some(alert_payload("firing", fingerprint)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["alerts"][0]["created"], json!(true), "{report}");
        report["alerts"][0]["incident_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Starts a session on the twin for `incident`; its id.
    pub async fn start_session(&self, s: &Server, incident: &str) -> String {
        let (status, session) = s
            .call(
                "POST",
                &format!("/api/v1/incidents/{incident}/sessions"),
                Some(&self.operator),
                Some(json!({"environment_id": self.environment_id})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        session["id"].as_str().unwrap().to_owned()
    }

    /// Every guardrail-free write runs unattended (a tenant `auto` rule).
    pub async fn auto_writes(&self, s: &Server) {
        let (status, body) = s
            .call(
                "PUT",
                "/api/v1/guardrails",
                Some(&self.admin),
                Some(json!({"action_pattern": "*", "decision": "auto"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn session(&self, s: &Server, id: &str) -> Value {
        let (status, body) = s
            .call(
                "GET",
                &format!("/api/v1/sessions/{id}"),
                Some(&self.viewer),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn incident_state(&self, s: &Server, id: &str) -> String {
        let (status, body) = s
            .call(
                "GET",
                &format!("/api/v1/incidents/{id}"),
                Some(&self.viewer),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["state"].as_str().unwrap().to_owned()
    }

    pub async fn pending(&self, s: &Server) -> Vec<Value> {
        let (status, body) = s
            .call(
                "GET",
                "/api/v1/approvals?status=pending",
                Some(&self.viewer),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    /// Waits for a pending approval of `session`.
    pub async fn wait_pending(&self, s: &Server, session: &str, wait: Duration) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(a) = self
                .pending(s)
                .await
                .into_iter()
                .find(|a| a["session_id"].as_str() == Some(session))
            {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "no pending approval for session {session} within {wait:?}: {}",
                self.session(s, session).await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Approves (or denies) as the operator, with a reason.
    pub async fn decide(&self, s: &Server, approval: &str, approve: bool) -> Value {
        let verb = if approve { "approve" } else { "deny" };
        let (status, body) = s
            .call(
                "POST",
                &format!("/api/v1/approvals/{approval}/{verb}"),
                Some(&self.operator),
                Some(json!({"reason": format!("e2e operator says {verb}")})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{verb}: {body}");
        body
    }

    /// Polls the session until it is final, deciding every pending approval of it with
    /// `approve` meanwhile; returns the session with its steps.
    pub async fn finish(&self, s: &Server, session: &str, approve: bool, wait: Duration) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let current = self.session(s, session).await;
            if FINAL.contains(&current["status"].as_str().unwrap_or_default()) {
                return current;
            }
            for a in self.pending(s).await {
                if a["session_id"].as_str() == Some(session) {
                    let id = a["id"].as_str().unwrap();
                    let verb = if approve { "approve" } else { "deny" };
                    // Another decider (or the deadline) may win; both are fine here.
                    let _ = s
                        .call(
                            "POST",
                            &format!("/api/v1/approvals/{id}/{verb}"),
                            Some(&self.operator),
                            Some(json!({"reason": "e2e follow-up"})),
                        )
                        .await;
                }
            }
            assert!(
                Instant::now() < deadline,
                "session {session} not finished within {wait:?}: {current}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The whole flow on one server: Alertmanager -> incident -> session on a twin -> steps over
/// SSE -> the mitigation waits for approval -> a viewer cannot decide -> the operator approves
/// (or denies) -> the session ends -> the incident is mitigated (or not) -> the audit log names
/// the operator.
pub async fn approval_flow(s: &Server, approve: bool) {
    let t = Tenant::setup(s).await;
    let incident = t.alert(s, &unique("fp-flow")).await;
    assert_eq!(t.incident_state(s, &incident).await, "open");
    let session = t.start_session(s, &incident).await;
    let mut sse = Sse::open(s, &format!("/api/v1/sessions/{session}/events"), &t.viewer).await;

    // The mitigation write waits for a person.
    let approval = t.wait_pending(s, &session, Duration::from_secs(60)).await;
    let approval_id = approval["id"].as_str().unwrap().to_owned();
    let request = &approval["request"];
    let resource = request["resource"].as_str().unwrap_or_default();
    let action = request["action"].as_str().unwrap_or_default();
    assert!(!resource.is_empty() && !action.is_empty(), "{approval}");
    let service = resource.rsplit('/').next().unwrap_or_default();
    let call = request["tool_call"].to_string();
    assert!(
        !service.is_empty() && call.contains(service) && request["tool_call"]["tool"].is_string(),
        "the approval names the exact command and resource: {approval}"
    );
    let waiting = t.session(s, &session).await;
    assert_eq!(waiting["status"], "waiting_approval", "{waiting}");
    assert_eq!(t.incident_state(s, &incident).await, "awaiting_approval");
    // Steps arrived over SSE before the approval was answered.
    let mut seen = Vec::new();
    while step_indices(&seen).is_empty() {
        match sse.next(Duration::from_secs(20)).await {
            Some(e) => seen.push(e),
            None => panic!("no step over SSE while waiting for approval: {seen:?}"),
        }
    }

    // A viewer cannot decide; nothing changes.
    for verb in ["approve", "deny"] {
        let (status, body) = s
            .call(
                "POST",
                &format!("/api/v1/approvals/{approval_id}/{verb}"),
                Some(&t.viewer),
                Some(json!({"reason": "viewer tries"})),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{body}"
        );
    }
    let (_, still) = s
        .call(
            "GET",
            &format!("/api/v1/approvals/{approval_id}"),
            Some(&t.viewer),
            None,
        )
        .await;
    assert_eq!(still["status"], "pending", "{still}");
    assert_eq!(t.session(s, &session).await["status"], "waiting_approval");

    // Another tenant reaches none of it: every session and approval route answers 404 for
    // these ids, and its lists leak nothing.
    let b_slug = unique("iso").replace('_', "-");
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/tenants",
            Some(&t.admin),
            Some(json!({"slug": b_slug, "name": "B", "admin_username": "boss", "admin_password": "boss-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let b = s.login(&b_slug, "boss", "boss-password").await;
    for (method, path, body) in [
        ("GET", format!("/api/v1/sessions/{session}"), None),
        ("GET", format!("/api/v1/sessions/{session}/events"), None),
        (
            "POST",
            format!("/api/v1/incidents/{incident}/sessions"),
            Some(json!({"environment_id": t.environment_id})),
        ),
        ("GET", format!("/api/v1/approvals/{approval_id}"), None),
        (
            "POST",
            format!("/api/v1/approvals/{approval_id}/approve"),
            Some(json!({"reason": "not mine"})),
        ),
        (
            "POST",
            format!("/api/v1/approvals/{approval_id}/deny"),
            Some(json!({"reason": "not mine"})),
        ),
    ] {
        let (status, resp) = s.call(method, &path, Some(&b), body.clone()).await;
        assert_eq!(
            (status, code(&resp)),
            (StatusCode::NOT_FOUND, "not_found"),
            "tenant B {method} {path}: {resp}"
        );
        // Indistinguishable from an id that exists nowhere.
        const NOWHERE: &str = "00000000-0000-4000-8000-000000000000";
        let blind = path
            .replace(&session, NOWHERE)
            .replace(&approval_id, NOWHERE)
            .replace(&incident, NOWHERE);
        let (_, nowhere) = s.call(method, &blind, Some(&b), body).await;
        let masked = |v: &Value| {
            v.to_string()
                .replace(&session, "ID")
                .replace(&approval_id, "ID")
                .replace(&incident, "ID")
                .replace(NOWHERE, "ID")
        };
        assert_eq!(masked(&resp), masked(&nowhere), "tenant B {method} {path} tells more than a missing id");
    }
    for path in ["/api/v1/sessions", "/api/v1/approvals", "/api/v1/approvals?status=pending"] {
        let (status, resp) = s.call("GET", path, Some(&b), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {resp}");
        let text = resp.to_string();
        assert!(
            !text.contains(&session) && !text.contains(&approval_id) && !text.contains(&incident),
            "{path} leaks tenant A: {text}"
        );
    }
    assert_eq!(t.session(s, &session).await["status"], "waiting_approval");

    // The operator decides with a reason.
    let decided = t.decide(s, &approval_id, approve).await;
    let operator = format!("user:{}", t.operator_id);
    assert_eq!(
        decided["status"],
        if approve { "approved" } else { "denied" }
    );
    assert_eq!(decided["decided_by"], json!(operator), "{decided}");
    let done = t
        .finish(s, &session, approve, Duration::from_secs(120))
        .await;
    let n = assert_steps_contiguous(&done);

    // SSE delivered every step once (replay and live), then the final state.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        seen.extend(sse.drain());
        let final_seen = seen.iter().any(|e| {
            e.event == "session_state"
                && FINAL.contains(&e.data["status"].as_str().unwrap_or_default())
        });
        if final_seen && step_indices(&seen).len() >= n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SSE missed steps or the end: {seen:?}"
        );
        if let Some(e) = sse.next(Duration::from_millis(500)).await {
            seen.push(e);
        }
    }
    let indices = step_indices(&seen);
    let expected: Vec<i64> = (0..i64::try_from(n).unwrap()).collect();
    assert_eq!(indices, expected, "SSE steps: each once, in order");
    assert!(
        seen.iter().any(|e| e.event == "approval"),
        "approval events stream too"
    );

    let gates = executor_gates(&done);
    // The decided step ran (or was refused) with exactly the call the approval named.
    let decided_step = done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["role"] == "executor" && st["payload"]["tool_call"] == request["tool_call"])
        .unwrap_or_else(|| {
            panic!(
                "no executor step with the approved call {}: {done}",
                request["tool_call"]
            )
        });
    assert_eq!(
        decided_step["payload"]["gate"]["outcome"],
        if approve { "approved" } else { "denied" },
        "{decided_step}"
    );
    let (_, audit) = s
        .call(
            "GET",
            &format!(
                "/api/v1/audit?action=approval.{}",
                if approve { "approve" } else { "deny" }
            ),
            Some(&t.admin),
            None,
        )
        .await;
    let audit = audit.as_array().unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e["actor"] == json!(operator) && e.to_string().contains(&approval_id)),
        "the audit log names the operator: {audit:?}"
    );
    if approve {
        assert_eq!(done["status"], "succeeded", "{}", done["result"]);
        assert!(
            done["result"]["writes"].as_u64().unwrap() > 0,
            "{}",
            done["result"]
        );
        assert!(
            gates
                .iter()
                .any(|g| g["outcome"] == "approved" && g["actor"] == json!(operator)),
            "the write ran as the operator: {gates:?}"
        );
        assert_eq!(t.incident_state(s, &incident).await, "mitigated");
    } else {
        assert_eq!(done["result"]["writes"], 0, "{}", done["result"]);
        assert!(!gates.is_empty(), "the write was asked for");
        assert!(
            gates.iter().all(|g| g["outcome"] == "denied"),
            "no write ran: {gates:?}"
        );
        assert_ne!(t.incident_state(s, &incident).await, "mitigated");
    }
}
