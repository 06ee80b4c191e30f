//! Guardrails per tenant: action pattern x namespace x service -> auto | ask | deny.

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission};
use aoi_store::{Guardrail, GuardrailDecision, GuardrailRule};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::Platform;
use crate::audit;
use crate::ports::store_error;
use crate::tenants::scope_tenant;

/// The body of `PUT /api/v1/guardrails`: the three patterns identify the rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsertGuardrail {
    /// Glob over actions, e.g. `kubectl scale*` or `*`.
    pub action_pattern: String,
    #[serde(default = "star")]
    pub namespace_pattern: String,
    #[serde(default = "star")]
    pub service_pattern: String,
    pub decision: GuardrailDecision,
    #[serde(default)]
    pub priority: i32,
}

fn star() -> String {
    "*".into()
}

/// The tenant's rules in evaluation order.
pub async fn list(platform: &Platform, proof: &Authorized) -> Result<Vec<Guardrail>, ApiError> {
    proof.require(Permission::ManageGuardrails)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .store
        .guardrails(tenant)
        .await
        .map_err(store_error("guardrails"))
}

/// Inserts or updates a rule.
pub async fn upsert(
    platform: &Platform,
    proof: &Authorized,
    input: UpsertGuardrail,
) -> Result<Guardrail, ApiError> {
    proof.require(Permission::ManageGuardrails)?;
    for (field, value) in [
        ("action_pattern", &input.action_pattern),
        ("namespace_pattern", &input.namespace_pattern),
        ("service_pattern", &input.service_pattern),
    ] {
        if value.trim().is_empty() || value.chars().count() > 256 {
            return Err(ApiError::invalid_input(
                field,
                "use 1 to 256 characters (`*` for any)",
            ));
        }
    }
    let tenant = scope_tenant(platform, proof).await?;
    let rule = platform
        .store
        .upsert_guardrail(
            tenant,
            GuardrailRule {
                action_pattern: input.action_pattern,
                namespace_pattern: input.namespace_pattern,
                service_pattern: input.service_pattern,
                decision: input.decision,
                priority: input.priority,
            },
        )
        .await
        .map_err(store_error("guardrail"))?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "guardrail.upsert",
        &format!("guardrail:{}", rule.id),
        json!({ "rule": rule }),
    )
    .await?;
    Ok(rule)
}

/// Deletes a rule; another tenant's answers `NotFound`.
pub async fn delete(platform: &Platform, proof: &Authorized, id: Uuid) -> Result<(), ApiError> {
    proof.require(Permission::ManageGuardrails)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .store
        .delete_guardrail(tenant, id)
        .await
        .map_err(store_error(format!("guardrail {id}")))?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "guardrail.delete",
        &format!("guardrail:{id}"),
        json!({}),
    )
    .await?;
    Ok(())
}
