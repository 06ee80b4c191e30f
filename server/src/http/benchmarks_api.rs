//! Benchmark runs: record an `aoi bench` report, list the tenant's runs, read one with its
//! scores. Handlers extract, authorize, call `aoi_platform::benchmarks`, map; the routes are
//! entries of [`super::api::ROUTES`].

use aoi_control::Permission as P;
use aoi_platform::Platform;
use aoi_platform::benchmarks::{self, RecordBenchmark};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::error::HttpResult;

/// The largest report `POST /api/v1/benchmarks` takes: reports with `--trajectories` hold every
/// session, so this route has its own limit above `server.body_limit_bytes`.
pub const REPORT_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
use super::extract::{ApiJson, ApiPath, Auth};

/// `POST /api/v1/benchmarks`: `{name?, report}`; 201 with the run and its scores.
pub async fn record(
    State(p): State<Platform>,
    auth: Auth,
    ApiJson(input): ApiJson<RecordBenchmark>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageModels).await?;
    let run = benchmarks::record(&p, &proof, input).await?;
    Ok((StatusCode::CREATED, Json(run)).into_response())
}

/// `GET /api/v1/benchmarks`: the tenant's runs, newest first, without reports.
pub async fn list(State(p): State<Platform>, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadBenchmarks).await?;
    Ok(Json(benchmarks::list(&p, &proof).await?).into_response())
}

/// `GET /api/v1/benchmarks/{id}`: one run with its report and scores.
pub async fn get(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadBenchmarks).await?;
    Ok(Json(benchmarks::get(&p, &proof, id).await?).into_response())
}
