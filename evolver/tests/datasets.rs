//! Dataset rows from hand-made runs and signals: rewards and advantages per run, steps without
//! an exchange skipped and counted, and a signal's repaired Observer answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_core::{
    Access, ChatMessage, ModelExchange, NextAction, ObserverDecision, Role, SessionOutcome, Step,
    Submission, TaskSpec, TaskType, ToolCall, Trajectory,
};
use aoi_evolver::datasets::{
    RunRecord, SignalRecord, SignalRowError, dpo_row_from_signal, grpo_rows, plan_from_json,
    repaired_turn, run_reward, sft_row_from_signal, sft_rows_from_success,
};
use aoi_evolver::{Phase, PlanStep, RepairedPlan};
use aoi_learning::{MessageRole, RewardWeights, SftSource};
use std::collections::BTreeSet;

const GET_PODS: &str = "kubectl get pods -n test-social-network";
const DESCRIBE: &str = "kubectl describe svc user-service -n test-social-network";
const PATCH: &str = "kubectl patch svc user-service -n test-social-network -p '{}'";
const VERIFY: &str = "kubectl get endpoints user-service -n test-social-network";

fn exchange(reply: &str) -> ModelExchange {
    ModelExchange {
        prompt: vec![
            ChatMessage::system("You are the Observer."),
            ChatMessage::user("Task: mitigation in test-social-network."),
        ],
        completion: reply.to_string(),
        logprobs: Some(vec![-0.5, -0.25]),
        temperature: Some(1.0),
    }
}

struct Run {
    t: Trajectory,
}

impl Run {
    fn new(session: &str) -> Self {
        Run {
            t: Trajectory {
                session_id: session.into(),
                problem_id: Some("p1".into()),
                policy: "test".into(),
                task: TaskSpec {
                    task_type: TaskType::Mitigation,
                    app_name: "Social Network".into(),
                    namespace: "test-social-network".into(),
                    app_description: String::new(),
                    instructions: "fix it".into(),
                },
                steps: Vec::new(),
                submission: None,
                outcome: SessionOutcome::StepBudgetExhausted,
                actions: 0,
                writes: 0,
                input_tokens: 0,
                output_tokens: 0,
                duration_us: 0,
                policy_us: 0,
                tool_us: 0,
            },
        }
    }

    fn push(&mut self, mut step: Step) {
        step.index = self.t.steps.len() as u32;
        self.t.steps.push(step);
    }

    fn observer(&mut self, next: NextAction, recorded: bool) {
        let mut step = Step::new(0, Role::Observer, "plan");
        let reply = format!("observer reply {}", self.t.steps.len());
        step.decision = Some(ObserverDecision {
            previous_iteration_summary: String::new(),
            current_phase: "Diagnosis".into(),
            root_cause_analysis: String::new(),
            confidence: 50,
            next_action: next,
        });
        if recorded {
            step.exchange = Some(exchange(&reply));
        }
        self.push(step);
    }

    /// An Observer turn (recorded or not) and the Probe's or Executor's call (recorded).
    fn call(mut self, role: Role, command: &str, access: Access, recorded: bool) -> Self {
        let next = if role == Role::Executor {
            NextAction::Executor {
                instruction: command.into(),
                context: String::new(),
            }
        } else {
            NextAction::Probe {
                instruction: command.into(),
                context: String::new(),
            }
        };
        self.observer(next, recorded);
        let mut step = Step::new(0, role, "exec_shell");
        step.tool_call = Some(ToolCall::exec_shell(command));
        step.access = Some(access);
        step.exchange = Some(exchange(&format!(
            "{{\"tool\": \"exec_shell\", \"command\": \"{command}\"}}"
        )));
        self.push(step);
        self
    }

    fn read(self, command: &str) -> Self {
        self.call(Role::Probe, command, Access::Read, true)
    }

    fn submit(mut self) -> Self {
        self.observer(
            NextAction::Submit {
                submission: Submission::Mitigation,
            },
            true,
        );
        self.t.submission = Some(Submission::Mitigation);
        self.t.outcome = SessionOutcome::Submitted;
        self
    }

