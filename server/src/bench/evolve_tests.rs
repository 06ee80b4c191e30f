//! `aoi bench --evolve` end to end on a few shipped tasks, with a test policy that fails unless
//! a lesson tells it the answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{BenchArgs, PolicyFactory, run_with};
use aoi_core::{
    CompressInput, NextAction, ObserverDecision, ObserverView, Policy, PolicyError, Reply,
    RoleRequest, Submission, TaskType, ToolCall,
};
use clap::Parser;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Submits at once: for detection "Yes" only when a lesson says `submit("Yes")`, otherwise
/// "No"; for other task types a wrong answer.
struct LessonParrot;

/// A policy's reply, boxed as the `Policy` trait's methods return it (this crate implements
/// the trait without the `async_trait` macro).
type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<Reply<T>, PolicyError>> + Send + 'a>>;

fn parrot_decision(view: &ObserverView) -> ObserverDecision {
    let told_yes = view.lessons.iter().any(|l| l.contains("`submit(\"Yes\")`"));
    let submission = match view.task.task_type {
        TaskType::Detection => Submission::Detection { anomaly: told_yes },
        TaskType::Localization => Submission::Localization {
            services: vec!["no-such-service".into()],
        },
        TaskType::Analysis => Submission::Analysis {
            system_level: aoi_core::SystemLevel::Hardware,
            fault_type: aoi_core::FaultType::CodeDefect,
        },
        TaskType::Mitigation => Submission::Mitigation,
    };
    ObserverDecision {
        previous_iteration_summary: String::new(),
        current_phase: "Discovery".into(),
        root_cause_analysis: String::new(),
        confidence: 90,
        next_action: NextAction::Submit { submission },
    }
}

impl Policy for LessonParrot {
    fn name(&self) -> &str {
        "lesson-parrot"
    }
    fn observe<'s, 'v, 'f>(&'s mut self, view: &'v ObserverView) -> Answer<'f, ObserverDecision>
    where
        's: 'f,
        'v: 'f,
        Self: 'f,
    {
        let decision = parrot_decision(view);
        Box::pin(async move { Ok(Reply::free(decision)) })
    }
    fn probe<'s, 'r, 'f>(&'s mut self, _: &'r RoleRequest) -> Answer<'f, ToolCall>
    where
        's: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(async { Err(PolicyError::Other("never probes".into())) })
    }
    fn execute<'s, 'r, 'f>(&'s mut self, _: &'r RoleRequest) -> Answer<'f, ToolCall>
    where
        's: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(async { Err(PolicyError::Other("never executes".into())) })
    }
    fn compress<'s, 'i, 'f>(&'s mut self, _: &'i CompressInput) -> Answer<'f, String>
    where
        's: 'f,
        'i: 'f,
        Self: 'f,
    {
        Box::pin(async { Ok(Reply::free(String::new())) })
    }
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
}

fn args(extra: &[&str]) -> BenchArgs {
    let mut argv = vec!["aoi", "--quiet", "--jobs", "2"];
    argv.extend_from_slice(extra);
    Cli::try_parse_from(argv).unwrap().bench
}

