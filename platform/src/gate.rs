//! The write gate of platform sessions: the tenant's guardrails decide auto | ask | deny for
//! each Executor write; `ask` becomes a pending approval a person decides.
//!
//! Rules come from the store (action pattern x namespace pattern x service pattern, `*`
//! wildcards, highest priority first). The service is the name in the write's resource
//! (`namespace/kind/name`). When no rule matches, the default is `ask`, for real environments
//! (`guardrails.default_real` may change that) and also for tenant twin environments: a twin a
//! tenant created is for demos and training, where the approval flow is the point. The
//! benchmark does not run through the platform; it uses `AutoGate`. A tenant that wants its
//! twins unattended adds an `auto` rule.
//!
//! While an approval is pending the session is `waiting_approval` and the incident
//! `awaiting_approval`; the gate polls the store every `poll` until the approval is decided or
//! its deadline (`approvals.timeout_secs`) passes, which expires it and denies the write. An
//! approved write runs with the approver as the acting identity. Every decision is audited.

use std::time::Duration;

use aoi_agent::gate::wildcard_match;
use aoi_agent::{WriteGate, WriteRequest};
use aoi_control::config::GuardrailMode;
use aoi_core::{GateOutcome, GateRecord};
use aoi_store::{
    ApprovalStatus, EnvironmentKind, Guardrail, GuardrailDecision, IncidentState, NewApproval,
    TenantId,
};
use async_trait::async_trait;
use uuid::Uuid;

use crate::Platform;
use crate::events::LiveEvent;
use crate::sessions::{audit, publish_incident_state};

/// The gate of one session run by one worker.
pub struct PlatformGate {
    pub platform: Platform,
    pub tenant: TenantId,
    pub session_id: Uuid,
    pub incident_id: Uuid,
    pub environment: EnvironmentKind,
    /// The worker holding the session's lease.
    pub worker: String,
    /// How often a pending approval is checked.
    pub poll: Duration,
}

