//! One backend's live state: health, served models and adapters, in-flight count, breaker, counters;
//! and the [`Lease`] a request holds while it uses the backend.

use crate::breaker::{Breaker, BreakerState};
use crate::config::{BackendSpec, Trust};
use crate::metrics::BackendMetrics;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What `/v1/models` listed: base models, and LoRA adapters with their parent model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Served {
    pub(crate) bases: Vec<String>,
    pub(crate) adapters: Vec<(String, String)>,
}

impl Served {
    /// Reads a vLLM `/v1/models` answer: an entry with a non-null `parent` is a LoRA adapter.
    pub(crate) fn from_models_list(body: &Value) -> Option<Served> {
        let data = body.get("data")?.as_array()?;
        let mut served = Served::default();
        for entry in data {
            let Some(id) = entry.get("id").and_then(Value::as_str) else {
                continue;
            };
            match entry.get("parent").and_then(Value::as_str) {
                Some(parent) => served.adapters.push((id.to_string(), parent.to_string())),
                None => served.bases.push(id.to_string()),
            }
        }
        Some(served)
    }
}

pub(crate) struct Backend {
    pub(crate) spec: BackendSpec,
    /// The URL without a trailing `/`.
    pub(crate) base_url: String,
    healthy: AtomicBool,
    served: RwLock<Served>,
    /// Adapters this pool loaded (`Some(parent)`) or unloaded (`None`) here, with when: a health
    /// round whose model list was read before a change must not undo it.
    changes: Mutex<Vec<(String, Option<String>, Instant)>>,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    errors: AtomicU64,
    breaker: Mutex<Breaker>,
    pub(crate) metrics: BackendMetrics,
}

