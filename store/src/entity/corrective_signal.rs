use std::fmt;
use std::str::FromStr;

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a corrective signal stands: drafted (`pending`), approved as drafted, approved after
/// an admin edited it (`edited`), or `rejected`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum SignalStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "approved")]
    Approved,
    #[sea_orm(string_value = "edited")]
    Edited,
    #[sea_orm(string_value = "rejected")]
    Rejected,
}

impl SignalStatus {
    /// Every status.
    pub const ALL: [SignalStatus; 4] = [
        SignalStatus::Pending,
        SignalStatus::Approved,
        SignalStatus::Edited,
        SignalStatus::Rejected,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Edited => "edited",
            Self::Rejected => "rejected",
        }
    }

    /// Approved as drafted or after an edit: its lesson reaches new sessions.
    pub fn is_approved(self) -> bool {
        matches!(self, Self::Approved | Self::Edited)
    }
}

impl fmt::Display for SignalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is none of pending, approved, edited, rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal status `{0}`: use pending, approved, edited or rejected")]
pub struct UnknownSignalStatus(pub String);

impl FromStr for SignalStatus {
    type Err = UnknownSignalStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownSignalStatus(s.to_owned()))
    }
}

/// A corrective signal the evolver drafted from a failed session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "corrective_signals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The failed session (none once that session is deleted).
    pub source_session_id: Option<Uuid>,
    pub problem_id: String,
    pub task_type: String,
    /// The failure patterns found (a JSON array).
    pub patterns: Json,
    /// The index of the first step that went wrong.
    pub first_wrong_step: Option<i32>,
    pub evidence: Json,
    pub failed_commands: Json,
    /// The repaired plan as drafted.
    pub plan: Json,
    /// The plan as an admin edited it.
    pub edited_plan: Option<Json>,
    pub rationale: String,
    /// The replay of the plan on the twin.
    pub verification: Json,
    /// Whether the replay fixed the problem.
    pub verified: bool,
    /// The paragraph given to the Observer.
    pub lesson: String,
    /// Keywords of the incident's symptoms (a JSON array of strings), for retrieval.
    pub symptoms: Json,
    pub status: SignalStatus,
    pub auto_approved: bool,
    /// The audit actor who decided.
    pub reviewer: Option<String>,
    /// Why it was rejected.
    pub review_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub reviewed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
