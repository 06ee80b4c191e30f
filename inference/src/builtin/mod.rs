//! `builtin`: the deterministic SRE playbook policy (`aoi bench --policy builtin`).
//!
//! It decides only from what the tools returned. The Compressor parses every raw output into a
//! knowledge base ([`findings::Findings`]); the Observer walks a playbook over that knowledge
//! ([`playbook::wanted`]: discovery, then diagnosis that follows the evidence), classifies the
//! fault ([`diagnose::classify`]) and submits, or, for mitigation, has the Executor run the fix
//! ([`fix::plan`]), the Probe verify, and then submits. The Probe and the Executor return the exact
//! call the Observer put in its instruction (a JSON [`ToolCall`]). No randomness: the same
//! observations give the same decisions.

pub mod diagnose;
pub mod findings;
pub mod fix;
pub mod parse;
pub mod playbook;
pub mod telemetry;

use aoi_core::{
    CompressInput, NextAction, ObserverDecision, ObserverView, Policy, PolicyError, Reply,
    RoleRequest, Submission, TaskSpec, TaskType, ToolCall,
};
use async_trait::async_trait;
use diagnose::Fault;
use findings::Findings;
use std::collections::BTreeSet;

/// Where a mitigation stands.
#[derive(Debug, Clone, Default, PartialEq)]
enum Stage {
    #[default]
    Diagnose,
    /// Fix commands left to run (first = next).
    Fixing(Vec<String>),
    /// Verification rounds done so far.
    Verifying(u32),
}

/// The built-in SRE playbook.
#[derive(Debug, Default)]
pub struct BuiltinPolicy {
    kb: Findings,
    issued: BTreeSet<String>,
    pending: Option<ToolCall>,
    stage: Stage,
    fault: Option<Fault>,
    cleaned: bool,
}

fn key(call: &ToolCall) -> String {
    call.to_string()
}

fn encode(call: &ToolCall) -> String {
    serde_json::to_string(call).unwrap_or_else(|_| call.to_string())
}

const MAX_SUMMARY_LINES: usize = 15;

impl BuiltinPolicy {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the Compressor has learned so far (for tests and tuning).
    pub fn findings(&self) -> &Findings {
        &self.kb
    }

    /// The current classification of the evidence.
    pub fn diagnosis(&self) -> Fault {
        diagnose::classify(&self.kb)
    }

    fn decision(
        &mut self,
        phase: &str,
        rca: String,
        confidence: u8,
        next: NextAction,
    ) -> ObserverDecision {
        if let NextAction::Probe { instruction, .. } | NextAction::Executor { instruction, .. } =
            &next
            && let Ok(call) = serde_json::from_str::<ToolCall>(instruction)
        {
            self.issued.insert(key(&call));
            self.pending = Some(call);
        }
        ObserverDecision {
            previous_iteration_summary: format!("{} calls so far", self.issued.len()),
            current_phase: phase.to_string(),
            root_cause_analysis: rca,
            confidence,
            next_action: next,
        }
    }

    fn probe_action(call: &ToolCall, why: &str) -> NextAction {
        NextAction::Probe {
            instruction: encode(call),
            context: why.to_string(),
        }
    }

    fn submission(&self, task: &TaskSpec, fault: &Fault) -> Submission {
        match task.task_type {
            TaskType::Detection => Submission::Detection {
                anomaly: fault.is_fault(),
            },
            TaskType::Localization => Submission::Localization {
                services: fault.service().into_iter().collect(),
            },
            TaskType::Analysis => {
                let (system_level, fault_type) = fault.analysis();
                Submission::Analysis {
                    system_level,
                    fault_type,
                }
            }
            TaskType::Mitigation => Submission::Mitigation,
        }
    }

    fn next_unissued(&self, wants: Vec<playbook::Want>) -> Option<playbook::Want> {
        wants
            .into_iter()
            .find(|w| !self.issued.contains(&key(&w.call)))
    }