impl Backend {
    pub(crate) fn new(spec: BackendSpec, threshold: u32, cooldown: Duration) -> Self {
        Backend {
            base_url: spec.url.trim_end_matches('/').to_string(),
            spec,
            healthy: AtomicBool::new(false),
            served: RwLock::new(Served::default()),
            changes: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            breaker: Mutex::new(Breaker::new(threshold, cooldown)),
            metrics: BackendMetrics::default(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.spec.name
    }

    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Records a health round whose probes started at `probed_at`; returns the previous health.
    /// Adapter loads and unloads made since `probed_at` are kept over the (older) model list.
    pub(crate) fn set_health(
        &self,
        healthy: bool,
        served: Option<Served>,
        probed_at: Instant,
    ) -> bool {
        if let Some(mut served) = served {
            let mut changes = lock(&self.changes);
            changes.retain(|(_, _, at)| *at >= probed_at);
            for (name, parent, _) in changes.iter() {
                served.adapters.retain(|(n, _)| n != name);
                if let Some(parent) = parent {
                    served.adapters.push((name.clone(), parent.clone()));
                }
            }
            *self.served.write().unwrap_or_else(|p| p.into_inner()) = served;
        }
        self.healthy.swap(healthy, Ordering::AcqRel)
    }

    fn record_change(&self, name: &str, parent: Option<&str>) {
        let mut changes = lock(&self.changes);
        changes.retain(|(n, _, _)| n != name);
        changes.push((name.to_string(), parent.map(str::to_string), Instant::now()));
    }

    /// Whether the spec lets this backend serve `base` (and adapters of it).
    fn allows_base(&self, base: &str) -> bool {
        self.spec.models.is_empty() || self.spec.models.iter().any(|m| m == base)
    }

    /// Whether this backend serves `model` (a base model or a loaded LoRA adapter), per its last
    /// model list and the spec's allowed base models.
    pub(crate) fn serves(&self, model: &str) -> bool {
        let served = self.served.read().unwrap_or_else(|p| p.into_inner());
        served
            .bases
            .iter()
            .any(|b| b == model && self.allows_base(b))
            || served
                .adapters
                .iter()
                .any(|(name, parent)| name == model && self.allows_base(parent))
    }

    /// Whether `/v1/models` (or a load of ours) listed `adapter` as a LoRA adapter here.
    pub(crate) fn lists_adapter(&self, adapter: &str) -> bool {
        let served = self.served.read().unwrap_or_else(|p| p.into_inner());
        served.adapters.iter().any(|(name, _)| name == adapter)
    }

    /// Records an adapter loaded on this backend, before the next health round lists it.
    pub(crate) fn add_adapter(&self, name: &str, parent: &str) {
        self.record_change(name, Some(parent));
        let mut served = self.served.write().unwrap_or_else(|p| p.into_inner());
        if !served.adapters.iter().any(|(n, _)| n == name) {
            served.adapters.push((name.to_string(), parent.to_string()));
        }
    }

    /// Forgets an adapter unloaded from this backend.
    pub(crate) fn remove_adapter(&self, name: &str) {
        self.record_change(name, None);
        let mut served = self.served.write().unwrap_or_else(|p| p.into_inner());
        served.adapters.retain(|(n, _)| n != name);
    }

    /// Whether this backend may be asked to load an adapter of `base` for a tenant: healthy,
    /// allowed for the tenant, `load_adapters` set, serving `base`, circuit not open.
    pub(crate) fn may_load(&self, base: &str, allow_external: bool, now: Instant) -> bool {
        let serves_base = {
            let served = self.served.read().unwrap_or_else(|p| p.into_inner());
            served.bases.iter().any(|b| b == base)
        };
        self.spec.load_adapters
            && self.is_healthy()
            && (allow_external || self.spec.trust == Trust::Local)
            && serves_base
            && self.allows_base(base)
            && lock(&self.breaker).would_allow(now)
    }

    pub(crate) fn served_models(&self) -> Vec<String> {
        let served = self.served.read().unwrap_or_else(|p| p.into_inner());
        served
            .bases
            .iter()
            .cloned()
            .chain(served.adapters.iter().map(|(name, _)| name.clone()))
            .collect()
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Everything but load: healthy, serves the model, allowed for the tenant, circuit not open.
    pub(crate) fn is_eligible(&self, model: &str, allow_external: bool, now: Instant) -> bool {
        self.is_healthy()
            && (allow_external || self.spec.trust == Trust::Local)
            && self.serves(model)
            && lock(&self.breaker).would_allow(now)
    }

    pub(crate) fn breaker_state(&self, now: Instant) -> BreakerState {
        lock(&self.breaker).state(now)
    }

    pub(crate) fn record_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

/// Takes a slot on `backend` when it has one and its circuit lets the request through.
pub(crate) fn try_lease(backend: &Arc<Backend>, now: Instant) -> Option<Lease> {
    let max = backend.spec.max_in_flight;
    backend
        .in_flight
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()?;
    let Some(trial) = lock(&backend.breaker).try_acquire(now) else {
        backend.in_flight.fetch_sub(1, Ordering::AcqRel);
        return None;
    };
    backend.requests.fetch_add(1, Ordering::Relaxed);
    Some(Lease {
        backend: Arc::clone(backend),
        trial,
        settled: false,
    })
}

/// A request's hold on a backend: counts it in flight until dropped; reports the outcome to the
/// breaker once.
pub(crate) struct Lease {
    pub(crate) backend: Arc<Backend>,
    trial: bool,
    settled: bool,
}

impl Lease {
    pub(crate) fn succeed(&mut self) {
        if !self.settled {
            self.settled = true;
            lock(&self.backend.breaker).on_success();
        }
    }

    /// A failure of the backend (connect error, timeout, 5xx, broken body): counts toward its breaker.
    pub(crate) fn fail(&mut self) {
        self.backend.record_error();
        if !self.settled {
            self.settled = true;
            if lock(&self.backend.breaker).on_failure(Instant::now()) {
                tracing::warn!(backend = %self.backend.name(), "circuit opened");
            }
        }
    }

    /// A failure that says nothing about the backend's health (429, 4xx): counted, not held against it.
    pub(crate) fn fail_softly(&mut self) {
        self.backend.record_error();
        if !self.settled {
            self.settled = true;
            lock(&self.backend.breaker).abandon(self.trial);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.settled {
            lock(&self.backend.breaker).abandon(self.trial);
        }
        self.backend.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn adapters_are_models_with_a_parent() {
        let served = Served::from_models_list(&json!({"data": [
            {"id": "base", "root": "base", "parent": null},
            {"id": "tenant-a", "root": "/adapters/a", "parent": "base"}
        ]}))
        .unwrap();
        assert_eq!(served.bases, vec!["base".to_string()]);
        assert_eq!(
            served.adapters,
            vec![("tenant-a".to_string(), "base".to_string())]
        );
        assert!(Served::from_models_list(&json!({"oops": 1})).is_none());
    }

    fn listed(adapters: &[&str]) -> Served {
        Served {
            bases: vec!["base".into()],
            adapters: adapters
                .iter()
                .map(|a| (a.to_string(), "base".to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_model_list_read_before_a_load_or_unload_does_not_undo_it() {
        let spec: BackendSpec =
            serde_json::from_value(json!({"name": "b", "url": "http://b"})).unwrap();
        let backend = Backend::new(spec, 3, Duration::from_secs(1));
        let before = Instant::now();
        backend.set_health(true, Some(listed(&["old"])), before);
        backend.add_adapter("new", "base");
        backend.remove_adapter("old");
        // A round that read the list before the changes.
        backend.set_health(true, Some(listed(&["old"])), before);
        assert!(backend.serves("new") && !backend.serves("old"));
        // A later round is the truth again: vLLM lost `new` (restart).
        backend.set_health(true, Some(listed(&[])), Instant::now());
        assert!(!backend.serves("new"));
    }
}
