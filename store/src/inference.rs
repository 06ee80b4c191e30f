//! The tenant's inference: its policy row and its model registry (versions of LoRA adapters
//! moving candidate -> canary -> active -> retired). Every status change that touches several
//! rows runs in one transaction, with the name's rows locked on PostgreSQL, so a name never has
//! two canaries or two active versions.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use crate::entity::{inference_policy, model_adapter};
use crate::{AdapterStatus, InferencePolicyRecord, ModelAdapter, Store, StoreError, TenantId, now};

/// A tenant's policy to store (every field; `None` quotas mean unlimited).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInferencePolicy {
    pub allow_external: bool,
    pub redact_identifiers: bool,
    pub max_concurrent: Option<i32>,
    pub tokens_per_minute: Option<i64>,
    pub tokens_per_day: Option<i64>,
    /// Who set it (an audit actor, `user:<id>`).
    pub updated_by: String,
}

/// A new version of an adapter; its version number is the name's highest plus one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAdapterVersion {
    pub name: String,
    pub base_model: String,
    /// What vLLM loads (`lora_path`).
    pub source: String,
    pub notes: String,
    pub created_by: String,
}

/// What a promotion changed: the promoted version, the status it left, and the versions it
/// retired (the previous canary or the previous active of the same name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterPromotion {
    pub adapter: ModelAdapter,
    pub from: AdapterStatus,
    pub retired: Vec<ModelAdapter>,
}

/// What a roll-back changed: the version taken out of service (a canary, or the active
/// version), the status it had, and the version active again (none when a canary was
/// aborted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterRollback {
    pub retired: ModelAdapter,
    pub retired_from: AdapterStatus,
    pub restored: Option<ModelAdapter>,
}

/// How many times a version insert is retried when a concurrent insert took its number.
const INSERT_ATTEMPTS: usize = 3;

impl Store {
    /// The tenant's stored policy; `None` when the tenant uses the configured defaults.
    pub async fn inference_policy(
        &self,
        tenant: TenantId,
    ) -> Result<Option<InferencePolicyRecord>, StoreError> {
        Ok(inference_policy::Entity::find_by_id(tenant.as_uuid())
            .one(&self.db)
            .await?)
    }

