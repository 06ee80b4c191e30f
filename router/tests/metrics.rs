//! Histograms, their Prometheus rendering, and the per-backend latency, TTFT and token figures
//! recorded over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_router::{
    BackendSpec, ChatRequest, ChatStream, Histogram, HistogramSnapshot, Pool, PoolOptions, Trust,
    Usage, render_histogram,
};
use aoi_test_support::{FakeConfig, FakeServer, ReplyScript, spawn};
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;

#[test]
fn histogram_buckets_are_cumulative_with_sum_and_count() {
    let histogram = Histogram::new();
    for micros in [30, 1_000, 3_000, 200_000_000] {
        histogram.observe(Duration::from_micros(micros));
    }
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.count, 4);
    assert!(
        (snapshot.sum_seconds - 200.004_03).abs() < 1e-9,
        "{}",
        snapshot.sum_seconds
    );
    let at = |le: f64| {
        snapshot
            .buckets
            .iter()
            .find(|(bound, _)| *bound == le)
            .map(|(_, n)| *n)
            .unwrap()
    };
    assert_eq!(at(0.000_05), 1);
    assert_eq!(at(0.000_5), 1);
    assert_eq!(at(0.001), 2, "bounds are inclusive");
    assert_eq!(at(0.005), 3);
    assert_eq!(at(120.0), 3);
    assert_eq!(at(f64::INFINITY), 4);
    assert!(
        snapshot
            .buckets
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
    );
    assert!((18..=24).contains(&snapshot.buckets.len()));
    assert_eq!(HistogramSnapshot::default().count, 0);
}

#[test]
fn histograms_render_in_the_prometheus_text_format() {
    let histogram = Histogram::new();
    histogram.observe(Duration::from_millis(1));
    histogram.observe(Duration::from_millis(300));
    let snapshot = histogram.snapshot();
    let mut out = String::new();
    render_histogram(
        &mut out,
        "aoi_latency_seconds",
        Some("Request latency."),
        &[("backend", "gpu-1"), ("trust", "local")],
        &snapshot,
    );
    render_histogram(&mut out, "aoi_latency_seconds", None, &[], &snapshot);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "# HELP aoi_latency_seconds Request latency.");
    assert_eq!(lines[1], "# TYPE aoi_latency_seconds histogram");
    for expected in [
        "aoi_latency_seconds_bucket{backend=\"gpu-1\",trust=\"local\",le=\"0.00005\"} 0",
        "aoi_latency_seconds_bucket{backend=\"gpu-1\",trust=\"local\",le=\"0.001\"} 1",
        "aoi_latency_seconds_bucket{backend=\"gpu-1\",trust=\"local\",le=\"0.25\"} 1",
        "aoi_latency_seconds_bucket{backend=\"gpu-1\",trust=\"local\",le=\"0.5\"} 2",
        "aoi_latency_seconds_bucket{backend=\"gpu-1\",trust=\"local\",le=\"+Inf\"} 2",
        "aoi_latency_seconds_sum{backend=\"gpu-1\",trust=\"local\"} 0.301",
        "aoi_latency_seconds_count{backend=\"gpu-1\",trust=\"local\"} 2",
        "aoi_latency_seconds_bucket{le=\"+Inf\"} 2",
        "aoi_latency_seconds_count 2",
    ] {
        assert!(lines.contains(&expected), "missing `{expected}` in:\n{out}");
    }
    assert_eq!(out.matches("# TYPE").count(), 1);
    assert_eq!(out.matches("le=\"+Inf\"").count(), 2);
}

fn options() -> PoolOptions {
    PoolOptions {
        health_interval: Duration::from_secs(3600),
        health_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(5),
        attempt_timeout: Duration::from_secs(2),
        max_retries: 0,
        backoff_base: Duration::from_millis(5),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(300),
    }
}

async fn pool_on(server: &FakeServer) -> Pool {
    let spec = BackendSpec {
        name: "b0".into(),
        url: server.base_url(),
        models: vec![],
        weight: 1,
        max_in_flight: 8,
        trust: Trust::Local,
        api_key: None,
        load_adapters: false,
    };
    Pool::new("gpu", vec![spec], options()).await.unwrap()
}

/// Four prompt tokens, as the fake counts them (whitespace-separated words).
fn request(body_extra: serde_json::Value) -> ChatRequest {
    let mut body = json!({"messages": [{"role": "user", "content": "why is checkout slow?"}]});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), body_extra.as_object()) {
        body.extend(extra.clone());
    }
    ChatRequest {
        body,
        model: "fake-model".into(),
        affinity: None,
        allow_external: false,
        adapter: None,
    }
}

