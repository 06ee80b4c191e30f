//! The evolver's teachers, in-process on a fresh SQLite database: a failed session on an
//! environment no twin reproduces is drafted by a model teacher through the inference pool (the
//! fake vLLM), unverified and pending, with its secrets kept from the model; a reply that is no
//! plan fails the job saying so; without a pool such a session is skipped saying why; and with
//! `evolver.auto_approve_verified` a draft verified on the twin is stored approved by
//! `aoi-evolver` and audited `signal.auto_approve`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::evolver::failed_session;

use aoi_control::Config;
use aoi_control::config::BackendConfig;
use aoi_core::{Access, Role, Step, ToolCall};
use aoi_platform::Platform;
use aoi_platform::evolver::{AUTO_REVIEWER, EvolverOptions, EvolverWorker};
use aoi_store::{AuditFilter, AuditScope, EnvironmentSpec, EvolverJobStatus, SignalStatus};
use aoi_test_support::{FakeConfig, FakeServer, ReplyScript};
use serde_json::{Value, json};

/// A secret the failed run saw (an AWS access key id the redactor knows).
const SECRET: &str = "AKIAZ7Q3XK9M2LPW4RTY";
const MODEL: &str = "fake-model";
const TWIN_PROBLEM: &str = "k8s_target_port-misconfig-mitigation-1";

fn config(dir: &std::path::Path, fake: Option<&FakeServer>) -> Config {
    let mut config = Config::load_str(None, Vec::<(String, String)>::new()).unwrap();
    config.server.data_dir = dir.to_path_buf();
    if let Some(fake) = fake {
        config.inference.model = MODEL.into();
        config.inference.backends = vec![BackendConfig {
            name: "fake".into(),
            url: fake.base_url(),
            models: vec![MODEL.into()],
            weight: 1,
            max_in_flight: 8,
            trust: "local".into(),
            api_key_env: None,
            load_adapters: false,
        }];
    }
    config
}

