//! Verdicts on sessions, the evolver's jobs and corrective signals, on SQLite and on
//! PostgreSQL: tenant scoping, one claim per job, one decision per signal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aoi_store::*;
use common::tenant;
use serde_json::json;
use uuid::Uuid;

/// A tenant with an incident, a twin environment and a queued session.
async fn session_fixture(store: &Store, slug: &str) -> (TenantId, Session) {
    let (_, t) = tenant(store, slug).await;
    let incident = store
        .create_incident(
            t,
            NewIncident {
                fingerprint: "fp-1".into(),
                title: "checkout errors".into(),
                severity: "critical".into(),
                service: Some("checkout".into()),
                namespace: None,
                labels: json!({}),
            },
        )
        .await
        .unwrap();
    let env = store
        .create_environment(
            t,
            NewEnvironment {
                name: "twin".into(),
                spec: EnvironmentSpec::Twin {
                    problem_id: "k8s_target_port-misconfig-mitigation-1".into(),
                },
                config: json!({}),
            },
        )
        .await
        .unwrap();
    let session = store
        .create_session(
            t,
            NewSession {
                incident_id: incident.id,
                environment_id: env.id,
            },
        )
        .await
        .unwrap();
    (t, session)
}

fn draft(session: Option<Uuid>, lesson: &str) -> NewSignal {
    NewSignal {
        source_session_id: session,
        problem_id: "k8s_target_port-misconfig-mitigation-1".into(),
        task_type: "mitigation".into(),
        patterns: json!(["missing_fix"]),
        first_wrong_step: Some(3),
        evidence: json!(["never patched the service"]),
        failed_commands: json!(["kubectl get pods -n x"]),
        plan: json!({"steps": [{"phase": "Resolution", "command": "kubectl patch svc", "purpose": "fix"}]}),
        rationale: "the port was wrong".into(),
        verification: json!({"attempted": true, "success": true, "detail": "fixed"}),
        verified: true,
        lesson: lesson.into(),
        symptoms: json!(["checkout", "mitigation"]),
    }
}

#[test]
fn signal_status_parses_every_name() {
    for status in SignalStatus::ALL {
        assert_eq!(status.as_str().parse::<SignalStatus>(), Ok(status));
    }
    let err = "done".parse::<SignalStatus>().unwrap_err();
    assert!(err.to_string().contains("`done`"), "{err}");
    assert!(SignalStatus::Edited.is_approved() && !SignalStatus::Pending.is_approved());
}

