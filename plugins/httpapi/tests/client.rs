//! The shared client and tool serving against a stand-in server over real HTTP on 127.0.0.1:
//! what is sent (method, path, query, bearer token, JSON body), what errors say (system, path,
//! the server's message), and that a token the server echoes never comes back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "support/calls.rs"]
mod calls;
#[allow(dead_code)]
#[path = "support/stub.rs"]
mod stub;

use aoi_core::{Access, ToolCall, ToolOutput};
use aoi_plugin_httpapi::{Api, Config, System, serve, tool};
use aoi_plugin_sdk::{ConfigError, PluginConfig, ToolManifest, Toolset};
use serde_json::{Value, json};
use std::sync::Arc;
use stub::{Answer, Stub};

const TOKEN: &str = "httpapi-test-token-0123456789";
const DEMO: System = System {
    plugin: "demo",
    display: "Demo",
    example_url: "http://demo:1234",
};

fn api(base_url: &str, token: bool) -> Api {
    let mut values = json!({"base_url": base_url});
    if token {
        values["bearer_token"] = json!(TOKEN);
    }
    let config = Config::from_plugin(&calls::config(values)).unwrap();
    Api::new(&config, DEMO).unwrap()
}

/// One tool, `demo_get`, that GETs `api/thing` and prints the answer.
struct DemoTools {
    api: Api,
}

fn manifests() -> Vec<ToolManifest> {
    vec![tool(
        "demo_get",
        "Get the thing",
        Access::Read,
        "things",
        json!({"type": "object", "properties": {}}),
    )]
}

#[async_trait::async_trait]
impl Toolset for DemoTools {
    fn manifests(&self) -> Vec<ToolManifest> {
        manifests()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        let run = async { Ok(self.api.get("api/thing", &[]).await?.to_string()) };
        serve(&self.api, &manifests(), call, run).await
    }
}

fn demo_toolset(config: &PluginConfig) -> Result<Arc<dyn Toolset>, ConfigError> {
    Ok(Arc::new(DemoTools {
        api: DEMO.api(config)?,
    }))
}

#[test]
fn a_plugin_built_on_the_system_passes_the_shared_checks() {
    let manifest = DEMO.manifest("0.1.0", "Demo: things (read only).", manifests());
    let tools = [("demo_get", Access::Read, "things")];
    calls::assert_http_plugin(manifest, &tools, demo_toolset, Config::from_plugin);
}

#[tokio::test]
async fn get_sends_the_query_and_token_and_reads_json() {
    let stub = Stub::start(vec![("/root/api/v1/q", Answer::json(r#"{"a": [1]}"#))]).await;
    let api = api(&format!("{}/root", stub.base_url), true);
    let answer = api
        .get("api/v1/q", &[("query", "up{job=\"a b\"}".to_string())])
        .await
        .unwrap();
    assert_eq!(answer, json!({"a": [1]}));
    let sent = stub.only_request();
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("GET", "/root/api/v1/q")
    );
    assert_eq!(sent.param("query"), Some("up{job=\"a b\"}"));
    assert_eq!(
        sent.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn post_sends_json_and_no_token_means_no_header() {
    let stub = Stub::start(vec![("/api/v2/silences", Answer::json(""))]).await;
    let api = api(&stub.base_url, false);
    let answer = api
        .post("api/v2/silences", &json!({"comment": "c"}))
        .await
        .unwrap();
    assert_eq!(answer, Value::Null, "an empty body reads as null");
    let sent = stub.only_request();
    assert_eq!(sent.method, "POST");
    assert_eq!(
        serde_json::from_str::<Value>(&sent.body).unwrap(),
        json!({"comment": "c"})
    );
    assert_eq!(sent.authorization, None);
}

#[tokio::test]
async fn errors_name_the_system_and_path_and_hide_an_echoed_token() {
    let echo = format!(r#"{{"error": "bad token {TOKEN}"}}"#);
    let stub = Stub::start(vec![
        ("/denied", Answer::text(401, &echo)),
        ("/html", Answer::text(200, "<html>")),
    ])
    .await;
    let api = api(&stub.base_url, true);
    let err = api.get("denied", &[]).await.unwrap_err();
    assert_eq!(
        err,
        "Demo answered HTTP 401 Unauthorized to /denied: bad token <redacted>"
    );
    let err = api.get("html", &[]).await.unwrap_err();
    assert!(
        err.starts_with("Demo sent an answer to /html that is not JSON (")
            && err.ends_with(&format!("is base_url {} right?", stub.base_url)),
        "{err}"
    );
    let err = api.get("missing", &[]).await.unwrap_err();
    assert_eq!(
        err,
        "Demo answered HTTP 404 Not Found to /missing: 404 page not found"
    );
}

#[tokio::test]
async fn a_tool_call_to_an_unreachable_server_is_a_clear_error() {
    let tools_at = |url: &str| -> Arc<dyn Toolset> {
        Arc::new(DemoTools {
            api: api(url, true),
        })
    };
    calls::assert_unreachable(
        tools_at,
        ToolCall::new("demo_get"),
        TOKEN,
        "Demo",
        "/api/thing",
    )
    .await;
}
