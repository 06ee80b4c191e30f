//! Environments: where sessions run (a twin problem, a kubernetes cluster, or an external
//! cluster whose tool calls an API client executes).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::entity::environment;
use crate::error::unique_as;
use crate::{Environment, EnvironmentKind, Store, StoreError, TenantId, now};

/// What kind of environment, with what each kind needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvironmentSpec {
    /// A simulated cluster running one suite problem.
    Twin {
        problem_id: String,
    },
    Kubernetes,
    /// A cluster outside AOI: the API client executes each tool call and posts its output
    /// (the task to run is in the environment's `config`).
    External,
}

#[derive(Clone, Debug)]
pub struct NewEnvironment {
    /// Unique in the tenant.
    pub name: String,
    pub spec: EnvironmentSpec,
    pub config: Json,
}

impl Store {
    /// `Conflict` when the name is taken in this tenant.
    pub async fn create_environment(
        &self,
        tenant: TenantId,
        new: NewEnvironment,
    ) -> Result<Environment, StoreError> {
        self.require_tenant(tenant).await?;
        let (kind, problem_id) = match new.spec {
            EnvironmentSpec::Twin { problem_id } => (EnvironmentKind::Twin, Some(problem_id)),
            EnvironmentSpec::Kubernetes => (EnvironmentKind::Kubernetes, None),
            EnvironmentSpec::External => (EnvironmentKind::External, None),
        };
        environment::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            name: Set(new.name),
            kind: Set(kind),
            problem_id: Set(problem_id),
            config: Set(new.config),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await
        .map_err(unique_as("environment name already exists in this tenant"))
    }

    /// The tenant's environments by name.
    pub async fn environments(&self, tenant: TenantId) -> Result<Vec<Environment>, StoreError> {
        Ok(environment::Entity::find()
            .filter(environment::Column::TenantId.eq(tenant.as_uuid()))
            .order_by_asc(environment::Column::Name)
            .all(&self.db)
            .await?)
    }

    pub async fn environment(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<Environment>, StoreError> {
        Ok(environment::Entity::find()
            .filter(environment::Column::TenantId.eq(tenant.as_uuid()))
            .filter(environment::Column::Id.eq(id))
            .one(&self.db)
            .await?)
    }
}
