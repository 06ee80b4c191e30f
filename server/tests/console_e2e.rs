//! The console in a real browser: Debian's chromium, driven by playwright-core
//! (e2e/console/run.mjs), against the built `aoi` binary on a fresh database. This test starts
//! the server with the console's browser bundle (`AOI_CONSOLE_SITE`, built by
//! scripts/build-console.sh; scripts/test.sh builds it and sets the variable), seeds a tenant
//! whose mitigation session waits for approval, and runs the browser script, which signs in,
//! checks that a viewer can neither see nor forge an approval, approves as an operator and
//! watches the timeline follow without a reload, marks the session wrong, approves the
//! corrective signal the evolver drafts from it, installs a plugin, reads a benchmark run
//! recorded with `aoi bench --record` (chart numbers against the report's own summary, and the
//! drill-down to a run's trajectory), and checks session expiry.
//! The screenshots go to `AOI_CONSOLE_SHOTS` (default: console-screenshots in the target folder).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use aoi_e2e::{ADMIN_PASSWORD, Launch, Server, Tenant};

const AOI: &str = env!("CARGO_BIN_EXE_aoi");

fn site() -> PathBuf {
    let site = std::env::var_os("AOI_CONSOLE_SITE").map(PathBuf::from).unwrap_or_else(|| {
        panic!("AOI_CONSOLE_SITE is not set: build the console with scripts/build-console.sh and export what it prints (scripts/test.sh does both)")
    });
    let wasm = site.join("pkg").join("aoi_console_bg.wasm");
    assert!(
        wasm.is_file(),
        "{} is missing: run scripts/build-console.sh",
        wasm.display()
    );
    site
}

