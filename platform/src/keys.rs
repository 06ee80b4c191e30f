//! API keys for machines: created (the key shown once), listed, revoked.

use aoi_control::auth::generate_api_key;
use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission};
use aoi_store::{ApiKey, NewApiKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::Platform;
use crate::audit;
use crate::ports::{hex, store_error};
use crate::tenants::scope_tenant;
use crate::users::grantable_role;

/// The body of `POST /api/v1/api-keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
    /// viewer, operator or admin.
    pub role: String,
}

/// The answer of `POST /api/v1/api-keys`: the key is shown this once.
#[derive(Clone, Serialize)]
pub struct CreatedKey {
    pub id: Uuid,
    pub key: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Creates a key in the caller's tenant.
pub async fn create(
    platform: &Platform,
    proof: &Authorized,
    input: CreateKey,
) -> Result<CreatedKey, ApiError> {
    proof.require(Permission::ManageKeys)?;
    if input.name.trim().is_empty() || input.name.chars().count() > 128 {
        return Err(ApiError::invalid_input("name", "use 1 to 128 characters"));
    }
    let role = grantable_role(proof, &input.role)?;
    let tenant_slug = proof
        .tenant()
        .ok_or_else(|| ApiError::invalid_input("tenant", "keys belong to a tenant"))?;
    let tenant = scope_tenant(platform, proof).await?;
    let generated = generate_api_key("", &input.name, tenant_slug, role);
    let key = platform
        .store
        .create_api_key(
            tenant,
            NewApiKey {
                name: input.name.clone(),
                prefix: generated.record.prefix.clone(),
                key_hash: hex(&generated.record.secret_sha256),
                role: role.as_str().into(),
            },
        )
        .await
        .map_err(store_error(format!("API key {}", input.name)))?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "api_key.create",
        &format!("key:{}", key.id),
        json!({ "name": key.name, "role": key.role, "prefix": key.prefix }),
    )
    .await?;
    Ok(CreatedKey {
        id: key.id,
        key: generated.token,
    })
}

/// The caller's tenant's keys, revoked ones included, without secrets.
pub async fn list(platform: &Platform, proof: &Authorized) -> Result<Vec<ApiKey>, ApiError> {
    proof.require(Permission::ManageKeys)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .store
        .api_keys(tenant)
        .await
        .map_err(store_error("API keys"))
}

/// Revokes a key of the caller's tenant; another tenant's key answers `NotFound`.
pub async fn revoke(platform: &Platform, proof: &Authorized, id: Uuid) -> Result<(), ApiError> {
    proof.require(Permission::ManageKeys)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .store
        .revoke_api_key(tenant, id)
        .await
        .map_err(store_error(format!("API key {id}")))?;
    platform.api_keys.forget_all();
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "api_key.revoke",
        &format!("key:{id}"),
        json!({}),
    )
    .await?;
    Ok(())
}
