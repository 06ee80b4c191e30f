use sea_orm::entity::prelude::*;
use serde::Serialize;

/// An uploaded plugin package (platform-wide). `package` is the signed document as uploaded.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "plugin_packages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub version: String,
    pub publisher: String,
    /// `builtin`, `wasm`, `http` or `mcp`.
    pub kind: String,
    pub description: String,
    pub manifest: Json,
    #[serde(skip)]
    pub package: String,
    pub key_id: String,
    pub payload_sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
