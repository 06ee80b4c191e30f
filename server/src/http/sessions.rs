//! Sessions, their steps and live events (SSE), approvals. Handlers extract, authorize, call
//! the platform's service function, map.

use std::convert::Infallible;
use std::time::Duration;

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission};
use aoi_platform::Platform;
use aoi_platform::approvals::{self, ApprovalQuery, Decision};
use aoi_platform::sessions::{self, SessionQuery, StartSession};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, extract::State, http::StatusCode};
use futures_util::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use super::error::HttpError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};

/// Declares the routes once: the router and the list the OpenAPI document is checked against
/// come from the same lines, so a route cannot be served undocumented.
macro_rules! session_routes {
    ($($method:ident $path:literal => $handler:ident),* $(,)?) => {
        /// Every (method, path) this module serves (checked against the OpenAPI document).
        #[cfg_attr(not(test), allow(dead_code))]
        pub const SERVED: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        pub fn routes(platform: Platform) -> Router {
            Router::new()$(.route($path, $method($handler)))*.with_state(platform)
        }
    };
}

session_routes! {
    post "/api/v1/incidents/{id}/sessions" => start_session,
    get "/api/v1/sessions" => list_sessions,
    get "/api/v1/sessions/{id}" => get_session,
    get "/api/v1/sessions/{id}/events" => session_events,
    get "/api/v1/approvals" => list_approvals,
    get "/api/v1/approvals/{id}" => get_approval,
    post "/api/v1/approvals/{id}/approve" => approve,
    post "/api/v1/approvals/{id}/deny" => deny,
}

async fn start_session(
    State(platform): State<Platform>,
    auth: Auth,
    ApiPath(incident): ApiPath<Uuid>,
    ApiJson(body): ApiJson<StartSession>,
) -> Result<Response, HttpError> {
    let proof = auth.authorize(&platform, Permission::StartSession).await?;
    let session = sessions::start_session(&platform, &proof, incident, body).await?;
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

async fn list_sessions(
    State(platform): State<Platform>,
    auth: Auth,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> Result<Response, HttpError> {
    let proof = auth.authorize(&platform, Permission::ReadSessions).await?;
    Ok(Json(sessions::list_sessions(&platform, &proof, query).await?).into_response())
}

async fn get_session(
    State(platform): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, HttpError> {
    let proof = auth.authorize(&platform, Permission::ReadSessions).await?;
    Ok(Json(sessions::get_session(&platform, &proof, id).await?).into_response())
}

/// Replays the persisted steps as `step` events, then streams the session's live events
/// (`step`, `session_state`, `approval`, `gate`, `incident_state`) of this tenant only.
async fn session_events(
    State(platform): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, HttpError> {
    let proof = auth.authorize(&platform, Permission::ReadSessions).await?;
    let events = event_stream(&platform, &proof, id)
        .await?
        .map(|(kind, data)| Ok(Event::default().event(kind).data(data)));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A session's events as (event name, JSON data) pairs, for both transports (this SSE route
/// and gRPC `SessionService.StreamEvents`): the persisted steps replayed as `step` events
/// (`{"index", "role", "step"}`), then the session's live events of this tenant only, without
/// steps already replayed. Another tenant's session is `NotFound`.
pub async fn event_stream(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
) -> Result<impl Stream<Item = (String, String)> + Send + use<>, ApiError> {
    // Subscribe before reading the replay so nothing falls between the two.
    let live = BroadcastStream::new(platform.events.subscribe());
    let current = sessions::get_session(platform, proof, id).await?;
    let tenant = current.session.tenant_id;
    let replayed = current.steps.len();
    let replay = stream::iter(current.steps.into_iter().map(|step| {
        let data =
            serde_json::json!({"index": step.index, "role": step.role, "step": step.payload});
        ("step".to_string(), data.to_string())
    }));
    let live = live.filter_map(move |event| async move {
        let event = event.ok()?;
        if event.tenant_id != tenant || event.session_id != Some(id) {
            return None;
        }
        // Steps already replayed are not sent twice.
        if event.kind == "step" {
            let index = event.payload.get("index").and_then(|i| i.as_u64())?;
            if usize::try_from(index).ok()? < replayed {
                return None;
            }
        }
        Some((event.kind.clone(), event.payload.to_string()))
    });
    Ok(replay.chain(live))
}

async fn list_approvals(
    State(platform): State<Platform>,
    auth: Auth,
    ApiQuery(query): ApiQuery<ApprovalQuery>,
) -> Result<Response, HttpError> {
    let proof = auth.authorize(&platform, Permission::ReadApprovals).await?;
    Ok(Json(approvals::list_approvals(&platform, &proof, query).await?).into_response())
}

async fn get_approval(
    State(platform): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, HttpError> {
    let proof = auth.authorize(&platform, Permission::ReadApprovals).await?;
    Ok(Json(approvals::get_approval(&platform, &proof, id).await?).into_response())
}

async fn approve(
    State(platform): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Decision>,
) -> Result<Response, HttpError> {
    decide(platform, auth, id, true, body).await
}

async fn deny(
    State(platform): State<Platform>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Decision>,
) -> Result<Response, HttpError> {
    decide(platform, auth, id, false, body).await
}

async fn decide(
    platform: Platform,
    auth: Auth,
    id: Uuid,
    approve: bool,
    body: Decision,
) -> Result<Response, HttpError> {
    let proof = auth.authorize(&platform, Permission::DecideApproval).await?;
    Ok(Json(approvals::decide_approval(&platform, &proof, id, approve, body).await?).into_response())
}
