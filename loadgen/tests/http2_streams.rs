//! `aoi-loadgen streams --http2` against `aoi-pool-front` in front of the fake vLLM: streams
//! multiplexed over HTTP/2 prior-knowledge connections all complete, on the connections asked
//! for, and each reaches the upstream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_test_support::{FakeConfig, ReplyScript, spawn};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Kills the child process when the test ends, passed or failed.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `aoi-pool-front` on a free port; answers the process and its base URL.
fn pool_front(backend: &str) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aoi-pool-front"))
        .args(["--listen", "127.0.0.1:0", "--backend", backend])
        .stdout(Stdio::piped())
        .spawn()
        .expect("aoi-pool-front starts");
    let stdout = child.stdout.take().expect("its stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("aoi-pool-front listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (running, url)
}

fn loadgen_streams(extra: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_aoi-loadgen"))
        .args(["--threads", "2", "streams"])
        .args(extra)
        .output()
        .expect("aoi-loadgen runs");
    assert!(
        output.status.success(),
        "aoi-loadgen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

const BODY: &str = r#"{"model":"fake-model","messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn streams_over_http2_complete_through_the_pool_front() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(spawn(FakeConfig {
            replies: ReplyScript {
                default: "one two three four".into(),
                ..ReplyScript::default()
            },
            ..FakeConfig::default()
        }))
        .unwrap();
    let (_front, base) = pool_front(&fake.base_url());
    let url = format!("{base}/v1/chat/completions");

    let report = loadgen_streams(&[
        "--url",
        &url,
        "--body",
        BODY,
        "--count",
        "7",
        "--http2",
        "--streams-per-conn",
        "3",
        "--timeout",
        "20",
    ]);
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["completed"], 7, "{report}");
    assert_eq!(report["completed_with_done"], 7, "{report}");
    assert_eq!(report["http2"], true, "{report}");
    // ceil(7 / 3) connections, every one used.
    assert_eq!(report["connections"], 3, "{report}");
    assert_eq!(report["connections_opened"], 3, "{report}");
    assert_eq!(report["http_versions"]["HTTP/2.0"], 7, "{report}");
    let streamed = fake
        .requests()
        .iter()
        .filter(|r| r["stream"] == true)
        .count();
    assert_eq!(streamed, 7);
}

#[test]
fn streams_default_to_one_http1_connection_each() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(spawn(FakeConfig::default())).unwrap();
    let (_front, base) = pool_front(&fake.base_url());
    let url = format!("{base}/v1/chat/completions");

    let report = loadgen_streams(&["--url", &url, "--body", BODY, "--count", "3"]);
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["completed_with_done"], 3, "{report}");
    assert_eq!(report["http2"], false, "{report}");
    assert_eq!(report["connections"], 3, "{report}");
    assert_eq!(report["http_versions"]["HTTP/1.1"], 3, "{report}");
}

#[test]
fn a_zero_streams_per_connection_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_aoi-loadgen"))
        .args([
            "streams",
            "--url",
            "http://127.0.0.1:9/v1/chat/completions",
            "--body",
            BODY,
            "--count",
            "1",
            "--http2",
            "--streams-per-conn",
            "0",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--streams-per-conn"), "{stderr}");
}
