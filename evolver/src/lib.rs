//! aoi-evolver: turns failed runs into corrective signals, the paper's Evolver.
//!
//! It owns drafting a signal from one failed run ([`draft_signal`]): mining the run into the
//! failure patterns A to F, running a teacher (the built-in playbook, or any [`aoi_core::Policy`]
//! through [`draft_signal_with_teacher`]) on a twin reproduction of the same problem and seed,
//! and turning the teacher's run into a repaired plan in phases (Discovery, Diagnosis,
//! Resolution, Verification) with a rationale and a lesson for the Observer. It owns verifying a
//! plan by replaying it on a fresh twin ([`verify_plan`]), and retrieving the approved lessons
//! most similar to a new session's symptoms ([`select_lessons`], [`symptoms_of`]).
//! It owns building training rows (GRPO, SFT, DPO) from recorded runs and approved signals
//! ([`datasets`]).
//!
//! For failed runs no twin reproduces, a model teacher ([`draft_signal_with_model`]) is shown
//! the failed run (redacted) and its mined patterns and answers a repaired plan in phases, which
//! is parsed strictly ([`parse_plan`]) and drafted unverified, for review. The model is reached
//! through the [`TeacherModel`] port, which the platform implements over the inference pool.
//!
//! Everything is in memory and deterministic given a seed. It must not depend on a database,
//! HTTP, or any server crate; storing and approving signals is the platform's job.

pub mod datasets;
mod draft;
mod select;
mod teacher;
mod verify;

use aoi_core::{TaskType, ToolCall, Trajectory};
/// Re-exported so callers can build a [`FailedRun`] without depending on aoi-learning.
pub use aoi_learning::patterns::{FailurePattern, Verdict};
pub use draft::{DEFAULT_MAX_STEPS, draft_signal, draft_signal_with_teacher, plan_from_trajectory};
pub use select::{select_lessons, symptoms_of};
use serde::{Deserialize, Serialize};
pub use teacher::{
    NOT_REPRODUCIBLE, TaughtPlan, TeacherModel, draft_signal_with_model, parse_plan, plan_schema,
};
pub use verify::{run_teacher, verify_plan};

/// A failed (or operator-marked wrong) run to learn from.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedRun {
    /// A problem of the suite (the twin can reproduce it).
    pub problem_id: String,
    /// The twin seed of the failed run.
    pub seed: u64,
    pub trajectory: Trajectory,
    /// The evaluator's verdict on the run.
    pub verdict: Verdict,
    /// The session id, when the run came from the platform.
    pub source_session: Option<String>,
    /// The category an operator gave when marking the run wrong.
    pub operator_category: Option<String>,
}

/// The paper's four plan phases.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Discovery,
    Diagnosis,
    Resolution,
    Verification,
}

impl Phase {
    /// All phases, in plan order.
    pub const ALL: [Phase; 4] = [
        Phase::Discovery,
        Phase::Diagnosis,
        Phase::Resolution,
        Phase::Verification,
    ];

    /// The phase's name, as the paper writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Discovery => "Discovery",
            Phase::Diagnosis => "Diagnosis",
            Phase::Resolution => "Resolution",
            Phase::Verification => "Verification",
        }
    }
}

/// One command of a repaired plan.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PlanStep {
    pub phase: Phase,
    /// The command as text: the `exec_shell` command, or the call in Python form.
    pub command: String,
    /// Why the step is there, in a sentence.
    pub purpose: String,
    /// The exact tool call for steps that are not `exec_shell` (`get_logs`, `get_metrics`, ...),
    /// so a replay can run them; `None` means `exec_shell(command)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<ToolCall>,
}

impl PlanStep {
    /// The tool call a replay runs for this step.
    pub fn tool_call(&self) -> ToolCall {
        match &self.call {
            Some(call) => call.clone(),
            None => ToolCall::exec_shell(self.command.clone()),
        }
    }
}

/// A corrected command sequence grouped into phases, and the submission that ends it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RepairedPlan {
    pub steps: Vec<PlanStep>,
    /// The submission as JSON (an [`aoi_core::Submission`]); `None` when the teacher never
    /// submitted.
    pub submission: Option<serde_json::Value>,
}

impl RepairedPlan {
    /// The steps of one phase, in order.
    pub fn phase(&self, phase: Phase) -> impl Iterator<Item = &PlanStep> {
        self.steps.iter().filter(move |s| s.phase == phase)
    }
}

/// Whether a plan was replayed on the twin, and what the oracle said.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Verification {
    /// False when the plan could not be replayed (no twin reproduction, the teacher failed).
    pub attempted: bool,
    pub success: bool,
    pub detail: String,
}

/// What the evolver drafts; the platform stores it as a corrective signal (status pending).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SignalDraft {
    pub problem_id: String,
    pub task_type: TaskType,
    pub patterns: Vec<FailurePattern>,
    /// The position in the failed trajectory where it first went wrong.
    pub first_wrong_step: Option<usize>,
    /// One line per detected pattern.
    pub evidence: Vec<String>,
    /// The failed run's commands from its first wrong step (and its submission).
    pub failed_commands: Vec<String>,
    pub plan: RepairedPlan,
    /// Plain sentences: which patterns, the first wrong step, what the teacher did differently.
    pub rationale: String,
    pub verification: Verification,
    /// One paragraph for the Observer: the symptoms, the commands that diagnose, the fix, the
    /// verification; commands in backticks so a local policy can match them.
    pub lesson: String,
    /// Lower-case keywords of the incident's symptoms (app, task type, services, error words),
    /// used to retrieve the most similar approved signals for a new session.
    pub symptoms: Vec<String>,
}

/// Why a signal could not be drafted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvolveError {
    /// The problem is not in the suite, so no twin can reproduce it.
    #[error("problem `{problem_id}` is not in suite `{suite}`: the twin cannot reproduce it")]
    UnknownProblem { problem_id: String, suite: String },
    /// The twin could not start the problem.
    #[error("the twin could not reproduce problem `{problem_id}` (seed {seed}): {message}")]
    Twin {
        problem_id: String,
        seed: u64,
        message: String,
    },
    /// The failed run is of another task type than the problem.
    #[error(
        "the failed run is a {run} task but problem `{problem_id}` is a {problem} task: wrong problem id?"
    )]
    TaskTypeMismatch {
        problem_id: String,
        run: TaskType,
        problem: TaskType,
    },
    /// The tool registry over the twin refused its tools.
    #[error("tool registry over the twin: {0}")]
    Registry(String),
    /// The model teacher could not be asked (the pool is down, busy, or refused the request).
    #[error("the model teacher ({model}) did not answer: {message}")]
    Teacher { model: String, message: String },
    /// The model teacher answered something that is not a repaired plan.
    #[error("the model teacher ({model}) answered no usable plan: {message}")]
    MalformedPlan { model: String, message: String },
}