on_both!(session_verdict_is_replaced_and_tenant_scoped, |store| {
    let (t, session) = session_fixture(&store, "acme").await;
    let (_, other) = tenant(&store, "globex").await;
    assert_eq!(store.session_verdict(t, session.id).await.unwrap(), None);
    let wrong = store
        .set_session_verdict(
            t,
            session.id,
            NewSessionVerdict {
                correct: false,
                category: Some("A".into()),
                decided_by: "user:olga".into(),
            },
        )
        .await
        .unwrap();
    assert!(!wrong.correct);
    assert_eq!(wrong.category.as_deref(), Some("A"));
    let right = store
        .set_session_verdict(
            t,
            session.id,
            NewSessionVerdict {
                correct: true,
                category: None,
                decided_by: "user:root".into(),
            },
        )
        .await
        .unwrap();
    assert!(right.correct && right.category.is_none());
    assert_eq!(right.decided_by, "user:root");
    // Another tenant sees nothing and cannot judge the session.
    assert_eq!(
        store.session_verdict(other, session.id).await.unwrap(),
        None
    );
    let err = store
        .set_session_verdict(
            other,
            session.id,
            NewSessionVerdict {
                correct: false,
                category: None,
                decided_by: "user:x".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);
});

on_both!(evolver_jobs_are_claimed_once_and_survive, |store| {
    let (t, session) = session_fixture(&store, "acme").await;
    let (_, other) = tenant(&store, "globex").await;
    assert!(
        store
            .enqueue_evolver_job(t, session.id, "out_of_budget")
            .await
            .unwrap()
    );
    // A second enqueue is a no-op; another tenant cannot enqueue the session.
    assert!(
        !store
            .enqueue_evolver_job(t, session.id, "operator_wrong")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .enqueue_evolver_job(other, session.id, "x")
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    let stale = chrono::Duration::seconds(60);
    let now = chrono::Utc::now();
    let job = store
        .claim_evolver_job("evolver-a", stale, now)
        .await
        .unwrap()
        .expect("the pending job");
    assert_eq!(job.session_id, session.id);
    assert_eq!(job.reason, "out_of_budget");
    assert_eq!(job.status, EvolverJobStatus::Running);
    assert_eq!(job.attempts, 1);
    // Held: nobody else gets it until the claim is stale.
    assert_eq!(
        store
            .claim_evolver_job("evolver-b", stale, now)
            .await
            .unwrap(),
        None
    );
    let later = now + chrono::Duration::seconds(120);
    let retaken = store
        .claim_evolver_job("evolver-b", stale, later)
        .await
        .unwrap()
        .expect("a stale claim is taken over");
    assert_eq!(retaken.claimed_by.as_deref(), Some("evolver-b"));
    assert_eq!(retaken.attempts, 2);
    // The first worker lost it.
    let err = store
        .finish_evolver_job(t, session.id, "evolver-a", EvolverJobStatus::Drafted, "x")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let done = store
        .finish_evolver_job(
            t,
            session.id,
            "evolver-b",
            EvolverJobStatus::Skipped,
            "not a twin",
        )
        .await
        .unwrap();
    assert_eq!(done.status, EvolverJobStatus::Skipped);
    assert_eq!(done.detail, "not a twin");
    assert!(done.finished_at.is_some());
    assert_eq!(
        store
            .claim_evolver_job("evolver-c", stale, later)
            .await
            .unwrap(),
        None
    );
    // A skipped job can be put back with a new reason; a pending one is left alone.
    assert!(
        store
            .requeue_evolver_job(t, session.id, "operator_wrong")
            .await
            .unwrap()
    );
    assert!(
        !store
            .requeue_evolver_job(t, session.id, "operator_wrong")
            .await
            .unwrap()
    );
    let again = store
        .claim_evolver_job("evolver-c", stale, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.reason, "operator_wrong");
});

on_both!(signals_are_decided_once_and_tenant_scoped, |store| {
    let (t, session) = session_fixture(&store, "acme").await;
    let (_, other) = tenant(&store, "globex").await;
    let first = store
        .insert_signal(t, draft(Some(session.id), "patch the service port"))
        .await
        .unwrap();
    assert_eq!(first.status, SignalStatus::Pending);
    assert_eq!(first.patterns, json!(["missing_fix"]));
    let second = store.insert_signal(t, draft(None, "second")).await.unwrap();
    let third = store.insert_signal(t, draft(None, "third")).await.unwrap();
    assert_eq!(store.signals(t, None).await.unwrap().len(), 3);
    assert_eq!(
        store
            .signals(t, Some(SignalStatus::Pending))
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(store.signals(other, None).await.unwrap().is_empty());
    assert_eq!(store.signal(other, first.id).await.unwrap(), None);
    assert_eq!(
        store
            .signals_of_session(t, session.id)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        vec![first.id]
    );

    // Another tenant cannot decide it.
    let err = store
        .decide_signal(other, first.id, "user:x", SignalDecision::Approve)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);

    let approved = store
        .decide_signal(t, first.id, "user:root", SignalDecision::Approve)
        .await
        .unwrap();
    assert_eq!(approved.status, SignalStatus::Approved);
    assert_eq!(approved.reviewer.as_deref(), Some("user:root"));
    assert!(approved.reviewed_at.is_some());
    // Deciding twice: an invalid transition from approved.
    let err = store
        .decide_signal(
            t,
            first.id,
            "user:root",
            SignalDecision::Reject {
                reason: "late".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::InvalidTransition {
            from: "approved".into(),
            to: "rejected".into()
        }
    );

    let edited = store
        .decide_signal(
            t,
            second.id,
            "user:root",
            SignalDecision::Edit {
                plan: json!({"steps": []}),
                lesson: Some("edited lesson".into()),
                rationale: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.status, SignalStatus::Edited);
    assert_eq!(edited.edited_plan, Some(json!({"steps": []})));
    assert_eq!(edited.lesson, "edited lesson");
    assert_eq!(edited.rationale, "the port was wrong");
    assert_ne!(edited.plan, json!({"steps": []}), "the draft is kept");

    let rejected = store
        .decide_signal(
            t,
            third.id,
            "user:root",
            SignalDecision::Reject {
                reason: "wrong fix".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, SignalStatus::Rejected);
    assert_eq!(rejected.review_reason.as_deref(), Some("wrong fix"));

    let lessons: Vec<String> = store
        .approved_signals(t)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.lesson)
        .collect();
    assert_eq!(lessons.len(), 2, "{lessons:?}");
    assert!(lessons.contains(&"patch the service port".to_owned()));
    assert!(lessons.contains(&"edited lesson".to_owned()));
    assert!(store.approved_signals(other).await.unwrap().is_empty());
});
