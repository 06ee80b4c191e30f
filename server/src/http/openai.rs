//! The OpenAI-compatible endpoints over the inference pool (`Platform::inference`), so other
//! tools can use it: `POST /v1/chat/completions` (JSON, or SSE passed through with
//! `"stream": true`) and `GET /v1/models`.
//!
//! Authenticated like every route (JWT or `aoi_` API key as bearer) and authorized with the
//! same helper: chat completions need `start_session` (operator), the model list
//! `read_models` (viewer). Everything else comes from the caller's tenant:
//!
//! - its inference policy ([`aoi_platform::models::inference_policy`]): whether its traffic
//!   may reach `trust = "external"` backends (by default `inference.external_allowed`, false),
//!   whether identifiers are redacted besides secrets, and its quota limits;
//! - its model registry ([`aoi_platform::models::resolve_model`]): a `model` naming one of its
//!   adapters goes to the active version (or the canary, for a stable share of
//!   `x-aoi-session` keys), which the pool loads on demand where a backend allows it; another
//!   tenant's adapter is refused with 404; anything else is a base model.
//!
//! Before a request leaves the process every message's text is redacted by a fresh
//! [`Redactor`]; placeholders are restored in a non-streaming reply's
//! `choices[].message.content` and, through a [`StreamRestorer`], in streamed deltas (a
//! placeholder split across chunks is held back until it is whole). Every call that passes
//! authorization is recorded once as `inference.chat` in the audit log (written in batches
//! behind the answers; actor `key:<id>` or `user:<id>` and `actor_name`): with its backend
//! when it reached the pool, with `refused` (the status answered) when it was refused before.
//! Calls that reach the pool are counted per tenant and model on /metrics. Since that record
//! names the key, an API key's call here is not also recorded as `api_key.use`
//! ([`records_own_key_use`]).
//!
//! Quotas: before the pool is called the tenant's permit is acquired with an estimate of
//! `max_tokens` (or [`DEFAULT_MAX_TOKENS`]) plus the prompt's characters / 4. Over a limit the
//! answer is 429 `rate_limited` with `Retry-After` (seconds) and a message naming the limit;
//! an unreachable quota store answers 503 `unavailable`. A non-streaming reply charges its
//! `usage.total_tokens` (or prompt plus completion) instead of the estimate; a stream keeps
//! its permit (and concurrency slot) until it ends and stays charged with the estimate; a call
//! the pool fails is refunded.
//!
//! The request header `x-aoi-session`, when present, is the pool's affinity key (requests of
//! one session prefer the same backend) and the canary draw's key.

use aoi_control::{ApiError, Permission};
use aoi_inference::privacy::StreamRestorer;
use aoi_inference::privacy::{RedactionPolicy, Redactor};
use aoi_platform::Platform;
use aoi_platform::audit;
use aoi_platform::inference_metrics::{Counter, Outcome};
use aoi_platform::models;
use aoi_router::{
    ChatRequest, ChatStream, LoraAdapter, Pool, QuotaError, QuotaLimits, QuotaPermit, Quotas,
    RouterError, StreamUsage, Trust,
};
use aoi_store::AdapterStatus;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

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

/// Whether the route answering `method path` records every authorized call itself, naming the
/// key (`inference.chat`), so authentication need not record an `api_key.use` as well.
pub fn records_own_key_use(method: &str, path: &str) -> bool {
    method == "POST" && path == "/v1/chat/completions"
}

/// A call answered before it reached the pool, and the model it asked for (when it named one).
struct Refused {
    model: Option<String>,
    response: Response,
}

impl Refused {
    fn new(model: Option<&str>, response: impl IntoResponse) -> Refused {
        Refused {
            model: model.map(str::to_string),
            response: response.into_response(),
        }
    }
}

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

