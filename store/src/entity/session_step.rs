use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One recorded step of a session; `(session_id, step_index)` is the key, so a retried write of
/// the same step is a no-op.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "session_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub step_index: i32,
    pub tenant_id: Uuid,
    pub role: String,
    pub payload: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
