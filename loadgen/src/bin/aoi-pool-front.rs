//! `aoi-pool-front`: the router pool alone behind `POST /v1/chat/completions`, with no auth,
//! quotas, redaction or audit, to measure what the pool itself adds. JSON replies are the
//! upstream body; `"stream": true` passes the SSE chunks through as they come.

use aoi_router::{BackendSpec, ChatRequest, Pool, PoolOptions, RouterError};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "aoi-pool-front",
    about = "The aoi-router pool alone behind POST /v1/chat/completions (no auth, no quotas)"
)]
struct Args {
    /// host:port to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// A backend base URL without `/v1` (repeat for several).
    #[arg(long = "backend", required = true)]
    backends: Vec<String>,
    /// Requests each backend takes at once.
    #[arg(long, default_value_t = 100_000)]
    max_in_flight: usize,
}

fn error(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = json!({"error": {"message": message, "type": "pool_error"}});
    (status, axum::Json(body)).into_response()
}

fn router_error(e: &RouterError) -> Response {
    error(e.http_status(), &e.to_string())
}

async fn chat(State(pool): State<Arc<Pool>>, body: Bytes) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return error(400, &format!("body is not JSON: {e}")),
    };
    let Some(model) = body
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return error(400, "`model` is required");
    };
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    let request = ChatRequest {
        body,
        model,
        adapter: None,
        affinity: None,
        allow_external: true,
    };
    if !stream {
        return match pool.chat(request).await {
            Ok(reply) => axum::Json(reply.body).into_response(),
            Err(e) => router_error(&e),
        };
    }
    match pool.chat_stream(request).await {
        Ok(chunks) => Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from_stream(
                chunks.map(|c| c.map_err(axum::Error::new)),
            ))
            .unwrap_or_else(|e| error(500, &format!("cannot build the stream: {e}"))),
        Err(e) => router_error(&e),
    }
}

async fn run(args: Args) -> Result<(), String> {
    let mut specs = Vec::new();
    for (i, url) in args.backends.iter().enumerate() {
        let spec: BackendSpec = serde_json::from_value(json!({
            "name": format!("backend-{}", i + 1),
            "url": url,
            "max_in_flight": args.max_in_flight,
        }))
        .map_err(|e| format!("backend `{url}`: {e}"))?;
        specs.push(spec);
    }
    let pool = Pool::new("front", specs, PoolOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    if !pool.stats().iter().any(|b| b.healthy) {
        return Err(format!(
            "no backend answered its health check: {}",
            args.backends.join(", ")
        ));
    }
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/health", get(|| async { StatusCode::OK }))
        .with_state(Arc::new(pool));
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    println!("aoi-pool-front listening on http://{addr}");
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("server stopped: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("aoi-pool-front: {message}");
            ExitCode::FAILURE
        }
    }
}
