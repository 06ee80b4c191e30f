//! On-demand LoRA adapters against fake vLLM servers over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_router::{BackendSpec, ChatRequest, LoraAdapter, Pool, PoolOptions, RouterError, Trust};
use aoi_test_support::{FakeConfig, FakeServer, spawn};
use serde_json::json;
use std::time::Duration;

const BASE: &str = "base";

fn spec(name: &str, server: &FakeServer, load_adapters: bool) -> BackendSpec {
    BackendSpec {
        name: name.to_string(),
        url: server.base_url(),
        models: vec![],
        weight: 1,
        max_in_flight: 64,
        trust: Trust::Local,
        api_key: None,
        load_adapters,
    }
}

fn options() -> PoolOptions {
    PoolOptions {
        health_interval: Duration::from_secs(3600),
        health_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(5),
        attempt_timeout: Duration::from_secs(2),
        max_retries: 2,
        backoff_base: Duration::from_millis(5),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(300),
    }
}

async fn fake() -> FakeServer {
    spawn(FakeConfig {
        models: vec![BASE.into()],
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

fn adapter(name: &str, path: &str) -> LoraAdapter {
    LoraAdapter {
        name: name.into(),
        path: path.into(),
        base_model: BASE.into(),
    }
}

fn request(adapter: &LoraAdapter) -> ChatRequest {
    ChatRequest {
        body: json!({"messages": [{"role": "user", "content": "hello"}]}),
        model: adapter.name.clone(),
        affinity: None,
        allow_external: false,
        adapter: Some(adapter.clone()),
    }
}

fn stats_of(pool: &Pool, name: &str) -> aoi_router::BackendStats {
    pool.stats().into_iter().find(|s| s.name == name).unwrap()
}

#[tokio::test]
async fn a_listed_adapter_goes_only_to_the_backends_listing_it_and_loads_nothing() {
    let (a, b) = (fake().await, fake().await);
    reqwest::Client::new()
        .post(format!("{}/v1/load_lora_adapter", b.base_url()))
        .json(&json!({"lora_name": "tenant-a", "lora_path": "/adapters/a"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let pool = Pool::new(
        "gpu",
        vec![spec("a", &a, true), spec("b", &b, true)],
        options(),
    )
    .await
    .unwrap();
    let tenant = adapter("tenant-a", "/adapters/a");
    for _ in 0..6 {
        assert_eq!(pool.chat(request(&tenant)).await.unwrap().backend, "b");
    }
    assert!(a.requests().is_empty());
    assert_eq!(a.load_calls(), 0);
    assert_eq!(b.load_calls(), 1, "only the test's own load");
    assert_eq!(pool.load_adapter(&tenant).await.unwrap(), "b");
    assert_eq!(
        b.load_calls(),
        1,
        "pre-warming a listed adapter loads nothing"
    );
}

#[tokio::test]
async fn an_adapter_is_loaded_once_under_20_concurrent_requests() {
    let (a, b) = (fake().await, fake().await);
    b.set_load_delay(Duration::from_millis(200));
    let pool = Pool::new(
        "gpu",
        vec![spec("a", &a, false), spec("b", &b, true)],
        options(),
    )
    .await
    .unwrap();
    let tenant = adapter("tenant-a", "/adapters/a/v3");
    let calls = (0..20).map(|_| pool.chat(request(&tenant)));
    let answers = futures_util::future::join_all(calls).await;
    for answer in &answers {
        assert_eq!(answer.as_ref().unwrap().backend, "b", "{answer:?}");
    }
    assert_eq!(b.load_calls(), 1);
    assert_eq!(
        a.load_calls(),
        0,
        "a backend without load_adapters is never asked"
    );
    assert_eq!(
        b.adapters(),
        vec![("tenant-a".to_string(), "/adapters/a/v3".to_string())]
    );
    assert_eq!(b.requests().len(), 20);
    assert!(
        b.requests().iter().all(|r| r["model"] == "tenant-a"),
        "requests name the adapter"
    );
    let stats = stats_of(&pool, "b");
    assert_eq!((stats.adapter_loads, stats.adapter_load_failures), (1, 0));
    assert!(
        stats.models.contains(&"tenant-a".to_string()),
        "served at once, before a health round: {:?}",
        stats.models
    );
    // Still listed after a health round (vLLM lists it), and no new load.
    pool.refresh().await;
    pool.chat(request(&tenant)).await.unwrap();
    assert_eq!(b.load_calls(), 1);
}

#[tokio::test]
async fn no_backend_may_load_it_says_so_and_none_is_asked() {
    let a = fake().await;
    let pool = Pool::new("gpu", vec![spec("a", &a, false)], options())
        .await
        .unwrap();
    let tenant = adapter("tenant-a", "/adapters/a");
    let err = pool.chat(request(&tenant)).await.unwrap_err();
    assert!(matches!(err, RouterError::Unavailable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("no healthy backend serves model `tenant-a`")
            && text.contains("none may load it"),
        "{text}"
    );
    assert_eq!(err.http_status(), 503);
    assert_eq!(a.load_calls(), 0);
    // Without an adapter the message stays as before.
    let plain = ChatRequest {
        adapter: None,
        ..request(&tenant)
    };
    let text = pool.chat(plain).await.unwrap_err().to_string();
    assert!(
        text.contains("no healthy backend serves model `tenant-a`"),
        "{text}"
    );
    assert!(!text.contains("load"), "{text}");
    assert!(pool.load_adapter(&tenant).await.is_err());
    assert_eq!(a.load_calls(), 0);
}

#[tokio::test]
async fn an_external_loader_is_not_used_for_a_tenant_that_may_not_go_external() {
    let cloud = fake().await;
    let mut external = spec("cloud", &cloud, true);
    external.trust = Trust::External;
    let pool = Pool::new("gpu", vec![external], options()).await.unwrap();
    let tenant = adapter("tenant-a", "/adapters/a");
    let err = pool.chat(request(&tenant)).await.unwrap_err();
    assert!(err.to_string().contains("none may load it"), "{err}");
    assert_eq!(cloud.load_calls(), 0);
    let allowed = ChatRequest {
        allow_external: true,
        ..request(&tenant)
    };
    assert_eq!(pool.chat(allowed).await.unwrap().backend, "cloud");
    assert_eq!(cloud.load_calls(), 1);
}

#[tokio::test]
async fn a_failed_load_names_the_adapter_the_backend_and_the_answer() {
    let a = fake().await;
    let pool = Pool::new("gpu", vec![spec("a", &a, true)], options())
        .await
        .unwrap();
    let bad = adapter("tenant-x", "missing/tenant-x");
    let err = pool.chat(request(&bad)).await.unwrap_err();
    let RouterError::AdapterLoad {
        adapter,
        backend,
        status,
        ..
    } = &err
    else {
        panic!("expected AdapterLoad, got {err:?}");
    };
    assert_eq!(
        (adapter.as_str(), backend.as_str(), *status),
        ("tenant-x", "a", Some(404))
    );
    let text = err.to_string();
    assert!(
        text.contains("tenant-x") && text.contains("`a`") && text.contains("No adapter found"),
        "{text}"
    );
    assert_eq!(err.http_status(), 404, "the request's fault, not 503");
    assert!(a.requests().is_empty(), "no chat sent after a failed load");
    let stats = stats_of(&pool, "a");
    assert_eq!((stats.adapter_loads, stats.adapter_load_failures), (0, 1));
    // A failed load is not remembered: the next request tries again.
    pool.chat(request(&bad)).await.unwrap_err();
    assert_eq!(a.load_calls(), 2);
}

#[tokio::test]
async fn a_load_fails_over_to_another_backend() {
    let (a, b) = (fake().await, fake().await);
    let pool = Pool::new(
        "gpu",
        vec![spec("a", &a, true), spec("b", &b, true)],
        options(),
    )
    .await
    .unwrap();
    // `a` passed its health check, then went away.
    a.shutdown().await;
    let tenant = adapter("tenant-a", "/adapters/a");
    assert_eq!(pool.chat(request(&tenant)).await.unwrap().backend, "b");
    assert_eq!(b.load_calls(), 1);
    let failures: u64 = pool.stats().iter().map(|s| s.adapter_load_failures).sum();
    assert!(failures <= 1, "{failures}");
}

#[tokio::test]
async fn unload_removes_the_adapter_from_every_backend_listing_it() {
    let (a, b) = (fake().await, fake().await);
    let pool = Pool::new(
        "gpu",
        vec![spec("a", &a, false), spec("b", &b, true)],
        options(),
    )
    .await
    .unwrap();
    let tenant = adapter("tenant-a", "/adapters/a");
    assert_eq!(pool.load_adapter(&tenant).await.unwrap(), "b");
    assert_eq!(b.adapters().len(), 1);
    let outcome = pool.unload_adapter("tenant-a").await;
    assert_eq!(outcome, vec![("b".to_string(), Ok(()))]);
    assert!(b.adapters().is_empty());
    assert!(
        !stats_of(&pool, "b")
            .models
            .contains(&"tenant-a".to_string())
    );
    assert!(pool.unload_adapter("tenant-a").await.is_empty());
    // The next request loads it again.
    assert_eq!(pool.chat(request(&tenant)).await.unwrap().backend, "b");
    assert_eq!(b.load_calls(), 2);
}
