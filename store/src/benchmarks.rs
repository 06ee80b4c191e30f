//! Benchmark runs: `aoi bench` reports recorded per tenant.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::entity::benchmark_run;
use crate::{BenchmarkRun, Store, StoreError, TenantId, now};

/// A report to record (checked by the caller).
#[derive(Clone, Debug)]
pub struct NewBenchmarkRun {
    pub name: String,
    pub suite: String,
    pub policy: String,
    pub runs: i32,
    pub tasks: i32,
    pub report: serde_json::Value,
    pub recorded_by: String,
}

/// A recorded run without its report, for lists.
#[derive(Clone, Debug, PartialEq, serde::Serialize, sea_orm::FromQueryResult)]
pub struct BenchmarkRunSummary {
    pub id: Uuid,
    pub name: String,
    pub suite: String,
    pub policy: String,
    pub runs: i32,
    pub tasks: i32,
    pub recorded_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Store {
    pub async fn record_benchmark_run(
        &self,
        tenant: TenantId,
        run: NewBenchmarkRun,
    ) -> Result<BenchmarkRun, StoreError> {
        self.require_tenant(tenant).await?;
        let row = benchmark_run::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            name: Set(run.name),
            suite: Set(run.suite),
            policy: Set(run.policy),
            runs: Set(run.runs),
            tasks: Set(run.tasks),
            report: Set(run.report),
            recorded_by: Set(run.recorded_by),
            created_at: Set(now()),
        };
        Ok(benchmark_run::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await?)
    }

    /// The tenant's runs, newest first, without their reports.
    pub async fn benchmark_runs(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<BenchmarkRunSummary>, StoreError> {
        use benchmark_run::Column;
        Ok(benchmark_run::Entity::find()
            .select_only()
            .columns([
                Column::Id,
                Column::Name,
                Column::Suite,
                Column::Policy,
                Column::Runs,
                Column::Tasks,
                Column::RecordedBy,
                Column::CreatedAt,
            ])
            .filter(Column::TenantId.eq(tenant.as_uuid()))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .into_model::<BenchmarkRunSummary>()
            .all(&self.db)
            .await?)
    }

    /// One run of the tenant, with its report.
    pub async fn benchmark_run(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<BenchmarkRun>, StoreError> {
        Ok(benchmark_run::Entity::find_by_id(id)
            .filter(benchmark_run::Column::TenantId.eq(tenant.as_uuid()))
            .one(&self.db)
            .await?)
    }
}
