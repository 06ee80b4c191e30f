//! Plugins: the catalog, uploads of signed packages (platform admins), and a tenant's
//! installations (install, configure, enable, disable, upgrade, rollback, uninstall, try a
//! read tool). Handlers extract, authorize, call `aoi_platform::plugins`, map; the routes are
//! entries of [`super::api::ROUTES`].

use aoi_control::{ApiError, Permission as P};
use aoi_core::ToolCall;
use aoi_platform::Platform;
use aoi_platform::plugins::{self, ConfigureRequest, InstallRequest, UpgradeRequest};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{HttpError, HttpResult};
use super::extract::{ApiJson, ApiPath, Auth};

/// The largest package an upload accepts (a WASM module travels base64 inside the JSON).
pub const UPLOAD_LIMIT_BYTES: usize = 32 << 20;

/// `GET /api/v1/plugins`: built-in and uploaded plugins, each with its tools (read or write)
/// and the caller's tenant's installation.
pub async fn list(State(p): State<Platform>, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadPlugins).await?;
    Ok(Json(plugins::catalog(&p, &proof).await?).into_response())
}

/// A package document (`application/json`), up to [`UPLOAD_LIMIT_BYTES`].
pub struct PackageBody(Bytes);

impl FromRequest<Platform> for PackageBody {
    type Rejection = HttpError;

    async fn from_request(req: Request, platform: &Platform) -> Result<Self, HttpError> {
        Bytes::from_request(req, platform)
            .await
            .map(PackageBody)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    HttpError::from(ApiError::PayloadTooLarge {
                        limit_bytes: UPLOAD_LIMIT_BYTES as u64,
                    })
                } else {
                    HttpError::bad_request("body", rejection.body_text())
                }
            })
    }
}

/// `POST /api/v1/plugins`: uploads a signed package (platform admins). An unsigned, tampered
/// or untrusted package answers 400 saying which.
pub async fn upload(
    State(p): State<Platform>,
    auth: Auth,
    PackageBody(body): PackageBody,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::PublishPlugins).await?;
    let uploaded = plugins::upload(&p, &proof, &body).await?;
    Ok((StatusCode::CREATED, Json(uploaded)).into_response())
}

/// `POST /api/v1/plugins/{name}/install`.
pub async fn install(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<InstallRequest>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePlugins).await?;
    let view = plugins::install(&p, &proof, &name, request).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `POST /api/v1/plugins/{name}/enable`.
pub async fn enable(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePlugins).await?;
    Ok(Json(plugins::set_enabled(&p, &proof, &name, true).await?).into_response())
}

/// `POST /api/v1/plugins/{name}/disable`.
pub async fn disable(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePlugins).await?;
    Ok(Json(plugins::set_enabled(&p, &proof, &name, false).await?).into_response())
}

/// `POST /api/v1/plugins/{name}/configure`.
pub async fn configure(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<ConfigureRequest>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePlugins).await?;
    Ok(Json(plugins::configure(&p, &proof, &name, request).await?).into_response())
}

/// `POST /api/v1/plugins/{name}/upgrade`.
pub async fn upgrade(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<UpgradeRequest>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePlugins).await?;
    Ok(Json(plugins::upgrade(&p, &proof, &name, request).await?).into_response())
}

/// `POST /api/v1/plugins/{name}/rollback`.
pub async fn rollback(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePlugins).await?;
    Ok(Json(plugins::rollback(&p, &proof, &name).await?).into_response())
}

/// `DELETE /api/v1/plugins/{name}/installation`.
pub async fn uninstall(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePlugins).await?;
    plugins::uninstall(&p, &proof, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of a tool call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    #[serde(default)]
    pub args: Map<String, Value>,
}

/// `POST /api/v1/plugins/{name}/tools/{tool}/call`: runs one read tool of an installed plugin.
pub async fn call_tool(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath((name, tool)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<CallBody>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::StartSession).await?;
    let call = ToolCall {
        tool,
        args: body.args,
    };
    Ok(Json(plugins::call_tool(&p, &proof, &name, call).await?).into_response())
}
