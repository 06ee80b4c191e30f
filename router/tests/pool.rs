//! The pool against fake vLLM servers over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_router::{BackendSpec, BreakerState, ChatRequest, Pool, PoolOptions, RouterError, Trust};
use aoi_test_support::{FakeConfig, FakeServer, ReplyScript, spawn, spawn_on};
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn spec(name: &str, url: String, trust: Trust) -> BackendSpec {
    BackendSpec {
        name: name.to_string(),
        url,
        models: vec![],
        weight: 1,
        max_in_flight: 64,
        trust,
        api_key: None,
        load_adapters: false,
    }
}

/// Health rounds only when a test asks (`refresh`), unless it sets its own interval.
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

fn request(model: &str, affinity: Option<&str>) -> ChatRequest {
    ChatRequest {
        body: json!({"messages": [{"role": "user", "content": "why is checkout slow?"}]}),
        model: model.to_string(),
        affinity: affinity.map(str::to_string),
        allow_external: false,
        adapter: None,
    }
}

async fn fake(config: FakeConfig) -> FakeServer {
    spawn(config).await.unwrap()
}

fn index_of(name: &str) -> usize {
    name.trim_start_matches('b').parse().unwrap()
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn pool_futures_are_send_for_web_handlers() {
    let server = fake(FakeConfig::default()).await;
    let pool = Pool::new(
        "gpu-pool",
        vec![spec("b0", server.base_url(), Trust::Local)],
        options(),
    )
    .await
    .unwrap();
    let chat = pool.chat(request("fake-model", None));
    assert_send(&chat);
    chat.await.unwrap();
    let stream = pool.chat_stream(request("fake-model", None));
    assert_send(&stream);
    drop(stream);
}

#[tokio::test]
async fn least_outstanding_spreads_concurrent_requests() {
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(
            fake(FakeConfig {
                latency: Duration::from_millis(300),
                ..FakeConfig::default()
            })
            .await,
        );
    }
    let specs = servers
        .iter()
        .enumerate()
        .map(|(i, s)| spec(&format!("b{i}"), s.base_url(), Trust::Local))
        .collect();
    let pool = Pool::new("gpu-pool", specs, options()).await.unwrap();
    let calls = (0..30).map(|_| pool.chat(request("fake-model", None)));
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    for server in &servers {
        assert_eq!(server.requests().len(), 10, "each backend gets a third");
    }
    let stats = pool.stats();
    assert!(
        stats
            .iter()
            .all(|s| s.in_flight == 0 && s.requests == 10 && s.errors == 0)
    );
}

#[tokio::test]
async fn affinity_holds_while_healthy_and_moves_when_health_fails() {
    let mut servers = [
        Some(fake(FakeConfig::default()).await),
        Some(fake(FakeConfig::default()).await),
    ];
    let addrs: Vec<_> = servers.iter().map(|s| s.as_ref().unwrap().addr).collect();
    let specs = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            spec(
                &format!("b{i}"),
                s.as_ref().unwrap().base_url(),
                Trust::Local,
            )
        })
        .collect();
    let interval = Duration::from_millis(100);
    let pool = Pool::new(
        "gpu-pool",
        specs,
        PoolOptions {
            health_interval: interval,
            ..options()
        },
    )
    .await
    .unwrap();

    let first = pool
        .chat(request("fake-model", Some("session-1")))
        .await
        .unwrap();
    for _ in 0..10 {
        let again = pool
            .chat(request("fake-model", Some("session-1")))
            .await
            .unwrap();
        assert_eq!(again.backend, first.backend, "affinity holds while healthy");
    }
    let sticky = index_of(&first.backend);
    let other = 1 - sticky;

    servers[sticky].take().unwrap().shutdown().await;
    tokio::time::sleep(interval * 3).await;
    let stats = pool.stats();
    assert!(
        !stats[sticky].healthy,
        "left rotation within a health interval"
    );
    let sent_before = stats[sticky].requests;
    let moved = pool
        .chat(request("fake-model", Some("session-1")))
        .await
        .unwrap();
    assert_eq!(moved.backend, format!("b{other}"));
    assert_eq!(moved.attempts, 1, "an unhealthy backend is not even tried");
    assert_eq!(pool.stats()[sticky].requests, sent_before);

    // It comes back, and the session stays where its cache now is.
    servers[sticky] = Some(
        spawn_on(FakeConfig::default(), addrs[sticky])
            .await
            .unwrap(),
    );
    tokio::time::sleep(interval * 3).await;
    assert!(
        pool.stats()[sticky].healthy,
        "back in rotation once it recovers"
    );
    let stays = pool
        .chat(request("fake-model", Some("session-1")))
        .await
        .unwrap();
    assert_eq!(stays.backend, format!("b{other}"));
}

