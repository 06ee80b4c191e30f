use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One audit record. Append-only: the store has no update or delete for it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// NULL for platform events.
    pub tenant_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub decision: Option<String>,
    pub details: Json,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
