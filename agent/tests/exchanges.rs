//! Model exchanges: the prompt and completion behind each reply end up on the step that reply
//! produced, for every role, and nowhere when the policy records none.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_agent::testing::{
    RecordingToolset, ScriptedPolicy, aiopslab_manifests, executor, probe, scripted_exchange,
    submit,
};
use aoi_agent::{AutoGate, SessionConfig, ToolRegistry, run_session};
use aoi_core::{Role, SessionOutcome, Submission, TaskSpec, TaskType, ToolCall, Trajectory};
use aoi_plugin_sdk::Toolset;
use std::sync::Arc;

fn task() -> TaskSpec {
    TaskSpec {
        task_type: TaskType::Mitigation,
        app_name: "Hotel Reservation".into(),
        namespace: "test-hotel-reservation".into(),
        app_description: "a hotel booking app".into(),
        instructions: "fix the fault".into(),
    }
}

/// Probe, a refused probe (a delete through the read-only handle), executor, submit.
fn policy() -> ScriptedPolicy {
    ScriptedPolicy::new(vec![
        probe("list pods"),
        executor("restart geo"),
        submit(Submission::Mitigation),
    ])
    .with_probe_calls(vec![
        ToolCall::exec_shell("kubectl delete pod geo-1 -n test-hotel-reservation"),
        ToolCall::exec_shell("kubectl get pods -n test-hotel-reservation"),
    ])
    .with_execute_calls(vec![
        ToolCall::new("restart_service")
            .arg("namespace", "test-hotel-reservation")
            .arg("service", "geo"),
    ])
}

async fn run(policy: &mut ScriptedPolicy) -> Trajectory {
    let toolset = Arc::new(RecordingToolset::new(aiopslab_manifests()));
    let registry = ToolRegistry::new(vec![toolset as Arc<dyn Toolset>]).unwrap();
    run_session(
        "session-x",
        policy,
        &registry,
        &AutoGate,
        task(),
        &SessionConfig::default(),
    )
    .await
}

#[tokio::test]
async fn every_reply_puts_its_exchange_on_the_step_it_produced() {
    let mut policy = policy().with_exchanges();
    let t = run(&mut policy).await;
    assert_eq!(t.outcome, SessionOutcome::Submitted, "{:?}", t.steps);
    let roles: Vec<Role> = t.steps.iter().map(|s| s.role).collect();
    assert_eq!(
        roles,
        [
            Role::Observer,
            Role::Probe,
            Role::Probe,
            Role::Compressor,
            Role::Observer,
            Role::Executor,
            Role::Compressor,
            Role::Observer,
        ]
    );
    assert!(t.steps[1].error.is_some(), "the delete probe was refused");
    // Replies are numbered in the order the policy gave them, which is the steps' order.
    let names = [
        "observer",
        "probe",
        "probe",
        "compressor",
        "observer",
        "executor",
        "compressor",
        "observer",
    ];
    assert_eq!(policy.replies, 8);
    for (n, (step, name)) in t.steps.iter().zip(names).enumerate() {
        assert_eq!(
            step.exchange.as_ref(),
            Some(&scripted_exchange(name, n as u32)),
            "step {n} ({:?})",
            step.role
        );
    }
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(
        json["steps"][5]["exchange"]["completion"],
        "executor reply 5"
    );
    let back: Trajectory = serde_json::from_value(json).unwrap();
    assert_eq!(back.steps[5].exchange, t.steps[5].exchange);
}

#[tokio::test]
async fn without_recorded_exchanges_no_step_carries_one() {
    let mut policy = policy();
    let t = run(&mut policy).await;
    assert_eq!(t.outcome, SessionOutcome::Submitted);
    assert_eq!(t.steps.len(), 8);
    assert!(t.steps.iter().all(|s| s.exchange.is_none()));
    let json = serde_json::to_value(&t).unwrap();
    assert!(json["steps"][0].get("exchange").is_none());
}
