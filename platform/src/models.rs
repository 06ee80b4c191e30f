//! The tenant's model registry and inference policy.
//!
//! A tenant registers versions of its LoRA adapters over a base model; each version moves
//! candidate -> canary (a share of the name's traffic) -> active, and retires when replaced or
//! rolled back. A request naming an adapter reaches its active version (or, for a stable share
//! of affinity keys, its canary) under the upstream LoRA name `{slug}--{name}--v{version}`,
//! which [`resolve_model`] hands to the router with what vLLM needs to load it.
//!
//! The inference policy says whether the tenant's traffic may reach `external` backends (never
//! by default), whether identifiers are redacted, and its quotas; a tenant without one gets
//! the configured defaults.
//!
//! [`resolve_model`] and [`inference_policy`] run on every chat completion: they read a
//! per-tenant snapshot kept [`CACHE_TTL`] in this process and dropped on every change made
//! here, so the hot path usually does no query (another replica's change shows within the TTL).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission};
use aoi_store::{
    AdapterStatus, InferencePolicyRecord, ModelAdapter, NewAdapterVersion, StoreError, TenantId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Platform;
use crate::audit;
use crate::ports::store_error;
use crate::tenants::scope_tenant;

mod policy;

pub use policy::{
    InferencePolicy, InferencePolicyView, inference_policy, set_inference_policy,
    tenant_inference_policy,
};

/// How long a tenant's registry and policy snapshot is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// The body of `POST /api/v1/models/adapters`: a new version of `name` (version 1 for a new
/// name), registered as a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdapter {
    /// `[a-z0-9][a-z0-9._-]{0,62}`, without `--`.
    pub name: String,
    /// The base model the adapter was trained on (as the backends name it).
    pub base_model: String,
    /// What vLLM loads (`lora_path`): a path or a repository id the backends can reach.
    pub source: String,
    #[serde(default)]
    pub notes: String,
}

/// One version of an adapter as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdapterView {
    pub id: uuid::Uuid,
    pub name: String,
    pub version: u32,
    pub base_model: String,
    pub source: String,
    pub status: AdapterStatus,
    /// The share of the name's requests this canary takes (0 unless canary).
    pub canary_percent: u32,
    pub notes: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it last became active.
    pub activated_at: Option<DateTime<Utc>>,
    /// The LoRA name the backends serve it under.
    pub upstream: String,
}

impl AdapterView {
    fn new(slug: &str, row: ModelAdapter) -> AdapterView {
        let version = version_u32(row.version);
        AdapterView {
            upstream: upstream_name(slug, &row.name, version),
            id: row.id,
            name: row.name,
            version,
            base_model: row.base_model,
            source: row.source,
            status: row.status,
            canary_percent: u32::try_from(row.canary_percent).unwrap_or(0),
            notes: row.notes,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            activated_at: row.activated_at,
        }
    }
}

/// Every version of one adapter name, with the versions in service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdapterVersions {
    pub name: String,
    pub active: Option<u32>,
    pub canary: Option<u32>,
    /// Oldest first.
    pub versions: Vec<AdapterView>,
}

/// Where a promotion takes a version: the body of `POST .../versions/{version}/promote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case", deny_unknown_fields)]
pub enum Promotion {
    /// Take `canary_percent` (1..=99) of the name's requests; replaces a previous canary.
    Canary { canary_percent: u32 },
    /// Serve the name; retires the previous active version.
    Active,
}

/// What a roll-back did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackView {
    /// The version taken out of service (the canary, or the active version).
    pub retired: AdapterView,
    /// The version active again (none when a canary was aborted).
    pub restored: Option<AdapterView>,
}

/// What vLLM needs to load an adapter (`POST /v1/load_lora_adapter`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdapterLoad {
    /// The upstream LoRA name (`lora_name`).
    pub name: String,
    /// `lora_path`.
    pub path: String,
    /// The base model it needs.
    pub base_model: String,
}

