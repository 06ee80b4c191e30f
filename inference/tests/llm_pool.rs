//! The `llm` policy sending through an inference pool of two fake servers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_core::{CompressInput, Policy, PolicyError, TaskSpec, TaskType, ToolCall, ToolOutput};
use aoi_inference::{LlmConfig, LlmPolicy};
use aoi_router::{BackendSpec, Pool, PoolOptions, Trust};
use aoi_test_support::{FakeConfig, FakeServer, ReplyScript, spawn};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PASSWORD: &str = "m0ng0-Geo-2024!";
const TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";

fn task() -> TaskSpec {
    TaskSpec {
        task_type: TaskType::Detection,
        app_name: "Hotel Reservation".into(),
        namespace: "test-hotel-reservation".into(),
        app_description: "hotel booking".into(),
        instructions: "Is there an anomaly?".into(),
    }
}

async fn fake() -> FakeServer {
    spawn(FakeConfig {
        replies: ReplyScript {
            queue: vec![],
            rules: vec![],
            default: r#"{"summary": "geo reads MONGO_PASSWORD=<<password:1>>"}"#.into(),
        },
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

fn spec(name: &str, url: String) -> BackendSpec {
    BackendSpec {
        name: name.to_string(),
        url,
        models: vec![],
        weight: 1,
        max_in_flight: 64,
        trust: Trust::Local,
        api_key: None,
        load_adapters: false,
    }
}

/// Health rounds never run on their own: failover comes from the pool's retries.
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

async fn pool(servers: &[&FakeServer]) -> Arc<Pool> {
    let specs = servers
        .iter()
        .enumerate()
        .map(|(i, s)| spec(&format!("b{i}"), s.base_url()))
        .collect();
    Arc::new(Pool::new("gpu-pool", specs, options()).await.unwrap())
}

fn policy(pool: Arc<Pool>) -> LlmPolicy {
    LlmPolicy::with_pool(
        LlmConfig {
            // Never used with a pool.
            base_url: "http://127.0.0.1:9".into(),
            model: "fake-model".into(),
            ..LlmConfig::default()
        },
        pool,
        false,
    )
}

async fn compress(policy: &mut LlmPolicy) -> Result<String, PolicyError> {
    policy
        .compress(&CompressInput {
            task: task(),
            instruction: "read the env".into(),
            call: ToolCall::exec_shell("kubectl exec geo -- env"),
            output: ToolOutput::ok(format!(
                "MONGO_PASSWORD={PASSWORD}\nGITHUB_TOKEN={TOKEN}\nPORT=8083"
            )),
        })
        .await
        .map(|reply| reply.value)
}

fn count(log: &Arc<Mutex<Vec<Value>>>) -> usize {
    log.lock().unwrap().len()
}

fn assert_no_secret(log: &Arc<Mutex<Vec<Value>>>) {
    for request in log.lock().unwrap().iter() {
        let text = request.to_string();
        assert!(!text.contains(PASSWORD), "the password left the process");
        assert!(!text.contains(TOKEN), "the token left the process");
        assert!(text.contains("MONGO_PASSWORD=<<password:1>>"), "{text}");
    }
}

#[tokio::test]
async fn a_session_sticks_to_one_backend_fails_over_and_never_sends_a_secret() {
    let a = fake().await;
    let b = fake().await;
    let logs = [a.request_log(), b.request_log()];
    let pool = pool(&[&a, &b]).await;
    let mut servers = [Some(a), Some(b)];

    let mut policy = policy(pool);
    policy.reset(&task());
    policy.set_session("session-1");
    assert_eq!(policy.session(), "session-1");

    for _ in 0..5 {
        let summary = compress(&mut policy).await.unwrap();
        assert_eq!(summary, format!("geo reads MONGO_PASSWORD={PASSWORD}"));
    }
    let counts = [count(&logs[0]), count(&logs[1])];
    assert!(
        counts == [5, 0] || counts == [0, 5],
        "a session's calls all go to one backend: {counts:?}"
    );
    let sticky = usize::from(counts[1] == 5);
    let other = 1 - sticky;
    for request in logs[sticky].lock().unwrap().iter() {
        assert_eq!(request["model"], "fake-model");
    }

    servers[sticky].take().unwrap().shutdown().await;
    let summary = compress(&mut policy).await.unwrap();
    assert_eq!(summary, format!("geo reads MONGO_PASSWORD={PASSWORD}"));
    assert_eq!(count(&logs[sticky]), 5, "the dead backend got nothing");
    assert_eq!(count(&logs[other]), 1, "the call failed over to the other");

    // And it stays there.
    compress(&mut policy).await.unwrap();
    assert_eq!(count(&logs[other]), 2);

    assert_no_secret(&logs[0]);
    assert_no_secret(&logs[1]);
    drop(servers);
}

#[tokio::test]
async fn without_a_session_id_reset_draws_a_random_one() {
    let a = fake().await;
    let pool = pool(&[&a]).await;
    let mut policy = policy(pool);
    let before = policy.session().to_string();
    assert!(!before.is_empty());
    policy.reset(&task());
    assert_ne!(policy.session(), before, "each episode is its own session");
    compress(&mut policy).await.unwrap();
    assert_eq!(a.requests().len(), 1);
    policy.set_session("kept");
    policy.reset(&task());
    assert_eq!(policy.session(), "kept", "a set session survives a reset");
}

#[tokio::test]
async fn a_pool_with_no_live_backend_is_unavailable() {
    let a = fake().await;
    let pool = pool(&[&a]).await;
    a.shutdown().await;
    let mut policy = policy(pool);
    policy.reset(&task());
    let error = compress(&mut policy).await.unwrap_err();
    assert!(
        matches!(error, PolicyError::Unavailable(_)),
        "unexpected error: {error:?}"
    );
}

#[tokio::test]
async fn a_rejected_request_is_not_unavailable() {
    let a = spawn(FakeConfig {
        fail_first: vec![400],
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let pool = pool(&[&a]).await;
    let mut policy = policy(pool);
    let error = compress(&mut policy).await.unwrap_err();
    assert!(
        matches!(error, PolicyError::Other(_)),
        "unexpected error: {error:?}"
    );
    assert_eq!(a.requests().len(), 1, "a 4xx is not retried on top");
}
