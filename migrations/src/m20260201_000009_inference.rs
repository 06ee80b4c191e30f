//! The tenant's inference: its policy (external backends, identifier redaction, quotas) and its
//! model registry (LoRA adapters over a base model, each version candidate | canary | active |
//! retired). Existing tenants' admins are granted `models/manage`, which new tenants get from
//! their seeded policies.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TenantInferencePolicies {
    Table,
    TenantId,
    AllowExternal,
    RedactIdentifiers,
    MaxConcurrent,
    TokensPerMinute,
    TokensPerDay,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum ModelAdapters {
    Table,
    Id,
    TenantId,
    Name,
    Version,
    BaseModel,
    Source,
    Status,
    CanaryPercent,
    Notes,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ActivatedAt,
}

/// The casbin line granting a tenant's admins `models/manage`, for tenants created before it.
const GRANT: &str = "INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) \
     SELECT 'p', 'role:admin', t.slug, 'models', 'manage', '', '' FROM tenants t \
     WHERE NOT EXISTS (SELECT 1 FROM casbin_rule c WHERE c.ptype = 'p' AND c.v0 = 'role:admin' \
     AND c.v1 = t.slug AND c.v2 = 'models' AND c.v3 = 'manage')";

const REVOKE: &str =
    "DELETE FROM casbin_rule WHERE ptype = 'p' AND v2 = 'models' AND v3 = 'manage'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TenantInferencePolicies::Table)
                    .col(uuid(TenantInferencePolicies::TenantId).primary_key())
                    .col(boolean(TenantInferencePolicies::AllowExternal))
                    .col(boolean(TenantInferencePolicies::RedactIdentifiers))
                    .col(integer_null(TenantInferencePolicies::MaxConcurrent))
                    .col(big_integer_null(TenantInferencePolicies::TokensPerMinute))
                    .col(big_integer_null(TenantInferencePolicies::TokensPerDay))
                    .col(timestamp_with_time_zone(TenantInferencePolicies::UpdatedAt))
                    .col(string(TenantInferencePolicies::UpdatedBy))
                    .foreign_key(&mut tenant_fk("tenant_inference_policies"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ModelAdapters::Table)
                    .col(pk_uuid(ModelAdapters::Id))
                    .col(uuid(ModelAdapters::TenantId))
                    .col(string(ModelAdapters::Name))
                    .col(integer(ModelAdapters::Version))
                    .col(string(ModelAdapters::BaseModel))
                    .col(text(ModelAdapters::Source))
                    .col(string(ModelAdapters::Status))
                    .col(integer(ModelAdapters::CanaryPercent))
                    .col(text(ModelAdapters::Notes))
                    .col(string(ModelAdapters::CreatedBy))
                    .col(timestamp_with_time_zone(ModelAdapters::CreatedAt))
                    .col(timestamp_with_time_zone(ModelAdapters::UpdatedAt))
                    .col(timestamp_with_time_zone_null(ModelAdapters::ActivatedAt))
                    .foreign_key(&mut tenant_fk("model_adapters"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_model_adapters_tenant_name_version",
                ModelAdapters::Table,
                &["tenant_id", "name", "version"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_model_adapters_tenant_status",
                ModelAdapters::Table,
                &["tenant_id", "status"],
                false,
            ))
            .await?;
        manager.get_connection().execute_unprepared(GRANT).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(REVOKE).await?;
        manager
            .drop_table(Table::drop().table(ModelAdapters::Table).to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(TenantInferencePolicies::Table)
                    .to_owned(),
            )
            .await
    }
}
