//! Test doubles for the agent loop: a toolset that records what reached it and a policy that
//! replays a script. Used by this crate's tests and by callers' tests; not for production.

use aoi_core::{
    Access, ChatMessage, CompressInput, ModelExchange, NextAction, ObserverDecision, ObserverView,
    Policy, PolicyError, Reply, RoleRequest, Submission, ToolCall, ToolOutput, Usage,
};
use aoi_plugin_sdk::{CallContext, Classifier, ToolManifest, Toolset};
use async_trait::async_trait;
use serde_json::json;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// AIOpsLab's tools as manifests: `exec_shell` (write, kubectl-classified), the telemetry reads,
/// and one plain write tool (`restart_service`).
pub fn aiopslab_manifests() -> Vec<ToolManifest> {
    let read =
        |name: &str, resource: &str, props: serde_json::Value, required: &[&str]| ToolManifest {
            name: name.to_string(),
            description: format!("{name} (test double)"),
            args_schema: json!({"type": "object", "properties": props, "required": required}),
            access: Access::Read,
            classifier: None,
            resource: resource.to_string(),
        };
    vec![
        ToolManifest {
            name: "exec_shell".into(),
            description: "Run a shell command against the cluster.".into(),
            args_schema: json!({"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}),
            access: Access::Write,
            classifier: Some(Classifier::KubectlShell {
                arg: "command".into(),
            }),
            resource: "kubernetes".into(),
        },
        read(
            "get_logs",
            "logs",
            json!({"namespace": {"type": "string"}, "service": {"type": "string"}}),
            &["namespace", "service"],
        ),
        read(
            "get_metrics",
            "metrics",
            json!({"namespace": {"type": "string"}, "duration": {"type": "integer"}}),
            &["namespace", "duration"],
        ),
        ToolManifest {
            name: "restart_service".into(),
            description: "Restart a service.".into(),
            args_schema: json!({"type": "object", "properties": {"namespace": {"type": "string"}, "service": {"type": "string"}}, "required": ["namespace", "service"]}),
            access: Access::Write,
            classifier: None,
            resource: "kubernetes".into(),
        },
    ]
}

/// A toolset that records every call that reached it and answers from a table by tool name.
pub struct RecordingToolset {
    manifests: Vec<ToolManifest>,
    outputs: BTreeMap<String, String>,
    calls: Mutex<Vec<ToolCall>>,
    contexts: Mutex<Vec<CallContext>>,
}

impl RecordingToolset {
    pub fn new(manifests: Vec<ToolManifest>) -> Self {
        RecordingToolset {
            manifests,
            outputs: BTreeMap::new(),
            calls: Mutex::new(Vec::new()),
            contexts: Mutex::new(Vec::new()),
        }
    }

    /// Answers calls of `tool` with `text` (others get `ok: <call>`).
    pub fn with_output(mut self, tool: &str, text: &str) -> Self {
        self.outputs.insert(tool.to_string(), text.to_string());
        self
    }

    /// Every call that reached this toolset, in order.
    pub fn calls(&self) -> Vec<ToolCall> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The context of every call made through `call_with` (the Executor's handle), in order.
    pub fn contexts(&self) -> Vec<CallContext> {
        self.contexts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[async_trait]
impl Toolset for RecordingToolset {
    fn manifests(&self) -> Vec<ToolManifest> {
        self.manifests.clone()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(call.clone());
        match self.outputs.get(&call.tool) {
            Some(text) => ToolOutput::ok(text.clone()),
            None => ToolOutput::ok(format!("ok: {call}")),
        }
    }

    async fn call_with(&self, call: &ToolCall, context: &CallContext) -> ToolOutput {
        self.contexts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(context.clone());
        self.call(call).await
    }
}

/// A policy that replays fixed decisions and calls, and records what each role was shown.
#[derive(Default)]
pub struct ScriptedPolicy {
    pub decisions: VecDeque<ObserverDecision>,
    pub probe_calls: VecDeque<ToolCall>,
    pub execute_calls: VecDeque<ToolCall>,
    pub views: Vec<ObserverView>,
    pub role_requests: Vec<RoleRequest>,
    pub compress_inputs: Vec<CompressInput>,
    /// Attach [`scripted_exchange`] to every reply (off by default).
    pub record_exchanges: bool,
    /// Replies given so far, all roles together (numbers the exchanges).
    pub replies: u32,
}

/// What each scripted reply reports as its cost.
pub const SCRIPTED_USAGE: Usage = Usage {
    input_tokens: 10,
    output_tokens: 5,
    model_calls: 1,
    parse_errors: 0,
};

impl ScriptedPolicy {
    pub fn new(decisions: Vec<NextAction>) -> Self {
        ScriptedPolicy {
            decisions: decisions.into_iter().map(decision).collect(),
            ..ScriptedPolicy::default()
        }
    }

    pub fn with_probe_calls(mut self, calls: Vec<ToolCall>) -> Self {
        self.probe_calls = calls.into();
        self
    }

    pub fn with_execute_calls(mut self, calls: Vec<ToolCall>) -> Self {
        self.execute_calls = calls.into();
        self
    }

    /// Every reply carries [`scripted_exchange`] for its role and number.
    pub fn with_exchanges(mut self) -> Self {
        self.record_exchanges = true;
        self
    }

    fn reply<T>(
        &mut self,
        value: Option<T>,
        role: &str,
        what: &str,
    ) -> Result<Reply<T>, PolicyError> {
        let mut reply = scripted(value, what)?;
        if self.record_exchanges {
            reply = reply.with_exchange(scripted_exchange(role, self.replies));
        }
        self.replies += 1;
        Ok(reply)
    }
}

/// The exchange a [`ScriptedPolicy`] with exchanges attaches to its reply number `n` (counted
/// from 0 over all roles) for `role` (`observer`, `probe`, `executor`, `compressor`).
pub fn scripted_exchange(role: &str, n: u32) -> ModelExchange {
    ModelExchange {
        prompt: vec![
            ChatMessage::system(format!("you are the {role}")),
            ChatMessage::user(format!("request {n}")),
        ],
        completion: format!("{role} reply {n}"),
        logprobs: Some(vec![-0.5, -0.25]),
        temperature: Some(0.7),
    }
}

/// An Observer decision around `next_action`.
pub fn decision(next_action: NextAction) -> ObserverDecision {
    ObserverDecision {
        previous_iteration_summary: "scripted".into(),
        current_phase: "Diagnosis".into(),
        root_cause_analysis: "scripted".into(),
        confidence: 50,
        next_action,
    }
}

pub fn probe(instruction: &str) -> NextAction {
    NextAction::Probe {
        instruction: instruction.into(),
        context: String::new(),
    }
}

pub fn executor(instruction: &str) -> NextAction {
    NextAction::Executor {
        instruction: instruction.into(),
        context: String::new(),
    }
}

pub fn submit(submission: Submission) -> NextAction {
    NextAction::Submit { submission }
}

fn scripted<T>(value: Option<T>, what: &str) -> Result<Reply<T>, PolicyError> {
    value
        .map(|value| Reply {
            value,
            usage: SCRIPTED_USAGE,
            exchange: None,
        })
        .ok_or_else(|| PolicyError::Other(format!("script has no more {what}")))
}

#[async_trait]
impl Policy for ScriptedPolicy {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn observe(
        &mut self,
        view: &ObserverView,
    ) -> Result<Reply<ObserverDecision>, PolicyError> {
        self.views.push(view.clone());
        let next = self.decisions.pop_front();
        self.reply(next, "observer", "observer decisions")
    }

    async fn probe(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
        self.role_requests.push(request.clone());
        let next = self.probe_calls.pop_front();
        self.reply(next, "probe", "probe calls")
    }

    async fn execute(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
        self.role_requests.push(request.clone());
        let next = self.execute_calls.pop_front();
        self.reply(next, "executor", "executor calls")
    }

    async fn compress(&mut self, input: &CompressInput) -> Result<Reply<String>, PolicyError> {
        self.compress_inputs.push(input.clone());
        let head: String = input.output.text.chars().take(200).collect();
        self.reply(Some(format!("summary: {head}")), "compressor", "summaries")
    }
}
