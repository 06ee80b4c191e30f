//! sessions (diagnosis of an incident on an environment, leased by workers) and their steps.
//!
//! `session_steps` has the primary key `(session_id, step_index)`, so a retried step write is
//! idempotent.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TenantId,
    IncidentId,
    EnvironmentId,
    Status,
    LeaseOwner,
    LeaseExpiresAt,
    Attempts,
    Result,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum SessionSteps {
    Table,
    SessionId,
    StepIndex,
    TenantId,
    Role,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Environments {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_uuid(Sessions::Id))
                    .col(uuid(Sessions::TenantId))
                    .col(uuid(Sessions::IncidentId))
                    .col(uuid(Sessions::EnvironmentId))
                    .col(string(Sessions::Status))
                    .col(string_null(Sessions::LeaseOwner))
                    .col(timestamp_with_time_zone_null(Sessions::LeaseExpiresAt))
                    .col(integer(Sessions::Attempts).default(0))
                    .col(json_null(Sessions::Result))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone_null(Sessions::StartedAt))
                    .col(timestamp_with_time_zone_null(Sessions::FinishedAt))
                    .foreign_key(&mut tenant_fk("sessions"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_incident")
                            .from(Sessions::Table, Sessions::IncidentId)
                            .to(Incidents::Table, Incidents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_environment")
                            .from(Sessions::Table, Sessions::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_sessions_tenant_incident",
                Sessions::Table,
                &["tenant_id", "incident_id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_sessions_tenant_status",
                Sessions::Table,
                &["tenant_id", "status", "created_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_sessions_status_created",
                Sessions::Table,
                &["status", "created_at"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SessionSteps::Table)
                    .col(uuid(SessionSteps::SessionId))
                    .col(integer(SessionSteps::StepIndex))
                    .col(uuid(SessionSteps::TenantId))
                    .col(string(SessionSteps::Role))
                    .col(json(SessionSteps::Payload))
                    .col(timestamp_with_time_zone(SessionSteps::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(SessionSteps::SessionId)
                            .col(SessionSteps::StepIndex),
                    )
                    .foreign_key(&mut tenant_fk("session_steps"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_session_steps_session")
                            .from(SessionSteps::Table, SessionSteps::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_session_steps_tenant_session",
                SessionSteps::Table,
                &["tenant_id", "session_id", "step_index"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SessionSteps::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await
    }
}
