use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum GuardrailDecision {
    #[sea_orm(string_value = "auto")]
    Auto,
    #[sea_orm(string_value = "ask")]
    Ask,
    #[sea_orm(string_value = "deny")]
    Deny,
}

/// A tenant's rule: writes matching the three patterns get `decision`; higher priority wins.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "guardrails")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub action_pattern: String,
    pub namespace_pattern: String,
    pub service_pattern: String,
    pub decision: GuardrailDecision,
    pub priority: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
