//! Corrective signals and operators' verdicts: the review side of the learning loop.
//!
//! The evolver ([`crate::evolver`]) drafts a signal (status `pending`) from each failed
//! session: a bench-style run the twin's evaluator failed, a session that ran out of steps or
//! failed, or a session an operator marked wrong with [`mark_session_verdict`]. Admins
//! ([`Permission::ReviewSignals`], admin only by default) list them, read one beside the failed
//! trajectory, and decide each once: approve, edit then approve (`edited`), or reject with a
//! reason. Approved and edited signals' lessons reach new sessions of similar incidents.
//! Every verdict and decision is in the audit log with who took it.
//!
//! Verdicts need [`Permission::WriteIncidents`] (operators): judging a session's outcome is
//! part of working the incident, like updating it, and is not starting new work.

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission};
use aoi_store::{
    CorrectiveSignal, NewSessionVerdict, SessionStatus, SignalDecision, SignalStatus, StoreError,
    TenantId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Platform;
use crate::audit;
use crate::ports::store_error;
use crate::sessions::{StepView, session_steps};
use crate::tenants::scope_tenant;

/// Longest free-text verdict category, rejection reason, lesson or rationale (characters).
const MAX_TEXT: usize = 4096;

/// The evolver reason of a session an operator marked wrong.
pub const OPERATOR_WRONG: &str = "operator_wrong";

/// A corrective signal as reviewers see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalView {
    pub id: Uuid,
    pub source_session_id: Option<Uuid>,
    pub problem_id: String,
    pub task_type: String,
    pub patterns: Value,
    pub first_wrong_step: Option<i32>,
    pub evidence: Value,
    pub failed_commands: Value,
    /// The repaired plan as drafted.
    pub plan: Value,
    /// The plan as a reviewer edited it (status `edited`).
    pub edited_plan: Option<Value>,
    pub rationale: String,
    pub verification: Value,
    pub verified: bool,
    pub lesson: String,
    pub symptoms: Value,
    pub status: SignalStatus,
    pub auto_approved: bool,
    pub reviewer: Option<String>,
    pub review_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl From<CorrectiveSignal> for SignalView {
    fn from(s: CorrectiveSignal) -> Self {
        SignalView {
            id: s.id,
            source_session_id: s.source_session_id,
            problem_id: s.problem_id,
            task_type: s.task_type,
            patterns: s.patterns,
            first_wrong_step: s.first_wrong_step,
            evidence: s.evidence,
            failed_commands: s.failed_commands,
            plan: s.plan,
            edited_plan: s.edited_plan,
            rationale: s.rationale,
            verification: s.verification,
            verified: s.verified,
            lesson: s.lesson,
            symptoms: s.symptoms,
            status: s.status,
            auto_approved: s.auto_approved,
            reviewer: s.reviewer,
            review_reason: s.review_reason,
            created_at: s.created_at,
            reviewed_at: s.reviewed_at,
        }
    }
}

/// The failed session a signal was drafted from.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSession {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub environment_id: Uuid,
    pub status: SessionStatus,
    pub result: Option<Value>,
    /// The operator's verdict, when one was given.
    pub verdict: Option<VerdictView>,
    /// The failed trajectory.
    pub steps: Vec<StepView>,
}

/// One signal beside the failed trajectory (none when the session was deleted).
#[derive(Debug, Clone, Serialize)]
pub struct SignalDetail {
    #[serde(flatten)]
    pub signal: SignalView,
    pub source_session: Option<SourceSession>,
}

/// Query of `GET /api/v1/signals`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalQuery {
    pub status: Option<String>,
}

/// Body of `POST /api/v1/signals/{id}/edit`: the corrected plan (required), and optionally a
/// new lesson and rationale.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalEdit {
    pub plan: Value,
    #[serde(default)]
    pub lesson: Option<String>,
    #[serde(default)]
    pub rationale: Option<String>,
}

/// Body of `POST /api/v1/signals/{id}/reject`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalRejection {
    #[serde(default)]
    pub reason: String,
}

/// Body of `POST /api/v1/sessions/{id}/verdict`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub correct: bool,
    /// For a wrong session: a failure pattern letter `A`..`F` or free text.
    #[serde(default)]
    pub category: Option<String>,
}

/// A stored verdict, and what it did to the evolver's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictView {
    pub session_id: Uuid,
    pub correct: bool,
    pub category: Option<String>,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    /// `queued` (the evolver will draft a signal), `already_queued`, or `not_queued` (a
    /// correct session, or one the evolver already drafted a signal from). Absent on reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evolver: Option<&'static str>,
}

impl From<aoi_store::SessionVerdict> for VerdictView {
    fn from(v: aoi_store::SessionVerdict) -> Self {
        VerdictView {
            session_id: v.session_id,
            correct: v.correct,
            category: v.category,
            decided_by: v.decided_by,
            decided_at: v.decided_at,
            evolver: None,
        }
    }
}

