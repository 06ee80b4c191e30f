//! guardrails per tenant: (action, namespace, service) patterns decide auto | ask | deny.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Guardrails {
    Table,
    Id,
    TenantId,
    ActionPattern,
    NamespacePattern,
    ServicePattern,
    Decision,
    Priority,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Guardrails::Table)
                    .col(pk_uuid(Guardrails::Id))
                    .col(uuid(Guardrails::TenantId))
                    .col(string(Guardrails::ActionPattern))
                    .col(string(Guardrails::NamespacePattern))
                    .col(string(Guardrails::ServicePattern))
                    .col(string(Guardrails::Decision))
                    .col(integer(Guardrails::Priority))
                    .col(timestamp_with_time_zone(Guardrails::CreatedAt))
                    .col(timestamp_with_time_zone(Guardrails::UpdatedAt))
                    .foreign_key(&mut tenant_fk("guardrails"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_guardrails_tenant_patterns",
                Guardrails::Table,
                &[
                    "tenant_id",
                    "action_pattern",
                    "namespace_pattern",
                    "service_pattern",
                ],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Guardrails::Table).to_owned())
            .await
    }
}
