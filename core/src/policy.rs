//! The port a decision maker implements: one method per role of the AOI loop.
//!
//! The agent runtime calls these; what a method receives is all a policy may know. The Observer
//! gets compressed context only, never raw tool output. The Probe and the Executor turn an
//! instruction into a concrete tool call; whether that call may run is decided by the runtime
//! (classification, read-only handle, write gate), never by the policy.

use crate::task::{Submission, TaskSpec};
use crate::tool::{ToolCall, ToolDoc, ToolOutput};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Token and call accounting of one role reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Model calls made for this reply (re-asks included).
    pub model_calls: u32,
    /// Replies that did not parse and were asked again.
    pub parse_errors: u32,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.model_calls += other.model_calls;
        self.parse_errors += other.parse_errors;
    }
}

/// A role's answer and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<T> {
    pub value: T,
    pub usage: Usage,
    /// The prompt and completion behind the answer, when the policy records them (for
    /// training datasets); the runtime copies it onto the step.
    pub exchange: Option<ModelExchange>,
}

impl<T> Reply<T> {
    /// A reply that cost no model tokens (rule-based policies).
    pub fn free(value: T) -> Self {
        Reply {
            value,
            usage: Usage::default(),
            exchange: None,
        }
    }

    /// The same reply carrying `exchange`.
    pub fn with_exchange(mut self, exchange: ModelExchange) -> Self {
        self.exchange = Some(exchange);
        self
    }
}

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

/// One OpenAI-style chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: ChatRole::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: ChatRole::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: ChatRole::Assistant,
            content: content.into(),
        }
    }
}

/// What a role was asked and what it answered, as text a model trains on: the prompt as it
/// left the process (redacted), the reply that was used, and the sampling backend's per-token
/// log-probabilities of that reply when it gave them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelExchange {
    /// System and user messages (plus, after a re-ask, the first reply and the correction).
    pub prompt: Vec<ChatMessage>,
    /// The reply the answer was parsed from.
    pub completion: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<f64>>,
    /// Sampling temperature, when a model sampled the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

/// One entry of the compressed context the Observer reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextEntry {
    pub step: u32,
    /// `probe` or `executor`.
    pub role: String,
    /// The command or call that ran, as text.
    pub action: String,
    /// The Compressor's summary of its output (untrusted data).
    pub summary: String,
    /// False when the call was refused or failed.
    pub ok: bool,
}

/// Everything the Observer may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObserverView {
    pub task: TaskSpec,
    pub iteration: u32,
    pub max_iterations: u32,
    pub context: Vec<ContextEntry>,
    /// Lessons from approved corrective signals, most relevant first.
    pub lessons: Vec<String>,
    /// Whether the Executor role is available (mitigation tasks only).
    pub executor_available: bool,
}

/// What the Observer wants next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NextAction {
    Probe { instruction: String, context: String },
    Executor { instruction: String, context: String },
    Submit { submission: Submission },
}

/// The Observer's reply, the paper's JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObserverDecision {
    pub previous_iteration_summary: String,
    /// Discovery, Diagnosis, Resolution or Verification.
    pub current_phase: String,
    pub root_cause_analysis: String,
    /// 0 to 100.
    pub confidence: u8,
    pub next_action: NextAction,
}

/// What the Probe or the Executor is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRequest {
    pub task: TaskSpec,
    pub instruction: String,
    pub context: String,
    /// Commands this role already ran in the session (the Probe never repeats one).
    pub already_run: Vec<String>,
    /// The tools this role's handle can reach.
    pub tools: Vec<ToolDoc>,
}

/// What the Compressor summarises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompressInput {
    pub task: TaskSpec,
    pub instruction: String,
    pub call: ToolCall,
    pub output: ToolOutput,
}

/// Why a policy could not answer.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("model endpoint unavailable: {0}")]
    Unavailable(String),
    #[error("model reply did not parse after a re-ask: {0}")]
    Unparsable(String),
    #[error("policy error: {0}")]
    Other(String),
}

/// A decision maker for the four roles.
#[async_trait]
pub trait Policy: Send {
    /// Short name recorded in trajectories (`builtin`, `llm`, `local`).
    fn name(&self) -> &str;

    /// Called once before the first step of a session.
    fn reset(&mut self, _task: &TaskSpec) {}

    /// The Observer: plan, pick the next role, or submit.
    async fn observe(&mut self, view: &ObserverView) -> Result<Reply<ObserverDecision>, PolicyError>;

    /// The Probe: turn an instruction into one read call.
    async fn probe(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError>;

    /// The Executor: turn an instruction into one write call.
    async fn execute(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError>;

    /// The Compressor: summarise one raw tool output for the Observer.
    async fn compress(&mut self, input: &CompressInput) -> Result<Reply<String>, PolicyError>;
}