    fn record(self, success: bool) -> RunRecord {
        RunRecord {
            problem_id: "p1".into(),
            session_id: self.t.session_id.clone(),
            trajectory: self.t,
            success,
            relevant: BTreeSet::from(["user-service".to_string()]),
        }
    }
}

fn fixed(session: &str) -> Run {
    Run::new(session)
        .read(DESCRIBE)
        .call(Role::Executor, PATCH, Access::Write, true)
        .read(VERIFY)
        .submit()
}

#[test]
fn equal_rewards_give_zero_advantages_and_each_recorded_step_a_row() {
    let w = RewardWeights::default();
    let runs = vec![fixed("s-1").record(true), fixed("s-2").record(true)];
    let (rows, skipped) = grpo_rows("p1#0", &runs, &w);
    // 4 Observer turns and 3 calls per run, every one recorded.
    assert_eq!(rows.len(), 14);
    assert_eq!(skipped.steps_without_exchange, 0);
    assert!(rows.iter().all(|r| r.advantage == 0.0), "{rows:?}");
    let reward = run_reward(&runs[0], &w);
    assert!(
        reward > 1.0,
        "a successful fixed run earns success and shaping: {reward}"
    );
    assert!(rows.iter().all(|r| r.reward == reward));
    assert_eq!(rows[0].step, 0);
    assert_eq!(rows[0].role, Role::Observer);
    assert_eq!(rows[1].role, Role::Probe);
    assert_eq!(rows[3].role, Role::Executor);
    assert_eq!(rows[0].completion.len(), 1);
    assert_eq!(rows[0].completion[0].role, MessageRole::Assistant);
    assert_eq!(rows[0].logprobs, Some(vec![-0.5, -0.25]));
    assert_eq!(rows[0].prompt.len(), 2);
}

#[test]
fn advantages_are_per_run_and_steps_without_exchange_are_counted() {
    let w = RewardWeights::default();
    let failed = Run::new("s-bad")
        .call(Role::Probe, GET_PODS, Access::Read, false)
        .read(GET_PODS);
    let runs = vec![fixed("s-good").record(true), failed.record(false)];
    let (rows, skipped) = grpo_rows("p1#1", &runs, &w);
    assert_eq!(
        skipped.steps_without_exchange, 1,
        "the unrecorded Observer turn"
    );
    let good: Vec<_> = rows.iter().filter(|r| r.session_id == "s-good").collect();
    let bad: Vec<_> = rows.iter().filter(|r| r.session_id == "s-bad").collect();
    assert_eq!(good.len(), 7);
    assert_eq!(bad.len(), 3);
    assert!(
        good.iter()
            .all(|r| r.advantage > 0.9 && r.reward == good[0].reward)
    );
    assert!(
        bad.iter()
            .all(|r| r.advantage < -0.9 && r.reward == bad[0].reward)
    );
    assert!(good[0].reward > bad[0].reward);
    assert_eq!(bad[0].step, 1, "step 0 had no exchange");
}

#[test]
fn a_successful_run_gives_one_conversation_per_recorded_step() {
    let failed_observer = Run::new("s-3")
        .call(Role::Probe, DESCRIBE, Access::Read, false)
        .submit()
        .record(true);
    let (rows, skipped) = sft_rows_from_success(&failed_observer);
    assert_eq!(rows.len(), 2);
    assert_eq!(skipped.steps_without_exchange, 1);
    for row in &rows {
        assert_eq!(row.source, SftSource::Success);
        assert_eq!(row.problem_id.as_deref(), Some("p1"));
        assert_eq!(row.messages.last().unwrap().role, MessageRole::Assistant);
        assert_eq!(row.messages.len(), 3);
    }
}

fn plan() -> RepairedPlan {
    let step = |phase, command: &str| PlanStep {
        phase,
        command: command.into(),
        purpose: format!("to check {command}"),
        call: None,
    };
    RepairedPlan {
        steps: vec![
            step(Phase::Discovery, GET_PODS),
            step(Phase::Diagnosis, DESCRIBE),
            step(Phase::Resolution, PATCH),
            step(Phase::Verification, VERIFY),
        ],
        submission: Some(serde_json::to_value(Submission::Mitigation).unwrap()),
    }
}

