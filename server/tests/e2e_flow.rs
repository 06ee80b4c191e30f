//! The approval flow end to end against the built `aoi` binary: Alertmanager -> incident ->
//! session on a twin -> SSE -> approval (viewer refused, operator decides) -> mitigated (or
//! not) -> audit; on SQLite and on this machine's PostgreSQL (fresh database per run).

use aoi_e2e::{Server, approval_flow};

const AOI: &str = env!("CARGO_BIN_EXE_aoi");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_mitigation_on_sqlite() {
    let server = Server::start(AOI, false).await;
    approval_flow(&server, true).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_mitigation_on_postgres() {
    let server = Server::start(AOI, true).await;
    approval_flow(&server, true).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_mitigation_on_sqlite() {
    let server = Server::start(AOI, false).await;
    approval_flow(&server, false).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_mitigation_on_postgres() {
    let server = Server::start(AOI, true).await;
    approval_flow(&server, false).await;
    server.stop().await;
}
