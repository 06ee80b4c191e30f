//! Tenants: the first-start bootstrap, creation and listing by a platform admin, login, and
//! the lookup from an authorization proof to the tenant row it is confined to.

use aoi_control::auth::{LoginRequest, LoginResponse, hash_password};
use aoi_control::authz::{Authorized, AuthzError, PLATFORM_DOMAIN, PolicyRule};
use aoi_control::{ApiError, Permission, Role, TenantSlug};
use aoi_store::{NewTenant, NewUser, Tenant, TenantId};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Platform;
use crate::audit::{self, Entry};
use crate::ports::{internal, store_error};

/// The tenant every first start creates.
pub const DEFAULT_TENANT: &str = "default";
/// The first admin's username.
pub const DEFAULT_ADMIN: &str = "admin";

/// The tenant row of the proof's tenant scope. A proof for the platform scope has none.
pub async fn scope_tenant(platform: &Platform, proof: &Authorized) -> Result<TenantId, ApiError> {
    let Some(slug) = proof.tenant() else {
        return Err(ApiError::invalid_input(
            "tenant",
            "this operation works inside a tenant",
        ));
    };
    tenant_id_of(platform, slug).await
}

/// How long a tenant's slug-to-id mapping is reused before the store is asked again. Tenants
/// are never deleted through the platform, so the mapping cannot go stale within a process.
const TENANT_ID_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Slug-to-id mappings of tenants, so per-request paths (usage records, inference) skip a query.
#[derive(Debug, Default)]
pub struct TenantIds {
    known: std::sync::Mutex<std::collections::HashMap<String, (TenantId, std::time::Instant)>>,
}

impl TenantIds {
    fn get(&self, slug: &str) -> Option<TenantId> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(slug)
            .filter(|(_, at)| at.elapsed() < TENANT_ID_TTL)
            .map(|(id, _)| *id)
    }

    fn put(&self, slug: &str, id: TenantId) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() > 100_000 {
            known.clear();
        }
        known.insert(slug.to_string(), (id, std::time::Instant::now()));
    }
}

/// The id of the tenant `slug`; `NotFound` when it does not exist.
pub async fn tenant_id_of(platform: &Platform, slug: &TenantSlug) -> Result<TenantId, ApiError> {
    if let Some(id) = platform.tenant_ids.get(slug.as_str()) {
        return Ok(id);
    }
    let id = platform
        .store
        .tenant_by_slug(slug.as_str())
        .await
        .map_err(store_error(format!("tenant {slug}")))?
        .map(|t| t.tenant_id())
        .ok_or_else(|| ApiError::NotFound {
            what: format!("tenant {slug}"),
        })?;
    platform.tenant_ids.put(slug.as_str(), id);
    Ok(id)
}

/// What the first start did.
#[derive(Debug, Clone)]
pub struct BootstrapReport {
    /// The admin password, when it was generated (print it once).
    pub generated_password: Option<String>,
}

/// A random password of 24 letters and digits.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| {
            let i = rng.random_range(0..ALPHABET.len());
            char::from(ALPHABET.get(i).copied().unwrap_or(b'x'))
        })
        .collect()
}

