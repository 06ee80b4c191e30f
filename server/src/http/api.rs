//! The identity/incidents REST routes under /api/v1, plus /healthz, /readyz, /metrics and
//! /api/openapi.json. The router is built from [`ROUTES`], the same table the OpenAPI
//! document is generated from, so a route cannot exist undocumented.
//!
//! Every handler extracts, authorizes (`Auth::authorize`, which returns the proof the
//! service function requires), calls one `aoi_platform` function, and maps the answer.

use aoi_control::Permission;
use aoi_control::auth::LoginRequest;
use aoi_platform::{Platform, audit, environments, guardrails, incidents, keys, tenants, users};
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::HttpResult;
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};

/// One documented route: the router and the OpenAPI document are both built from these.
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Whether a bearer token (JWT or API key) is required.
    pub auth: bool,
    /// The permission checked, when any.
    pub permission: Option<Permission>,
    /// The body is JSON (request schema described in docs/api.md).
    pub body: bool,
    pub handler: fn() -> MethodRouter<Platform>,
}

macro_rules! route {
    ($m:literal, $p:literal, $s:literal, $auth:expr, $perm:expr, $body:expr, $h:expr) => {
        RouteDoc {
            method: $m,
            path: $p,
            summary: $s,
            auth: $auth,
            permission: $perm,
            body: $body,
            handler: $h,
        }
    };
}

use Permission as P;

