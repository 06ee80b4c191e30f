//! Tests of the local policy: evidence features from sample outputs, candidate generation,
//! the model file, sampling and lessons.

use super::candidates::{Action, State, answers, evidence, turn_candidates};
use super::*;
use aoi_core::{ContextEntry, TaskType};

const PODS: &str = "NAME                                  READY   STATUS             RESTARTS      AGE   IP             NODE          NOMINATED NODE   READINESS GATES
compose-post-service-6d8f9c7b5-aaaaa  1/1     Running            0             2h    10.244.1.10    kind-worker   <none>           <none>
text-service-5f6d7c8b9-ccccc          0/1     CrashLoopBackOff   5 (30s ago)   5h    10.244.1.24    kind-worker   <none>           <none>
user-service-6d8f9c7b5-x2kqz          1/1     Running            0             5h    10.244.1.23    kind-worker   <none>           <none>
";

const DEPLOY: &str = "NAME                   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS             IMAGES                                  SELECTOR
compose-post-service   1/1     1            1           5h    compose-post-service   deathstarbench/social-network:latest    service=compose-post-service
text-service           0/1     1            0           5h    text-service           deathstarbench/social-network:latest    service=text-service
user-service           1/1     1            1           5h    user-service           deathstarbench/social-network:latest    service=user-service
";

const SVC: &str = "NAME                   TYPE        CLUSTER-IP      EXTERNAL-IP   PORT(S)     AGE
compose-post-service   ClusterIP   10.96.10.1      <none>        9090/TCP    5h
text-service           ClusterIP   10.96.10.3      <none>        9090/TCP    5h
user-service           ClusterIP   10.96.10.5      <none>        9090/TCP    5h
";

const ENDPOINTS: &str = "NAME                   ENDPOINTS            AGE
compose-post-service   10.244.1.10:9090     5h
text-service           10.244.1.24:9090     5h
user-service           10.244.1.23:9999     5h
";

fn task(t: TaskType) -> TaskSpec {
    TaskSpec {
        task_type: t,
        app_name: "app".into(),
        namespace: "sn".into(),
        app_description: String::new(),
        instructions: String::new(),
    }
}

fn kb_with(outputs: &[(&str, &str)]) -> Findings {
    let mut kb = Findings::default();
    for (cmd, text) in outputs {
        kb.ingest(&ToolCall::exec_shell(*cmd), text, false);
    }
    kb
}

fn sample_kb() -> Findings {
    kb_with(&[
        ("kubectl get pods -n sn -o wide", PODS),
        ("kubectl get deployments -n sn -o wide", DEPLOY),
        ("kubectl get svc -n sn", SVC),
        ("kubectl get endpoints -n sn", ENDPOINTS),
    ])
}

#[test]
fn evidence_flags_come_from_the_outputs() {
    let ev = evidence(&sample_kb());
    let text = ev.get("text-service").cloned().unwrap_or_default();
    assert!(text.contains("crashing"), "{ev:?}");
    assert!(text.contains("not_ready"), "{ev:?}");
    assert!(text.contains("restarts"), "{ev:?}");
    let user = ev.get("user-service").cloned().unwrap_or_default();
    assert!(user.contains("port_mismatch"), "{ev:?}");
    assert!(!ev.contains_key("compose-post-service"), "{ev:?}");
    assert!(evidence(&Findings::default()).is_empty());
}

#[test]
fn non_mitigation_candidates_never_write() {
    let kb = sample_kb();
    let issued = BTreeSet::new();
    for t in [
        TaskType::Detection,
        TaskType::Localization,
        TaskType::Analysis,
    ] {
        let spec = task(t);
        let cands = turn_candidates(&State {
            task: &spec,
            kb: &kb,
            issued: &issued,
            actions: 4,
            executor: false,
        });
        assert!(
            cands
                .iter()
                .all(|c| !matches!(c.action, Action::Execute(_))),
            "{t:?}"
        );
        for c in &cands {
            if let Action::Probe(call) = &c.action
                && let Some(cmd) = call.str_arg("command")
            {
                assert!(crate::builtin::findings::is_read_cmd(cmd), "{cmd}");
            }
        }
        assert!(cands.iter().any(|c| c.action == Action::SubmitNow));
    }
    let spec = task(TaskType::Mitigation);
    let cands = turn_candidates(&State {
        task: &spec,
        kb: &kb,
        issued: &issued,
        actions: 4,
        executor: true,
    });
    assert!(cands.iter().any(|c| matches!(c.action, Action::Execute(_))));
}

#[test]
fn localization_answers_are_services_with_evidence() {
    let cands = answers(&task(TaskType::Localization), &sample_kb());
    let names: Vec<String> = cands
        .iter()
        .filter_map(|c| match &c.action {
            Action::Submit(aoi_core::Submission::Localization { services }) => {
                services.first().cloned()
            }
            _ => None,
        })
        .collect();
    assert!(names.contains(&"text-service".to_string()), "{names:?}");
    assert!(names.contains(&"user-service".to_string()), "{names:?}");
    assert!(
        !names.contains(&"compose-post-service".to_string()),
        "{names:?}"
    );
    assert_eq!(answers(&task(TaskType::Analysis), &sample_kb()).len(), 24);
}

