//! Hand-rolled Prometheus metrics: requests by method, route and status, and a latency
//! histogram by route. Routes are the matched templates (`/api/v1/incidents/{id}`), so the
//! label set stays bounded.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

/// Middleware: counts the request and observes its latency.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    if let Ok(mut registry) = REGISTRY.lock() {
        *registry
            .requests
            .entry((method, route.clone(), response.status().as_u16()))
            .or_default() += 1;
        let histogram = registry.latency.entry(route).or_default();
        for (slot, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }
    response
}

pub(super) fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text exposition.
pub fn render() -> String {
    let mut out = String::new();
    out.push_str("# HELP aoi_http_requests_total HTTP requests by method, route and status.\n");
    out.push_str("# TYPE aoi_http_requests_total counter\n");
    let Ok(registry) = REGISTRY.lock() else {
        return out;
    };
    for ((method, route, status), n) in &registry.requests {
        out.push_str(&format!(
            "aoi_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}\n",
            escape(method),
            escape(route)
        ));
    }
    out.push_str("# HELP aoi_http_request_duration_seconds HTTP request latency by route.\n");
    out.push_str("# TYPE aoi_http_request_duration_seconds histogram\n");
    for (route, h) in &registry.latency {
        let route = escape(route);
        for (bound, n) in BUCKETS.iter().zip(h.counts) {
            out.push_str(&format!(
                "aoi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}\n"
            ));
        }
        out.push_str(&format!(
            "aoi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n",
            h.count
        ));
        out.push_str(&format!(
            "aoi_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n",
            h.sum
        ));
        out.push_str(&format!(
            "aoi_http_request_duration_seconds_count{{route=\"{route}\"}} {}\n",
            h.count
        ));
    }
    out
}
