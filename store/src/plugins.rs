//! Plugin packages (platform-wide: uploaded by a platform admin, one row per name and version)
//! and installations (tenant-scoped: one per plugin name). Secrets arrive here already
//! encrypted; the store never sees them in clear.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::entity::{plugin_installation, plugin_package};
use crate::error::unique_as;
use crate::{PluginInstallation, PluginPackage, Store, StoreError, TenantId, now};

/// A verified package to keep.
#[derive(Clone, Debug)]
pub struct NewPluginPackage {
    pub name: String,
    pub version: String,
    pub publisher: String,
    pub kind: String,
    pub description: String,
    pub manifest: Json,
    /// The package document as uploaded (signature included).
    pub package: String,
    pub key_id: String,
    pub payload_sha256: String,
    pub uploaded_by: String,
}

/// A tenant's installation as the platform writes it.
#[derive(Clone, Debug)]
pub struct NewPluginInstallation {
    pub plugin_name: String,
    pub version: String,
    pub config: Json,
    /// Ciphertext of the secret values (empty when the plugin has none).
    pub secrets: String,
    pub installed_by: String,
}

/// A change to an installation.
#[derive(Clone, Debug)]
pub enum InstallationChange {
    Enable(bool),
    /// New config and secrets (secrets already encrypted).
    Configure { config: Json, secrets: String },
    /// Move to `version`, remembering the current one for rollback.
    Upgrade {
        version: String,
        config: Json,
        secrets: String,
    },
    /// Swap the current and the previous version; `Conflict` when there is none.
    Rollback,
}

impl Store {
    /// Not tenant-scoped: packages are platform-wide. `Conflict` when the version exists.
    pub async fn add_plugin_package(
        &self,
        new: NewPluginPackage,
    ) -> Result<PluginPackage, StoreError> {
        let what = format!(
            "plugin {} version {} is already uploaded; bump the version",
            new.name, new.version
        );
        plugin_package::ActiveModel {
            id: Set(Uuid::new_v4()),
            name: Set(new.name),
            version: Set(new.version),
            publisher: Set(new.publisher),
            kind: Set(new.kind),
            description: Set(new.description),
            manifest: Set(new.manifest),
            package: Set(new.package),
            key_id: Set(new.key_id),
            payload_sha256: Set(new.payload_sha256),
            uploaded_by: Set(new.uploaded_by),
            uploaded_at: Set(now()),
        }
        .insert(&self.db)
        .await
        .map_err(unique_as(&what))
    }

    /// Every uploaded package, by name then upload time. Not tenant-scoped (the catalog).
    pub async fn plugin_packages(&self) -> Result<Vec<PluginPackage>, StoreError> {
        Ok(plugin_package::Entity::find()
            .order_by_asc(plugin_package::Column::Name)
            .order_by_asc(plugin_package::Column::UploadedAt)
            .all(&self.db)
            .await?)
    }

    /// One uploaded package by name and version.
    pub async fn plugin_package(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<PluginPackage>, StoreError> {
        Ok(plugin_package::Entity::find()
            .filter(plugin_package::Column::Name.eq(name))
            .filter(plugin_package::Column::Version.eq(version))
            .one(&self.db)
            .await?)
    }

    /// Installs a plugin in the tenant, enabled. `Conflict` when it is installed already.
    pub async fn install_plugin(
        &self,
        tenant: TenantId,
        new: NewPluginInstallation,
    ) -> Result<PluginInstallation, StoreError> {
        self.require_tenant(tenant).await?;
        let what = format!(
            "plugin {} is already installed in this tenant; upgrade or configure it instead",
            new.plugin_name
        );
        let at = now();
        plugin_installation::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            plugin_name: Set(new.plugin_name),
            version: Set(new.version),
            previous_version: Set(None),
            enabled: Set(true),
            config: Set(new.config),
            secrets: Set(new.secrets),
            installed_by: Set(new.installed_by),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&self.db)
        .await
        .map_err(unique_as(&what))
    }

    /// The tenant's installations by plugin name.
    pub async fn plugin_installations(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<PluginInstallation>, StoreError> {
        Ok(plugin_installation::Entity::find()
            .filter(plugin_installation::Column::TenantId.eq(tenant.as_uuid()))
            .order_by_asc(plugin_installation::Column::PluginName)
            .all(&self.db)
            .await?)
    }

    pub async fn plugin_installation(
        &self,
        tenant: TenantId,
        plugin_name: &str,
    ) -> Result<Option<PluginInstallation>, StoreError> {
        Ok(plugin_installation::Entity::find()
            .filter(plugin_installation::Column::TenantId.eq(tenant.as_uuid()))
            .filter(plugin_installation::Column::PluginName.eq(plugin_name))
            .one(&self.db)
            .await?)
    }

    /// Applies `change` to the tenant's installation of `plugin_name`; `NotFound` when it is
    /// not installed, `Conflict` for a rollback with no previous version.
    pub async fn change_plugin_installation(
        &self,
        tenant: TenantId,
        plugin_name: &str,
        change: InstallationChange,
    ) -> Result<PluginInstallation, StoreError> {
        let row = self
            .plugin_installation(tenant, plugin_name)
            .await?
            .ok_or(StoreError::NotFound)?;
        let current = row.version.clone();
        let previous = row.previous_version.clone();
        let mut active = row.into_active_model();
        match change {
            InstallationChange::Enable(enabled) => active.enabled = Set(enabled),
            InstallationChange::Configure { config, secrets } => {
                active.config = Set(config);
                active.secrets = Set(secrets);
            }
            InstallationChange::Upgrade {
                version,
                config,
                secrets,
            } => {
                active.previous_version = Set(Some(current));
                active.version = Set(version);
                active.config = Set(config);
                active.secrets = Set(secrets);
            }
            InstallationChange::Rollback => {
                let Some(previous) = previous else {
                    return Err(StoreError::conflict(format!(
                        "plugin {plugin_name} has no previous version to roll back to"
                    )));
                };
                active.version = Set(previous);
                active.previous_version = Set(Some(current));
            }
        }
        active.updated_at = Set(now());
        Ok(active.update(&self.db).await?)
    }

    /// Removes the tenant's installation; `NotFound` when it is not installed.
    pub async fn uninstall_plugin(
        &self,
        tenant: TenantId,
        plugin_name: &str,
    ) -> Result<(), StoreError> {
        let result = plugin_installation::Entity::delete_many()
            .filter(plugin_installation::Column::TenantId.eq(tenant.as_uuid()))
            .filter(plugin_installation::Column::PluginName.eq(plugin_name))
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
