//! The AOI loop: Observer turns, Probe rounds, Executor rounds, and the Compressor after each
//! tool call, recorded step by step into a [`Trajectory`].
//!
//! Safety lives in the handles, not here: the Probe's calls go through [`ReadOnlyTools`], the
//! Executor's through [`GatedWriteTools`]. The session keeps the memory rules: raw tool output
//! is stored on the tool step and read only by the Compressor; the Observer sees the compressed
//! [`ContextEntry`] list only.

use crate::gate::WriteGate;
use crate::tools::{
    GatedWriteTools, ReadOnlyTools, RefusalKind, Refused, ToolRegistry, micros_since,
};
use aoi_core::{
    Access, CompressInput, ContextEntry, NextAction, ObserverView, Policy, PolicyError,
    RoleRequest, SessionOutcome, Step, TaskSpec, TaskType, ToolCall, ToolOutput, Trajectory, Usage,
};
use aoi_core::{GateRecord, Role};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// Called with each step once it is final (a tool step after its summary is attached), in
/// order, so a control plane can persist and stream steps while the session runs. Cloning
/// shares the callback; two hooks always compare equal (the hook is not part of a session's
/// limits).
#[derive(Clone, Default)]
pub struct StepHook(Option<Arc<StepFn>>);

/// The callback a [`StepHook`] holds.
pub type StepFn = dyn Fn(&Step) + Send + Sync;

impl StepHook {
    pub fn new(f: impl Fn(&Step) + Send + Sync + 'static) -> Self {
        StepHook(Some(Arc::new(f)))
    }

    fn call(&self, step: &Step) {
        if let Some(f) = &self.0 {
            f(step);
        }
    }
}

impl fmt::Debug for StepHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "StepHook(set)"
        } else {
            "StepHook(none)"
        })
    }
}

impl PartialEq for StepHook {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for StepHook {}

/// Limits and inputs of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Environment actions (tool calls executed or refused, plus the submit) before the session
    /// stops with `StepBudgetExhausted`.
    pub max_steps: u32,
    /// Observer turns before the session stops.
    pub max_iterations: u32,
    /// Probe attempts a round when a call is refused or repeats an earlier one.
    pub probe_retries: u32,
    /// Lessons from approved corrective signals, shown to the Observer.
    pub lessons: Vec<String>,
    /// The identity writes run as.
    pub actor: String,
    /// Sees each step as soon as it is final (none by default).
    pub on_step: StepHook,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_steps: 30,
            max_iterations: 40,
            probe_retries: 3,
            lessons: Vec::new(),
            actor: "aoi-agent".to_string(),
            on_step: StepHook::default(),
        }
    }
}

/// Runs one session to its end. The caller evaluates the submission, if any.
pub async fn run_session(
    session_id: impl Into<String>,
    policy: &mut dyn Policy,
    tools: &ToolRegistry,
    gate: &dyn WriteGate,
    task: TaskSpec,
    config: &SessionConfig,
) -> Trajectory {
    let started = Instant::now();
    let session_id = session_id.into();
    policy.reset(&task);
    let mut run = Run {
        probe_tools: tools.read_only(),
        write_tools: tools.gated(gate, session_id.clone(), config.actor.clone()),
        config,
        trajectory: Trajectory {
            session_id,
            problem_id: None,
            policy: policy.name().to_string(),
            task,
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
        context: Vec::new(),
        probe_history: Vec::new(),
        executor_history: Vec::new(),
        emitted: 0,
    };
    run.trajectory.outcome = match run.drive(policy).await {
        Ok(outcome) => outcome,
        Err(message) => SessionOutcome::Failed { message },
    };
    run.emit_final_steps();
    run.trajectory.duration_us = micros_since(started);
    run.trajectory
}

/// Why a round stopped the session early.
enum Stop {
    Budget,
    Failed(String),
}

struct Run<'a> {
    probe_tools: ReadOnlyTools,
    write_tools: GatedWriteTools<'a>,
    config: &'a SessionConfig,
    trajectory: Trajectory,
    context: Vec<ContextEntry>,
    probe_history: Vec<(String, u32)>,
    executor_history: Vec<String>,
    /// Steps already handed to `config.on_step`.
    emitted: usize,
}

