//! Approvals: a gated write waits here for one decision, or expires at its deadline.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::entity::approval;
use crate::{Approval, ApprovalStatus, Store, StoreError, TenantId, now, truncate_micros};

#[derive(Clone, Debug)]
pub struct NewApproval {
    /// The session whose write waits, when a session asked.
    pub session_id: Option<Uuid>,
    /// The write request as JSON (tool, arguments, target).
    pub request: Json,
    pub deadline: DateTime<Utc>,
}

/// A person's answer to a pending approval.
#[derive(Clone, Debug)]
pub struct ApprovalDecision {
    pub approve: bool,
    pub decided_by: String,
    pub reason: Option<String>,
}

impl Store {
    /// `NotFound` when `session_id` names no session of this tenant.
    pub async fn create_approval(
        &self,
        tenant: TenantId,
        new: NewApproval,
    ) -> Result<Approval, StoreError> {
        self.require_tenant(tenant).await?;
        if let Some(session) = new.session_id {
            self.session(tenant, session)
                .await?
                .ok_or(StoreError::NotFound)?;
        }
        Ok(approval::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            session_id: Set(new.session_id),
            status: Set(ApprovalStatus::Pending),
            request: Set(new.request),
            requested_at: Set(now()),
            deadline: Set(truncate_micros(new.deadline)),
            decided_by: Set(None),
            decided_at: Set(None),
            reason: Set(None),
        }
        .insert(&self.db)
        .await?)
    }

    pub async fn approval(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<Approval>, StoreError> {
        Ok(approval::Entity::find()
            .filter(approval::Column::TenantId.eq(tenant.as_uuid()))
            .filter(approval::Column::Id.eq(id))
            .one(&self.db)
            .await?)
    }

    /// The tenant's approvals, oldest request first, optionally of one status.
    pub async fn approvals(
        &self,
        tenant: TenantId,
        status: Option<ApprovalStatus>,
    ) -> Result<Vec<Approval>, StoreError> {
        let mut query =
            approval::Entity::find().filter(approval::Column::TenantId.eq(tenant.as_uuid()));
        if let Some(status) = status {
            query = query.filter(approval::Column::Status.eq(status));
        }
        Ok(query
            .order_by_asc(approval::Column::RequestedAt)
            .order_by_asc(approval::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Decides a pending approval whose deadline has not passed at `now`. One conditional
    /// update, so of two concurrent deciders exactly one wins; the other gets `Conflict`.
    pub async fn decide_approval(
        &self,
        tenant: TenantId,
        id: Uuid,
        decision: ApprovalDecision,
        now: DateTime<Utc>,
    ) -> Result<Approval, StoreError> {
        let now = truncate_micros(now);
        let status = if decision.approve {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Denied
        };
        let done = approval::Entity::update_many()
            .set(approval::ActiveModel {
                status: Set(status),
                decided_by: Set(Some(decision.decided_by)),
                decided_at: Set(Some(now)),
                reason: Set(decision.reason),
                ..Default::default()
            })
            .filter(approval::Column::TenantId.eq(tenant.as_uuid()))
            .filter(approval::Column::Id.eq(id))
            .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
            .filter(approval::Column::Deadline.gt(now))
            .exec(&self.db)
            .await?;
        let current = self
            .approval(tenant, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if done.rows_affected == 0 {
            let what = match current.status {
                ApprovalStatus::Pending => "the approval's deadline has passed".to_owned(),
                other => format!("the approval is already {}", other.as_str()),
            };
            return Err(StoreError::Conflict { what });
        }
        Ok(current)
    }

    /// Platform sweep: pending approvals whose deadline is at or before `now` become expired.
    pub async fn expire_approvals(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let now = truncate_micros(now);
        Ok(approval::Entity::update_many()
            .set(approval::ActiveModel {
                status: Set(ApprovalStatus::Expired),
                decided_at: Set(Some(now)),
                ..Default::default()
            })
            .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
            .filter(approval::Column::Deadline.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
