//! The learning loop of `aoi serve` over real HTTP, on SQLite and on PostgreSQL: a session
//! whose mitigation was denied becomes a pending corrective signal (drafted by the in-process
//! evolver), shown beside the failed trajectory; an operator's "wrong" verdict on a succeeded
//! session drafts another; only admins review (viewers and operators get 403); a rejection
//! needs a reason; a signal is decided once (409 after); every verdict and decision is in the
//! audit log with who took it; and a new session of the same kind of incident is given the
//! approved lesson (its result names the signal).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aoi_e2e::{Launch, Server, Tenant, create_pg_database, drop_pg_database, pg_url};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aoi");
const SESSION_WAIT: Duration = Duration::from_secs(120);

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

/// A fresh incident (an Alertmanager alert with a unique fingerprint) and a finished session
/// of it, every write approved or denied.
async fn finished_session(s: &Server, t: &Tenant, approve: bool) -> Value {
    let incident = t
        .alert(s, &format!("fp-signals-{}", uuid::Uuid::new_v4().simple()))
        .await;
    let session = t.start_session(s, &incident).await;
    t.finish(s, &session, approve, SESSION_WAIT).await
}

/// Waits until the evolver drafted a signal from `session`; the signal.
async fn wait_signal(s: &Server, admin: &str, session: &str) -> Value {
    let deadline = Instant::now() + SESSION_WAIT;
    loop {
        let (status, body) = s.call("GET", "/api/v1/signals", Some(admin), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if let Some(signal) = body
            .as_array()
            .unwrap()
            .iter()
            .find(|sig| sig["source_session_id"].as_str() == Some(session))
        {
            return signal.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no signal drafted from session {session} within {SESSION_WAIT:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A 422 `invalid_input` naming `field`.
fn assert_invalid(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(body), "invalid_input", "{body}");
    assert!(message(body).contains(field), "{body}");
}

async fn audit(s: &Server, admin: &str, action: &str) -> Vec<Value> {
    let (status, body) = s
        .call(
            "GET",
            &format!("/api/v1/audit?action={action}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

async fn post(s: &Server, token: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    s.call("POST", path, Some(token), body).await
}

/// The admin's audit actor (`user:<id>`), read off the first audited decision.
fn actor_of(records: &[Value], target: &str) -> String {
    records
        .iter()
        .find(|r| r["target"].as_str() == Some(target))
        .unwrap_or_else(|| panic!("no audit record on {target}: {records:?}"))["actor"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn scenario(s: &Server) {
    let t = Tenant::setup(s).await;

    // 1. A session whose mitigation was denied fails the evaluator: a pending signal.
    let failed = finished_session(s, &t, false).await;
    let failed_id = failed["id"].as_str().unwrap().to_owned();
    let signal = wait_signal(s, &t.admin, &failed_id).await;
    let first = signal["id"].as_str().unwrap().to_owned();
    assert_eq!(signal["status"], "pending", "{signal}");
    assert_eq!(
        signal["problem_id"],
        aoi_e2e::MITIGATION_PROBLEM,
        "{signal}"
    );
    assert_eq!(signal["task_type"], "mitigation", "{signal}");
    assert!(signal["patterns"].is_array(), "{signal}");
    assert!(
        !signal["lesson"].as_str().unwrap_or_default().is_empty(),
        "{signal}"
    );
    assert!(signal["plan"]["steps"].is_array(), "{signal}");
    assert!(signal["reviewer"].is_null(), "{signal}");
    // The evolver stores the signal, then audits it: wait for the record.
    let deadline = Instant::now() + SESSION_WAIT;
    let drafted = loop {
        let drafted = audit(s, &t.admin, "signal.draft").await;
        if drafted
            .iter()
            .any(|r| r["target"] == format!("signal:{first}"))
            || Instant::now() >= deadline
        {
            break drafted;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        drafted
            .iter()
            .any(|r| r["target"] == format!("signal:{first}")
                && r["actor"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("evolver:")),
        "{drafted:?}"
    );

    // Shown beside the failed trajectory.
    let (status, detail) = s
        .call(
            "GET",
            &format!("/api/v1/signals/{first}"),
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["id"], first.as_str());
    let source = &detail["source_session"];
    assert_eq!(source["id"], failed_id.as_str(), "{detail}");
    assert_eq!(
        source["steps"].as_array().unwrap().len(),
        failed["steps"].as_array().unwrap().len(),
        "the whole failed trajectory: {detail}"
    );
    assert!(!source["steps"].as_array().unwrap().is_empty(), "{detail}");

    // Filter and bad input.
    let (status, pending) = s
        .call(
            "GET",
            "/api/v1/signals?status=pending",
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pending}");
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == first.as_str()),
        "{pending}"
    );
    let (status, approved) = s
        .call(
            "GET",
            "/api/v1/signals?status=approved",
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(
        (status, approved.clone()),
        (StatusCode::OK, json!([])),
        "{approved}"
    );
    let (status, body) = s
        .call("GET", "/api/v1/signals?status=done", Some(&t.admin), None)
        .await;
    assert_invalid(status, &body, "status");
    let (status, body) = s
        .call(
            "GET",
            &format!("/api/v1/signals/{}", uuid::Uuid::new_v4()),
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Only admins review: viewers and operators get 403 on every review route.
    for token in [&t.viewer, &t.operator] {
        let (status, body) = s.call("GET", "/api/v1/signals", Some(token), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(message(&body).contains("review_signals"), "{body}");
        let (status, body) = s
            .call(
                "GET",
                &format!("/api/v1/signals/{first}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let base = format!("/api/v1/signals/{first}");
        for (verb, body) in [
            ("approve", None),
            ("edit", Some(json!({"plan": {"steps": []}}))),
            ("reject", Some(json!({"reason": "no"}))),
        ] {
            let (status, answer) = post(s, token, &format!("{base}/{verb}"), body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{verb}: {answer}");
            assert_eq!(code(&answer), "forbidden", "{answer}");
        }
    }
    let (status, still) = s
        .call(
            "GET",
            &format!("/api/v1/signals/{first}"),
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(
        (status, &still["status"]),
        (StatusCode::OK, &json!("pending"))
    );

    // 2. A succeeded session an operator marks wrong becomes a signal too.
    let succeeded = finished_session(s, &t, true).await;
    let succeeded_id = succeeded["id"].as_str().unwrap().to_owned();
    assert_eq!(succeeded["status"], "succeeded", "{succeeded}");
    let verdict_path = format!("/api/v1/sessions/{succeeded_id}/verdict");
    let (status, body) = post(
        s,
        &t.viewer,
        &verdict_path,
        Some(json!({"correct": false, "category": "F"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a viewer cannot judge: {body}"
    );
    let (status, body) = post(
        s,
        &t.operator,
        &verdict_path,
        Some(json!({"correct": false})),
    )
    .await;
    assert_invalid(status, &body, "category");
    let (status, verdict) = post(
        s,
        &t.operator,
        &verdict_path,
        Some(json!({"correct": false, "category": "f"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!(verdict["category"], "F", "letters are stored upper-case");
    assert_eq!(verdict["evolver"], "queued", "{verdict}");
    let verdicts = audit(s, &t.admin, "session.verdict").await;
    assert!(
        verdicts
            .iter()
            .any(|r| r["target"] == format!("session:{succeeded_id}")
                && r["details"]["category"] == "F"),
        "{verdicts:?}"
    );
    let second = wait_signal(s, &t.admin, &succeeded_id).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    let (_, detail) = s
        .call(
            "GET",
            &format!("/api/v1/signals/{second_id}"),
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(
        detail["source_session"]["verdict"]["category"], "F",
        "{detail}"
    );

    // Reject needs a reason; then the decision is final (409 on any further one).
    let reject = format!("/api/v1/signals/{second_id}/reject");
    for body in [json!({}), json!({"reason": "  "})] {
        let (status, answer) = post(s, &t.admin, &reject, Some(body)).await;
        assert_invalid(status, &answer, "reason");
    }
    let (status, rejected) = post(
        s,
        &t.admin,
        &reject,
        Some(json!({"reason": "the fix is for another service"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["review_reason"], "the fix is for another service");
    for (verb, body) in [
        ("approve", None),
        ("reject", Some(json!({"reason": "again"}))),
        ("edit", Some(json!({"plan": {"steps": []}}))),
    ] {
        let (status, answer) = post(
            s,
            &t.admin,
            &format!("/api/v1/signals/{second_id}/{verb}"),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{verb}: {answer}");
        assert!(message(&answer).contains("already rejected"), "{answer}");
    }

    // 3. Edit then approve the first signal: status edited, the reviewer recorded.
    let mut plan = signal["plan"].clone();
    plan["steps"]
        .as_array_mut()
        .unwrap()
        .push(json!({"phase": "Verification", "command": "kubectl get endpoints -n test-social-network", "purpose": "check the fix"}));
    let lesson = format!(
        "{} Verify the endpoints afterwards.",
        signal["lesson"].as_str().unwrap()
    );
    let (status, edited) = post(
        s,
        &t.admin,
        &format!("/api/v1/signals/{first}/edit"),
        Some(json!({"plan": plan, "lesson": lesson})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["status"], "edited");
    assert_eq!(edited["edited_plan"], plan);
    assert_eq!(edited["plan"], signal["plan"], "the draft is kept");
    assert_eq!(edited["lesson"], lesson.as_str());
    let (status, answer) = post(
        s,
        &t.admin,
        &format!("/api/v1/signals/{first}/approve"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");

    // Every decision is audited with the reviewer.
    let edits = audit(s, &t.admin, "signal.edit").await;
    let rejects = audit(s, &t.admin, "signal.reject").await;
    let reviewer = actor_of(&edits, &format!("signal:{first}"));
    assert!(reviewer.starts_with("user:"), "{reviewer}");
    assert_eq!(edited["reviewer"], reviewer.as_str());
    assert_eq!(actor_of(&rejects, &format!("signal:{second_id}")), reviewer);
    assert_eq!(
        rejects.len(),
        1,
        "refused decisions are not recorded as decisions"
    );
    assert_eq!(
        rejects[0]["details"]["reason"], "the fix is for another service",
        "{rejects:?}"
    );

    // 4. A new session of a similar incident is given the approved lesson.
    let next = finished_session(s, &t, true).await;
    let used = next["result"]["lessons"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        used.contains(&json!(first)),
        "the approved signal's lesson was given: {}",
        next["result"]
    );
    assert!(
        !used.contains(&json!(second_id)),
        "a rejected signal's lesson is never given"
    );
    let next_id = next["id"].as_str().unwrap().to_owned();
    let (status, verdict) = post(
        s,
        &t.operator,
        &format!("/api/v1/sessions/{next_id}/verdict"),
        Some(json!({"correct": false, "category": "missed the root cause"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!(verdict["category"], "missed the root cause");
    let third = wait_signal(s, &t.admin, &next_id).await;
    let third_id = third["id"].as_str().unwrap().to_owned();
    let (status, approved) = post(
        s,
        &t.admin,
        &format!("/api/v1/signals/{third_id}/approve"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["reviewer"], reviewer.as_str());
    let approves = audit(s, &t.admin, "signal.approve").await;
    assert_eq!(actor_of(&approves, &format!("signal:{third_id}")), reviewer);
    let (_, listed) = s
        .call(
            "GET",
            "/api/v1/signals?status=approved",
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].clone())
            .collect::<Vec<_>>(),
        vec![json!(third_id)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_review_over_http_on_sqlite() {
    let server = Server::launch(BIN, &Launch::default());
    scenario(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_review_over_http_on_postgres() {
    let name = create_pg_database().await;
    let server = Server::launch(
        BIN,
        &Launch {
            database_url: Some(pg_url(&name)),
            ..Launch::default()
        },
    );
    scenario(&server).await;
    server.stop().await;
    drop_pg_database(&name).await;
}
