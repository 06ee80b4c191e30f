//! Training rows from recorded runs and approved corrective signals (format in
//! `docs/datasets.md`): GRPO rows from groups of runs of one problem, SFT conversations from
//! successful runs and approved signals, DPO preferences of a signal's repaired Observer answer
//! over the failed one.
//!
//! Rows are built only from steps that carry a [`ModelExchange`] (the prompt as sent and the
//! reply): a step without one is skipped and counted in [`Skipped`], never invented. Everything
//! here is pure; reading runs and signals from the store is the platform's job.

use crate::{Phase, RepairedPlan};
use aoi_core::{
    ChatMessage, ChatRole, ModelExchange, NextAction, ObserverDecision, Submission, Trajectory,
};
use aoi_inference::recording::render_decision;
use aoi_learning::grpo::group_advantages;
use aoi_learning::rewards::{step_inputs, trajectory_reward};
use aoi_learning::trace::{EventKind, tool_events, turns};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// The dataset format (rows, manifest, writer and reader), re-exported so the platform builds
/// exports without depending on aoi-learning itself.
pub use aoi_learning::dataset::{
    Counts, DatasetKind, DatasetRow, DpoRow, ExportMeta, FORMAT, FileEntry, GrpoRow, Manifest,
    Message, SftRow, SftSource, VERSION, export_in_memory, read_dataset, sha256_hex,
};
pub use aoi_learning::rewards::RewardWeights;

/// The confidence of a repaired decision: the plan was replayed on the twin, not certain.
pub const REPAIRED_CONFIDENCE: u8 = 80;
/// Longest summary or root-cause text of a repaired decision (characters).
const SHORT_TEXT: usize = 300;

/// One finished run of a problem, as GRPO and SFT read it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub problem_id: String,
    pub session_id: String,
    pub trajectory: Trajectory,
    /// The evaluator's (or an operator's) verdict.
    pub success: bool,
    /// The fault's resources, as [`aoi_learning::rewards`] scores targets against
    /// (see [`relevant_resources`]).
    pub relevant: BTreeSet<String>,
}

/// What was left out of an export, and why (reported to whoever exported).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Steps that recorded no usable model exchange (none, or an empty prompt or completion).
    pub steps_without_exchange: u64,
    /// Runs left out (GRPO: a group of fewer than two runs; a run whose steps do not read).
    pub runs: u64,
    /// Signals that gave no row.
    pub signals: u64,
    /// Rows left out because they broke a rule of the format (an empty message list, say).
    pub invalid_rows: u64,
    /// One line per run or signal left out, saying why.
    pub reasons: Vec<String>,
}

impl Skipped {
    /// Adds `other`'s counts and reasons to these.
    pub fn add(&mut self, other: Skipped) {
        self.steps_without_exchange += other.steps_without_exchange;
        self.runs += other.runs;
        self.signals += other.signals;
        self.invalid_rows += other.invalid_rows;
        self.reasons.extend(other.reasons);
    }

    /// Counts one run left out for `reason`.
    pub fn run(&mut self, reason: impl Into<String>) {
        self.runs += 1;
        self.reasons.push(reason.into());
    }

    /// Counts one signal left out for `reason`.
    pub fn signal(&mut self, reason: impl Into<String>) {
        self.signals += 1;
        self.reasons.push(reason.into());
    }
}

/// The resources a twin problem's fault concerns: its targets and its expected services.
pub fn relevant_resources(problem: &aoi_twin::suite::Problem) -> BTreeSet<String> {
    problem
        .targets
        .iter()
        .chain(&problem.expected_services)
        .cloned()
        .collect()
}

/// A chat message in the dataset's type.
pub fn message(m: &ChatMessage) -> Message {
    match m.role {
        ChatRole::System => Message::system(m.content.clone()),
        ChatRole::User => Message::user(m.content.clone()),
        ChatRole::Assistant => Message::assistant(m.content.clone()),
    }
}

/// The exchange's prompt as dataset messages, when it has a prompt and a completion.
fn usable(exchange: Option<&ModelExchange>) -> Option<(Vec<Message>, &ModelExchange)> {
    let exchange = exchange?;
    if exchange.prompt.is_empty() || exchange.completion.trim().is_empty() {
        return None;
    }
    Some((exchange.prompt.iter().map(message).collect(), exchange))
}

/// A run's reward: [`trajectory_reward`] over [`step_inputs`] of its trajectory.
pub fn run_reward(run: &RunRecord, weights: &RewardWeights) -> f64 {
    let inputs = step_inputs(&run.trajectory, &run.relevant, run.success);
    trajectory_reward(&inputs, &run.relevant, weights).total
}