/// What a requested model name resolves to for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedModel {
    /// The model name to send upstream.
    pub upstream: String,
    /// The adapter to route to (and load where allowed); `None` for a base model.
    pub adapter: Option<AdapterLoad>,
    /// The adapter name, or the base model as requested.
    pub name: String,
    /// The adapter version; `None` for a base model.
    pub version: Option<u32>,
    /// The version's status; `None` for a base model.
    pub status: Option<AdapterStatus>,
}

/// The upstream LoRA name of a tenant's adapter version: `{slug}--{name}--v{version}`.
pub fn upstream_name(tenant_slug: &str, name: &str, version: u32) -> String {
    format!("{tenant_slug}--{name}--v{version}")
}

/// The stable bucket (0..100) of an affinity key: a request with this key goes to the canary
/// when its bucket is below the canary's percent. FNV-1a, so it is the same in every process.
pub fn canary_bucket(key: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    u32::try_from(hash % 100).unwrap_or(0)
}

/// Registers the next version of `input.name` as a candidate.
pub async fn register_adapter(
    platform: &Platform,
    proof: &Authorized,
    input: NewAdapter,
) -> Result<AdapterView, ApiError> {
    proof.require(Permission::ManageModels)?;
    check_name(&input.name)?;
    for (field, value) in [("base_model", &input.base_model), ("source", &input.source)] {
        if value.trim().is_empty() || value.chars().count() > 1024 {
            return Err(ApiError::invalid_input(field, "use 1 to 1024 characters"));
        }
    }
    if input.notes.chars().count() > 4096 {
        return Err(ApiError::invalid_input(
            "notes",
            "use at most 4096 characters",
        ));
    }
    let (tenant, slug) = caller_tenant(platform, proof).await?;
    let row = platform
        .store
        .insert_adapter_version(
            tenant,
            NewAdapterVersion {
                name: input.name.clone(),
                base_model: input.base_model.trim().to_owned(),
                source: input.source.trim().to_owned(),
                notes: input.notes,
                created_by: audit::actor(proof.principal()),
            },
        )
        .await
        .map_err(store_error(format!("adapter {}", input.name)))?;
    invalidate(platform, tenant);
    let view = AdapterView::new(&slug, row);
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "model_adapter.register",
        &target(&view.name, view.version),
        json!({
            "name": view.name, "version": view.version, "before": Value::Null,
            "after": view.status, "base_model": view.base_model, "source": view.source,
        }),
    )
    .await?;
    Ok(view)
}

/// Promotes a version (candidate -> canary | active, canary -> active); 409 saying what is
/// allowed otherwise.
pub async fn promote_adapter(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
    version: u32,
    promotion: Promotion,
) -> Result<AdapterView, ApiError> {
    proof.require(Permission::ManageModels)?;
    let (to, percent) = match promotion {
        Promotion::Canary { canary_percent } if (1..=99).contains(&canary_percent) => {
            (AdapterStatus::Canary, canary_percent)
        }
        Promotion::Canary { .. } => {
            return Err(ApiError::invalid_input(
                "canary_percent",
                "use 1 to 99 (the share of requests the canary takes); promote to active for all",
            ));
        }
        Promotion::Active => (AdapterStatus::Active, 0),
    };
    let (tenant, slug) = caller_tenant(platform, proof).await?;
    let stored_version = i32::try_from(version).map_err(|_| not_found(name, version))?;
    let done = platform
        .store
        .promote_adapter(
            tenant,
            name,
            stored_version,
            to,
            i32::try_from(percent).unwrap_or(0),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => not_found(name, version),
            StoreError::InvalidTransition { from, to } => ApiError::Conflict {
                what: format!(
                    "adapter {name} v{version} is {from} and cannot be promoted to {to}: a \
                     candidate can become canary or active, a canary active"
                ),
            },
            other => store_error(format!("adapter {name} v{version}"))(other),
        })?;
    invalidate(platform, tenant);
    let retired: Vec<Value> = done
        .retired
        .iter()
        .map(|r| json!({ "version": r.version, "before": to, "after": r.status }))
        .collect();
    let view = AdapterView::new(&slug, done.adapter);
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "model_adapter.promote",
        &target(name, version),
        json!({
            "name": name, "version": version, "before": done.from, "after": view.status,
            "canary_percent": view.canary_percent, "retired": retired,
        }),
    )
    .await?;
    Ok(view)
}

