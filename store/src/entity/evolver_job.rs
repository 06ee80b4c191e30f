use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where an evolver job stands: waiting, claimed by a worker, finished with a signal, or
/// finished without one (`skipped`: nothing to learn from; `failed`: drafting failed).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum EvolverJobStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "drafted")]
    Drafted,
    #[sea_orm(string_value = "skipped")]
    Skipped,
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl EvolverJobStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Drafted => "drafted",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    /// Drafted, skipped and failed are final.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Drafted | Self::Skipped | Self::Failed)
    }
}

/// A session waiting for the evolver (one row per session).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "evolver_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: Uuid,
    pub tenant_id: Uuid,
    /// Why it was enqueued: `evaluator_failed`, `out_of_budget`, `session_failed`,
    /// `operator_wrong`.
    pub reason: String,
    pub status: EvolverJobStatus,
    /// What the worker did (the signal id, or why nothing was stored).
    pub detail: String,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTimeUtc>,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