#[tokio::test]
async fn a_backend_killed_before_the_request_fails_over() {
    let mut servers = [
        Some(fake(FakeConfig::default()).await),
        Some(fake(FakeConfig::default()).await),
    ];
    let specs = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            spec(
                &format!("b{i}"),
                s.as_ref().unwrap().base_url(),
                Trust::Local,
            )
        })
        .collect();
    let pool = Pool::new("gpu-pool", specs, options()).await.unwrap();
    let first = pool.chat(request("fake-model", Some("s"))).await.unwrap();
    let dead = index_of(&first.backend);
    servers[dead].take().unwrap().shutdown().await;
    // No health round ran: the pool still thinks it is healthy and affinity points at it.
    assert!(pool.stats()[dead].healthy);
    let answer = pool.chat(request("fake-model", Some("s"))).await.unwrap();
    assert_eq!(answer.backend, format!("b{}", 1 - dead));
    assert_eq!(answer.attempts, 2);
    assert_eq!(pool.stats()[dead].errors, 1);
}

#[tokio::test]
async fn all_backends_down_is_unavailable_naming_the_pool() {
    let a = fake(FakeConfig::default()).await;
    let b = fake(FakeConfig::default()).await;
    let specs = vec![
        spec("b0", a.base_url(), Trust::Local),
        spec("b1", b.base_url(), Trust::Local),
    ];
    let pool = Pool::new("gpu-pool", specs, options()).await.unwrap();
    a.shutdown().await;
    b.shutdown().await;
    // Before the health round notices: every attempt fails, then Unavailable.
    let err = pool.chat(request("fake-model", None)).await.unwrap_err();
    assert!(
        matches!(&err, RouterError::Unavailable { pool, .. } if pool == "gpu-pool"),
        "{err}"
    );
    assert!(err.to_string().contains("gpu-pool"), "{err}");
    assert_eq!(err.http_status(), 503);
    // After it: refused at once, for streams too.
    pool.refresh().await;
    assert!(pool.stats().iter().all(|s| !s.healthy));
    let err = pool.chat(request("fake-model", None)).await.unwrap_err();
    assert!(err.to_string().contains("gpu-pool"), "{err}");
    let err = pool
        .chat_stream(request("fake-model", None))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, RouterError::Unavailable { .. }), "{err}");
}

#[tokio::test]
async fn a_429_then_a_503_are_retried() {
    let server = fake(FakeConfig {
        fail_first: vec![429, 503],
        ..FakeConfig::default()
    })
    .await;
    let pool = Pool::new(
        "gpu-pool",
        vec![spec("b0", server.base_url(), Trust::Local)],
        PoolOptions {
            max_retries: 3,
            ..options()
        },
    )
    .await
    .unwrap();
    let answer = pool.chat(request("fake-model", None)).await.unwrap();
    assert_eq!(answer.attempts, 3);
    assert_eq!(answer.body["choices"][0]["message"]["content"], "ok");
    assert_eq!(server.requests().len(), 3);
    let stats = &pool.stats()[0];
    assert_eq!((stats.requests, stats.errors), (3, 2));
    assert_eq!(stats.breaker, BreakerState::Closed);
}