impl Run<'_> {
    /// Hands the steps recorded since the last call to the step hook. Called at the start of
    /// each Observer turn (every earlier step is final then) and once at the end.
    fn emit_final_steps(&mut self) {
        while let Some(step) = self.trajectory.steps.get(self.emitted) {
            self.config.on_step.call(step);
            self.emitted += 1;
        }
    }

    async fn drive(&mut self, policy: &mut dyn Policy) -> Result<SessionOutcome, String> {
        let executor_available = self.trajectory.task.task_type == TaskType::Mitigation;
        for iteration in 1..=self.config.max_iterations {
            self.emit_final_steps();
            if self.budget_spent() {
                return Ok(SessionOutcome::StepBudgetExhausted);
            }
            let view = ObserverView {
                task: self.trajectory.task.clone(),
                iteration,
                max_iterations: self.config.max_iterations,
                context: self.context.clone(),
                lessons: self.config.lessons.clone(),
                executor_available,
            };
            let timer = Instant::now();
            let reply = policy.observe(&view).await;
            let latency = self.policy_time(timer);
            let reply = match reply {
                Ok(reply) => reply,
                Err(e) => return Err(self.policy_failed(Role::Observer, "plan", latency, e)),
            };
            self.count_usage(reply.usage);
            let decision = reply.value;
            let next = decision.next_action.clone();
            let mut step = self.step(Role::Observer, "plan", reply.usage, latency);
            step.decision = Some(decision);
            step.exchange = reply.exchange;
            let round = match next {
                NextAction::Submit { submission } => {
                    step.action = "submit".to_string();
                    step.submission = Some(submission.clone());
                    self.trajectory.steps.push(step);
                    self.trajectory.actions += 1;
                    self.trajectory.submission = Some(submission);
                    return Ok(SessionOutcome::Submitted);
                }
                NextAction::Probe {
                    instruction,
                    context,
                } => {
                    self.trajectory.steps.push(step);
                    self.probe_round(policy, instruction, context).await
                }
                NextAction::Executor {
                    instruction,
                    context,
                } => {
                    self.trajectory.steps.push(step);
                    if executor_available {
                        self.executor_round(policy, instruction, context).await
                    } else {
                        self.executor_unavailable();
                        Ok(())
                    }
                }
            };
            match round {
                Ok(()) => {}
                Err(Stop::Budget) => return Ok(SessionOutcome::StepBudgetExhausted),
                Err(Stop::Failed(message)) => return Err(message),
            }
        }
        Ok(SessionOutcome::StepBudgetExhausted)
    }

    async fn probe_round(
        &mut self,
        policy: &mut dyn Policy,
        instruction: String,
        context: String,
    ) -> Result<(), Stop> {
        let mut notes = Vec::new();
        for _attempt in 0..self.config.probe_retries.max(1) {
            if self.budget_spent() {
                return Err(Stop::Budget);
            }
            let request = RoleRequest {
                task: self.trajectory.task.clone(),
                instruction: instruction.clone(),
                context: with_notes(&context, &notes),
                already_run: self.probe_history.iter().map(|(c, _)| c.clone()).collect(),
                tools: self.probe_tools.docs(),
            };
            let timer = Instant::now();
            let reply = policy.probe(&request).await;
            let latency = self.policy_time(timer);
            let reply = reply
                .map_err(|e| Stop::Failed(self.policy_failed(Role::Probe, "probe", latency, e)))?;
            self.count_usage(reply.usage);
            let call = reply.value;
            let mut step = self.step(Role::Probe, &call.tool, reply.usage, latency);
            step.tool_call = Some(call.clone());
            step.exchange = reply.exchange;
            self.trajectory.actions += 1;

            let key = command_key(&call);
            let earlier = self
                .probe_history
                .iter()
                .find(|(c, _)| *c == key)
                .map(|(_, i)| *i);
            if let Some(earlier) = earlier {
                let note = format!(
                    "not run again: `{key}` already ran at step {earlier}; its summary is in the context"
                );
                step.error = Some(note.clone());
                self.refused_entry(step, "probe", &call, note.clone());
                notes.push(note);
                continue;
            }
            let read = match self.probe_tools.authorize(call.clone()) {
                Ok(read) => read,
                Err(refused) => {
                    let note = probe_refusal_note(&refused);
                    step.access = (refused.kind == RefusalKind::NotRead).then_some(Access::Write);
                    step.error = Some(refused.to_string());
                    self.refused_entry(step, "probe", &call, note.clone());
                    notes.push(note);
                    continue;
                }
            };
            step.access = Some(Access::Read);
            let timer = Instant::now();
            let output = self.probe_tools.call(&read).await;
            let tool_us = micros_since(timer);
            self.trajectory.tool_us += tool_us;
            step.latency_us += tool_us;
            self.probe_history.push((key, step.index));
            return self
                .compress(policy, step, "probe", &instruction, call, output)
                .await;
        }
        Ok(())
    }

    async fn executor_round(
        &mut self,
        policy: &mut dyn Policy,
        instruction: String,
        context: String,
    ) -> Result<(), Stop> {
        if self.budget_spent() {
            return Err(Stop::Budget);
        }
        let request = RoleRequest {
            task: self.trajectory.task.clone(),
            instruction: instruction.clone(),
            context,
            already_run: self.executor_history.clone(),
            tools: self.write_tools.docs(),
        };
        let timer = Instant::now();
        let reply = policy.execute(&request).await;
        let latency = self.policy_time(timer);
        let reply = reply
            .map_err(|e| Stop::Failed(self.policy_failed(Role::Executor, "execute", latency, e)))?;
        self.count_usage(reply.usage);
        let call = reply.value;
        let mut step = self.step(Role::Executor, &call.tool, reply.usage, latency);
        step.tool_call = Some(call.clone());
        step.exchange = reply.exchange;
        self.trajectory.actions += 1;

        let gate_timer = Instant::now();
        let result = match self.write_tools.call(&call).await {
            Ok(result) => result,
            Err(refused) => {
                step.error = Some(refused.to_string());
                let note = format!("refused before the gate: {}", refused.reason);
                self.refused_entry(step, "executor", &call, note);
                return Ok(());
            }
        };
        step.latency_us += micros_since(gate_timer);
        step.access = Some(result.classified.access);
        step.gate = result.gate.clone();
        self.trajectory.tool_us += result.tool_us;
        let Some(output) = result.output else {
            let note = denial_note(result.gate.as_ref());
            step.error = Some(note.clone());
            self.refused_entry(step, "executor", &call, note);
            return Ok(());
        };
        if result.classified.access == Access::Write {
            self.trajectory.writes += 1;
        }
        self.executor_history.push(command_key(&call));
        self.compress(policy, step, "executor", &instruction, call, output)
            .await
    }

    fn executor_unavailable(&mut self) {
        let task_type = self.trajectory.task.task_type;
        let mut step = self.step(Role::Executor, "refused", Usage::default(), 0);
        let note = format!(
            "refused: the executor is only available in mitigation tasks, and this is a {task_type} task; nothing was run"
        );
        step.error = Some(note.clone());
        self.trajectory.actions += 1;
        self.context.push(ContextEntry {
            step: step.index,
            role: "executor".to_string(),
            action: "(none)".to_string(),
            summary: note,
            ok: false,
        });
        self.trajectory.steps.push(step);
    }

    /// Records a tool step that ran, asks the Compressor for its summary, and adds that summary
    /// (never the raw output) to the Observer's context.
    async fn compress(
        &mut self,
        policy: &mut dyn Policy,
        mut step: Step,
        role: &str,
        instruction: &str,
        call: ToolCall,
        output: ToolOutput,
    ) -> Result<(), Stop> {
        step.raw_observation = Some(output.text.clone());
        let ok = !output.is_error;
        let tool_step = step.index;
        self.trajectory.steps.push(step);
        let input = CompressInput {
            task: self.trajectory.task.clone(),
            instruction: instruction.to_string(),
            call: call.clone(),
            output,
        };
        let timer = Instant::now();
        let reply = policy.compress(&input).await;
        let latency = self.policy_time(timer);
        let reply = reply.map_err(|e| {
            Stop::Failed(self.policy_failed(Role::Compressor, "compress", latency, e))
        })?;
        self.count_usage(reply.usage);
        let summary = reply.value;
        let mut compress_step = self.step(Role::Compressor, "compress", reply.usage, latency);
        compress_step.compressed_observation = Some(summary.clone());
        compress_step.exchange = reply.exchange;
        self.trajectory.steps.push(compress_step);
        if let Some(tool) = self.trajectory.steps.get_mut(tool_step as usize) {
            tool.compressed_observation = Some(summary.clone());
        }
        self.context.push(ContextEntry {
            step: tool_step,
            role: role.to_string(),
            action: call.to_string(),
            summary,
            ok,
        });
        Ok(())
    }

    fn refused_entry(&mut self, step: Step, role: &str, call: &ToolCall, note: String) {
        self.context.push(ContextEntry {
            step: step.index,
            role: role.to_string(),
            action: call.to_string(),
            summary: note,
            ok: false,
        });
        self.trajectory.steps.push(step);
    }

    fn step(&self, role: Role, action: &str, usage: Usage, latency_us: u64) -> Step {
        let index = u32::try_from(self.trajectory.steps.len()).unwrap_or(u32::MAX);
        let mut step = Step::new(index, role, action);
        step.input_tokens = usage.input_tokens;
        step.output_tokens = usage.output_tokens;
        step.latency_us = latency_us;
        step
    }

    fn policy_time(&mut self, started: Instant) -> u64 {
        let us = micros_since(started);
        self.trajectory.policy_us += us;
        us
    }

    fn count_usage(&mut self, usage: Usage) {
        self.trajectory.input_tokens += usage.input_tokens;
        self.trajectory.output_tokens += usage.output_tokens;
    }

    fn budget_spent(&self) -> bool {
        self.trajectory.actions >= self.config.max_steps
    }

    /// Records the failed role step and returns the session's failure message.
    fn policy_failed(
        &mut self,
        role: Role,
        action: &str,
        latency: u64,
        error: PolicyError,
    ) -> String {
        let message = format!("{} failed: {error}", role.as_str());
        let mut step = self.step(role, action, Usage::default(), latency);
        step.error = Some(message.clone());
        self.trajectory.steps.push(step);
        message
    }
}

/// The key two calls are compared by to spot a repeat: the call text with runs of whitespace
/// collapsed.
fn command_key(call: &ToolCall) -> String {
    call.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn with_notes(context: &str, notes: &[String]) -> String {
    if notes.is_empty() {
        return context.to_string();
    }
    let mut text = context.to_string();
    for note in notes {
        text.push_str("\nPrevious attempt: ");
        text.push_str(note);
    }
    text
}

fn probe_refusal_note(refused: &Refused) -> String {
    match refused.kind {
        RefusalKind::NotRead => format!(
            "refused: the probe can only read; nothing was run ({})",
            refused.reason
        ),
        RefusalKind::UnknownTool | RefusalKind::BadArguments => {
            format!("refused: {}; nothing was run", refused.reason)
        }
    }
}

fn denial_note(gate: Option<&GateRecord>) -> String {
    match gate {
        Some(record) => format!(
            "denied by the write gate ({}): {}; the command did not run",
            record.rule, record.reason
        ),
        None => "denied by the write gate; the command did not run".to_string(),
    }
}