#[test]
fn model_file_round_trips_and_refuses_other_versions() {
    let dir = std::env::temp_dir().join(format!("aoi-local-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.json");
    let mut m = LocalModel::zeros();
    m.weights.insert("probe".into(), 0.5);
    m.training.seed = 7;
    m.save(&path).unwrap();
    assert_eq!(LocalModel::load(&path).unwrap(), m);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"version\": 1", "\"version\": 2");
    let err = LocalModel::from_json(&text, "m.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("version 2") && err.contains("version 1"),
        "{err}"
    );
    let err = LocalModel::from_json("{\"format\":\"other\",\"version\":1}", "x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("format `other`"), "{err}");
    assert!(LocalModel::load(&dir.join("missing.json")).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

fn view(t: TaskType, context: usize, lessons: Vec<String>) -> ObserverView {
    ObserverView {
        task: task(t),
        iteration: context as u32,
        max_iterations: 40,
        context: (0..context)
            .map(|i| ContextEntry {
                step: i as u32,
                role: "probe".into(),
                action: String::new(),
                summary: String::new(),
                ok: true,
            })
            .collect(),
        lessons,
        executor_available: t == TaskType::Mitigation,
    }
}

fn observe(p: &mut LocalPolicy, v: &ObserverView) -> NextAction {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(p.observe(v)).unwrap().value.next_action
}

#[test]
fn weights_steer_the_greedy_choice_and_sampling_is_seeded() {
    let mut m = LocalModel::zeros();
    m.weights.insert("submit".into(), 5.0);
    m.weights.insert("det:yes".into(), 5.0);
    let mut p = LocalPolicy::new(Arc::new(m), 0.0, 1);
    let next = observe(&mut p, &view(TaskType::Detection, 0, vec![]));
    assert_eq!(
        next,
        NextAction::Submit {
            submission: aoi_core::Submission::Detection { anomaly: true }
        }
    );
    assert_eq!(p.decisions().len(), 2);
    // Same seed, same choices; the recorded log-probability is that of the choice.
    let run = |seed: u64| {
        let mut p = LocalPolicy::new(Arc::new(LocalModel::zeros()), 1.0, seed);
        let next = observe(&mut p, &view(TaskType::Detection, 0, vec![]));
        (next, p.take_decisions())
    };
    let (a, da) = run(3);
    let (b, db) = run(3);
    assert_eq!(a, b);
    assert_eq!(da, db);
    let d = &da[0];
    assert!((d.logp - (1.0 / d.features.len() as f64).ln()).abs() < 1e-9);
}

#[test]
fn lessons_add_a_bonus_to_the_quoted_command() {
    let lesson = "Check `kubectl get events -n sn --sort-by=.lastTimestamp` first.".to_string();
    assert_eq!(
        quoted_commands(std::slice::from_ref(&lesson)),
        vec!["kubectl get events -n sn --sort-by=.lastTimestamp"]
    );
    let mut p = LocalPolicy::new(Arc::new(LocalModel::zeros()), 0.0, 1);
    let next = observe(&mut p, &view(TaskType::Detection, 0, vec![lesson]));
    match next {
        NextAction::Probe { instruction, .. } => {
            assert!(instruction.contains("get events"), "{instruction}")
        }
        other => panic!("expected the lesson's probe, got {other:?}"),
    }
    let d = &p.decisions()[0];
    assert_eq!(d.bonus.iter().filter(|b| **b > 0.0).count(), 1);
}

#[test]
fn the_policy_submits_when_out_of_actions() {
    let mut p = LocalPolicy::new(Arc::new(LocalModel::zeros()), 1.0, 5).with_max_actions(2);
    let next = observe(&mut p, &view(TaskType::Localization, 3, vec![]));
    assert!(matches!(next, NextAction::Submit { .. }), "{next:?}");
}

#[test]
fn lessons_match_pods_by_deployment_and_submissions_by_answer() {
    let quoted = quoted_commands(&[
        "Diagnose with `kubectl describe pod user-service-d8qzgwn9hp-g9mtp -n sn`. Then submit `submit(\"Yes\")`."
            .to_string(),
    ]);
    assert!(super::lesson_match(
        &quoted,
        "kubectl describe pod user-service-5f7c9d8b4a-x2x7q -n sn"
    ));
    assert!(!super::lesson_match(
        &quoted,
        "kubectl describe pod text-service-5f7c9d8b4a-x2x7q -n sn"
    ));
    assert!(super::lesson_match(
        &quoted,
        &aoi_core::Submission::Detection { anomaly: true }.to_call_string()
    ));
    assert!(!super::lesson_match(
        &quoted,
        &aoi_core::Submission::Detection { anomaly: false }.to_call_string()
    ));
}
