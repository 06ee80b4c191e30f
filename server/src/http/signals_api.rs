//! Corrective signals (review by admins: list, show beside the failed trajectory, approve,
//! edit then approve, reject with a reason) and operators' verdicts on sessions. Handlers
//! extract, authorize, call the `aoi_platform::signals` function, map; the routes are entries
//! of [`super::api::ROUTES`].

use aoi_control::Permission as P;
use aoi_platform::Platform;
use aoi_platform::signals::{self, SignalEdit, SignalQuery, SignalRejection, Verdict};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::error::HttpResult;
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};

/// `GET /api/v1/signals?status=`: the tenant's signals, newest first.
pub async fn list_signals(
    State(p): State<Platform>,
    auth: Auth,
    ApiQuery(query): ApiQuery<SignalQuery>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReviewSignals).await?;
    Ok(Json(signals::list_signals(&p, &proof, query).await?).into_response())
}

/// `GET /api/v1/signals/{id}`: one signal beside its source session's trajectory.
pub async fn get_signal(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReviewSignals).await?;
    Ok(Json(signals::get_signal(&p, &proof, id).await?).into_response())
}

/// `POST /api/v1/signals/{id}/approve`.
pub async fn approve_signal(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReviewSignals).await?;
    Ok(Json(signals::approve_signal(&p, &proof, id).await?).into_response())
}

/// `POST /api/v1/signals/{id}/edit`: `{plan, lesson?, rationale?}`, then approved (`edited`).
pub async fn edit_signal(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(edit): ApiJson<SignalEdit>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReviewSignals).await?;
    Ok(Json(signals::edit_signal(&p, &proof, id, edit).await?).into_response())
}

/// `POST /api/v1/signals/{id}/reject`: `{reason}` (required).
pub async fn reject_signal(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(rejection): ApiJson<SignalRejection>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReviewSignals).await?;
    Ok(Json(signals::reject_signal(&p, &proof, id, rejection).await?).into_response())
}

/// `POST /api/v1/sessions/{id}/verdict`: `{"correct": bool, "category"?}`.
pub async fn session_verdict(
    State(p): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(verdict): ApiJson<Verdict>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::WriteIncidents).await?;
    Ok(Json(signals::mark_session_verdict(&p, &proof, id, verdict).await?).into_response())
}