fn reply(text: &str, tokens_per_sec: Option<f64>) -> FakeConfig {
    FakeConfig {
        replies: ReplyScript {
            default: text.into(),
            ..ReplyScript::default()
        },
        tokens_per_sec,
        ..FakeConfig::default()
    }
}

async fn drain(mut stream: ChatStream) -> String {
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&item.unwrap()));
    }
    text
}

#[tokio::test]
async fn a_non_streaming_answer_records_usage_latency_and_ttft() {
    let server = spawn(reply("pod checkout-7 is OOMKilled", None))
        .await
        .unwrap();
    let pool = pool_on(&server).await;
    let answer = pool.chat(request(json!({}))).await.unwrap();
    let usage = Usage {
        prompt_tokens: 4,
        completion_tokens: 4,
    };
    assert_eq!(answer.usage, Some(usage));
    pool.chat(request(json!({}))).await.unwrap();
    let stats = &pool.stats()[0];
    assert_eq!((stats.tokens_in, stats.tokens_out), (8, 8));
    assert_eq!(stats.latency.count, 2);
    assert_eq!(stats.ttft.count, 2);
    assert!(stats.latency.sum_seconds > 0.0);
}

#[tokio::test]
async fn a_stream_without_usage_counts_content_chunks_and_passes_bytes_unchanged() {
    let server = spawn(reply("pod checkout-7 is OOMKilled", None))
        .await
        .unwrap();
    let pool = pool_on(&server).await;
    let stream = pool.chat_stream(request(json!({}))).await.unwrap();
    assert_eq!(stream.backend(), "b0");
    let usage = stream.usage();
    assert!(!usage.is_finished());
    let text = drain(stream).await;
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert_eq!(
        text.matches("data: ").count(),
        7,
        "role, 4 words, stop, DONE: {text}"
    );
    assert!(usage.is_finished());
    assert!(!usage.reported_by_backend());
    assert_eq!(usage.completion_tokens(), 4);
    assert_eq!(usage.prompt_tokens(), 0);
    assert!(usage.time_to_first_token().is_some());
    let stats = &pool.stats()[0];
    assert_eq!((stats.tokens_in, stats.tokens_out), (0, 4));
    assert_eq!((stats.latency.count, stats.ttft.count), (1, 1));
    assert_eq!(stats.in_flight, 0);
}

#[tokio::test]
async fn a_stream_with_a_usage_chunk_uses_its_counts() {
    let server = spawn(reply("pod checkout-7 is OOMKilled", None))
        .await
        .unwrap();
    let pool = pool_on(&server).await;
    let stream = pool
        .chat_stream(request(json!({"stream_options": {"include_usage": true}})))
        .await
        .unwrap();
    let usage = stream.usage();
    drain(stream).await;
    assert!(usage.reported_by_backend());
    assert_eq!(
        usage.usage(),
        Usage {
            prompt_tokens: 4,
            completion_tokens: 4
        }
    );
    let stats = &pool.stats()[0];
    assert_eq!((stats.tokens_in, stats.tokens_out), (4, 4));
}

#[tokio::test]
async fn ttft_is_the_first_content_and_latency_the_whole_stream() {
    // 20 tokens a second: each word comes 50 ms after the previous one.
    let server = spawn(reply("one two three four", Some(20.0)))
        .await
        .unwrap();
    let pool = pool_on(&server).await;
    let started = std::time::Instant::now();
    let stream = pool.chat_stream(request(json!({}))).await.unwrap();
    let usage = stream.usage();
    drain(stream).await;
    let whole = started.elapsed();
    let ttft = usage.time_to_first_token().unwrap();
    assert!(ttft >= Duration::from_millis(40), "{ttft:?}");
    // The three words after the first take another 150 ms.
    assert!(
        ttft + Duration::from_millis(140) <= whole,
        "{ttft:?} of {whole:?}"
    );
    let stats = &pool.stats()[0];
    assert!(
        stats.latency.sum_seconds >= 0.19,
        "{}",
        stats.latency.sum_seconds
    );
    assert!(stats.ttft.sum_seconds < stats.latency.sum_seconds);
    assert_eq!(stats.tokens_out, 4);
}

#[tokio::test]
async fn a_dropped_stream_still_records_what_passed() {
    let server = spawn(reply("one two three four", Some(20.0)))
        .await
        .unwrap();
    let pool = pool_on(&server).await;
    let mut stream = pool.chat_stream(request(json!({}))).await.unwrap();
    let usage = stream.usage();
    // The role chunk, then the first word.
    while usage.completion_tokens() == 0 {
        stream.next().await.unwrap().unwrap();
    }
    drop(stream);
    assert!(usage.is_finished());
    let stats = &pool.stats()[0];
    assert_eq!(stats.latency.count, 1);
    assert_eq!(stats.tokens_out, usage.completion_tokens());
    assert_eq!(stats.in_flight, 0);
}
