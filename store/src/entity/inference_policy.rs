use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A tenant's inference policy; a tenant without a row gets the configured defaults.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "tenant_inference_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Whether the tenant's traffic may reach `external` backends.
    pub allow_external: bool,
    /// Whether identifiers (hosts, IPs, emails...) are redacted before a prompt leaves.
    pub redact_identifiers: bool,
    pub max_concurrent: Option<i32>,
    pub tokens_per_minute: Option<i64>,
    pub tokens_per_day: Option<i64>,
    pub updated_at: DateTimeUtc,
    pub updated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
