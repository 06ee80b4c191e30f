//! Plugins: the packages a platform admin uploaded (platform-wide, one row per name and
//! version, the signed package document kept whole so it is verified again when loaded) and
//! each tenant's installations (one per plugin name: the version in use, the one before it for
//! rollback, whether enabled, plain config values, and the secret values encrypted by the
//! platform; the store never sees them in clear).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PluginPackages {
    Table,
    Id,
    Name,
    Version,
    Publisher,
    Kind,
    Description,
    Manifest,
    Package,
    KeyId,
    PayloadSha256,
    UploadedBy,
    UploadedAt,
}

#[derive(DeriveIden)]
enum PluginInstallations {
    Table,
    Id,
    TenantId,
    PluginName,
    Version,
    PreviousVersion,
    Enabled,
    Config,
    Secrets,
    InstalledBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginPackages::Table)
                    .col(pk_uuid(PluginPackages::Id))
                    .col(string(PluginPackages::Name))
                    .col(string(PluginPackages::Version))
                    .col(string(PluginPackages::Publisher))
                    .col(string(PluginPackages::Kind))
                    .col(text(PluginPackages::Description))
                    .col(json(PluginPackages::Manifest))
                    .col(text(PluginPackages::Package))
                    .col(string(PluginPackages::KeyId))
                    .col(string(PluginPackages::PayloadSha256))
                    .col(string(PluginPackages::UploadedBy))
                    .col(timestamp_with_time_zone(PluginPackages::UploadedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_plugin_packages_name_version",
                PluginPackages::Table,
                &["name", "version"],
                true,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PluginInstallations::Table)
                    .col(pk_uuid(PluginInstallations::Id))
                    .col(uuid(PluginInstallations::TenantId))
                    .col(string(PluginInstallations::PluginName))
                    .col(string(PluginInstallations::Version))
                    .col(string_null(PluginInstallations::PreviousVersion))
                    .col(boolean(PluginInstallations::Enabled))
                    .col(json(PluginInstallations::Config))
                    .col(text(PluginInstallations::Secrets))
                    .col(string(PluginInstallations::InstalledBy))
                    .col(timestamp_with_time_zone(PluginInstallations::CreatedAt))
                    .col(timestamp_with_time_zone(PluginInstallations::UpdatedAt))
                    .foreign_key(&mut tenant_fk("plugin_installations"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_plugin_installations_tenant_name",
                PluginInstallations::Table,
                &["tenant_id", "plugin_name"],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PluginInstallations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PluginPackages::Table).to_owned())
            .await
    }
}
