//! incidents (deduplicated by alert fingerprint while active) and the alerts attached to them.
//!
//! `dedup_key` holds the fingerprint while the incident is active and NULL once it is resolved
//! or closed, so the unique `(tenant_id, dedup_key)` index allows one active incident per
//! fingerprint and any number of past ones (NULLs never collide on SQLite or PostgreSQL).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
    TenantId,
    Fingerprint,
    DedupKey,
    Title,
    Severity,
    Service,
    Namespace,
    State,
    Labels,
    CreatedAt,
    UpdatedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Id,
    TenantId,
    IncidentId,
    Fingerprint,
    Status,
    Labels,
    Annotations,
    StartsAt,
    EndsAt,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Incidents::Table)
                    .col(pk_uuid(Incidents::Id))
                    .col(uuid(Incidents::TenantId))
                    .col(string(Incidents::Fingerprint))
                    .col(string_null(Incidents::DedupKey))
                    .col(text(Incidents::Title))
                    .col(string(Incidents::Severity))
                    .col(string_null(Incidents::Service))
                    .col(string_null(Incidents::Namespace))
                    .col(string(Incidents::State))
                    .col(json(Incidents::Labels))
                    .col(timestamp_with_time_zone(Incidents::CreatedAt))
                    .col(timestamp_with_time_zone(Incidents::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Incidents::ResolvedAt))
                    .foreign_key(&mut tenant_fk("incidents"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_incidents_tenant_dedup",
                Incidents::Table,
                &["tenant_id", "dedup_key"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_incidents_tenant_state_created",
                Incidents::Table,
                &["tenant_id", "state", "created_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_incidents_tenant_fingerprint",
                Incidents::Table,
                &["tenant_id", "fingerprint"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alerts::Table)
                    .col(pk_uuid(Alerts::Id))
                    .col(uuid(Alerts::TenantId))
                    .col(uuid(Alerts::IncidentId))
                    .col(string(Alerts::Fingerprint))
                    .col(string(Alerts::Status))
                    .col(json(Alerts::Labels))
                    .col(json(Alerts::Annotations))
                    .col(timestamp_with_time_zone(Alerts::StartsAt))
                    .col(timestamp_with_time_zone_null(Alerts::EndsAt))
                    .col(timestamp_with_time_zone(Alerts::ReceivedAt))
                    .foreign_key(&mut tenant_fk("alerts"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alerts_incident")
                            .from(Alerts::Table, Alerts::IncidentId)
                            .to(Incidents::Table, Incidents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_alerts_tenant_incident",
                Alerts::Table,
                &["tenant_id", "incident_id", "received_at"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alerts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Incidents::Table).to_owned())
            .await
    }
}
