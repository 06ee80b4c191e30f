//! Administration: users, roles (the tenant's policy lines), API keys (a new key is shown once),
//! guardrails, and the audit log with search and JSON Lines export.

use aoi_control::{ApiError, Permission};
use aoi_platform::{audit, guardrails, keys, users};
use aoi_store::GuardrailDecision;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{Console, SignedIn, cross_site, failed, form_action, html};
use crate::pages;
use crate::pages::admin::{AdminView, AuditSearch};

pub(super) fn routes() -> axum::Router<Console> {
    axum::Router::new()
        .route("/console/admin", get(overview))
        .route("/console/admin/users", post(create_user))
        .route("/console/admin/api-keys", post(create_key))
        .route("/console/admin/api-keys/{id}/revoke", post(revoke_key))
        .route("/console/admin/guardrails", post(upsert_guardrail))
        .route("/console/admin/guardrails/{id}/delete", post(delete_guardrail))
        .route("/console/admin/audit", get(audit_page))
        .route("/console/admin/audit.jsonl", get(audit_export))
}

const BACK: &str = "/console/admin";

/// Each section the person may see: `None` when their role lacks its permission.
async fn load(console: &Console, who: &SignedIn) -> Result<AdminView, ApiError> {
    let platform = &console.platform;
    let users = match who.proof_if_held(console, Permission::ManageUsers).await {
        Some(proof) => Some(users::list(platform, &proof).await?),
        None => None,
    };
    let rules = match who.proof_if_held(console, Permission::ManagePolicies).await {
        Some(proof) => Some(users::list_policies(platform, &proof).await?),
        None => None,
    };
    let keys = match who.proof_if_held(console, Permission::ManageKeys).await {
        Some(proof) => Some(keys::list(platform, &proof).await?),
        None => None,
    };
    let guardrails = match who.proof_if_held(console, Permission::ManageGuardrails).await {
        Some(proof) => Some(guardrails::list(platform, &proof).await?),
        None => None,
    };
    let audit = who.may(console, Permission::ReadAudit).await;
    if users.is_none() && keys.is_none() && guardrails.is_none() && !audit {
        return Err(ApiError::Forbidden {
            permission: Permission::ManageUsers.name(),
            tenant: who.principal.tenant.as_str().to_owned(),
        });
    }
    Ok(AdminView {
        users,
        rules,
        keys,
        guardrails,
        audit,
        new_key: None,
    })
}

async fn overview(State(console): State<Console>, who: SignedIn) -> Response {
    match load(&console, &who).await {
        Ok(view) => {
            let viewer = who.viewer(&console).await;
            html(pages::admin::page(&viewer, &view))
        }
        Err(e) => failed(&HeaderMap::new(), &e, "/console/incidents"),
    }
}

