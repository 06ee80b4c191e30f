//! `aoi worker evolver` runs as its own process: a failed twin session is put in a fresh
//! PostgreSQL database (through the store, in this test's process), the real `aoi` binary is
//! started as `aoi worker evolver` against that database, and it drafts a pending signal for the
//! session, audited with its own worker name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::evolver::failed_session;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aoi_control::Config;
use aoi_e2e::{create_pg_database, drop_pg_database, pg_url};
use aoi_platform::Platform;
use aoi_store::{AuditFilter, AuditScope, EnvironmentSpec, SignalStatus};

const BIN: &str = env!("CARGO_BIN_EXE_aoi");
const PROBLEM: &str = "k8s_target_port-misconfig-mitigation-1";
/// How long the worker process may take to start and draft the signal.
const DRAFT_WAIT: Duration = Duration::from_secs(120);

/// The worker process, killed when the test ends (passing or not).
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn aoi_worker_evolver_drafts_a_pending_signal_as_its_own_process() {
    let database = create_pg_database().await;
    let url = pg_url(&database);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::load_str(None, Vec::<(String, String)>::new()).unwrap();
    config.server.data_dir = dir.path().to_path_buf();
    config.database.url = Some(url.clone());
    let platform = Platform::open(config).await.unwrap();
    let (tenant, session) = failed_session(
        &platform,
        EnvironmentSpec::Twin {
            problem_id: PROBLEM.into(),
        },
        Vec::new(),
    ).await;

    let log = std::fs::File::create(dir.path().join("worker.log")).unwrap();
    let child = Command::new(BIN)
        .args(["worker", "evolver", "--data-dir"])
        .arg(dir.path())
        .env("DATABASE_URL", &url)
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start aoi worker evolver");
    let mut worker = Worker(child);

    let deadline = Instant::now() + DRAFT_WAIT;
    let signal = loop {
        let signals = platform
            .store
            .signals_of_session(tenant, session)
            .await
            .unwrap();
        if let Some(signal) = signals.into_iter().next() {
            break signal;
        }
        if let Some(status) = worker.0.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.path().join("worker.log")).unwrap_or_default();
            panic!("aoi worker evolver exited with {status} before drafting:\n{log}");
        }
        if Instant::now() >= deadline {
            let log = std::fs::read_to_string(dir.path().join("worker.log")).unwrap_or_default();
            panic!("no signal drafted within {DRAFT_WAIT:?}; the worker's log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(signal.status, SignalStatus::Pending, "{signal:?}");
    assert_eq!(signal.problem_id, PROBLEM);
    assert_eq!(signal.source_session_id, Some(session));
    assert!(!signal.lesson.is_empty(), "{signal:?}");

    // Drafted by the worker process: its actor is an evolver worker's name, and this process
    // runs none.
    let drafted = platform
        .store
        .audit_events(
            AuditScope::Tenant(tenant),
            AuditFilter {
                action: Some("signal.draft".into()),
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(drafted.len(), 1, "{drafted:?}");
    assert!(
        drafted[0].actor.starts_with("evolver:evolver-"),
        "{drafted:?}"
    );
    assert!(
        worker.0.try_wait().unwrap().is_none(),
        "the worker keeps serving"
    );

    drop(worker);
    drop(platform);
    drop_pg_database(&database).await;
}
