use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A tenant's installation of a plugin. `secrets` is ciphertext made by the platform; it is
/// never serialized.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "plugin_installations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub plugin_name: String,
    pub version: String,
    pub previous_version: Option<String>,
    pub enabled: bool,
    /// The non-secret config values.
    pub config: Json,
    #[serde(skip)]
    pub secrets: String,
    pub installed_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
