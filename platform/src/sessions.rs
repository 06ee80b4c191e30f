//! Diagnosis sessions: start one for an incident on an environment, read one with its
//! trajectory, list them.
//!
//! Starting a session writes the queued row (the store is the source of truth), moves the
//! incident to `diagnosing`, audits, and publishes a `session_state` event with status
//! `queued`. The dispatcher that [`crate::worker::spawn_in_process`] / `aoi worker agent` run
//! turns that event into a queue entry; the reconciler re-queues from the store whatever an
//! event or a queue lost, so nothing depends on the event arriving.

use aoi_control::{ApiError, Authorized, Permission};
use aoi_store::{
    IncidentState, NewAuditEvent, NewSession, Session, SessionFilter, SessionStatus, Step,
    StoreError, TenantId,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Platform;
use crate::events::LiveEvent;

/// Body of POST /api/v1/incidents/{id}/sessions.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    pub environment_id: Uuid,
}

/// A session with its recorded steps.
#[derive(Debug, Clone, Serialize)]
pub struct SessionWithSteps {
    #[serde(flatten)]
    pub session: Session,
    pub steps: Vec<StepView>,
}

/// One recorded step as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub index: i32,
    pub role: String,
    pub payload: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Step> for StepView {
    fn from(s: Step) -> Self {
        StepView {
            index: s.step_index,
            role: s.role,
            payload: s.payload,
            created_at: s.created_at,
        }
    }
}

/// Query of GET /api/v1/sessions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    pub status: Option<SessionStatus>,
    pub incident_id: Option<Uuid>,
}

/// Queues a diagnosis session of incident `incident_id` (needs [`Permission::StartSession`]).
pub async fn start_session(
    platform: &Platform,
    auth: &Authorized,
    incident_id: Uuid,
    input: StartSession,
) -> Result<Session, ApiError> {
    auth.require(Permission::StartSession)?;
    let tenant = tenant_id(platform, auth).await?;
    let store = &platform.store;
    let incident = store
        .incident(tenant, incident_id)
        .await
        .map_err(|e| store_error(e, "incident"))?
        .ok_or_else(|| not_found(format!("incident {incident_id}")))?;
    store
        .environment(tenant, input.environment_id)
        .await
        .map_err(|e| store_error(e, "environment"))?
        .ok_or_else(|| not_found(format!("environment {}", input.environment_id)))?;
    if !matches!(
        incident.state,
        IncidentState::Open | IncidentState::Diagnosing | IncidentState::Mitigated
    ) {
        return Err(ApiError::Conflict {
            what: format!(
                "incident {incident_id} is {}; a session can start on an open, diagnosing or mitigated incident",
                incident.state.as_str()
            ),
        });
    }
    let session = store
        .create_session(
            tenant,
            NewSession {
                incident_id,
                environment_id: input.environment_id,
            },
        )
        .await
        .map_err(|e| store_error(e, "session"))?;
    if incident.state != IncidentState::Diagnosing {
        // Another writer moving the incident meanwhile is not a reason to drop the session.
        if let Err(e) = store
            .update_incident_state(tenant, incident_id, IncidentState::Diagnosing)
            .await
        {
            tracing::warn!(%incident_id, error = %e, "incident not moved to diagnosing");
        } else {
            publish_incident_state(platform, tenant, incident_id, IncidentState::Diagnosing);
        }
    }
    audit(
        platform,
        tenant,
        &auth.principal().subject(),
        "session.start",
        &format!("session:{}", session.id),
        Some("allowed"),
        serde_json::json!({
            "incident_id": incident_id,
            "environment_id": input.environment_id,
        }),
    )
    .await;
    publish_session_state(platform, &session);
    Ok(session)
}

/// One session with its trajectory (needs [`Permission::ReadSessions`]).
pub async fn get_session(
    platform: &Platform,
    auth: &Authorized,
    id: Uuid,
) -> Result<SessionWithSteps, ApiError> {
    auth.require(Permission::ReadSessions)?;
    let tenant = tenant_id(platform, auth).await?;
    let session = platform
        .store
        .session(tenant, id)
        .await
        .map_err(|e| store_error(e, "session"))?
        .ok_or_else(|| not_found(format!("session {id}")))?;
    let steps = session_steps(platform, tenant, id).await?;
    Ok(SessionWithSteps { session, steps })
}