/// Every route of this module.
pub const ROUTES: &[RouteDoc] = &[
    route!(
        "GET",
        "/healthz",
        "Process is up",
        false,
        None,
        false,
        || get(healthz)
    ),
    route!(
        "GET",
        "/readyz",
        "Database is reachable",
        false,
        None,
        false,
        || get(readyz)
    ),
    route!(
        "GET",
        "/metrics",
        "Prometheus metrics (text format)",
        false,
        None,
        false,
        || get(metrics)
    ),
    route!(
        "GET",
        "/api/openapi.json",
        "This OpenAPI document",
        false,
        None,
        false,
        || get(openapi)
    ),
    route!(
        "POST",
        "/api/v1/auth/login",
        "Log in; answers an access token",
        false,
        None,
        true,
        || post(login)
    ),
    route!(
        "POST",
        "/api/v1/tenants",
        "Create a tenant (platform admin)",
        true,
        Some(P::ManageTenants),
        true,
        || post(tenants_create)
    ),
    route!(
        "GET",
        "/api/v1/tenants",
        "List tenants (platform admin)",
        true,
        Some(P::ManageTenants),
        false,
        || get(tenants_list)
    ),
    route!(
        "POST",
        "/api/v1/users",
        "Create a user in the caller's tenant",
        true,
        Some(P::ManageUsers),
        true,
        || post(users_create)
    ),
    route!(
        "GET",
        "/api/v1/users",
        "List the tenant's users",
        true,
        Some(P::ManageUsers),
        false,
        || get(users_list)
    ),
    route!(
        "POST",
        "/api/v1/api-keys",
        "Create an API key (shown once)",
        true,
        Some(P::ManageKeys),
        true,
        || post(keys_create)
    ),
    route!(
        "GET",
        "/api/v1/api-keys",
        "List the tenant's API keys",
        true,
        Some(P::ManageKeys),
        false,
        || get(keys_list)
    ),
    route!(
        "DELETE",
        "/api/v1/api-keys/{id}",
        "Revoke an API key",
        true,
        Some(P::ManageKeys),
        false,
        || delete(keys_revoke)
    ),
    route!(
        "GET",
        "/api/v1/policies",
        "List the tenant's policy lines",
        true,
        Some(P::ManagePolicies),
        false,
        || get(policies_list)
    ),
    route!(
        "POST",
        "/api/v1/policies",
        "Add policy lines",
        true,
        Some(P::ManagePolicies),
        true,
        || post(policies_add)
    ),
    route!(
        "DELETE",
        "/api/v1/policies",
        "Remove policy lines",
        true,
        Some(P::ManagePolicies),
        true,
        || delete(policies_remove)
    ),
    route!(
        "POST",
        "/api/v1/incidents",
        "Open an incident",
        true,
        Some(P::WriteIncidents),
        true,
        || post(incidents_create)
    ),
    route!(
        "GET",
        "/api/v1/incidents",
        "List incidents (state, severity, service, since, limit)",
        true,
        Some(P::ReadIncidents),
        false,
        || get(incidents_list)
    ),
    route!(
        "GET",
        "/api/v1/incidents/{id}",
        "One incident with its alerts",
        true,
        Some(P::ReadIncidents),
        false,
        || get(incidents_get)
    ),
    route!(
        "POST",
        "/api/v1/alerts/alertmanager",
        "Alertmanager webhook (v4)",
        true,
        Some(P::WriteIncidents),
        true,
        || post(alertmanager)
    ),
    route!(
        "POST",
        "/api/v1/environments",
        "Create a twin environment",
        true,
        Some(P::ManagePlugins),
        true,
        || post(environments_create)
    ),
    route!(
        "GET",
        "/api/v1/environments",
        "List environments",
        true,
        Some(P::ReadEnvironments),
        false,
        || get(environments_list)
    ),
    route!(
        "GET",
        "/api/v1/environments/{id}",
        "One environment",
        true,
        Some(P::ReadEnvironments),
        false,
        || get(environments_get)
    ),
    route!(
        "GET",
        "/api/v1/plugins",
        "The plugin catalog: built-in and uploaded plugins, each with its tools (read or write) and the tenant's installation",
        true,
        Some(P::ReadPlugins),
        false,
        || get(super::plugins_api::list)
    ),
    route!(
        "POST",
        "/api/v1/plugins",
        "Upload a signed plugin package (platform admin); unsigned, tampered or untrusted packages are refused",
        true,
        Some(P::PublishPlugins),
        true,
        || post(super::plugins_api::upload)
            .layer(axum::extract::DefaultBodyLimit::max(super::plugins_api::UPLOAD_LIMIT_BYTES))
    ),
    route!(
        "POST",
        "/api/v1/plugins/{name}/install",
        "Install a plugin in the tenant with its config (secret fields are write-only)",
        true,
        Some(P::ManagePlugins),
        true,
        || post(super::plugins_api::install)
    ),
    route!(
        "POST",
        "/api/v1/plugins/{name}/enable",
        "Enable the tenant's installation",
        true,
        Some(P::ManagePlugins),
        false,
        || post(super::plugins_api::enable)
    ),
    route!(
        "POST",
        "/api/v1/plugins/{name}/disable",
        "Disable the tenant's installation; its tools leave new sessions",
        true,
        Some(P::ManagePlugins),
        false,
        || post(super::plugins_api::disable)
    ),
    route!(
        "POST",
        "/api/v1/plugins/{name}/configure",
        "Change the installation's config; a secret left out keeps its value, null removes a key",
        true,
        Some(P::ManagePlugins),
        true,
        || post(super::plugins_api::configure)
    ),
    route!(
        "POST",
        "/api/v1/plugins/{name}/upgrade",
        "Move the installation to another version (newest by default), keeping the current one for rollback",
        true,
        Some(P::ManagePlugins),
        true,
        || post(super::plugins_api::upgrade)
    ),
    route!(
        "POST",
        "/api/v1/plugins/{name}/rollback",
        "Go back to the version before the last upgrade",
        true,
        Some(P::ManagePlugins),
        false,
        || post(super::plugins_api::rollback)
    ),
    route!(
        "DELETE",
        "/api/v1/plugins/{name}/installation",
        "Uninstall the plugin from the tenant (its stored secrets are deleted)",
        true,
        Some(P::ManagePlugins),
        false,
        || delete(super::plugins_api::uninstall)
    ),
    route!(
        "POST",
        "/api/v1/plugins/{name}/tools/{tool}/call",
        "Run one read tool of an installed plugin (writes run only in sessions, through the gate)",
        true,
        Some(P::StartSession),
        true,
        || post(super::plugins_api::call_tool)
    ),
    route!(
        "GET",
        "/api/v1/guardrails",
        "List guardrails",
        true,
        Some(P::ManageGuardrails),
        false,
        || get(guardrails_list)
    ),
    route!(
        "PUT",
        "/api/v1/guardrails",
        "Insert or update a guardrail",
        true,
        Some(P::ManageGuardrails),
        true,
        || put(guardrails_upsert)
    ),
    route!(
        "DELETE",
        "/api/v1/guardrails/{id}",
        "Delete a guardrail",
        true,
        Some(P::ManageGuardrails),
        false,
        || delete(guardrails_delete)
    ),
    route!(
        "GET",
        "/api/v1/audit",
        "Query the audit log (actor, action, since, until, after_seq, limit)",
        true,
        Some(P::ReadAudit),
        false,
        || get(audit_query)
    ),
    route!(
        "GET",
        "/api/v1/audit/export",
        "Export the audit log as JSON Lines",
        true,
        Some(P::ReadAudit),
        false,
        || get(audit_export)
    ),
    route!(
        "GET",
        "/api/v1/models/adapters",
        "List every version of the tenant's model adapters",
        true,
        Some(P::ReadModels),
        false,
        || get(super::models_api::list_adapters)
    ),
    route!(
        "POST",
        "/api/v1/models/adapters",
        "Register the next version of an adapter (a candidate)",
        true,
        Some(P::ManageModels),
        true,
        || post(super::models_api::register_adapter)
    ),
    route!(
        "GET",
        "/api/v1/models/adapters/{name}",
        "Every version of one adapter",
        true,
        Some(P::ReadModels),
        false,
        || get(super::models_api::get_adapter)
    ),
    route!(
        "POST",
        "/api/v1/models/adapters/{name}/versions/{version}/promote",
        "Promote a version to canary (with canary_percent) or active",
        true,
        Some(P::ManageModels),
        true,
        || post(super::models_api::promote_adapter)
    ),
    route!(
        "POST",
        "/api/v1/models/adapters/{name}/rollback",
        "Abort the canary, or else restore the previously active version",
        true,
        Some(P::ManageModels),
        false,
        || post(super::models_api::rollback_adapter)
    ),
    route!(
        "GET",
        "/api/v1/inference/policy",
        "The tenant's effective inference policy",
        true,
        Some(P::ReadModels),
        false,
        || get(super::models_api::get_policy)
    ),
    route!(
        "PUT",
        "/api/v1/tenants/{slug}/inference-policy",
        "Set a tenant's inference policy (platform admin)",
        true,
        Some(P::ManageTenants),
        true,
        || put(super::models_api::set_policy)
    ),
    route!(
        "GET",
        "/api/v1/signals",
        "List the tenant's corrective signals (status), newest first",
        true,
        Some(P::ReviewSignals),
        false,
        || get(super::signals_api::list_signals)
    ),
    route!(
        "GET",
        "/api/v1/signals/{id}",
        "One corrective signal beside the failed session's trajectory",
        true,
        Some(P::ReviewSignals),
        false,
        || get(super::signals_api::get_signal)
    ),
    route!(
        "POST",
        "/api/v1/signals/{id}/approve",
        "Approve a pending signal as drafted",
        true,
        Some(P::ReviewSignals),
        false,
        || post(super::signals_api::approve_signal)
    ),
    route!(
        "POST",
        "/api/v1/signals/{id}/edit",
        "Edit a pending signal's plan (lesson, rationale), then approve it",
        true,
        Some(P::ReviewSignals),
        true,
        || post(super::signals_api::edit_signal)
    ),
    route!(
        "POST",
        "/api/v1/signals/{id}/reject",
        "Reject a pending signal with a reason",
        true,
        Some(P::ReviewSignals),
        true,
        || post(super::signals_api::reject_signal)
    ),
    route!(
        "POST",
        "/api/v1/benchmarks",
        "Record an `aoi bench` report (name, report); scores are computed from its runs",
        true,
        Some(P::ManageModels),
        true,
        || super::extract::with_body_limit(
            post(super::benchmarks_api::record),
            super::benchmarks_api::REPORT_LIMIT_BYTES
        )
    ),
    route!(
        "GET",
        "/api/v1/benchmarks",
        "List the tenant's recorded benchmark runs, newest first",
        true,
        Some(P::ReadBenchmarks),
        false,
        || get(super::benchmarks_api::list)
    ),
    route!(
        "GET",
        "/api/v1/benchmarks/{id}",
        "One recorded benchmark run with its report and scores",
        true,
        Some(P::ReadBenchmarks),
        false,
        || get(super::benchmarks_api::get)
    ),
    route!(
        "POST",
        "/api/v1/datasets/export",
        "Export a training dataset (grpo, sft or dpo) of the tenant as files and a manifest",
        true,
        Some(super::datasets_api::EXPORT_PERMISSION),
        true,
        || post(super::datasets_api::export)
    ),
    route!(
        "POST",
        "/api/v1/sessions/{id}/verdict",
        "Mark a finished session right or wrong (with a category)",
        true,
        Some(P::WriteIncidents),
        true,
        || post(super::signals_api::session_verdict)
    ),
    route!(
        "POST",
        "/v1/chat/completions",
        "OpenAI-compatible chat completion over the inference pool (SSE with \"stream\": true)",
        true,
        Some(super::openai::CHAT_PERMISSION),
        true,
        || post(super::openai::chat_completions)
    ),
    route!(
        "GET",
        "/v1/models",
        "OpenAI-compatible list of the inference pool's models and adapters",
        true,
        Some(super::openai::MODELS_PERMISSION),
        false,
        || get(super::openai::models)
    ),
    route!(
        "GET",
        "/api/v1/sessions/{id}/external/next",
        "Long-poll (wait_ms) the next tool call of a session on an external environment, or its end",
        true,
        Some(super::external_api::EXTERNAL_PERMISSION),
        false,
        || get(super::external_api::next)
    ),
    route!(
        "POST",
        "/api/v1/sessions/{id}/external/result",
        "Post the output of an external session's pending tool call",
        true,
        Some(super::external_api::EXTERNAL_PERMISSION),
        true,
        || post(super::external_api::result)
    ),
];