async fn fake(reply: &str) -> FakeServer {
    aoi_test_support::spawn(FakeConfig {
        models: vec![MODEL.into()],
        replies: ReplyScript {
            default: reply.to_owned(),
            ..ReplyScript::default()
        },
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

/// A plan the model teacher answers; its Resolution uses the placeholder of [`SECRET`].
fn good_plan() -> String {
    json!({
        "diagnosis": "the payments deployment runs with a revoked access key",
        "phases": {
            "Discovery": [{"command": "kubectl get pods -n payments", "purpose": "see which pods fail"}],
            "Diagnosis": [{"command": "kubectl logs deploy/payments -n payments", "purpose": "read the auth errors"}],
            "Resolution": [{"command": "kubectl rollout restart deploy/payments -n payments # key <<aws-key:1>>", "purpose": "restart with the rotated key"}],
            "Verification": [{"command": "kubectl get pods -n payments", "purpose": "check the pods are ready"}]
        },
        "submission": {"kind": "mitigation"}
    })
    .to_string()
}

fn probe(index: u32, command: &str, observation: &str) -> Value {
    let mut step = Step::new(index, Role::Probe, "exec_shell");
    step.tool_call = Some(ToolCall::exec_shell(command));
    step.access = Some(Access::Read);
    step.raw_observation = Some(observation.to_owned());
    serde_json::to_value(step).unwrap()
}

fn worker(platform: &Platform) -> EvolverWorker {
    EvolverWorker {
        platform: platform.clone(),
        id: "evolver-test".into(),
        options: EvolverOptions::default(),
    }
}

fn kubernetes_steps() -> Vec<Value> {
    vec![
        probe(
            0,
            "kubectl get pods -n payments",
            "payments-7c9 0/1 CrashLoopBackOff",
        ),
        probe(
            1,
            "kubectl logs deploy/payments -n payments",
            &format!("auth failed for access key {SECRET}: InvalidAccessKeyId"),
        ),
    ]
}

#[tokio::test]
async fn a_session_no_twin_reproduces_gets_an_unverified_plan_from_the_model_teacher() {
    let fake = fake(&good_plan()).await;
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::open(config(dir.path(), Some(&fake)))
        .await
        .unwrap();
    let (tenant, session) =
        failed_session(&platform, EnvironmentSpec::Kubernetes, kubernetes_steps()).await;

    let report = worker(&platform).run_once().await.unwrap().unwrap();
    assert_eq!(report.session_id, session);
    assert_eq!(report.status, EvolverJobStatus::Drafted, "{report:?}");
    let signal = platform
        .store
        .signal(tenant, report.signal_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(signal.status, SignalStatus::Pending);
    assert!(!signal.verified);
    assert_eq!(signal.verification["attempted"], false, "{signal:?}");
    assert!(
        signal.verification["detail"]
            .as_str()
            .unwrap()
            .contains("no twin reproduces"),
        "{signal:?}"
    );
    assert_eq!(signal.problem_id, "payments-prod");
    assert_eq!(signal.task_type, "mitigation");
    let steps = signal.plan["steps"].as_array().unwrap();
    let phases: Vec<&str> = steps.iter().map(|s| s["phase"].as_str().unwrap()).collect();
    assert_eq!(
        phases,
        ["Discovery", "Diagnosis", "Resolution", "Verification"]
    );
    // The placeholder the model copied is restored in the stored plan.
    assert!(
        steps[2]["command"].as_str().unwrap().ends_with(SECRET),
        "{steps:?}"
    );
    assert!(
        signal
            .lesson
            .contains("kubectl logs deploy/payments -n payments")
    );

    // What the fake server got: the failed run, with the secret replaced.
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let sent = requests[0].to_string();
    assert!(
        !sent.contains(SECRET),
        "the secret reached the model: {sent}"
    );
    assert!(sent.contains("<<aws-key:1>>"), "{sent}");
    assert!(
        sent.contains("kubectl logs deploy/payments -n payments"),
        "{sent}"
    );
    assert_eq!(requests[0]["model"], MODEL);
    assert_eq!(
        requests[0]["response_format"]["json_schema"]["name"],
        "repaired_plan"
    );
}

#[tokio::test]
async fn a_reply_that_is_no_plan_fails_the_job_saying_what_is_wrong() {
    let fake = fake("Restart the payments pods, that usually helps.").await;
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::open(config(dir.path(), Some(&fake)))
        .await
        .unwrap();
    let (tenant, session) =
        failed_session(&platform, EnvironmentSpec::Kubernetes, kubernetes_steps()).await;

    let report = worker(&platform).run_once().await.unwrap().unwrap();
    assert_eq!(report.status, EvolverJobStatus::Failed, "{report:?}");
    assert!(report.signal_id.is_none());
    assert!(
        report.detail.contains("answered no usable plan")
            && report.detail.contains("not the repaired plan asked for"),
        "{}",
        report.detail
    );
    assert!(
        platform
            .store
            .signals_of_session(tenant, session)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn without_a_pool_a_session_no_twin_reproduces_is_skipped_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::open(config(dir.path(), None)).await.unwrap();
    let (_, session) =
        failed_session(&platform, EnvironmentSpec::Kubernetes, kubernetes_steps()).await;
    let report = worker(&platform).run_once().await.unwrap().unwrap();
    assert_eq!(report.session_id, session);
    assert_eq!(report.status, EvolverJobStatus::Skipped, "{report:?}");
    assert!(
        report.detail.contains("not a twin") && report.detail.contains("[[inference.backends]]"),
        "{}",
        report.detail
    );
}

#[tokio::test]
async fn a_verified_twin_draft_is_auto_approved_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), None);
    config.evolver.auto_approve_verified = true;
    let platform = Platform::open(config).await.unwrap();
    let spec = EnvironmentSpec::Twin {
        problem_id: TWIN_PROBLEM.into(),
    };
    let (tenant, _) = failed_session(&platform, spec, Vec::new()).await;

    let report = worker(&platform).run_once().await.unwrap().unwrap();
    assert_eq!(report.status, EvolverJobStatus::Drafted, "{report:?}");
    let id = report.signal_id.unwrap();
    let signal = platform.store.signal(tenant, id).await.unwrap().unwrap();
    assert!(signal.verified, "{signal:?}");
    assert_eq!(signal.status, SignalStatus::Approved, "{signal:?}");
    assert_eq!(signal.reviewer.as_deref(), Some(AUTO_REVIEWER));
    assert!(signal.auto_approved, "{signal:?}");
    let audited = platform
        .store
        .audit_events(
            AuditScope::Tenant(tenant),
            AuditFilter {
                action: Some("signal.auto_approve".into()),
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].target, format!("signal:{id}"));
    assert_eq!(audited[0].actor, AUTO_REVIEWER);
}

#[tokio::test]
async fn a_verified_twin_draft_waits_for_review_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::open(config(dir.path(), None)).await.unwrap();
    let spec = EnvironmentSpec::Twin {
        problem_id: TWIN_PROBLEM.into(),
    };
    let (tenant, _) = failed_session(&platform, spec, Vec::new()).await;
    let report = worker(&platform).run_once().await.unwrap().unwrap();
    let signal = platform
        .store
        .signal(tenant, report.signal_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(signal.verified, "{signal:?}");
    assert_eq!(signal.status, SignalStatus::Pending);
    assert!(signal.reviewer.is_none());
    assert!(!signal.auto_approved, "{signal:?}");
}

#[tokio::test]
async fn with_the_model_teacher_a_twin_problem_is_played_by_the_llm_policy() {
    // The model answers nothing usable: the draft says the teacher did not solve the problem,
    // so it is not verified and stays pending even with auto-approval on.
    let fake = fake("no idea").await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), Some(&fake));
    config.evolver.teacher = aoi_control::config::EvolverTeacher::Model;
    config.evolver.auto_approve_verified = true;
    let platform = Platform::open(config).await.unwrap();
    let spec = EnvironmentSpec::Twin {
        problem_id: TWIN_PROBLEM.into(),
    };
    let (tenant, _) = failed_session(&platform, spec, Vec::new()).await;
    let report = worker(&platform).run_once().await.unwrap().unwrap();
    assert_eq!(report.status, EvolverJobStatus::Drafted, "{report:?}");
    let signal = platform
        .store
        .signal(tenant, report.signal_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!signal.verified, "{signal:?}");
    assert_eq!(signal.status, SignalStatus::Pending);
    assert!(
        signal.rationale.contains("The teacher (llm)"),
        "{}",
        signal.rationale
    );
    let requests = fake.requests();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| r["model"] == MODEL), "{requests:?}");
}
