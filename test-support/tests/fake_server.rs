//! The fake OpenAI-compatible server over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_test_support::{FakeConfig, ReplyRule, ReplyScript, spawn};
use serde_json::{Value, json};

fn chat(content: &str, stream: bool) -> Value {
    json!({
        "model": "fake-model",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": content}],
        "stream": stream,
        "stream_options": {"include_usage": true}
    })
}

#[tokio::test]
async fn replies_come_from_the_queue_then_rules_then_the_default() {
    let server = spawn(FakeConfig {
        replies: ReplyScript {
            queue: vec!["first".into()],
            rules: vec![ReplyRule {
                contains: "pods".into(),
                reply: "three pods".into(),
            }],
            default: "default reply".into(),
        },
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", server.base_url());
    let mut contents = Vec::new();
    for prompt in ["list pods", "list pods", "other"] {
        let reply: Value = client
            .post(&url)
            .json(&chat(prompt, false))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        contents.push(
            reply["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        if prompt == "other" {
            assert_eq!(reply["usage"]["prompt_tokens"], 3);
            assert_eq!(reply["usage"]["completion_tokens"], 2);
        }
    }
    assert_eq!(contents, vec!["first", "three pods", "default reply"]);
    assert_eq!(server.requests().len(), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn streaming_sends_chunks_then_done() {
    let server = spawn(FakeConfig {
        tokens_per_sec: Some(1000.0),
        replies: ReplyScript {
            default: "a b c".into(),
            ..ReplyScript::default()
        },
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.base_url()))
        .json(&chat("hi", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let mut content = String::new();
    let mut usage = Value::Null;
    for event in &events[..events.len() - 1] {
        let chunk: Value = serde_json::from_str(event.strip_prefix("data: ").unwrap()).unwrap();
        if let Some(part) = chunk["choices"][0]["delta"]["content"].as_str() {
            content.push_str(part);
        }
        if !chunk["usage"].is_null() {
            usage = chunk["usage"].clone();
        }
    }
    assert_eq!(content, "a b c");
    assert_eq!(usage["completion_tokens"], 3);
}

#[tokio::test]
async fn scripted_failures_unknown_models_and_lora_adapters() {
    let server = spawn(FakeConfig {
        fail_first: vec![429, 503],
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let base = server.base_url();
    let url = format!("{base}/v1/chat/completions");
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            out.push(
                client
                    .post(&url)
                    .json(&chat("x", false))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        out
    };
    assert_eq!(statuses, vec![429, 503, 200]);

    assert_eq!(
        client
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    let mut body = chat("x", false);
    body["model"] = json!("tenant-a");
    assert_eq!(
        client
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );

    let load = json!({"lora_name": "tenant-a", "lora_path": "/adapters/tenant-a"});
    let loaded = client
        .post(format!("{base}/v1/load_lora_adapter"))
        .json(&load)
        .send()
        .await
        .unwrap();
    assert_eq!(loaded.status().as_u16(), 200);
    let again = client
        .post(format!("{base}/v1/load_lora_adapter"))
        .json(&load)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 400);
    assert_eq!(
        client
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    let models: Value = client
        .get(format!("{base}/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["fake-model", "tenant-a"]);
    assert_eq!(models["data"][1]["parent"], "fake-model");
}

#[tokio::test]
async fn an_error_rate_of_one_fails_every_request() {
    let server = spawn(FakeConfig {
        error_rate: 1.0,
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let status = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.base_url()))
        .json(&chat("x", false))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 503);
}

#[tokio::test]
async fn lora_loads_are_counted_delayed_and_fail_for_missing_paths() {
    let server = spawn(FakeConfig::default()).await.unwrap();
    let client = reqwest::Client::new();
    let load = |name: &str, path: &str| {
        client
            .post(format!("{}/v1/load_lora_adapter", server.base_url()))
            .json(&json!({"lora_name": name, "lora_path": path}))
            .send()
    };
    let missing = load("tenant-x", "missing/tenant-x").await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let text = missing.text().await.unwrap();
    assert!(text.contains("missing/tenant-x"), "{text}");
    assert!(server.adapters().is_empty());

    server.set_load_delay(std::time::Duration::from_millis(150));
    let started = std::time::Instant::now();
    assert_eq!(load("tenant-a", "/a").await.unwrap().status().as_u16(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    assert_eq!(server.load_calls(), 2);
    assert_eq!(
        server.adapters(),
        vec![("tenant-a".to_string(), "/a".to_string())]
    );
}