/// GRPO rows of one group of runs of the same problem (`group_id` `<problem id>#<n>`): each
/// run's reward is its whole trajectory's reward, the advantage is group-relative over the runs'
/// rewards (all 0 when they are equal), and every step of a run that recorded an exchange
/// becomes one row carrying its run's reward and advantage, its role, its index, the exchange's
/// prompt, its completion as one assistant message and its logprobs.
pub fn grpo_rows(
    group_id: &str,
    runs: &[RunRecord],
    weights: &RewardWeights,
) -> (Vec<GrpoRow>, Skipped) {
    let rewards: Vec<f64> = runs.iter().map(|r| run_reward(r, weights)).collect();
    let advantages = group_advantages(&rewards);
    let mut rows = Vec::new();
    let mut skipped = Skipped::default();
    for ((run, reward), advantage) in runs.iter().zip(&rewards).zip(&advantages) {
        for step in &run.trajectory.steps {
            let Some((prompt, exchange)) = usable(step.exchange.as_ref()) else {
                skipped.steps_without_exchange += 1;
                continue;
            };
            rows.push(GrpoRow {
                prompt,
                completion: vec![Message::assistant(exchange.completion.clone())],
                reward: *reward,
                advantage: *advantage,
                group_id: group_id.to_string(),
                problem_id: run.problem_id.clone(),
                session_id: run.session_id.clone(),
                step: step.index,
                role: step.role,
                logprobs: exchange.logprobs.clone(),
            });
        }
    }
    (rows, skipped)
}

/// SFT rows of a successful run: one conversation per step that recorded an exchange (its
/// prompt, then its completion as the assistant's message), source `success`.
pub fn sft_rows_from_success(run: &RunRecord) -> (Vec<SftRow>, Skipped) {
    let mut rows = Vec::new();
    let mut skipped = Skipped::default();
    for step in &run.trajectory.steps {
        let Some((mut messages, exchange)) = usable(step.exchange.as_ref()) else {
            skipped.steps_without_exchange += 1;
            continue;
        };
        messages.push(Message::assistant(exchange.completion.clone()));
        rows.push(SftRow {
            messages,
            source: SftSource::Success,
            session_id: run.session_id.clone(),
            problem_id: Some(run.problem_id.clone()),
        });
    }
    (rows, skipped)
}

/// An approved (or edited) corrective signal with the failed run it was drafted from.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRecord {
    pub signal_id: String,
    /// The failed session.
    pub session_id: String,
    pub problem_id: String,
    /// The position in the failed trajectory where it first went wrong; `None`: the last
    /// Observer turn (the submission) was wrong.
    pub first_wrong_step: Option<usize>,
    /// The plan as approved: the edited plan when a reviewer edited it.
    pub plan: RepairedPlan,
    pub rationale: String,
    pub lesson: String,
    /// The failed trajectory.
    pub trajectory: Trajectory,
}

/// The Observer turn a signal repairs: its prompt, the failed reply and the repaired one.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairedTurn {
    /// The Observer step's position in the failed trajectory.
    pub step: usize,
    pub prompt: Vec<Message>,
    /// The repaired decision.
    pub decision: ObserverDecision,
    /// [`render_decision`] of `decision`.
    pub chosen: String,
    /// The failed run's reply at that turn.
    pub rejected: String,
}

/// Why a signal gives no row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalRowError {
    #[error("signal {signal}: the failed trajectory has no Observer turn")]
    NoObserverTurn { signal: String },
    #[error(
        "signal {signal}: the Observer step {step} recorded no model exchange (the session ran before exchanges were recorded, or its policy records none)"
    )]
    NoExchange { signal: String, step: usize },
    #[error(
        "signal {signal}: every plan step already ran before step {step} and the plan has no readable submission"
    )]
    NoNextAction { signal: String, step: usize },
    #[error("signal {signal}: the repaired answer is the failed one: no preference")]
    SameAnswer { signal: String },
}

/// The first `SHORT_TEXT` characters of the first sentence of `text`.
fn short(text: &str) -> String {
    let text = text.trim();
    let sentence = match text.find(". ") {
        Some(i) => text.get(..=i).unwrap_or(text),
        None => text,
    };
    sentence.chars().take(SHORT_TEXT).collect()
}