/// The router of [`ROUTES`].
pub fn routes(platform: Platform) -> Router {
    ROUTES
        .iter()
        .fold(Router::new(), |router, r| {
            router.route(r.path, (r.handler)())
        })
        .with_state(platform)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(axum::extract::State(platform): axum::extract::State<Platform>) -> Response {
    if platform.database_ready().await {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                aoi_control::ApiError::Unavailable {
                    what: "the database".into(),
                }
                .body(),
            ),
        )
            .into_response()
    }
}

async fn metrics(axum::extract::State(platform): axum::extract::State<Platform>) -> Response {
    let mut text = super::metrics::render();
    if let Some(pool) = &platform.inference {
        text.push_str(&super::inference_metrics::render_pool(&pool.stats()));
    }
    text.push_str(&super::inference_metrics::render_tenants(
        &platform.inference_metrics.snapshot(),
    ));
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn openapi() -> Json<Value> {
    Json(super::openapi::document())
}

async fn login(
    axum::extract::State(platform): axum::extract::State<Platform>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> HttpResult<Response> {
    Ok(Json(tenants::login(&platform, &request).await?).into_response())
}

type St = axum::extract::State<Platform>;
use axum::extract::State;

fn created<T: serde::Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn tenants_create(
    State(p): St,
    auth: Auth,
    ApiJson(input): ApiJson<tenants::CreateTenant>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageTenants).await?;
    Ok(created(tenants::create(&p, &proof, input).await?))
}

async fn tenants_list(State(p): St, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageTenants).await?;
    Ok(Json(tenants::list(&p, &proof).await?).into_response())
}

