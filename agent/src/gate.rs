//! The write gate: the one place that decides whether a classified write may run.
//!
//! [`WriteGate`] is the port; [`AutoGate`] (bench), [`DenyAllGate`] and [`GuardrailGate`]
//! (rules of auto / ask / deny per action and namespace, with an [`Approver`] for `ask`) are the
//! implementations here. A control plane can put casbin and a real approval queue behind the same
//! trait. Every decision returns a [`GateRecord`], which the trajectory keeps as the audit record.

use aoi_core::{Access, GateOutcome, GateRecord, ToolCall};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One write the Executor wants to run.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequest {
    pub session_id: String,
    pub call: ToolCall,
    pub access: Access,
    /// `kubectl delete`, `kubectl rollout restart`, or the tool name.
    pub action: String,
    pub namespace: Option<String>,
    /// What the call touches, `namespace/kind/name` when the command tells.
    pub resource: String,
    /// The identity the write would run as.
    pub actor: String,
}

/// Decides whether one write may run.
#[async_trait]
pub trait WriteGate: Send + Sync {
    async fn decide(&self, request: &WriteRequest) -> GateRecord;
}

/// Allows every write, as the benchmark does (the twin is disposable).
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoGate;

#[async_trait]
impl WriteGate for AutoGate {
    async fn decide(&self, request: &WriteRequest) -> GateRecord {
        GateRecord {
            outcome: GateOutcome::Allowed,
            rule: "guardrail:auto".to_string(),
            actor: request.actor.clone(),
            reason: format!(
                "auto gate allows {} on {}",
                request.action, request.resource
            ),
        }
    }
}

/// Refuses every write.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAllGate;

#[async_trait]
impl WriteGate for DenyAllGate {
    async fn decide(&self, request: &WriteRequest) -> GateRecord {
        GateRecord {
            outcome: GateOutcome::Denied,
            rule: "guardrail:deny-all".to_string(),
            actor: request.actor.clone(),
            reason: format!("writes are disabled; {} was not run", request.action),
        }
    }
}

/// What a guardrail rule says about matching writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailDecision {
    Auto,
    Ask,
    Deny,
}

/// One guardrail rule. Patterns use `*` as a wildcard; `*` alone matches anything, including a
/// write with no namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardrailRule {
    pub name: String,
    /// Matched against [`WriteRequest::action`], e.g. `kubectl delete`, `kubectl rollout *`.
    pub action: String,
    /// Matched against the namespace, e.g. `test-*`.
    pub namespace: String,
    pub decision: GuardrailDecision,
}

impl GuardrailRule {
    pub fn new(
        name: impl Into<String>,
        action: impl Into<String>,
        namespace: impl Into<String>,
        decision: GuardrailDecision,
    ) -> Self {
        GuardrailRule {
            name: name.into(),
            action: action.into(),
            namespace: namespace.into(),
            decision,
        }
    }

    fn matches(&self, request: &WriteRequest) -> bool {
        let namespace_ok = match &request.namespace {
            Some(ns) => wildcard_match(&self.namespace, ns),
            None => self.namespace == "*",
        };
        namespace_ok && wildcard_match(&self.action, &request.action)
    }
}

/// A person's yes to one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub approver: String,
    pub reason: String,
}

/// Asks a person about a write. `None` means nobody approved in time, which denies it.
/// Implementations own their timeout.
#[async_trait]
pub trait Approver: Send + Sync {
    async fn ask(&self, request: &WriteRequest) -> Option<Approval>;
}

/// Rules of auto / ask / deny by action and namespace; the first matching rule decides, and the
/// default decides when none matches.
pub struct GuardrailGate {
    rules: Vec<GuardrailRule>,
    default: GuardrailDecision,
    approver: Option<Arc<dyn Approver>>,
}

impl GuardrailGate {
    /// `approver` answers `ask` decisions; without one, `ask` is a denial.
    pub fn new(
        rules: Vec<GuardrailRule>,
        default: GuardrailDecision,
        approver: Option<Arc<dyn Approver>>,
    ) -> Self {
        GuardrailGate {
            rules,
            default,
            approver,
        }
    }

