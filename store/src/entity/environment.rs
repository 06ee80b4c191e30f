use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentKind {
    #[sea_orm(string_value = "twin")]
    Twin,
    #[sea_orm(string_value = "kubernetes")]
    Kubernetes,
    /// A cluster outside AOI whose tool calls an API client executes (the AIOpsLab bridge).
    #[sea_orm(string_value = "external")]
    External,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "environments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub kind: EnvironmentKind,
    /// The suite problem id; set for twins, NULL for kubernetes and external environments.
    pub problem_id: Option<String>,
    pub config: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
