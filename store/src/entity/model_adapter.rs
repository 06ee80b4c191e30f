use std::fmt;
use std::str::FromStr;

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a version of a tenant's adapter stands: registered (`candidate`), taking a share of
/// traffic (`canary`), serving (`active`) or out of service (`retired`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum AdapterStatus {
    #[sea_orm(string_value = "candidate")]
    Candidate,
    #[sea_orm(string_value = "canary")]
    Canary,
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "retired")]
    Retired,
}

impl AdapterStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [AdapterStatus; 4] = [
        AdapterStatus::Candidate,
        AdapterStatus::Canary,
        AdapterStatus::Active,
        AdapterStatus::Retired,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Candidate => "candidate",
            Self::Canary => "canary",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

impl fmt::Display for AdapterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is none of candidate, canary, active, retired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown adapter status `{0}`: use candidate, canary, active or retired")]
pub struct UnknownAdapterStatus(pub String);

impl FromStr for AdapterStatus {
    type Err = UnknownAdapterStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownAdapterStatus(s.to_owned()))
    }
}

/// One version of a tenant's LoRA adapter over a base model.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "model_adapters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// 1, 2, ... per (tenant, name).
    pub version: i32,
    pub base_model: String,
    /// What vLLM loads (`lora_path`).
    pub source: String,
    pub status: AdapterStatus,
    /// The share of the name's traffic (0..=100) a canary takes; 0 otherwise.
    pub canary_percent: i32,
    pub notes: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When this version last became active (kept after it retires, for roll-backs).
    pub activated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
