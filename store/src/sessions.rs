//! Diagnosis sessions (queued, claimed by workers under a lease) and their steps.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
    sea_query::{Expr, ExprTrait, Func, LockBehavior, LockType, OnConflict, Order, Query},
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::entity::{session, session_step};
use crate::{Session, SessionStatus, Step, Store, StoreError, TenantId, now, truncate_micros};

#[derive(Clone, Debug)]
pub struct NewSession {
    pub incident_id: Uuid,
    pub environment_id: Uuid,
}

/// Filters for [`Store::sessions`]; newest first.
#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub incident_id: Option<Uuid>,
}

/// What [`Store::reclaim_expired_leases`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReclaimReport {
    /// Put back in the queue for another worker.
    pub requeued: u64,
    /// Out of attempts: marked failed.
    pub failed: u64,
}

/// Statuses in which a worker holds the lease.
const LEASED: [SessionStatus; 2] = [SessionStatus::Running, SessionStatus::WaitingApproval];

impl Store {
    /// Queues a session of one of the tenant's incidents on one of its environments
    /// (`NotFound` when either belongs to no such tenant).
    pub async fn create_session(
        &self,
        tenant: TenantId,
        new: NewSession,
    ) -> Result<Session, StoreError> {
        self.incident(tenant, new.incident_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.environment(tenant, new.environment_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(session::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            incident_id: Set(new.incident_id),
            environment_id: Set(new.environment_id),
            status: Set(SessionStatus::Queued),
            lease_owner: Set(None),
            lease_expires_at: Set(None),
            attempts: Set(0),
            result: Set(None),
            created_at: Set(now()),
            started_at: Set(None),
            finished_at: Set(None),
        }
        .insert(&self.db)
        .await?)
    }

    pub async fn session(&self, tenant: TenantId, id: Uuid) -> Result<Option<Session>, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::TenantId.eq(tenant.as_uuid()))
            .filter(session::Column::Id.eq(id))
            .one(&self.db)
            .await?)
    }

    pub async fn sessions(
        &self,
        tenant: TenantId,
        filter: SessionFilter,
    ) -> Result<Vec<Session>, StoreError> {
        let mut query =
            session::Entity::find().filter(session::Column::TenantId.eq(tenant.as_uuid()));
        if let Some(status) = filter.status {
            query = query.filter(session::Column::Status.eq(status));
        }
        if let Some(incident) = filter.incident_id {
            query = query.filter(session::Column::IncidentId.eq(incident));
        }
        Ok(query
            .order_by_desc(session::Column::CreatedAt)
            .order_by_desc(session::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// A worker takes the oldest queued session of any tenant (workers serve the platform; the
    /// returned row names its tenant) and holds it until `now + lease`. Each session is handed
    /// to exactly one claimer: PostgreSQL locks the row with `FOR UPDATE SKIP LOCKED`, SQLite
    /// claims with one conditional `UPDATE ... RETURNING`.
    pub async fn claim_session(
        &self,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let now = truncate_micros(now);
        let claim = || {
            session::Entity::update_many()
                .set(session::ActiveModel {
                    status: Set(SessionStatus::Running),
                    lease_owner: Set(Some(worker.to_owned())),
                    lease_expires_at: Set(Some(now + lease)),
                    ..Default::default()
                })
                .col_expr(
                    session::Column::Attempts,
                    ExprTrait::add(Expr::col(session::Column::Attempts), 1),
                )
                .col_expr(
                    session::Column::StartedAt,
                    Func::coalesce([Expr::col(session::Column::StartedAt), Expr::value(now)])
                        .into(),
                )
        };
        match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let txn = self.db.begin().await?;
                let Some(next) = session::Entity::find()
                    .filter(session::Column::Status.eq(SessionStatus::Queued))
                    .order_by_asc(session::Column::CreatedAt)
                    .order_by_asc(session::Column::Id)
                    .limit(1)
                    .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                    .one(&txn)
                    .await?
                else {
                    txn.commit().await?;
                    return Ok(None);
                };
                let mut claimed = claim()
                    .filter(session::Column::Id.eq(next.id))
                    .exec_with_returning(&txn)
                    .await?;
                txn.commit().await?;
                Ok(claimed.pop())
            }
            _ => {
                let oldest = Query::select()
                    .column(session::Column::Id)
                    .from(session::Entity)
                    .and_where(session::Column::Status.eq(SessionStatus::Queued))
                    .order_by(session::Column::CreatedAt, Order::Asc)
                    .order_by(session::Column::Id, Order::Asc)
                    .limit(1)
                    .to_owned();
                let mut claimed = claim()
                    .filter(session::Column::Id.in_subquery(oldest))
                    .filter(session::Column::Status.eq(SessionStatus::Queued))
                    .exec_with_returning(&self.db)
                    .await?;
                Ok(claimed.pop())
            }
        }
    }

    /// Extends the lease of a session this worker holds; `Conflict` when it no longer holds it.
    pub async fn renew_lease(
        &self,
        tenant: TenantId,
        id: Uuid,
        worker: &str,
        until: DateTime<Utc>,
    ) -> Result<Session, StoreError> {
        let done = session::Entity::update_many()
            .set(session::ActiveModel {
                lease_expires_at: Set(Some(truncate_micros(until))),
                ..Default::default()
            })
            .filter(held_by(tenant, id, worker))
            .exec(&self.db)
            .await?;
        self.after_leased_update(tenant, id, done.rows_affected)
            .await
    }

    /// Running <-> waiting_approval for a session this worker holds.
    pub async fn set_session_waiting(
        &self,
        tenant: TenantId,
        id: Uuid,
        worker: &str,
        waiting: bool,
    ) -> Result<Session, StoreError> {
        let (from, to) = if waiting {
            (SessionStatus::Running, SessionStatus::WaitingApproval)
        } else {
            (SessionStatus::WaitingApproval, SessionStatus::Running)
        };
        let current = self
            .session(tenant, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if current.status != from {
            return Err(StoreError::InvalidTransition {
                from: current.status.as_str().to_owned(),
                to: to.as_str().to_owned(),
            });
        }
        let done = session::Entity::update_many()
            .set(session::ActiveModel {
                status: Set(to),
                ..Default::default()
            })
            .filter(held_by(tenant, id, worker))
            .filter(session::Column::Status.eq(from))
            .exec(&self.db)
            .await?;
        self.after_leased_update(tenant, id, done.rows_affected)
            .await
    }

    /// Ends a session this worker holds with `status` (succeeded, failed or cancelled) and an
    /// optional result; the lease is released.
    pub async fn finish_session(
        &self,
        tenant: TenantId,
        id: Uuid,
        worker: &str,
        status: SessionStatus,
        result: Option<Json>,
    ) -> Result<Session, StoreError> {
        if !status.is_final() {
            let from = self
                .session(tenant, id)
                .await?
                .ok_or(StoreError::NotFound)?
                .status;
            return Err(StoreError::InvalidTransition {
                from: from.as_str().to_owned(),
                to: status.as_str().to_owned(),
            });
        }
        let done = session::Entity::update_many()
            .set(session::ActiveModel {
                status: Set(status),
                result: Set(result),
                lease_owner: Set(None),
                lease_expires_at: Set(None),
                finished_at: Set(Some(now())),
                ..Default::default()
            })
            .filter(held_by(tenant, id, worker))
            .exec(&self.db)
            .await?;
        self.after_leased_update(tenant, id, done.rows_affected)
            .await
    }

    /// Cancels a session that has not finished (a person's action, no lease needed).
    pub async fn cancel_session(&self, tenant: TenantId, id: Uuid) -> Result<Session, StoreError> {
        let done = session::Entity::update_many()
            .set(session::ActiveModel {
                status: Set(SessionStatus::Cancelled),
                lease_owner: Set(None),
                lease_expires_at: Set(None),
                finished_at: Set(Some(now())),
                ..Default::default()
            })
            .filter(session::Column::TenantId.eq(tenant.as_uuid()))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::Status.is_in([
                SessionStatus::Queued,
                SessionStatus::Running,
                SessionStatus::WaitingApproval,
            ]))
            .exec(&self.db)
            .await?;
        let current = self
            .session(tenant, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if done.rows_affected == 0 {
            return Err(StoreError::InvalidTransition {
                from: current.status.as_str().to_owned(),
                to: SessionStatus::Cancelled.as_str().to_owned(),
            });
        }
        Ok(current)
    }

    /// Platform sweep: sessions whose lease expired before `now` go back to the queue, or to
    /// failed once they have been claimed `max_attempts` times.
    pub async fn reclaim_expired_leases(
        &self,
        now: DateTime<Utc>,
        max_attempts: i32,
    ) -> Result<ReclaimReport, StoreError> {
        let now = truncate_micros(now);
        let failed = session::Entity::update_many()
            .set(session::ActiveModel {
                status: Set(SessionStatus::Failed),
                lease_owner: Set(None),
                lease_expires_at: Set(None),
                finished_at: Set(Some(now)),
                result: Set(Some(serde_json::json!({
                    "error": "lease expired and no attempts are left"
                }))),
                ..Default::default()
            })
            .filter(session::Column::Status.is_in(LEASED))
            .filter(session::Column::LeaseExpiresAt.lt(now))
            .filter(session::Column::Attempts.gte(max_attempts))
            .exec(&self.db)
            .await?
            .rows_affected;
        let requeued = session::Entity::update_many()
            .set(session::ActiveModel {
                status: Set(SessionStatus::Queued),
                lease_owner: Set(None),
                lease_expires_at: Set(None),
                ..Default::default()
            })
            .filter(session::Column::Status.is_in(LEASED))
            .filter(session::Column::LeaseExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        Ok(ReclaimReport { requeued, failed })
    }

    /// Records step `index` of a session unless it is already there (a retried write is a
    /// no-op and keeps the first payload). Returns true when this call wrote it.
    pub async fn append_step(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        index: i32,
        role: &str,
        payload: Json,
    ) -> Result<bool, StoreError> {
        self.session(tenant, session_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let inserted = session_step::Entity::insert(session_step::ActiveModel {
            session_id: Set(session_id),
            step_index: Set(index),
            tenant_id: Set(tenant.as_uuid()),
            role: Set(role.to_owned()),
            payload: Set(payload),
            created_at: Set(now()),
        })
        .on_conflict(
            OnConflict::columns([
                session_step::Column::SessionId,
                session_step::Column::StepIndex,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(inserted == 1)
    }

    /// A session's steps in order (empty for another tenant's session).
    pub async fn steps(&self, tenant: TenantId, session_id: Uuid) -> Result<Vec<Step>, StoreError> {
        Ok(session_step::Entity::find()
            .filter(session_step::Column::TenantId.eq(tenant.as_uuid()))
            .filter(session_step::Column::SessionId.eq(session_id))
            .order_by_asc(session_step::Column::StepIndex)
            .all(&self.db)
            .await?)
    }

    async fn after_leased_update(
        &self,
        tenant: TenantId,
        id: Uuid,
        rows: u64,
    ) -> Result<Session, StoreError> {
        let current = self
            .session(tenant, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if rows == 0 {
            return Err(StoreError::conflict(
                "the session is not held by this worker (lease lost or session finished)",
            ));
        }
        Ok(current)
    }
}

fn held_by(tenant: TenantId, id: Uuid, worker: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(session::Column::TenantId.eq(tenant.as_uuid()))
        .add(session::Column::Id.eq(id))
        .add(session::Column::LeaseOwner.eq(worker))
        .add(session::Column::Status.is_in(LEASED))
}
