//! The learning loop's tables: operators' verdicts on sessions, the evolver's job list (failed
//! or wrong sessions waiting to be turned into a signal), and the corrective signals it drafts
//! for admins to review.
//!
//! `evolver_jobs` has one row per session (primary key `session_id`), so enqueuing a session
//! twice is a no-op and a job survives restarts until a worker finishes it. A signal keeps its
//! source session's id after the session is deleted (`ON DELETE SET NULL`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SessionVerdicts {
    Table,
    SessionId,
    TenantId,
    Correct,
    Category,
    DecidedBy,
    DecidedAt,
}

#[derive(DeriveIden)]
enum EvolverJobs {
    Table,
    SessionId,
    TenantId,
    Reason,
    Status,
    Detail,
    ClaimedBy,
    ClaimedAt,
    Attempts,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum CorrectiveSignals {
    Table,
    Id,
    TenantId,
    SourceSessionId,
    ProblemId,
    TaskType,
    Patterns,
    FirstWrongStep,
    Evidence,
    FailedCommands,
    Plan,
    EditedPlan,
    Rationale,
    Verification,
    Verified,
    Lesson,
    Symptoms,
    Status,
    AutoApproved,
    Reviewer,
    ReviewReason,
    CreatedAt,
    ReviewedAt,
}

/// `table(column)` referencing `sessions(id)`.
fn session_fk(table: &str, column: &str, on_delete: ForeignKeyAction) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_session"))
        .from(Alias::new(table), Alias::new(column))
        .to(Sessions::Table, Sessions::Id)
        .on_delete(on_delete)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SessionVerdicts::Table)
                    .col(pk_uuid(SessionVerdicts::SessionId))
                    .col(uuid(SessionVerdicts::TenantId))
                    .col(boolean(SessionVerdicts::Correct))
                    .col(string_null(SessionVerdicts::Category))
                    .col(string(SessionVerdicts::DecidedBy))
                    .col(timestamp_with_time_zone(SessionVerdicts::DecidedAt))
                    .foreign_key(&mut tenant_fk("session_verdicts"))
                    .foreign_key(&mut session_fk(
                        "session_verdicts",
                        "session_id",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_session_verdicts_tenant",
                SessionVerdicts::Table,
                &["tenant_id", "decided_at"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EvolverJobs::Table)
                    .col(pk_uuid(EvolverJobs::SessionId))
                    .col(uuid(EvolverJobs::TenantId))
                    .col(string(EvolverJobs::Reason))
                    .col(string(EvolverJobs::Status))
                    .col(text(EvolverJobs::Detail))
                    .col(string_null(EvolverJobs::ClaimedBy))
                    .col(timestamp_with_time_zone_null(EvolverJobs::ClaimedAt))
                    .col(integer(EvolverJobs::Attempts).default(0))
                    .col(timestamp_with_time_zone(EvolverJobs::CreatedAt))
                    .col(timestamp_with_time_zone_null(EvolverJobs::FinishedAt))
                    .foreign_key(&mut tenant_fk("evolver_jobs"))
                    .foreign_key(&mut session_fk(
                        "evolver_jobs",
                        "session_id",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_evolver_jobs_status_created",
                EvolverJobs::Table,
                &["status", "created_at"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CorrectiveSignals::Table)
                    .col(pk_uuid(CorrectiveSignals::Id))
                    .col(uuid(CorrectiveSignals::TenantId))
                    .col(uuid_null(CorrectiveSignals::SourceSessionId))
                    .col(string(CorrectiveSignals::ProblemId))
                    .col(string(CorrectiveSignals::TaskType))
                    .col(json(CorrectiveSignals::Patterns))
                    .col(integer_null(CorrectiveSignals::FirstWrongStep))
                    .col(json(CorrectiveSignals::Evidence))
                    .col(json(CorrectiveSignals::FailedCommands))
                    .col(json(CorrectiveSignals::Plan))
                    .col(json_null(CorrectiveSignals::EditedPlan))
                    .col(text(CorrectiveSignals::Rationale))
                    .col(json(CorrectiveSignals::Verification))
                    .col(boolean(CorrectiveSignals::Verified))
                    .col(text(CorrectiveSignals::Lesson))
                    .col(json(CorrectiveSignals::Symptoms))
                    .col(string(CorrectiveSignals::Status))
                    .col(boolean(CorrectiveSignals::AutoApproved))
                    .col(string_null(CorrectiveSignals::Reviewer))
                    .col(text_null(CorrectiveSignals::ReviewReason))
                    .col(timestamp_with_time_zone(CorrectiveSignals::CreatedAt))
                    .col(timestamp_with_time_zone_null(CorrectiveSignals::ReviewedAt))
                    .foreign_key(&mut tenant_fk("corrective_signals"))
                    .foreign_key(&mut session_fk(
                        "corrective_signals",
                        "source_session_id",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_corrective_signals_tenant_status",
                CorrectiveSignals::Table,
                &["tenant_id", "status", "created_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_corrective_signals_tenant_session",
                CorrectiveSignals::Table,
                &["tenant_id", "source_session_id"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CorrectiveSignals::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(EvolverJobs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SessionVerdicts::Table).to_owned())
            .await
    }
}
