//! The AIOpsLab bridge end to end: the real `aoi serve` runs on a free port with a fresh data
//! folder; `python3 bridge/tests/test_bridge.py` plays a full episode of a fake AIOpsLab
//! orchestrator (a HotelReservation cluster with one crash-looping service, AIOpsLab's reply
//! parser and step loop) with `AOIAgent` driving an AOI session on an external environment. The
//! episode must end with a correct submission after several steps, and the AOI session must
//! show every call the orchestrator executed with the output it returned. A second, mitigation
//! episode checks that the fix (a write) reached the fake cluster only once approved in AOI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aoi_e2e::Server;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aoi");
/// The default tenant admin's password `aoi_e2e` launches the server with.
use aoi_e2e::ADMIN_PASSWORD;
/// How long the whole Python episode may take.
const EPISODE_WAIT: Duration = Duration::from_secs(240);

fn bridge_test() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bridge/tests/test_bridge.py")
}

/// Runs the Python test against `url`; answers (exit status, stdout, stderr).
fn run_python(url: &str) -> (std::process::ExitStatus, String, String) {
    let mut child = Command::new("python3")
        .arg(bridge_test())
        .env("AOI_URL", url)
        .env("AOI_TENANT", "default")
        .env("AOI_USERNAME", "admin")
        .env("AOI_PASSWORD", ADMIN_PASSWORD)
        .env_remove("AOI_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3 (the bridge test needs Python 3.9+)");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).ok();
        s
    });
    let deadline = Instant::now() + EPISODE_WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the bridge episode did not end within {EPISODE_WAIT:?}; stderr:\n{}",
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

#[tokio::test]
async fn a_fake_aiopslab_episode_runs_through_aoi_serve() {
    let server = Server::start(BIN, false).await;
    let url = server.url("");
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || run_python(&url))
        .await
        .unwrap();
    assert!(
        status.success(),
        "the bridge test failed ({status}):\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("AIOPSLAB_RESULT "))
        .unwrap_or_else(|| {
            panic!("no AIOPSLAB_RESULT line (was the episode skipped?):\n{stdout}\n{stderr}")
        });
    let result: Value = serde_json::from_str(line).unwrap();

    // The orchestrator's view: a correct submission after several steps.
    assert_eq!(result["submission"], json!(["geo"]), "{result:#}");
    assert_eq!(result["success"], json!(true), "{result:#}");
    let steps = result["steps"].as_u64().unwrap();
    assert!(steps > 1, "{result:#}");
    let trace = result["trace"].as_array().unwrap();
    assert_eq!(trace.len() as u64, steps);
    assert_eq!(trace.last().unwrap()["response"], "VALID_SUBMISSION");

    // AOI's view: the session ended with that submission, and its steps hold every call the
    // orchestrator executed with the output it returned, in order.
    let token = server.login("default", "admin", ADMIN_PASSWORD).await;
    let session_id = result["session_id"].as_str().unwrap();
    let (status, session) = server
        .call(
            "GET",
            &format!("/api/v1/sessions/{session_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["status"], "succeeded", "{session:#}");
    assert_eq!(
        session["result"]["submission"],
        json!({"kind": "localization", "services": ["geo"]})
    );
    assert_eq!(session["result"]["submission_action"], r#"submit(["geo"])"#);
    let executed: Vec<(String, String)> = session["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            let p = &s["payload"];
            Some((
                p["tool_call"]["tool"].as_str()?.to_string(),
                p["raw_observation"].as_str()?.trim_end().to_string(),
            ))
        })
        .collect();
    let orchestrated: Vec<(String, String)> = trace[..trace.len() - 1]
        .iter()
        .map(|t| {
            let action = t["action"].as_str().unwrap();
            let tool = action
                .trim_start_matches("```\n")
                .split('(')
                .next()
                .unwrap()
                .to_string();
            (tool, t["response"].as_str().unwrap().trim_end().to_string())
        })
        .collect();
    assert_eq!(
        executed, orchestrated,
        "AOI's steps differ from what the orchestrator ran"
    );
    assert!(
        executed
            .iter()
            .any(|(_, out)| out.contains("CrashLoopBackOff")),
        "{executed:#?}"
    );

    // The bridge's result posts are audited, one per executed call.
    let (status, audit) = server
        .call(
            "GET",
            "/api/v1/audit?action=external.result&limit=500",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let posts = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == format!("session:{session_id}"))
        .count();
    assert_eq!(posts, executed.len(), "{audit:#}");

    // The mitigation episode: the fix was a write, approved in AOI before the bridge ran it
    // (test_bridge.py checks the times); AOI recorded the approval on the step.
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("AIOPSLAB_MITIGATION_RESULT "))
        .unwrap_or_else(|| panic!("no AIOPSLAB_MITIGATION_RESULT line:\n{stdout}"));
    let mitigation: Value = serde_json::from_str(line).unwrap();
    assert_eq!(mitigation["success"], json!(true), "{mitigation:#}");
    let (status, session) = server
        .call(
            "GET",
            &format!(
                "/api/v1/sessions/{}",
                mitigation["session_id"].as_str().unwrap()
            ),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["status"], "succeeded", "{session:#}");
    assert_eq!(session["result"]["submission_action"], "submit()");
    let writes: Vec<&Value> = session["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["payload"])
        .filter(|p| p["access"] == "write")
        .collect();
    assert_eq!(
        writes.len(),
        mitigation["writes"].as_array().unwrap().len(),
        "{writes:#?}"
    );
    for w in &writes {
        assert_eq!(w["gate"]["outcome"], "approved", "{w:#}");
        assert!(w["raw_observation"].is_string(), "{w:#}");
    }

    // A session id the tenant does not have is not found.
    let (status, body) = server
        .call(
            "GET",
            "/api/v1/sessions/00000000-0000-4000-8000-000000000000/external/next",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // The session ended: `next` says so with the submission; a late result is refused.
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/v1/sessions/{session_id}/external/next?wait_ms=10"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "done", "{body}");
    assert_eq!(body["action"], r#"submit(["geo"])"#, "{body}");
    let late = json!({"call_id": "00000000-0000-4000-8000-000000000001", "output": "x"});
    let (status, body) = server
        .call(
            "POST",
            &format!("/api/v1/sessions/{session_id}/external/result"),
            Some(&token),
            Some(late.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // A viewer may read the session but not feed it.
    let (status, key) = server
        .call(
            "POST",
            "/api/v1/api-keys",
            Some(&token),
            Some(json!({"name": "watcher", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let viewer = key["key"].as_str().unwrap();
    let (status, body) = server
        .call(
            "POST",
            &format!("/api/v1/sessions/{session_id}/external/result"),
            Some(viewer),
            Some(late),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // An external environment's task is checked when it is created, naming the field.
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/environments",
            Some(&token),
            Some(json!({"name": "bad", "kind": "external", "config": {
                "task_type": "triage", "namespace": "n", "app_name": "A", "instructions": "i"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("config.task_type"),
        "{body}"
    );
    server.stop().await;
}
