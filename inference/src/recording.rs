//! Model exchanges for policies that make no model call: [`recorded`] wraps any policy so that
//! every reply carries a [`ModelExchange`] shaped like the one the `llm` policy would have
//! recorded for the same answer (its prompts, redacted; the reply text its parser accepts). A
//! rule-based teacher's trajectories then train a model the same way an `llm` rollout does.
//!
//! [`render_decision`], [`render_tool_call`] and [`observer_prompt`] are the pieces, public for
//! dataset builders that turn recorded decisions into chat examples.

use crate::privacy::{RedactionPolicy, Redactor};
use crate::prompts;
use aoi_core::{
    ChatMessage, CompressInput, ModelExchange, NextAction, ObserverDecision, ObserverView, Policy,
    PolicyError, Reply, RoleRequest, Submission, TaskSpec, ToolCall,
};
use async_trait::async_trait;
use serde_json::{Value, json};

/// The Observer reply text the `llm` parser ([`crate::llm::parse::observer_decision`]) reads
/// back as `decision`: the reply schema's JSON object, `submission` null unless submitting.
/// A decision the parser would reject (a confidence over 100, a Probe or Executor with an empty
/// instruction) renders as is and is rejected on the way back, as a model's would be.
pub fn render_decision(decision: &ObserverDecision) -> String {
    let next_action = match &decision.next_action {
        NextAction::Probe {
            instruction,
            context,
        } => json!({
            "kind": "probe",
            "instruction": instruction,
            "context": context,
            "submission": null,
        }),
        NextAction::Executor {
            instruction,
            context,
        } => json!({
            "kind": "executor",
            "instruction": instruction,
            "context": context,
            "submission": null,
        }),
        NextAction::Submit { submission } => json!({
            "kind": "submit",
            "instruction": "",
            "context": "",
            "submission": submission_value(submission),
        }),
    };
    json!({
        "previous_iteration_summary": decision.previous_iteration_summary,
        "current_phase": decision.current_phase,
        "root_cause_analysis": decision.root_cause_analysis,
        "confidence": decision.confidence,
        "next_action": next_action,
    })
    .to_string()
}

/// A submission in the reply schema's shape for its task type.
fn submission_value(submission: &Submission) -> Value {
    match submission {
        Submission::Detection { anomaly } => {
            json!({"anomaly": if *anomaly { "Yes" } else { "No" }})
        }
        Submission::Localization { services } => json!({"services": services}),
        Submission::Analysis {
            system_level,
            fault_type,
        } => json!({
            "system_level": system_level.as_str(),
            "fault_type": fault_type.as_str(),
        }),
        Submission::Mitigation => Value::Null,
    }
}

/// The Probe or Executor reply text the `llm` parser ([`crate::llm::parse::tool_call`]) reads
/// back as `call`: `{"tool": ..., "args": {...}}`.
pub fn render_tool_call(call: &ToolCall) -> String {
    json!({"tool": call.tool, "args": call.args}).to_string()
}

/// The Compressor reply text the `llm` parser ([`crate::llm::parse::summary`]) reads back as
/// `summary`.
pub fn render_summary(summary: &str) -> String {
    json!({ "summary": summary }).to_string()
}

/// The Observer's system and user messages exactly as the `llm` policy builds them, before
/// redaction.
pub fn observer_prompt(view: &ObserverView) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(prompts::observer_system(view)),
        ChatMessage::user(prompts::observer_user(view)),
    ]
}

/// The Probe's system and user messages as the `llm` policy builds them, before redaction.
pub fn probe_prompt(request: &RoleRequest) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(prompts::probe_system(request)),
        ChatMessage::user(prompts::probe_user(request)),
    ]
}

/// The Executor's system and user messages as the `llm` policy builds them, before redaction.
pub fn executor_prompt(request: &RoleRequest) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(prompts::executor_system(request)),
        ChatMessage::user(prompts::executor_user(request)),
    ]
}

/// The Compressor's system and user messages as the `llm` policy builds them, before redaction.
pub fn compressor_prompt(input: &CompressInput) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(prompts::compressor_system()),
        ChatMessage::user(prompts::compressor_user(input)),
    ]
}

/// `inner`, with every reply carrying a model exchange: the inner policy's own when it recorded
/// one, otherwise the `llm` policy's prompts for the request and the answer rendered as the reply
/// text its parser accepts, both redacted (secrets only) with placeholders stable for a session.
/// Such an exchange has no logprobs and no temperature. The name is the inner policy's.
pub fn recorded(inner: Box<dyn Policy>) -> Box<dyn Policy> {
    Box::new(Recorded {
        inner,
        redactor: Redactor::new(RedactionPolicy::secrets_only()),
    })
}

/// See [`recorded`].
struct Recorded {
    inner: Box<dyn Policy>,
    /// This session's placeholders; replaced on each reset.
    redactor: Redactor,
}

impl Recorded {
    /// `reply`, with the exchange built from `prompt` and `completion` when it has none.
    fn fill<T>(
        &mut self,
        mut reply: Reply<T>,
        prompt: impl FnOnce() -> Vec<ChatMessage>,
        completion: impl FnOnce(&T) -> String,
    ) -> Reply<T> {
        if reply.exchange.is_none() {
            let prompt = prompt()
                .into_iter()
                .map(|message| ChatMessage {
                    role: message.role,
                    content: self.redactor.redact(&message.content),
                })
                .collect();
            let completion = self.redactor.redact(&completion(&reply.value));
            reply.exchange = Some(ModelExchange {
                prompt,
                completion,
                logprobs: None,
                temperature: None,
            });
        }
        reply
    }
}

