//! What the twin's services print and export: pod logs ([`logs`]), Prometheus-like metrics
//! ([`metrics`]) and Jaeger-like traces ([`traces`]), rendered from the cluster's objects and
//! health.
//!
//! Everything here is a pure function of the cluster (seed, names, `now`, state, health):
//! rendering never consumes `Cluster::rng`, so reading telemetry changes nothing that happens
//! later, and the same seed repeats byte for byte. Pseudo-randomness comes from hashing
//! ([`noise`]).

pub mod files;
pub mod logs;
pub mod metrics;
pub(crate) mod noise;
pub(crate) mod timefmt;
pub mod traces;

pub use files::{render_csv_table, render_listing, Export, MetricsExport, TracesExport};
pub use logs::{pod_logs, service_logs};
pub use metrics::export_metrics;
pub use traces::export_traces;

use crate::cluster::{Cluster, Namespace, Pod, ServiceHealth};
use crate::suite::schema::{AppSpec, ServiceSpec};
use noise::Key;
use std::collections::BTreeMap;

/// The root hash key of a cluster.
pub(crate) fn root_key(cluster: &Cluster) -> Key {
    Key::new(cluster.seed)
}

/// The spec of a service by name.
pub(crate) fn spec_of<'a>(app: &'a AppSpec, name: &str) -> Option<&'a ServiceSpec> {
    app.services.iter().find(|s| s.name.get_ref() == name)
}

/// The service a pod belongs to (its deployment, else its selector label).
pub(crate) fn service_of_pod<'a>(ns: &'a Namespace, pod: &Pod) -> Option<&'a ServiceSpec> {
    spec_of(&ns.app, &pod.deployment).or_else(|| {
        pod.labels
            .get(&ns.app.selector_label)
            .and_then(|name| spec_of(&ns.app, name))
    })
}

/// Pods whose selector label names `service`, in name order.
pub(crate) fn pods_of<'a>(ns: &'a Namespace, service: &str) -> Vec<&'a Pod> {
    ns.pods
        .values()
        .filter(|p| {
            p.labels.get(&ns.app.selector_label).map(String::as_str) == Some(service)
                || (p.deployment == service && !p.labels.contains_key(&ns.app.selector_label))
        })
        .collect()
}

/// The IP of the first pod of a service with one, else a stable made-up pod IP.
pub(crate) fn service_ip(cluster: &Cluster, ns: &Namespace, service: &str) -> String {
    pods_of(ns, service)
        .iter()
        .find_map(|p| p.ip.clone())
        .unwrap_or_else(|| fake_ip(cluster, &ns.name, service))
}

pub(crate) fn fake_ip(cluster: &Cluster, ns: &str, name: &str) -> String {
    let k = root_key(cluster).s(ns).s(name).s("ip");
    format!("10.244.1.{}", 2 + k.below(250))
}

/// The healthy request rate into each service: the load enters at the entry and every call
/// edge carries the caller's rate (datastores get one call per request of each caller).
pub(crate) fn baseline_rates(app: &AppSpec) -> BTreeMap<String, f64> {
    let mut rates: BTreeMap<String, f64> = BTreeMap::new();
    let entry = app.entry.get_ref().clone();
    let mut stack = vec![(entry, app.load_rps, 0usize)];
    while let Some((name, rate, depth)) = stack.pop() {
        *rates.entry(name.clone()).or_insert(0.0) += rate;
        if depth > 12 {
            continue;
        }
        if let Some(spec) = spec_of(app, &name) {
            for callee in &spec.calls {
                stack.push((callee.get_ref().clone(), rate, depth + 1));
            }
        }
    }
    for s in &app.services {
        rates.entry(s.name.get_ref().clone()).or_insert(0.0);
    }
    rates
}

/// What a service looks like when nothing is wrong, or its health when the lead's health
/// model has one: the numbers telemetry draws from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Vitals {
    pub request_rate: f64,
    pub error_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub cpu_millis: f64,
    pub memory_mib: f64,
}

impl Vitals {
    pub(crate) fn baseline(spec: &ServiceSpec, rate: f64) -> Vitals {
        Vitals {
            request_rate: rate,
            error_rate: 0.0,
            p50_ms: spec.latency_ms,
            p99_ms: spec.latency_ms * 4.0,
            cpu_millis: spec.cpu_millis,
            memory_mib: spec.memory_mib,
        }
    }
    pub(crate) fn of(h: &ServiceHealth) -> Vitals {
        Vitals {
            request_rate: h.request_rate,
            error_rate: h.error_rate,
            p50_ms: h.p50_ms,
            p99_ms: h.p99_ms,
            cpu_millis: h.cpu_millis,
            memory_mib: h.memory_mib,
        }
    }
}

#[cfg(test)]
pub(crate) mod testkit;
