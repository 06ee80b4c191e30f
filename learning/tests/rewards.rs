//! Step and trajectory rewards, their inputs derived from recorded runs, and the target parser
//! they rely on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aoi_core::{GateOutcome, Submission, TaskType, ToolCall};
use aoi_learning::rewards::*;
use aoi_learning::targets::{call_targets, matches_resource, parse_kubectl, resource_base};
use common::*;
use std::collections::BTreeSet;

fn relevant() -> BTreeSet<String> {
    ["user-service".to_string()].into()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn input(action: ActionKind) -> StepInput {
    StepInput {
        step: 0,
        valid_format: true,
        action: Some(action),
        action_sensible: true,
        targets: ["user-service".to_string()].into(),
        confidence: Some(90),
        success: true,
        refused_writes: 0,
    }
}

#[test]
fn default_weights_and_partial_config() {
    let w = RewardWeights::default();
    assert_eq!(
        (
            w.success,
            w.format,
            w.action_type,
            w.targets,
            w.calibration,
            w.refused_write,
            w.unparsable
        ),
        (1.0, 0.1, 0.1, 0.2, 0.1, -0.5, 0.0)
    );
    let partial: RewardWeights = serde_json::from_str(r#"{"targets": 0.3}"#).unwrap();
    assert_eq!(partial.targets, 0.3);
    assert_eq!(partial.success, 1.0);
    assert!(serde_json::from_str::<RewardWeights>(r#"{"target": 0.3}"#).is_err());
    let bad = RewardWeights {
        format: f64::NAN,
        ..RewardWeights::default()
    };
    assert!(bad.validate().unwrap_err().contains("`format`"));
}

#[test]
fn a_perfect_submit_earns_every_component() {
    let r = step_reward(
        &input(ActionKind::Submit),
        &relevant(),
        &RewardWeights::default(),
    );
    let c = r.components;
    assert!(close(c.success, 1.0));
    assert!(close(c.format, 0.1));
    assert!(close(c.action_type, 0.1));
    assert!(close(c.targets, 0.2));
    assert!(
        close(c.calibration, 0.1 * (1.0 - 0.01)),
        "{}",
        c.calibration
    );
    assert!(close(r.total, 1.0 + 0.1 + 0.1 + 0.2 + 0.099));
}

#[test]
fn each_component_responds_to_its_input() {
    let w = RewardWeights::default();
    let rel = relevant();
    let base = step_reward(&input(ActionKind::Probe), &rel, &w).total;
    assert!(
        close(
            step_reward(&input(ActionKind::Probe), &rel, &w)
                .components
                .success,
            0.0
        ),
        "success is paid on submit only"
    );

    let mut i = input(ActionKind::Probe);
    i.action_sensible = false;
    assert!(close(step_reward(&i, &rel, &w).total, base - 0.1));

    let mut i = input(ActionKind::Probe);
    i.targets.insert("media-frontend".into());
    assert!(
        close(step_reward(&i, &rel, &w).components.targets, 0.1),
        "half the named resources are relevant"
    );
    i.targets.clear();
    assert!(close(step_reward(&i, &rel, &w).components.targets, 0.0));

    let mut i = input(ActionKind::Probe);
    i.confidence = Some(90);
    i.success = false;
    assert!(
        close(
            step_reward(&i, &rel, &w).components.calibration,
            0.1 * (1.0 - 0.81)
        ),
        "overconfident in a failure"
    );

    let mut i = input(ActionKind::Probe);
    i.refused_writes = 2;
    assert!(close(step_reward(&i, &rel, &w).total, base - 1.0));

    let mut i = input(ActionKind::Submit);
    i.valid_format = false;
    i.refused_writes = 1;
    let r = step_reward(&i, &rel, &w);
    assert!(
        close(r.total, 0.0 - 0.5),
        "unparsable: the fixed reward plus the refused write only: {r:?}"
    );
}

#[test]
fn trajectories_average_shaping_and_sum_penalties() {
    let w = RewardWeights::default();
    let mut bad = input(ActionKind::Probe);
    bad.refused_writes = 1;
    bad.targets.clear();
    let steps = [input(ActionKind::Probe), bad, input(ActionKind::Submit)];
    let r = trajectory_reward(&steps, &relevant(), &w);
    assert_eq!(r.steps.len(), 3);
    assert!(close(r.components.success, 1.0));
    assert!(close(r.components.format, 0.1));
    assert!(close(r.components.targets, 0.2 * 2.0 / 3.0));
    assert!(close(r.components.refused_write, -0.5));
    assert!(close(r.total, r.components.total()));
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["components"]["calibration"].is_number());
    assert_eq!(trajectory_reward(&[], &relevant(), &w).total, 0.0);
}

#[test]
fn inputs_derived_from_a_clean_run_are_all_sensible() {
    let (t, _) = clean_mitigation();
    let inputs = step_inputs(&t, &relevant(), true);
    assert_eq!(inputs.len(), 5);
    assert!(
        inputs.iter().all(|i| i.action_sensible && i.valid_format),
        "{inputs:#?}"
    );
    assert_eq!(inputs[2].action, Some(ActionKind::Executor));
    assert!(inputs[2].targets.contains("user-service"));
    assert_eq!(inputs[4].action, Some(ActionKind::Submit));
    let r = trajectory_reward(&inputs, &relevant(), &RewardWeights::default());
    assert!(close(r.components.success, 1.0));
}

#[test]
fn inputs_flag_rash_actions_and_refused_writes() {
    let (t, _) = Builder::new(TaskType::Mitigation)
        .write(FIX, GateOutcome::Denied)
        .probe_write(&format!(
            "kubectl delete pod user-service-5c7d8f9b6-qwert -n {NS}"
        ))
        .submit(Submission::Mitigation, 90);
    let inputs = step_inputs(&t, &relevant(), false);
    assert_eq!(inputs.len(), 3);
    assert!(!inputs[0].action_sensible, "executor before any diagnosis");
    assert_eq!(inputs[0].refused_writes, 1, "gate denial");
    assert!(
        !inputs[1].action_sensible,
        "a probe round where nothing ran"
    );
    assert_eq!(inputs[1].refused_writes, 1, "probe write");
    assert!(!inputs[2].action_sensible, "submit without a fix");
    let r = trajectory_reward(&inputs, &relevant(), &RewardWeights::default());
    assert!(close(r.components.refused_write, -1.0));
}

#[test]
fn kubectl_commands_name_their_resources() {
    let k = parse_kubectl("kubectl describe svc user-service -n ns").unwrap();
    assert_eq!(
        (
            k.verb.as_str(),
            k.kind.as_deref(),
            k.names.clone(),
            k.namespace.as_deref()
        ),
        (
            "describe",
            Some("service"),
            vec!["user-service".to_string()],
            Some("ns")
        )
    );
    let k = parse_kubectl("kubectl -n ns rollout restart deployment/geo").unwrap();
    assert_eq!(
        (k.verb.as_str(), k.kind.as_deref(), k.names.clone()),
        (
            "rollout restart",
            Some("deployment"),
            vec!["geo".to_string()]
        )
    );
    let k = parse_kubectl(
        "kubectl set image deployment/geo hotel-reserv-geo=img:latest --namespace=hr",
    )
    .unwrap();
    assert_eq!(
        (k.verb.as_str(), k.names.clone(), k.namespace.as_deref()),
        ("set image", vec!["geo".to_string()], Some("hr"))
    );
    let k = parse_kubectl(
        "kubectl exec -it mongodb-geo-5c7d8f9b6-qwert -n hr -- mongo admin --eval 'db.x()'",
    )
    .unwrap();
    assert_eq!(
        (k.kind.as_deref(), k.names.clone()),
        (Some("pod"), vec!["mongodb-geo-5c7d8f9b6-qwert".to_string()])
    );
    let k = parse_kubectl(
        "kubectl patch svc user-service -n sn --type=json -p '[{\"op\":\"replace\"}]'",
    )
    .unwrap();
    assert_eq!(k.names, vec!["user-service".to_string()]);
    let k = parse_kubectl("kubectl logs geo-5c7d8f9b6-qwert -p -n hr --tail 50").unwrap();
    assert_eq!(k.names, vec!["geo-5c7d8f9b6-qwert".to_string()]);
    let k = parse_kubectl("kubectl get pods -n hr -o wide").unwrap();
    assert!(k.names.is_empty() && k.kind.as_deref() == Some("pod"));
    assert!(parse_kubectl("helm list").is_none());
    assert_eq!(
        call_targets(&ToolCall::get_logs("hr", "geo"))[0].name,
        "geo"
    );
    assert!(call_targets(&ToolCall::get_metrics("hr", 5)).is_empty());
}

#[test]
fn pods_match_their_deployment_and_nothing_else() {
    assert!(matches_resource("geo-5c7d8f9b6-qwert", "geo"));
    assert!(matches_resource("mongodb-0", "mongodb"));
    assert!(matches_resource("user-service", "service/user-service"));
    assert!(!matches_resource("user-service", "user"));
    assert!(!matches_resource("user-timeline-service", "user"));
    assert!(!matches_resource("geo", "geo-5c7d8f9b6-qwert"));
    assert_eq!(resource_base("geo-5c7d8f9b6-qwert"), "geo");
    assert_eq!(resource_base("mongodb-geo-0"), "mongodb-geo");
    assert_eq!(resource_base("user-service"), "user-service");
}
