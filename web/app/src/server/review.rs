//! The review queue of corrective signals (admins: `review_signals`): the list by status, one
//! signal beside its failed trajectory, and the decisions (approve, edit then approve, reject
//! with a reason).

use aoi_control::{ApiError, Permission};
use aoi_platform::signals;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::{Console, Part, SignedIn, cross_site, done, failed, html, live_page};
use crate::pages;

pub(super) fn routes() -> axum::Router<Console> {
    axum::Router::new()
        .route("/console/review", get(queue))
        .route("/console/review/{id}", get(signal))
        .route("/console/review/{id}/{decision}", post(decide))
}

const BACK: &str = "/console/review";

#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    status: Option<String>,
}

async fn queue(
    State(console): State<Console>,
    who: SignedIn,
    Query(query): Query<QueueQuery>,
    Query(part): Query<Part>,
) -> Response {
    let status = query
        .status
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "pending".to_owned());
    let listed = async {
        let proof = who.authorize(&console, Permission::ReviewSignals).await?;
        signals::list_signals(
            &console.platform,
            &proof,
            signals::SignalQuery {
                status: Some(status.clone()).filter(|s| s != "all"),
            },
        )
        .await
    }
    .await;
    let loaded = listed.map(|signals| pages::review::QueueView { status, signals });
    live_page(
        &console,
        &who,
        &part,
        loaded,
        "/console/incidents",
        pages::review::queue_body,
        pages::review::queue_page,
    )
    .await
}

async fn signal(State(console): State<Console>, who: SignedIn, Path(id): Path<Uuid>) -> Response {
    let detail = async {
        let proof = who.authorize(&console, Permission::ReviewSignals).await?;
        signals::get_signal(&console.platform, &proof, id).await
    }
    .await;
    match detail {
        Ok(detail) => {
            let viewer = who.viewer(&console).await;
            html(pages::review::signal_page(&viewer, &detail))
        }
        Err(e) => failed(&HeaderMap::new(), &e, BACK),
    }
}

#[derive(Debug, Default, Deserialize)]
struct DecisionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    lesson: String,
    #[serde(default)]
    rationale: String,
}

async fn decide(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path((id, decision)): Path<(Uuid, String)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    if let Some(refused) = cross_site(&console, &headers) {
        return refused;
    }
    let back = format!("/console/review/{id}");
    let outcome = async {
        let proof = who.authorize(&console, Permission::ReviewSignals).await?;
        let platform = &console.platform;
        match decision.as_str() {
            "approve" => signals::approve_signal(platform, &proof, id).await,
            "reject" => {
                signals::reject_signal(
                    platform,
                    &proof,
                    id,
                    signals::SignalRejection {
                        reason: form.reason,
                    },
                )
                .await
            }
            "edit" => {
                let plan = serde_json::from_str(&form.plan).map_err(|e| {
                    ApiError::invalid_input("plan", format!("is not valid JSON ({e})"))
                })?;
                let text = |t: String| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
                signals::edit_signal(
                    platform,
                    &proof,
                    id,
                    signals::SignalEdit {
                        plan,
                        lesson: text(form.lesson),
                        rationale: text(form.rationale),
                    },
                )
                .await
            }
            other => Err(ApiError::NotFound {
                what: format!("decision {other}"),
            }),
        }
    }
    .await;
    match outcome {
        Ok(_) => done(&headers, &format!("{BACK}?status=all")),
        Err(ApiError::NotFound { what }) if what.starts_with("decision ") => {
            axum::http::StatusCode::NOT_FOUND.into_response()
        }
        Err(e) => failed(&headers, &e, &back),
    }
}