/// `GET /v1/models`: the base models the pool's healthy backends serve (only `local` ones
/// unless the tenant's policy allows external backends), then the tenant's adapters that have
/// an active or canary version, in the OpenAI list shape. Other tenants' adapters never appear.
pub async fn models(State(platform): State<Platform>, auth: Auth) -> HttpResult<Response> {
    let proof = auth.authorize(&platform, MODELS_PERMISSION).await?;
    let Some(pool) = pool(&platform) else {
        return Ok(not_configured());
    };
    let tenant = aoi_platform::tenants::tenant_id_of(&platform, &proof.principal().tenant).await?;
    let policy = models::inference_policy(&platform, tenant).await?;
    let mut data: Vec<Value> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for backend in pool.stats() {
        if !backend.healthy || (backend.trust == Trust::External && !policy.allow_external) {
            continue;
        }
        for model in backend.models {
            if !seen.contains(&model) && !models::is_upstream_name(&model) {
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
    for version in models::list_adapters(&platform, &proof).await? {
        let live = matches!(
            version.status,
            AdapterStatus::Active | AdapterStatus::Canary
        );
        if live && !seen.contains(&version.name) {
            data.push(json!({
                "id": version.name,
                "object": "model",
                "created": version.created_at.timestamp(),
                "owned_by": proof.principal().tenant.as_str(),
                "parent": version.base_model,
            }));
            seen.push(version.name);
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

/// The audit record of one call (actor, model, backend, tokens when reported), queued on the
/// platform's audit sink: written in a batch behind the answer.
async fn record(
    platform: &Platform,
    proof: &aoi_control::authz::Authorized,
    model: &str,
    details: Value,
) -> Result<(), ApiError> {
    audit::record_usage(platform, proof, "inference.chat", model, details).await
}

/// `POST /v1/chat/completions`. The body is read after authorization, so that a malformed
/// one is recorded with its caller like any other refusal.
pub async fn chat_completions(
    State(platform): State<Platform>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<ApiJson<Value>, HttpError>,
) -> HttpResult<Response> {
    let proof = auth.authorize(&platform, CHAT_PERMISSION).await?;
    match chat(&platform, &proof, &headers, body).await {
        Ok(response) => Ok(response),
        Err(refused) => {
            let status = refused.response.status().as_u16();
            let model = refused.model.unwrap_or_default();
            let details = json!({"model": model, "refused": status});
            record(&platform, &proof, &model, details).await?;
            Ok(refused.response)
        }
    }
}

/// The call once authorized: a refusal before the pool, or the answer (recorded here).
async fn chat(
    platform: &Platform,
    proof: &aoi_control::authz::Authorized,
    headers: &HeaderMap,
    body: Result<ApiJson<Value>, HttpError>,
) -> Result<Response, Refused> {
    let started = Instant::now();
    let ApiJson(mut body) = body.map_err(|e| Refused::new(None, e))?;
    let Some(pool) = pool(platform).cloned() else {
        return Err(Refused::new(None, not_configured()));
    };
    if !body.is_object() {
        return Err(Refused::new(
            None,
            HttpError::bad_request("body", "must be a JSON object"),
        ));
    }
    let requested = match body.get("model").and_then(Value::as_str) {
        Some(m) if !m.trim().is_empty() => m.to_string(),
        _ => {
            let error = ApiError::invalid_input(
                "model",
                "is required: name a model or adapter from GET /v1/models",
            );
            return Err(Refused::new(None, HttpError::from(error)));
        }
    };
    let refuse = |e: ApiError| Refused::new(Some(&requested), HttpError::from(e));
    if !body.get("messages").is_some_and(Value::is_array) {
        return Err(refuse(ApiError::invalid_input(
            "messages",
            "is required: a list of chat messages",
        )));
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let affinity = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let slug = proof.principal().tenant.as_str().to_string();
    let tenant = aoi_platform::tenants::tenant_id_of(platform, &proof.principal().tenant)
        .await
        .map_err(refuse)?;
    let policy = models::inference_policy(platform, tenant)
        .await
        .map_err(refuse)?;
    let resolved =
        match models::resolve_model(platform, tenant, &slug, &requested, affinity.as_deref()).await
        {
            Ok(resolved) => resolved,
            Err(e) => {
                platform
                    .inference_metrics
                    .series(&slug, &requested)
                    .count(Outcome::Rejected);
                return Err(refuse(e));
            }
        };
    let series = platform
        .inference_metrics
        .counter(&slug, &resolved.name, resolved.version);
    let quotas = platform.quotas.clone();
    quotas.set_limits(
        &slug,
        QuotaLimits {
            max_concurrent: policy.max_concurrent,
            tokens_per_minute: policy.tokens_per_minute,
            tokens_per_day: policy.tokens_per_day,
        },
    );
    let mut permit = match quotas.acquire(&slug, estimate_tokens(&body)).await {
        Ok(permit) => permit,
        Err(e) => {
            series.count(match e {
                QuotaError::Exceeded(_) => Outcome::RateLimited,
                QuotaError::Store(_) => Outcome::Failed,
            });
            return Err(Refused::new(Some(&requested), quota_error(&e)));
        }
    };
    let mut redactor = Redactor::new(if policy.redact_identifiers {
        RedactionPolicy::with_identifiers()
    } else {
        RedactionPolicy::secrets_only()
    });
    redact_messages(&mut body, &mut redactor);
    let redactor = Arc::new(redactor);
    let request = ChatRequest {
        body,
        model: resolved.upstream.clone(),
        adapter: resolved.adapter.as_ref().map(|a| LoraAdapter {
            name: a.name.clone(),
            path: a.path.clone(),
            base_model: a.base_model.clone(),
        }),
        affinity,
        allow_external: policy.allow_external,
    };
    let redacted = redactor.len();
    let mut details = json!({
        "model": requested,
        "upstream": resolved.upstream,
        "version": resolved.version,
        "stream": stream,
        "redacted": redacted,
    });
    if stream {
        return match pool.chat_stream(request).await {
            Ok(chunks) => {
                series.count(Outcome::Ok);
                details["backend"] = json!(chunks.backend());
                if let Err(e) = record(platform, proof, &requested, details).await {
                    return Ok(HttpError::from(e).into_response());
                }
                let relay = Relay {
                    usage: chunks.usage(),
                    chunks,
                    restorer: (!redactor.is_empty()).then(|| StreamRestorer::new(redactor)),
                    series,
                    started,
                    _permit: permit,
                    ended: false,
                };
                let body = futures_util::stream::unfold(relay, Relay::next);
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
                series.count(outcome_of(&e));
                charge(&quotas, &mut permit, 0).await;
                drop(permit);
                details["error"] = json!(e.to_string());
                if let Err(e) = record(platform, proof, &requested, details).await {
                    return Ok(HttpError::from(e).into_response());
                }
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
            let elapsed = started.elapsed();
            let usage = response.usage.unwrap_or_default();
            series.count(Outcome::Ok);
            series.answered(
                elapsed,
                Some(elapsed),
                usage.prompt_tokens,
                usage.completion_tokens,
            );
            details["backend"] = json!(response.backend);
            details["attempts"] = json!(response.attempts);
            details["prompt_tokens"] = json!(usage.prompt_tokens);
            details["completion_tokens"] = json!(usage.completion_tokens);
            if let Err(e) = record(platform, proof, &requested, details).await {
                return Ok(HttpError::from(e).into_response());
            }
            restore_choices(&mut reply, &redactor);
            // The caller sees the name it asked for, not the upstream adapter name.
            if let Some(model) = reply.get_mut("model") {
                *model = json!(requested);
            }
            Ok(Json(reply).into_response())
        }
        Err(e) => {
            series.count(outcome_of(&e));
            charge(&quotas, &mut permit, 0).await;
            drop(permit);
            details["error"] = json!(e.to_string());
            if let Err(e) = record(platform, proof, &requested, details).await {
                return Ok(HttpError::from(e).into_response());
            }
            Ok(router_error(&e))
        }
    }
}

/// How a pool error is counted on /metrics.
fn outcome_of(e: &RouterError) -> Outcome {
    match e.http_status() {
        429 => Outcome::RateLimited,
        400..=499 => Outcome::Rejected,
        _ => Outcome::Failed,
    }
}

/// A stream on its way to the caller: restores placeholders in the deltas, ends with an SSE
/// error event when the upstream breaks, holds the quota permit, and records the stream's
/// figures once when it is dropped (finished, broken, or abandoned by the caller).
struct Relay {
    chunks: ChatStream,
    usage: StreamUsage,
    restorer: Option<StreamRestorer>,
    series: Counter,
    started: Instant,
    _permit: QuotaPermit,
    ended: bool,
}

impl Relay {
    fn flush(&mut self) -> Vec<u8> {
        self.restorer
            .as_mut()
            .map(StreamRestorer::finish)
            .unwrap_or_default()
    }

    async fn next(mut self) -> Option<(Result<Bytes, std::convert::Infallible>, Relay)> {
        if self.ended {
            return None;
        }
        loop {
            match self.chunks.next().await {
                Some(Ok(bytes)) => {
                    let out = match &mut self.restorer {
                        Some(restorer) => Bytes::from(restorer.push(&bytes)),
                        None => bytes,
                    };
                    if !out.is_empty() {
                        return Some((Ok(out), self));
                    }
                }
                Some(Err(e)) => {
                    self.ended = true;
                    let mut out = self.flush();
                    let event = json!({"error": {"code": "unavailable", "message": e.to_string()}});
                    out.extend_from_slice(format!("data: {event}\n\n").as_bytes());
                    return Some((Ok(Bytes::from(out)), self));
                }
                None => {
                    self.ended = true;
                    let out = self.flush();
                    if out.is_empty() {
                        return None;
                    }
                    return Some((Ok(Bytes::from(out)), self));
                }
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let usage = self.usage.usage();
        self.series.answered(
            self.started.elapsed(),
            self.usage.time_to_first_token(),
            usage.prompt_tokens,
            usage.completion_tokens,
        );
    }
}
