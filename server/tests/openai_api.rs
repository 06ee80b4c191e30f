//! The OpenAI-compatible endpoints of `aoi serve` against a fake vLLM over real HTTP: models
//! listed, a chat completion passed through, a secret redacted before it leaves and restored
//! in the reply, streaming, all backends down (503 naming the pool), no token (401), and no
//! backend configured (503 saying what to configure).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_e2e::{Launch, Server};
use aoi_inference::privacy::{RedactionPolicy, Redactor};
use aoi_test_support::{FakeConfig, ReplyRule, ReplyScript};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aoi");
const SECRET_PROMPT: &str = "the db config says password=hunter2-very-secret, is it wrong?";

async fn operator_key(server: &Server) -> String {
    let admin = server.login("default", "admin", aoi_e2e::ADMIN_PASSWORD).await;
    let (status, key) = server
        .call(
            "POST",
            "/api/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "openai-client", "role": "operator"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    key["key"].as_str().unwrap().to_string()
}

// Multi-threaded: `Server::launch` blocks its thread while the fake answers health probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_endpoints_over_the_pool() {
    // The placeholder a fresh redactor gives the secret (the server's redactor is fresh too).
    let redacted = Redactor::new(RedactionPolicy::secrets_only()).redact(SECRET_PROMPT);
    assert!(!redacted.contains("hunter2-very-secret"), "{redacted}");
    let start = redacted.find("<<").unwrap();
    let end = redacted[start..].find(">>").unwrap() + start + 2;
    let placeholder = redacted[start..end].to_string();

    let fake = aoi_test_support::spawn(FakeConfig {
        replies: ReplyScript {
            queue: vec![],
            rules: vec![ReplyRule {
                contains: placeholder.clone(),
                reply: format!("rotate {placeholder} now"),
            }],
            default: "hello from the pool".into(),
        },
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let backends = format!(r#"[{{name = "gpu-1", url = "{}"}}]"#, fake.base_url());
    let server = Server::launch(
        BIN,
        &Launch {
            env: vec![("AOI__INFERENCE__BACKENDS".into(), backends)],
            ..Launch::default()
        },
    );
    let key = operator_key(&server).await;

    // No token: 401.
    let (status, body) = server.call("GET", "/v1/models", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = server
        .call(
            "POST",
            "/v1/chat/completions",
            None,
            Some(json!({"model": "fake-model", "messages": []})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Models, in the OpenAI list shape.
    let (status, models) = server.call("GET", "/v1/models", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK, "{models}");
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["fake-model"], "{models}");

    // A plain completion passes through.
    let (status, reply) = server
        .call(
            "POST",
            "/v1/chat/completions",
            Some(&key),
            Some(json!({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(
        reply["choices"][0]["message"]["content"],
        "hello from the pool"
    );

    // The secret never reaches the backend; the reply's placeholder comes back restored.
    let (status, reply) = server
        .call(
            "POST",
            "/v1/chat/completions",
            Some(&key),
            Some(json!({"model": "fake-model", "messages": [
                {"role": "system", "content": "you are an SRE"},
                {"role": "user", "content": SECRET_PROMPT}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let content = reply["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.contains("hunter2-very-secret"), "{content}");
    assert!(!content.contains("<<"), "{content}");
    let seen = serde_json::to_string(&fake.requests()).unwrap();
    assert!(!seen.contains("hunter2-very-secret"), "{seen}");
    assert!(seen.contains(&placeholder), "{seen}");

    // Streaming: the chunks and [DONE] pass through.
    let resp = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "fake-model", "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = resp.text().await.unwrap();
    let mut streamed = String::new();
    for line in text.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data.trim() == "[DONE]" {
            continue;
        }
        let chunk: Value = serde_json::from_str(data).unwrap();
        if let Some(piece) = chunk["choices"][0]["delta"]["content"].as_str() {
            streamed.push_str(piece);
        }
    }
    assert_eq!(streamed, "hello from the pool", "{text}");
    assert!(text.contains("data: [DONE]"), "{text}");

    // Each call is audited with the model and the backend.
    let admin = server.login("default", "admin", aoi_e2e::ADMIN_PASSWORD).await;
    let (status, audit) = server
        .call(
            "GET",
            "/api/v1/audit?action=inference.chat",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let text = audit.to_string();
    assert!(text.contains("gpu-1"), "{text}");
    assert!(!text.contains("hunter2-very-secret"), "{text}");

    // The backend stopped: 503 naming the pool.
    fake.shutdown().await;
    let (status, body) = server
        .call(
            "POST",
            "/v1/chat/completions",
            Some(&key),
            Some(json!({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("`default`"), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn without_backends_the_endpoints_say_what_to_configure() {
    let server = Server::launch(BIN, &Launch::default());
    let key = operator_key(&server).await;
    let (status, body) = server
        .call(
            "POST",
            "/v1/chat/completions",
            Some(&key),
            Some(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("[[inference.backends]]"),
        "{body}"
    );
    let (status, _) = server.call("GET", "/v1/models", Some(&key), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    server.stop().await;
}

/// One chat completion with `reqwest`, answering the status, the `Retry-After` header and the
/// body.
async fn chat(server: &Server, key: &str, body: Value) -> (StatusCode, Option<String>, Value) {
    let resp = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .bearer_auth(key)
        .header("x-aoi-session", "quota-test")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = resp.json().await.unwrap();
    (status, retry_after, body)
}

// Multi-threaded: `Server::launch` blocks its thread while the fake answers health probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_answer_429_with_retry_after() {
    // Tokens per minute: the first reply reports 400+ tokens (its usage replaces the 201-token
    // estimate), so a second request of the same estimate is over the 500 tokens of the minute.
    let fake = aoi_test_support::spawn(FakeConfig {
        replies: ReplyScript {
            default: "word ".repeat(400),
            ..ReplyScript::default()
        },
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let backends = format!(r#"[{{name = "gpu-1", url = "{}"}}]"#, fake.base_url());
    let server = Server::launch(
        BIN,
        &Launch {
            env: vec![
                ("AOI__INFERENCE__BACKENDS".into(), backends),
                (
                    "AOI__INFERENCE__QUOTA__TOKENS_PER_MINUTE".into(),
                    "500".into(),
                ),
            ],
            ..Launch::default()
        },
    );
    let key = operator_key(&server).await;
    let request = json!({"model": "fake-model", "max_tokens": 200,
                         "messages": [{"role": "user", "content": "hi"}]});
    // Stay clear of a minute boundary between the two calls (the windows are epoch minutes).
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second >= 55 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - second)).await;
    }
    let (status, _, body) = chat(&server, &key, request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, retry_after, body) = chat(&server, &key, request.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("tokens per minute"), "{message}");
    assert!(message.contains("retry after"), "{message}");
    let secs: u64 = retry_after.expect("Retry-After header").parse().unwrap();
    assert!((1..=60).contains(&secs), "Retry-After: {secs}");
    assert_eq!(
        fake.requests().len(),
        1,
        "the refused call never reached the pool"
    );
    server.stop().await;
    fake.shutdown().await;

    // Concurrency: with one slot and a slow backend, of two calls at once one is refused.
    let fake = aoi_test_support::spawn(FakeConfig {
        latency: std::time::Duration::from_millis(1500),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let backends = format!(r#"[{{name = "gpu-1", url = "{}"}}]"#, fake.base_url());
    let server = Server::launch(
        BIN,
        &Launch {
            env: vec![
                ("AOI__INFERENCE__BACKENDS".into(), backends),
                ("AOI__INFERENCE__QUOTA__MAX_CONCURRENT".into(), "1".into()),
            ],
            ..Launch::default()
        },
    );
    let key = operator_key(&server).await;
    let request = json!({"model": "fake-model",
                         "messages": [{"role": "user", "content": "hi"}]});
    let (a, b) = tokio::join!(
        chat(&server, &key, request.clone()),
        chat(&server, &key, request.clone())
    );
    let mut statuses = vec![a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        vec![StatusCode::OK, StatusCode::TOO_MANY_REQUESTS],
        "{} / {}",
        a.2,
        b.2
    );
    let refused = if a.0 == StatusCode::TOO_MANY_REQUESTS {
        &a
    } else {
        &b
    };
    assert_eq!(refused.2["error"]["code"], "rate_limited", "{}", refused.2);
    let message = refused.2["error"]["message"].as_str().unwrap();
    assert!(message.contains("concurrent requests"), "{message}");
    let secs: u64 = refused.1.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "Retry-After: {secs}");
    // The slot is free again once the first call answered.
    let (status, _, body) = chat(&server, &key, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await;
    fake.shutdown().await;
}