/// On a fresh database: creates tenant `default`, user `admin` (role admin, and platform
/// admin through a policy line), and the default policies. `admin_password` is used when
/// given, else one is generated and returned. `None` when the tenant already exists.
pub async fn bootstrap(
    platform: &Platform,
    admin_password: Option<String>,
) -> Result<Option<BootstrapReport>, ApiError> {
    let store = &platform.store;
    if store
        .tenant_by_slug(DEFAULT_TENANT)
        .await
        .map_err(store_error("tenant default"))?
        .is_some()
    {
        ensure_platform_policies(platform).await?;
        return Ok(None);
    }
    let slug =
        TenantSlug::new(DEFAULT_TENANT).map_err(|e| internal("bootstrap", &e.to_string()))?;
    let tenant = store
        .create_tenant(NewTenant {
            slug: DEFAULT_TENANT.into(),
            name: "Default".into(),
        })
        .await
        .map_err(store_error("tenant default"))?;
    let (password, generated) = match admin_password {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    let hash = hash_password(&password).map_err(|e| internal("bootstrap", &e.to_string()))?;
    let admin = store
        .create_user(
            tenant.tenant_id(),
            NewUser {
                username: DEFAULT_ADMIN.into(),
                password_hash: hash,
                role: Role::Admin.as_str().into(),
            },
        )
        .await
        .map_err(store_error("user admin"))?;
    match platform.authorizer.bootstrap(&slug).await {
        Ok(()) | Err(AuthzError::AlreadyBootstrapped) => {}
        Err(e) => return Err(e.into()),
    }
    // The first admin is also the platform admin: a membership line in the platform domain.
    let member = PolicyRule::member(
        &format!("user:{}", admin.id),
        &Role::PlatformAdmin.subject(),
        PLATFORM_DOMAIN,
    );
    aoi_control::authz::PolicyStore::add(&crate::ports::StorePolicies(store.clone()), &[member])
        .await
        .map_err(|e| internal("bootstrap policies", &e.0))?;
    platform.authorizer.reload().await?;
    audit::record(
        platform,
        Entry {
            tenant: Some(tenant.tenant_id()),
            actor: "system".into(),
            action: "platform.bootstrap".into(),
            target: format!("tenant:{}", tenant.slug),
            decision: None,
            details: json!({ "admin_user": admin.id, "password_generated": generated }),
        },
    )
    .await?;
    Ok(Some(BootstrapReport {
        generated_password: generated.then_some(password),
    }))
}

/// Adds platform-wide rules a newer version introduced (e.g. `publish_plugins`) to a database
/// bootstrapped before it; rules already there are kept.
async fn ensure_platform_policies(platform: &Platform) -> Result<(), ApiError> {
    let store = crate::ports::StorePolicies(platform.store.clone());
    let present = aoi_control::authz::PolicyStore::load(&store)
        .await
        .map_err(|e| internal("platform policies", &e.0))?;
    let missing: Vec<PolicyRule> = aoi_control::authz::platform_policies()
        .into_iter()
        .filter(|rule| !present.contains(rule))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    aoi_control::authz::PolicyStore::add(&store, &missing)
        .await
        .map_err(|e| internal("platform policies", &e.0))?;
    platform.authorizer.reload().await?;
    Ok(())
}

/// Logs in; success and failure are both audited (in the tenant when it exists).
pub async fn login(platform: &Platform, request: &LoginRequest) -> Result<LoginResponse, ApiError> {
    let outcome = platform.authenticator.login(request).await;
    let tenant = platform
        .store
        .tenant_by_slug(&request.tenant)
        .await
        .map_err(store_error("tenant"))?
        .map(|t| t.tenant_id());
    let decision = if outcome.is_ok() {
        "success"
    } else {
        "failure"
    };
    audit::record(
        platform,
        Entry {
            tenant,
            actor: format!("username:{}", request.username),
            action: "auth.login".into(),
            target: format!("tenant:{}", request.tenant),
            decision: Some(decision.into()),
            details: json!({}),
        },
    )
    .await?;
    outcome.map_err(ApiError::from)
}

/// The body of `POST /api/v1/tenants`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub slug: String,
    pub name: String,
    /// Optional first admin of the new tenant (with `admin_password`).
    #[serde(default)]
    pub admin_username: Option<String>,
    #[serde(default)]
    pub admin_password: Option<String>,
}

/// A tenant as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TenantView {
    pub id: uuid::Uuid,
    pub slug: String,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        TenantView {
            id: t.id,
            slug: t.slug,
            name: t.name,
            created_at: t.created_at,
        }
    }
}

/// Creates a tenant with the default policies (platform admin).
pub async fn create(
    platform: &Platform,
    proof: &Authorized,
    input: CreateTenant,
) -> Result<TenantView, ApiError> {
    proof.require(Permission::ManageTenants)?;
    let slug =
        TenantSlug::new(&input.slug).map_err(|e| ApiError::invalid_input("slug", e.to_string()))?;
    if input.name.trim().is_empty() {
        return Err(ApiError::invalid_input("name", "must not be empty"));
    }
    let admin = match (&input.admin_username, &input.admin_password) {
        (None, None) => None,
        (Some(u), Some(p)) => {
            crate::users::check_credentials(u, p)?;
            Some((
                u.clone(),
                hash_password(p).map_err(|e| internal("hash", &e.to_string()))?,
            ))
        }
        _ => {
            return Err(ApiError::invalid_input(
                "admin_password",
                "give admin_username and admin_password together, or neither",
            ));
        }
    };
    let tenant = platform
        .store
        .create_tenant(NewTenant {
            slug: slug.as_str().into(),
            name: input.name.clone(),
        })
        .await
        .map_err(store_error(format!("tenant {slug}")))?;
    platform.authorizer.seed_tenant(proof, &slug).await?;
    if let Some((username, hash)) = admin {
        platform
            .store
            .create_user(
                tenant.tenant_id(),
                NewUser {
                    username,
                    password_hash: hash,
                    role: Role::Admin.as_str().into(),
                },
            )
            .await
            .map_err(store_error("user"))?;
    }
    audit::record_write(
        platform,
        proof,
        None,
        "tenant.create",
        &format!("tenant:{slug}"),
        json!({ "name": input.name, "with_admin": input.admin_username }),
    )
    .await?;
    Ok(tenant.into())
}

/// Every tenant (platform admin).
pub async fn list(platform: &Platform, proof: &Authorized) -> Result<Vec<TenantView>, ApiError> {
    proof.require(Permission::ManageTenants)?;
    Ok(platform
        .store
        .tenants()
        .await
        .map_err(store_error("tenants"))?
        .into_iter()
        .map(TenantView::from)
        .collect())
}
