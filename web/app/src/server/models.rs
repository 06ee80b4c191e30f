//! Models and inference: the pool's backends with health and load, the tenant's adapters by
//! name with their versions, promote (to canary or active) and roll back.

use aoi_control::{ApiError, Permission};
use aoi_platform::models;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Console, SignedIn, failed, form_action, html};
use crate::pages;

pub(super) fn routes() -> axum::Router<Console> {
    axum::Router::new()
        .route("/console/models", get(overview))
        .route("/console/models/{name}/versions/{version}/promote", post(promote))
        .route("/console/models/{name}/rollback", post(rollback))
}

const BACK: &str = "/console/models";

async fn overview(State(console): State<Console>, who: SignedIn) -> Response {
    let adapters = async {
        let proof = who.authorize(&console, Permission::ReadModels).await?;
        models::list_adapters(&console.platform, &proof).await
    }
    .await;
    match adapters {
        Ok(adapters) => {
            let view = pages::models::ModelsView {
                backends: console
                    .platform
                    .inference
                    .as_ref()
                    .map(|pool| pool.stats())
                    .unwrap_or_default(),
                pool: console.platform.inference.is_some(),
                adapters,
                results: console
                    .platform
                    .inference_metrics
                    .versions(who.principal.tenant.as_str()),
                can_manage: who.may(&console, Permission::ManageModels).await,
            };
            let viewer = who.viewer(&console).await;
            html(pages::models::page(&viewer, &view))
        }
        Err(e) => failed(&HeaderMap::new(), &e, "/console/incidents"),
    }
}

#[derive(Deserialize)]
struct PromoteForm {
    /// `canary` or `active`.
    #[serde(default)]
    to: String,
    #[serde(default)]
    canary_percent: String,
}

async fn promote(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path((name, version)): Path<(String, u32)>,
    Form(form): Form<PromoteForm>,
) -> Response {
    form_action(&console, &headers, BACK, async {
        let promotion = match form.to.as_str() {
            "active" => models::Promotion::Active,
            "canary" => {
                let canary_percent = form.canary_percent.trim().parse::<u32>().map_err(|_| {
                    ApiError::invalid_input("canary_percent", "give a whole percentage from 1 to 99")
                })?;
                models::Promotion::Canary { canary_percent }
            }
            other => {
                return Err(ApiError::invalid_input(
                    "to",
                    format!("{other:?} is not canary or active"),
                ));
            }
        };
        let proof = who.authorize(&console, Permission::ManageModels).await?;
        models::promote_adapter(&console.platform, &proof, &name, version, promotion).await
    })
    .await
}

async fn rollback(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path(name): Path<String>,
) -> Response {
    form_action(&console, &headers, BACK, async {
        let proof = who.authorize(&console, Permission::ManageModels).await?;
        models::rollback_adapter(&console.platform, &proof, &name).await
    })
    .await
}
