//! Turning a tenant's installations into running toolsets: verify the stored package again
//! (a row altered in the database is refused like an upload), decrypt the secrets, build the
//! toolset for its kind, and keep it while the installation is unchanged.

use aoi_control::Config;
use aoi_plugin_package::{Package, PluginKind, PluginManifest, TrustedKeys, verify};
use aoi_plugin_sdk::{PluginConfig, Toolset};
use aoi_store::{PluginInstallation, Store, TenantId};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

use super::catalog::{self, BuiltinPlugin};
use super::secrets::SecretBox;

/// A plugin ready for a session.
#[derive(Clone)]
pub struct LoadedPlugin {
    pub name: String,
    pub version: String,
    pub toolset: Arc<dyn Toolset>,
}

/// A plugin that could not be loaded for a session, and why (no secret in the reason).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginLoadError {
    pub plugin: String,
    pub version: String,
    pub error: String,
}

type CacheKey = (Uuid, String, chrono::DateTime<chrono::Utc>);
/// Built toolsets by installation id, with the state they were built for.
type Built = HashMap<Uuid, (CacheKey, Arc<dyn Toolset>)>;

/// The platform's plugin machinery: trusted keys, the secrets box, sandbox limits and the
/// toolsets built so far.
pub struct PluginRuntime {
    pub secrets: SecretBox,
    pub trusted: TrustedKeys,
    pub wasm_limits: aoi_plugin_wasm::WasmLimits,
    cache: Mutex<Built>,
}

impl std::fmt::Debug for PluginRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRuntime").finish_non_exhaustive()
    }
}

