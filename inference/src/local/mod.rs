//! `local`: a small learned policy that runs on the CPU (`aoi bench --policy local --model FILE`).
//!
//! Each Observer turn it builds the candidate next actions from what the tools returned
//! ([`candidates::turn_candidates`]: reads from a library of templates instantiated over the
//! namespace and the services seen so far, writes in mitigation, and "submit now"), scores each
//! with a linear model over named binary features ([`model::LocalModel`]), and samples from the
//! softmax at a temperature (greedy at temperature 0) with a seeded RNG. Choosing "submit now"
//! opens a second decision among the task type's answers ([`candidates::answers`]). Lessons add
//! a fixed bonus to the candidates whose command a lesson quotes in backticks.
//!
//! The Compressor parses every output into the same evidence base the builtin playbook uses
//! ([`crate::builtin::findings::Findings`]) and returns a structured summary. The policy records
//! every decision ([`Decision`]: the candidates' features, the choice, its log-probability) so a
//! trainer can compute GRPO gradients. It sees tool output only: nothing here can read the
//! twin's injected fault or a problem's answer.

pub mod candidates;
pub mod model;

use crate::builtin::diagnose;
use crate::builtin::findings::Findings;
use aoi_core::{
    CompressInput, NextAction, ObserverDecision, ObserverView, Policy, PolicyError, Reply,
    RoleRequest, TaskSpec, ToolCall,
};
use async_trait::async_trait;
use candidates::{Action, Candidate, State};
pub use model::{LocalModel, ModelError, TrainingMeta};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Environment actions after which the policy submits whatever it has (the bench allows 30).
pub const DEFAULT_MAX_ACTIONS: usize = 26;
const MAX_SUMMARY_LINES: usize = 15;

/// One sampled choice, as a trainer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The features of every candidate, in order.
    pub features: Vec<Vec<String>>,
    /// The fixed (not learned) score bonus of every candidate (lessons).
    pub bonus: Vec<f64>,
    /// Index of the chosen candidate.
    pub chosen: usize,
    /// `log pi(chosen)` under the sampling model and temperature (0 when greedy).
    pub logp: f64,
}

/// The softmax scores `(w . x_i + bonus_i) / temperature` of one decision's candidates.
pub fn scaled_scores(
    model: &LocalModel,
    features: &[Vec<String>],
    bonus: &[f64],
    temperature: f64,
) -> Vec<f64> {
    let t = if temperature > 0.0 { temperature } else { 1.0 };
    features
        .iter()
        .zip(bonus.iter().chain(std::iter::repeat(&0.0)))
        .map(|(f, b)| (model.score(f) + b) / t)
        .collect()
}

/// Numerically stable log-softmax (the same formula as `aoi_learning::grpo::log_softmax`).
fn log_softmax(scores: &[f64]) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = scores.iter().map(|s| (s - max).exp()).sum::<f64>().ln() + max;
    scores.iter().map(|s| s - log_sum).collect()
}

/// Backtick-quoted spans of the lessons.
pub fn quoted_commands(lessons: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for lesson in lessons {
        for (i, part) in lesson.split('`').enumerate() {
            let part = part.trim();
            if i % 2 == 1 && !part.is_empty() {
                out.push(part.to_string());
            }
        }
    }
    out
}

/// A command with Deployment pod names (`geo-5d8c9b7f4d-x2x7q`) cut to their Deployment
/// (`geo`), so a lesson drafted on one twin seed matches the same command on another.
fn without_pod_hashes(command: &str) -> String {
    static POD: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b([a-z0-9]+(?:-[a-z0-9]+)*?)-[a-z0-9]{8,10}-[a-z0-9]{5}\b").ok()
    });
    match POD.as_ref() {
        Some(pod) => pod.replace_all(command.trim(), "$1").into_owned(),
        None => command.trim().to_string(),
    }
}

/// Whether a lesson quotes this candidate's command (pod names compared by Deployment).
fn lesson_match(quoted: &[String], command: &str) -> bool {
    let command = without_pod_hashes(command);
    !command.is_empty()
        && quoted.iter().any(|q| {
            let q = without_pod_hashes(q);
            q == command || q.contains(&command)
        })
}

/// The learned local policy.
pub struct LocalPolicy {
    model: Arc<LocalModel>,
    temperature: f64,
    rng: StdRng,
    seed: u64,
    max_actions: usize,
    kb: Findings,
    issued: BTreeSet<String>,
    pending: Option<ToolCall>,
    decisions: Vec<Decision>,
}

impl LocalPolicy {
    /// A policy sampling from `model` at `temperature` (0 = greedy) with an RNG seeded by `seed`.
    pub fn new(model: Arc<LocalModel>, temperature: f64, seed: u64) -> Self {
        LocalPolicy {
            model,
            temperature: temperature.max(0.0),
            rng: StdRng::seed_from_u64(seed),
            seed,
            max_actions: DEFAULT_MAX_ACTIONS,
            kb: Findings::default(),
            issued: BTreeSet::new(),
            pending: None,
            decisions: Vec::new(),
        }
    }

    /// Sets the number of environment actions after which the policy submits.
    pub fn with_max_actions(mut self, max_actions: usize) -> Self {
        self.max_actions = max_actions.max(1);
        self
    }

