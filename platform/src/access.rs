//! Authorization of an authenticated caller, shared by every transport (REST, gRPC, the
//! console): the proof the service functions require, with refused writes audited.

use aoi_control::{ApiError, Authorized, Permission, Principal, TenantScope};

use crate::Platform;

/// Where `permission` is checked: the caller's own tenant, or the platform for platform-wide
/// permissions.
fn scope_of(principal: &Principal, permission: Permission) -> TenantScope {
    if permission.is_platform_wide() {
        TenantScope::Platform
    } else {
        TenantScope::Tenant(principal.tenant.clone())
    }
}

/// Authorizes `permission` for `principal` in its own tenant (or the platform for
/// platform-wide permissions) and returns the proof the service functions require. A refused
/// write is audited.
pub async fn authorize(
    platform: &Platform,
    principal: &Principal,
    permission: Permission,
) -> Result<Authorized, ApiError> {
    let scope = scope_of(principal, permission);
    match platform
        .authorizer
        .authorize(principal, &scope, permission)
        .await
    {
        Ok(proof) => Ok(proof),
        Err(e) => {
            let (_, action) = permission.object_action();
            if action != "read" {
                crate::audit::record_denied(platform, principal, permission, &permission.name())
                    .await?;
            }
            Err(e.into())
        }
    }
}

/// The proof for `permission` when `principal` holds it, without auditing a refusal: for
/// showing or hiding a control or a section. An action itself goes through [`authorize`].
pub async fn proof_if_held(
    platform: &Platform,
    principal: &Principal,
    permission: Permission,
) -> Option<Authorized> {
    let scope = scope_of(principal, permission);
    platform
        .authorizer
        .authorize(principal, &scope, permission)
        .await
        .ok()
}
