//! The REST transport: axum routes under /api/v1 over the platform's service functions, plus
//! /healthz, /readyz, /metrics and /api/openapi.json. Handlers extract, authorize, call, map.

pub mod api;
pub mod datasets_api;
pub mod error;
pub mod external_api;
pub mod extract;
pub mod inference_metrics;
pub mod metrics;
pub mod models_api;
pub mod openai;
pub mod openapi;
pub mod plugins_api;
pub mod sessions;
pub mod signals_api;
pub mod benchmarks_api;

use aoi_platform::Platform;
use axum::Router;
use axum::extract::DefaultBodyLimit;

/// The whole HTTP application: the REST routes, the gRPC services (crate::grpc, same
/// listener, HTTP/2), the body limit (`server.body_limit_bytes`) and the
/// request metrics.
pub fn router(platform: Platform) -> Router {
    let limit = usize::try_from(platform.config.server.body_limit_bytes).unwrap_or(usize::MAX);
    api::routes(platform.clone())
        .merge(sessions::routes(platform.clone()))
        .merge(crate::grpc::router(platform))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(metrics::track))
}
