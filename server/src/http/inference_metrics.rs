//! `/metrics` for inference: the pool's backends (health, breaker, in-flight, requests, errors,
//! latency and time-to-first-token histograms, tokens in and out, adapter loads) and the
//! OpenAI-compatible endpoints per tenant and model (requests by outcome, latency, time to
//! first token, tokens in and out).

use aoi_platform::inference_metrics::SeriesSnapshot;
use aoi_router::{BackendStats, BreakerState, Trust, render_histogram};
use std::fmt::Write;

use super::metrics::escape;

/// A gauge or counter family over backends: name, type, help, value.
type BackendFamily = (&'static str, &'static str, &'static str, fn(&BackendStats) -> f64);
/// A histogram family: name, help, the snapshot of one item.
type HistogramFamily<T> = (
    &'static str,
    &'static str,
    fn(&T) -> &aoi_router::HistogramSnapshot,
);
/// A counter family over tenant series: name, help, value.
type SeriesCounter = (&'static str, &'static str, fn(&SeriesSnapshot) -> u64);

fn trust(t: Trust) -> &'static str {
    match t {
        Trust::Local => "local",
        Trust::External => "external",
    }
}

/// The inference pool's backends.
pub fn render_pool(stats: &[BackendStats]) -> String {
    let mut out = String::new();
    let families: [BackendFamily; 9] = [
        ("aoi_inference_backend_healthy", "gauge", "1 when the backend is in rotation.", |b| {
            f64::from(u8::from(b.healthy))
        }),
        (
            "aoi_inference_backend_breaker_open",
            "gauge",
            "1 when the backend's circuit is open, 0.5 half-open.",
            |b| match b.breaker {
                BreakerState::Closed => 0.0,
                BreakerState::HalfOpen => 0.5,
                BreakerState::Open => 1.0,
            },
        ),
        ("aoi_inference_backend_in_flight", "gauge", "Requests in flight to the backend.", |b| {
            b.in_flight as f64
        }),
        ("aoi_inference_backend_requests_total", "counter", "Attempts sent to the backend.", |b| {
            b.requests as f64
        }),
        ("aoi_inference_backend_errors_total", "counter", "Attempts that failed.", |b| {
            b.errors as f64
        }),
        (
            "aoi_inference_backend_tokens_in_total",
            "counter",
            "Prompt tokens of the requests answered by the backend.",
            |b| b.tokens_in as f64,
        ),
        (
            "aoi_inference_backend_tokens_out_total",
            "counter",
            "Completion tokens the backend produced.",
            |b| b.tokens_out as f64,
        ),
        (
            "aoi_inference_backend_adapter_loads_total",
            "counter",
            "LoRA adapters the router loaded on the backend.",
            |b| b.adapter_loads as f64,
        ),
        (
            "aoi_inference_backend_adapter_load_failures_total",
            "counter",
            "LoRA adapter loads on the backend that failed.",
            |b| b.adapter_load_failures as f64,
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for b in stats {
            let _ = writeln!(
                out,
                "{name}{{backend=\"{}\",trust=\"{}\"}} {}",
                escape(&b.name),
                trust(b.trust),
                value(b)
            );
        }
    }
    let histograms: [HistogramFamily<BackendStats>; 2] = [
        (
            "aoi_inference_backend_request_duration_seconds",
            "Requests answered by the backend, until the reply or the stream's end.",
            |b| &b.latency,
        ),
        (
            "aoi_inference_backend_ttft_seconds",
            "Time to the first token of the backend's answers.",
            |b| &b.ttft,
        ),
    ];
    for (name, help, snapshot) in histograms {
        for (i, b) in stats.iter().enumerate() {
            let help = (i == 0).then_some(help);
            render_histogram(
                &mut out,
                name,
                help,
                &[("backend", &b.name), ("trust", trust(b.trust))],
                snapshot(b),
            );
        }
    }
    out
}

/// The OpenAI-compatible endpoints, per tenant and model.
pub fn render_tenants(series: &[SeriesSnapshot]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP aoi_inference_tenant_requests_total Chat completions per tenant, model and outcome.\n\
         # TYPE aoi_inference_tenant_requests_total counter"
    );
    for s in series {
        for (outcome, n) in &s.outcomes {
            let _ = writeln!(
                out,
                "aoi_inference_tenant_requests_total{{tenant=\"{}\",model=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(&s.tenant),
                escape(&s.model)
            );
        }
    }
    let counters: [SeriesCounter; 2] = [
        (
            "aoi_inference_tenant_tokens_in_total",
            "Prompt tokens per tenant and model.",
            |s| s.tokens_in,
        ),
        (
            "aoi_inference_tenant_tokens_out_total",
            "Completion tokens per tenant and model.",
            |s| s.tokens_out,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for s in series {
            let _ = writeln!(
                out,
                "{name}{{tenant=\"{}\",model=\"{}\"}} {}",
                escape(&s.tenant),
                escape(&s.model),
                value(s)
            );
        }
    }
    let histograms: [HistogramFamily<SeriesSnapshot>; 2] = [
        (
            "aoi_inference_tenant_request_duration_seconds",
            "Answered chat completions per tenant and model, until the reply or the stream's end.",
            |s| &s.latency,
        ),
        (
            "aoi_inference_tenant_ttft_seconds",
            "Time to the first token per tenant and model.",
            |s| &s.ttft,
        ),
    ];
    for (name, help, snapshot) in histograms {
        for (i, s) in series.iter().enumerate() {
            render_histogram(
                &mut out,
                name,
                (i == 0).then_some(help),
                &[("tenant", &s.tenant), ("model", &s.model)],
                snapshot(s),
            );
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use aoi_platform::inference_metrics::{InferenceMetrics, Outcome};
    use aoi_router::Histogram;
    use std::time::Duration;

    fn backend(name: &str, trust: Trust, healthy: bool) -> BackendStats {
        let latency = Histogram::new();
        latency.observe(Duration::from_millis(20));
        BackendStats {
            name: name.into(),
            url: "http://10.0.0.1:8000".into(),
            trust,
            healthy,
            breaker: if healthy {
                BreakerState::Closed
            } else {
                BreakerState::Open
            },
            in_flight: 3,
            requests: 10,
            errors: 4,
            models: vec!["m".into()],
            latency: latency.snapshot(),
            ttft: Histogram::new().snapshot(),
            tokens_in: 120,
            tokens_out: 40,
            adapter_loads: 2,
            adapter_load_failures: 1,
        }
    }

    #[test]
    fn pool_metrics_name_each_backend() {
        let stats = vec![
            backend("gpu-1", Trust::Local, true),
            backend("cloud", Trust::External, false),
        ];
        let text = render_pool(&stats);
        for line in [
            "aoi_inference_backend_healthy{backend=\"gpu-1\",trust=\"local\"} 1",
            "aoi_inference_backend_healthy{backend=\"cloud\",trust=\"external\"} 0",
            "aoi_inference_backend_breaker_open{backend=\"cloud\",trust=\"external\"} 1",
            "aoi_inference_backend_in_flight{backend=\"gpu-1\",trust=\"local\"} 3",
            "aoi_inference_backend_errors_total{backend=\"cloud\",trust=\"external\"} 4",
            "aoi_inference_backend_tokens_in_total{backend=\"gpu-1\",trust=\"local\"} 120",
            "aoi_inference_backend_adapter_load_failures_total{backend=\"gpu-1\",trust=\"local\"} 1",
            "aoi_inference_backend_request_duration_seconds_count{backend=\"gpu-1\",trust=\"local\"} 1",
            "aoi_inference_backend_ttft_seconds_count{backend=\"cloud\",trust=\"external\"} 0",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        // 9 gauges and counters, 2 histograms, each with one TYPE line.
        assert_eq!(text.matches("# TYPE ").count(), 11, "{text}");
    }

    #[test]
    fn tenant_metrics_by_tenant_model_and_outcome() {
        let metrics = InferenceMetrics::default();
        let s = metrics.series("acme", "sre");
        s.count(Outcome::Ok);
        s.count(Outcome::RateLimited);
        s.answered(
            Duration::from_millis(40),
            Some(Duration::from_millis(8)),
            50,
            7,
        );
        metrics.series("beta", "base-model").count(Outcome::Failed);
        let text = render_tenants(&metrics.snapshot());
        for line in [
            "aoi_inference_tenant_requests_total{tenant=\"acme\",model=\"sre\",outcome=\"ok\"} 1",
            "aoi_inference_tenant_requests_total{tenant=\"acme\",model=\"sre\",outcome=\"rate_limited\"} 1",
            "aoi_inference_tenant_requests_total{tenant=\"beta\",model=\"base-model\",outcome=\"failed\"} 1",
            "aoi_inference_tenant_tokens_in_total{tenant=\"acme\",model=\"sre\"} 50",
            "aoi_inference_tenant_tokens_out_total{tenant=\"acme\",model=\"sre\"} 7",
            "aoi_inference_tenant_ttft_seconds_count{tenant=\"acme\",model=\"sre\"} 1",
            "aoi_inference_tenant_request_duration_seconds_count{tenant=\"beta\",model=\"base-model\"} 0",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert_eq!(text.matches("# TYPE ").count(), 5, "{text}");
    }
}