#[derive(Deserialize)]
struct NewUser {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

async fn create_user(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<NewUser>,
) -> Response {
    form_action(&console, &headers, BACK, async {
        let proof = who.authorize(&console, Permission::ManageUsers).await?;
        let input = users::CreateUser {
            username: form.username.trim().to_owned(),
            password: form.password,
            role: form.role,
        };
        users::create(&console.platform, &proof, input).await
    })
    .await
}

#[derive(Deserialize)]
struct NewKey {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// Creates a key and answers the page with the key shown this once (never in a URL, never
/// stored in the page's history: `no-store`).
async fn create_key(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<NewKey>,
) -> Response {
    if let Some(refused) = cross_site(&console, &headers) {
        return refused;
    }
    let outcome = async {
        let proof = who.authorize(&console, Permission::ManageKeys).await?;
        let input = keys::CreateKey {
            name: form.name.trim().to_owned(),
            role: form.role,
        };
        let created = keys::create(&console.platform, &proof, input).await?;
        let mut view = load(&console, &who).await?;
        view.new_key = Some((form.name.trim().to_owned(), created.key));
        Ok::<_, ApiError>(view)
    }
    .await;
    match outcome {
        Ok(view) => {
            let viewer = who.viewer(&console).await;
            html(pages::admin::page(&viewer, &view))
        }
        Err(e) => failed(&headers, &e, BACK),
    }
}

async fn revoke_key(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<Uuid>,
) -> Response {
    form_action(&console, &headers, BACK, async {
        let proof = who.authorize(&console, Permission::ManageKeys).await?;
        keys::revoke(&console.platform, &proof, id).await
    })
    .await
}

#[derive(Deserialize)]
struct NewGuardrail {
    #[serde(default)]
    action_pattern: String,
    #[serde(default)]
    namespace_pattern: String,
    #[serde(default)]
    service_pattern: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    priority: String,
}

async fn upsert_guardrail(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<NewGuardrail>,
) -> Response {
    form_action(&console, &headers, BACK, async {
        let decision = match form.decision.as_str() {
            "auto" => GuardrailDecision::Auto,
            "ask" => GuardrailDecision::Ask,
            "deny" => GuardrailDecision::Deny,
            other => {
                return Err(ApiError::invalid_input(
                    "decision",
                    format!("{other:?} is not auto, ask or deny"),
                ));
            }
        };
        let priority = match form.priority.trim() {
            "" => 0,
            p => p.parse::<i32>().map_err(|_| {
                ApiError::invalid_input("priority", format!("{p:?} is not a whole number"))
            })?,
        };
        let pattern = |p: &str| {
            let p = p.trim();
            if p.is_empty() { "*".to_owned() } else { p.to_owned() }
        };
        let proof = who.authorize(&console, Permission::ManageGuardrails).await?;
        let input = guardrails::UpsertGuardrail {
            action_pattern: form.action_pattern.trim().to_owned(),
            namespace_pattern: pattern(&form.namespace_pattern),
            service_pattern: pattern(&form.service_pattern),
            decision,
            priority,
        };
        guardrails::upsert(&console.platform, &proof, input).await
    })
    .await
}

async fn delete_guardrail(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<Uuid>,
) -> Response {
    form_action(&console, &headers, BACK, async {
        let proof = who.authorize(&console, Permission::ManageGuardrails).await?;
        guardrails::delete(&console.platform, &proof, id).await
    })
    .await
}

/// The search form's fields (blank means any).
#[derive(Debug, Clone, Default, Deserialize)]
struct AuditForm {
    actor: Option<String>,
    action: Option<String>,
    /// A day, `YYYY-MM-DD`: records on or after it.
    since: Option<String>,
}

impl AuditForm {
    fn query(&self, limit: Option<u64>) -> Result<audit::AuditQuery, ApiError> {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let since = match text(&self.since) {
            None => None,
            Some(day) => Some(
                NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| DateTime::<Utc>::from_naive_utc_and_offset(t, Utc))
                    .ok_or_else(|| ApiError::invalid_input("since", format!("{day:?} is not a day (YYYY-MM-DD)")))?,
            ),
        };
        Ok(audit::AuditQuery {
            actor: text(&self.actor),
            action: text(&self.action),
            since,
            until: None,
            after_seq: None,
            limit,
        })
    }

    fn search(&self) -> AuditSearch {
        AuditSearch {
            actor: self.actor.clone().unwrap_or_default(),
            action: self.action.clone().unwrap_or_default(),
            since: self.since.clone().unwrap_or_default(),
        }
    }
}

async fn audit_page(State(console): State<Console>, who: SignedIn, Query(form): Query<AuditForm>) -> Response {
    let outcome = async {
        let proof = who.authorize(&console, Permission::ReadAudit).await?;
        let query = form.query(Some(1000))?;
        audit::query(&console.platform, &proof, &query).await
    }
    .await;
    match outcome {
        Ok(mut events) => {
            events.reverse();
            let viewer = who.viewer(&console).await;
            html(pages::admin::audit_page(&viewer, &form.search(), &events))
        }
        Err(e) => failed(&HeaderMap::new(), &e, BACK),
    }
}

async fn audit_export(State(console): State<Console>, who: SignedIn, Query(form): Query<AuditForm>) -> Response {
    let outcome = async {
        let proof = who.authorize(&console, Permission::ReadAudit).await?;
        let query = form.query(None)?;
        audit::export_jsonl(&console.platform, &proof, &query).await
    }
    .await;
    match outcome {
        Ok(lines) => (
            [
                (header::CONTENT_TYPE, "application/x-ndjson"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"aoi-audit.jsonl\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            lines,
        )
            .into_response(),
        Err(e) => failed(&HeaderMap::new(), &e, BACK),
    }
}
