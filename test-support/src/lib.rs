//! aoi-test-support: a scripted fake OpenAI-compatible (vLLM) server over real HTTP, for tests
//! and benchmarks of the inference clients. Depends on no AOI crate.
//!
//! Endpoints: `POST /v1/chat/completions` (JSON, or SSE when `"stream": true`), `GET /v1/models`
//! (base models plus loaded LoRA adapters), `GET /health`, `POST /v1/load_lora_adapter`,
//! `POST /v1/unload_lora_adapter`. Replies come from a queue, then from rules matched on the last
//! user message, then from a default. Failures can be scripted (first N requests) or random.
//!
//! A request with `"logprobs": true` gets `choices[0].logprobs.content` (one made-up entry per
//! whitespace-separated piece of the reply), as vLLM answers; streamed replies carry none.
//!
//! LoRA loads: a `lora_path` starting with `missing/` fails with 404 as vLLM does for a path it
//! cannot read; [`FakeServer::set_load_delay`] slows loads down and [`FakeServer::load_calls`]
//! counts them.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Reply with `reply` when the last user message contains `contains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRule {
    pub contains: String,
    pub reply: String,
}

/// The replies file of `fake-vllm` and the reply part of [`FakeConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplyScript {
    /// Consumed in order, before rules apply.
    pub queue: Vec<String>,
    pub rules: Vec<ReplyRule>,
    /// Used when the queue is empty and no rule matches.
    pub default: String,
}

/// How the fake server behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeConfig {
    /// Base model names; the first one is the default.
    pub models: Vec<String>,
    /// Delay before each chat reply starts.
    pub latency: Duration,
    /// Streaming pace; `None` streams at once.
    pub tokens_per_sec: Option<f64>,
    /// Share of chat requests (after the scripted failures) answered with 503, 0.0 to 1.0.
    pub error_rate: f64,
    /// Status codes for the first chat requests, in order (e.g. `[503, 503]`, `[429]`).
    pub fail_first: Vec<u16>,
    pub replies: ReplyScript,
    /// Seed of the error-rate draw, so runs repeat.
    pub seed: u64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            models: vec!["fake-model".to_string()],
            latency: Duration::ZERO,
            tokens_per_sec: None,
            error_rate: 0.0,
            fail_first: Vec::new(),
            replies: ReplyScript {
                default: "ok".to_string(),
                ..ReplyScript::default()
            },
            seed: 7,
        }
    }
}

#[derive(Debug, Clone)]
struct LoraAdapter {
    name: String,
    path: String,
}

struct Shared {
    config: FakeConfig,
    requests: Arc<Mutex<Vec<Value>>>,
    queue: Mutex<VecDeque<String>>,
    failures: Mutex<VecDeque<u16>>,
    adapters: Mutex<Vec<LoraAdapter>>,
    rng: Mutex<u64>,
    load_calls: AtomicUsize,
    load_delay_micros: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// A uniform draw in [0, 1) from a xorshift generator.
    fn draw(&self) -> f64 {
        let mut state = lock(&self.rng);
        let mut x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn knows_model(&self, model: &str) -> bool {
        self.config.models.iter().any(|m| m == model)
            || lock(&self.adapters).iter().any(|a| a.name == model)
    }

    fn reply_for(&self, last_user: &str) -> String {
        if let Some(reply) = lock(&self.queue).pop_front() {
            return reply;
        }
        self.config
            .replies
            .rules
            .iter()
            .find(|rule| last_user.contains(&rule.contains))
            .map_or_else(
                || self.config.replies.default.clone(),
                |rule| rule.reply.clone(),
            )
    }
}

/// A running fake server. Dropping it shuts it down.
pub struct FakeServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Value>>>,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// `http://127.0.0.1:PORT`, without `/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The JSON bodies of every chat completion request received, in order.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.requests).clone()
    }

    /// `POST /v1/load_lora_adapter` calls received so far, failed ones included.
    pub fn load_calls(&self) -> usize {
        self.shared.load_calls.load(Ordering::SeqCst)
    }

    /// Makes every later adapter load wait `delay` before answering (as a real load takes time).
    pub fn set_load_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.shared
            .load_delay_micros
            .store(micros, Ordering::SeqCst);
    }

    /// The LoRA adapters loaded now, as `(lora_name, lora_path)`.
    pub fn adapters(&self) -> Vec<(String, String)> {
        lock(&self.shared.adapters)
            .iter()
            .map(|a| (a.name.clone(), a.path.clone()))
            .collect()
    }

    /// The shared request log, for callers that keep reading it.
    pub fn request_log(&self) -> Arc<Mutex<Vec<Value>>> {
        Arc::clone(&self.requests)
    }

    /// Stops accepting requests and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until the process ends (for the `fake-vllm` binary).
    pub async fn serve_forever(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the fake server on 127.0.0.1, port 0 (any free port).
pub async fn spawn(config: FakeConfig) -> std::io::Result<FakeServer> {
    spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

/// Starts the fake server on `addr`.
pub async fn spawn_on(config: FakeConfig, addr: SocketAddr) -> std::io::Result<FakeServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let requests = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::new(Shared {
        queue: Mutex::new(config.replies.queue.iter().cloned().collect()),
        failures: Mutex::new(config.fail_first.iter().copied().collect()),
        adapters: Mutex::new(Vec::new()),
        rng: Mutex::new(config.seed.max(1)),
        requests: Arc::clone(&requests),
        load_calls: AtomicUsize::new(0),
        load_delay_micros: AtomicU64::new(0),
        config,
    });
    let (tx, rx) = oneshot::channel::<()>();
    let served = Arc::clone(&shared);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router(served))
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(FakeServer {
        addr,
        requests,
        shared,
        shutdown: Some(tx),
        task: Some(task),
    })
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/health", get(health))
        .route("/v1/load_lora_adapter", post(load_lora_adapter))
        .route("/v1/unload_lora_adapter", post(unload_lora_adapter))
        .with_state(shared)
}

