//! Approvals: list, read, approve or deny with a reason.
//!
//! Deciding needs [`Permission::DecideApproval`] (operators and admins by default; a viewer's
//! authorization already fails with 403). The decision is one conditional update in the
//! store, so of two deciders one wins and the other gets 409; a decision after the deadline
//! is refused (the approval expires, which denies the write). Every decision is audited under
//! the decider's identity; the waiting session's gate picks the decision up and runs the
//! write as the approver.

use aoi_control::{ApiError, Authorized, Permission};
use aoi_store::{Approval, ApprovalDecision, ApprovalStatus};
use serde::Deserialize;
use uuid::Uuid;

use crate::Platform;
use crate::events::LiveEvent;
use crate::sessions::{audit, not_found, store_error, tenant_id};

/// Query of GET /api/v1/approvals.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalQuery {
    pub status: Option<ApprovalStatus>,
}

/// Body of POST /api/v1/approvals/{id}/approve and /deny.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub reason: String,
}

/// The tenant's approvals, oldest first (needs [`Permission::ReadApprovals`]).
pub async fn list_approvals(
    platform: &Platform,
    auth: &Authorized,
    query: ApprovalQuery,
) -> Result<Vec<Approval>, ApiError> {
    auth.require(Permission::ReadApprovals)?;
    let tenant = tenant_id(platform, auth).await?;
    platform
        .store
        .approvals(tenant, query.status)
        .await
        .map_err(|e| store_error(e, "approval"))
}

pub async fn get_approval(
    platform: &Platform,
    auth: &Authorized,
    id: Uuid,
) -> Result<Approval, ApiError> {
    auth.require(Permission::ReadApprovals)?;
    let tenant = tenant_id(platform, auth).await?;
    platform
        .store
        .approval(tenant, id)
        .await
        .map_err(|e| store_error(e, "approval"))?
        .ok_or_else(|| not_found(format!("approval {id}")))
}

/// Approves (`approve`) or denies a pending approval (needs [`Permission::DecideApproval`]).
pub async fn decide_approval(
    platform: &Platform,
    auth: &Authorized,
    id: Uuid,
    approve: bool,
    decision: Decision,
) -> Result<Approval, ApiError> {
    auth.require(Permission::DecideApproval)?;
    let reason = decision.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::invalid_input(
            "reason",
            "must not be empty: say why the write may or may not run",
        ));
    }
    let tenant = tenant_id(platform, auth).await?;
    let decider = auth.principal().subject();
    let decided = platform
        .store
        .decide_approval(
            tenant,
            id,
            ApprovalDecision {
                approve,
                decided_by: decider.clone(),
                reason: Some(reason.clone()),
            },
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| store_error(e, &format!("approval {id}")))?;
    let verdict = if approve { "approved" } else { "denied" };
    audit(
        platform,
        tenant,
        &decider,
        if approve { "approval.approve" } else { "approval.deny" },
        &format!("approval:{id}"),
        Some(verdict),
        serde_json::json!({
            "reason": reason,
            "session_id": decided.session_id,
            "request": decided.request,
            "display": auth.principal().display,
        }),
    )
    .await;
    platform.events.publish(LiveEvent {
        tenant_id: tenant.as_uuid(),
        session_id: decided.session_id,
        incident_id: None,
        kind: "approval".to_owned(),
        payload: serde_json::json!({
            "approval_id": id,
            "status": decided.status,
            "decided_by": decided.decided_by,
            "reason": decided.reason,
        }),
    });
    Ok(decided)
}
