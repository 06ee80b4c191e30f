//! The aoi-plugin-sign binary: keygen, sign, verify round trip and refusals.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aoi-plugin-sign"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn keygen_sign_verify_round_trip_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("acme.key");
    let manifest = dir.path().join("manifest.json");
    let payload = dir.path().join("payload.json");
    let pkg = dir.path().join("k8s-logs.aoi-plugin.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec_pretty(&common::manifest()).unwrap(),
    )
    .unwrap();
    std::fs::write(&payload, common::PAYLOAD).unwrap();

    let out = cli(&["keygen", "--out", s(&key)]);
    assert!(out.status.success(), "{out:?}");
    let public_key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(public_key.len(), 44, "{public_key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key file readable by others: {mode:o}");
    }
    let again = cli(&["keygen", "--out", s(&key)]);
    assert!(!again.status.success(), "keygen overwrote a key");

    let out = cli(&[
        "sign",
        "--manifest",
        s(&manifest),
        "--payload",
        s(&payload),
        "--key",
        s(&key),
        "--key-id",
        "acme-2026",
        "--out",
        s(&pkg),
    ]);
    assert!(out.status.success(), "{out:?}");

    let verify = |publisher: &str, public_key: &str| {
        cli(&[
            "verify",
            "--package",
            s(&pkg),
            "--publisher",
            publisher,
            "--public-key",
            public_key,
        ])
    };
    let out = verify("acme", &public_key);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("verified k8s-logs 1.2.0 by acme (key acme-2026)"),
        "{stdout}"
    );

    let out = verify("someone-else", &public_key);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("untrusted publisher `acme`"), "{stderr}");

    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&pkg).unwrap()).unwrap();
    doc["payload_base64"] = serde_json::json!("AAAA");
    std::fs::write(&pkg, doc.to_string()).unwrap();
    let out = verify("acme", &public_key);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("tampered: the payload"), "{stderr}");
}
