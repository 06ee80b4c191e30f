//! The tenant's inference policy: whether its traffic may reach `external` backends (never by
//! default), whether identifiers are redacted, and its quotas. A tenant without a stored
//! policy gets the `[inference]` defaults.

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission, TenantSlug};
use aoi_store::{InferencePolicyRecord, NewInferencePolicy, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{caller_tenant, invalidate, snapshot};
use crate::Platform;
use crate::audit;
use crate::ports::store_error;
use crate::tenants::tenant_id_of;

/// A tenant's inference policy (the body of `PUT /api/v1/tenants/{slug}/inference-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferencePolicy {
    /// Whether the tenant's requests may reach `trust = "external"` backends.
    pub allow_external: bool,
    /// Whether identifiers (hosts, addresses, emails...) are redacted before a prompt leaves.
    #[serde(default)]
    pub redact_identifiers: bool,
    /// Requests in flight at once; unset: unlimited.
    #[serde(default)]
    pub max_concurrent: Option<u32>,
    /// Tokens per minute; unset: unlimited.
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
    /// Tokens per UTC day; unset: unlimited.
    #[serde(default)]
    pub tokens_per_day: Option<u64>,
}

/// A tenant's effective policy and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InferencePolicyView {
    pub tenant: String,
    /// `tenant` (set by a platform admin) or `defaults` (from `[inference]`).
    pub source: &'static str,
    #[serde(flatten)]
    pub policy: InferencePolicy,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

/// The tenant's effective policy: its stored one, else the `[inference]` defaults
/// (`external_allowed`, no identifier redaction, `[inference.quota]`).
pub async fn inference_policy(
    platform: &Platform,
    tenant: TenantId,
) -> Result<InferencePolicy, ApiError> {
    let snapshot = snapshot(platform, tenant).await?;
    Ok(match &snapshot.policy {
        Some(row) => from_record(row),
        None => defaults(platform),
    })
}

/// The caller's tenant's effective policy and where it comes from.
pub async fn tenant_inference_policy(
    platform: &Platform,
    proof: &Authorized,
) -> Result<InferencePolicyView, ApiError> {
    proof.require(Permission::ReadModels)?;
    let (tenant, slug) = caller_tenant(platform, proof).await?;
    let snapshot = snapshot(platform, tenant).await?;
    Ok(policy_view(platform, &slug, snapshot.policy.as_ref()))
}

/// Sets tenant `tenant_slug`'s policy (platform admin).
pub async fn set_inference_policy(
    platform: &Platform,
    proof: &Authorized,
    tenant_slug: &str,
    policy: InferencePolicy,
) -> Result<InferencePolicyView, ApiError> {
    proof.require(Permission::ManageTenants)?;
    let slug = TenantSlug::new(tenant_slug).map_err(|e| ApiError::NotFound {
        what: format!("tenant {tenant_slug} ({e})"),
    })?;
    let max_concurrent = match policy.max_concurrent {
        Some(0) => {
            return Err(ApiError::invalid_input(
                "max_concurrent",
                "use at least 1, or leave it out for no limit",
            ));
        }
        Some(n) => Some(i32::try_from(n).map_err(|_| {
            ApiError::invalid_input("max_concurrent", format!("use at most {}", i32::MAX))
        })?),
        None => None,
    };
    let tokens = |field: &str, value: Option<u64>| match value {
        Some(0) => Err(ApiError::invalid_input(
            field,
            "use at least 1, or leave it out for no limit",
        )),
        Some(n) => i64::try_from(n)
            .map(Some)
            .map_err(|_| ApiError::invalid_input(field, format!("use at most {}", i64::MAX))),
        None => Ok(None),
    };
    let tokens_per_minute = tokens("tokens_per_minute", policy.tokens_per_minute)?;
    let tokens_per_day = tokens("tokens_per_day", policy.tokens_per_day)?;
    let tenant = tenant_id_of(platform, &slug).await?;
    let before = platform
        .store
        .inference_policy(tenant)
        .await
        .map_err(store_error(format!("inference policy of tenant {slug}")))?;
    let row = platform
        .store
        .set_inference_policy(
            tenant,
            NewInferencePolicy {
                allow_external: policy.allow_external,
                redact_identifiers: policy.redact_identifiers,
                max_concurrent,
                tokens_per_minute,
                tokens_per_day,
                updated_by: audit::actor(proof.principal()),
            },
        )
        .await
        .map_err(store_error(format!("tenant {slug}")))?;
    invalidate(platform, tenant);
    let view = policy_view(platform, slug.as_str(), Some(&row));
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "inference_policy.set",
        &format!("tenant:{slug}"),
        json!({
            "before": before.as_ref().map(from_record).unwrap_or_else(|| defaults(platform)),
            "before_source": if before.is_some() { "tenant" } else { "defaults" },
            "after": view.policy,
        }),
    )
    .await?;
    Ok(view)
}

fn defaults(platform: &Platform) -> InferencePolicy {
    let quota = &platform.config.inference.quota;
    InferencePolicy {
        allow_external: platform.config.inference.external_allowed,
        redact_identifiers: false,
        max_concurrent: quota.max_concurrent,
        tokens_per_minute: quota.tokens_per_minute,
        tokens_per_day: quota.tokens_per_day,
    }
}

fn from_record(row: &InferencePolicyRecord) -> InferencePolicy {
    InferencePolicy {
        allow_external: row.allow_external,
        redact_identifiers: row.redact_identifiers,
        max_concurrent: row.max_concurrent.and_then(|n| u32::try_from(n).ok()),
        tokens_per_minute: row.tokens_per_minute.and_then(|n| u64::try_from(n).ok()),
        tokens_per_day: row.tokens_per_day.and_then(|n| u64::try_from(n).ok()),
    }
}

fn policy_view(
    platform: &Platform,
    slug: &str,
    row: Option<&InferencePolicyRecord>,
) -> InferencePolicyView {
    InferencePolicyView {
        tenant: slug.to_owned(),
        source: if row.is_some() { "tenant" } else { "defaults" },
        policy: row.map(from_record).unwrap_or_else(|| defaults(platform)),
        updated_at: row.map(|r| r.updated_at),
        updated_by: row.map(|r| r.updated_by.clone()),
    }
}
