//! Training dataset exports: `POST /api/v1/datasets/export` (admins). The handler extracts,
//! authorizes, calls `aoi_platform::datasets::export_datasets`, maps; the route is an entry of
//! [`super::api::ROUTES`].

use aoi_control::Permission as P;
use aoi_platform::Platform;
use aoi_platform::datasets::{self, ExportRequest};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::error::HttpResult;
use super::extract::{ApiJson, Auth};

/// The permission an export needs: admins only, like reviewing the signals it is built from.
pub const EXPORT_PERMISSION: P = P::ReviewSignals;

/// `POST /api/v1/datasets/export`: `{kind, since?, until?, group_size?}` -> `{manifest, files,
/// skipped}`; the files written into an empty folder are an export `read_dataset` accepts.
pub async fn export(
    State(p): State<Platform>,
    auth: Auth,
    ApiJson(request): ApiJson<ExportRequest>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, EXPORT_PERMISSION).await?;
    Ok(Json(datasets::export_datasets(&p, &proof, request).await?).into_response())
}
