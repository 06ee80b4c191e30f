use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where an incident stands. Allowed moves: [`IncidentState::can_move_to`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    #[sea_orm(string_value = "open")]
    Open,
    #[sea_orm(string_value = "diagnosing")]
    Diagnosing,
    #[sea_orm(string_value = "awaiting_approval")]
    AwaitingApproval,
    #[sea_orm(string_value = "mitigated")]
    Mitigated,
    #[sea_orm(string_value = "resolved")]
    Resolved,
    #[sea_orm(string_value = "closed")]
    Closed,
}

impl IncidentState {
    /// The stored name (`awaiting_approval`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Diagnosing => "diagnosing",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Mitigated => "mitigated",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// Active incidents deduplicate new alerts; resolved and closed ones do not.
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed)
    }

    /// The state machine:
    /// open -> diagnosing | awaiting_approval | mitigated | resolved | closed;
    /// diagnosing -> open | awaiting_approval | mitigated | resolved | closed;
    /// awaiting_approval -> diagnosing | mitigated | resolved | closed;
    /// mitigated -> diagnosing | resolved | closed;
    /// resolved -> closed; closed is final. Staying in place is not a move.
    pub fn can_move_to(self, to: IncidentState) -> bool {
        use IncidentState::*;
        match self {
            Open => matches!(
                to,
                Diagnosing | AwaitingApproval | Mitigated | Resolved | Closed
            ),
            Diagnosing => matches!(to, Open | AwaitingApproval | Mitigated | Resolved | Closed),
            AwaitingApproval => matches!(to, Diagnosing | Mitigated | Resolved | Closed),
            Mitigated => matches!(to, Diagnosing | Resolved | Closed),
            Resolved => matches!(to, Closed),
            Closed => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "incidents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The Alertmanager fingerprint that opened the incident.
    pub fingerprint: String,
    /// The fingerprint while the incident is active, NULL once resolved or closed (the unique
    /// `(tenant_id, dedup_key)` index allows one active incident per fingerprint).
    #[serde(skip)]
    pub dedup_key: Option<String>,
    pub title: String,
    pub severity: String,
    pub service: Option<String>,
    pub namespace: Option<String>,
    pub state: IncidentState,
    pub labels: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
