//! Manifest validation names the field that is wrong.

mod common;

use aoi_plugin_package::{PackageError, PluginKind, PluginManifest, generate_signing_key, sign};
use common::{PAYLOAD, manifest};
use serde_json::{Value, json};

fn field_of(m: &Value) -> String {
    match PluginManifest::from_json(m.to_string().as_bytes()) {
        Ok(_) => panic!("{m} was accepted"),
        Err(e) => e.field,
    }
}

#[test]
fn a_good_manifest_parses() {
    let m = PluginManifest::from_json(manifest().to_string().as_bytes()).unwrap();
    assert_eq!(m.kind, PluginKind::Http);
    assert_eq!(m.tools[0].resource, "logs");
}

#[test]
fn invalid_manifests_name_the_field() {
    let edits: Vec<(&str, Value, &str)> = vec![
        ("/name", json!("K8s Logs"), "name"),
        ("/version", json!("1.2"), "version"),
        ("/version", json!("1.02.0"), "version"),
        ("/publisher", json!(""), "publisher"),
        ("/description", json!("  "), "description"),
        ("/tools", json!([]), "tools"),
        ("/tools/0/name", json!("get-logs"), "tools[0].name"),
        ("/tools/0/description", json!(""), "tools[0].description"),
        ("/tools/0/resource", json!(""), "tools[0].resource"),
        ("/tools/0/args_schema", json!("pod"), "tools[0].args_schema"),
        (
            "/config_schema/1/name",
            json!("base_url"),
            "config_schema[1].name",
        ),
        (
            "/config_schema/0/description",
            json!(""),
            "config_schema[0].description",
        ),
    ];
    for (pointer, value, field) in edits {
        let mut m = manifest();
        *m.pointer_mut(pointer).unwrap() = value;
        assert_eq!(field_of(&m), field, "{pointer}");
    }
}

#[test]
fn duplicate_tools_name_the_second() {
    let mut m = manifest();
    let tool = m["tools"][0].clone();
    m["tools"].as_array_mut().unwrap().push(tool);
    assert_eq!(field_of(&m), "tools[1].name");
}

#[test]
fn unknown_or_missing_fields_and_bad_kinds_are_refused_with_their_name() {
    let mut m = manifest();
    m["homepage"] = json!("x");
    let e = PluginManifest::from_json(m.to_string().as_bytes()).unwrap_err();
    assert!(e.message.contains("homepage"), "{e}");

    let mut m = manifest();
    m.as_object_mut().unwrap().remove("version");
    let e = PluginManifest::from_json(m.to_string().as_bytes()).unwrap_err();
    assert!(e.message.contains("version"), "{e}");

    let mut m = manifest();
    m["kind"] = json!("python");
    let e = PluginManifest::from_json(m.to_string().as_bytes()).unwrap_err();
    assert!(e.message.contains("python"), "{e}");
}

#[test]
fn an_invalid_manifest_is_not_signed() {
    let mut m = manifest();
    m["tools"] = json!([]);
    let err = sign(
        m.to_string().as_bytes(),
        PAYLOAD,
        &generate_signing_key(),
        "k1",
    )
    .unwrap_err();
    assert_eq!(
        err,
        PackageError::InvalidManifest {
            field: "tools".into(),
            message: "a plugin declares at least one tool".into()
        }
    );
}
