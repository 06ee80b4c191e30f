//! The learning loop's rows: operators' verdicts on sessions, the evolver's jobs (one per
//! session to learn from, claimed by one worker at a time) and the corrective signals admins
//! review. A signal is decided once: the decision is a conditional update on `pending`, so two
//! reviewers racing get one success and one `InvalidTransition`.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::entity::corrective_signal::SignalStatus;
use crate::entity::evolver_job::EvolverJobStatus;
use crate::entity::{corrective_signal, evolver_job, session, session_verdict};
use crate::{
    CorrectiveSignal, EvolverJob, Session, SessionStatus, SessionVerdict, Store, StoreError,
    TenantId, now, truncate_micros,
};

/// An operator's verdict to store on a session (replacing an earlier one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSessionVerdict {
    pub correct: bool,
    /// A failure pattern letter (A..F) or free text; `None` for a correct session.
    pub category: Option<String>,
    /// The audit actor giving it.
    pub decided_by: String,
}

/// A drafted signal to store as `pending`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSignal {
    pub source_session_id: Option<Uuid>,
    pub problem_id: String,
    pub task_type: String,
    pub patterns: Json,
    pub first_wrong_step: Option<i32>,
    pub evidence: Json,
    pub failed_commands: Json,
    pub plan: Json,
    pub rationale: String,
    pub verification: Json,
    pub verified: bool,
    pub lesson: String,
    pub symptoms: Json,
}

/// A reviewer's decision on a pending signal.
#[derive(Clone, Debug, PartialEq)]
pub enum SignalDecision {
    /// Approve as drafted.
    Approve,
    /// Approve as drafted without a person, because the plan was verified on the twin: status
    /// `approved` with `auto_approved` set (`aoi bench --evolve`, `evolver.auto_approve_verified`).
    AutoApprove,
    /// Replace the plan (and optionally the lesson and rationale), then approve: `edited`.
    Edit {
        plan: Json,
        lesson: Option<String>,
        rationale: Option<String>,
    },
    /// Reject, saying why.
    Reject { reason: String },
}

impl SignalDecision {
    /// The status the decision leaves the signal in.
    pub fn status(&self) -> SignalStatus {
        match self {
            SignalDecision::Approve | SignalDecision::AutoApprove => SignalStatus::Approved,
            SignalDecision::Edit { .. } => SignalStatus::Edited,
            SignalDecision::Reject { .. } => SignalStatus::Rejected,
        }
    }
}

