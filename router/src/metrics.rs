//! Lock-free latency histograms and their Prometheus text rendering, plus the per-backend
//! figures the pool records (latency, time to first token, tokens in and out, adapter loads).
//! The server reuses [`Histogram`] and [`render_histogram`] for its own (per-tenant) metrics.

use serde::Serialize;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the histogram buckets, in seconds: 50 µs to 120 s, roughly log-spaced.
/// A `+Inf` bucket follows implicitly.
pub const BUCKETS_SECONDS: [f64; 20] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// A fixed-bucket histogram of durations. Every operation is a few relaxed atomic additions, so
/// it can be shared (`Arc`, or inside a shared struct) and observed from any task without locks.
#[derive(Debug)]
pub struct Histogram {
    /// Per-bucket (not cumulative) counts; the last slot is `+Inf`.
    counts: [AtomicU64; BUCKETS_SECONDS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram with the [`BUCKETS_SECONDS`] buckets.
    pub fn new() -> Self {
        Histogram {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Counts one duration: in the first bucket whose bound is at least `value` (bounds are
    /// inclusive, as Prometheus' `le` says).
    pub fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        let slot = BUCKETS_SECONDS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BUCKETS_SECONDS.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of the figures. Taken without a lock, so under concurrent observations `count` may
    /// differ from the `+Inf` bucket by the observations in progress.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0u64;
        let mut buckets = Vec::with_capacity(self.counts.len());
        for (i, slot) in self.counts.iter().enumerate() {
            cumulative += slot.load(Ordering::Relaxed);
            let bound = BUCKETS_SECONDS.get(i).copied().unwrap_or(f64::INFINITY);
            buckets.push((bound, cumulative));
        }
        HistogramSnapshot {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// A histogram's figures at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistogramSnapshot {
    /// `(le, cumulative count)` per bucket, bounds ascending; the last bound is `f64::INFINITY`.
    pub buckets: Vec<(f64, u64)>,
    /// Observations.
    pub count: u64,
    /// Sum of the observed durations, in seconds.
    pub sum_seconds: f64,
}

impl Default for HistogramSnapshot {
    /// The snapshot of an empty histogram.
    fn default() -> Self {
        Histogram::new().snapshot()
    }
}

/// Formats a bucket bound as Prometheus does: `+Inf`, or the shortest decimal form.
fn format_bound(bound: f64) -> String {
    if bound.is_infinite() {
        "+Inf".to_string()
    } else {
        format!("{bound}")
    }
}

/// Escapes a label value for the Prometheus text format.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (key, value) in labels {
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(out, "{key}=\"{}\"", escape_label(value));
    }
    if let Some(le) = le {
        if !first {
            out.push(',');
        }
        let _ = write!(out, "le=\"{le}\"");
    }
    out.push('}');
}

/// Appends one histogram series in the Prometheus text format: the `# HELP` (when `help` is
/// given) and `# TYPE` lines, then `name_bucket{labels,le="…"}` per bucket (`+Inf` included),
/// `name_sum{labels}` and `name_count{labels}`. Call it once per label set; pass `help` only for
/// the first series of a metric so the header appears once.
pub fn render_histogram(
    out: &mut String,
    name: &str,
    help: Option<&str>,
    labels: &[(&str, &str)],
    snapshot: &HistogramSnapshot,
) {
    if let Some(help) = help {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
    }
    for (bound, cumulative) in &snapshot.buckets {
        let _ = write!(out, "{name}_bucket");
        write_labels(out, labels, Some(&format_bound(*bound)));
        let _ = writeln!(out, " {cumulative}");
    }
    if !snapshot.buckets.iter().any(|(b, _)| b.is_infinite()) {
        let _ = write!(out, "{name}_bucket");
        write_labels(out, labels, Some("+Inf"));
        let _ = writeln!(out, " {}", snapshot.count);
    }
    let _ = write!(out, "{name}_sum");
    write_labels(out, labels, None);
    let _ = writeln!(out, " {}", snapshot.sum_seconds);
    let _ = write!(out, "{name}_count");
    write_labels(out, labels, None);
    let _ = writeln!(out, " {}", snapshot.count);
}

/// What a backend has recorded beyond requests and errors.
#[derive(Debug, Default)]
pub(crate) struct BackendMetrics {
    /// Whole request (non-stream) or until the stream ended.
    pub(crate) latency: Histogram,
    /// Until the first chunk with content (stream) or the whole request (non-stream).
    pub(crate) ttft: Histogram,
    pub(crate) tokens_in: AtomicU64,
    pub(crate) tokens_out: AtomicU64,
    pub(crate) adapter_loads: AtomicU64,
    pub(crate) adapter_load_failures: AtomicU64,
}

impl BackendMetrics {
    pub(crate) fn add_tokens(&self, prompt: u64, completion: u64) {
        self.tokens_in.fetch_add(prompt, Ordering::Relaxed);
        self.tokens_out.fetch_add(completion, Ordering::Relaxed);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_ascending_and_span_50us_to_120s() {
        assert!(BUCKETS_SECONDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(BUCKETS_SECONDS[0], 0.000_05);
        assert_eq!(BUCKETS_SECONDS[BUCKETS_SECONDS.len() - 1], 120.0);
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        write_labels(&mut out, &[("a", "x\"y\\z\n")], None);
        assert_eq!(out, "{a=\"x\\\"y\\\\z\\n\"}");
    }
}
