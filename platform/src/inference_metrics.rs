//! Per-tenant figures of the OpenAI-compatible endpoints, for `/metrics`: requests by outcome,
//! latency and time-to-first-token histograms, tokens in and out, by tenant and model. The
//! pool keeps the per-backend figures itself ([`aoi_router::BackendStats`]).
//!
//! A series is one (tenant, model) pair, where the model is what the caller asked for (a base
//! model or the tenant's adapter name, never the upstream adapter name). At most
//! [`MAX_SERIES`] series are kept; past that, new pairs are counted under the model `other`
//! of their tenant, so a client sending random model names cannot grow the registry.

use aoi_router::{Histogram, HistogramSnapshot};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most (tenant, model) series kept.
pub const MAX_SERIES: usize = 2_000;

/// How a call ended, as counted in `aoi_inference_tenant_requests_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered (a stream: started).
    Ok,
    /// Refused by the tenant's quota (429).
    RateLimited,
    /// Refused as invalid, or unknown model (4xx).
    Rejected,
    /// The pool could not answer (503, 504, upstream errors).
    Failed,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::RateLimited,
        Outcome::Rejected,
        Outcome::Failed,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::RateLimited => "rate_limited",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }

    fn index(self) -> usize {
        match self {
            Outcome::Ok => 0,
            Outcome::RateLimited => 1,
            Outcome::Rejected => 2,
            Outcome::Failed => 3,
        }
    }
}

/// One (tenant, model) series.
#[derive(Debug, Default)]
pub struct Series {
    outcomes: [AtomicU64; 4],
    latency: Histogram,
    ttft: Histogram,
    tokens_in: AtomicU64,
    tokens_out: AtomicU64,
}

