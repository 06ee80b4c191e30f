//! The external-environment API: the client of a session on an external environment (the
//! AIOpsLab bridge) long-polls the session's next tool call, executes it on its cluster and
//! posts the output. Handlers extract, authorize, call `aoi_platform::external`, map; the
//! routes are entries of [`super::api::ROUTES`]. Both need `start_session`: the client runs
//! the session it started (a viewer may watch its steps, not feed them); a write only ever
//! reaches the client after the gate allowed it or a person approved it.

use std::time::Duration;

use aoi_control::Permission;
use aoi_platform::Platform;
use aoi_platform::external::{self, PostResult};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::error::HttpResult;
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};

/// What both routes require.
pub const EXTERNAL_PERMISSION: Permission = Permission::StartSession;

/// How long `next` waits when the query names no `wait_ms`.
const DEFAULT_WAIT_MS: u64 = 10_000;

/// Query of `GET /api/v1/sessions/{id}/external/next`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextQuery {
    /// How long to wait for a call or the end, in milliseconds (at most 30,000).
    pub wait_ms: Option<u64>,
}

/// `GET /api/v1/sessions/{id}/external/next?wait_ms=`: `{"state": "call", call_id, tool,
/// args, action, access}`, `{"state": "done", status, submission, action}` or
/// `{"state": "waiting", status}`.
pub async fn next(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<NextQuery>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, EXTERNAL_PERMISSION).await?;
    let wait = Duration::from_millis(query.wait_ms.unwrap_or(DEFAULT_WAIT_MS));
    Ok(Json(external::next(&p, &proof, id, wait).await?).into_response())
}

/// `POST /api/v1/sessions/{id}/external/result`: `{call_id, output, is_error}`.
pub async fn result(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<PostResult>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, EXTERNAL_PERMISSION).await?;
    Ok(Json(external::post_result(&p, &proof, id, input).await?).into_response())
}
