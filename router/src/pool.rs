//! The pool: backend selection (least outstanding, ties broken by weight, session affinity),
//! the retry loop shared by [`Pool::chat`] and [`Pool::chat_stream`], and the health task.

use crate::adapters::{LoadMap, LoraAdapter};
use crate::backend::{Backend, Lease, Served, try_lease};
use crate::breaker::BreakerState;
use crate::config::{BackendSpec, PoolOptions, Trust, validate};
use crate::error::RouterError;
use crate::metrics::HistogramSnapshot;
use crate::stream::{ChatStream, Usage};
use bytes::Bytes;
use rand::Rng;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Affinity keys remembered at most; past this the map starts over (sessions then re-stick).
const AFFINITY_CAPACITY: usize = 100_000;

/// Longest upstream error body kept in an error message.
const MAX_ERROR_BODY: usize = 1000;

/// One chat completion request, as the server hands it to the pool.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The OpenAI-compatible body; `model` and `stream` are set by the pool.
    pub body: Value,
    /// The base model or LoRA adapter to use; only backends that list it get the request.
    pub model: String,
    /// The LoRA adapter `model` names, when it is one the pool may load on demand (then
    /// `model == adapter.name`): if no backend the tenant may use lists it, the pool loads it on
    /// the least busy backend with `load_adapters = true` that serves `adapter.base_model`.
    pub adapter: Option<LoraAdapter>,
    /// Requests with the same key (the agent session id) stick to one backend while it is eligible.
    pub affinity: Option<String>,
    /// Whether the tenant's policy lets its traffic reach `trust = "external"` backends.
    pub allow_external: bool,
}

/// A completed, non-streaming answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The backend that answered.
    pub backend: String,
    /// The upstream JSON body, unchanged.
    pub body: Value,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// The body's `usage`, when it has one.
    pub usage: Option<Usage>,
}

/// One backend's figures, for /metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendStats {
    pub name: String,
    pub url: String,
    pub trust: Trust,
    pub healthy: bool,
    pub breaker: BreakerState,
    pub in_flight: usize,
    /// Attempts sent to this backend (retries count once each).
    pub requests: u64,
    /// Attempts that failed: connect errors, timeouts, 429, 4xx, 5xx, broken bodies or streams.
    pub errors: u64,
    /// Base models and LoRA adapters from its last `/v1/models` (and adapters loaded since).
    pub models: Vec<String>,
    /// Seconds per request answered here: a whole non-streaming request (retries included), or a
    /// stream until it ended (completed, broke, or was dropped).
    pub latency: HistogramSnapshot,
    /// Seconds to the first token: a stream's first chunk with content; for a non-streaming
    /// request, its latency.
    pub ttft: HistogramSnapshot,
    /// Prompt tokens of the requests answered here (`usage.prompt_tokens`; streams without a
    /// `usage` chunk add 0).
    pub tokens_in: u64,
    /// Completion tokens (`usage.completion_tokens`; for streams without a `usage` chunk, the
    /// chunks with content).
    pub tokens_out: u64,
    /// LoRA adapters this pool loaded here.
    pub adapter_loads: u64,
    /// LoRA adapter loads that failed here.
    pub adapter_load_failures: u64,
}

enum Attempt<T> {
    Done(T),
    Retry(String),
    Fatal(RouterError),
}

pub(crate) struct Inner {
    pub(crate) name: String,
    pub(crate) backends: Vec<Arc<Backend>>,
    pub(crate) options: PoolOptions,
    pub(crate) client: reqwest::Client,
    /// Affinity key -> index of the backend it sticks to.
    affinity: Mutex<HashMap<String, usize>>,
    /// LoRA adapter loads in progress.
    pub(crate) loads: Mutex<LoadMap>,
}

/// A pool of vLLM backends. Cheap to share behind an `Arc`; dropping it stops its health task.
pub struct Pool {
    inner: Arc<Inner>,
    health_task: JoinHandle<()>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.health_task.abort();
    }
}

