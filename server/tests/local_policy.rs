//! `aoi train --policy local` and `aoi bench --policy local --model FILE` end to end, on a few
//! problems of the shipped suite.

use std::process::Command;

const AOI: &str = env!("CARGO_BIN_EXE_aoi");

fn aoi(args: &[&str]) -> (bool, String) {
    let out = match Command::new(AOI).args(args).output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run {AOI}: {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn train_then_bench_with_the_trained_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("local.json");
    let model_s = model.to_str().unwrap();
    let (ok, text) = aoi(&[
        "train",
        "--policy",
        "local",
        "--suite",
        "aiopslab",
        "--held-out",
        "*scale_pod_zero_social_net-detection*",
        "--tasks",
        "k8s_target_port-misconfig-detection-*",
        "--epochs",
        "1",
        "--group-size",
        "2",
        "--eval-runs",
        "1",
        "--jobs",
        "2",
        "--seed",
        "3",
        "--out",
        model_s,
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("before: held-out avg@1"), "{text}");
    assert!(text.contains("after:  held-out avg@1"), "{text}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(saved["format"], "aoi-local-policy");
    assert_eq!(saved["training"]["seed"], 3);

    let (ok, text) = aoi(&[
        "bench",
        "--suite",
        "aiopslab",
        "--policy",
        "local",
        "--model",
        model_s,
        "--tasks",
        "k8s_target_port-misconfig-detection-[12]",
        "--runs",
        "1",
        "--quiet",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("avg@1"), "{text}");

    // A model of another version is refused before any session runs.
    let other = dir.path().join("v2.json");
    let text2 =
        std::fs::read_to_string(&model)
            .unwrap()
            .replacen("\"version\": 1", "\"version\": 2", 1);
    std::fs::write(&other, text2).unwrap();
    let (ok, text) = aoi(&[
        "bench",
        "--policy",
        "local",
        "--model",
        other.to_str().unwrap(),
        "--tasks",
        "k8s_target_port-misconfig-detection-1",
        "--quiet",
    ]);
    assert!(!ok, "{text}");
    assert!(text.contains("version 2"), "{text}");
}

#[test]
fn train_refuses_a_split_that_leaks_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let (ok, text) = aoi(&[
        "train",
        "--held-out",
        "k8s_target_port-misconfig-detection-1",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(!ok, "{text}");
    assert!(text.contains("hold out whole faults"), "{text}");
    assert!(!model.exists());
}
