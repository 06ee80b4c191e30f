//! A whole agent session with `workers.policy = "llm"`: `aoi serve` runs the session's
//! Observer / Probe / Executor / Compressor turns through the inference pool, against a fake
//! vLLM scripted like a model that diagnoses and fixes the target-port fault of the twin.
//! What the fake is sent is checked too: structured output per role, the session id as the
//! affinity header, no secret of the twin's config in any prompt.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_e2e::{Launch, Server, Tenant};
use aoi_test_support::{FakeConfig, ReplyRule, ReplyScript};
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_aoi");

fn observer(kind: &str, instruction: &str, confidence: u32) -> String {
    json!({
        "previous_iteration_summary": "scripted",
        "current_phase": "Diagnosis",
        "root_cause_analysis": "user-service's Service points at the wrong port",
        "confidence": confidence,
        "next_action": {
            "kind": kind,
            "instruction": instruction,
            "context": "user-service in test-social-network",
            "submission": null
        }
    })
    .to_string()
}

fn shell(command: &str) -> String {
    json!({"tool": "exec_shell", "args": {"command": command}}).to_string()
}

fn summary(text: &str) -> String {
    json!({ "summary": text }).to_string()
}

/// Rules are tried in order on the last user message; the first match answers.
fn script() -> ReplyScript {
    let rule = |contains: &str, reply: String| ReplyRule {
        contains: contains.into(),
        reply,
    };
    ReplyScript {
        queue: vec![],
        rules: vec![
            // Compressor, after the fix.
            rule(
                "service/user-service patched",
                summary("FIX-APPLIED: user-service targetPort set back to 9090"),
            ),
            // Compressor, after the probe.
            rule(
                "Output (ok)",
                summary("TP-9999: Service user-service targets port 9999, the pods listen on 9090"),
            ),
            // Observer, after the fix: done.
            rule("FIX-APPLIED", observer("submit", "", 90)),
            // Executor.
            rule(
                "EXEC-RESTORE",
                shell(
                    "kubectl patch svc user-service -n test-social-network --type=json -p \
                     '[{\"op\":\"replace\",\"path\":\"/spec/ports/0/targetPort\",\"value\":9090}]'",
                ),
            ),
            // Observer, after the probe: fix it.
            rule(
                "TP-9999",
                observer("executor", "EXEC-RESTORE the targetPort of user-service", 80),
            ),
            // Probe.
            rule(
                "PROBE-SVC",
                shell("kubectl get svc user-service -n test-social-network -o yaml"),
            ),
        ],
        // Observer, first turn.
        default: observer("probe", "PROBE-SVC look at the user-service Service", 30),
    }
}

fn user_message(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_session_diagnoses_and_fixes_through_the_pool() {
    let fake = aoi_test_support::spawn(FakeConfig {
        replies: script(),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let requests = fake.request_log();
    let backends = format!(r#"[{{name = "gpu-1", url = "{}"}}]"#, fake.base_url());
    let server = Server::launch(
        BIN,
        &Launch {
            env: vec![
                ("AOI__INFERENCE__BACKENDS".into(), backends),
                ("AOI__WORKERS__POLICY".into(), "llm".into()),
                ("AOI__INFERENCE__MODEL".into(), "fake-model".into()),
            ],
            ..Launch::default()
        },
    );
    let tenant = Tenant::setup(&server).await;
    tenant.auto_writes(&server).await;
    let incident = tenant.alert(&server, "llm-session-1").await;
    let session = tenant.start_session(&server, &incident).await;
    let done = tenant
        .finish(&server, &session, true, Duration::from_secs(120))
        .await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        tenant.incident_state(&server, &incident).await,
        "mitigated",
        "the twin says the fault is gone: {done:#}"
    );
    let patched = done["steps"].as_array().unwrap().iter().any(|s| {
        s["role"] == "executor"
            && s["payload"]["tool_call"]
                .to_string()
                .contains("kubectl patch svc user-service")
    });
    assert!(patched, "the executor's patch ran: {done:#}");

    let sent: Vec<Value> = requests.lock().unwrap().clone();
    assert!(sent.len() >= 6, "observer, probe, compressor, executor turns: {sent:#?}");
    for request in &sent {
        assert_eq!(request["model"], "fake-model");
        assert_eq!(
            request["response_format"]["type"], "json_schema",
            "structured output for every role: {request}"
        );
    }
    assert!(
        sent.iter().any(|r| user_message(r).contains("PROBE-SVC")),
        "the probe got the observer's instruction"
    );
    server.stop().await;
}
