//! approvals of gated writes: pending until decided once, or expired past the deadline.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Approvals {
    Table,
    Id,
    TenantId,
    SessionId,
    Status,
    Request,
    RequestedAt,
    Deadline,
    DecidedBy,
    DecidedAt,
    Reason,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Approvals::Table)
                    .col(pk_uuid(Approvals::Id))
                    .col(uuid(Approvals::TenantId))
                    .col(uuid_null(Approvals::SessionId))
                    .col(string(Approvals::Status))
                    .col(json(Approvals::Request))
                    .col(timestamp_with_time_zone(Approvals::RequestedAt))
                    .col(timestamp_with_time_zone(Approvals::Deadline))
                    .col(string_null(Approvals::DecidedBy))
                    .col(timestamp_with_time_zone_null(Approvals::DecidedAt))
                    .col(text_null(Approvals::Reason))
                    .foreign_key(&mut tenant_fk("approvals"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_approvals_session")
                            .from(Approvals::Table, Approvals::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_approvals_tenant_status",
                Approvals::Table,
                &["tenant_id", "status", "requested_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_approvals_status_deadline",
                Approvals::Table,
                &["status", "deadline"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Approvals::Table).to_owned())
            .await
    }
}
