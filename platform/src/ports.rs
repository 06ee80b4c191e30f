//! aoi-control's ports implemented over the [`Store`]: users for login, API keys by prefix,
//! and casbin policy lines. Also the one mapping from [`StoreError`] to [`ApiError`].

use aoi_control::ApiError;
use aoi_control::auth::{ApiKeyLookup, ApiKeyRecord, PortError, UserLookup, UserRecord};
use aoi_control::authz::{PolicyRule, PolicyStore};
use aoi_control::{Role, TenantSlug};
use aoi_store::{CasbinRule, NewCasbinRule, Store, StoreError};
use async_trait::async_trait;

fn port(e: StoreError) -> PortError {
    PortError(e.to_string())
}

/// Maps a store error to what clients see; `what` names the thing looked for (`incident 42`).
/// Database causes are logged with a reference, never shown.
pub fn store_error(what: impl Into<String>) -> impl FnOnce(StoreError) -> ApiError {
    let what = what.into();
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound { what },
        StoreError::Conflict { what: c } => ApiError::Conflict { what: c },
        StoreError::InvalidTransition { from, to } => ApiError::Conflict {
            what: format!("{what} cannot move from {from} to {to}"),
        },
        StoreError::Database(cause) => internal("database", &cause),
    }
}

/// An internal error: logs `cause` under a fresh reference and answers with the reference.
pub fn internal(context: &str, cause: &str) -> ApiError {
    let reference = uuid::Uuid::new_v4().to_string();
    tracing::error!(%reference, context, cause, "internal error");
    ApiError::Internal { reference }
}

/// Lowercase hex of bytes (API key hashes are stored this way).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        let pair = s.get(2 * i..2 * i + 2)?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// [`UserLookup`] over the store.
#[derive(Clone, Debug)]
pub struct StoreUsers(pub Store);

#[async_trait]
impl UserLookup for StoreUsers {
    async fn find_user(
        &self,
        tenant: &TenantSlug,
        username: &str,
    ) -> Result<Option<UserRecord>, PortError> {
        let Some(row) = self.0.tenant_by_slug(tenant.as_str()).await.map_err(port)? else {
            return Ok(None);
        };
        let Some(found) = self
            .0
            .user_by_username(row.tenant_id(), username)
            .await
            .map_err(port)?
        else {
            return Ok(None);
        };
        let role: Role = found
            .user
            .role
            .parse()
            .map_err(|e: aoi_control::principal::UnknownRole| PortError(e.to_string()))?;
        Ok(Some(UserRecord {
            id: found.user.id.to_string(),
            tenant: tenant.clone(),
            username: found.user.username,
            password_hash: found.password_hash,
            roles: vec![role],
            disabled: found.user.disabled,
        }))
    }
}

/// [`ApiKeyLookup`] over the store. Revoked keys are not returned by the store, so they
/// answer "unknown API key".
#[derive(Clone, Debug)]
pub struct StoreApiKeys(pub Store);

#[async_trait]
impl ApiKeyLookup for StoreApiKeys {
    async fn find_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRecord>, PortError> {
        let Some(found) = self.0.api_key_by_prefix(prefix).await.map_err(port)? else {
            return Ok(None);
        };
        let Some(tenant) = self.0.tenant(found.key.tenant_id).await.map_err(port)? else {
            return Ok(None);
        };
        let tenant = TenantSlug::new(&tenant.slug).map_err(|e| PortError(e.to_string()))?;
        let role: Role = found
            .key
            .role
            .parse()
            .map_err(|e: aoi_control::principal::UnknownRole| PortError(e.to_string()))?;
        let secret_sha256 = unhex32(&found.key_hash)
            .ok_or_else(|| PortError(format!("API key {} has a malformed hash", found.key.id)))?;
        Ok(Some(ApiKeyRecord {
            id: found.key.id.to_string(),
            prefix: found.key.prefix,
            secret_sha256,
            tenant,
            role,
            name: found.key.name,
            revoked: found.key.revoked_at.is_some(),
        }))
    }
}

/// How long a looked-up API key is reused before the store is asked again. A key revoked
/// through another replica stops working within this time; through this process, at once.
pub const API_KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// [`StoreApiKeys`] with a short-lived cache of found keys, so a machine client's requests skip
/// two queries each. Unknown prefixes are not cached. [`CachedApiKeys::forget_all`] is called
/// when a key is revoked.
#[derive(Debug)]
pub struct CachedApiKeys {
    inner: StoreApiKeys,
    found: std::sync::Mutex<std::collections::HashMap<String, (ApiKeyRecord, std::time::Instant)>>,
}

impl CachedApiKeys {
    pub fn new(store: Store) -> CachedApiKeys {
        CachedApiKeys {
            inner: StoreApiKeys(store),
            found: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Drops every cached key (after a revocation).
    pub fn forget_all(&self) {
        self.found.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[async_trait]
impl ApiKeyLookup for CachedApiKeys {
    async fn find_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRecord>, PortError> {
        {
            let found = self.found.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((record, at)) = found.get(prefix)
                && at.elapsed() < API_KEY_CACHE_TTL
            {
                return Ok(Some(record.clone()));
            }
        }
        let record = self.inner.find_by_prefix(prefix).await?;
        if let Some(record) = &record {
            let mut found = self.found.lock().unwrap_or_else(|p| p.into_inner());
            if found.len() > 10_000 {
                found.clear();
            }
            found.insert(prefix.to_string(), (record.clone(), std::time::Instant::now()));
        }
        Ok(record)
    }
}

/// [`PolicyStore`] over the `casbin_rule` table.
#[derive(Clone, Debug)]
pub struct StorePolicies(pub Store);

fn to_rule(row: &CasbinRule) -> Option<PolicyRule> {
    let values = [&row.v0, &row.v1, &row.v2, &row.v3, &row.v4, &row.v5];
    let n = match row.ptype.as_str() {
        "p" => 4,
        "g" => 3,
        _ => return None,
    };
    let vals: Vec<String> = values.iter().take(n).map(|v| v.to_string()).collect();
    PolicyRule::from_casbin(&row.ptype, &vals)
}

fn to_row(rule: &PolicyRule) -> NewCasbinRule {
    NewCasbinRule::new(rule.ptype(), &rule.values())
}

#[async_trait]
impl PolicyStore for StorePolicies {
    async fn load(&self) -> Result<Vec<PolicyRule>, PortError> {
        Ok(self
            .0
            .casbin_rules()
            .await
            .map_err(port)?
            .iter()
            .filter_map(to_rule)
            .collect())
    }

    async fn add(&self, rules: &[PolicyRule]) -> Result<(), PortError> {
        let rows: Vec<NewCasbinRule> = rules.iter().map(to_row).collect();
        self.0.add_casbin_rules(&rows).await.map_err(port)?;
        Ok(())
    }

    async fn remove(&self, rules: &[PolicyRule]) -> Result<(), PortError> {
        let rows: Vec<NewCasbinRule> = rules.iter().map(to_row).collect();
        self.0.remove_casbin_rules(&rows).await.map_err(port)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes = [7u8; 32];
        assert_eq!(unhex32(&hex(&bytes)), Some(bytes));
        assert_eq!(unhex32("zz"), None);
    }
}