/// A wrong verdict's category: a pattern letter (any case, stored upper-case) or free text of
/// 1 to [`MAX_TEXT`] characters.
fn category_of(verdict: &Verdict) -> Result<Option<String>, ApiError> {
    let category = verdict
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    match (verdict.correct, category) {
        (true, None) => Ok(None),
        (true, Some(_)) => Err(ApiError::invalid_input(
            "category",
            "only a wrong verdict (\"correct\": false) takes a category",
        )),
        (false, None) => Err(ApiError::invalid_input(
            "category",
            "a wrong verdict needs a category: a failure pattern letter A to F or a short text",
        )),
        (false, Some(c)) if c.chars().count() > MAX_TEXT => Err(ApiError::invalid_input(
            "category",
            "use at most 4096 characters",
        )),
        (false, Some(c)) => {
            let upper = c.to_ascii_uppercase();
            let letter = matches!(upper.as_str(), "A" | "B" | "C" | "D" | "E" | "F");
            Ok(Some(if letter { upper } else { c.to_owned() }))
        }
    }
}

/// Records an operator's verdict on a finished session of the caller's tenant (replacing an
/// earlier one). A wrong verdict puts the session on the evolver's list. 409 while the session
/// has not finished.
pub async fn mark_session_verdict(
    platform: &Platform,
    proof: &Authorized,
    session_id: Uuid,
    verdict: Verdict,
) -> Result<VerdictView, ApiError> {
    proof.require(Permission::WriteIncidents)?;
    let category = category_of(&verdict)?;
    let tenant = scope_tenant(platform, proof).await?;
    let what = format!("session {session_id}");
    let session = platform
        .store
        .session(tenant, session_id)
        .await
        .map_err(store_error(what.clone()))?
        .ok_or_else(|| ApiError::NotFound { what: what.clone() })?;
    if !session.status.is_final() {
        return Err(ApiError::Conflict {
            what: format!(
                "session {session_id} is {}: a verdict is given on a finished session",
                session.status.as_str()
            ),
        });
    }
    let stored = platform
        .store
        .set_session_verdict(
            tenant,
            session_id,
            NewSessionVerdict {
                correct: verdict.correct,
                category,
                decided_by: audit::actor(proof.principal()),
            },
        )
        .await
        .map_err(store_error(what.clone()))?;
    let evolver = if stored.correct {
        "not_queued"
    } else {
        enqueue_wrong(platform, tenant, session_id).await?
    };
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "session.verdict",
        &format!("session:{session_id}"),
        json!({"correct": stored.correct, "category": stored.category, "evolver": evolver}),
    )
    .await?;
    let mut view = VerdictView::from(stored);
    view.evolver = Some(evolver);
    Ok(view)
}

/// The verdict on a session of the caller's tenant, when one was given (`read_sessions`).
pub async fn session_verdict(
    platform: &Platform,
    proof: &Authorized,
    session_id: Uuid,
) -> Result<Option<VerdictView>, ApiError> {
    proof.require(Permission::ReadSessions)?;
    let tenant = scope_tenant(platform, proof).await?;
    Ok(platform
        .store
        .session_verdict(tenant, session_id)
        .await
        .map_err(store_error(format!("session {session_id}")))?
        .map(VerdictView::from))
}

/// Puts a session marked wrong on the evolver's list, or back on it when the evolver skipped
/// it or failed; a session that already has a signal is left alone.
async fn enqueue_wrong(
    platform: &Platform,
    tenant: TenantId,
    session_id: Uuid,
) -> Result<&'static str, ApiError> {
    let what = format!("evolver job of session {session_id}");
    if platform
        .store
        .enqueue_evolver_job(tenant, session_id, OPERATOR_WRONG)
        .await
        .map_err(store_error(what.clone()))?
    {
        return Ok("queued");
    }
    if platform
        .store
        .requeue_evolver_job(tenant, session_id, OPERATOR_WRONG)
        .await
        .map_err(store_error(what.clone()))?
    {
        return Ok("queued");
    }
    let job = platform
        .store
        .evolver_job(tenant, session_id)
        .await
        .map_err(store_error(what))?;
    Ok(match job.map(|j| j.status.is_final()) {
        Some(false) => "already_queued",
        _ => "not_queued",
    })
}

/// The caller's tenant's signals (of one status, when `status` names one), newest first.
pub async fn list_signals(
    platform: &Platform,
    proof: &Authorized,
    query: SignalQuery,
) -> Result<Vec<SignalView>, ApiError> {
    proof.require(Permission::ReviewSignals)?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<SignalStatus>)
        .transpose()
        .map_err(|e| ApiError::invalid_input("status", e.to_string()))?;
    let tenant = scope_tenant(platform, proof).await?;
    Ok(platform
        .store
        .signals(tenant, status)
        .await
        .map_err(store_error("signals"))?
        .into_iter()
        .map(SignalView::from)
        .collect())
}

