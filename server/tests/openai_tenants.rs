//! The OpenAI-compatible endpoint per tenant, against two fake vLLM servers over real HTTP (a
//! local one that may load LoRA adapters, an external one): external backends only after a
//! platform admin allows them for the tenant; a tenant's adapter resolved to its active
//! version, loaded on demand once, listed by name, refused to another tenant; the tenant's
//! own quota (429 with Retry-After); placeholders restored in a stream; per-tenant metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_e2e::{Launch, Server};
use aoi_inference::privacy::{RedactionPolicy, Redactor};
use aoi_test_support::{FakeConfig, ReplyRule, ReplyScript};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aoi");
use aoi_e2e::ADMIN_PASSWORD;
const SECRET_PROMPT: &str = "the db config says password=hunter2-very-secret, is it wrong?";

async fn key(server: &Server, tenant: &str, admin: &str, password: &str) -> String {
    let token = server.login(tenant, admin, password).await;
    let (status, key) = server
        .call(
            "POST",
            "/api/v1/api-keys",
            Some(&token),
            Some(json!({"name": "client", "role": "operator"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    key["key"].as_str().unwrap().to_string()
}

async fn chat(server: &Server, key: &str, model: &str) -> (StatusCode, Value) {
    server
        .call(
            "POST",
            "/v1/chat/completions",
            Some(key),
            Some(json!({"model": model, "max_tokens": 16,
                        "messages": [{"role": "user", "content": "hello"}]})),
        )
        .await
}

async fn set_policy(server: &Server, admin: &str, tenant: &str, policy: Value) {
    let (status, body) = server
        .call(
            "PUT",
            &format!("/api/v1/tenants/{tenant}/inference-policy"),
            Some(admin),
            Some(policy),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// Multi-threaded: `Server::launch` blocks its thread while the fakes answer health probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_get_their_policy_adapters_and_quotas() {
    let placeholder = {
        let redacted = Redactor::new(RedactionPolicy::secrets_only()).redact(SECRET_PROMPT);
        let start = redacted.find("<<").unwrap();
        let end = redacted[start..].find(">>").unwrap() + start + 2;
        redacted[start..end].to_string()
    };
    let local = aoi_test_support::spawn(FakeConfig {
        models: vec!["base-model".into()],
        replies: ReplyScript {
            queue: vec![],
            rules: vec![ReplyRule {
                contains: placeholder.clone(),
                reply: format!("rotate {placeholder} now"),
            }],
            default: "hello from the local pool".into(),
        },
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let external = aoi_test_support::spawn(FakeConfig {
        models: vec!["ext-model".into()],
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let backends = format!(
        r#"[{{name = "gpu-1", url = "{}", load_adapters = true}}, {{name = "cloud", url = "{}", trust = "external"}}]"#,
        local.base_url(),
        external.base_url()
    );
    let server = Server::launch(
        BIN,
        &Launch {
            env: vec![("AOI__INFERENCE__BACKENDS".into(), backends)],
            ..Launch::default()
        },
    );
    let admin = server.login("default", "admin", ADMIN_PASSWORD).await;
    let key_a = key(&server, "default", "admin", ADMIN_PASSWORD).await;

    // External backends: never by default, even for a model only they serve.
    let (status, body) = chat(&server, &key_a, "ext-model").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body.to_string().contains("external"),
        "the refusal says why: {body}"
    );
    assert!(external.requests().is_empty(), "nothing reached the external backend");
    let (_, models) = server.call("GET", "/v1/models", Some(&key_a), None).await;
    assert!(!models.to_string().contains("ext-model"), "{models}");
    // A tenant admin cannot grant it; a platform admin can.
    set_policy(&server, &admin, "default", json!({"allow_external": true})).await;
    let (status, body) = chat(&server, &key_a, "ext-model").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(external.requests().len(), 1);

    // A second tenant, still without external access.
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/tenants",
            Some(&admin),
            Some(json!({"slug": "tenant-b", "name": "B", "admin_username": "boss", "admin_password": "boss-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key_b = key(&server, "tenant-b", "boss", "boss-password").await;
    let boss = server.login("tenant-b", "boss", "boss-password").await;
    let (status, body) = server
        .call(
            "PUT",
            "/api/v1/tenants/tenant-b/inference-policy",
            Some(&boss),
            Some(json!({"allow_external": true})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a tenant admin may not: {body}");
    let (status, _) = chat(&server, &key_b, "ext-model").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(external.requests().len(), 1, "tenant B never reached it");

    // Tenant A's adapter: registered, promoted, then used by name.
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/models/adapters",
            Some(&admin),
            Some(json!({"name": "sre", "base_model": "base-model", "source": "adapters/sre-v1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = chat(&server, &key_a, "sre").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a candidate serves nothing: {body}");
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/models/adapters/sre/versions/1/promote",
            Some(&admin),
            Some(json!({"to": "active"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for _ in 0..3 {
        let (status, body) = chat(&server, &key_a, "sre").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["model"], "sre", "the caller sees its own name");
    }
    assert_eq!(local.load_calls(), 1, "loaded once, on demand");
    assert_eq!(
        local.adapters(),
        vec![("default--sre--v1".to_string(), "adapters/sre-v1".to_string())]
    );
    let upstream: Vec<String> = local
        .requests()
        .iter()
        .map(|r| r["model"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(upstream.iter().filter(|m| *m == "default--sre--v1").count() >= 3, "{upstream:?}");
    let (_, models) = server.call("GET", "/v1/models", Some(&key_a), None).await;
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"sre") && ids.contains(&"base-model"), "{ids:?}");
    assert!(!ids.iter().any(|id| id.contains("--")), "upstream names stay hidden: {ids:?}");
    // Tenant B sees neither A's adapter by name nor by upstream name.
    let (_, models_b) = server.call("GET", "/v1/models", Some(&key_b), None).await;
    assert!(!models_b.to_string().contains("sre"), "{models_b}");
    let (status, body) = chat(&server, &key_b, "default--sre--v1").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = chat(&server, &key_b, "sre").await;
    assert_ne!(status, StatusCode::OK, "B has no adapter `sre`");

    // A stream: the placeholder of the redacted secret comes back restored.
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .bearer_auth(&key_a)
        .json(&json!({"model": "base-model", "stream": true,
                      "messages": [{"role": "user", "content": SECRET_PROMPT}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let streamed: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect();
    assert!(streamed.contains("hunter2-very-secret"), "{streamed:?}\n{text}");
    assert!(!text.contains(&placeholder), "{text}");
    assert!(
        local.requests().iter().all(|r| !r.to_string().contains("hunter2")),
        "the secret never left"
    );

    // Tenant B's own quota: 429 with Retry-After, tenant A unaffected.
    set_policy(
        &server,
        &admin,
        "tenant-b",
        json!({"allow_external": false, "tokens_per_minute": 40}),
    )
    .await;
    let (status, body) = chat(&server, &key_b, "base-model").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .bearer_auth(&key_b)
        // 6 tokens used so far (the fake's usage) + 40 + 1 estimated > 40 a minute.
        .json(&json!({"model": "base-model", "max_tokens": 40,
                      "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let (status, _) = chat(&server, &key_a, "base-model").await;
    assert_eq!(status, StatusCode::OK, "another tenant's quota is not A's");

    // Per-tenant metrics.
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "aoi_inference_tenant_requests_total{tenant=\"default\",model=\"sre\",outcome=\"ok\"} 3",
        "aoi_inference_tenant_requests_total{tenant=\"tenant-b\",model=\"base-model\",outcome=\"rate_limited\"} 1",
        "aoi_inference_backend_adapter_loads_total{backend=\"gpu-1\",trust=\"local\"} 1",
        "aoi_inference_tenant_ttft_seconds_count{tenant=\"default\",model=\"sre\"} 3",
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }
    server.stop().await;
}