    fn decision_for(&self, request: &WriteRequest) -> (String, GuardrailDecision) {
        self.rules
            .iter()
            .find(|rule| rule.matches(request))
            .map_or(("guardrail:default".to_string(), self.default), |rule| {
                (format!("guardrail:{}", rule.name), rule.decision)
            })
    }
}

#[async_trait]
impl WriteGate for GuardrailGate {
    async fn decide(&self, request: &WriteRequest) -> GateRecord {
        let (rule, decision) = self.decision_for(request);
        let what = format!("{} on {}", request.action, request.resource);
        match decision {
            GuardrailDecision::Auto => GateRecord {
                outcome: GateOutcome::Allowed,
                rule,
                actor: request.actor.clone(),
                reason: format!("rule allows {what}"),
            },
            GuardrailDecision::Deny => GateRecord {
                outcome: GateOutcome::Denied,
                rule,
                actor: request.actor.clone(),
                reason: format!("rule denies {what}"),
            },
            GuardrailDecision::Ask => {
                let answer = match &self.approver {
                    Some(approver) => approver.ask(request).await,
                    None => None,
                };
                match answer {
                    Some(approval) => GateRecord {
                        outcome: GateOutcome::Approved,
                        rule,
                        actor: approval.approver,
                        reason: approval.reason,
                    },
                    None => GateRecord {
                        outcome: GateOutcome::Denied,
                        rule,
                        actor: request.actor.clone(),
                        reason: format!("approval needed for {what}; nobody approved in time"),
                    },
                }
            }
        }
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn request(action: &str, namespace: Option<&str>) -> WriteRequest {
        WriteRequest {
            session_id: "s".into(),
            call: ToolCall::exec_shell(format!("{action} x")),
            access: Access::Write,
            action: action.into(),
            namespace: namespace.map(str::to_string),
            resource: "ns/pod/x".into(),
            actor: "aoi-agent".into(),
        }
    }

    struct Yes;
    #[async_trait]
    impl Approver for Yes {
        async fn ask(&self, _: &WriteRequest) -> Option<Approval> {
            Some(Approval {
                approver: "alice".into(),
                reason: "ok".into(),
            })
        }
    }

    #[test]
    fn wildcards_match() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("test-*", "test-hotel"));
        assert!(!wildcard_match("test-*", "prod"));
        assert!(wildcard_match(
            "kubectl rollout *",
            "kubectl rollout restart"
        ));
        assert!(wildcard_match("*-prod", "eu-prod"));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b*c", "axxbyy"));
        assert!(!wildcard_match("ab*ba", "aba"));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exactly"));
    }

    #[tokio::test]
    async fn guardrail_rules_decide_in_order() {
        let gate = GuardrailGate::new(
            vec![
                GuardrailRule::new(
                    "no-ns-delete",
                    "kubectl delete",
                    "*",
                    GuardrailDecision::Deny,
                ),
                GuardrailRule::new(
                    "restarts",
                    "kubectl rollout *",
                    "test-*",
                    GuardrailDecision::Auto,
                ),
                GuardrailRule::new("scale", "kubectl scale", "*", GuardrailDecision::Ask),
            ],
            GuardrailDecision::Deny,
            Some(Arc::new(Yes)),
        );
        let r = gate
            .decide(&request("kubectl delete", Some("test-x")))
            .await;
        assert_eq!(
            (r.outcome, r.rule.as_str()),
            (GateOutcome::Denied, "guardrail:no-ns-delete")
        );
        let r = gate
            .decide(&request("kubectl rollout restart", Some("test-x")))
            .await;
        assert_eq!(r.outcome, GateOutcome::Allowed);
        let r = gate
            .decide(&request("kubectl rollout restart", Some("prod")))
            .await;
        assert_eq!(
            (r.outcome, r.rule.as_str()),
            (GateOutcome::Denied, "guardrail:default")
        );
        let r = gate.decide(&request("kubectl scale", None)).await;
        assert_eq!(
            (r.outcome, r.actor.as_str()),
            (GateOutcome::Approved, "alice")
        );
    }

    #[tokio::test]
    async fn ask_without_an_approver_is_denied() {
        let gate = GuardrailGate::new(vec![], GuardrailDecision::Ask, None);
        let r = gate.decide(&request("kubectl scale", Some("x"))).await;
        assert_eq!(r.outcome, GateOutcome::Denied);
        assert!(r.reason.contains("nobody approved"), "{}", r.reason);
    }
}