/// The tenant's sessions, newest first (needs [`Permission::ReadSessions`]).
pub async fn list_sessions(
    platform: &Platform,
    auth: &Authorized,
    query: SessionQuery,
) -> Result<Vec<Session>, ApiError> {
    auth.require(Permission::ReadSessions)?;
    let tenant = tenant_id(platform, auth).await?;
    platform
        .store
        .sessions(
            tenant,
            SessionFilter {
                status: query.status,
                incident_id: query.incident_id,
            },
        )
        .await
        .map_err(|e| store_error(e, "session"))
}

/// The steps of a session the caller may read (for the live event stream's replay).
pub async fn session_steps(
    platform: &Platform,
    tenant: TenantId,
    id: Uuid,
) -> Result<Vec<StepView>, ApiError> {
    Ok(platform
        .store
        .steps(tenant, id)
        .await
        .map_err(|e| store_error(e, "session steps"))?
        .into_iter()
        .map(StepView::from)
        .collect())
}

/// The store id of the proof's tenant. A platform-scoped proof has no tenant: 404, like a
/// tenant that does not exist.
pub async fn tenant_id(platform: &Platform, auth: &Authorized) -> Result<TenantId, ApiError> {
    let slug = auth.tenant().ok_or_else(|| ApiError::invalid_input(
        "tenant",
        "this route works inside a tenant: use a tenant user's token or API key",
    ))?;
    let tenant = platform
        .store
        .tenant_by_slug(slug.as_str())
        .await
        .map_err(|e| store_error(e, "tenant"))?
        .ok_or_else(|| not_found(format!("tenant {slug}")))?;
    Ok(TenantId::from_uuid(tenant.id))
}

pub(crate) fn not_found(what: String) -> ApiError {
    ApiError::NotFound { what }
}

/// Maps a store error onto what a client sees; database causes stay in the log.
pub(crate) fn store_error(e: StoreError, what: &str) -> ApiError {
    match e {
        StoreError::NotFound => not_found(what.to_owned()),
        StoreError::Conflict { what: w } => ApiError::Conflict { what: w },
        StoreError::InvalidTransition { from, to } => ApiError::Conflict {
            what: format!("{what} cannot move from {from} to {to}"),
        },
        StoreError::Database(cause) => {
            let reference = Uuid::new_v4().to_string();
            tracing::error!(%reference, %cause, "database error on {what}");
            ApiError::Internal { reference }
        }
    }
}

/// Appends an audit record; a failure is logged (the action itself already happened).
pub(crate) async fn audit(
    platform: &Platform,
    tenant: TenantId,
    actor: &str,
    action: &str,
    target: &str,
    decision: Option<&str>,
    details: serde_json::Value,
) {
    let event = NewAuditEvent {
        tenant: Some(tenant),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        decision: decision.map(str::to_owned),
        details,
    };
    if let Err(e) = platform.store.append_audit(event).await {
        tracing::error!(error = %e, action, target, "audit record not written");
    }
}

pub(crate) fn publish_session_state(platform: &Platform, session: &Session) {
    platform.events.publish(LiveEvent {
        tenant_id: session.tenant_id,
        session_id: Some(session.id),
        incident_id: Some(session.incident_id),
        kind: "session_state".to_owned(),
        payload: serde_json::json!({
            "status": session.status,
            "attempts": session.attempts,
            "result": session.result,
        }),
    });
}

pub(crate) fn publish_incident_state(
    platform: &Platform,
    tenant: TenantId,
    incident_id: Uuid,
    state: IncidentState,
) {
    platform.events.publish(LiveEvent {
        tenant_id: tenant.as_uuid(),
        session_id: None,
        incident_id: Some(incident_id),
        kind: "incident_state".to_owned(),
        payload: serde_json::json!({ "state": state }),
    });
}