/// One signal beside its source session's trajectory and verdict.
pub async fn get_signal(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
) -> Result<SignalDetail, ApiError> {
    proof.require(Permission::ReviewSignals)?;
    let tenant = scope_tenant(platform, proof).await?;
    let signal = load(platform, tenant, id).await?;
    let source_session = match signal.source_session_id {
        Some(session_id) => source_session(platform, tenant, session_id).await?,
        None => None,
    };
    Ok(SignalDetail {
        signal: SignalView::from(signal),
        source_session,
    })
}

async fn source_session(
    platform: &Platform,
    tenant: TenantId,
    session_id: Uuid,
) -> Result<Option<SourceSession>, ApiError> {
    let what = format!("session {session_id}");
    let Some(session) = platform
        .store
        .session(tenant, session_id)
        .await
        .map_err(store_error(what.clone()))?
    else {
        return Ok(None);
    };
    let verdict = platform
        .store
        .session_verdict(tenant, session_id)
        .await
        .map_err(store_error(what))?
        .map(VerdictView::from);
    let steps = session_steps(platform, tenant, session_id).await?;
    Ok(Some(SourceSession {
        id: session.id,
        incident_id: session.incident_id,
        environment_id: session.environment_id,
        status: session.status,
        result: session.result,
        verdict,
        steps,
    }))
}

async fn load(
    platform: &Platform,
    tenant: TenantId,
    id: Uuid,
) -> Result<CorrectiveSignal, ApiError> {
    let what = format!("signal {id}");
    platform
        .store
        .signal(tenant, id)
        .await
        .map_err(store_error(what.clone()))?
        .ok_or(ApiError::NotFound { what })
}

/// Approves a pending signal as drafted.
pub async fn approve_signal(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
) -> Result<SignalView, ApiError> {
    decide(platform, proof, id, SignalDecision::Approve).await
}

/// Replaces a pending signal's plan (and lesson, rationale when given), then approves it
/// (status `edited`).
pub async fn edit_signal(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
    edit: SignalEdit,
) -> Result<SignalView, ApiError> {
    proof.require(Permission::ReviewSignals)?;
    if !edit.plan.is_object() && !edit.plan.is_array() {
        return Err(ApiError::invalid_input(
            "plan",
            "give the corrected plan as an object (`{\"steps\": [...]}`) or a list of steps",
        ));
    }
    for (field, value) in [("lesson", &edit.lesson), ("rationale", &edit.rationale)] {
        if let Some(text) = value
            && (text.trim().is_empty() || text.chars().count() > MAX_TEXT)
        {
            return Err(ApiError::invalid_input(
                field,
                "use 1 to 4096 characters, or leave it out to keep the draft's",
            ));
        }
    }
    let decision = SignalDecision::Edit {
        plan: edit.plan,
        lesson: edit.lesson.map(|l| l.trim().to_owned()),
        rationale: edit.rationale.map(|r| r.trim().to_owned()),
    };
    decide(platform, proof, id, decision).await
}

/// Rejects a pending signal; the reason is required.
pub async fn reject_signal(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
    rejection: SignalRejection,
) -> Result<SignalView, ApiError> {
    proof.require(Permission::ReviewSignals)?;
    let reason = rejection.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid_input(
            "reason",
            "a rejection needs a reason of 1 to 4096 characters",
        ));
    }
    let decision = SignalDecision::Reject {
        reason: reason.to_owned(),
    };
    decide(platform, proof, id, decision).await
}

/// Decides a pending signal once and audits the decision with the reviewer; 409 naming the
/// current status when it was already decided.
async fn decide(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
    decision: SignalDecision,
) -> Result<SignalView, ApiError> {
    proof.require(Permission::ReviewSignals)?;
    let tenant = scope_tenant(platform, proof).await?;
    let reviewer = audit::actor(proof.principal());
    let to = decision.status();
    let action = match &decision {
        SignalDecision::Approve => "signal.approve",
        SignalDecision::Edit { .. } => "signal.edit",
        SignalDecision::Reject { .. } => "signal.reject",
        SignalDecision::AutoApprove => {
            return Err(ApiError::invalid_input(
                "decision",
                "auto-approval is the evolver's (verified drafts, `evolver.auto_approve_verified`); a reviewer approves",
            ));
        }
    };
    let decided = platform
        .store
        .decide_signal(tenant, id, &reviewer, decision)
        .await
        .map_err(|e| match e {
            StoreError::InvalidTransition { from, .. } => ApiError::Conflict {
                what: format!(
                    "signal {id} is already {from}: only a pending signal can be approved, \
                     edited or rejected"
                ),
            },
            other => store_error(format!("signal {id}"))(other),
        })?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        action,
        &format!("signal:{id}"),
        json!({
            "before": SignalStatus::Pending, "after": to, "reviewer": reviewer,
            "reason": decided.review_reason, "source_session": decided.source_session_id,
        }),
    )
    .await?;
    Ok(SignalView::from(decided))
}
