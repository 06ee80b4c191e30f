//! `GET /console/live`: the signed-in person's tenant's live events as server-sent events,
//! for the islands. Each event says only what changed (kind, incident, session), never the
//! step or payload: the island fetches the page part again, through the same authorization
//! as any page.

use std::convert::Infallible;
use std::time::Duration;

use aoi_control::Permission;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt as _;
use tokio_stream::wrappers::BroadcastStream;

use super::{Console, SignedIn};

pub(super) fn routes() -> axum::Router<Console> {
    axum::Router::new().route("/console/live", get(live))
}

async fn live(State(console): State<Console>, who: SignedIn) -> Response {
    let proof = match who.authorize(&console, Permission::ReadIncidents).await {
        Ok(p) => p,
        Err(e) => return super::failed(&super::inline_headers(), &e, "/console/incidents"),
    };
    let tenant = match aoi_platform::tenants::scope_tenant(&console.platform, &proof).await {
        Ok(t) => t.as_uuid(),
        Err(e) => return super::failed(&super::inline_headers(), &e, "/console/incidents"),
    };
    let events = BroadcastStream::new(console.platform.events.subscribe()).filter_map(
        move |event| async move {
            let event = event.ok()?;
            if event.tenant_id != tenant {
                return None;
            }
            let data = serde_json::json!({
                "kind": event.kind,
                "incident_id": event.incident_id,
                "session_id": event.session_id,
            });
            Some(Ok::<_, Infallible>(Event::default().data(data.to_string())))
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