fn parrot() -> PolicyFactory {
    Arc::new(|| Ok(Box::new(LessonParrot) as Box<dyn Policy>))
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut at = v;
    for p in path {
        at = &at[*p];
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{path:?} is not a number in {v}"))
}

#[tokio::test]
async fn bench_evolve_learns_from_failed_runs_and_reports_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench.json");
    let out_arg = out.to_string_lossy().to_string();
    let a = args(&[
        "--tasks",
        "k8s_target_port-misconfig-detection-*",
        "--runs",
        "2",
        "--evolve",
        "--out",
        &out_arg,
    ]);
    let report = run_with(&a, parrot()).await.unwrap();

    let e = report.evolve.as_ref().unwrap();
    assert_eq!(
        e.signals.len(),
        6,
        "every run of the 3 tasks failed once per run: {:?}",
        e.errors
    );
    assert_eq!(
        e.verified(),
        6,
        "the builtin teacher solves every detection task"
    );
    assert_eq!(e.lessons, 3, "one lesson per problem");
    for t in &e.after {
        for r in &t.runs {
            assert!(
                r.lessons > 0 && r.lessons <= 3,
                "{}: {} lessons",
                t.id,
                r.lessons
            );
            assert!(r.success, "{} with lessons: {}", t.id, r.detail);
        }
    }
    // The seeds of the rounds are the same.
    let seeds = |ts: &[super::TaskResult]| {
        ts.iter()
            .flat_map(|t| t.runs.iter().map(|r| r.seed))
            .collect::<Vec<_>>()
    };
    assert_eq!(seeds(&report.tasks), seeds(&e.after));
    assert_eq!(seeds(&report.tasks), seeds(&e.after_other_problems));

    let json: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let ev = &json["evolve"];
    assert_eq!(ev["signals"], 6);
    assert_eq!(ev["verified"], 6);
    assert_eq!(num(ev, &["before", "avg_at_k"]), 0.0);
    assert_eq!(num(ev, &["before", "best_at_k"]), 0.0);
    assert_eq!(num(ev, &["after", "avg_at_k"]), 1.0);
    assert_eq!(num(ev, &["after", "gap"]), 0.0);
    assert_eq!(
        num(ev, &["after_other_problems", "avg_at_k"]),
        1.0,
        "the other two problems' lessons say the same"
    );
    assert_eq!(num(ev, &["avg_at_k_gain"]), 1.0);
    assert_eq!(
        num(ev, &["after", "by_task_type", "detection", "tasks"]),
        3.0
    );
    let first = &ev["signal_list"][0];
    assert_eq!(first["auto_approved"], true);
    assert_eq!(first["verified"], true);
    assert!(
        first["lesson"]
            .as_str()
            .unwrap()
            .contains("`submit(\"Yes\")`")
    );
    assert!(
        first["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "E" || p == "B"),
        "{first}"
    );
    assert_eq!(
        ev["after_tasks"][0]["runs"][0]["lessons"]
            .as_u64()
            .map(|n| n > 0),
        Some(true)
    );
    assert!(
        json["tasks"][0]["runs"][0].get("lessons").is_none(),
        "the first round has no lessons"
    );

    let table = report.table();
    assert!(table.contains("after (lessons)"), "{table}");
    assert!(table.contains("after (other problems' lessons)"), "{table}");
    assert!(table.contains("6 verified"), "{table}");
}

#[tokio::test]
async fn bench_evolve_held_out_lessons_never_include_the_problems_own() {
    let a = args(&[
        "--tasks",
        "k8s_target_port-misconfig-detection-1",
        "--runs",
        "1",
        "--evolve",
    ]);
    let report = run_with(&a, parrot()).await.unwrap();
    let e = report.evolve.as_ref().unwrap();
    assert_eq!(e.lessons, 1);
    assert!(
        e.after[0].runs[0].success,
        "its own lesson gives the answer"
    );
    let held_out = &e.after_other_problems[0].runs[0];
    assert_eq!(held_out.lessons, 0, "no other problem, no lesson");
    assert!(!held_out.success);
    let json = report.json();
    assert_eq!(num(&json["evolve"], &["avg_at_k_gain"]), 1.0);
    assert_eq!(num(&json["evolve"], &["avg_at_k_gain_other_problems"]), 0.0);
}

#[tokio::test]
async fn bench_evolve_with_nothing_failed_drafts_nothing_and_without_the_flag_reports_no_evolve() {
    let a = args(&[
        "--tasks",
        "k8s_target_port-misconfig-detection-1",
        "--runs",
        "1",
        "--evolve",
    ]);
    let builtin: PolicyFactory =
        Arc::new(|| Ok(Box::new(aoi_inference::builtin::BuiltinPolicy::new()) as Box<dyn Policy>));
    let report = run_with(&a, builtin.clone()).await.unwrap();
    let e = report.evolve.as_ref().unwrap();
    assert!(e.signals.is_empty() && e.lessons == 0);
    assert_eq!(e.after[0].runs[0].lessons, 0);
    assert_eq!(report.json()["evolve"]["signals"], 0);

    let plain = run_with(
        &args(&["--tasks", "k8s_target_port-misconfig-detection-1"]),
        builtin,
    )
    .await
    .unwrap();
    assert!(plain.evolve.is_none());
    assert!(plain.json().get("evolve").is_none());
    assert!(!plain.table().contains("evolve"));
}
