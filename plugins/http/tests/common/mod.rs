//! A ticket plugin's manifest and spec, shared by the HTTP plugin tests.

use aoi_core::Access;
use aoi_plugin_package::{ConfigField, ConfigKind, PluginKind, PluginManifest};
use aoi_plugin_sdk::ToolManifest;
use serde_json::{Value, json};

fn tool(name: &str, access: Access, args_schema: Value) -> ToolManifest {
    ToolManifest {
        name: name.into(),
        description: format!("{name} on the ticket API"),
        args_schema,
        access,
        classifier: None,
        resource: "tickets".into(),
    }
}

pub fn manifest() -> PluginManifest {
    let field = |name: &str, kind, required, secret| ConfigField {
        name: name.into(),
        description: format!("the {name}"),
        kind,
        required,
        secret,
    };
    let manifest = PluginManifest {
        name: "tickets".into(),
        version: "1.2.0".into(),
        publisher: "acme".into(),
        description: "the ticket API".into(),
        kind: PluginKind::Http,
        config_schema: vec![
            field("base_url", ConfigKind::Url, true, false),
            field("token", ConfigKind::String, true, true),
            field("org", ConfigKind::String, false, false),
        ],
        tools: vec![
            tool(
                "tickets_get",
                Access::Read,
                json!({"type": "object", "properties": {"id": {"type": "string"}, "expand": {"type": "string"}}, "required": ["id"]}),
            ),
            tool(
                "tickets_list",
                Access::Read,
                json!({"type": "object", "properties": {"q": {"type": "string"}, "labels": {"type": "array"}}}),
            ),
            tool(
                "tickets_create",
                Access::Write,
                json!({"type": "object", "properties": {"title": {"type": "string"}, "priority": {"type": "integer"}}, "required": ["title"]}),
            ),
            tool(
                "tickets_whoami",
                Access::Read,
                json!({"type": "object", "properties": {}}),
            ),
            tool(
                "tickets_raw",
                Access::Read,
                json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
            ),
        ],
    };
    manifest.validate().unwrap();
    manifest
}

pub fn spec() -> Value {
    let auth = json!({"Authorization": "Bearer {config.token}", "X-Org": "{config.org}"});
    json!({"tools": {
        "tickets_get": {
            "method": "GET", "path": "/api/tickets/{id}", "query": {"expand": "{expand}"},
            "headers": auth, "body": null,
            "extract": {"pointer": "/ticket", "fields": ["id", "status", "title"]}
        },
        "tickets_list": {
            "method": "GET", "path": "/api/tickets", "query": {"q": "{q}", "labels": "{labels}"},
            "headers": auth,
            "extract": {"pointer": "/items", "fields": ["id", "status", "owner.name"]}
        },
        "tickets_create": {
            "method": "POST", "path": "/api/tickets", "headers": auth,
            "body": {"title": "{title}", "priority": "{priority}", "org": "{config.org}",
                     "note": "filed by aoi: {title}", "tags": ["aoi"]}
        },
        "tickets_whoami": {"method": "GET", "path": "/api/whoami", "headers": auth},
        "tickets_raw": {"method": "GET", "path": "/raw/{name}"}
    }})
}