    fn decide(&mut self, view: &ObserverView) -> ObserverDecision {
        let ns = view.task.namespace.clone();
        let remaining = view.max_iterations.saturating_sub(view.iteration);
        let mitigation = view.task.task_type == TaskType::Mitigation && view.executor_available;
        match self.stage.clone() {
            Stage::Diagnose => {
                let fault = diagnose::classify(&self.kb);
                let reserve = if mitigation {
                    fix::plan(&self.kb, &ns, &fault).len() as u32 + 3
                } else {
                    1
                };
                if remaining > reserve
                    && let Some(w) = self.next_unissued(playbook::wanted(&self.kb, &ns))
                {
                    let phase = if self.issued.len() < 5 {
                        "Discovery"
                    } else {
                        "Diagnosis"
                    };
                    let next = Self::probe_action(&w.call, &w.why);
                    return self.decision(phase, format!("so far: {fault:?}"), 40, next);
                }
                self.fault = Some(fault.clone());
                if mitigation {
                    let plan: Vec<String> = fix::plan(&self.kb, &ns, &fault)
                        .into_iter()
                        .filter(|c| !self.issued.contains(&key(&ToolCall::exec_shell(c.clone()))))
                        .collect();
                    if plan.is_empty() {
                        self.stage = Stage::Verifying(0);
                    } else {
                        self.stage = Stage::Fixing(plan);
                    }
                    return self.decide(view);
                }
                let sub = self.submission(&view.task, &fault);
                self.decision(
                    "Submit",
                    format!("{fault:?}"),
                    85,
                    NextAction::Submit { submission: sub },
                )
            }
            Stage::Fixing(mut cmds) => {
                let fault = self.fault.clone().unwrap_or(Fault::None);
                if cmds.is_empty() || remaining <= 2 {
                    self.stage = Stage::Verifying(0);
                    return self.decide(view);
                }
                let cmd = cmds.remove(0);
                self.stage = Stage::Fixing(cmds);
                let call = ToolCall::exec_shell(cmd);
                let next = NextAction::Executor {
                    instruction: encode(&call),
                    context: format!("fix {fault:?}"),
                };
                self.decision("Resolution", format!("{fault:?}"), 80, next)
            }
            Stage::Verifying(round) => {
                let fault = self.fault.clone().unwrap_or(Fault::None);
                let checks = [
                    format!("kubectl get pods -n {ns}"),
                    format!("kubectl get pods --namespace {ns}"),
                    format!("kubectl get pods --namespace={ns} -o wide"),
                ];
                let fixed_anything = !self.kb.writes.is_empty();
                if round == 1 && !self.cleaned && remaining > 2 {
                    let cleanup: Vec<String> = fix::cleanup(&self.kb, &ns)
                        .into_iter()
                        .filter(|c| !self.issued.contains(&key(&ToolCall::exec_shell(c.clone()))))
                        .collect();
                    if !cleanup.is_empty() {
                        self.cleaned = true;
                        self.stage = Stage::Fixing(cleanup);
                        return self.decide(view);
                    }
                }
                let healthy = self
                    .kb
                    .pods
                    .iter()
                    .all(|p| p.healthy() || p.status == "Completed");
                let want_more = fixed_anything && (round == 0 || (!healthy && round < 2));
                if want_more && remaining > 1 {
                    let check = checks
                        .into_iter()
                        .find(|c| !self.issued.contains(&key(&ToolCall::exec_shell(c.clone()))));
                    if let Some(c) = check {
                        self.stage = Stage::Verifying(round + 1);
                        let next = Self::probe_action(&ToolCall::exec_shell(c), "verify the fix");
                        return self.decision("Verification", format!("{fault:?}"), 80, next);
                    }
                }
                self.decision(
                    "Submit",
                    format!("{fault:?}"),
                    80,
                    NextAction::Submit {
                        submission: Submission::Mitigation,
                    },
                )
            }
        }
    }

    /// The call an instruction carries, else the pending one, else a safe read.
    fn role_call(&mut self, request: &RoleRequest) -> ToolCall {
        let call = serde_json::from_str::<ToolCall>(&request.instruction)
            .ok()
            .or_else(|| self.pending.take())
            .unwrap_or_else(|| {
                ToolCall::exec_shell(format!("kubectl get pods -n {}", request.task.namespace))
            });
        self.pending = None;
        call
    }
}

#[async_trait]
impl Policy for BuiltinPolicy {
    fn name(&self) -> &str {
        "builtin"
    }

    fn reset(&mut self, _task: &TaskSpec) {
        *self = BuiltinPolicy::new();
    }

    async fn observe(
        &mut self,
        view: &ObserverView,
    ) -> Result<Reply<ObserverDecision>, PolicyError> {
        if view.context.is_empty() && !self.issued.is_empty() {
            *self = BuiltinPolicy::new();
        }
        Ok(Reply::free(self.decide(view)))
    }

    async fn probe(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
        Ok(Reply::free(self.role_call(request)))
    }

    async fn execute(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
        Ok(Reply::free(self.role_call(request)))
    }

    async fn compress(&mut self, input: &CompressInput) -> Result<Reply<String>, PolicyError> {
        let summary = self
            .kb
            .ingest(&input.call, &input.output.text, input.output.is_error);
        let clipped: Vec<&str> = summary.lines().take(MAX_SUMMARY_LINES).collect();
        Ok(Reply::free(clipped.join("\n")))
    }
}

#[cfg(test)]
mod reasoning_tests;
#[cfg(test)]
mod tests;