/// The service a write touches: the last part of `namespace/kind/name`, or empty.
fn service_of(request: &WriteRequest) -> String {
    request
        .resource
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The first matching rule's decision and its name, or the default.
pub fn decide_by_rules(
    rules: &[Guardrail],
    default: GuardrailDecision,
    request: &WriteRequest,
) -> (String, GuardrailDecision) {
    let service = service_of(request);
    let namespace = request.namespace.clone().unwrap_or_default();
    rules
        .iter()
        .find(|r| {
            wildcard_match(&r.action_pattern, &request.action)
                && (r.namespace_pattern == "*" || wildcard_match(&r.namespace_pattern, &namespace))
                && (r.service_pattern == "*" || wildcard_match(&r.service_pattern, &service))
        })
        .map_or(("guardrail:default".to_owned(), default), |r| {
            (format!("guardrail:{}", r.id), r.decision)
        })
}

impl PlatformGate {
    fn default_decision(&self) -> GuardrailDecision {
        match self.environment {
            EnvironmentKind::Twin => GuardrailDecision::Ask,
            // An external cluster is a real one: its writes follow the same default.
            EnvironmentKind::Kubernetes | EnvironmentKind::External => {
                match self.platform.config.guardrails.default_real {
                    GuardrailMode::Auto => GuardrailDecision::Auto,
                    GuardrailMode::Ask => GuardrailDecision::Ask,
                    GuardrailMode::Deny => GuardrailDecision::Deny,
                }
            }
        }
    }

    fn publish(&self, kind: &str, payload: serde_json::Value) {
        self.platform.events.publish(LiveEvent {
            tenant_id: self.tenant.as_uuid(),
            session_id: Some(self.session_id),
            incident_id: Some(self.incident_id),
            kind: kind.to_owned(),
            payload,
        });
    }

    async fn move_incident(&self, to: IncidentState) {
        match self
            .platform
            .store
            .update_incident_state(self.tenant, self.incident_id, to)
            .await
        {
            Ok(_) => publish_incident_state(&self.platform, self.tenant, self.incident_id, to),
            Err(e) => tracing::warn!(incident = %self.incident_id, error = %e, "incident state not changed"),
        }
    }

    async fn set_waiting(&self, waiting: bool) {
        match self
            .platform
            .store
            .set_session_waiting(self.tenant, self.session_id, &self.worker, waiting)
            .await
        {
            Ok(s) => crate::sessions::publish_session_state(&self.platform, &s),
            Err(e) => tracing::warn!(session = %self.session_id, error = %e, "session waiting state not changed"),
        }
    }

    /// Creates the approval, waits for its decision; `None` when denied, expired or lost.
    async fn ask(&self, request: &WriteRequest, rule: &str) -> Result<(String, String), String> {
        let store = &self.platform.store;
        let timeout = self.platform.config.approvals.timeout_secs;
        let deadline = chrono::Utc::now()
            + chrono::Duration::seconds(i64::try_from(timeout).unwrap_or(i64::MAX / 2_000));
        let body = serde_json::json!({
            "tool_call": request.call,
            "action": request.action,
            "namespace": request.namespace,
            "resource": request.resource,
            "actor": request.actor,
            "rule": rule,
            "incident_id": self.incident_id,
        });
        // Waiting states first, so whoever sees the approval sees them too.
        self.set_waiting(true).await;
        self.move_incident(IncidentState::AwaitingApproval).await;
        let created = store
            .create_approval(
                self.tenant,
                NewApproval {
                    session_id: Some(self.session_id),
                    request: body.clone(),
                    deadline,
                },
            )
            .await;
        let approval = match created {
            Ok(a) => a,
            Err(e) => {
                self.set_waiting(false).await;
                self.move_incident(IncidentState::Diagnosing).await;
                return Err(format!("the approval could not be recorded ({e})"));
            }
        };
        audit(
            &self.platform,
            self.tenant,
            &request.actor,
            "approval.request",
            &format!("approval:{}", approval.id),
            Some("pending"),
            body,
        )
        .await;
        self.publish(
            "approval",
            serde_json::json!({ "approval_id": approval.id, "status": "pending", "request": approval.request, "deadline": approval.deadline }),
        );
        let decided = loop {
            match store.approval(self.tenant, approval.id).await {
                Ok(Some(a)) if a.status != ApprovalStatus::Pending => break Ok(a),
                Ok(Some(_)) => {}
                Ok(None) => break Err("the approval disappeared".to_owned()),
                Err(e) => tracing::warn!(error = %e, "reading the approval failed; retrying"),
            }
            if chrono::Utc::now() >= approval.deadline
                && let Err(e) = store.expire_approvals(chrono::Utc::now()).await
            {
                tracing::warn!(error = %e, "expiring approvals failed");
            }
            tokio::time::sleep(self.poll).await;
        };
        self.set_waiting(false).await;
        self.move_incident(IncidentState::Diagnosing).await;
        let decided = decided?;
        self.publish(
            "approval",
            serde_json::json!({ "approval_id": decided.id, "status": decided.status, "decided_by": decided.decided_by, "reason": decided.reason }),
        );
        match decided.status {
            ApprovalStatus::Approved => Ok((
                decided.decided_by.unwrap_or_else(|| "unknown".to_owned()),
                decided.reason.unwrap_or_default(),
            )),
            ApprovalStatus::Denied => Err(format!(
                "denied by {}: {}",
                decided.decided_by.unwrap_or_else(|| "unknown".to_owned()),
                decided.reason.unwrap_or_default()
            )),
            ApprovalStatus::Expired | ApprovalStatus::Pending => Err(format!(
                "approval {} was not answered within {timeout}s",
                decided.id
            )),
        }
    }
}

#[async_trait]
impl WriteGate for PlatformGate {
    async fn decide(&self, request: &WriteRequest) -> GateRecord {
        let what = format!("{} on {}", request.action, request.resource);
        let rules = match self.platform.store.guardrails(self.tenant).await {
            Ok(rules) => rules,
            Err(e) => {
                tracing::error!(error = %e, "guardrails unreadable; denying the write");
                return GateRecord {
                    outcome: GateOutcome::Denied,
                    rule: "guardrail:unavailable".to_owned(),
                    actor: request.actor.clone(),
                    reason: format!("guardrails could not be read; {what} was not run"),
                };
            }
        };
        let (rule, decision) = decide_by_rules(&rules, self.default_decision(), request);
        let record = match decision {
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
            GuardrailDecision::Ask => match self.ask(request, &rule).await {
                Ok((approver, reason)) => GateRecord {
                    outcome: GateOutcome::Approved,
                    rule,
                    actor: approver,
                    reason,
                },
                Err(why) => GateRecord {
                    outcome: GateOutcome::Denied,
                    rule,
                    actor: request.actor.clone(),
                    reason: format!("approval needed for {what}; {why}"),
                },
            },
        };
        let decision_name = match record.outcome {
            GateOutcome::Allowed => "allowed",
            GateOutcome::Approved => "approved",
            GateOutcome::Denied => "denied",
        };
        audit(
            &self.platform,
            self.tenant,
            &record.actor,
            "write.decision",
            &format!("session:{}", self.session_id),
            Some(decision_name),
            serde_json::json!({
                "tool_call": request.call,
                "action": request.action,
                "resource": request.resource,
                "rule": record.rule,
                "reason": record.reason,
            }),
        )
        .await;
        self.publish("gate", serde_json::to_value(&record).unwrap_or_default());
        record
    }
}
