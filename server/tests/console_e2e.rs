//! The console in a real browser: Debian's chromium, driven by playwright-core
//! (e2e/console/run.mjs), against the built `aoi` binary on a fresh database. This test starts
//! the server with the console's browser bundle (`AOI_CONSOLE_SITE`, built by
//! scripts/build-console.sh; scripts/test.sh builds it and sets the variable), seeds a tenant
//! whose mitigation session waits for approval, and runs the browser script, which signs in,
//! checks that a viewer can neither see nor forge an approval, approves as an operator and
//! watches the timeline follow without a reload, installs a plugin, and checks session expiry.
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
    let shots = shots();
    let base = server.url("");
    let base = base.trim_end_matches('/').to_owned();
    let expired = server.expired_token();
    let node_script = script.clone();
    let shots_dir = shots.clone();
    let status = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(node_script)
            .env("AOI_BASE", base)
            .env("AOI_INCIDENT", incident)
            .env("AOI_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("AOI_EXPIRED_TOKEN", expired)
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
    server.stop().await;
}
