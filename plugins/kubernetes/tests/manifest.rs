//! The plugin's manifest and config handling.

use aoi_core::Access;
use aoi_plugin_sdk::PluginConfig;
use serde_json::{Map, Value, json};

fn config(v: Value) -> PluginConfig {
    PluginConfig::new(v.as_object().cloned().unwrap_or_else(Map::new))
}

#[test]
fn the_manifest_is_valid_and_marks_the_token_secret() {
    let m = aoi_plugin_kubernetes::manifest();
    m.validate().unwrap();
    assert_eq!(m.name, "kubernetes");
    assert_eq!(m.publisher, "aoi");
    assert_eq!(m.kind, aoi_plugin_package::PluginKind::Builtin);
    let token = m.config_schema.iter().find(|f| f.name == "token").unwrap();
    assert!(token.secret);
    let api = m
        .config_schema
        .iter()
        .find(|f| f.name == "api_server")
        .unwrap();
    assert!(api.required && !api.secret);
    assert!(m.config_schema.iter().filter(|f| f.secret).count() == 1);
    let writes = [
        "k8s_scale",
        "k8s_rollout_restart",
        "k8s_rollout_undo",
        "k8s_patch",
        "k8s_delete_pod",
        "k8s_set_image",
    ];
    for tool in &m.tools {
        assert!(tool.name.starts_with("k8s_"), "{}", tool.name);
        assert_eq!(tool.resource, "kubernetes");
        let want = if writes.contains(&tool.name.as_str()) {
            Access::Write
        } else {
            Access::Read
        };
        assert_eq!(tool.access, want, "{}", tool.name);
    }
    assert_eq!(m.tools.len(), 11);
    assert!(m.tools.iter().all(|t| !t.name.contains("secret")));
}

#[test]
fn config_without_api_server_is_refused_naming_it() {
    let err = aoi_plugin_kubernetes::toolset(&config(json!({"token": "abc"})))
        .err()
        .unwrap();
    assert_eq!(err.field, "api_server");
    assert!(err.to_string().contains("config.api_server"), "{err}");
}

#[test]
fn the_token_never_shows_in_debug_or_errors() {
    let secret = "eyJhbGciOiJSUzI1NiJ9.very-secret";
    let c = config(json!({"api_server": "https://k8s.example:6443", "token": secret}));
    let typed = aoi_plugin_kubernetes::K8sConfig::from_plugin(&c).unwrap();
    assert!(!format!("{typed:?}").contains(secret));
    assert!(!format!("{c:?}").contains(secret));
    let bad = config(json!({"api_server": "k8s.example", "token": secret}));
    let err = aoi_plugin_kubernetes::toolset(&bad).err().unwrap();
    assert!(!err.to_string().contains(secret), "{err}");
}

#[tokio::test]
async fn tls_configs_build_a_client_and_an_unreachable_server_reads_clearly() {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ca.pem"
    ))
    .unwrap();
    for extra in [
        json!({"ca_cert_pem": pem}),
        json!({"insecure_skip_tls_verify": true}),
    ] {
        let mut values = json!({"api_server": "https://127.0.0.1:1", "token": "t0ken-value"});
        for (k, v) in extra.as_object().unwrap() {
            values[k] = v.clone();
        }
        let tools = aoi_plugin_kubernetes::toolset(&config(values)).unwrap();
        let call = aoi_core::ToolCall::new("k8s_get")
            .arg("kind", "pods")
            .arg("namespace", "default");
        let out = tools.call(&call).await;
        assert!(out.is_error);
        assert!(
            out.text
                .contains("could not talk to the API server at https://127.0.0.1:1"),
            "{}",
            out.text
        );
        assert!(!out.text.contains("t0ken-value"));
    }
}
