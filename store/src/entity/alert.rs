use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Alertmanager's alert status.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    #[sea_orm(string_value = "firing")]
    Firing,
    #[sea_orm(string_value = "resolved")]
    Resolved,
}

/// One alert notification as received, attached to the incident it opened or joined.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub incident_id: Uuid,
    pub fingerprint: String,
    pub status: AlertStatus,
    pub labels: Json,
    pub annotations: Json,
    pub starts_at: DateTimeUtc,
    pub ends_at: Option<DateTimeUtc>,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
