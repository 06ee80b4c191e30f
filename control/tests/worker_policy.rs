//! `workers.policy` and `inference.model`: defaults, selection, and refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_control::Config;
use aoi_control::config::{ConfigError, WorkerPolicy};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const BACKEND: &str = "[[inference.backends]]\nname = \"a\"\nurl = \"http://127.0.0.1:9\"\n";

#[test]
fn defaults_to_builtin_and_qwen() {
    let config = Config::load_str(None, env(&[])).unwrap();
    assert_eq!(config.workers.policy, WorkerPolicy::Builtin);
    assert_eq!(config.inference.model, "Qwen/Qwen3-14B");
}

#[test]
fn llm_with_a_backend_is_selected() {
    let text = format!("[workers]\npolicy = \"llm\"\n[inference]\nmodel = \"m\"\n{BACKEND}");
    let config = Config::load_str(Some((&text, "aoi.toml")), env(&[])).unwrap();
    assert_eq!(config.workers.policy, WorkerPolicy::Llm);
    assert_eq!(config.inference.model, "m");
    let config = Config::load_str(
        Some((BACKEND, "aoi.toml")),
        env(&[
            ("AOI__WORKERS__POLICY", "llm"),
            ("AOI__INFERENCE__MODEL", "n"),
        ]),
    )
    .unwrap();
    assert_eq!(config.workers.policy, WorkerPolicy::Llm);
    assert_eq!(config.inference.model, "n");
}

#[test]
fn llm_without_backends_is_refused() {
    let err = Config::load_str(
        Some(("[workers]\npolicy = \"llm\"\n", "aoi.toml")),
        env(&[]),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("workers.policy"), "{message}");
    assert!(message.contains("[[inference.backends]]"), "{message}");
}

#[test]
fn unknown_policy_names_the_key_and_the_choices() {
    for err in [
        Config::load_str(
            Some(("[workers]\npolicy = \"gpt\"\n", "aoi.toml")),
            env(&[]),
        )
        .unwrap_err(),
        Config::load_str(None, env(&[("AOI__WORKERS__POLICY", "gpt")])).unwrap_err(),
    ] {
        let message = err.to_string();
        assert!(message.contains("workers.policy"), "{message}");
        assert!(message.contains("builtin, llm"), "{message}");
    }
}