/// Rolls `name` back: aborts its canary, or else retires the active version and makes the
/// most recently retired previously active version active again; 409 when there is nothing
/// to roll back.
pub async fn rollback_adapter(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
) -> Result<RollbackView, ApiError> {
    proof.require(Permission::ManageModels)?;
    let (tenant, slug) = caller_tenant(platform, proof).await?;
    let done = platform
        .store
        .rollback_adapter(tenant, name)
        .await
        .map_err(store_error(format!("adapter {name}")))?;
    invalidate(platform, tenant);
    let restored_details = done.restored.as_ref().map(
        |r| json!({ "version": r.version, "before": AdapterStatus::Retired, "after": r.status }),
    );
    let view = RollbackView {
        retired: AdapterView::new(&slug, done.retired),
        restored: done.restored.map(|r| AdapterView::new(&slug, r)),
    };
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "model_adapter.rollback",
        &target(name, view.retired.version),
        json!({
            "name": name, "version": view.retired.version, "before": done.retired_from,
            "after": view.retired.status, "restored": restored_details,
        }),
    )
    .await?;
    Ok(view)
}

/// Every version of every adapter of the caller's tenant, by name then version.
pub async fn list_adapters(
    platform: &Platform,
    proof: &Authorized,
) -> Result<Vec<AdapterView>, ApiError> {
    proof.require(Permission::ReadModels)?;
    let (tenant, slug) = caller_tenant(platform, proof).await?;
    let rows = platform
        .store
        .adapters(tenant, None)
        .await
        .map_err(store_error("adapters"))?;
    Ok(rows
        .into_iter()
        .map(|r| AdapterView::new(&slug, r))
        .collect())
}

/// Every version of the caller's adapter `name`; 404 when it has none.
pub async fn get_adapter(
    platform: &Platform,
    proof: &Authorized,
    name: &str,
) -> Result<AdapterVersions, ApiError> {
    proof.require(Permission::ReadModels)?;
    let (tenant, slug) = caller_tenant(platform, proof).await?;
    let rows = platform
        .store
        .adapters(tenant, Some(name))
        .await
        .map_err(store_error(format!("adapter {name}")))?;
    if rows.is_empty() {
        return Err(ApiError::NotFound {
            what: format!("adapter {name}"),
        });
    }
    let versions: Vec<AdapterView> = rows
        .into_iter()
        .map(|r| AdapterView::new(&slug, r))
        .collect();
    let with = |status| {
        versions
            .iter()
            .find(|v| v.status == status)
            .map(|v| v.version)
    };
    Ok(AdapterVersions {
        name: name.to_owned(),
        active: with(AdapterStatus::Active),
        canary: with(AdapterStatus::Canary),
        versions,
    })
}

