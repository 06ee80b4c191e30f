//! audit_log: append-only, a sequence id, tenant NULL for platform events.
//!
//! Room is left for corrective signals (a later migration adds their tables).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    TenantId,
    Actor,
    Action,
    Target,
    Decision,
    Details,
    At,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Seq))
                    .col(uuid_null(AuditLog::TenantId))
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::Target))
                    .col(string_null(AuditLog::Decision))
                    .col(json(AuditLog::Details))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    // The audit trail outlives a deleted tenant: RESTRICT, never CASCADE.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_log_tenant")
                            .from(AuditLog::Table, AuditLog::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_audit_log_tenant_seq",
                AuditLog::Table,
                &["tenant_id", "seq"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_audit_log_tenant_at",
                AuditLog::Table,
                &["tenant_id", "at"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
