//! Guardrails: per-tenant rules deciding auto | ask | deny for writes.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::OnConflict};
use uuid::Uuid;

use crate::entity::guardrail;
use crate::{Guardrail, GuardrailDecision, Store, StoreError, TenantId, now};

/// A rule to write. The three patterns identify it: writing the same patterns again updates
/// the decision and priority.
#[derive(Clone, Debug)]
pub struct GuardrailRule {
    pub action_pattern: String,
    pub namespace_pattern: String,
    pub service_pattern: String,
    pub decision: GuardrailDecision,
    pub priority: i32,
}

impl Store {
    /// The tenant's rules in evaluation order: highest priority first, then oldest.
    pub async fn guardrails(&self, tenant: TenantId) -> Result<Vec<Guardrail>, StoreError> {
        Ok(guardrail::Entity::find()
            .filter(guardrail::Column::TenantId.eq(tenant.as_uuid()))
            .order_by_desc(guardrail::Column::Priority)
            .order_by_asc(guardrail::Column::CreatedAt)
            .order_by_asc(guardrail::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Inserts the rule, or updates decision and priority of the rule with the same patterns.
    pub async fn upsert_guardrail(
        &self,
        tenant: TenantId,
        rule: GuardrailRule,
    ) -> Result<Guardrail, StoreError> {
        use guardrail::Column;
        self.require_tenant(tenant).await?;
        let at = now();
        guardrail::Entity::insert(guardrail::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            action_pattern: Set(rule.action_pattern.clone()),
            namespace_pattern: Set(rule.namespace_pattern.clone()),
            service_pattern: Set(rule.service_pattern.clone()),
            decision: Set(rule.decision),
            priority: Set(rule.priority),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .on_conflict(
            OnConflict::columns([
                Column::TenantId,
                Column::ActionPattern,
                Column::NamespacePattern,
                Column::ServicePattern,
            ])
            .update_columns([Column::Decision, Column::Priority, Column::UpdatedAt])
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        guardrail::Entity::find()
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .filter(Column::ActionPattern.eq(rule.action_pattern))
            .filter(Column::NamespacePattern.eq(rule.namespace_pattern))
            .filter(Column::ServicePattern.eq(rule.service_pattern))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// `NotFound` when the tenant has no such rule.
    pub async fn delete_guardrail(&self, tenant: TenantId, id: Uuid) -> Result<(), StoreError> {
        let done = guardrail::Entity::delete_many()
            .filter(guardrail::Column::TenantId.eq(tenant.as_uuid()))
            .filter(guardrail::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