#[tokio::test]
async fn the_breaker_opens_after_failures_and_closes_after_cooldown() {
    let server = fake(FakeConfig {
        fail_first: vec![500, 500, 500],
        ..FakeConfig::default()
    })
    .await;
    let pool = Pool::new(
        "gpu-pool",
        vec![spec("b0", server.base_url(), Trust::Local)],
        PoolOptions {
            max_retries: 0,
            ..options()
        },
    )
    .await
    .unwrap();
    for _ in 0..3 {
        let err = pool.chat(request("fake-model", None)).await.unwrap_err();
        assert!(err.to_string().contains("500"), "{err}");
    }
    assert_eq!(pool.stats()[0].breaker, BreakerState::Open);
    let err = pool.chat(request("fake-model", None)).await.unwrap_err();
    assert!(matches!(err, RouterError::Unavailable { .. }));
    assert_eq!(server.requests().len(), 3, "an open circuit sends nothing");

    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(pool.stats()[0].breaker, BreakerState::HalfOpen);
    pool.chat(request("fake-model", None)).await.unwrap();
    assert_eq!(pool.stats()[0].breaker, BreakerState::Closed);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn an_external_backend_is_never_used_without_permission() {
    let local = fake(FakeConfig {
        latency: Duration::from_millis(50),
        ..FakeConfig::default()
    })
    .await;
    let external = fake(FakeConfig::default()).await;
    let specs = vec![
        spec("local", local.base_url(), Trust::Local),
        spec("cloud", external.base_url(), Trust::External),
    ];
    let pool = Pool::new("gpu-pool", specs, options()).await.unwrap();
    let calls = (0..20).map(|_| pool.chat(request("fake-model", None)));
    for answer in futures_util::future::join_all(calls).await {
        assert_eq!(answer.unwrap().backend, "local");
    }
    // The local backend dies: no failover to the external one either.
    local.shutdown().await;
    let err = pool.chat(request("fake-model", None)).await.unwrap_err();
    assert!(matches!(err, RouterError::Unavailable { .. }), "{err}");
    pool.refresh().await;
    let err = pool.chat(request("fake-model", None)).await.unwrap_err();
    assert!(err.to_string().contains("external"), "{err}");
    assert!(external.requests().is_empty());
    // A tenant allowed to go external does.
    let allowed = ChatRequest {
        allow_external: true,
        ..request("fake-model", None)
    };
    assert_eq!(pool.chat(allowed).await.unwrap().backend, "cloud");
}

#[tokio::test]
async fn models_and_adapters_route_only_to_backends_that_list_them() {
    let a = fake(FakeConfig {
        models: vec!["base".into()],
        ..FakeConfig::default()
    })
    .await;
    let b = fake(FakeConfig {
        models: vec!["base".into(), "other-base".into()],
        ..FakeConfig::default()
    })
    .await;
    let loaded = reqwest::Client::new()
        .post(format!("{}/v1/load_lora_adapter", b.base_url()))
        .json(&json!({"lora_name": "tenant-a", "lora_path": "/adapters/tenant-a/v3"}))
        .send()
        .await
        .unwrap();
    assert!(loaded.status().is_success());
    let mut b_spec = spec("b1", b.base_url(), Trust::Local);
    b_spec.models = vec!["base".into()];
    let pool = Pool::new(
        "gpu-pool",
        vec![spec("b0", a.base_url(), Trust::Local), b_spec],
        options(),
    )
    .await
    .unwrap();
    assert!(pool.stats()[1].models.contains(&"tenant-a".to_string()));
    for _ in 0..10 {
        let answer = pool.chat(request("tenant-a", None)).await.unwrap();
        assert_eq!(answer.backend, "b1");
        assert_eq!(answer.body["model"], "tenant-a");
    }
    assert!(a.requests().is_empty());
    // b lists other-base, but its spec allows only `base` (and adapters of it).
    let err = pool.chat(request("other-base", None)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("no healthy backend serves model `other-base`"),
        "{err}"
    );
    let err = pool.chat(request("nope", None)).await.unwrap_err();
    assert_eq!(err.http_status(), 503);
}

async fn collect(mut stream: aoi_router::ChatStream) -> (String, Vec<RouterError>) {
    let mut text = String::new();
    let mut errors = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(bytes) => text.push_str(&String::from_utf8_lossy(&bytes)),
            Err(e) => errors.push(e),
        }
    }
    (text, errors)
}

#[tokio::test]
async fn a_stream_passes_through_and_fails_over_before_its_first_chunk() {
    let server = fake(FakeConfig {
        fail_first: vec![503],
        replies: ReplyScript {
            default: "pod checkout-7 is OOMKilled".into(),
            ..ReplyScript::default()
        },
        ..FakeConfig::default()
    })
    .await;
    let pool = Pool::new(
        "gpu-pool",
        vec![spec("b0", server.base_url(), Trust::Local)],
        options(),
    )
    .await
    .unwrap();
    let stream = pool.chat_stream(request("fake-model", None)).await.unwrap();
    let (text, errors) = collect(stream).await;
    assert!(errors.is_empty(), "{errors:?}");
    for word in ["pod ", "checkout-7 ", "is ", "OOMKilled", "data: [DONE]"] {
        assert!(text.contains(word), "{word} missing from {text}");
    }
    assert_eq!(server.requests().len(), 2);
    assert_eq!(server.requests()[1]["stream"], true);
    let stats = &pool.stats()[0];
    assert_eq!((stats.in_flight, stats.errors), (0, 1));
}

