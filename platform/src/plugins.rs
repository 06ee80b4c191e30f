//! Plugins: the catalog (built-ins and packages a platform admin uploaded, each verified
//! against `plugins.trusted_publishers`), each tenant's installations (config with secrets
//! encrypted at rest and never shown back), and the tools they add to the tenant's sessions.
//!
//! One function per use case, called by REST, gRPC and `aoi plugins`. A plugin's tools reach a
//! session only through the agent's tool gateway: reads through the Probe's read-only handle,
//! writes through the gate (guardrails, approval, audit), like every other tool.

pub mod catalog;
pub mod runtime;
pub mod secrets;

use aoi_agent::ToolRegistry;
use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission};
use aoi_core::ToolCall;
use aoi_plugin_package::{Package, PluginManifest, verify};
use aoi_plugin_sdk::{PluginConfig, Toolset};
use aoi_store::{InstallationChange, NewPluginInstallation, NewPluginPackage, PluginInstallation, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::Platform;
use crate::audit;
use crate::ports::{internal, store_error};
use crate::tenants::scope_tenant;
pub use catalog::{CatalogEntry, ToolView};
pub use runtime::{LoadedPlugin, PluginLoadError, PluginRuntime};

/// A tenant's installation as the API shows it: secret values never, only which are set.
#[derive(Debug, Clone, Serialize)]
pub struct InstallationView {
    pub plugin: String,
    pub version: String,
    pub previous_version: Option<String>,
    pub enabled: bool,
    /// The plain config values.
    pub config: Map<String, Value>,
    /// Names of the secret fields that hold a value.
    pub secrets_set: Vec<String>,
    pub installed_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The body of install: the version (newest when absent) and the config, secrets included.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallRequest {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub config: Map<String, Value>,
}

/// The body of configure: values to set; a secret left out keeps its stored value, a value
/// of `null` removes the key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigureRequest {
    #[serde(default)]
    pub config: Map<String, Value>,
}

/// The body of upgrade: the target version (newest when absent) and config changes as in
/// configure.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgradeRequest {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub config: Map<String, Value>,
}

/// The result of an upload.
#[derive(Debug, Clone, Serialize)]
pub struct UploadedPlugin {
    pub name: String,
    pub version: String,
    pub publisher: String,
    pub key_id: String,
    pub kind: aoi_plugin_package::PluginKind,
    pub payload_sha256: String,
    pub tools: Vec<ToolView>,
}

/// What one tool call through `call_tool` returned.
#[derive(Debug, Clone, Serialize)]
pub struct ToolCallResult {
    pub tool: String,
    pub text: String,
    pub is_error: bool,
}