    /// Inserts or replaces the tenant's policy.
    pub async fn set_inference_policy(
        &self,
        tenant: TenantId,
        policy: NewInferencePolicy,
    ) -> Result<InferencePolicyRecord, StoreError> {
        use inference_policy::Column;
        self.require_tenant(tenant).await?;
        inference_policy::Entity::insert(inference_policy::ActiveModel {
            tenant_id: Set(tenant.as_uuid()),
            allow_external: Set(policy.allow_external),
            redact_identifiers: Set(policy.redact_identifiers),
            max_concurrent: Set(policy.max_concurrent),
            tokens_per_minute: Set(policy.tokens_per_minute),
            tokens_per_day: Set(policy.tokens_per_day),
            updated_at: Set(now()),
            updated_by: Set(policy.updated_by),
        })
        .on_conflict(
            OnConflict::column(Column::TenantId)
                .update_columns([
                    Column::AllowExternal,
                    Column::RedactIdentifiers,
                    Column::MaxConcurrent,
                    Column::TokensPerMinute,
                    Column::TokensPerDay,
                    Column::UpdatedAt,
                    Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        self.inference_policy(tenant)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Registers the next version of `new.name` as a candidate (version 1 for a new name).
    pub async fn insert_adapter_version(
        &self,
        tenant: TenantId,
        new: NewAdapterVersion,
    ) -> Result<ModelAdapter, StoreError> {
        self.require_tenant(tenant).await?;
        let mut last = StoreError::conflict("adapter version");
        for _ in 0..INSERT_ATTEMPTS {
            match self.try_insert_adapter_version(tenant, &new).await {
                Err(StoreError::Conflict { what }) => {
                    last = StoreError::Conflict { what };
                }
                other => return other,
            }
        }
        Err(last)
    }

    async fn try_insert_adapter_version(
        &self,
        tenant: TenantId,
        new: &NewAdapterVersion,
    ) -> Result<ModelAdapter, StoreError> {
        let txn = self.db.begin().await?;
        let versions = lock_name(&txn, tenant, &new.name).await?;
        let version = versions.iter().map(|a| a.version).max().unwrap_or(0) + 1;
        let at = now();
        let row = model_adapter::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            name: Set(new.name.clone()),
            version: Set(version),
            base_model: Set(new.base_model.clone()),
            source: Set(new.source.clone()),
            status: Set(AdapterStatus::Candidate),
            canary_percent: Set(0),
            notes: Set(new.notes.clone()),
            created_by: Set(new.created_by.clone()),
            created_at: Set(at),
            updated_at: Set(at),
            activated_at: Set(None),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    /// The tenant's adapter versions (of `name` only, when given), by name then version.
    pub async fn adapters(
        &self,
        tenant: TenantId,
        name: Option<&str>,
    ) -> Result<Vec<ModelAdapter>, StoreError> {
        let mut query = model_adapter::Entity::find()
            .filter(model_adapter::Column::TenantId.eq(tenant.as_uuid()));
        if let Some(name) = name {
            query = query.filter(model_adapter::Column::Name.eq(name));
        }
        Ok(query
            .order_by_asc(model_adapter::Column::Name)
            .order_by_asc(model_adapter::Column::Version)
            .all(&self.db)
            .await?)
    }

    /// The tenant's versions that are not retired (what requests can reach).
    pub async fn adapters_in_service(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<ModelAdapter>, StoreError> {
        Ok(model_adapter::Entity::find()
            .filter(model_adapter::Column::TenantId.eq(tenant.as_uuid()))
            .filter(model_adapter::Column::Status.ne(AdapterStatus::Retired))
            .order_by_asc(model_adapter::Column::Name)
            .order_by_asc(model_adapter::Column::Version)
            .all(&self.db)
            .await?)
    }

    /// One version of the tenant's adapter.
    pub async fn adapter(
        &self,
        tenant: TenantId,
        name: &str,
        version: i32,
    ) -> Result<Option<ModelAdapter>, StoreError> {
        Ok(model_adapter::Entity::find()
            .filter(model_adapter::Column::TenantId.eq(tenant.as_uuid()))
            .filter(model_adapter::Column::Name.eq(name))
            .filter(model_adapter::Column::Version.eq(version))
            .one(&self.db)
            .await?)
    }

    /// Promotes a version: candidate -> canary (with `canary_percent`), candidate -> active,
    /// canary -> active. A new canary retires the name's previous canary; a new active
    /// version retires the previous active one. Anything else is `InvalidTransition`; a
    /// missing version is `NotFound`.
    pub async fn promote_adapter(
        &self,
        tenant: TenantId,
        name: &str,
        version: i32,
        to: AdapterStatus,
        canary_percent: i32,
    ) -> Result<AdapterPromotion, StoreError> {
        let txn = self.db.begin().await?;
        let versions = lock_name(&txn, tenant, name).await?;
        let target = versions
            .iter()
            .find(|a| a.version == version)
            .cloned()
            .ok_or(StoreError::NotFound)?;
        let from = target.status;
        let allowed = matches!(
            (from, to),
            (AdapterStatus::Candidate, AdapterStatus::Canary)
                | (AdapterStatus::Candidate, AdapterStatus::Active)
                | (AdapterStatus::Canary, AdapterStatus::Active)
        );
        if !allowed {
            return Err(StoreError::InvalidTransition {
                from: from.to_string(),
                to: to.to_string(),
            });
        }
        let at = now();
        let mut retired = Vec::new();
        for other in versions
            .iter()
            .filter(|a| a.version != version && a.status == to)
        {
            retired.push(set_status(&txn, other.clone(), AdapterStatus::Retired, 0, at).await?);
        }
        let percent = if to == AdapterStatus::Canary {
            canary_percent
        } else {
            0
        };
        let adapter = set_status(&txn, target, to, percent, at).await?;
        txn.commit().await?;
        Ok(AdapterPromotion {
            adapter,
            from,
            retired,
        })
    }

    /// Rolls the name back: a canary is retired (the canary is aborted); without one, the
    /// active version is retired and the most recently retired version that was active
    /// before becomes active again. `NotFound` when the name has no version; `Conflict`
    /// saying why when there is nothing to roll back.
    pub async fn rollback_adapter(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<AdapterRollback, StoreError> {
        let txn = self.db.begin().await?;
        let versions = lock_name(&txn, tenant, name).await?;
        if versions.is_empty() {
            return Err(StoreError::NotFound);
        }
        let at = now();
        if let Some(canary) = versions.iter().find(|a| a.status == AdapterStatus::Canary) {
            let retired = set_status(&txn, canary.clone(), AdapterStatus::Retired, 0, at).await?;
            txn.commit().await?;
            return Ok(AdapterRollback {
                retired,
                retired_from: AdapterStatus::Canary,
                restored: None,
            });
        }
        let Some(active) = versions.iter().find(|a| a.status == AdapterStatus::Active) else {
            return Err(StoreError::conflict(format!(
                "adapter {name} has no canary and no active version to roll back"
            )));
        };
        let previous = versions
            .iter()
            .filter(|a| a.status == AdapterStatus::Retired && a.activated_at.is_some())
            .max_by_key(|a| (a.updated_at, a.version));
        let Some(previous) = previous else {
            return Err(StoreError::conflict(format!(
                "adapter {name} v{} is active and no earlier version was ever active: \
                 promote another version instead",
                active.version
            )));
        };
        let retired = set_status(&txn, active.clone(), AdapterStatus::Retired, 0, at).await?;
        let restored = set_status(&txn, previous.clone(), AdapterStatus::Active, 0, at).await?;
        txn.commit().await?;
        Ok(AdapterRollback {
            retired,
            retired_from: AdapterStatus::Active,
            restored: Some(restored),
        })
    }
}

/// Every version of the tenant's `name`, locked for this transaction: `FOR UPDATE` on
/// PostgreSQL; on SQLite a no-op write first takes the database's write lock (waiting for the
/// busy timeout), so a concurrent transaction never reads first and then fails to upgrade.
async fn lock_name(
    txn: &DatabaseTransaction,
    tenant: TenantId,
    name: &str,
) -> Result<Vec<ModelAdapter>, StoreError> {
    let mut query = model_adapter::Entity::find()
        .filter(model_adapter::Column::TenantId.eq(tenant.as_uuid()))
        .filter(model_adapter::Column::Name.eq(name))
        .order_by_asc(model_adapter::Column::Version);
    match txn.get_database_backend() {
        DbBackend::Postgres => query = query.lock_exclusive(),
        _ => {
            model_adapter::Entity::update_many()
                .col_expr(
                    model_adapter::Column::Version,
                    Expr::col(model_adapter::Column::Version),
                )
                .filter(model_adapter::Column::TenantId.eq(tenant.as_uuid()))
                .filter(model_adapter::Column::Name.eq(name))
                .exec(txn)
                .await?;
        }
    }
    Ok(query.all(txn).await?)
}

/// Writes `status` (and the canary share) on `row`; becoming active stamps `activated_at`.
async fn set_status(
    txn: &DatabaseTransaction,
    row: ModelAdapter,
    status: AdapterStatus,
    canary_percent: i32,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<ModelAdapter, StoreError> {
    let activated_at = if status == AdapterStatus::Active {
        Some(at)
    } else {
        row.activated_at
    };
    let mut active: model_adapter::ActiveModel = row.into();
    active.status = Set(status);
    active.canary_percent = Set(canary_percent);
    active.updated_at = Set(at);
    active.activated_at = Set(activated_at);
    Ok(active.update(txn).await?)
}