async fn users_create(
    State(p): St,
    auth: Auth,
    ApiJson(input): ApiJson<users::CreateUser>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageUsers).await?;
    Ok(created(users::create(&p, &proof, input).await?))
}

async fn users_list(State(p): St, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageUsers).await?;
    Ok(Json(users::list(&p, &proof).await?).into_response())
}

async fn keys_create(
    State(p): St,
    auth: Auth,
    ApiJson(input): ApiJson<keys::CreateKey>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageKeys).await?;
    Ok(created(keys::create(&p, &proof, input).await?))
}

async fn keys_list(State(p): St, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageKeys).await?;
    Ok(Json(keys::list(&p, &proof).await?).into_response())
}

async fn keys_revoke(State(p): St, auth: Auth, ApiPath(id): ApiPath<Uuid>) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageKeys).await?;
    keys::revoke(&p, &proof, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn policies_list(State(p): St, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePolicies).await?;
    Ok(Json(users::list_policies(&p, &proof).await?).into_response())
}

async fn policies_add(
    State(p): St,
    auth: Auth,
    ApiJson(input): ApiJson<users::PolicyChange>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePolicies).await?;
    users::add_policies(&p, &proof, input).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn policies_remove(
    State(p): St,
    auth: Auth,
    ApiJson(input): ApiJson<users::PolicyChange>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePolicies).await?;
    users::remove_policies(&p, &proof, input).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn incidents_create(
    State(p): St,
    auth: Auth,
    ApiJson(input): ApiJson<incidents::CreateIncident>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::WriteIncidents).await?;
    Ok(created(incidents::create(&p, &proof, input).await?))
}