fn shots() -> PathBuf {
    std::env::var_os("AOI_CONSOLE_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = PathBuf::from(AOI);
            exe.parent()
                .and_then(Path::parent)
                .map(|t| t.join("console-screenshots"))
                .unwrap_or_else(|| PathBuf::from("console-screenshots"))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_chromium() {
    let site = site();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/console/run.mjs");
    assert!(
        script
            .parent()
            .map(|d| d.join("node_modules/playwright-core").is_dir())
            .unwrap_or(false),
        "e2e/console/node_modules is missing: run scripts/setup.sh"
    );
    let server = Server::launch(
        AOI,
        &Launch::default().with("AOI_CONSOLE_SITE", &site.display().to_string()),
    );
    let tenant = Tenant::setup(&server).await;
    let incident = tenant.alert(&server, "console-e2e").await;
    let session = tenant.start_session(&server, &incident).await;
    // The browser finds the write waiting (or sees it arrive).
    tenant
        .wait_pending(&server, &session, Duration::from_secs(120))
        .await;
    // A benchmark run recorded the way people do it: `aoi bench --record`.
    let bench_out = tempfile::NamedTempFile::new().expect("temp file");
    let recorded = Command::new(AOI)
        .args([
            "bench",
            "--suite",
            "aiopslab",
            "--policy",
            "builtin",
            "--runs",
            "2",
            "--tasks",
            "k8s_target_port-misconfig-*",
            "--trajectories",
            "--quiet",
            "--name",
            "console e2e bench",
            "--record",
        ])
        .arg(server.url(""))
        .arg("--out")
        .arg(bench_out.path())
        .env("AOI_TOKEN", &tenant.admin)
        .output()
        .expect("run aoi bench");
    assert!(
        recorded.status.success(),
        "aoi bench --record failed: {}{}",
        String::from_utf8_lossy(&recorded.stdout),
        String::from_utf8_lossy(&recorded.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bench_out.path()).expect("read the report"))
            .expect("the report is JSON");
    // A run with mixed results and an evolve round, recorded through the API: its numbers are
    // worked out here by hand from the runs below.
    let run = |ok: &[bool]| serde_json::json!(ok.iter().map(|s| serde_json::json!({"success": s})).collect::<Vec<_>>());
    let mixed = serde_json::json!({
        "suite": "aiopslab", "policy": "llm", "runs": 2,
        "tasks": [
            {"id": "d1", "task_type": "detection", "app": "a", "runs": run(&[true, false])},
            {"id": "d2", "task_type": "detection", "app": "a", "runs": run(&[false, false])},
            {"id": "m1", "task_type": "mitigation", "app": "a", "runs": run(&[true, true])}
        ],
        "evolve": {
            "after_tasks": [
                {"id": "d1", "task_type": "detection", "app": "a", "runs": run(&[true, true])},
                {"id": "d2", "task_type": "detection", "app": "a", "runs": run(&[false, true])},
                {"id": "m1", "task_type": "mitigation", "app": "a", "runs": run(&[true, true])}
            ]
        }
    });
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/benchmarks",
            Some(&tenant.admin),
            Some(serde_json::json!({"name": "console e2e mixed", "report": mixed})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    let (status, _) = server
        .call(
            "POST",
            "/api/v1/benchmarks",
            Some(&tenant.viewer),
            Some(serde_json::json!({"report": mixed})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "a viewer records no benchmark");
    // An adapter candidate for the models page.
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/models/adapters",
            Some(&tenant.admin),
            Some(serde_json::json!({"name": "sre-lora", "base_model": "qwen2.5-7b", "source": "/models/sre-lora-v1", "notes": "GRPO round 1"})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    // What the charts must show: for the `aoi bench` run, the report's own summary as the bench
    // computed it; for the mixed run, the hand-worked numbers.
    let expected = serde_json::json!([
        {
            "name": "console e2e bench",
            "k": report["runs"],
            "by_task_type": report["summary"]["by_task_type"],
            "overall": report["summary"]["overall"],
        },
        {
            "name": "console e2e mixed",
            "k": 2,
            "by_task_type": {
                "detection": {"tasks": 2, "avg_at_k": 0.25, "best_at_k": 0.5},
                "mitigation": {"tasks": 1, "avg_at_k": 1.0, "best_at_k": 1.0}
            },
            "overall": {"avg_at_k": 0.5, "best_at_k": 2.0 / 3.0},
            "evolve": {"detection": [0.25, 0.75], "mitigation": [1.0, 1.0]}
        }
    ]);
    let shots = shots();
    let base = server.url("");
    let base = base.trim_end_matches('/').to_owned();
    let expired = server.expired_token();
    let node_script = script.clone();
    let api_key = tenant.api_key.clone();
    let shots_dir = shots.clone();
    let status = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(node_script)
            .env("AOI_BASE", base)
            .env("AOI_INCIDENT", incident)
            .env("AOI_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("AOI_EXPIRED_TOKEN", expired)
            .env("AOI_BENCH_EXPECT", expected.to_string())
            .env("AOI_API_KEY", api_key)
            .env(
                "AOI_NEW_ALERT",
                aoi_e2e::alert_payload("firing", "console-e2e-live").to_string(),
            )
            .env("AOI_SHOTS", &shots_dir)
            .status()
    })
    .await
    .expect("join")
    .expect("run node (scripts/setup.sh installs it)");
    println!("console screenshots: {}", shots.display());
    assert!(
        status.success(),
        "the browser tests failed (see their output above)"
    );

    // What the browser did, seen through the API: the operator approved, the viewer did not.
    let finished = tenant
        .finish(&server, &session, true, Duration::from_secs(120))
        .await;
    let gates = aoi_e2e::executor_gates(&finished);
    assert!(
        gates.iter().any(|g| g["outcome"] == "approved"),
        "the approved write ran: {gates:?}"
    );
    let (_, audit) = server
        .call(
            "GET",
            "/api/v1/audit?action=approval.approve",
            Some(&tenant.admin),
            None,
        )
        .await;
    let text = audit.to_string();
    assert!(
        text.contains(&tenant.operator_id),
        "olga's approval is audited: {text}"
    );
    let (_, denied) = server
        .call(
            "GET",
            "/api/v1/audit?action=authz.denied",
            Some(&tenant.admin),
            None,
        )
        .await;
    assert!(
        denied.to_string().contains("decide_approval") && denied.to_string().contains("vera"),
        "the viewer's forged approve is audited as denied: {denied}"
    );
    let (_, approved) = server
        .call(
            "GET",
            "/api/v1/signals?status=approved",
            Some(&tenant.admin),
            None,
        )
        .await;
    assert!(
        approved.as_array().is_some_and(|a| !a.is_empty()),
        "the admin approved a corrective signal in the browser: {approved}"
    );
    server.stop().await;
}
