//! The tenant's model registry (adapters: register, promote, roll back) and inference policy
//! (read by the tenant, set by a platform admin). Handlers extract, authorize, call the
//! `aoi_platform::models` function, map; the routes are entries of [`super::api::ROUTES`].

use aoi_control::Permission as P;
use aoi_platform::Platform;
use aoi_platform::models::{self, InferencePolicy, NewAdapter, Promotion};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::HttpResult;
use super::extract::{ApiJson, ApiPath, Auth};

/// `GET /api/v1/models/adapters`: every version of every adapter of the caller's tenant.
pub async fn list_adapters(State(p): State<Platform>, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadModels).await?;
    Ok(Json(models::list_adapters(&p, &proof).await?).into_response())
}

/// `POST /api/v1/models/adapters`: registers the next version of a name as a candidate.
pub async fn register_adapter(
    State(p): State<Platform>,
    auth: Auth,
    ApiJson(input): ApiJson<NewAdapter>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageModels).await?;
    let view = models::register_adapter(&p, &proof, input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `GET /api/v1/models/adapters/{name}`: every version of one name.
pub async fn get_adapter(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadModels).await?;
    Ok(Json(models::get_adapter(&p, &proof, &name).await?).into_response())
}

/// `POST /api/v1/models/adapters/{name}/versions/{version}/promote`.
pub async fn promote_adapter(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath((name, version)): ApiPath<(String, u32)>,
    ApiJson(promotion): ApiJson<Promotion>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageModels).await?;
    let view = models::promote_adapter(&p, &proof, &name, version, promotion).await?;
    Ok(Json(view).into_response())
}

/// `POST /api/v1/models/adapters/{name}/rollback`.
pub async fn rollback_adapter(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageModels).await?;
    Ok(Json(models::rollback_adapter(&p, &proof, &name).await?).into_response())
}

/// `GET /api/v1/inference/policy`: the caller's tenant's effective policy.
pub async fn get_policy(State(p): State<Platform>, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadModels).await?;
    Ok(Json(models::tenant_inference_policy(&p, &proof).await?).into_response())
}

/// `PUT /api/v1/tenants/{slug}/inference-policy` (platform admin).
pub async fn set_policy(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
    ApiJson(policy): ApiJson<InferencePolicy>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageTenants).await?;
    Ok(Json(models::set_inference_policy(&p, &proof, &slug, policy).await?).into_response())
}