/// What `requested` (the `model` of a chat completion) means for the tenant: one of its
/// adapter names -> the active version, or the canary for `canary_percent` of affinity keys
/// (a random share without a key); `{slug}--{name}--v{n}` -> that version when it is the
/// caller's and not retired; anything else -> a base model, passed through.
pub async fn resolve_model(
    platform: &Platform,
    tenant: TenantId,
    slug: &str,
    requested: &str,
    affinity: Option<&str>,
) -> Result<ResolvedModel, ApiError> {
    if let Some((owner, name, version)) = parse_upstream(requested) {
        let snapshot = snapshot(platform, tenant).await?;
        return snapshot
            .adapters
            .iter()
            .find(|a| {
                owner == slug
                    && a.name == name
                    && a.version == version
                    && a.status != AdapterStatus::Retired
            })
            .map(|a| resolved(slug, a))
            .ok_or_else(|| ApiError::NotFound {
                what: format!("model {requested} (it is not available to this tenant)"),
            });
    }
    if !is_adapter_name(requested) {
        return Ok(base_model(requested));
    }
    let snapshot = snapshot(platform, tenant).await?;
    let versions: Vec<&ModelAdapter> = snapshot
        .adapters
        .iter()
        .filter(|a| a.name == requested)
        .collect();
    if versions.is_empty() {
        return Ok(base_model(requested));
    }
    let active = versions.iter().find(|a| a.status == AdapterStatus::Active);
    let canary = versions.iter().find(|a| a.status == AdapterStatus::Canary);
    let chosen = match (active, canary) {
        (Some(active), Some(canary)) => {
            let bucket = match affinity {
                Some(key) => canary_bucket(key),
                None => random_bucket(),
            };
            if i64::from(bucket) < i64::from(canary.canary_percent) {
                canary
            } else {
                active
            }
        }
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => {
            return Err(ApiError::NotFound {
                what: format!(
                    "an active version of adapter {requested} (it has no active or canary \
                     version: promote one)"
                ),
            });
        }
    };
    Ok(resolved(slug, chosen))
}

/// The tenant's active adapter over `base_model` (the most recently activated when several
/// names have one): what agent workers send instead of the bare base model.
pub async fn active_adapter_for_base(
    platform: &Platform,
    tenant: TenantId,
    slug: &str,
    base_model: &str,
) -> Result<Option<ResolvedModel>, ApiError> {
    let snapshot = snapshot(platform, tenant).await?;
    Ok(snapshot
        .adapters
        .iter()
        .filter(|a| a.status == AdapterStatus::Active && a.base_model == base_model)
        .max_by_key(|a| (a.activated_at, a.version))
        .map(|a| resolved(slug, a)))
}

/// Whether `name` is an adapter name: `[a-z0-9][a-z0-9._-]{0,62}` without `--`.
pub fn is_adapter_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && name.len() <= 63
        && !name.contains("--")
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// Checks an adapter name ([`is_adapter_name`]); the error says what is wrong.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if is_adapter_name(name) {
        return Ok(());
    }
    let problem = if name.contains("--") {
        format!("`{name}` contains `--`, which separates the parts of upstream names")
    } else {
        format!(
            "`{name}` is not an adapter name: use 1 to 63 of a-z, 0-9, `.`, `_`, `-`, \
             starting with a letter or digit"
        )
    };
    Err(ApiError::invalid_input("name", problem))
}

/// `{slug}--{name}--v{n}` split into its parts (the name is a valid adapter name).
/// Whether `model` has the upstream form of a tenant's adapter version
/// (`{tenant}--{name}--v{n}`, see [`upstream_name`]).
pub fn is_upstream_name(model: &str) -> bool {
    parse_upstream(model).is_some()
}

fn parse_upstream(requested: &str) -> Option<(&str, &str, i32)> {
    let (rest, digits) = requested.rsplit_once("--v")?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let version = digits.parse::<i32>().ok()?;
    let (slug, name) = rest.rsplit_once("--")?;
    if slug.is_empty() || !is_adapter_name(name) {
        return None;
    }
    Some((slug, name, version))
}

fn resolved(slug: &str, row: &ModelAdapter) -> ResolvedModel {
    let version = version_u32(row.version);
    let upstream = upstream_name(slug, &row.name, version);
    ResolvedModel {
        adapter: Some(AdapterLoad {
            name: upstream.clone(),
            path: row.source.clone(),
            base_model: row.base_model.clone(),
        }),
        upstream,
        name: row.name.clone(),
        version: Some(version),
        status: Some(row.status),
    }
}

fn base_model(requested: &str) -> ResolvedModel {
    ResolvedModel {
        upstream: requested.to_owned(),
        adapter: None,
        name: requested.to_owned(),
        version: None,
        status: None,
    }
}

fn random_bucket() -> u32 {
    use rand::Rng;
    rand::rng().random_range(0..100)
}

fn version_u32(version: i32) -> u32 {
    u32::try_from(version).unwrap_or(0)
}