impl Pool {
    /// Checks the specs, probes every backend once, then keeps probing every `health_interval`
    /// in a background task. Must be called inside a tokio runtime.
    pub async fn new(
        name: impl Into<String>,
        specs: Vec<BackendSpec>,
        options: PoolOptions,
    ) -> Result<Pool, RouterError> {
        let name = name.into();
        validate(&name, &specs)?;
        let client = reqwest::Client::builder()
            .connect_timeout(options.attempt_timeout)
            .build()
            .map_err(|e| RouterError::Config {
                pool: name.clone(),
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        let backends = specs
            .into_iter()
            .map(|spec| {
                Arc::new(Backend::new(
                    spec,
                    options.breaker_threshold,
                    options.breaker_cooldown,
                ))
            })
            .collect();
        let inner = Arc::new(Inner {
            name,
            backends,
            options,
            client,
            affinity: Mutex::new(HashMap::new()),
            loads: Mutex::new(HashMap::new()),
        });
        inner.refresh().await;
        let health_task = tokio::spawn(health_loop(
            Arc::downgrade(&inner),
            inner.options.health_interval,
        ));
        Ok(Pool { inner, health_task })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Runs one health round now (also what the background task does each interval).
    pub async fn refresh(&self) {
        self.inner.refresh().await;
    }

    /// Forgets a session's backend (call when the session ends).
    pub fn forget_affinity(&self, key: &str) {
        lock(&self.inner.affinity).remove(key);
    }

    /// Per-backend figures, in config order.
    pub fn stats(&self) -> Vec<BackendStats> {
        let now = std::time::Instant::now();
        self.inner
            .backends
            .iter()
            .map(|b| BackendStats {
                name: b.spec.name.clone(),
                url: b.spec.url.clone(),
                trust: b.spec.trust,
                healthy: b.is_healthy(),
                breaker: b.breaker_state(now),
                in_flight: b.in_flight(),
                requests: b.requests(),
                errors: b.errors(),
                models: b.served_models(),
                latency: b.metrics.latency.snapshot(),
                ttft: b.metrics.ttft.snapshot(),
                tokens_in: b.metrics.tokens_in.load(Ordering::Relaxed),
                tokens_out: b.metrics.tokens_out.load(Ordering::Relaxed),
                adapter_loads: b.metrics.adapter_loads.load(Ordering::Relaxed),
                adapter_load_failures: b.metrics.adapter_load_failures.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Loads `adapter` now (pre-warm) unless a backend already lists it; returns the backend that
    /// serves it. External backends are candidates too; local ones are not preferred.
    pub async fn load_adapter(&self, adapter: &LoraAdapter) -> Result<String, RouterError> {
        match self.inner.ensure_adapter(adapter, true).await? {
            Some(backend) => Ok(backend),
            None => Err(RouterError::Unavailable {
                pool: self.inner.name.clone(),
                reason: format!(
                    "no healthy backend with `load_adapters = true` serves base model `{}`, so none may load LoRA adapter `{}`",
                    adapter.base_model, adapter.name
                ),
            }),
        }
    }

    /// Unloads the LoRA adapter `name` from every backend that lists it; one `(backend, outcome)`
    /// per backend asked (empty when none lists it). A backend that no longer had it counts as done.
    pub async fn unload_adapter(&self, name: &str) -> Vec<(String, Result<(), String>)> {
        self.inner.unload_adapter(name).await
    }

    /// A non-streaming chat completion, with retries, failover and the request deadline.
    /// A LoRA adapter the request names is loaded first when no backend lists it (see
    /// [`ChatRequest::adapter`]); the deadline covers the load.
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, RouterError> {
        let inner = &self.inner;
        let started = Instant::now();
        let body = prepared_body(&request, false);
        let deadline = started + inner.options.request_timeout;
        let run = async {
            inner.prepare_adapter(&request).await?;
            inner
                .with_retries(&request, |lease, until| {
                    attempt_chat(inner, &body, lease, until, started)
                })
                .await
        };
        match tokio::time::timeout_at(deadline, run).await {
            Ok(Ok(((backend, body, usage), attempts))) => Ok(ChatResponse {
                backend,
                body,
                attempts,
                usage,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(inner.deadline_error()),
        }
    }

    /// A streaming (SSE) chat completion. Retries and failover happen until the first chunk has
    /// arrived; after that a broken upstream ends the stream with a
    /// [`RouterError::StreamInterrupted`] item. The deadline covers the time to the first chunk;
    /// afterwards `attempt_timeout` bounds the silence between chunks.
    /// Adapters are loaded as for [`Pool::chat`]. [`ChatStream::usage`] gives its token counts and
    /// time to first token.
    pub async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream, RouterError> {
        let inner = &self.inner;
        let started = Instant::now();
        let body = prepared_body(&request, true);
        let deadline = started + inner.options.request_timeout;
        let run = async {
            inner.prepare_adapter(&request).await?;
            inner
                .with_retries(&request, |lease, until| {
                    attempt_stream(inner, &body, lease, until)
                })
                .await
        };
        let (lease, response, first) = match tokio::time::timeout_at(deadline, run).await {
            Ok(Ok((upstream, _attempts))) => upstream,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(inner.deadline_error()),
        };
        Ok(crate::stream::start(
            lease,
            response,
            first,
            inner.options.attempt_timeout,
            started,
        ))
    }
}

async fn attempt_chat(
    inner: &Inner,
    body: &Value,
    mut lease: Lease,
    until: Instant,
    started: Instant,
) -> Attempt<(String, Value, Option<Usage>)> {
    let backend = Arc::clone(&lease.backend);
    let exchange = async {
        let response = inner.post(&backend, body).send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, bytes))
    };
    match tokio::time::timeout_at(until, exchange).await {
        Err(_) => {
            lease.fail();
            Attempt::Retry(format!("backend `{}` timed out", backend.name()))
        }
        Ok(Err(e)) => {
            lease.fail();
            Attempt::Retry(format!("backend `{}`: {e}", backend.name()))
        }
        Ok(Ok((status, bytes))) if (200..300).contains(&status) => {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(body) => {
                    lease.succeed();
                    let usage = body.get("usage").and_then(Usage::from_json);
                    let metrics = &backend.metrics;
                    let elapsed = started.elapsed();
                    metrics.latency.observe(elapsed);
                    metrics.ttft.observe(elapsed);
                    if let Some(usage) = usage {
                        metrics.add_tokens(usage.prompt_tokens, usage.completion_tokens);
                    }
                    Attempt::Done((backend.name().to_string(), body, usage))
                }
                Err(e) => {
                    lease.fail();
                    Attempt::Retry(format!(
                        "backend `{}` answered a body that is not JSON: {e}",
                        backend.name()
                    ))
                }
            }
        }
        Ok(Ok((status, bytes))) => classify_failure(&mut lease, status, &bytes),
    }
}

async fn attempt_stream(
    inner: &Inner,
    body: &Value,
    mut lease: Lease,
    until: Instant,
) -> Attempt<(Lease, reqwest::Response, Bytes)> {
    let backend = Arc::clone(&lease.backend);
    let response = match tokio::time::timeout_at(until, inner.post(&backend, body).send()).await {
        Err(_) => {
            lease.fail();
            return Attempt::Retry(format!("backend `{}` timed out", backend.name()));
        }
        Ok(Err(e)) => {
            lease.fail();
            return Attempt::Retry(format!("backend `{}`: {e}", backend.name()));
        }
        Ok(Ok(response)) => response,
    };
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        let bytes = tokio::time::timeout_at(until, response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        return classify_failure(&mut lease, status, &bytes);
    }
    let mut response = response;
    match tokio::time::timeout_at(until, response.chunk()).await {
        Ok(Ok(Some(first))) => Attempt::Done((lease, response, first)),
        Ok(Ok(None)) => {
            lease.fail();
            Attempt::Retry(format!(
                "backend `{}` ended the stream before sending anything",
                backend.name()
            ))
        }
        Ok(Err(e)) => {
            lease.fail();
            Attempt::Retry(format!("backend `{}`: {e}", backend.name()))
        }
        Err(_) => {
            lease.fail();
            Attempt::Retry(format!("backend `{}` timed out", backend.name()))
        }
    }
}
/// A non-2xx answer: 429 and 5xx are retried (5xx counts toward the breaker), other statuses are
/// the request's own fault and end it.
fn classify_failure<T>(lease: &mut Lease, status: u16, body: &[u8]) -> Attempt<T> {
    let backend = lease.backend.name().to_string();
    let mut text = String::from_utf8_lossy(body).into_owned();
    if text.len() > MAX_ERROR_BODY {
        let mut cut = MAX_ERROR_BODY;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    if status == 429 {
        lease.fail_softly();
        Attempt::Retry(format!("backend `{backend}` is overloaded (429)"))
    } else if status >= 500 {
        lease.fail();
        Attempt::Retry(format!("backend `{backend}` answered {status}: {text}"))
    } else {
        lease.fail_softly();
        Attempt::Fatal(RouterError::Rejected {
            backend,
            status,
            body: text,
        })
    }
}

fn prepared_body(request: &ChatRequest, stream: bool) -> Value {
    let mut body = request.body.clone();
    if !body.is_object() {
        body = Value::Object(serde_json::Map::new());
    }
    if let Some(object) = body.as_object_mut() {
        object.insert("model".into(), Value::String(request.model.clone()));
        object.insert("stream".into(), Value::Bool(stream));
    }
    body
}

/// Jittered exponential backoff before retry `retry` (1-based): a random delay between half and
/// all of `base * 2^(retry-1)`, capped at `base * 64`.
fn backoff(base: Duration, retry: u32) -> Duration {
    let factor = 1u32 << retry.saturating_sub(1).min(6);
    let ceiling = base.saturating_mul(factor);
    let floor = ceiling / 2;
    let spread = ceiling.saturating_sub(floor).as_micros() as u64;
    let jitter = if spread == 0 {
        0
    } else {
        rand::rng().random_range(0..=spread)
    };
    floor + Duration::from_micros(jitter)
}

async fn health_loop(inner: Weak<Inner>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.refresh().await;
    }
}

impl Inner {
    fn post(&self, backend: &Backend, body: &Value) -> reqwest::RequestBuilder {
        let request = self
            .client
            .post(format!("{}/v1/chat/completions", backend.base_url))
            .json(body);
        match &backend.spec.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    fn get(&self, backend: &Backend, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .client
            .get(format!("{}{path}", backend.base_url))
            .timeout(self.options.health_timeout);
        match &backend.spec.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    fn deadline_error(&self) -> RouterError {
        RouterError::DeadlineExceeded {
            pool: self.name.clone(),
            after: self.options.request_timeout,
        }
    }

    /// One health round over every backend, concurrently.
    async fn refresh(&self) {
        let probes = self.backends.iter().map(|backend| async move {
            let probed_at = std::time::Instant::now();
            let (healthy, served) = self.probe(backend).await;
            let was = backend.set_health(healthy, served, probed_at);
            if was != healthy {
                if healthy {
                    tracing::info!(pool = %self.name, backend = %backend.name(), "backend back in rotation");
                } else {
                    tracing::warn!(pool = %self.name, backend = %backend.name(), "backend left rotation: health check failed");
                }
            }
        });
        futures_util::future::join_all(probes).await;
    }

    /// `GET /health` must answer 2xx and `GET /v1/models` must list models.
    async fn probe(&self, backend: &Backend) -> (bool, Option<Served>) {
        let health = async {
            self.get(backend, "/health")
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        };
        let models = async {
            let response = self.get(backend, "/v1/models").send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            let body: Value = response.json().await.ok()?;
            Served::from_models_list(&body)
        };
        let (healthy, served) = futures_util::future::join(health, models).await;
        (healthy && served.is_some(), served)
    }

    /// Picks a backend for `request`, skipping `exclude`; takes its slot and records the affinity.
    fn pick(&self, request: &ChatRequest, exclude: &[usize]) -> Option<Lease> {
        let now = std::time::Instant::now();
        let eligible = |i: usize| {
            !exclude.contains(&i)
                && self.backends[i].is_eligible(&request.model, request.allow_external, now)
        };
        if let Some(key) = &request.affinity {
            let sticky = lock(&self.affinity).get(key).copied();
            if let Some(i) = sticky.filter(|&i| i < self.backends.len() && eligible(i))
                && let Some(lease) = try_lease(&self.backends[i], now)
            {
                return Some(lease);
            }
        }
        let mut candidates: Vec<usize> =
            (0..self.backends.len()).filter(|&i| eligible(i)).collect();
        while !candidates.is_empty() {
            let choice = self.least_outstanding(&candidates)?;
            if let Some(lease) = try_lease(&self.backends[choice], now) {
                if let Some(key) = &request.affinity {
                    let mut affinity = lock(&self.affinity);
                    if affinity.len() >= AFFINITY_CAPACITY && !affinity.contains_key(key) {
                        affinity.clear();
                    }
                    affinity.insert(key.clone(), choice);
                }
                return Some(lease);
            }
            candidates.retain(|&i| i != choice);
        }
        None
    }

    /// The candidate with the fewest requests in flight; ties drawn at random in proportion to weight.
    pub(crate) fn least_outstanding(&self, candidates: &[usize]) -> Option<usize> {
        let fewest = candidates
            .iter()
            .map(|&i| self.backends[i].in_flight())
            .min()?;
        let tied: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| self.backends[i].in_flight() == fewest)
            .collect();
        let total: u64 = tied
            .iter()
            .map(|&i| u64::from(self.backends[i].spec.weight))
            .sum();
        if total == 0 {
            return tied.first().copied();
        }
        let mut draw = rand::rng().random_range(0..total);
        for &i in &tied {
            let weight = u64::from(self.backends[i].spec.weight);
            if draw < weight {
                return Some(i);
            }
            draw -= weight;
        }
        tied.last().copied()
    }

    /// Why no backend can take `request` right now, for the Unavailable message.
    fn no_backend_reason(&self, request: &ChatRequest) -> String {
        let serving: Vec<&Arc<Backend>> = self
            .backends
            .iter()
            .filter(|b| b.is_healthy() && b.serves(&request.model))
            .collect();
        if serving.is_empty() {
            let now = std::time::Instant::now();
            match &request.adapter {
                Some(adapter)
                    if self
                        .backends
                        .iter()
                        .any(|b| b.may_load(&adapter.base_model, request.allow_external, now)) =>
                {
                    format!(
                        "no healthy backend serves model `{}` yet (a LoRA adapter may be loading)",
                        request.model
                    )
                }
                Some(adapter) => format!(
                    "no healthy backend serves model `{}`, and none may load it: no healthy backend \
                     with `load_adapters = true` that this tenant may use serves its base model `{}`",
                    request.model, adapter.base_model
                ),
                None => format!("no healthy backend serves model `{}`", request.model),
            }
        } else if !request.allow_external && serving.iter().all(|b| b.spec.trust == Trust::External)
        {
            format!(
                "model `{}` is only served by external backends, which this tenant may not use",
                request.model
            )
        } else {
            format!(
                "no healthy backend serving model `{}` has a closed circuit and a free slot",
                request.model
            )
        }
    }

    /// Loads the request's LoRA adapter when no backend the tenant may use lists it yet.
    async fn prepare_adapter(&self, request: &ChatRequest) -> Result<(), RouterError> {
        let Some(adapter) = &request.adapter else {
            return Ok(());
        };
        if adapter.name != request.model {
            return Err(RouterError::Config {
                pool: self.name.clone(),
                reason: format!(
                    "the request's model `{}` differs from the name of its LoRA adapter `{}`",
                    request.model, adapter.name
                ),
            });
        }
        self.ensure_adapter(adapter, request.allow_external)
            .await
            .map(|_| ())
    }

    /// Tries backends until one attempt succeeds or fails for good: at most `1 + max_retries`
    /// attempts, untried backends first, jittered backoff between attempts.
    async fn with_retries<T, F, Fut>(
        &self,
        request: &ChatRequest,
        mut attempt: F,
    ) -> Result<(T, u32), RouterError>
    where
        F: FnMut(Lease, Instant) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let mut tried: Vec<usize> = Vec::new();
        let mut last: Option<String> = None;
        let mut made = 0u32;
        let mut found_none = false;
        let attempts = self.options.max_retries.saturating_add(1);
        for n in 0..attempts {
            if n > 0 {
                tokio::time::sleep(backoff(self.options.backoff_base, n)).await;
            }
            let lease = self
                .pick(request, &tried)
                .or_else(|| self.pick(request, &[]));
            let Some(lease) = lease else {
                found_none = true;
                continue;
            };
            found_none = false;
            made += 1;
            if let Some(i) = self
                .backends
                .iter()
                .position(|b| Arc::ptr_eq(b, &lease.backend))
            {
                tried.push(i);
            }
            let until = Instant::now() + self.options.attempt_timeout;
            match attempt(lease, until).await {
                Attempt::Done(value) => return Ok((value, n + 1)),
                Attempt::Retry(reason) => {
                    tracing::debug!(pool = %self.name, attempt = n + 1, %reason, "attempt failed");
                    last = Some(reason);
                }
                Attempt::Fatal(e) => return Err(e),
            }
        }
        let reason = match (found_none, last) {
            (false, Some(last)) if made > 1 => format!("{made} attempts failed, the last: {last}"),
            (false, Some(last)) => last,
            (_, None) => self.no_backend_reason(request),
            (true, Some(last)) => format!(
                "{}; {made} attempts failed before, the last: {last}",
                self.no_backend_reason(request)
            ),
        };
        Err(RouterError::Unavailable {
            pool: self.name.clone(),
            reason,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_jittered_and_capped() {
        let base = Duration::from_millis(100);
        for _ in 0..50 {
            let first = backoff(base, 1);
            assert!(
                first >= Duration::from_millis(50) && first <= base,
                "{first:?}"
            );
            let third = backoff(base, 3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(backoff(base, 40) <= base * 64);
        }
        assert_eq!(backoff(Duration::ZERO, 3), Duration::ZERO);
    }

    #[test]
    fn the_pool_sets_model_and_stream() {
        let request = ChatRequest {
            body: serde_json::json!({"model": "x", "messages": []}),
            model: "m".into(),
            affinity: None,
            allow_external: false,
            adapter: None,
        };
        let body = prepared_body(&request, true);
        assert_eq!(body["model"], "m");
        assert_eq!(body["stream"], true);
    }
}