impl Store {
    /// Stores (or replaces) the verdict on one of the tenant's sessions (`NotFound` for a
    /// session of no such tenant).
    pub async fn set_session_verdict(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        verdict: NewSessionVerdict,
    ) -> Result<SessionVerdict, StoreError> {
        use session_verdict::Column;
        self.session(tenant, session_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        session_verdict::Entity::insert(session_verdict::ActiveModel {
            session_id: Set(session_id),
            tenant_id: Set(tenant.as_uuid()),
            correct: Set(verdict.correct),
            category: Set(verdict.category),
            decided_by: Set(verdict.decided_by),
            decided_at: Set(now()),
        })
        .on_conflict(
            OnConflict::column(Column::SessionId)
                .update_columns([
                    Column::Correct,
                    Column::Category,
                    Column::DecidedBy,
                    Column::DecidedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        self.session_verdict(tenant, session_id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The verdict on one of the tenant's sessions, if any was given.
    pub async fn session_verdict(
        &self,
        tenant: TenantId,
        session_id: Uuid,
    ) -> Result<Option<SessionVerdict>, StoreError> {
        Ok(session_verdict::Entity::find()
            .filter(session_verdict::Column::TenantId.eq(tenant.as_uuid()))
            .filter(session_verdict::Column::SessionId.eq(session_id))
            .one(&self.db)
            .await?)
    }

    /// Puts one of the tenant's sessions on the evolver's list. Returns false (and changes
    /// nothing) when the session is already there, whatever its job's state.
    pub async fn enqueue_evolver_job(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.session(tenant, session_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let inserted = evolver_job::Entity::insert(evolver_job::ActiveModel {
            session_id: Set(session_id),
            tenant_id: Set(tenant.as_uuid()),
            reason: Set(reason.to_owned()),
            status: Set(EvolverJobStatus::Pending),
            detail: Set(String::new()),
            claimed_by: Set(None),
            claimed_at: Set(None),
            attempts: Set(0),
            created_at: Set(now()),
            finished_at: Set(None),
        })
        .on_conflict(
            OnConflict::column(evolver_job::Column::SessionId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(inserted > 0)
    }

    /// Puts a session whose job has finished back on the list with a new reason (an
    /// operator marked a session wrong after the evolver skipped it). Returns false when the
    /// job is pending or running (it will run anyway) or when it already drafted a signal.
    pub async fn requeue_evolver_job(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let done = evolver_job::Entity::update_many()
            .set(evolver_job::ActiveModel {
                reason: Set(reason.to_owned()),
                status: Set(EvolverJobStatus::Pending),
                claimed_by: Set(None),
                claimed_at: Set(None),
                finished_at: Set(None),
                ..Default::default()
            })
            .filter(evolver_job::Column::TenantId.eq(tenant.as_uuid()))
            .filter(evolver_job::Column::SessionId.eq(session_id))
            .filter(
                evolver_job::Column::Status
                    .is_in([EvolverJobStatus::Skipped, EvolverJobStatus::Failed]),
            )
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// Platform sweep: failed sessions of any tenant that are not on the evolver's list (their
    /// worker died before enqueuing them, or their lease ran out), oldest first, at most
    /// `limit`.
    pub async fn failed_sessions_without_evolver_job(
        &self,
        limit: u64,
    ) -> Result<Vec<Session>, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::Status.eq(SessionStatus::Failed))
            .filter(
                session::Column::Id.not_in_subquery(
                    Query::select()
                        .column(evolver_job::Column::SessionId)
                        .from(evolver_job::Entity)
                        .to_owned(),
                ),
            )
            .order_by_asc(session::Column::CreatedAt)
            .order_by_asc(session::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// One of the tenant's evolver jobs.
    pub async fn evolver_job(
        &self,
        tenant: TenantId,
        session_id: Uuid,
    ) -> Result<Option<EvolverJob>, StoreError> {
        Ok(evolver_job::Entity::find()
            .filter(evolver_job::Column::TenantId.eq(tenant.as_uuid()))
            .filter(evolver_job::Column::SessionId.eq(session_id))
            .one(&self.db)
            .await?)
    }

    /// An evolver worker takes the oldest pending job of any tenant (the evolver serves the
    /// platform; the row names its tenant), or a running job whose claim is older than
    /// `stale` (its worker died). Each job goes to one claimer: the claim is a conditional
    /// update on the status and claim time read, retried on the next candidate when another
    /// worker won.
    pub async fn claim_evolver_job(
        &self,
        worker: &str,
        stale: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<EvolverJob>, StoreError> {
        use evolver_job::Column;
        let now = truncate_micros(now);
        let claimable = Condition::any()
            .add(Column::Status.eq(EvolverJobStatus::Pending))
            .add(
                Condition::all()
                    .add(Column::Status.eq(EvolverJobStatus::Running))
                    .add(Column::ClaimedAt.lt(now - stale)),
            );
        let candidates = evolver_job::Entity::find()
            .filter(claimable.clone())
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::SessionId)
            .limit(8)
            .all(&self.db)
            .await?;
        for job in candidates {
            let mut same_claim = Condition::all()
                .add(Column::SessionId.eq(job.session_id))
                .add(Column::Status.eq(job.status));
            same_claim = match job.claimed_at {
                Some(at) => same_claim.add(Column::ClaimedAt.eq(at)),
                None => same_claim.add(Column::ClaimedAt.is_null()),
            };
            let done = evolver_job::Entity::update_many()
                .set(evolver_job::ActiveModel {
                    status: Set(EvolverJobStatus::Running),
                    claimed_by: Set(Some(worker.to_owned())),
                    claimed_at: Set(Some(now)),
                    ..Default::default()
                })
                .col_expr(
                    Column::Attempts,
                    ExprTrait::add(Expr::col(Column::Attempts), 1),
                )
                .filter(same_claim)
                .exec(&self.db)
                .await?;
            if done.rows_affected == 1 {
                return Ok(evolver_job::Entity::find_by_id(job.session_id)
                    .one(&self.db)
                    .await?);
            }
        }
        Ok(None)
    }

    /// Finishes a job this worker holds (`drafted`, `skipped` or `failed`, with what it did).
    /// `Conflict` when the worker no longer holds it.
    pub async fn finish_evolver_job(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        worker: &str,
        status: EvolverJobStatus,
        detail: &str,
    ) -> Result<EvolverJob, StoreError> {
        if !status.is_final() {
            return Err(StoreError::InvalidTransition {
                from: EvolverJobStatus::Running.as_str().to_owned(),
                to: status.as_str().to_owned(),
            });
        }
        let done = evolver_job::Entity::update_many()
            .set(evolver_job::ActiveModel {
                status: Set(status),
                detail: Set(detail.to_owned()),
                finished_at: Set(Some(now())),
                ..Default::default()
            })
            .filter(evolver_job::Column::TenantId.eq(tenant.as_uuid()))
            .filter(evolver_job::Column::SessionId.eq(session_id))
            .filter(evolver_job::Column::Status.eq(EvolverJobStatus::Running))
            .filter(evolver_job::Column::ClaimedBy.eq(worker))
            .exec(&self.db)
            .await?;
        let job = self
            .evolver_job(tenant, session_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if done.rows_affected == 0 {
            return Err(StoreError::conflict(format!(
                "evolver job of session {session_id} is {} and not held by {worker}",
                job.status.as_str()
            )));
        }
        Ok(job)
    }

    /// Stores a drafted signal as `pending`.
    pub async fn insert_signal(
        &self,
        tenant: TenantId,
        new: NewSignal,
    ) -> Result<CorrectiveSignal, StoreError> {
        self.require_tenant(tenant).await?;
        Ok(corrective_signal::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            source_session_id: Set(new.source_session_id),
            problem_id: Set(new.problem_id),
            task_type: Set(new.task_type),
            patterns: Set(new.patterns),
            first_wrong_step: Set(new.first_wrong_step),
            evidence: Set(new.evidence),
            failed_commands: Set(new.failed_commands),
            plan: Set(new.plan),
            edited_plan: Set(None),
            rationale: Set(new.rationale),
            verification: Set(new.verification),
            verified: Set(new.verified),
            lesson: Set(new.lesson),
            symptoms: Set(new.symptoms),
            status: Set(SignalStatus::Pending),
            auto_approved: Set(false),
            reviewer: Set(None),
            review_reason: Set(None),
            created_at: Set(now()),
            reviewed_at: Set(None),
        }
        .insert(&self.db)
        .await?)
    }

    /// The tenant's signals (of one status, when given), newest first.
    pub async fn signals(
        &self,
        tenant: TenantId,
        status: Option<SignalStatus>,
    ) -> Result<Vec<CorrectiveSignal>, StoreError> {
        let mut query = corrective_signal::Entity::find()
            .filter(corrective_signal::Column::TenantId.eq(tenant.as_uuid()));
        if let Some(status) = status {
            query = query.filter(corrective_signal::Column::Status.eq(status));
        }
        Ok(query
            .order_by_desc(corrective_signal::Column::CreatedAt)
            .order_by_desc(corrective_signal::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The tenant's approved signals (as drafted or edited), newest first: the lessons new
    /// sessions may be given.
    pub async fn approved_signals(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<CorrectiveSignal>, StoreError> {
        Ok(corrective_signal::Entity::find()
            .filter(corrective_signal::Column::TenantId.eq(tenant.as_uuid()))
            .filter(
                corrective_signal::Column::Status
                    .is_in([SignalStatus::Approved, SignalStatus::Edited]),
            )
            .order_by_desc(corrective_signal::Column::CreatedAt)
            .order_by_desc(corrective_signal::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The tenant's signals drafted from one session.
    pub async fn signals_of_session(
        &self,
        tenant: TenantId,
        session_id: Uuid,
    ) -> Result<Vec<CorrectiveSignal>, StoreError> {
        Ok(corrective_signal::Entity::find()
            .filter(corrective_signal::Column::TenantId.eq(tenant.as_uuid()))
            .filter(corrective_signal::Column::SourceSessionId.eq(session_id))
            .order_by_asc(corrective_signal::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }

    /// One of the tenant's signals.
    pub async fn signal(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<CorrectiveSignal>, StoreError> {
        Ok(corrective_signal::Entity::find()
            .filter(corrective_signal::Column::TenantId.eq(tenant.as_uuid()))
            .filter(corrective_signal::Column::Id.eq(id))
            .one(&self.db)
            .await?)
    }

    /// Decides a pending signal once. `NotFound` for no such signal of the tenant;
    /// `InvalidTransition` (from its current status) when it was already decided.
    pub async fn decide_signal(
        &self,
        tenant: TenantId,
        id: Uuid,
        reviewer: &str,
        decision: SignalDecision,
    ) -> Result<CorrectiveSignal, StoreError> {
        let to = decision.status();
        let mut change = corrective_signal::ActiveModel {
            status: Set(to),
            reviewer: Set(Some(reviewer.to_owned())),
            reviewed_at: Set(Some(now())),
            ..Default::default()
        };
        match decision {
            SignalDecision::Approve => {}
            SignalDecision::AutoApprove => change.auto_approved = Set(true),
            SignalDecision::Edit {
                plan,
                lesson,
                rationale,
            } => {
                change.edited_plan = Set(Some(plan));
                if let Some(lesson) = lesson {
                    change.lesson = Set(lesson);
                }
                if let Some(rationale) = rationale {
                    change.rationale = Set(rationale);
                }
            }
            SignalDecision::Reject { reason } => change.review_reason = Set(Some(reason)),
        }
        let done = corrective_signal::Entity::update_many()
            .set(change)
            .filter(corrective_signal::Column::TenantId.eq(tenant.as_uuid()))
            .filter(corrective_signal::Column::Id.eq(id))
            .filter(corrective_signal::Column::Status.eq(SignalStatus::Pending))
            .exec(&self.db)
            .await?;
        let current = self.signal(tenant, id).await?.ok_or(StoreError::NotFound)?;
        if done.rows_affected == 0 {
            return Err(StoreError::InvalidTransition {
                from: current.status.to_string(),
                to: to.to_string(),
            });
        }
        Ok(current)
    }
}