fn target(name: &str, version: u32) -> String {
    format!("model_adapter:{name}:v{version}")
}

fn not_found(name: &str, version: u32) -> ApiError {
    ApiError::NotFound {
        what: format!("adapter {name} v{version}"),
    }
}

pub(crate) async fn caller_tenant(
    platform: &Platform,
    proof: &Authorized,
) -> Result<(TenantId, String), ApiError> {
    let tenant = scope_tenant(platform, proof).await?;
    let slug = proof
        .tenant()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_default();
    Ok((tenant, slug))
}

/// One tenant's registry and policy as read at `at`.
pub(crate) struct Snapshot {
    at: Instant,
    policy: Option<InferencePolicyRecord>,
    adapters: Vec<ModelAdapter>,
}

/// The tenants' snapshots of one platform ([`Platform::model_cache`]).
#[derive(Default)]
pub struct ModelCache {
    snapshots: Mutex<HashMap<TenantId, Arc<Snapshot>>>,
}

impl std::fmt::Debug for ModelCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelCache").finish_non_exhaustive()
    }
}

impl ModelCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Arc<Snapshot>>> {
        self.snapshots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Drops the tenant's snapshot (after a change made in this process).
pub(crate) fn invalidate(platform: &Platform, tenant: TenantId) {
    platform.model_cache.lock().remove(&tenant);
}

/// The tenant's snapshot, read again when older than [`CACHE_TTL`].
pub(crate) async fn snapshot(
    platform: &Platform,
    tenant: TenantId,
) -> Result<Arc<Snapshot>, ApiError> {
    let fresh = platform
        .model_cache
        .lock()
        .get(&tenant)
        .filter(|s| s.at.elapsed() < CACHE_TTL)
        .cloned();
    if let Some(snapshot) = fresh {
        return Ok(snapshot);
    }
    let at = Instant::now();
    let policy = platform
        .store
        .inference_policy(tenant)
        .await
        .map_err(store_error("inference policy"))?;
    let adapters = platform
        .store
        .adapters(tenant, None)
        .await
        .map_err(store_error("adapters"))?;
    let snapshot = Arc::new(Snapshot {
        at,
        policy,
        adapters,
    });
    let mut cache = platform.model_cache.lock();
    if cache.len() > 100_000 {
        cache.retain(|_, s| s.at.elapsed() < CACHE_TTL);
    }
    cache.insert(tenant, snapshot.clone());
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_names_follow_the_rule() {
        for ok in ["triage", "a", "v2.1_final-x", "0abc", &"x".repeat(63)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "Triage",
            "a b",
            "a/b",
            "a--b",
            &"x".repeat(64),
        ] {
            let err = check_name(bad).unwrap_err();
            assert!(
                matches!(&err, ApiError::InvalidInput { field, .. } if field == "name"),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn upstream_names_round_trip() {
        let name = upstream_name("acme", "triage", 3);
        assert_eq!(name, "acme--triage--v3");
        assert_eq!(parse_upstream(&name), Some(("acme", "triage", 3)));
        // A slug may itself contain `--`; names never do.
        assert_eq!(
            parse_upstream("big--corp--v2model--v12"),
            Some(("big--corp", "v2model", 12))
        );
        for not in [
            "qwen2.5-7b",
            "acme--triage",
            "triage--v3",
            "acme--triage--vx",
            "acme--triage--v",
        ] {
            assert_eq!(parse_upstream(not), None, "{not}");
        }
    }

    #[test]
    fn canary_buckets_are_stable_and_spread() {
        assert_eq!(canary_bucket("session-1"), canary_bucket("session-1"));
        let buckets: Vec<u32> = (0..1000).map(|i| canary_bucket(&format!("s{i}"))).collect();
        assert!(buckets.iter().all(|b| *b < 100));
        let below_ten = buckets.iter().filter(|b| **b < 10).count();
        assert!(
            (50..=150).contains(&below_ten),
            "{below_ten} of 1000 under 10"
        );
    }
}