impl PluginRuntime {
    pub fn from_config(config: &Config) -> Result<PluginRuntime, String> {
        let trusted = config
            .plugins
            .trusted_keys()
            .map_err(|e| format!("plugins.trusted_publishers: {e}"))?;
        let secrets = SecretBox::load_or_generate(&config.plugin_secret_key_path())?;
        let wasm_limits = aoi_plugin_wasm::WasmLimits {
            fuel: config.plugins.wasm_fuel,
            timeout: Duration::from_millis(config.plugins.wasm_timeout_ms),
            max_memory_bytes: usize::try_from(config.plugins.wasm_memory_mb)
                .unwrap_or(usize::MAX / (1 << 20))
                .saturating_mul(1 << 20),
            ..aoi_plugin_wasm::WasmLimits::default()
        };
        Ok(PluginRuntime {
            secrets,
            trusted,
            wasm_limits,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Checks a verified package's payload for its kind (the module compiles and imports only
    /// host functions, the HTTP templates fit the manifest, the MCP launch spec parses).
    pub fn check_payload(&self, manifest: &PluginManifest, payload: &[u8]) -> Result<(), String> {
        match manifest.kind {
            PluginKind::Builtin => Err(
                "kind builtin: built-in plugins ship with the server and cannot be uploaded; use kind wasm, http or mcp".into(),
            ),
            PluginKind::Wasm => aoi_plugin_wasm::check_module(payload).map_err(|e| e.to_string()),
            PluginKind::Http => aoi_plugin_http::HttpSpec::parse(payload, manifest)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            PluginKind::Mcp => {
                aoi_plugin_mcp::check_spec(payload, manifest).map_err(|e| e.to_string())
            }
        }
    }

    /// Builds the toolset of a plugin for `config` (secrets included).
    pub async fn instantiate(
        &self,
        manifest: &PluginManifest,
        payload: &[u8],
        builtin: Option<&BuiltinPlugin>,
        config: &PluginConfig,
    ) -> Result<Arc<dyn Toolset>, String> {
        match (manifest.kind, builtin) {
            (PluginKind::Builtin, Some(b)) => (b.toolset)(config).map_err(|e| e.to_string()),
            (PluginKind::Builtin, None) => Err(format!("no built-in plugin named {}", manifest.name)),
            (PluginKind::Wasm, _) => {
                let manifest = manifest.clone();
                let payload = payload.to_vec();
                let config = config.clone();
                let limits = self.wasm_limits.clone();
                tokio::task::spawn_blocking(move || {
                    aoi_plugin_wasm::WasmToolset::load(&manifest, &payload, &config, limits)
                        .map(|t| Arc::new(t) as Arc<dyn Toolset>)
                        .map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| format!("loading the module failed: {e}"))?
            }
            (PluginKind::Http, _) => {
                let spec = aoi_plugin_http::HttpSpec::parse(payload, manifest)
                    .map_err(|e| e.to_string())?;
                aoi_plugin_http::HttpToolset::new(manifest.clone(), spec, config)
                    .map(|t| Arc::new(t) as Arc<dyn Toolset>)
                    .map_err(|e| e.to_string())
            }
            (PluginKind::Mcp, _) => aoi_plugin_mcp::McpToolset::connect(manifest, payload, config)
                .await
                .map(|t| Arc::new(t) as Arc<dyn Toolset>)
                .map_err(|e| e.to_string()),
        }
    }

    /// The manifest and payload of `name` at `version`: a built-in, or an uploaded package
    /// verified again against the trusted keys.
    pub async fn resolve(
        &self,
        store: &Store,
        name: &str,
        version: &str,
    ) -> Result<(PluginManifest, Vec<u8>, Option<BuiltinPlugin>), String> {
        if let Some(b) = catalog::builtin(name) {
            let manifest = (b.manifest)();
            if manifest.version != version {
                return Err(format!(
                    "built-in plugin {name} is at version {}, not {version}",
                    manifest.version
                ));
            }
            return Ok((manifest, Vec::new(), Some(b)));
        }
        let row = store
            .plugin_package(name, version)
            .await
            .map_err(|e| format!("plugin package {name} {version}: {e}"))?
            .ok_or_else(|| format!("plugin {name} version {version} is not in the catalog"))?;
        let package = Package::from_json(row.package.as_bytes()).map_err(|e| e.to_string())?;
        let verified = verify(&package, &self.trusted)
            .map_err(|e| format!("stored package of {name} {version} no longer verifies: {e}"))?;
        Ok((verified.manifest, verified.payload, None))
    }

    /// The config a plugin runs with: plain values and decrypted secrets.
    pub fn full_config(&self, tenant: TenantId, row: &PluginInstallation) -> Result<PluginConfig, String> {
        let mut values: Map<String, Value> = row.config.as_object().cloned().unwrap_or_default();
        let secrets = self
            .secrets
            .open(&tenant.to_string(), &row.plugin_name, &row.secrets)?;
        values.extend(secrets);
        Ok(PluginConfig::new(values))
    }

    /// The tenant's enabled plugins, built (or taken from the cache while the installation is
    /// unchanged). A plugin that fails to load is reported, not fatal.
    pub async fn tenant_plugins(
        &self,
        store: &Store,
        tenant: TenantId,
    ) -> Result<(Vec<LoadedPlugin>, Vec<PluginLoadError>), String> {
        let rows = store
            .plugin_installations(tenant)
            .await
            .map_err(|e| format!("plugin installations: {e}"))?;
        let mut loaded = Vec::new();
        let mut failed = Vec::new();
        for row in rows.into_iter().filter(|r| r.enabled) {
            let key: CacheKey = (row.id, row.version.clone(), row.updated_at);
            let cached = self
                .cache
                .lock()
                .ok()
                .and_then(|c| c.get(&row.id).filter(|(k, _)| *k == key).map(|(_, t)| t.clone()));
            let toolset = match cached {
                Some(t) => Ok(t),
                None => self.build(store, tenant, &row).await,
            };
            match toolset {
                Ok(toolset) => {
                    if let Ok(mut cache) = self.cache.lock() {
                        cache.insert(row.id, (key, toolset.clone()));
                    }
                    loaded.push(LoadedPlugin {
                        name: row.plugin_name.clone(),
                        version: row.version.clone(),
                        toolset,
                    });
                }
                Err(error) => {
                    tracing::warn!(plugin = %row.plugin_name, version = %row.version, %error, "plugin not loaded");
                    failed.push(PluginLoadError {
                        plugin: row.plugin_name.clone(),
                        version: row.version.clone(),
                        error,
                    });
                }
            }
        }
        Ok((loaded, failed))
    }

    async fn build(
        &self,
        store: &Store,
        tenant: TenantId,
        row: &PluginInstallation,
    ) -> Result<Arc<dyn Toolset>, String> {
        let (manifest, payload, builtin) = self.resolve(store, &row.plugin_name, &row.version).await?;
        let config = self.full_config(tenant, row)?;
        self.instantiate(&manifest, &payload, builtin.as_ref(), &config)
            .await
    }

    /// Forgets a built toolset (after a change to its installation).
    pub fn forget(&self, installation: Uuid) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&installation);
        }
    }
}
