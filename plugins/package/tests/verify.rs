//! Signing and verification: each refusal is distinct and says which.

mod common;

use aoi_plugin_package::{
    Package, PackageError, TrustedKeys, canonical_signed_bytes, generate_signing_key, sha256_hex,
    verify,
};
use common::{PAYLOAD, acme, manifest, public_b64, signed};
use serde_json::json;

#[test]
fn a_signed_package_verifies_and_survives_its_json_form() {
    let (key, trusted) = acme();
    let package = signed(&manifest(), &key, "acme-2026");
    let reparsed = Package::from_json(package.to_json().unwrap().as_bytes()).unwrap();
    assert_eq!(reparsed, package);
    let verified = verify(&reparsed, &trusted).unwrap();
    assert_eq!(verified.manifest.name, "k8s-logs");
    assert_eq!(verified.publisher, "acme");
    assert_eq!(verified.key_id, "acme-2026");
    assert_eq!(verified.payload, PAYLOAD);
    assert_eq!(verified.payload_sha256, sha256_hex(PAYLOAD));
    assert!(verified.manifest.config_schema[1].secret);
}

#[test]
fn the_signed_bytes_are_the_documented_canonical_form() {
    let bytes = canonical_signed_bytes("ab", "cd");
    assert_eq!(bytes, b"aoi-plugin-v1\nab\ncd\n");
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn a_flipped_payload_byte_is_tampering_of_the_payload() {
    let (key, trusted) = acme();
    let mut package = signed(&manifest(), &key, "acme-2026");
    package.payload[3] ^= 1;
    let err = verify(&package, &trusted).unwrap_err();
    assert!(
        matches!(
            err,
            PackageError::Tampered {
                what: "payload",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("payload does not match"), "{err}");
}

#[test]
fn an_edited_manifest_is_tampering_of_the_manifest() {
    let (key, trusted) = acme();
    let package = signed(&manifest(), &key, "acme-2026");
    let mut doc: serde_json::Value = serde_json::from_str(&package.to_json().unwrap()).unwrap();
    doc["manifest"]["tools"][0]["access"] = json!("write");
    let edited = Package::from_json(doc.to_string().as_bytes()).unwrap();
    let err = verify(&edited, &trusted).unwrap_err();
    assert!(
        matches!(
            err,
            PackageError::Tampered {
                what: "manifest",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn an_edited_manifest_with_its_hash_updated_has_a_bad_signature() {
    let (key, trusted) = acme();
    let mut package = signed(&manifest(), &key, "acme-2026");
    let mut edited = manifest();
    edited["description"] = json!("Deletes pods");
    let mut forged = Package::new(edited.to_string().as_bytes(), PAYLOAD.to_vec()).unwrap();
    let mut sig = package.signature.take().unwrap();
    sig.manifest_sha256 = sha256_hex(forged.manifest_bytes());
    forged.signature = Some(sig);
    let err = verify(&forged, &trusted).unwrap_err();
    assert!(matches!(err, PackageError::BadSignature { .. }), "{err:?}");
}

#[test]
fn an_unsigned_package_is_refused_as_unsigned() {
    let (key, trusted) = acme();
    let mut package = signed(&manifest(), &key, "acme-2026");
    package.signature = None;
    let reparsed = Package::from_json(package.to_json().unwrap().as_bytes()).unwrap();
    let err = verify(&reparsed, &trusted).unwrap_err();
    assert_eq!(err, PackageError::Unsigned);
    assert!(err.to_string().contains("aoi-plugin-sign sign"), "{err}");
}

#[test]
fn a_publisher_without_configured_keys_is_untrusted() {
    let (_, trusted) = acme();
    let other = generate_signing_key();
    let mut m = manifest();
    m["publisher"] = json!("mallory");
    let err = verify(&signed(&m, &other, "m1"), &trusted).unwrap_err();
    assert_eq!(
        err,
        PackageError::UntrustedPublisher {
            publisher: "mallory".into()
        }
    );
    assert!(
        err.to_string()
            .contains("plugins.trusted_publishers.mallory"),
        "{err}"
    );
}

#[test]
fn another_key_of_a_trusted_publisher_is_unknown() {
    let (_, trusted) = acme();
    let rotated = generate_signing_key();
    let err = verify(&signed(&manifest(), &rotated, "acme-2027"), &trusted).unwrap_err();
    assert!(
        matches!(&err, PackageError::UnknownKey { publisher, key_id, known }
            if publisher == "acme" && key_id == "acme-2027" && known == "acme-2026"),
        "{err:?}"
    );
}

#[test]
fn a_different_key_under_a_trusted_key_id_is_a_bad_signature() {
    let (_, trusted) = acme();
    let impostor = generate_signing_key();
    let err = verify(&signed(&manifest(), &impostor, "acme-2026"), &trusted).unwrap_err();
    assert!(matches!(err, PackageError::BadSignature { .. }), "{err:?}");
}

#[test]
fn a_signature_naming_another_publisher_is_a_mismatch() {
    let (key, _) = acme();
    let mut trusted = TrustedKeys::new();
    trusted.add("mallory", "m1", &public_b64(&key)).unwrap();
    let mut package = signed(&manifest(), &key, "m1");
    if let Some(sig) = package.signature.as_mut() {
        sig.publisher = "mallory".into();
    }
    let err = verify(&package, &trusted).unwrap_err();
    assert_eq!(
        err,
        PackageError::PublisherMismatch {
            manifest: "acme".into(),
            signature: "mallory".into()
        }
    );
}

#[test]
fn trusted_keys_load_from_config_and_reject_bad_keys() {
    let (key, _) = acme();
    let config = json!({"acme": [{"key_id": "acme-2026", "public_key": public_b64(&key)}]});
    let trusted: TrustedKeys = serde_json::from_value(config).unwrap();
    verify(&signed(&manifest(), &key, "acme-2026"), &trusted).unwrap();

    let bad = json!({"acme": [{"key_id": "k", "public_key": "c2hvcnQ="}]});
    let err = serde_json::from_value::<TrustedKeys>(bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`k` of publisher `acme`"), "{err}");
    assert!(err.contains("5 bytes"), "{err}");
}

#[test]
fn malformed_package_documents_name_the_field() {
    let cases = [
        (json!([]), "package"),
        (json!({"payload_base64": ""}), "manifest"),
        (json!({"manifest": manifest()}), "payload_base64"),
        (
            json!({"manifest": manifest(), "payload_base64": "!!"}),
            "payload_base64",
        ),
        (
            json!({"manifest": manifest(), "payload_base64": "", "signature": {"publisher": "acme"}}),
            "signature",
        ),
        (
            json!({"manifest": manifest(), "payload_base64": "", "extra": 1}),
            "extra",
        ),
    ];
    for (doc, field) in cases {
        match Package::from_json(doc.to_string().as_bytes()) {
            Err(PackageError::Malformed { field: f, .. }) => assert_eq!(f, field, "{doc}"),
            other => panic!("{doc}: expected Malformed {field}, got {other:?}"),
        }
    }
}