#[tokio::test]
async fn dropping_a_stream_releases_its_backend() {
    let server = fake(FakeConfig {
        tokens_per_sec: Some(20.0),
        replies: ReplyScript {
            default: "a b c d e f g h i j k l m n o p".into(),
            ..ReplyScript::default()
        },
        ..FakeConfig::default()
    })
    .await;
    let pool = Pool::new(
        "gpu-pool",
        vec![spec("b0", server.base_url(), Trust::Local)],
        options(),
    )
    .await
    .unwrap();
    let mut stream = pool.chat_stream(request("fake-model", None)).await.unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    assert_eq!(pool.stats()[0].in_flight, 1);
    drop(stream);
    let stats = &pool.stats()[0];
    assert_eq!((stats.in_flight, stats.errors), (0, 0));
    assert_eq!(stats.breaker, BreakerState::Closed);
}

/// A vLLM look-alike that answers health and models, then dies in the middle of every stream.
async fn spawn_dying_backend() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let reply = |body: &str| {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                if head.starts_with("get /health") {
                    let _ = socket.write_all(reply("").as_bytes()).await;
                } else if head.starts_with("get /v1/models") {
                    let body = r#"{"object":"list","data":[{"id":"fake-model","parent":null}]}"#;
                    let _ = socket.write_all(reply(body).as_bytes()).await;
                } else {
                    let mut out = String::from(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
                    );
                    for word in ["first", "second"] {
                        let event = format!(
                            "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{word}\"}}}}]}}\n\n"
                        );
                        out.push_str(&format!("{:x}\r\n{event}\r\n", event.len()));
                    }
                    let _ = socket.write_all(out.as_bytes()).await;
                    let _ = socket.flush().await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    // Dies: the chunked body never ends.
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_backend_dying_mid_stream_ends_the_stream_with_an_error() {
    let url = spawn_dying_backend().await;
    let pool = Pool::new(
        "gpu-pool",
        vec![spec("dying", url, Trust::Local)],
        options(),
    )
    .await
    .unwrap();
    assert!(pool.stats()[0].healthy);
    let stream = pool.chat_stream(request("fake-model", None)).await.unwrap();
    let (text, errors) = collect(stream).await;
    assert!(text.contains("first") && text.contains("second"), "{text}");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        matches!(&errors[0], RouterError::StreamInterrupted { backend, .. } if backend == "dying"),
        "{errors:?}"
    );
    assert_eq!(errors[0].http_status(), 502);
    let stats = &pool.stats()[0];
    assert_eq!((stats.in_flight, stats.errors), (0, 1));
}

#[tokio::test]
async fn the_deadline_bounds_a_request_and_frees_its_slot() {
    let server = fake(FakeConfig {
        latency: Duration::from_millis(600),
        ..FakeConfig::default()
    })
    .await;
    let pool = Pool::new(
        "gpu-pool",
        vec![spec("b0", server.base_url(), Trust::Local)],
        PoolOptions {
            request_timeout: Duration::from_millis(150),
            ..options()
        },
    )
    .await
    .unwrap();
    let err = pool.chat(request("fake-model", None)).await.unwrap_err();
    assert!(
        matches!(&err, RouterError::DeadlineExceeded { pool, .. } if pool == "gpu-pool"),
        "{err}"
    );
    assert_eq!(err.http_status(), 504);
    let stats = &pool.stats()[0];
    assert_eq!(stats.in_flight, 0);
    assert_eq!(stats.breaker, BreakerState::Closed);
}

#[tokio::test]
async fn a_full_backend_takes_no_more_requests() {
    let server = fake(FakeConfig {
        latency: Duration::from_millis(200),
        ..FakeConfig::default()
    })
    .await;
    let mut only_one = spec("b0", server.base_url(), Trust::Local);
    only_one.max_in_flight = 1;
    let pool = Pool::new(
        "gpu-pool",
        vec![only_one],
        PoolOptions {
            max_retries: 0,
            ..options()
        },
    )
    .await
    .unwrap();
    let (first, second) = tokio::join!(
        pool.chat(request("fake-model", None)),
        pool.chat(request("fake-model", None))
    );
    assert!(first.is_ok());
    let err = second.unwrap_err();
    assert!(err.to_string().contains("free slot"), "{err}");
    assert_eq!(server.requests().len(), 1);
}
