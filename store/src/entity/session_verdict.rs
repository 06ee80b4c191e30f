use sea_orm::entity::prelude::*;
use serde::Serialize;

/// An operator's verdict on a finished session: right or wrong, with a category for wrong ones
/// (a failure pattern letter A..F or free text). One per session; a later verdict replaces it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "session_verdicts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: Uuid,
    pub tenant_id: Uuid,
    pub correct: bool,
    pub category: Option<String>,
    /// The audit actor who gave it (`user:<id>` or `key:<id>`).
    pub decided_by: String,
    pub decided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