fn view(platform: &Platform, tenant: TenantId, row: &PluginInstallation) -> InstallationView {
    let secrets_set = platform
        .plugins
        .secrets
        .open(&tenant.to_string(), &row.plugin_name, &row.secrets)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    InstallationView {
        plugin: row.plugin_name.clone(),
        version: row.version.clone(),
        previous_version: row.previous_version.clone(),
        enabled: row.enabled,
        config: row.config.as_object().cloned().unwrap_or_default(),
        secrets_set,
        installed_by: row.installed_by.clone(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// The catalog with the caller's tenant's installations (`read_plugins`).
pub async fn catalog(platform: &Platform, proof: &Authorized) -> Result<Vec<CatalogEntry>, ApiError> {
    proof.require(Permission::ReadPlugins)?;
    let tenant = scope_tenant(platform, proof).await?;
    let packages = platform
        .store
        .plugin_packages()
        .await
        .map_err(store_error("plugin catalog"))?;
    let installed = platform
        .store
        .plugin_installations(tenant)
        .await
        .map_err(store_error("plugin installations"))?;
    let mut entries = catalog::entries(&packages);
    for entry in &mut entries {
        entry.installation = installed
            .iter()
            .find(|i| i.plugin_name == entry.name)
            .map(|row| view(platform, tenant, row));
    }
    Ok(entries)
}

/// Uploads a signed package to the catalog (`publish_plugins`, platform admins). Refused, with
/// the reason, when it is unsigned, tampered, from an untrusted publisher or key, names a
/// built-in, or its payload does not fit its kind.
pub async fn upload(
    platform: &Platform,
    proof: &Authorized,
    document: &[u8],
) -> Result<UploadedPlugin, ApiError> {
    proof.require(Permission::PublishPlugins)?;
    // The catalog is platform-wide; the record goes to the uploader's own tenant's log.
    let home = crate::tenants::tenant_id_of(platform, &proof.principal().tenant)
        .await
        .ok();
    let refused = |problem: String| {
        tracing::warn!(%problem, "plugin package refused");
        ApiError::invalid_input("package", problem)
    };
    let package = Package::from_json(document).map_err(|e| refused(e.to_string()))?;
    let verified = match verify(&package, &platform.plugins.trusted) {
        Ok(v) => v,
        Err(e) => {
            audit::record_write(
                platform,
                proof,
                home,
                "plugin.upload_refused",
                "plugin_catalog",
                json!({ "reason": e.to_string() }),
            )
            .await?;
            return Err(refused(e.to_string()));
        }
    };
    let manifest = verified.manifest.clone();
    if catalog::builtin(&manifest.name).is_some() {
        return Err(refused(format!(
            "manifest.name: `{}` is a built-in plugin; choose another name",
            manifest.name
        )));
    }
    platform
        .plugins
        .check_payload(&manifest, &verified.payload)
        .map_err(|e| refused(format!("payload: {e}")))?;
    let manifest_json =
        serde_json::to_value(&manifest).map_err(|e| internal("plugin manifest", &e.to_string()))?;
    let stored = package
        .to_json()
        .map_err(|e| internal("plugin package", &e.to_string()))?;
    let row = platform
        .store
        .add_plugin_package(NewPluginPackage {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            publisher: verified.publisher.clone(),
            kind: serde_json::to_value(manifest.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            description: manifest.description.clone(),
            manifest: manifest_json,
            package: stored,
            key_id: verified.key_id.clone(),
            payload_sha256: verified.payload_sha256.clone(),
            uploaded_by: audit::actor(proof.principal()),
        })
        .await
        .map_err(store_error(format!("plugin {}", manifest.name)))?;
    audit::record_write(
        platform,
        proof,
        home,
        "plugin.upload",
        &format!("plugin:{}@{}", row.name, row.version),
        json!({ "publisher": row.publisher, "key_id": row.key_id, "payload_sha256": row.payload_sha256, "kind": row.kind }),
    )
    .await?;
    Ok(UploadedPlugin {
        tools: catalog::tool_views(&manifest),
        name: row.name,
        version: row.version,
        publisher: row.publisher,
        key_id: row.key_id,
        kind: manifest.kind,
        payload_sha256: row.payload_sha256,
    })
}

/// The newest version of `name` in the catalog.
async fn newest_version(platform: &Platform, name: &str) -> Result<String, ApiError> {
    if let Some(b) = catalog::builtin(name) {
        return Ok((b.manifest)().version);
    }
    let packages = platform
        .store
        .plugin_packages()
        .await
        .map_err(store_error("plugin catalog"))?;
    packages
        .iter()
        .filter(|p| p.name == name)
        .map(|p| p.version.clone())
        .max_by(|a, b| catalog::compare_versions(a, b))
        .ok_or_else(|| ApiError::NotFound {
            what: format!("plugin {name} in the catalog"),
        })
}

/// The tool names an installation may not take: the environments' own tools and the tools of
/// the tenant's other installations.
async fn taken_tool_names(
    platform: &Platform,
    tenant: TenantId,
    except: &str,
) -> Result<BTreeSet<String>, ApiError> {
    let mut taken: BTreeSet<String> = aoi_twin::env::manifests()
        .into_iter()
        .map(|m| m.name)
        .collect();
    taken.insert("submit".into());
    let rows = platform
        .store
        .plugin_installations(tenant)
        .await
        .map_err(store_error("plugin installations"))?;
    for row in rows.iter().filter(|r| r.plugin_name != except) {
        if let Ok((manifest, _, _)) = platform
            .plugins
            .resolve(&platform.store, &row.plugin_name, &row.version)
            .await
        {
            taken.extend(manifest.tools.into_iter().map(|t| t.name));
        }
    }
    Ok(taken)
}

/// Checks config against the schema and that the toolset builds with it (a bad URL or a
/// module that does not load is refused before anything is stored).
async fn check_installable(
    platform: &Platform,
    tenant: TenantId,
    manifest: &PluginManifest,
    payload: &[u8],
    builtin: Option<&catalog::BuiltinPlugin>,
    config: &Map<String, Value>,
) -> Result<(), ApiError> {
    manifest
        .check_config(config)
        .map_err(|e| ApiError::invalid_input(e.field, e.message))?;
    let taken = taken_tool_names(platform, tenant, &manifest.name).await?;
    if let Some(tool) = manifest.tools.iter().find(|t| taken.contains(&t.name)) {
        return Err(ApiError::Conflict {
            what: format!(
                "tool {} of plugin {} is already provided in this tenant (by an environment or another plugin)",
                tool.name, manifest.name
            ),
        });
    }
    platform
        .plugins
        .instantiate(manifest, payload, builtin, &PluginConfig::new(config.clone()))
        .await
        .map(|_| ())
        .map_err(|e| ApiError::invalid_input("config", e))
}

/// Installs `name` in the caller's tenant (`manage_plugins`), enabled.
pub async fn install(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
    request: InstallRequest,
) -> Result<InstallationView, ApiError> {
    proof.require(Permission::ManagePlugins)?;
    let tenant = scope_tenant(platform, proof).await?;
    let version = match request.version {
        Some(v) => v,
        None => newest_version(platform, name).await?,
    };
    let (manifest, payload, builtin) = platform
        .plugins
        .resolve(&platform.store, name, &version)
        .await
        .map_err(|e| ApiError::NotFound { what: e })?;
    check_installable(platform, tenant, &manifest, &payload, builtin.as_ref(), &request.config)
        .await?;
    let (plain, secret) = catalog::split_secrets(&manifest, request.config);
    let sealed = platform
        .plugins
        .secrets
        .seal(&tenant.to_string(), name, &secret)
        .map_err(|e| internal("plugin secrets", &e))?;
    let row = platform
        .store
        .install_plugin(
            tenant,
            NewPluginInstallation {
                plugin_name: name.to_string(),
                version: version.clone(),
                config: Value::Object(plain.clone()),
                secrets: sealed,
                installed_by: audit::actor(proof.principal()),
            },
        )
        .await
        .map_err(store_error(format!("plugin {name}")))?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "plugin.install",
        &format!("plugin:{name}"),
        json!({ "version": version, "config_keys": plain.keys().collect::<Vec<_>>(), "secrets_set": secret.keys().collect::<Vec<_>>() }),
    )
    .await?;
    Ok(view(platform, tenant, &row))
}

async fn installation(
    platform: &Platform,
    tenant: TenantId,
    name: &str,
) -> Result<PluginInstallation, ApiError> {
    platform
        .store
        .plugin_installation(tenant, name)
        .await
        .map_err(store_error(format!("plugin {name}")))?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("installation of plugin {name} in this tenant"),
        })
}

async fn change(
    platform: &Platform,
    proof: &Authorized,
    tenant: TenantId,
    name: &str,
    change: InstallationChange,
    action: &str,
    details: Value,
) -> Result<InstallationView, ApiError> {
    let row = platform
        .store
        .change_plugin_installation(tenant, name, change)
        .await
        .map_err(store_error(format!("installation of plugin {name} in this tenant")))?;
    platform.plugins.forget(row.id);
    audit::record_write(platform, proof, Some(tenant), action, &format!("plugin:{name}"), details)
        .await?;
    Ok(view(platform, tenant, &row))
}

/// Enables or disables the tenant's installation (`manage_plugins`).
pub async fn set_enabled(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
    enabled: bool,
) -> Result<InstallationView, ApiError> {
    proof.require(Permission::ManagePlugins)?;
    let tenant = scope_tenant(platform, proof).await?;
    let action = if enabled { "plugin.enable" } else { "plugin.disable" };
    change(platform, proof, tenant, name, InstallationChange::Enable(enabled), action, json!({}))
        .await
}

/// The merged config after `updates`: secrets left out keep their stored values.
fn merged_config(
    platform: &Platform,
    tenant: TenantId,
    row: &PluginInstallation,
    updates: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut config = platform
        .plugins
        .full_config(tenant, row)
        .map_err(|e| ApiError::Conflict { what: e })?
        .0;
    for (k, v) in updates {
        if v.is_null() {
            config.remove(&k);
        } else {
            config.insert(k, v);
        }
    }
    Ok(config)
}

async fn reconfigure(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
    version: Option<String>,
    updates: Map<String, Value>,
) -> Result<InstallationView, ApiError> {
    proof.require(Permission::ManagePlugins)?;
    let tenant = scope_tenant(platform, proof).await?;
    let row = installation(platform, tenant, name).await?;
    let target = match (&version, version.is_some()) {
        (Some(v), _) => v.clone(),
        (None, true) => row.version.clone(),
        (None, false) => row.version.clone(),
    };
    let (manifest, payload, builtin) = platform
        .plugins
        .resolve(&platform.store, name, &target)
        .await
        .map_err(|e| ApiError::NotFound { what: e })?;
    let config = merged_config(platform, tenant, &row, updates)?;
    check_installable(platform, tenant, &manifest, &payload, builtin.as_ref(), &config).await?;
    let (plain, secret) = catalog::split_secrets(&manifest, config);
    let sealed = platform
        .plugins
        .secrets
        .seal(&tenant.to_string(), name, &secret)
        .map_err(|e| internal("plugin secrets", &e))?;
    let details = json!({ "version": target, "config_keys": plain.keys().collect::<Vec<_>>(), "secrets_set": secret.keys().collect::<Vec<_>>() });
    let (what, action) = if target == row.version {
        (
            InstallationChange::Configure {
                config: Value::Object(plain),
                secrets: sealed,
            },
            "plugin.configure",
        )
    } else {
        (
            InstallationChange::Upgrade {
                version: target,
                config: Value::Object(plain),
                secrets: sealed,
            },
            "plugin.upgrade",
        )
    };
    change(platform, proof, tenant, name, what, action, details).await
}

/// Changes the installation's config (`manage_plugins`).
pub async fn configure(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
    request: ConfigureRequest,
) -> Result<InstallationView, ApiError> {
    reconfigure(platform, proof, name, None, request.config).await
}

/// Moves the installation to another version (the newest when none is given), keeping the
/// current one for rollback (`manage_plugins`).
pub async fn upgrade(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
    request: UpgradeRequest,
) -> Result<InstallationView, ApiError> {
    let version = match request.version {
        Some(v) => v,
        None => newest_version(platform, name).await?,
    };
    reconfigure(platform, proof, name, Some(version), request.config).await
}

/// Goes back to the version before the last upgrade (`manage_plugins`).
pub async fn rollback(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
) -> Result<InstallationView, ApiError> {
    proof.require(Permission::ManagePlugins)?;
    let tenant = scope_tenant(platform, proof).await?;
    change(platform, proof, tenant, name, InstallationChange::Rollback, "plugin.rollback", json!({}))
        .await
}

/// Removes the tenant's installation and its stored secrets (`manage_plugins`).
pub async fn uninstall(platform: &Platform, proof: &Authorized, name: &str) -> Result<(), ApiError> {
    proof.require(Permission::ManagePlugins)?;
    let tenant = scope_tenant(platform, proof).await?;
    let row = installation(platform, tenant, name).await?;
    platform
        .store
        .uninstall_plugin(tenant, name)
        .await
        .map_err(store_error(format!("installation of plugin {name} in this tenant")))?;
    platform.plugins.forget(row.id);
    audit::record_write(platform, proof, Some(tenant), "plugin.uninstall", &format!("plugin:{name}"), json!({}))
        .await?;
    Ok(())
}

/// The tenant's enabled plugins' toolsets for a session, and those that failed to load.
pub async fn session_plugins(
    platform: &Platform,
    tenant: TenantId,
) -> Result<(Vec<LoadedPlugin>, Vec<PluginLoadError>), String> {
    platform.plugins.tenant_plugins(&platform.store, tenant).await
}

/// Runs one READ tool of an installed plugin, as a person trying it from the console or the
/// CLI (`start_session`: the same people who may have the agent run reads). The call goes
/// through the Probe's read-only handle: a write tool is refused here; writes only run inside a
/// session, through the gate.
pub async fn call_tool(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
    call: ToolCall,
) -> Result<ToolCallResult, ApiError> {
    proof.require(Permission::StartSession)?;
    let tenant = scope_tenant(platform, proof).await?;
    let row = installation(platform, tenant, name).await?;
    if !row.enabled {
        return Err(ApiError::Conflict {
            what: format!("plugin {name} is disabled in this tenant; enable it first"),
        });
    }
    let (loaded, failed) = session_plugins(platform, tenant)
        .await
        .map_err(|e| internal("plugins", &e))?;
    let Some(plugin) = loaded.into_iter().find(|p| p.name == name) else {
        let reason = failed
            .into_iter()
            .find(|f| f.plugin == name)
            .map_or_else(|| "it did not load".to_string(), |f| f.error);
        return Err(ApiError::Unavailable {
            what: format!("plugin {name}: {reason}"),
        });
    };
    let registry = ToolRegistry::new(vec![plugin.toolset.clone() as Arc<dyn Toolset>])
        .map_err(|e| internal("plugin tools", &e.to_string()))?;
    let tools = registry.read_only();
    let read = tools.authorize(call.clone()).map_err(|refused| {
        ApiError::invalid_input(
            "tool",
            format!("{refused}; write tools run only in a session, through the approval gate"),
        )
    })?;
    let output = tools.call(&read).await;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "plugin.tool_call",
        &format!("plugin:{name}/{}", call.tool),
        json!({ "is_error": output.is_error, "args": call.args }),
    )
    .await?;
    Ok(ToolCallResult {
        tool: call.tool,
        text: output.text,
        is_error: output.is_error,
    })
}