fn error(status: StatusCode, message: &str) -> Response {
    let body =
        json!({"error": {"message": message, "type": "fake_error", "code": status.as_u16()}});
    (status, Json(body)).into_response()
}

fn whitespace_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

fn message_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

async fn chat_completions(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body is not JSON: {e}")),
    };
    lock(&shared.requests).push(request.clone());
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    let scripted_failure = lock(&shared.failures).pop_front();
    if let Some(code) = scripted_failure {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return error(status, "scripted failure");
    }
    if shared.config.error_rate > 0.0 && shared.draw() < shared.config.error_rate {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "random failure (error rate)",
        );
    }
    let model = request.get("model").and_then(Value::as_str).map_or_else(
        || shared.config.models.first().cloned().unwrap_or_default(),
        str::to_string,
    );
    if !shared.knows_model(&model) {
        return error(
            StatusCode::NOT_FOUND,
            &format!("The model `{model}` does not exist."),
        );
    }
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(message_text)
        .unwrap_or_default();
    let prompt_tokens: u64 = messages
        .iter()
        .map(|m| whitespace_tokens(&message_text(m)))
        .sum();
    let reply = shared.reply_for(&last_user);
    let completion_tokens = whitespace_tokens(&reply);
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens
    });
    let id = format!("chatcmpl-fake-{}", lock(&shared.requests).len());
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        let include_usage = request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        return stream_reply(&shared, id, model, reply, include_usage.then_some(usage));
    }
    let mut choice = json!({
        "index": 0,
        "message": {"role": "assistant", "content": reply},
        "finish_reason": "stop"
    });
    if request.get("logprobs").and_then(Value::as_bool) == Some(true)
        && let Some(object) = choice.as_object_mut()
    {
        object.insert("logprobs".to_string(), token_logprobs(&reply));
    }
    Json(json!({
        "id": id,
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [choice],
        "usage": usage
    }))
    .into_response()
}

/// vLLM's `choices[0].logprobs` for `reply`: one entry per whitespace-separated piece, with a
/// made-up log-probability that is finite, at most 0 and lower for longer pieces.
fn token_logprobs(reply: &str) -> Value {
    let content: Vec<Value> = reply
        .split_whitespace()
        .map(|token| {
            let logprob = -0.01 * token.chars().count() as f64;
            json!({
                "token": token,
                "logprob": logprob,
                "bytes": token.as_bytes(),
                "top_logprobs": []
            })
        })
        .collect();
    json!({ "content": content })
}

