//! Compiles the gRPC API (proto/aoi/v1/*.proto) with the pure-Rust `protox` parser, so no
//! `protoc` is needed; tonic-prost-build generates the messages, servers and clients.

use std::path::PathBuf;

const FILES: &[&str] = &[
    "aoi/v1/common.proto",
    "aoi/v1/auth.proto",
    "aoi/v1/incidents.proto",
    "aoi/v1/sessions.proto",
    "aoi/v1/approvals.proto",
    "aoi/v1/plugins.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../proto");
    for file in FILES {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let fds = protox::compile(FILES, [&root])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
