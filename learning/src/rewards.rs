//! Rewards in the spirit of the paper: the evaluator's final success, plus step rewards for a
//! valid format, a sensible action type, the right target resources, calibrated confidence, and
//! a penalty for every write the runtime refused.
//!
//! Inputs are plain data per Observer step ([`StepInput`]), so a trainer can score sampled
//! candidate actions that never ran; [`step_inputs`] derives them from a recorded trajectory.

use crate::targets::is_relevant;
use crate::trace::{EventKind, turns};
use aoi_core::{NextAction, Submission, TaskType, Trajectory};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Reward weights, from configuration. Every field defaults, so a config may set a subset.
///
/// Defaults and why: the paper weighs format 0.10, action 0.10, target resources 0.30,
/// calibration 0.05, and two judged dimensions (summary 0.15, instruction 0.30) that need a large
/// judge model and are not scored here. The rule-checkable ones keep the paper's order with
/// `targets` 0.2 and `calibration` 0.1, so a perfect step earns at most 0.5 of shaping, half the
/// `success` weight 1.0: shaping can rank runs but never outweigh solving the problem.
/// `refused_write` is -0.5 per refused write, which cancels a perfect step: trying a write the
/// runtime refuses never pays. `unparsable` 0.0 is the paper's fixed low reward for a reply that
/// does not parse, below the 0.1 any parsed reply earns for its format.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardWeights {
    /// Paid once, on the submit step, when the evaluator judged the run a success.
    pub success: f64,
    /// A reply that parsed into the Observer's JSON shape.
    pub format: f64,
    /// A sensible action type for the state of the run (see [`step_inputs`]).
    pub action_type: f64,
    /// The share of named resources that are relevant to the incident.
    pub targets: f64,
    /// Confidence calibration, `1 - (confidence - outcome)^2` (a Brier score).
    pub calibration: f64,
    /// Per write the runtime refused (negative).
    pub refused_write: f64,
    /// The fixed reward of a step whose reply did not parse (it earns nothing else, but refused
    /// writes still count).
    pub unparsable: f64,
}

impl Default for RewardWeights {
    fn default() -> Self {
        RewardWeights {
            success: 1.0,
            format: 0.1,
            action_type: 0.1,
            targets: 0.2,
            calibration: 0.1,
            refused_write: -0.5,
            unparsable: 0.0,
        }
    }
}

impl RewardWeights {
    /// Refuses non-finite weights, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("success", self.success),
            ("format", self.format),
            ("action_type", self.action_type),
            ("targets", self.targets),
            ("calibration", self.calibration),
            ("refused_write", self.refused_write),
            ("unparsable", self.unparsable),
        ];
        match fields.iter().find(|(_, v)| !v.is_finite()) {
            Some((name, v)) => Err(format!(
                "reward weight `{name}` must be a finite number, got {v}"
            )),
            None => Ok(()),
        }
    }
}

/// The Observer's choice of action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Probe,
    Executor,
    Submit,
}

/// What one Observer step did, as plain data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepInput {
    /// The Observer step's position in the trajectory (for display).
    pub step: u32,
    /// The reply parsed into the Observer's JSON shape.
    pub valid_format: bool,
    /// The chosen action; `None` when the reply did not parse.
    pub action: Option<ActionKind>,
    /// Whether that action makes sense in the run's state (see [`step_inputs`] for the rule).
    pub action_sensible: bool,
    /// The resources the step named (its calls' targets; a localization answer's services).
    pub targets: BTreeSet<String>,
    /// Stated confidence, 0 to 100.
    pub confidence: Option<u8>,
    /// Whether the evaluator judged the run a success (the outcome confidence is scored against).
    pub success: bool,
    /// Writes of this step the runtime refused.
    pub refused_writes: u32,
}

/// Reward components, each already weighted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RewardComponents {
    pub success: f64,
    pub format: f64,
    pub action_type: f64,
    pub targets: f64,
    pub calibration: f64,
    pub refused_write: f64,
    /// The fixed reward of an unparsable reply (zero otherwise).
    pub unparsable: f64,
}

impl RewardComponents {
    /// The sum of the components.
    pub fn total(&self) -> f64 {
        self.success
            + self.format
            + self.action_type
            + self.targets
            + self.calibration
            + self.refused_write
            + self.unparsable
    }
}

/// One step's reward and its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepReward {
    pub step: u32,
    pub components: RewardComponents,
    pub total: f64,
}

/// A whole run's reward: the per-step breakdown and the aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryReward {
    pub steps: Vec<StepReward>,
    /// `success` as paid on the submit step; `format`, `action_type`, `targets`, `calibration`
    /// and `unparsable` averaged over the steps (so a longer run earns no more shaping);
    /// `refused_write` summed (so a long run cannot dilute a refused write).
    pub components: RewardComponents,
    /// `components.total()`.
    pub total: f64,
}

