//! The `llm` policy recording its model exchanges (prompt as sent, completion as received,
//! per-token logprobs) against the fake vLLM, directly and through a pool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_core::{
    ChatMessage, ChatRole, CompressInput, ModelExchange, ObserverView, Policy, TaskSpec, TaskType,
    ToolCall, ToolOutput,
};
use aoi_inference::{LlmConfig, LlmPolicy};
use aoi_router::{BackendSpec, Pool, PoolOptions, Trust};
use aoi_test_support::{FakeConfig, FakeServer, ReplyScript, spawn};
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "m0ng0-Geo-2024!";
const SUMMARY: &str = r#"{"summary": "geo reads MONGO_PASSWORD=<<password:1>> from its env"}"#;
const DECISION: &str = r#"{"previous_iteration_summary":"start","current_phase":"Discovery","root_cause_analysis":"unknown","confidence":20,"next_action":{"kind":"probe","instruction":"list the pods","context":"","submission":null}}"#;

fn task() -> TaskSpec {
    TaskSpec {
        task_type: TaskType::Detection,
        app_name: "Hotel Reservation".into(),
        namespace: "test-hotel-reservation".into(),
        app_description: "hotel booking".into(),
        instructions: "Is there an anomaly?".into(),
    }
}

async fn fake(queue: &[&str]) -> FakeServer {
    spawn(FakeConfig {
        replies: ReplyScript {
            queue: queue.iter().map(|s| s.to_string()).collect(),
            rules: vec![],
            default: SUMMARY.into(),
        },
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

fn config(record_exchanges: bool, logprobs: bool) -> LlmConfig {
    LlmConfig {
        model: "fake-model".into(),
        temperature: 0.7,
        timeout: Duration::from_secs(5),
        backoff_base: Duration::from_millis(1),
        record_exchanges,
        logprobs,
        ..LlmConfig::default()
    }
}

fn direct(server: &FakeServer, record_exchanges: bool, logprobs: bool) -> LlmPolicy {
    let mut policy = LlmPolicy::new(LlmConfig {
        base_url: server.base_url(),
        ..config(record_exchanges, logprobs)
    })
    .unwrap();
    policy.reset(&task());
    policy
}

async fn pooled(server: &FakeServer) -> LlmPolicy {
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
    let options = PoolOptions {
        health_interval: Duration::from_secs(3600),
        health_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(5),
        attempt_timeout: Duration::from_secs(2),
        max_retries: 1,
        backoff_base: Duration::from_millis(5),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(300),
    };
    let pool = Arc::new(Pool::new("gpu-pool", vec![spec], options).await.unwrap());
    let mut policy = LlmPolicy::with_pool(
        LlmConfig {
            // Never used with a pool.
            base_url: "http://127.0.0.1:9".into(),
            ..config(true, true)
        },
        pool,
        false,
    );
    policy.reset(&task());
    policy
}

fn env_output() -> CompressInput {
    CompressInput {
        task: task(),
        instruction: "read the env".into(),
        call: ToolCall::exec_shell("kubectl exec geo -- env"),
        output: ToolOutput::ok(format!("MONGO_PASSWORD={PASSWORD}\nPORT=8083")),
    }
}

/// The fake's logprobs: one finite, non-positive entry per whitespace-separated piece.
fn assert_logprobs_match(exchange: &ModelExchange, reply: &str) {
    let logprobs = exchange.logprobs.as_ref().expect("logprobs were asked for");
    assert_eq!(logprobs.len(), reply.split_whitespace().count());
    assert!(
        logprobs.iter().all(|x| x.is_finite() && *x <= 0.0),
        "{logprobs:?}"
    );
}

/// A compress exchange: the redacted prompt as sent, the reply as received.
fn assert_compress_exchange(exchange: &ModelExchange, server: &FakeServer) {
    let roles: Vec<ChatRole> = exchange.prompt.iter().map(|m| m.role).collect();
    assert_eq!(roles, [ChatRole::System, ChatRole::User]);
    let sent = &server.requests()[0]["messages"];
    let sent: Vec<ChatMessage> = serde_json::from_value(sent.clone()).unwrap();
    assert_eq!(exchange.prompt, sent, "the prompt is the one sent");
    let prompt = serde_json::to_string(&exchange.prompt).unwrap();
    assert!(
        !prompt.contains(PASSWORD),
        "the secret is in the recorded prompt"
    );
    assert!(prompt.contains("MONGO_PASSWORD=<<password:1>>"), "{prompt}");
    assert_eq!(
        exchange.completion, SUMMARY,
        "the completion is not restored"
    );
    assert_eq!(exchange.temperature, Some(0.7));
    assert_logprobs_match(exchange, SUMMARY);
}

#[tokio::test]
async fn a_direct_call_records_the_redacted_exchange_with_logprobs() {
    let server = fake(&[]).await;
    let mut policy = direct(&server, true, true);
    let reply = policy.compress(&env_output()).await.unwrap();
    assert_eq!(
        reply.value,
        format!("geo reads MONGO_PASSWORD={PASSWORD} from its env"),
        "the value is restored, the exchange is not"
    );
    assert_eq!(server.requests()[0]["logprobs"], true);
    assert_compress_exchange(reply.exchange.as_ref().unwrap(), &server);
}

#[tokio::test]
async fn a_pooled_call_records_the_same_exchange() {
    let server = fake(&[]).await;
    let mut policy = pooled(&server).await;
    let reply = policy.compress(&env_output()).await.unwrap();
    assert_eq!(server.requests()[0]["logprobs"], true);
    assert_compress_exchange(reply.exchange.as_ref().unwrap(), &server);
}

#[tokio::test]
async fn after_a_reask_the_exchange_is_the_call_whose_reply_was_used() {
    const BAD: &str = "the pods look fine to me";
    let server = fake(&[BAD, DECISION]).await;
    let mut policy = direct(&server, true, true);
    let view = ObserverView {
        task: task(),
        iteration: 1,
        max_iterations: 10,
        context: vec![],
        lessons: vec![],
        executor_available: false,
    };
    let reply = policy.observe(&view).await.unwrap();
    assert_eq!(reply.usage.model_calls, 2);
    let exchange = reply.exchange.unwrap();
    let roles: Vec<ChatRole> = exchange.prompt.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            ChatRole::System,
            ChatRole::User,
            ChatRole::Assistant,
            ChatRole::User
        ]
    );
    assert_eq!(exchange.prompt[2].content, BAD);
    assert!(exchange.prompt[3].content.contains("could not be used"));
    let sent: Vec<ChatMessage> =
        serde_json::from_value(server.requests()[1]["messages"].clone()).unwrap();
    assert_eq!(exchange.prompt, sent);
    assert_eq!(exchange.completion, DECISION);
    assert_logprobs_match(&exchange, DECISION);
}

#[tokio::test]
async fn without_recording_there_is_no_exchange_and_no_logprobs_asked() {
    let server = fake(&[]).await;
    let mut policy = direct(&server, false, false);
    let reply = policy.compress(&env_output()).await.unwrap();
    assert!(reply.exchange.is_none());
    assert!(server.requests()[0].get("logprobs").is_none());
}

#[tokio::test]
async fn recording_without_logprobs_records_none() {
    let server = fake(&[]).await;
    let mut policy = direct(&server, true, false);
    let exchange = policy
        .compress(&env_output())
        .await
        .unwrap()
        .exchange
        .unwrap();
    assert!(server.requests()[0].get("logprobs").is_none());
    assert_eq!(exchange.logprobs, None);
    assert_eq!(exchange.completion, SUMMARY);
}

#[tokio::test]
async fn a_secret_the_model_wrote_itself_is_redacted_in_the_completion() {
    const TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
    let reply = format!(r#"{{"summary": "use GITHUB_TOKEN={TOKEN}"}}"#);
    let server = fake(&[&reply]).await;
    let mut policy = direct(&server, true, true);
    let reply = policy.compress(&env_output()).await.unwrap();
    assert_eq!(reply.value, format!("use GITHUB_TOKEN={TOKEN}"));
    let exchange = reply.exchange.unwrap();
    assert!(
        !exchange.completion.contains(TOKEN),
        "{}",
        exchange.completion
    );
    assert!(
        exchange.completion.contains("<<github-token:1>>"),
        "{}",
        exchange.completion
    );
}
