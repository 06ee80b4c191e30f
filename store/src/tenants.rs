//! Tenants, users and API keys.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use uuid::Uuid;

use crate::entity::{api_key, tenant, user};
use crate::error::unique_as;
use crate::{Store, StoreError, Tenant, TenantId, now};

#[derive(Clone, Debug)]
pub struct NewTenant {
    /// URL-safe, unique across the platform.
    pub slug: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    /// An argon2 PHC string computed by the caller.
    pub password_hash: String,
    pub role: String,
}

/// A user as listed: no password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A user with the stored hash, for password verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub name: String,
    /// The key's public prefix, unique across the platform: how a presented key is found.
    pub prefix: String,
    /// The hash of the full key; the key itself is never stored.
    pub key_hash: String,
    pub role: String,
}

/// An API key as listed: no hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub name: String,
    pub prefix: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An active key with its hash, for verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyCredentials {
    pub key: ApiKey,
    pub key_hash: String,
}

impl From<user::Model> for UserCredentials {
    fn from(m: user::Model) -> Self {
        UserCredentials {
            user: User {
                id: m.id,
                tenant_id: TenantId::from_uuid(m.tenant_id),
                username: m.username,
                role: m.role,
                disabled: m.disabled,
                created_at: m.created_at,
            },
            password_hash: m.password_hash,
        }
    }
}

impl From<api_key::Model> for ApiKeyCredentials {
    fn from(m: api_key::Model) -> Self {
        ApiKeyCredentials {
            key: ApiKey {
                id: m.id,
                tenant_id: TenantId::from_uuid(m.tenant_id),
                name: m.name,
                prefix: m.prefix,
                role: m.role,
                created_at: m.created_at,
                revoked_at: m.revoked_at,
            },
            key_hash: m.key_hash,
        }
    }
}

impl Store {
    /// Creates a tenant; `Conflict` when the slug is taken.
    pub async fn create_tenant(&self, new: NewTenant) -> Result<Tenant, StoreError> {
        tenant::ActiveModel {
            id: Set(Uuid::new_v4()),
            slug: Set(new.slug),
            name: Set(new.name),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await
        .map_err(unique_as("tenant slug already exists"))
    }

    /// Platform lookup (login names the tenant by slug).
    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        Ok(tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug))
            .one(&self.db)
            .await?)
    }

    pub async fn tenant(&self, tenant: TenantId) -> Result<Option<Tenant>, StoreError> {
        Ok(tenant::Entity::find_by_id(tenant.as_uuid())
            .one(&self.db)
            .await?)
    }

    /// Every tenant, by slug (platform administration).
    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        Ok(tenant::Entity::find()
            .order_by_asc(tenant::Column::Slug)
            .all(&self.db)
            .await?)
    }

    /// `Conflict` when the username is taken in this tenant; `NotFound` for an unknown tenant.
    pub async fn create_user(&self, tenant: TenantId, new: NewUser) -> Result<User, StoreError> {
        self.require_tenant(tenant).await?;
        let model = user::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            username: Set(new.username),
            password_hash: Set(new.password_hash),
            role: Set(new.role),
            disabled: Set(false),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await
        .map_err(unique_as("username already exists in this tenant"))?;
        Ok(UserCredentials::from(model).user)
    }

    /// The user with its hash, for login. Disabled users are returned (with `disabled` set) so
    /// the caller can say why a login fails.
    pub async fn user_by_username(
        &self,
        tenant: TenantId,
        username: &str,
    ) -> Result<Option<UserCredentials>, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant.as_uuid()))
            .filter(user::Column::Username.eq(username))
            .one(&self.db)
            .await?
            .map(UserCredentials::from))
    }

    pub async fn user(&self, tenant: TenantId, id: Uuid) -> Result<Option<User>, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant.as_uuid()))
            .filter(user::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .map(|m| UserCredentials::from(m).user))
    }

    /// The tenant's users by username, without hashes.
    pub async fn users(&self, tenant: TenantId) -> Result<Vec<User>, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant.as_uuid()))
            .order_by_asc(user::Column::Username)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| UserCredentials::from(m).user)
            .collect())
    }

    /// Disables a user (idempotent); `NotFound` when the tenant has no such user.
    pub async fn disable_user(&self, tenant: TenantId, id: Uuid) -> Result<(), StoreError> {
        let done = user::Entity::update_many()
            .set(user::ActiveModel {
                disabled: Set(true),
                ..Default::default()
            })
            .filter(user::Column::TenantId.eq(tenant.as_uuid()))
            .filter(user::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// `Conflict` when the prefix is taken or the name is used in this tenant.
    pub async fn create_api_key(
        &self,
        tenant: TenantId,
        new: NewApiKey,
    ) -> Result<ApiKey, StoreError> {
        self.require_tenant(tenant).await?;
        let model = api_key::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            name: Set(new.name),
            prefix: Set(new.prefix),
            key_hash: Set(new.key_hash),
            role: Set(new.role),
            created_at: Set(now()),
            revoked_at: Set(None),
        }
        .insert(&self.db)
        .await
        .map_err(unique_as("api key prefix or name already exists"))?;
        Ok(ApiKeyCredentials::from(model).key)
    }

    /// Finds an active (not revoked) key by its prefix, for verification of a presented key.
    /// Not tenant-scoped: the key is what tells the tenant.
    pub async fn api_key_by_prefix(
        &self,
        prefix: &str,
    ) -> Result<Option<ApiKeyCredentials>, StoreError> {
        Ok(api_key::Entity::find()
            .filter(api_key::Column::Prefix.eq(prefix))
            .filter(api_key::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
            .map(ApiKeyCredentials::from))
    }

    /// Revokes a key (revoking a revoked key keeps the first revocation time).
    pub async fn revoke_api_key(&self, tenant: TenantId, id: Uuid) -> Result<(), StoreError> {
        let found = api_key::Entity::find()
            .filter(api_key::Column::TenantId.eq(tenant.as_uuid()))
            .filter(api_key::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound)?;
        if found.revoked_at.is_some() {
            return Ok(());
        }
        api_key::Entity::update_many()
            .set(api_key::ActiveModel {
                revoked_at: Set(Some(now())),
                ..Default::default()
            })
            .filter(api_key::Column::TenantId.eq(tenant.as_uuid()))
            .filter(api_key::Column::Id.eq(id))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The tenant's keys (revoked ones included), without hashes.
    pub async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        Ok(api_key::Entity::find()
            .filter(api_key::Column::TenantId.eq(tenant.as_uuid()))
            .order_by_asc(api_key::Column::CreatedAt)
            .order_by_asc(api_key::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| ApiKeyCredentials::from(m).key)
            .collect())
    }

    pub(crate) async fn require_tenant(&self, tenant: TenantId) -> Result<(), StoreError> {
        match self.tenant(tenant).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound),
        }
    }
}
