use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One `aoi bench` report recorded in a tenant.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "benchmark_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub suite: String,
    pub policy: String,
    /// Runs per task (the k of avg@k and best@k).
    pub runs: i32,
    /// Tasks in the report.
    pub tasks: i32,
    /// The report as `aoi bench --out` writes it.
    pub report: Json,
    pub recorded_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
