//! The OpenAI-compatible endpoints over the inference pool (`Platform::inference`), so other
//! tools can use it: `POST /v1/chat/completions` (JSON, or SSE passed through with
//! `"stream": true`) and `GET /v1/models`.
//!
//! Authenticated like every route (JWT or `aoi_` API key as bearer) and authorized with the
//! same helper: chat completions need `start_session` (operator), the model list
//! `read_models` (viewer). Before a request leaves the process every message's text is
//! redacted by a fresh [`Redactor`] (secrets only); placeholders in a non-streaming reply's
//! `choices[].message.content` are restored. Streamed chunks are passed through as they come:
//! restoration is not applied to them yet. `external` backends are used only when
//! `inference.external_allowed` is true. Every call that reaches the pool is audited once
//! (`inference.chat`).
//!
//! Quotas (`[inference.quota]`, [`Platform::quotas`]): before the pool is called the tenant's
//! permit is acquired with an estimate of `max_tokens` (or [`DEFAULT_MAX_TOKENS`]) plus the
//! prompt's characters / 4. Over a limit the answer is 429 `rate_limited` with `Retry-After`
//! (seconds) and a message naming the limit; an unreachable quota store answers 503
//! `unavailable`. A non-streaming reply charges its `usage.total_tokens` (or prompt plus
//! completion) instead of the estimate; a stream keeps its permit (and concurrency slot) until
//! it ends and stays charged with the estimate; a call the pool fails is refunded.
//!
//! The request header `x-aoi-session`, when present, is the pool's affinity key (requests of
//! one session prefer the same backend).

use aoi_control::{ApiError, Permission};
use aoi_inference::privacy::{RedactionPolicy, Redactor};
use aoi_platform::Platform;
use aoi_platform::audit;
use aoi_router::{ChatRequest, Pool, QuotaError, QuotaPermit, Quotas, RouterError, Trust};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;

use super::error::{HttpError, HttpResult};
use super::extract::{ApiJson, Auth};

/// The permission `POST /v1/chat/completions` checks.
pub const CHAT_PERMISSION: Permission = Permission::StartSession;
/// The permission `GET /v1/models` checks.
pub const MODELS_PERMISSION: Permission = Permission::ReadModels;

/// The completion budget assumed for a request without `max_tokens` when estimating its tokens.
pub const DEFAULT_MAX_TOKENS: u64 = 1024;
/// The request header whose value is the pool's affinity key.
pub const SESSION_HEADER: &str = "x-aoi-session";

