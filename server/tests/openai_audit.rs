//! How `POST /v1/chat/completions` is audited when called with an API key: one
//! `inference.chat` record per authorized call, naming the key, whether the call reached the
//! pool or was refused before it (`refused` with the status); no `api_key.use` on top of it,
//! while other routes still record the key's use.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_e2e::{Launch, Server};
use aoi_test_support::FakeConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aoi");

// Multi-threaded: `Server::launch` blocks its thread while the fake answers health probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_is_one_inference_chat_record_naming_the_key() {
    let fake = aoi_test_support::spawn(FakeConfig::default())
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
    let admin = server.login("default", "admin", aoi_e2e::ADMIN_PASSWORD).await;
    let (status, created) = server
        .call(
            "POST",
            "/api/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "audited-client", "role": "operator"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    let actor = format!("key:{}", created["id"].as_str().unwrap());

    // Answered by the pool.
    let (status, body) = server
        .call(
            "POST",
            "/v1/chat/completions",
            Some(&key),
            Some(json!({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Refused before the pool: no messages, then a body that is not JSON.
    let (status, body) = server
        .call(
            "POST",
            "/v1/chat/completions",
            Some(&key),
            Some(json!({"model": "fake-model"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Another route still records the key's use.
    let (status, body) = server.call("GET", "/v1/models", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, chats) = server
        .call(
            "GET",
            "/api/v1/audit?action=inference.chat",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{chats}");
    let chats = chats.as_array().unwrap();
    assert_eq!(chats.len(), 3, "{chats:?}");
    assert!(
        chats
            .iter()
            .all(|e| e["actor"] == json!(actor) && e["details"]["actor_name"] == "audited-client"),
        "{chats:?}"
    );
    let refused: Vec<&Value> = chats.iter().map(|e| &e["details"]["refused"]).collect();
    assert_eq!(
        refused,
        [&Value::Null, &json!(422), &json!(400)],
        "{chats:?}"
    );
    assert_eq!(chats[0]["details"]["backend"], "gpu-1", "{chats:?}");
    assert_eq!(chats[1]["target"], "fake-model", "{chats:?}");

    let (status, uses) = server
        .call(
            "GET",
            "/api/v1/audit?action=api_key.use",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{uses}");
    let targets: Vec<&str> = uses
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == json!(actor))
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert_eq!(targets, ["GET /v1/models"], "{uses}");
    server.stop().await;
}
