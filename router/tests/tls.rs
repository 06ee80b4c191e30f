//! `https://` backends: the pool's client speaks TLS (rustls), so it opens a TLS handshake
//! instead of refusing the scheme.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_router::{BackendSpec, Pool, PoolOptions, Trust};
use std::time::Duration;
use tokio::io::AsyncReadExt;

fn spec(url: String) -> BackendSpec {
    BackendSpec {
        name: "tls".into(),
        url,
        models: vec![],
        weight: 1,
        max_in_flight: 4,
        trust: Trust::Local,
        api_key: None,
        load_adapters: false,
    }
}

fn options() -> PoolOptions {
    PoolOptions {
        health_interval: Duration::from_secs(3600),
        health_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_secs(2),
        attempt_timeout: Duration::from_millis(500),
        max_retries: 0,
        ..PoolOptions::default()
    }
}

#[tokio::test]
async fn an_https_backend_gets_a_tls_client_hello() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut first = [0u8; 3];
                if socket.read_exact(&mut first).await.is_ok() {
                    let _ = tx.send(first);
                }
                // Hold the connection without answering; the probe times out.
                tokio::time::sleep(Duration::from_secs(2)).await;
            });
        }
    });
    let pool = Pool::new(
        "gpu",
        vec![spec(format!("https://127.0.0.1:{port}"))],
        options(),
    )
    .await
    .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    // A TLS record of type handshake (22), version 3.x: a ClientHello, not plain HTTP.
    assert_eq!(first[0], 0x16, "{first:?}");
    assert_eq!(first[1], 0x03, "{first:?}");
    assert!(!pool.stats()[0].healthy);
    server.abort();
}

#[tokio::test]
async fn https_to_a_closed_port_is_a_connect_error_not_an_unsupported_scheme() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // The workspace's reqwest features, as the pool's client gets them.
    let err = reqwest::Client::new()
        .get(format!("https://127.0.0.1:{port}/health"))
        .send()
        .await
        .unwrap_err();
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        chain.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    assert!(err.is_connect(), "{chain}");
    assert!(!chain.contains("scheme"), "{chain}");
}