/// Splits a reply into chunks of one word each, the whitespace after it included.
fn word_chunks(reply: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for c in reply.chars() {
        if !c.is_whitespace() && in_space {
            chunks.push(std::mem::take(&mut current));
            in_space = false;
        }
        if c.is_whitespace() {
            in_space = true;
        }
        current.push(c);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn stream_reply(
    shared: &Shared,
    id: String,
    model: String,
    reply: String,
    usage: Option<Value>,
) -> Response {
    let delay = shared
        .config
        .tokens_per_sec
        .filter(|tps| *tps > 0.0)
        .map(|tps| Duration::from_secs_f64(1.0 / tps));
    let chunk = move |delta: Value, finish: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        })
    };
    let mut events: Vec<(Option<Duration>, String)> = Vec::new();
    events.push((
        None,
        sse(&chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )),
    ));
    for word in word_chunks(&reply) {
        events.push((delay, sse(&chunk(json!({"content": word}), Value::Null))));
    }
    let mut last = chunk(json!({}), json!("stop"));
    if let (Some(usage), Some(object)) = (usage, last.as_object_mut()) {
        object.insert("usage".to_string(), usage);
    }
    events.push((None, sse(&last)));
    events.push((None, "data: [DONE]\n\n".to_string()));
    let stream = futures_util::stream::unfold(events.into_iter(), |mut events| async move {
        let (delay, text) = events.next()?;
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        Some((Ok::<_, std::convert::Infallible>(text), events))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|e| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot build the stream: {e}"),
            )
        })
}

fn sse(value: &Value) -> String {
    format!("data: {value}\n\n")
}

async fn models(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut data: Vec<Value> = shared
        .config
        .models
        .iter()
        .map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": "aoi-fake", "root": m, "parent": null}))
        .collect();
    let base = shared.config.models.first().cloned().unwrap_or_default();
    for adapter in lock(&shared.adapters).iter() {
        data.push(json!({"id": adapter.name, "object": "model", "created": 0, "owned_by": "aoi-fake", "root": adapter.path, "parent": base}));
    }
    Json(json!({"object": "list", "data": data}))
}

async fn health() -> StatusCode {
    StatusCode::OK
}

#[derive(Debug, Deserialize)]
struct LoadLora {
    lora_name: String,
    lora_path: String,
}

#[derive(Debug, Deserialize)]
struct UnloadLora {
    lora_name: String,
}

async fn load_lora_adapter(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<LoadLora>,
) -> Response {
    shared.load_calls.fetch_add(1, Ordering::SeqCst);
    let delay = shared.load_delay_micros.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_micros(delay)).await;
    }
    if body.lora_path.starts_with("missing/") {
        return error(
            StatusCode::NOT_FOUND,
            &format!(
                "Loading lora {} failed: No adapter found for {}",
                body.lora_name, body.lora_path
            ),
        );
    }
    if body.lora_name.trim().is_empty() || body.lora_path.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "lora_name and lora_path are required",
        );
    }
    let mut adapters = lock(&shared.adapters);
    if adapters.iter().any(|a| a.name == body.lora_name)
        || shared.config.models.contains(&body.lora_name)
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "The lora adapter '{}' has already been loaded.",
                body.lora_name
            ),
        );
    }
    adapters.push(LoraAdapter {
        name: body.lora_name.clone(),
        path: body.lora_path,
    });
    (
        StatusCode::OK,
        format!(
            "Success: LoRA adapter '{}' added successfully.",
            body.lora_name
        ),
    )
        .into_response()
}

async fn unload_lora_adapter(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<UnloadLora>,
) -> Response {
    let mut adapters = lock(&shared.adapters);
    let before = adapters.len();
    adapters.retain(|a| a.name != body.lora_name);
    if adapters.len() == before {
        return error(
            StatusCode::NOT_FOUND,
            &format!("The lora adapter '{}' cannot be found.", body.lora_name),
        );
    }
    (
        StatusCode::OK,
        format!(
            "Success: LoRA adapter '{}' removed successfully.",
            body.lora_name
        ),
    )
        .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_the_text() {
        let reply = "{\"a\": 1,  \"b\"}\n x";
        assert_eq!(word_chunks(reply).concat(), reply);
        assert_eq!(word_chunks(reply).len(), 4);
        assert!(word_chunks("").is_empty());
    }

    #[test]
    fn logprobs_have_one_finite_non_positive_entry_per_piece() {
        let value = token_logprobs("{\"a\": 1,\n  \"b\"}");
        let content = value["content"].as_array().unwrap();
        let tokens: Vec<&str> = content
            .iter()
            .map(|e| e["token"].as_str().unwrap())
            .collect();
        assert_eq!(tokens, ["{\"a\":", "1,", "\"b\"}"]);
        for entry in content {
            let logprob = entry["logprob"].as_f64().unwrap();
            assert!(logprob.is_finite() && logprob <= 0.0, "{entry}");
        }
        assert!(token_logprobs("").pointer("/content/0").is_none());
    }
}
