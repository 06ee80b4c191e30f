//! casbin_rule in casbin's usual shape (id, ptype, v0..v5); tenants appear as casbin domains.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CasbinRule {
    Table,
    Id,
    Ptype,
    V0,
    V1,
    V2,
    V3,
    V4,
    V5,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CasbinRule::Table)
                    .col(big_pk_auto(CasbinRule::Id))
                    .col(string(CasbinRule::Ptype))
                    .col(string(CasbinRule::V0).default(""))
                    .col(string(CasbinRule::V1).default(""))
                    .col(string(CasbinRule::V2).default(""))
                    .col(string(CasbinRule::V3).default(""))
                    .col(string(CasbinRule::V4).default(""))
                    .col(string(CasbinRule::V5).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_casbin_rule",
                CasbinRule::Table,
                &["ptype", "v0", "v1", "v2", "v3", "v4", "v5"],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CasbinRule::Table).to_owned())
            .await
    }
}