/// The Observer turn of `signal` that contains its first wrong step (the last turn when none is
/// named), with the decision the repaired plan makes there: the first plan step whose command
/// the failed run had not run before that turn (an Executor action in the Resolution phase, a
/// Probe otherwise), or the plan's submission when every step had run.
pub fn repaired_turn(signal: &SignalRecord) -> Result<RepairedTurn, SignalRowError> {
    let trajectory = &signal.trajectory;
    let all = turns(trajectory);
    let turn = match signal.first_wrong_step {
        Some(wrong) => all.iter().rev().find(|t| t.step <= wrong).or(all.first()),
        None => all.last(),
    }
    .ok_or_else(|| SignalRowError::NoObserverTurn {
        signal: signal.signal_id.clone(),
    })?;
    let step = turn.step;
    let exchange = trajectory.steps.get(step).and_then(|s| s.exchange.as_ref());
    let (prompt, exchange) = usable(exchange).ok_or_else(|| SignalRowError::NoExchange {
        signal: signal.signal_id.clone(),
        step,
    })?;
    let ran: BTreeSet<String> = tool_events(trajectory)
        .into_iter()
        .filter(|e| e.step < step && matches!(e.kind, EventKind::Read | EventKind::Write))
        .map(|e| e.command)
        .collect();
    let next = signal
        .plan
        .steps
        .iter()
        .find(|s| !ran.contains(s.command.trim()));
    let (phase, next_action) = match next {
        Some(plan_step) => {
            let instruction = format!("Run `{}`: {}", plan_step.command, plan_step.purpose);
            let action = if plan_step.phase == Phase::Resolution {
                NextAction::Executor {
                    instruction,
                    context: String::new(),
                }
            } else {
                NextAction::Probe {
                    instruction,
                    context: String::new(),
                }
            };
            (plan_step.phase, action)
        }
        None => {
            let submission = signal
                .plan
                .submission
                .clone()
                .and_then(|v| serde_json::from_value::<Submission>(v).ok())
                .ok_or_else(|| SignalRowError::NoNextAction {
                    signal: signal.signal_id.clone(),
                    step,
                })?;
            let phase = signal
                .plan
                .steps
                .last()
                .map_or(Phase::Diagnosis, |s| s.phase);
            (phase, NextAction::Submit { submission })
        }
    };
    let decision = ObserverDecision {
        previous_iteration_summary: short(&signal.rationale),
        current_phase: phase.as_str().to_string(),
        root_cause_analysis: short(&signal.lesson),
        confidence: REPAIRED_CONFIDENCE,
        next_action,
    };
    Ok(RepairedTurn {
        step,
        prompt,
        chosen: render_decision(&decision),
        decision,
        rejected: exchange.completion.clone(),
    })
}

/// The SFT row of a signal: the repaired turn's prompt, then the repaired decision.
pub fn sft_row_from_signal(signal: &SignalRecord) -> Result<SftRow, SignalRowError> {
    let turn = repaired_turn(signal)?;
    let mut messages = turn.prompt;
    messages.push(Message::assistant(turn.chosen));
    Ok(SftRow {
        messages,
        source: SftSource::Signal,
        session_id: signal.session_id.clone(),
        problem_id: Some(signal.problem_id.clone()),
    })
}

/// The DPO row of a signal: the repaired turn's prompt, the repaired decision chosen over the
/// failed reply; refused when the two are the same.
pub fn dpo_row_from_signal(signal: &SignalRecord) -> Result<DpoRow, SignalRowError> {
    let turn = repaired_turn(signal)?;
    if turn.chosen.trim() == turn.rejected.trim() {
        return Err(SignalRowError::SameAnswer {
            signal: signal.signal_id.clone(),
        });
    }
    Ok(DpoRow {
        prompt: turn.prompt,
        chosen: vec![Message::assistant(turn.chosen)],
        rejected: vec![Message::assistant(turn.rejected)],
        signal_id: signal.signal_id.clone(),
        session_id: signal.session_id.clone(),
    })
}

/// A stored plan (`{"steps": [...], "submission": ...}` as drafted, or a reviewer's list of
/// steps) as a [`RepairedPlan`]; the error names what does not read.
pub fn plan_from_json(value: &Value) -> Result<RepairedPlan, String> {
    let parsed = match value {
        Value::Array(_) => serde_json::from_value(value.clone()).map(|steps| RepairedPlan {
            steps,
            submission: None,
        }),
        _ => serde_json::from_value::<RepairedPlan>(value.clone()),
    };
    parsed.map_err(|e| format!("the plan does not read as steps {{phase, command, purpose}}: {e}"))
}
