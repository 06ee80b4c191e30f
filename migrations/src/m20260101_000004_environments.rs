//! environments per tenant: a twin (with a suite problem id) or a kubernetes cluster, JSON config.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Environments {
    Table,
    Id,
    TenantId,
    Name,
    Kind,
    ProblemId,
    Config,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Environments::Table)
                    .col(pk_uuid(Environments::Id))
                    .col(uuid(Environments::TenantId))
                    .col(string(Environments::Name))
                    .col(string(Environments::Kind))
                    .col(string_null(Environments::ProblemId))
                    .col(json(Environments::Config))
                    .col(timestamp_with_time_zone(Environments::CreatedAt))
                    .foreign_key(&mut tenant_fk("environments"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_environments_tenant_name",
                Environments::Table,
                &["tenant_id", "name"],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Environments::Table).to_owned())
            .await
    }
}
