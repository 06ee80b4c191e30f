//! Runs the black-box scenarios of aoi-e2e against the `aoi` binary built for these tests:
//! on SQLite and on this machine's PostgreSQL.

use aoi_e2e::{Server, refuses_public_address, scenario};

const AOI: &str = env!("CARGO_BIN_EXE_aoi");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_on_sqlite() {
    let server = Server::start(AOI, false).await;
    scenario(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_on_postgres() {
    let server = Server::start(AOI, true).await;
    scenario(&server).await;
    server.stop().await;
}

#[test]
fn serve_refuses_a_public_address_with_default_secrets() {
    refuses_public_address(AOI);
}