/// A failed run that listed pods, described the service, then submitted without a fix.
fn failed_signal(first_wrong_step: Option<usize>) -> SignalRecord {
    let run = Run::new("s-failed").read(GET_PODS).read(DESCRIBE).submit();
    SignalRecord {
        signal_id: "sig-1".into(),
        session_id: "s-failed".into(),
        problem_id: "p1".into(),
        first_wrong_step,
        plan: plan(),
        rationale: "The run submitted without a fix. The teacher patched the port.".into(),
        lesson: "Patch the target port of `user-service`.".into(),
        trajectory: run.t,
    }
}

#[test]
fn the_repaired_answer_is_the_first_plan_step_not_yet_run() {
    // Step 4 is the submit turn: pods and service were read before it, so the fix comes next.
    let turn = repaired_turn(&failed_signal(Some(4))).unwrap();
    assert_eq!(turn.step, 4);
    match &turn.decision.next_action {
        NextAction::Executor { instruction, .. } => {
            assert!(instruction.contains(PATCH), "{instruction}")
        }
        other => panic!("expected the executor fix, got {other:?}"),
    }
    assert_eq!(turn.decision.current_phase, "Resolution");
    assert_eq!(turn.decision.confidence, 80);
    assert_eq!(
        turn.decision.previous_iteration_summary,
        "The run submitted without a fix."
    );
    assert_eq!(turn.rejected, "observer reply 4");

    // At the second turn (the describe step 3 is in it) only the listing had run before.
    let turn = repaired_turn(&failed_signal(Some(3))).unwrap();
    assert_eq!(turn.step, 2);
    match &turn.decision.next_action {
        NextAction::Probe { instruction, .. } => {
            assert!(instruction.contains(DESCRIBE), "{instruction}")
        }
        other => panic!("expected a probe of the service, got {other:?}"),
    }
    assert_eq!(turn.decision.current_phase, "Diagnosis");
}

#[test]
fn every_step_run_means_the_plans_submission() {
    let mut signal = failed_signal(None);
    signal.plan.steps.truncate(2);
    let turn = repaired_turn(&signal).unwrap();
    assert_eq!(
        turn.decision.next_action,
        NextAction::Submit {
            submission: Submission::Mitigation
        }
    );
    signal.plan.submission = None;
    assert!(matches!(
        repaired_turn(&signal),
        Err(SignalRowError::NoNextAction { .. })
    ));
}

#[test]
fn signal_rows_prefer_the_repair_and_refuse_no_preference() {
    let signal = failed_signal(Some(4));
    let dpo = dpo_row_from_signal(&signal).unwrap();
    assert_ne!(dpo.chosen, dpo.rejected);
    assert_eq!(dpo.signal_id, "sig-1");
    assert_eq!(dpo.prompt.len(), 2);
    let sft = sft_row_from_signal(&signal).unwrap();
    assert_eq!(sft.source, SftSource::Signal);
    assert_eq!(sft.messages.last().unwrap().content, dpo.chosen[0].content);

    // The failed reply was already the repaired one: no preference, no DPO row.
    let mut same = signal.clone();
    let chosen = dpo.chosen[0].content.clone();
    same.trajectory.steps[4]
        .exchange
        .as_mut()
        .unwrap()
        .completion = chosen;
    assert!(matches!(
        dpo_row_from_signal(&same),
        Err(SignalRowError::SameAnswer { .. })
    ));

    // The Observer step recorded nothing: no row at all.
    let mut unrecorded = signal;
    unrecorded.trajectory.steps[4].exchange = None;
    assert!(matches!(
        sft_row_from_signal(&unrecorded),
        Err(SignalRowError::NoExchange { step: 4, .. })
    ));
}

#[test]
fn plans_read_as_drafted_or_as_a_reviewers_list() {
    let drafted = serde_json::to_value(plan()).unwrap();
    assert_eq!(plan_from_json(&drafted).unwrap(), plan());
    let list = serde_json::json!([{"phase": "Resolution", "command": PATCH, "purpose": "fix"}]);
    let edited = plan_from_json(&list).unwrap();
    assert_eq!(edited.steps.len(), 1);
    assert_eq!(edited.submission, None);
    let err = plan_from_json(&serde_json::json!({"steps": [{"command": "x"}]})).unwrap_err();
    assert!(err.contains("phase"), "{err}");
}
