//! Incidents: the live list, one incident with its sessions' timelines and pending approvals,
//! and the actions taken from there (start a session, approve or deny a write, give a
//! verdict).

use aoi_control::{ApiError, Permission};
use aoi_platform::{approvals, environments, incidents, sessions, signals};
use aoi_store::{ApprovalStatus, IncidentState};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::{Console, Part, SignedIn, back_to, form_action, live_page};
use crate::pages;
use crate::pages::incidents::{Filters, IncidentView, ListView};

pub(super) fn routes() -> axum::Router<Console> {
    axum::Router::new()
        .route("/console/incidents", get(list))
        .route("/console/incidents/{id}", get(show))
        .route("/console/incidents/{id}/sessions", post(start_session))
        .route("/console/approvals/{id}/{decision}", post(decide))
        .route("/console/sessions/{id}/verdict", post(verdict))
}

async fn list(
    State(console): State<Console>,
    who: SignedIn,
    Query(filters): Query<Filters>,
    Query(part): Query<Part>,
) -> Response {
    let loaded = load_list(&console, &who, &filters).await;
    live_page(
        &console,
        &who,
        &part,
        loaded,
        "/console/incidents",
        pages::incidents::list_body,
        pages::incidents::list_page,
    )
    .await
}

async fn load_list(
    console: &Console,
    who: &SignedIn,
    filters: &Filters,
) -> Result<ListView, ApiError> {
    let proof = who.authorize(console, Permission::ReadIncidents).await?;
    let since = filters.since_time(Utc::now());
    let state = filters.state_filter()?;
    let query = |state: Option<IncidentState>| incidents::IncidentQuery {
        state,
        severity: filters.severity.clone().filter(|s| !s.is_empty()),
        service: filters.service.clone().filter(|s| !s.is_empty()),
        since,
        limit: Some(1000),
    };
    // Counts by state over the other filters; the list with the state filter too.
    let all = incidents::list(&console.platform, &proof, query(None)).await?;
    let shown = all
        .iter()
        .filter(|i| state.is_none_or(|s| i.state == s))
        .cloned()
        .collect();
    Ok(ListView {
        filters: filters.clone(),
        counts: pages::incidents::count_states(&all),
        incidents: shown,
    })
}

async fn show(
    State(console): State<Console>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(part): Query<Part>,
) -> Response {
    let loaded = match Uuid::parse_str(&id) {
        Ok(id) => load_incident(&console, &who, id).await,
        Err(_) => Err(ApiError::invalid_input(
            "incident id",
            format!("{id} is not a UUID"),
        )),
    };
    live_page(
        &console,
        &who,
        &part,
        loaded,
        "/console/incidents",
        pages::incidents::incident_body,
        pages::incidents::incident_page,
    )
    .await
}

async fn load_incident(
    console: &Console,
    who: &SignedIn,
    id: Uuid,
) -> Result<IncidentView, ApiError> {
    let platform = &console.platform;
    let read = who.authorize(console, Permission::ReadIncidents).await?;
    let detail = incidents::get(platform, &read, id).await?;
    let read_sessions = who.authorize(console, Permission::ReadSessions).await?;
    let mut listed = sessions::list_sessions(
        platform,
        &read_sessions,
        sessions::SessionQuery {
            status: None,
            incident_id: Some(id),
        },
    )
    .await?;
    listed.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    let mut with_steps = Vec::with_capacity(listed.len());
    let mut verdicts = std::collections::HashMap::new();
    for s in listed {
        if s.status.is_final()
            && let Some(v) = signals::session_verdict(platform, &read_sessions, s.id).await?
        {
            verdicts.insert(s.id, v);
        }
        with_steps.push(sessions::get_session(platform, &read_sessions, s.id).await?);
    }
    let pending = match who.authorize(console, Permission::ReadApprovals).await {
        Ok(proof) => approvals::list_approvals(
            platform,
            &proof,
            approvals::ApprovalQuery {
                status: Some(ApprovalStatus::Pending),
            },
        )
        .await?
        .into_iter()
        .filter(|a| {
            a.session_id
                .is_some_and(|s| with_steps.iter().any(|w| w.session.id == s))
        })
        .collect(),
        Err(_) => Vec::new(),
    };
    let can_start = who.may(console, Permission::StartSession).await;
    let environments = if can_start {
        match who.authorize(console, Permission::ReadEnvironments).await {
            Ok(proof) => environments::list(platform, &proof).await?,
            Err(_) => Vec::new(),
        }
    } else {
        Vec::new()
    };
    Ok(IncidentView {
        detail,
        sessions: with_steps,
        verdicts,
        pending,
        environments,
        can_decide: who.may(console, Permission::DecideApproval).await,
        can_start,
        can_judge: who.may(console, Permission::WriteIncidents).await,
    })
}

#[derive(Debug, Deserialize)]
struct StartForm {
    environment_id: String,
}

async fn start_session(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<StartForm>,
) -> Response {
    let back = format!("/console/incidents/{id}");
    form_action(&console, &headers, &back, async {
        let environment_id = Uuid::parse_str(form.environment_id.trim()).map_err(|_| {
            ApiError::invalid_input("environment", "choose one of the tenant's environments")
        })?;
        let proof = who.authorize(&console, Permission::StartSession).await?;
        sessions::start_session(
            &console.platform,
            &proof,
            id,
            sessions::StartSession { environment_id },
        )
        .await
    })
    .await
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    #[serde(default)]
    reason: String,
    back: Option<String>,
}

async fn decide(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path((id, decision)): Path<(Uuid, String)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let back = back_to(form.back.as_deref(), "/console/incidents");
    let approve = match decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
    };
    form_action(&console, &headers, &back, async {
        let proof = who.authorize(&console, Permission::DecideApproval).await?;
        approvals::decide_approval(
            &console.platform,
            &proof,
            id,
            approve,
            approvals::Decision {
                reason: form.reason,
            },
        )
        .await
    })
    .await
}

#[derive(Debug, Deserialize)]
struct VerdictForm {
    /// `right` or `wrong`.
    verdict: String,
    #[serde(default)]
    category: String,
    back: Option<String>,
}

async fn verdict(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<VerdictForm>,
) -> Response {
    let back = back_to(form.back.as_deref(), "/console/incidents");
    form_action(&console, &headers, &back, async {
        let correct = match form.verdict.as_str() {
            "right" => true,
            "wrong" => false,
            other => {
                return Err(ApiError::invalid_input(
                    "verdict",
                    format!("{other:?} is not a verdict: choose right or wrong"),
                ));
            }
        };
        let category = Some(form.category.trim().to_owned()).filter(|c| !c.is_empty() && !correct);
        let proof = who.authorize(&console, Permission::WriteIncidents).await?;
        signals::mark_session_verdict(
            &console.platform,
            &proof,
            id,
            signals::Verdict { correct, category },
        )
        .await
    })
    .await
}
