//! What a session records: every step, by role, with its gate decision and cost.

use crate::policy::{ModelExchange, ObserverDecision};
use crate::task::{Submission, TaskSpec};
use crate::tool::{Access, ToolCall};
use serde::{Deserialize, Serialize};

/// The four roles of the AOI loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Observer,
    Probe,
    Executor,
    Compressor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Observer => "observer",
            Role::Probe => "probe",
            Role::Executor => "executor",
            Role::Compressor => "compressor",
        }
    }
}

/// How the write gate answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    /// Allowed by a guardrail rule that says `auto`.
    Allowed,
    /// The guardrail asked and a person approved.
    Approved,
    /// Refused by a rule, by a person, or because nobody answered in time.
    Denied,
}

/// The gate's decision on one write, recorded whether it allowed or refused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRecord {
    pub outcome: GateOutcome,
    /// The guardrail rule that decided, e.g. `default:auto`.
    pub rule: String,
    /// The identity the write runs as (the approver when one approved).
    pub actor: String,
    pub reason: String,
}

/// One step of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub index: u32,
    pub role: Role,
    /// What the role did: `plan`, `submit`, `compress`, or the tool name.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateRecord>,
    /// Raw tool output (Probe / Executor steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_observation: Option<String>,
    /// The Compressor's summary of that output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed_observation: Option<String>,
    /// The Observer's decision (Observer steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<ObserverDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<Submission>,
    /// Set when the step failed (refused call, unparsable reply, tool error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The prompt and completion behind this step's reply, when the policy recorded them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<ModelExchange>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency_us: u64,
}

impl Step {
    pub fn new(index: u32, role: Role, action: impl Into<String>) -> Self {
        Step {
            index,
            role,
            action: action.into(),
            tool_call: None,
            access: None,
            gate: None,
            raw_observation: None,
            compressed_observation: None,
            decision: None,
            submission: None,
            error: None,
            exchange: None,
            input_tokens: 0,
            output_tokens: 0,
            latency_us: 0,
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionOutcome {
    Submitted,
    StepBudgetExhausted,
    Failed { message: String },
}

/// A whole session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    pub session_id: String,
    /// Set by whoever ran the session (bench, control plane); never shown to the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_id: Option<String>,
    pub policy: String,
    pub task: TaskSpec,
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<Submission>,
    pub outcome: SessionOutcome,
    /// Environment actions taken (tool calls plus the submit), AIOpsLab's step count.
    pub actions: u32,
    pub writes: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub duration_us: u64,
    /// Time spent inside the policy (all roles).
    pub policy_us: u64,
    /// Time spent inside tools.
    pub tool_us: u64,
}

impl Trajectory {
    /// Agent overhead: session time not spent in tools or in the policy.
    pub fn overhead_us(&self) -> u64 {
        self.duration_us
            .saturating_sub(self.policy_us)
            .saturating_sub(self.tool_us)
    }
}
