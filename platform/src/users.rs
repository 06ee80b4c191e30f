//! Users of a tenant (created by its admins) and the tenant's authorization policies.

use aoi_control::auth::hash_password;
use aoi_control::authz::{Authorized, PolicyRule};
use aoi_control::{ApiError, Permission, Role};
use aoi_store::{NewUser, User};
use serde::Deserialize;
use serde_json::json;

use crate::Platform;
use crate::audit;
use crate::ports::{internal, store_error};
use crate::tenants::scope_tenant;

/// The body of `POST /api/v1/users`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    /// viewer, operator or admin.
    pub role: String,
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Checks a username (1 to 64 visible characters) and a password (8 characters or more).
pub fn check_credentials(username: &str, password: &str) -> Result<(), ApiError> {
    if username.is_empty()
        || username.chars().count() > 64
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ApiError::invalid_input(
            "username",
            "use 1 to 64 characters without spaces",
        ));
    }
    if password.chars().count() < 8 {
        return Err(ApiError::invalid_input(
            "password",
            "must be at least 8 characters",
        ));
    }
    Ok(())
}

/// Parses a role the caller may grant.
pub fn grantable_role(proof: &Authorized, role: &str) -> Result<Role, ApiError> {
    let parsed: Role = role
        .parse()
        .map_err(|e: aoi_control::principal::UnknownRole| {
            ApiError::invalid_input("role", e.to_string())
        })?;
    if !proof.may_grant(parsed) {
        return Err(ApiError::Forbidden {
            permission: format!("grant role {parsed}"),
            tenant: proof.scope().to_string(),
        });
    }
    Ok(parsed)
}

/// Creates a user in the caller's tenant (tenant admin).
pub async fn create(
    platform: &Platform,
    proof: &Authorized,
    input: CreateUser,
) -> Result<User, ApiError> {
    proof.require(Permission::ManageUsers)?;
    check_credentials(&input.username, &input.password)?;
    let role = grantable_role(proof, &input.role)?;
    let tenant = scope_tenant(platform, proof).await?;
    let hash = hash_password(&input.password).map_err(|e| internal("hash", &e.to_string()))?;
    let user = platform
        .store
        .create_user(
            tenant,
            NewUser {
                username: input.username.clone(),
                password_hash: hash,
                role: role.as_str().into(),
            },
        )
        .await
        .map_err(store_error(format!("user {}", input.username)))?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "user.create",
        &format!("user:{}", user.id),
        json!({ "username": user.username, "role": user.role }),
    )
    .await?;
    Ok(user)
}

/// The caller's tenant's users.
pub async fn list(platform: &Platform, proof: &Authorized) -> Result<Vec<User>, ApiError> {
    proof.require(Permission::ManageUsers)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .store
        .users(tenant)
        .await
        .map_err(store_error("users"))
}

/// The tenant's policy lines.
pub async fn list_policies(
    platform: &Platform,
    proof: &Authorized,
) -> Result<Vec<PolicyRule>, ApiError> {
    Ok(platform.authorizer.rules(proof).await?)
}

/// The body of `POST` and `DELETE /api/v1/policies`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    pub rules: Vec<PolicyRule>,
}

/// Adds policy lines in the caller's tenant.
pub async fn add_policies(
    platform: &Platform,
    proof: &Authorized,
    change: PolicyChange,
) -> Result<(), ApiError> {
    proof.require(Permission::ManagePolicies)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .authorizer
        .add_rules(proof, change.rules.clone())
        .await?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "policy.add",
        "policies",
        json!({ "rules": change.rules }),
    )
    .await?;
    Ok(())
}

/// Removes policy lines in the caller's tenant.
pub async fn remove_policies(
    platform: &Platform,
    proof: &Authorized,
    change: PolicyChange,
) -> Result<(), ApiError> {
    proof.require(Permission::ManagePolicies)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .authorizer
        .remove_rules(proof, change.rules.clone())
        .await?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "policy.remove",
        "policies",
        json!({ "rules": change.rules }),
    )
    .await?;
    Ok(())
}
