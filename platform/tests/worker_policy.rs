//! The agent worker's policy follows `workers.policy`; `llm` needs `[[inference.backends]]`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_control::Config;
use aoi_control::config::{BackendConfig, WorkerPolicy};
use aoi_platform::Platform;
use aoi_platform::worker::worker_policy;

fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::load_str(None, Vec::<(String, String)>::new()).unwrap();
    config.server.data_dir = dir.to_path_buf();
    config
}

#[tokio::test]
async fn builtin_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::open(config(dir.path())).await.unwrap();
    let policy = worker_policy(&platform, uuid::Uuid::new_v4()).unwrap();
    assert_eq!(policy.name(), "builtin");
}

#[tokio::test]
async fn llm_through_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.workers.policy = WorkerPolicy::Llm;
    config.inference.backends = vec![BackendConfig {
        name: "a".into(),
        url: "http://127.0.0.1:9/v1".into(),
        models: vec![],
        weight: 1,
        max_in_flight: 8,
        trust: "local".into(),
        api_key_env: None,
        load_adapters: false,
    }];
    let platform = Platform::open(config).await.unwrap();
    assert!(platform.inference.is_some());
    let policy = worker_policy(&platform, uuid::Uuid::new_v4()).unwrap();
    assert_eq!(policy.name(), "llm");
}

#[tokio::test]
async fn llm_without_backends_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.workers.policy = WorkerPolicy::Llm;
    let err = Platform::open(config).await.err().unwrap();
    assert!(err.0.contains("workers.policy"), "{err}");
    assert!(err.0.contains("[[inference.backends]]"), "{err}");
}