fn error_response(status: u16, code: &str, message: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn not_configured() -> Response {
    error_response(
        503,
        "unavailable",
        "no inference backend is configured: add at least one [[inference.backends]] entry \
         (name, url) to the configuration file and restart `aoi serve`"
            .into(),
    )
}

/// The AOI error body for a router error, with the status `RouterError::http_status` gives.
fn router_error(e: &RouterError) -> Response {
    let status = e.http_status();
    let code = match status {
        429 => "rate_limited",
        500 => "internal",
        400..=499 => "invalid_input",
        _ => "unavailable",
    };
    error_response(status, code, e.to_string())
}

/// The AOI error body for a quota refusal: 429 `rate_limited` with `Retry-After`, or 503
/// `unavailable` when the quota store cannot be reached.
fn quota_error(e: &QuotaError) -> Response {
    match e {
        QuotaError::Exceeded(_) => {
            let mut response = error_response(e.http_status(), "rate_limited", e.to_string());
            if let Some(secs) = e.retry_after_secs() {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            response
        }
        QuotaError::Store(_) => {
            tracing::error!(cause = %e, "inference quota store failed");
            error_response(e.http_status(), "unavailable", e.to_string())
        }
    }
}

/// The tokens a request is expected to use: `max_tokens` (or [`DEFAULT_MAX_TOKENS`]) plus
/// its messages' characters / 4.
fn estimate_tokens(body: &Value) -> u64 {
    let completion = body
        .get("max_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let mut chars: u64 = 0;
    let mut add = |text: &str| {
        chars = chars.saturating_add(u64::try_from(text.chars().count()).unwrap_or(u64::MAX));
    };
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for message in messages {
            match message.get("content") {
                Some(Value::String(text)) => add(text),
                Some(Value::Array(parts)) => {
                    for part in parts {
                        if let Some(text) = part.get("text").and_then(Value::as_str) {
                            add(text);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    completion.saturating_add(chars / 4)
}

/// The tokens a reply reports: `usage.total_tokens`, else prompt plus completion.
fn reply_tokens(reply: &Value) -> Option<u64> {
    let usage = reply.get("usage")?;
    if let Some(total) = usage.get("total_tokens").and_then(Value::as_u64) {
        return Some(total);
    }
    let prompt = usage.get("prompt_tokens").and_then(Value::as_u64);
    let completion = usage.get("completion_tokens").and_then(Value::as_u64);
    match (prompt, completion) {
        (None, None) => None,
        (p, c) => Some(p.unwrap_or(0).saturating_add(c.unwrap_or(0))),
    }
}

/// Charges `tokens` to the permit; a store failure is logged, not answered (the reply is done).
async fn charge(quotas: &Quotas, permit: &mut QuotaPermit, tokens: u64) {
    if let Err(e) = quotas.record(permit, tokens).await {
        tracing::warn!(cause = %e, tenant = permit.tenant(), "inference quota: recording usage failed");
    }
}

fn pool(platform: &Platform) -> Option<&Arc<Pool>> {
    platform.inference.as_ref()
}

/// `GET /v1/models`: the models and LoRA adapters the pool's healthy backends serve (only
/// `local` ones unless `inference.external_allowed`), in the OpenAI list shape.
pub async fn models(State(platform): State<Platform>, auth: Auth) -> HttpResult<Response> {
    auth.authorize(&platform, MODELS_PERMISSION).await?;
    let Some(pool) = pool(&platform) else {
        return Ok(not_configured());
    };
    let allow_external = platform.config.inference.external_allowed;
    let mut data: Vec<Value> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for backend in pool.stats() {
        if !backend.healthy || (backend.trust == Trust::External && !allow_external) {
            continue;
        }
        for model in backend.models {
            if !seen.contains(&model) {
                data.push(json!({
                    "id": model,
                    "object": "model",
                    "created": 0,
                    "owned_by": "aoi",
                }));
                seen.push(model);
            }
        }
    }
    Ok(Json(json!({"object": "list", "data": data})).into_response())
}

/// Redacts every message's text (a string `content`, or the `text` of content parts).
fn redact_messages(body: &mut Value, redactor: &mut Redactor) {
    let Some(messages) = body.get_mut("messages").and_then(Value::as_array_mut) else {
        return;
    };
    for message in messages {
        match message.get_mut("content") {
            Some(Value::String(text)) => *text = redactor.redact(text),
            Some(Value::Array(parts)) => {
                for part in parts {
                    if let Some(Value::String(text)) = part.get_mut("text") {
                        *text = redactor.redact(text);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Restores placeholders in `choices[].message.content`.
fn restore_choices(body: &mut Value, redactor: &Redactor) {
    let Some(choices) = body.get_mut("choices").and_then(Value::as_array_mut) else {
        return;
    };
    for choice in choices {
        if let Some(Value::String(text)) = choice.pointer_mut("/message/content") {
            *text = redactor.restore(text);
        }
    }
}

/// The audit record of one call: actor, model, backend, tokens when reported.
async fn record(
    platform: &Platform,
    proof: &aoi_control::authz::Authorized,
    model: &str,
    details: Value,
) -> Result<(), ApiError> {
    let slug = proof.principal().tenant.as_str().to_string();
    let tenant = platform
        .store
        .tenant_by_slug(&slug)
        .await
        .map_err(|e| {
            tracing::error!(cause = %e, "audit: tenant lookup failed");
            ApiError::Unavailable {
                what: "audit log".into(),
            }
        })?
        .map(|t| t.tenant_id());
    audit::record_write(platform, proof, tenant, "inference.chat", model, details)
        .await
        .map(|_| ())
}

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(platform): State<Platform>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(mut body): ApiJson<Value>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&platform, CHAT_PERMISSION).await?;
    let Some(pool) = pool(&platform).cloned() else {
        return Ok(not_configured());
    };
    if !body.is_object() {
        return Err(HttpError::bad_request("body", "must be a JSON object"));
    }
    let model = match body.get("model").and_then(Value::as_str) {
        Some(m) if !m.trim().is_empty() => m.to_string(),
        _ => {
            return Err(ApiError::invalid_input(
                "model",
                "is required: name a model or adapter from GET /v1/models",
            )
            .into());
        }
    };
    if !body.get("messages").is_some_and(Value::is_array) {
        return Err(
            ApiError::invalid_input("messages", "is required: a list of chat messages").into(),
        );
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let affinity = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let quotas = platform.quotas.clone();
    let tenant = proof.principal().tenant.as_str().to_string();
    let mut permit = match quotas.acquire(&tenant, estimate_tokens(&body)).await {
        Ok(permit) => permit,
        Err(e) => return Ok(quota_error(&e)),
    };
    let mut redactor = Redactor::new(RedactionPolicy::secrets_only());
    redact_messages(&mut body, &mut redactor);
    let request = ChatRequest {
        body,
        model: model.clone(),
        affinity,
        allow_external: platform.config.inference.external_allowed,
    };
    let redacted = redactor.len();
    if stream {
        return match pool.chat_stream(request).await {
            Ok(chunks) => {
                record(
                    &platform,
                    &proof,
                    &model,
                    json!({"model": model, "stream": true, "redacted": redacted}),
                )
                .await?;
                // The permit (its concurrency slot, the estimate charged) lives as long as the
                // stream: it is dropped, and the slot freed, when the stream ends or the client
                // goes away.
                let body = chunks.map(move |item| {
                    let _held = &permit;
                    Ok::<Bytes, std::convert::Infallible>(match item {
                        Ok(bytes) => bytes,
                        Err(e) => {
                            let event =
                                json!({"error": {"code": "unavailable", "message": e.to_string()}});
                            Bytes::from(format!("data: {event}\n\n"))
                        }
                    })
                });
                Ok((
                    [
                        (CONTENT_TYPE, "text/event-stream"),
                        (CACHE_CONTROL, "no-cache"),
                    ],
                    Body::from_stream(body),
                )
                    .into_response())
            }
            Err(e) => {
                charge(&quotas, &mut permit, 0).await;
                drop(permit);
                record(
                    &platform,
                    &proof,
                    &model,
                    json!({"model": model, "stream": true, "redacted": redacted, "error": e.to_string()}),
                )
                .await?;
                Ok(router_error(&e))
            }
        };
    }
    match pool.chat(request).await {
        Ok(response) => {
            let mut reply = response.body;
            if let Some(tokens) = reply_tokens(&reply) {
                charge(&quotas, &mut permit, tokens).await;
            }
            drop(permit);
            let usage = reply.get("usage").cloned().unwrap_or(Value::Null);
            record(
                &platform,
                &proof,
                &model,
                json!({
                    "model": model,
                    "backend": response.backend,
                    "attempts": response.attempts,
                    "prompt_tokens": usage.get("prompt_tokens"),
                    "completion_tokens": usage.get("completion_tokens"),
                    "redacted": redacted,
                }),
            )
            .await?;
            restore_choices(&mut reply, &redactor);
            Ok(Json(reply).into_response())
        }
        Err(e) => {
            charge(&quotas, &mut permit, 0).await;
            drop(permit);
            record(
                &platform,
                &proof,
                &model,
                json!({"model": model, "redacted": redacted, "error": e.to_string()}),
            )
            .await?;
            Ok(router_error(&e))
        }
    }
}
