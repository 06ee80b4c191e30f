//! The cache of casbin decisions behind [`super::Authorizer`].
//!
//! Evaluating casbin's matcher is the costly part of authorizing a request that is otherwise
//! answered from memory (an API key calling `/v1/chat/completions`), and the answer only
//! changes when the policies do. Every policy change goes through the authorizer under the
//! enforcer's write lock and empties this cache before releasing it; a decision is stored only
//! while the enforcer's read lock is held. So no decision made under old policies survives a
//! change.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Most decisions kept; past it the cache starts over (subjects include every user and key).
const LIMIT: usize = 65_536;

/// `(subject, domain, object, action)`, as casbin is asked.
type Key = (String, String, &'static str, &'static str);

/// casbin's answers, by question.
#[derive(Debug, Default)]
pub(super) struct DecisionCache {
    decisions: Mutex<HashMap<Key, bool>>,
}

impl DecisionCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, bool>> {
        self.decisions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached answer, if the question was asked since the last change.
    pub fn get(
        &self,
        subject: &str,
        domain: &str,
        object: &'static str,
        action: &'static str,
    ) -> Option<bool> {
        let key: Key = (subject.to_string(), domain.to_string(), object, action);
        self.lock().get(&key).copied()
    }

    /// Remembers an answer. Call only with the enforcer's read lock held.
    pub fn put(
        &self,
        subject: &str,
        domain: &str,
        object: &'static str,
        action: &'static str,
        allowed: bool,
    ) {
        let mut decisions = self.lock();
        if decisions.len() >= LIMIT {
            decisions.clear();
        }
        decisions.insert(
            (subject.to_string(), domain.to_string(), object, action),
            allowed,
        );
    }

    /// Forgets every answer: the policies changed. Call with the enforcer's write lock held.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many answers are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::{Authorizer, MemoryPolicyStore, PolicyRule, PolicyStore};
    use super::*;
    use crate::authz::{Permission, TenantScope};
    use crate::principal::{Principal, PrincipalKind, Role, TenantSlug};
    use std::sync::Arc;

    #[test]
    fn answers_are_kept_per_question_until_cleared() {
        let cache = DecisionCache::default();
        assert_eq!(cache.get("role:viewer", "acme", "incidents", "read"), None);
        cache.put("role:viewer", "acme", "incidents", "read", true);
        cache.put("role:viewer", "acme", "incidents", "write", false);
        assert_eq!(
            cache.get("role:viewer", "acme", "incidents", "read"),
            Some(true)
        );
        assert_eq!(
            cache.get("role:viewer", "acme", "incidents", "write"),
            Some(false)
        );
        assert_eq!(
            cache.get("role:viewer", "globex", "incidents", "read"),
            None
        );
        cache.clear();
        assert_eq!(cache.get("role:viewer", "acme", "incidents", "read"), None);
    }

    #[test]
    fn the_cache_starts_over_past_its_limit() {
        let cache = DecisionCache::default();
        for i in 0..LIMIT {
            cache.put(&format!("key:{i}"), "acme", "sessions", "start", true);
        }
        assert_eq!(cache.len(), LIMIT);
        cache.put("key:last", "acme", "sessions", "start", true);
        assert_eq!(cache.len(), 1);
        assert_eq!(
            cache.get("key:last", "acme", "sessions", "start"),
            Some(true)
        );
    }

    fn viewer() -> Principal {
        Principal {
            kind: PrincipalKind::User,
            id: "v".into(),
            display: "v".into(),
            tenant: TenantSlug::new("acme").unwrap(),
            roles: vec![Role::Viewer],
        }
    }

    /// A change made by another replica reaches this one through `reload`, which must drop
    /// the decisions cached before it.
    #[tokio::test]
    async fn a_reload_drops_cached_decisions() {
        let store = Arc::new(MemoryPolicyStore::default());
        let acme = TenantSlug::new("acme").unwrap();
        let authz = Authorizer::new(store.clone()).await.unwrap();
        authz.bootstrap(&acme).await.unwrap();
        let scope = TenantScope::Tenant(acme);
        let viewer = viewer();
        for _ in 0..2 {
            assert!(
                authz
                    .authorize(&viewer, &scope, Permission::ReadAudit)
                    .await
                    .is_err()
            );
        }
        assert!(authz.decisions.len() > 0);

        // Another replica grants viewers the audit log, straight in the shared store.
        store
            .add(&[PolicyRule::allow("role:viewer", "acme", "audit", "read")])
            .await
            .unwrap();
        assert!(
            authz
                .authorize(&viewer, &scope, Permission::ReadAudit)
                .await
                .is_err(),
            "not reloaded yet: the cached and the loaded policies agree"
        );
        authz.reload().await.unwrap();
        assert!(
            authz
                .authorize(&viewer, &scope, Permission::ReadAudit)
                .await
                .is_ok()
        );
    }
}