#[async_trait]
impl Policy for Recorded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn reset(&mut self, task: &TaskSpec) {
        self.redactor = Redactor::new(RedactionPolicy::secrets_only());
        self.inner.reset(task);
    }

    async fn observe(
        &mut self,
        view: &ObserverView,
    ) -> Result<Reply<ObserverDecision>, PolicyError> {
        let reply = self.inner.observe(view).await?;
        Ok(self.fill(reply, || observer_prompt(view), render_decision))
    }

    async fn probe(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
        let reply = self.inner.probe(request).await?;
        Ok(self.fill(reply, || probe_prompt(request), render_tool_call))
    }

    async fn execute(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
        let reply = self.inner.execute(request).await?;
        Ok(self.fill(reply, || executor_prompt(request), render_tool_call))
    }

    async fn compress(&mut self, input: &CompressInput) -> Result<Reply<String>, PolicyError> {
        let reply = self.inner.compress(input).await?;
        Ok(self.fill(reply, || compressor_prompt(input), |s| render_summary(s)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::llm::parse;
    use aoi_core::{Access, FaultType, SystemLevel, TaskType, ToolDoc};

    fn decision(next_action: NextAction) -> ObserverDecision {
        ObserverDecision {
            previous_iteration_summary: "pods listed; \"geo\" restarts".into(),
            current_phase: "Diagnosis".into(),
            root_cause_analysis: "geo cannot reach mongodb\nline two".into(),
            confidence: 65,
            next_action,
        }
    }

    fn round_trip(d: &ObserverDecision, task_type: TaskType, executor: bool) {
        let text = render_decision(d);
        assert_eq!(
            &parse::observer_decision(&text, task_type, executor).unwrap(),
            d,
            "{text}"
        );
    }

    #[test]
    fn every_decision_kind_round_trips_through_the_llm_parser() {
        let probe = NextAction::Probe {
            instruction: "describe pod geo".into(),
            context: "ns test-hotel-reservation".into(),
        };
        round_trip(&decision(probe), TaskType::Detection, false);
        let executor = NextAction::Executor {
            instruction: "restart geo".into(),
            context: String::new(),
        };
        round_trip(&decision(executor), TaskType::Mitigation, true);
        let submissions = [
            (Submission::Detection { anomaly: true }, TaskType::Detection),
            (
                Submission::Detection { anomaly: false },
                TaskType::Detection,
            ),
            (
                Submission::Localization {
                    services: vec!["geo".into(), "mongodb-geo".into()],
                },
                TaskType::Localization,
            ),
            (
                Submission::Analysis {
                    system_level: SystemLevel::OperatingSystem,
                    fault_type: FaultType::NetworkStorageIssue,
                },
                TaskType::Analysis,
            ),
            (Submission::Mitigation, TaskType::Mitigation),
        ];
        for (submission, task_type) in submissions {
            let d = decision(NextAction::Submit { submission });
            round_trip(&d, task_type, task_type == TaskType::Mitigation);
        }
        for (level, fault) in SystemLevel::ALL.into_iter().zip(FaultType::ALL) {
            let submission = Submission::Analysis {
                system_level: level,
                fault_type: fault,
            };
            round_trip(
                &decision(NextAction::Submit { submission }),
                TaskType::Analysis,
                false,
            );
        }
    }

    #[test]
    fn tool_calls_and_summaries_round_trip_through_the_llm_parser() {
        let tools = vec![
            ToolDoc {
                name: "exec_shell".into(),
                description: String::new(),
                access: Access::Read,
            },
            ToolDoc {
                name: "get_logs".into(),
                description: String::new(),
                access: Access::Read,
            },
        ];
        let shell = ToolCall::exec_shell("kubectl get pods -n x -o 'jsonpath={.items[*]}'");
        assert_eq!(
            parse::tool_call(&render_tool_call(&shell), &tools).unwrap(),
            shell
        );
        let logs = ToolCall::get_logs("x", "geo").arg("tail", 50);
        assert_eq!(
            parse::tool_call(&render_tool_call(&logs), &tools).unwrap(),
            logs
        );
        let summary = "3 pods, geo \"CrashLoopBackOff\"\n{not json}";
        assert_eq!(parse::summary(&render_summary(summary)).unwrap(), summary);
    }

    #[test]
    fn the_observer_prompt_is_the_llm_policys() {
        let view = ObserverView {
            task: TaskSpec {
                task_type: TaskType::Detection,
                app_name: "Hotel Reservation".into(),
                namespace: "test-hotel-reservation".into(),
                app_description: "hotel booking".into(),
                instructions: "Is there an anomaly?".into(),
            },
            iteration: 2,
            max_iterations: 10,
            context: vec![],
            lessons: vec!["check events first".into()],
            executor_available: false,
        };
        let prompt = observer_prompt(&view);
        assert_eq!(
            prompt,
            vec![
                ChatMessage::system(prompts::observer_system(&view)),
                ChatMessage::user(prompts::observer_user(&view)),
            ]
        );
        assert_eq!(prompt[0].role, aoi_core::ChatRole::System);
        assert!(
            prompt[1].content.contains("check events first")
                || prompt[0].content.contains("check events first")
        );
    }
}
