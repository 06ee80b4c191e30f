//! HttpSpec::parse refuses what cannot work, naming the place.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aoi_core::Access;
use aoi_plugin_http::{HttpSpec, Method};
use aoi_plugin_package::PluginKind;
use common::{manifest, spec};
use serde_json::{Value, json};

fn parse_err(spec: &Value) -> String {
    HttpSpec::parse(spec.to_string().as_bytes(), &manifest())
        .unwrap_err()
        .to_string()
}

fn with(tool: &str, key: &str, value: Value) -> Value {
    let mut s = spec();
    s["tools"][tool][key] = value;
    s
}

#[test]
fn the_example_spec_parses() {
    let parsed = HttpSpec::parse(spec().to_string().as_bytes(), &manifest()).unwrap();
    let get = parsed.tool("tickets_get").unwrap();
    assert_eq!(get.method, Method::Get);
    assert_eq!(get.extract.pointer.as_deref(), Some("/ticket"));
    assert_eq!(get.extract.fields, ["id", "status", "title"]);
    assert_eq!(parsed.tool("tickets_create").unwrap().method, Method::Post);
}

#[test]
fn placeholders_must_be_declared() {
    assert_eq!(
        parse_err(&with("tickets_get", "path", json!("/api/tickets/{tiket}"))),
        "tools.tickets_get.path: unknown argument {tiket}: declare it in the tool's args_schema properties"
    );
    assert!(
        parse_err(&with("tickets_get", "query", json!({"x": "{config.nope}"})))
            .starts_with("tools.tickets_get.query.x: unknown config value {config.nope}")
    );
    assert!(
        parse_err(&with("tickets_get", "path", json!("/api/{expand}"))).starts_with(
            "tools.tickets_get.path: argument {expand} is used in the path but is not required"
        )
    );
    assert!(
        parse_err(&with("tickets_get", "path", json!("/api/{id")))
            .starts_with("tools.tickets_get.path: unclosed `{`")
    );
}

#[test]
fn a_secret_is_refused_outside_headers() {
    let msg = "secret config value {config.token} may only be used in headers";
    let e = parse_err(&with(
        "tickets_get",
        "query",
        json!({"key": "{config.token}"}),
    ));
    assert!(
        e.starts_with(&format!("tools.tickets_get.query.key: {msg}")),
        "{e}"
    );
    let e = parse_err(&with(
        "tickets_get",
        "path",
        json!("/api/{config.token}/{id}"),
    ));
    assert!(
        e.starts_with(&format!("tools.tickets_get.path: {msg}")),
        "{e}"
    );
    let e = parse_err(&with(
        "tickets_create",
        "body",
        json!({"auth": {"list": ["x", "t={config.token}"]}}),
    ));
    assert!(
        e.starts_with(&format!("tools.tickets_create.body.auth.list[1]: {msg}")),
        "{e}"
    );
}

#[test]
fn methods_fit_the_declared_access() {
    let e = parse_err(&with("tickets_get", "method", json!("POST")));
    assert!(
        e.starts_with("tools.tickets_get.method: the tool is declared read but uses POST"),
        "{e}"
    );
    let e = parse_err(&with("tickets_create", "method", json!("FETCH")));
    assert!(
        e.starts_with("tools.tickets_create.method: `FETCH` is not one of"),
        "{e}"
    );
    let e = parse_err(&with("tickets_get", "body", json!({"a": 1})));
    assert_eq!(e, "tools.tickets_get.body: a GET request has no body");
    let mut m = manifest();
    m.tools[0].access = Access::Write;
    let s = with("tickets_get", "method", json!("DELETE"));
    assert!(HttpSpec::parse(s.to_string().as_bytes(), &m).is_ok());
}

#[test]
fn templates_and_manifest_tools_match_one_to_one() {
    let mut s = spec();
    s["tools"].as_object_mut().unwrap().remove("tickets_raw");
    assert_eq!(
        parse_err(&s),
        "tools.tickets_raw: the manifest declares this tool but the spec has no request template for it"
    );
    let mut s = spec();
    s["tools"]["tickets_extra"] = json!({"method": "GET", "path": "/x"});
    assert!(parse_err(&s).starts_with("tools.tickets_extra: is not a tool of the manifest"));
    let e = parse_err(&with("tickets_get", "verb", json!("GET")));
    assert!(e.starts_with("spec: unknown field `verb`"), "{e}");
}

#[test]
fn paths_headers_and_extraction_are_checked() {
    let e = parse_err(&with("tickets_get", "path", json!("api/{id}")));
    assert!(
        e.starts_with("tools.tickets_get.path: must start with `/`"),
        "{e}"
    );
    let e = parse_err(&with("tickets_get", "path", json!("/api/{id}?x=1")));
    assert!(
        e.starts_with("tools.tickets_get.path: must not contain `?`"),
        "{e}"
    );
    let e = parse_err(&with("tickets_get", "headers", json!({"Bad Header": "x"})));
    assert_eq!(
        e,
        "tools.tickets_get.headers.Bad Header: is not a valid header name"
    );
    let e = parse_err(&with(
        "tickets_get",
        "extract",
        json!({"pointer": "ticket"}),
    ));
    assert!(
        e.starts_with("tools.tickets_get.extract.pointer: `ticket` is not a JSON pointer"),
        "{e}"
    );
}

#[test]
fn the_manifest_must_be_an_http_plugin_with_a_base_url() {
    let mut m = manifest();
    m.kind = PluginKind::Wasm;
    let e = HttpSpec::parse(spec().to_string().as_bytes(), &m).unwrap_err();
    assert_eq!(e.place, "manifest.kind");
    let mut m = manifest();
    m.config_schema.retain(|f| f.name != "base_url");
    let e = HttpSpec::parse(spec().to_string().as_bytes(), &m).unwrap_err();
    assert_eq!(e.place, "manifest.config_schema");
}