/// The reward of one Observer step.
///
/// An unparsable reply gets `unparsable` plus its refused-write penalty and nothing else.
/// Otherwise: `format`; `action_type` when the action is sensible; `targets` times the share of
/// named resources in `relevant` (zero when the step named none or `relevant` is empty: the
/// paper rewards naming the right resources, and there is nothing to compare against without a
/// reference); `calibration * (1 - (confidence/100 - outcome)^2)` when a confidence was stated;
/// `success` on a submit step of a successful run; `refused_write` per refused write.
pub fn step_reward(
    input: &StepInput,
    relevant: &BTreeSet<String>,
    weights: &RewardWeights,
) -> StepReward {
    let mut c = RewardComponents {
        refused_write: weights.refused_write * f64::from(input.refused_writes),
        ..RewardComponents::default()
    };
    match input.action.filter(|_| input.valid_format) {
        None => c.unparsable = weights.unparsable,
        Some(action) => {
            c.format = weights.format;
            if input.action_sensible {
                c.action_type = weights.action_type;
            }
            if !input.targets.is_empty() && !relevant.is_empty() {
                let hits = input
                    .targets
                    .iter()
                    .filter(|t| is_relevant(t, relevant))
                    .count();
                c.targets = weights.targets * hits as f64 / input.targets.len() as f64;
            }
            if let Some(confidence) = input.confidence {
                let p = f64::from(confidence.min(100)) / 100.0;
                let y = if input.success { 1.0 } else { 0.0 };
                c.calibration = weights.calibration * (1.0 - (p - y).powi(2));
            }
            if action == ActionKind::Submit && input.success {
                c.success = weights.success;
            }
        }
    }
    StepReward {
        step: input.step,
        components: c,
        total: c.total(),
    }
}

/// The reward of a whole run from its steps' inputs (see [`TrajectoryReward::components`] for
/// how steps aggregate). A run without steps earns nothing.
pub fn trajectory_reward(
    inputs: &[StepInput],
    relevant: &BTreeSet<String>,
    weights: &RewardWeights,
) -> TrajectoryReward {
    let steps: Vec<StepReward> = inputs
        .iter()
        .map(|i| step_reward(i, relevant, weights))
        .collect();
    let mut sum = RewardComponents::default();
    for s in &steps {
        let c = &s.components;
        sum.success += c.success;
        sum.format += c.format;
        sum.action_type += c.action_type;
        sum.targets += c.targets;
        sum.calibration += c.calibration;
        sum.refused_write += c.refused_write;
        sum.unparsable += c.unparsable;
    }
    let n = steps.len().max(1) as f64;
    let components = RewardComponents {
        success: sum.success,
        format: sum.format / n,
        action_type: sum.action_type / n,
        targets: sum.targets / n,
        calibration: sum.calibration / n,
        refused_write: sum.refused_write,
        unparsable: sum.unparsable / n,
    };
    TrajectoryReward {
        steps,
        total: components.total(),
        components,
    }
}

/// Derives one [`StepInput`] per Observer turn of a recorded run.
///
/// `valid_format`: the turn has a parsed decision. Targets: the names its round's calls named,
/// plus a localization answer's services. A turn's action is sensible when:
/// - probe: its round ran at least one call not run before in the session (a refused or
///   repeated call wasted the turn);
/// - executor: the task is mitigation and a read already touched a `relevant` resource (any named
///   resource when `relevant` is empty): diagnosis before the fix;
/// - submit: in mitigation, a write ran and a read ran after the last write (fix, then verify);
///   otherwise a read already touched a relevant resource (any named resource when `relevant` is
///   empty).
pub fn step_inputs(
    trajectory: &Trajectory,
    relevant: &BTreeSet<String>,
    success: bool,
) -> Vec<StepInput> {
    let mitigation = trajectory.task.task_type == TaskType::Mitigation;
    let mut ran_before: BTreeSet<String> = BTreeSet::new();
    let mut diagnosed = false;
    let mut wrote = false;
    let mut verified = false;
    let mut inputs = Vec::new();
    for turn in turns(trajectory) {
        let action = turn.action().map(|a| match a {
            NextAction::Probe { .. } => ActionKind::Probe,
            NextAction::Executor { .. } => ActionKind::Executor,
            NextAction::Submit { .. } => ActionKind::Submit,
        });
        let sensible = match action {
            Some(ActionKind::Probe) => turn.events.iter().any(|e| {
                matches!(e.kind, EventKind::Read | EventKind::Write)
                    && !ran_before.contains(&e.command)
            }),
            Some(ActionKind::Executor) => mitigation && diagnosed,
            Some(ActionKind::Submit) if mitigation => wrote && verified,
            Some(ActionKind::Submit) => diagnosed,
            None => false,
        };
        let mut targets: BTreeSet<String> = turn
            .events
            .iter()
            .flat_map(|e| e.target_names().map(str::to_string).collect::<Vec<_>>())
            .collect();
        if let Some(Submission::Localization { services }) = turn.submission {
            targets.extend(services.iter().cloned());
        }
        let refused = turn
            .events
            .iter()
            .filter(|e| e.kind == EventKind::RefusedWrite)
            .count();
        inputs.push(StepInput {
            step: u32::try_from(turn.step).unwrap_or(u32::MAX),
            valid_format: turn.decision.is_some(),
            action,
            action_sensible: sensible,
            targets,
            confidence: turn.decision.map(|d| d.confidence),
            success,
            refused_writes: u32::try_from(refused).unwrap_or(u32::MAX),
        });
        for event in &turn.events {
            match event.kind {
                EventKind::Read => {
                    let touched = if relevant.is_empty() {
                        !event.targets.is_empty()
                    } else {
                        event.touches(relevant)
                    };
                    diagnosed |= touched;
                    verified |= wrote;
                    ran_before.insert(event.command.clone());
                }
                EventKind::Write => {
                    wrote = true;
                    verified = false;
                    ran_before.insert(event.command.clone());
                }
                EventKind::RefusedWrite | EventKind::Refused => {}
            }
        }
    }
    inputs
}
