//! On-demand LoRA adapters: loading an adapter on a backend that may load it (least outstanding,
//! trust respected, failover to the next one), deduplicating concurrent loads, and unloading.

use crate::backend::Backend;
use crate::error::RouterError;
use crate::pool::{Inner, lock};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::OnceCell;

/// A LoRA adapter a request may name, loadable on demand on backends with `load_adapters = true`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoraAdapter {
    /// The name vLLM serves it under (`lora_name`); requests use it as their `model`.
    pub name: String,
    /// Where vLLM reads it from (`lora_path`), as the backend sees it.
    pub path: String,
    /// The base model it applies to; only backends serving this base may load it.
    pub base_model: String,
}

/// The outcome of one load, shared by every request that waited for it.
pub(crate) type LoadOutcome = Result<String, RouterError>;

/// In-progress loads, keyed by adapter name and whether external backends may be used.
pub(crate) type LoadMap = std::collections::HashMap<(String, bool), Arc<OnceCell<LoadOutcome>>>;

/// Longest backend answer kept in an error message.
const MAX_ANSWER: usize = 500;

fn shorten(mut text: String) -> String {
    if text.len() > MAX_ANSWER {
        let mut cut = MAX_ANSWER;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// A failed load on one backend.
struct LoadFailure {
    status: Option<u16>,
    answer: String,
}

impl Inner {
    /// The backend (of those the tenant may use) that lists `adapter`, if any.
    fn listing(&self, adapter: &LoraAdapter, allow_external: bool) -> Option<String> {
        let now = std::time::Instant::now();
        self.backends
            .iter()
            .find(|b| b.is_eligible(&adapter.name, allow_external, now))
            .map(|b| b.name().to_string())
    }

    /// Makes sure a backend the tenant may use lists `adapter`, loading it when none does.
    /// `Ok(None)`: no backend may load it (the caller then reports "no backend serves ...").
    /// Concurrent calls for the same adapter share one load.
    pub(crate) async fn ensure_adapter(
        &self,
        adapter: &LoraAdapter,
        allow_external: bool,
    ) -> Result<Option<String>, RouterError> {
        if let Some(name) = self.listing(adapter, allow_external) {
            return Ok(Some(name));
        }
        let now = std::time::Instant::now();
        if !self
            .backends
            .iter()
            .any(|b| b.may_load(&adapter.base_model, allow_external, now))
        {
            return Ok(None);
        }
        let key = (adapter.name.clone(), allow_external);
        let cell = Arc::clone(lock(&self.loads).entry(key.clone()).or_default());
        let outcome = cell
            .get_or_init(|| self.load_somewhere(adapter, allow_external))
            .await
            .clone();
        let mut loads = lock(&self.loads);
        if loads.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            loads.remove(&key);
        }
        outcome.map(Some)
    }

    /// Loads `adapter` on the least busy backend that may load it, then on the next one after a
    /// failure; the error names the last failure.
    async fn load_somewhere(&self, adapter: &LoraAdapter, allow_external: bool) -> LoadOutcome {
        // A load that finished while this one waited for the lock may have done the work.
        if let Some(name) = self.listing(adapter, allow_external) {
            return Ok(name);
        }
        let now = std::time::Instant::now();
        let mut candidates: Vec<usize> = (0..self.backends.len())
            .filter(|&i| self.backends[i].may_load(&adapter.base_model, allow_external, now))
            .collect();
        let mut last: Option<(String, LoadFailure)> = None;
        while let Some(i) = self.least_outstanding(&candidates) {
            candidates.retain(|&c| c != i);
            let backend = &self.backends[i];
            match self.load_on(backend, adapter).await {
                Ok(()) => return Ok(backend.name().to_string()),
                Err(failure) => {
                    tracing::warn!(pool = %self.name, backend = %backend.name(), adapter = %adapter.name,
                        status = ?failure.status, answer = %failure.answer, "LoRA adapter load failed");
                    last = Some((backend.name().to_string(), failure));
                }
            }
        }
        Err(match last {
            Some((backend, failure)) => RouterError::AdapterLoad {
                adapter: adapter.name.clone(),
                path: adapter.path.clone(),
                backend,
                status: failure.status,
                answer: failure.answer,
            },
            None => RouterError::Unavailable {
                pool: self.name.clone(),
                reason: format!(
                    "no healthy backend serves model `{}`, and none may load it now",
                    adapter.name
                ),
            },
        })
    }

    /// `POST /v1/load_lora_adapter` on one backend; on success the adapter counts as served there.
    async fn load_on(&self, backend: &Backend, adapter: &LoraAdapter) -> Result<(), LoadFailure> {
        let metrics = &backend.metrics;
        let body = json!({"lora_name": adapter.name, "lora_path": adapter.path});
        let exchange = async {
            let response = self
                .admin_post(backend, "/v1/load_lora_adapter", &body)
                .send()
                .await?;
            let status = response.status().as_u16();
            let text = response.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        };
        let result = match exchange.await {
            Err(e) if e.is_timeout() => Err(LoadFailure {
                status: None,
                answer: format!("no answer within {:?}", self.options.attempt_timeout),
            }),
            Err(e) => Err(LoadFailure {
                status: None,
                answer: e.to_string(),
            }),
            Ok((status, _)) if (200..300).contains(&status) => Ok(()),
            // Loaded meanwhile (by another router, or before our last health round): it is served.
            Ok((400, text)) if text.contains("already been loaded") => Ok(()),
            Ok((status, text)) => Err(LoadFailure {
                status: Some(status),
                answer: shorten(text),
            }),
        };
        match &result {
            Ok(()) => {
                metrics.adapter_loads.fetch_add(1, Ordering::Relaxed);
                backend.add_adapter(&adapter.name, &adapter.base_model);
                tracing::info!(pool = %self.name, backend = %backend.name(), adapter = %adapter.name, "LoRA adapter loaded");
            }
            Err(_) => {
                metrics
                    .adapter_load_failures
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// `POST /v1/unload_lora_adapter` on every backend that lists `name`.
    pub(crate) async fn unload_adapter(&self, name: &str) -> Vec<(String, Result<(), String>)> {
        let listing: Vec<&Arc<Backend>> = self
            .backends
            .iter()
            .filter(|b| b.lists_adapter(name))
            .collect();
        let body = json!({"lora_name": name});
        let unloads = listing.into_iter().map(|backend| {
            let body = &body;
            async move {
                let result = async {
                    let response = self
                        .admin_post(backend, "/v1/unload_lora_adapter", body)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    // 404: vLLM no longer has it, which is what was asked.
                    if (200..300).contains(&status) || status == 404 {
                        Ok(())
                    } else {
                        Err(format!("answered {status}: {}", shorten(text)))
                    }
                }
                .await;
                if result.is_ok() {
                    backend.remove_adapter(name);
                }
                (backend.name().to_string(), result)
            }
        });
        futures_util::future::join_all(unloads).await
    }

    fn admin_post(
        &self,
        backend: &Backend,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::RequestBuilder {
        let request = self
            .client
            .post(format!("{}{path}", backend.base_url))
            .timeout(self.options.attempt_timeout)
            .json(body);
        match &backend.spec.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }
}
