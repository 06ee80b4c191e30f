//! benchmark_runs: `aoi bench` reports recorded in a tenant (the console charts them).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BenchmarkRuns {
    Table,
    Id,
    TenantId,
    Name,
    Suite,
    Policy,
    Runs,
    Tasks,
    Report,
    RecordedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BenchmarkRuns::Table)
                    .col(pk_uuid(BenchmarkRuns::Id))
                    .col(uuid(BenchmarkRuns::TenantId))
                    .col(string(BenchmarkRuns::Name))
                    .col(string(BenchmarkRuns::Suite))
                    .col(string(BenchmarkRuns::Policy))
                    .col(integer(BenchmarkRuns::Runs))
                    .col(integer(BenchmarkRuns::Tasks))
                    .col(json(BenchmarkRuns::Report))
                    .col(string(BenchmarkRuns::RecordedBy))
                    .col(timestamp_with_time_zone(BenchmarkRuns::CreatedAt))
                    .foreign_key(&mut tenant_fk("benchmark_runs"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_benchmark_runs_tenant_created",
                BenchmarkRuns::Table,
                &["tenant_id", "created_at"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BenchmarkRuns::Table).to_owned())
            .await
    }
}