    /// The decisions of the current session so far.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// Takes the decisions of the session (for a trainer).
    pub fn take_decisions(&mut self) -> Vec<Decision> {
        std::mem::take(&mut self.decisions)
    }

    /// The evidence base the Compressor filled.
    pub fn findings(&self) -> &Findings {
        &self.kb
    }

    fn clear(&mut self) {
        self.kb = Findings::default();
        self.issued.clear();
        self.pending = None;
        self.decisions.clear();
    }

    /// Scores, samples (or takes the argmax) and records one decision.
    fn choose(&mut self, cands: &[Candidate], quoted: &[String]) -> usize {
        let features: Vec<Vec<String>> = cands.iter().map(|c| c.features.clone()).collect();
        let bonus: Vec<f64> = cands
            .iter()
            .map(|c| {
                if lesson_match(quoted, &c.command) {
                    self.model.lesson_bonus
                } else {
                    0.0
                }
            })
            .collect();
        let scores = scaled_scores(&self.model, &features, &bonus, self.temperature);
        let logp = log_softmax(&scores);
        let chosen = if self.temperature > 0.0 {
            let u: f64 = self.rng.random();
            let mut acc = 0.0;
            let mut pick = logp.len().saturating_sub(1);
            for (i, lp) in logp.iter().enumerate() {
                acc += lp.exp();
                if u < acc {
                    pick = i;
                    break;
                }
            }
            pick
        } else {
            let mut best = 0;
            for (i, s) in scores.iter().enumerate() {
                if *s > scores[best] {
                    best = i;
                }
            }
            best
        };
        let lp = if self.temperature > 0.0 {
            logp.get(chosen).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        self.decisions.push(Decision {
            features,
            bonus,
            chosen,
            logp: lp,
        });
        chosen
    }

    fn decide(&mut self, view: &ObserverView) -> ObserverDecision {
        let quoted = quoted_commands(&view.lessons);
        let actions = view.context.len();
        let remaining = view.max_iterations.saturating_sub(view.iteration);
        let fault = diagnose::classify(&self.kb);
        let rca = format!("{fault:?}");
        let forced = actions >= self.max_actions || remaining <= 1;
        let turn = if forced {
            Vec::new()
        } else {
            candidates::turn_candidates(&State {
                task: &view.task,
                kb: &self.kb,
                issued: &self.issued,
                actions,
                executor: view.executor_available,
            })
        };
        let action = if turn.is_empty() {
            Action::SubmitNow
        } else {
            let i = self.choose(&turn, &quoted);
            turn.get(i)
                .map(|c| c.action.clone())
                .unwrap_or(Action::SubmitNow)
        };
        let (phase, next) = match action {
            Action::Probe(call) => ("Diagnosis", self.issue(call, false)),
            Action::Execute(call) => ("Resolution", self.issue(call, true)),
            Action::SubmitNow | Action::Submit(_) => {
                let answers = candidates::answers(&view.task, &self.kb);
                let i = if answers.len() > 1 {
                    self.choose(&answers, &quoted)
                } else {
                    0
                };
                let submission = match answers.get(i).map(|c| &c.action) {
                    Some(Action::Submit(s)) => s.clone(),
                    _ => aoi_core::Submission::Mitigation,
                };
                ("Submit", NextAction::Submit { submission })
            }
        };
        ObserverDecision {
            previous_iteration_summary: format!("{} calls so far", self.issued.len()),
            current_phase: phase.to_string(),
            root_cause_analysis: rca,
            confidence: 50,
            next_action: next,
        }
    }

    fn issue(&mut self, call: ToolCall, write: bool) -> NextAction {
        self.issued.insert(call.to_string());
        let instruction = serde_json::to_string(&call).unwrap_or_else(|_| call.to_string());
        self.pending = Some(call);
        let context = "chosen by the local policy".to_string();
        if write {
            NextAction::Executor {
                instruction,
                context,
            }
        } else {
            NextAction::Probe {
                instruction,
                context,
            }
        }
    }

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
impl Policy for LocalPolicy {
    fn name(&self) -> &str {
        "local"
    }

    fn reset(&mut self, _task: &TaskSpec) {
        self.clear();
        self.rng = StdRng::seed_from_u64(self.seed);
    }

    async fn observe(
        &mut self,
        view: &ObserverView,
    ) -> Result<Reply<ObserverDecision>, PolicyError> {
        if view.context.is_empty() && !self.issued.is_empty() {
            self.clear();
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
        let mut lines: Vec<String> = summary
            .lines()
            .take(MAX_SUMMARY_LINES)
            .map(str::to_string)
            .collect();
        let ev = candidates::evidence(&self.kb);
        if !ev.is_empty() {
            let parts: Vec<String> = ev
                .iter()
                .take(8)
                .map(|(svc, kinds)| {
                    format!(
                        "{svc}[{}]",
                        kinds.iter().copied().collect::<Vec<_>>().join(",")
                    )
                })
                .collect();
            lines.push(format!("evidence: {}", parts.join(" ")));
        }
        Ok(Reply::free(lines.join("\n")))
    }
}

#[cfg(test)]
mod tests;