impl Series {
    /// Counts a call that ended with `outcome`.
    pub fn count(&self, outcome: Outcome) {
        self.outcomes[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Records an answered call: its duration (a stream: until it ended), time to first token
    /// and tokens.
    pub fn answered(
        &self,
        latency: Duration,
        ttft: Option<Duration>,
        tokens_in: u64,
        tokens_out: u64,
    ) {
        self.latency.observe(latency);
        if let Some(ttft) = ttft {
            self.ttft.observe(ttft);
        }
        self.tokens_in.fetch_add(tokens_in, Ordering::Relaxed);
        self.tokens_out.fetch_add(tokens_out, Ordering::Relaxed);
    }
}

/// A copy of one series' figures.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSnapshot {
    pub tenant: String,
    pub model: String,
    /// Calls per outcome label (`ok`, `rate_limited`, `rejected`, `failed`).
    pub outcomes: Vec<(&'static str, u64)>,
    pub latency: HistogramSnapshot,
    pub ttft: HistogramSnapshot,
    pub tokens_in: u64,
    pub tokens_out: u64,
}

/// Where one call is counted: its (tenant, model) series, and for an adapter also its
/// version's series (the models page compares a canary with the active version by them).
#[derive(Debug, Clone)]
pub struct Counter {
    model: Arc<Series>,
    version: Option<Arc<Series>>,
}

impl Counter {
    /// Counts a call that ended with `outcome`.
    pub fn count(&self, outcome: Outcome) {
        self.model.count(outcome);
        if let Some(v) = &self.version {
            v.count(outcome);
        }
    }

    /// Records an answered call (see [`Series::answered`]).
    pub fn answered(&self, latency: Duration, ttft: Option<Duration>, tokens_in: u64, tokens_out: u64) {
        self.model.answered(latency, ttft, tokens_in, tokens_out);
        if let Some(v) = &self.version {
            v.answered(latency, ttft, tokens_in, tokens_out);
        }
    }
}

/// One adapter version's figures in this process (since it started).
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSnapshot {
    pub name: String,
    pub version: u32,
    pub figures: SeriesSnapshot,
}

/// The registry; one per process, in [`crate::Platform`].
#[derive(Debug, Default)]
pub struct InferenceMetrics {
    series: Mutex<BTreeMap<(String, String), Arc<Series>>>,
    /// Per adapter version: (tenant, adapter name, version); not exported on /metrics.
    versions: Mutex<BTreeMap<(String, String, u32), Arc<Series>>>,
}

impl InferenceMetrics {
    /// The series of `tenant` and `model` (created on first use; `other` past [`MAX_SERIES`]).
    pub fn series(&self, tenant: &str, model: &str) -> Arc<Series> {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let key = (tenant.to_string(), model.to_string());
        if let Some(found) = series.get(&key) {
            return found.clone();
        }
        let key = if series.len() >= MAX_SERIES {
            (tenant.to_string(), "other".to_string())
        } else {
            key
        };
        series.entry(key).or_default().clone()
    }

    /// Where a call to `model` (an adapter at `version`, or a base model) of `tenant` is
    /// counted. Versions past [`MAX_SERIES`] are counted under their name only.
    pub fn counter(&self, tenant: &str, model: &str, version: Option<u32>) -> Counter {
        let version = version.and_then(|v| {
            let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
            let key = (tenant.to_string(), model.to_string(), v);
            if !versions.contains_key(&key) && versions.len() >= MAX_SERIES {
                return None;
            }
            Some(versions.entry(key).or_default().clone())
        });
        Counter {
            model: self.series(tenant, model),
            version,
        }
    }

    /// The adapter versions of `tenant` that served calls in this process.
    pub fn versions(&self, tenant: &str) -> Vec<VersionSnapshot> {
        let versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        versions
            .iter()
            .filter(|((t, _, _), _)| t == tenant)
            .map(|((t, name, version), s)| VersionSnapshot {
                name: name.clone(),
                version: *version,
                figures: snapshot_of(t, name, s),
            })
            .collect()
    }

    /// Every series, ordered by tenant then model.
    pub fn snapshot(&self) -> Vec<SeriesSnapshot> {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series
            .iter()
            .map(|((tenant, model), s)| snapshot_of(tenant, model, s))
            .collect()
    }
}

fn snapshot_of(tenant: &str, model: &str, s: &Series) -> SeriesSnapshot {
    SeriesSnapshot {
        tenant: tenant.to_owned(),
        model: model.to_owned(),
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (o.label(), s.outcomes[o.index()].load(Ordering::Relaxed)))
            .collect(),
        latency: s.latency.snapshot(),
        ttft: s.ttft.snapshot(),
        tokens_in: s.tokens_in.load(Ordering::Relaxed),
        tokens_out: s.tokens_out.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn series_count_outcomes_latency_and_tokens() {
        let metrics = InferenceMetrics::default();
        let s = metrics.series("acme", "sre");
        s.count(Outcome::Ok);
        s.count(Outcome::Ok);
        s.count(Outcome::RateLimited);
        s.answered(
            Duration::from_millis(30),
            Some(Duration::from_millis(5)),
            100,
            20,
        );
        metrics.series("acme", "sre").count(Outcome::Failed);
        let snap = metrics.snapshot();
        assert_eq!(snap.len(), 1);
        let one = &snap[0];
        assert_eq!(
            one.outcomes,
            vec![("ok", 2), ("rate_limited", 1), ("rejected", 0), ("failed", 1)]
        );
        assert_eq!(one.latency.count, 1);
        assert!((one.latency.sum_seconds - 0.03).abs() < 1e-9);
        assert_eq!(one.ttft.count, 1);
        assert_eq!((one.tokens_in, one.tokens_out), (100, 20));
    }

    #[test]
    fn a_counter_counts_the_model_and_its_version() {
        let metrics = InferenceMetrics::default();
        metrics.counter("acme", "sre", Some(2)).count(Outcome::Ok);
        metrics.counter("acme", "sre", Some(3)).count(Outcome::Failed);
        metrics
            .counter("acme", "sre", Some(3))
            .answered(Duration::from_millis(40), None, 10, 2);
        metrics.counter("acme", "qwen", None).count(Outcome::Ok);
        let model = metrics.snapshot().into_iter().find(|s| s.model == "sre").unwrap();
        assert_eq!(model.outcomes[0], ("ok", 1));
        assert_eq!(model.outcomes[3], ("failed", 1));
        let versions = metrics.versions("acme");
        assert_eq!(versions.len(), 2, "a base model has no version series");
        assert_eq!((versions[0].version, versions[0].figures.outcomes[0].1), (2, 1));
        assert_eq!((versions[1].version, versions[1].figures.outcomes[3].1), (3, 1));
        assert_eq!(versions[1].figures.latency.count, 1);
        assert!(metrics.versions("other-tenant").is_empty());
    }

    #[test]
    fn series_past_the_cap_fold_into_other() {
        let metrics = InferenceMetrics::default();
        for i in 0..MAX_SERIES {
            metrics.series("t", &format!("m{i}"));
        }
        metrics.series("t", "one-more").count(Outcome::Ok);
        metrics.series("t", "and-another").count(Outcome::Ok);
        let snap = metrics.snapshot();
        assert_eq!(snap.len(), MAX_SERIES + 1);
        let other = snap.iter().find(|s| s.model == "other").unwrap();
        assert_eq!(other.outcomes[0], ("ok", 2));
        // A known series keeps its own name.
        metrics.series("t", "m0").count(Outcome::Ok);
        let m0 = metrics.snapshot().into_iter().find(|s| s.model == "m0").unwrap();
        assert_eq!(m0.outcomes[0], ("ok", 1));
    }
}