async fn incidents_list(
    State(p): St,
    auth: Auth,
    ApiQuery(q): ApiQuery<incidents::IncidentQuery>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadIncidents).await?;
    Ok(Json(incidents::list(&p, &proof, q).await?).into_response())
}

async fn incidents_get(
    State(p): St,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadIncidents).await?;
    Ok(Json(incidents::get(&p, &proof, id).await?).into_response())
}

async fn alertmanager(
    State(p): St,
    auth: Auth,
    ApiJson(input): ApiJson<incidents::AlertmanagerPayload>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::WriteIncidents).await?;
    Ok(Json(incidents::ingest_alertmanager(&p, &proof, input).await?).into_response())
}

async fn environments_create(
    State(p): St,
    auth: Auth,
    ApiJson(input): ApiJson<environments::CreateEnvironment>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManagePlugins).await?;
    Ok(created(environments::create(&p, &proof, input).await?))
}

async fn environments_list(State(p): St, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadEnvironments).await?;
    Ok(Json(environments::list(&p, &proof).await?).into_response())
}

async fn environments_get(
    State(p): St,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadEnvironments).await?;
    Ok(Json(environments::get(&p, &proof, id).await?).into_response())
}

async fn guardrails_list(State(p): St, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageGuardrails).await?;
    Ok(Json(guardrails::list(&p, &proof).await?).into_response())
}

async fn guardrails_upsert(
    State(p): St,
    auth: Auth,
    ApiJson(input): ApiJson<guardrails::UpsertGuardrail>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageGuardrails).await?;
    Ok(Json(guardrails::upsert(&p, &proof, input).await?).into_response())
}

async fn guardrails_delete(
    State(p): St,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ManageGuardrails).await?;
    guardrails::delete(&p, &proof, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn audit_query(
    State(p): St,
    auth: Auth,
    ApiQuery(q): ApiQuery<audit::AuditQuery>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadAudit).await?;
    Ok(Json(audit::query(&p, &proof, &q).await?).into_response())
}

async fn audit_export(
    State(p): St,
    auth: Auth,
    ApiQuery(q): ApiQuery<audit::AuditQuery>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&p, P::ReadAudit).await?;
    let body = audit::export_jsonl(&p, &proof, &q).await?;
    Ok(([(CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::collections::BTreeSet;

    async fn platform(dir: &std::path::Path) -> Platform {
        let mut config =
            aoi_control::Config::load_str(None, Vec::<(String, String)>::new()).unwrap();
        config.server.data_dir = dir.to_path_buf();
        Platform::open(config).await.unwrap()
    }

    #[test]
    fn every_route_is_in_the_openapi_document_once() {
        let doc = super::super::openapi::document();
        let mut seen = BTreeSet::new();
        let operations = super::super::openapi::operations();
        for r in &operations {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            let op = &doc["paths"][r.path][r.method.to_lowercase()];
            assert!(
                op.is_object(),
                "{} {} missing from the document",
                r.method,
                r.path
            );
            assert_eq!(
                op.get("security").is_some(),
                r.auth,
                "{} {}",
                r.method,
                r.path
            );
        }
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|m| m.as_object().unwrap().len())
            .sum();
        assert_eq!(documented, operations.len());
    }

    #[tokio::test]
    async fn every_documented_route_is_served_by_the_router() {
        let dir = tempfile::tempdir().unwrap();
        let app = super::super::router(platform(dir.path()).await);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        for r in super::super::openapi::operations() {
            let path = r.path.replace("{id}", &Uuid::new_v4().to_string());
            let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
            let resp = client
                .request(method, format!("http://{addr}{path}"))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            assert!(
                status != 404 && status != 405,
                "{} {} answered {status}",
                r.method,
                r.path
            );
            if r.auth {
                assert_eq!(
                    status, 401,
                    "{} {} must require a bearer token",
                    r.method, r.path
                );
                let body: serde_json::Value = resp.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthenticated");
            }
        }
    }
}
