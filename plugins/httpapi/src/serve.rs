//! Serving a tool call the same way in every HTTP API plugin: the manifest builder, the checks
//! before any request, the argument helpers, and the output (token redacted, cut at 16 KiB).

use crate::client::Api;
use crate::text::{MAX_OUTPUT, cut};
use aoi_core::{Access, ToolCall, ToolOutput};
use aoi_plugin_sdk::{ToolManifest, check_args};
use serde_json::Value;
use std::future::Future;

/// A tool's manifest; no classifier (a plugin's tools are reads or writes by name).
pub fn tool(
    name: &str,
    description: &str,
    access: Access,
    resource: &str,
    args_schema: Value,
) -> ToolManifest {
    ToolManifest {
        name: name.into(),
        description: description.into(),
        args_schema,
        access,
        classifier: None,
        resource: resource.into(),
    }
}

/// The manifests of read tools on one resource, from (name, description, argument schema).
pub fn read_tools<'a>(
    resource: &str,
    tools: impl IntoIterator<Item = (&'a str, &'a str, Value)>,
) -> Vec<ToolManifest> {
    tools
        .into_iter()
        .map(|(name, description, args_schema)| {
            tool(name, description, Access::Read, resource, args_schema)
        })
        .collect()
}

/// Answers `call`: refused when it names none of `manifests` or its arguments do not fit the
/// tool's schema (then `run` is never polled), else `run`'s text or error with the token
/// redacted and cut at [`MAX_OUTPUT`].
pub async fn serve(
    api: &Api,
    manifests: &[ToolManifest],
    call: &ToolCall,
    run: impl Future<Output = Result<String, String>>,
) -> ToolOutput {
    let Some(manifest) = manifests.iter().find(|m| m.name == call.tool) else {
        let names: Vec<&str> = manifests.iter().map(|m| m.name.as_str()).collect();
        return ToolOutput::error(format!(
            "{}: no tool named `{}`; this plugin serves {}",
            api.system().plugin,
            call.tool,
            names.join(", ")
        ));
    };
    if let Err(e) = check_args(manifest, call) {
        return ToolOutput::error(e);
    }
    match run.await {
        Ok(text) => ToolOutput::ok(cut(&api.redact(&text), MAX_OUTPUT)),
        Err(e) => ToolOutput::error(cut(&api.redact(&e), MAX_OUTPUT)),
    }
}

/// A string argument that must be there and not blank.
pub fn required_str<'a>(call: &'a ToolCall, key: &str) -> Result<&'a str, String> {
    call.str_arg(key)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| format!("{}: `{key}` must be a non-empty string", call.tool))
}

/// An integer argument from 1 to `max`, `default` when absent.
pub fn ranged_u64(call: &ToolCall, key: &str, default: u64, max: u64) -> Result<u64, String> {
    let value = call.u64_arg(key).unwrap_or(default);
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{}: `{key}` must be 1 to {max}, got {value}",
            call.tool
        ))
    }
}

/// A boolean argument, false when absent.
pub fn flag(call: &ToolCall, key: &str) -> bool {
    call.args.get(key).and_then(Value::as_bool).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::System;
    use aoi_plugin_sdk::PluginConfig;
    use serde_json::json;

    const TOKEN: &str = "serve-test-token";

    fn api() -> Api {
        let values = json!({"base_url": "http://127.0.0.1:9", "bearer_token": TOKEN});
        let system = System {
            plugin: "demo",
            display: "Demo",
            example_url: "http://demo",
        };
        system
            .api(&PluginConfig::new(values.as_object().cloned().unwrap()))
            .unwrap()
    }

    fn manifests() -> Vec<ToolManifest> {
        let schema =
            json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]});
        let mut tools = read_tools("things", [("demo_a", "A", schema.clone())]);
        tools.push(tool("demo_b", "B", Access::Write, "things", schema));
        assert_eq!(tools[0].access, Access::Read);
        tools
    }

    #[tokio::test]
    async fn refused_calls_never_run() {
        let never = async { panic!("a refused call ran") };
        let out = serve(&api(), &manifests(), &ToolCall::new("demo_c"), never).await;
        assert!(out.is_error);
        assert_eq!(
            out.text,
            "demo: no tool named `demo_c`; this plugin serves demo_a, demo_b"
        );
        let never = async { panic!("a refused call ran") };
        let out = serve(&api(), &manifests(), &ToolCall::new("demo_a"), never).await;
        assert_eq!(out.text, "demo_a: missing required argument `q`");
    }

    #[tokio::test]
    async fn outputs_and_errors_are_redacted_and_cut() {
        let call = ToolCall::new("demo_b").arg("q", "x");
        let long = format!("{TOKEN} {}", "x".repeat(MAX_OUTPUT));
        let out = serve(&api(), &manifests(), &call, async { Ok(long) }).await;
        assert!(!out.is_error);
        assert!(
            out.text.starts_with("<redacted> xxx"),
            "{}",
            &out.text[..20]
        );
        assert!(out.text.ends_with("bytes shown; narrow the query]"));
        let out = serve(&api(), &manifests(), &call, async {
            Err(format!("echoed {TOKEN}"))
        })
        .await;
        assert!(out.is_error);
        assert_eq!(out.text, "echoed <redacted>");
    }

    #[test]
    fn arguments_are_checked_by_name() {
        let call = ToolCall::new("demo_a")
            .arg("q", " ")
            .arg("n", 0)
            .arg("on", true);
        assert_eq!(
            required_str(&call, "q").unwrap_err(),
            "demo_a: `q` must be a non-empty string"
        );
        assert_eq!(
            ranged_u64(&call, "n", 5, 10).unwrap_err(),
            "demo_a: `n` must be 1 to 10, got 0"
        );
        assert_eq!(ranged_u64(&call, "m", 5, 10), Ok(5));
        assert!(flag(&call, "on") && !flag(&call, "off"));
    }
}
