//! One chat completion over HTTP against an OpenAI-compatible endpoint, with retries.
//!
//! Timeouts, connection errors, 429 and 5xx are retried with exponential backoff and jitter;
//! other 4xx answers are not (asking again would get the same answer).
//!
//! With a [`Pool`] transport the pool does the retries, failover and deadline itself, so the
//! client sends each completion once and maps the pool's error.

use super::LlmConfig;
use super::schema::ReplySchema;
use aoi_core::{ChatMessage, PolicyError, Usage};
use aoi_router::{ChatRequest, LoraAdapter, Pool, RouterError};
use rand::Rng;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The model's text and what the call cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub content: String,
    pub usage: Usage,
    /// One log-probability per generated token, when asked for and the backend gave them.
    pub logprobs: Option<Vec<f64>>,
}

/// What went wrong with one attempt, and whether another may succeed.
enum AttemptError {
    Retryable(String),
    Fatal(String),
}

/// How a completion reaches a model.
enum Transport {
    /// Straight to `{base_url}/v1/chat/completions`, with the client's own retries.
    Direct { http: reqwest::Client, url: String },
    /// Through the inference pool, which retries and fails over itself.
    Pool {
        pool: Arc<Pool>,
        allow_external: bool,
        /// The tenant's LoRA adapter to use instead of `config.model`; the pool loads it on a
        /// backend that may load adapters when none lists it.
        adapter: Option<LoraAdapter>,
    },
}

pub struct ChatClient {
    transport: Transport,
    config: LlmConfig,
}

impl ChatClient {
    pub fn new(config: LlmConfig) -> Result<Self, PolicyError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| PolicyError::Other(format!("cannot build the HTTP client: {e}")))?;
        let url = format!(
            "{}/v1/chat/completions",
            config.base_url.trim_end_matches('/')
        );
        Ok(ChatClient {
            transport: Transport::Direct { http, url },
            config,
        })
    }

    /// A client that sends through `pool`; `config.base_url`, `api_key`, `timeout` and the
    /// retry settings are the pool's business and are not used.
    pub fn with_pool(config: LlmConfig, pool: Arc<Pool>, allow_external: bool) -> Self {
        ChatClient {
            transport: Transport::Pool {
                pool,
                allow_external,
                adapter: None,
            },
            config,
        }
    }

    /// Sends completions to `adapter` (a tenant's active LoRA adapter) rather than the base
    /// model; only meaningful through a pool.
    pub fn with_adapter(mut self, new: LoraAdapter) -> Self {
        if let Transport::Pool { adapter, .. } = &mut self.transport {
            *adapter = Some(new);
        }
        self
    }

    /// Whether completions go through a pool (and so want an affinity key).
    pub fn uses_pool(&self) -> bool {
        matches!(self.transport, Transport::Pool { .. })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    fn body(&self, messages: &[ChatMessage], schema: &ReplySchema) -> Value {
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema.name, "schema": schema.schema, "strict": true}
            }
        });
        if let Some(object) = body.as_object_mut() {
            if self.config.send_guided_json {
                object.insert("guided_json".to_string(), schema.schema.clone());
            }
            if self.config.logprobs {
                object.insert("logprobs".to_string(), Value::Bool(true));
            }
        }
        body
    }

    /// Sends one chat completion, retrying what may succeed on another try (directly) or
    /// letting the pool do so, keeping `affinity` on one backend while it is healthy.
    pub async fn complete(
        &self,
        messages: &[ChatMessage],
        schema: &ReplySchema,
        affinity: Option<&str>,
    ) -> Result<Completion, PolicyError> {
        let body = self.body(messages, schema);
        let (http, url) = match &self.transport {
            Transport::Direct { http, url } => (http, url),
            Transport::Pool {
                pool,
                allow_external,
                adapter,
            } => {
                let model = match adapter {
                    Some(adapter) => adapter.name.clone(),
                    None => self.config.model.clone(),
                };
                let request = ChatRequest {
                    body,
                    model,
                    adapter: adapter.clone(),
                    affinity: affinity.map(str::to_string),
                    allow_external: *allow_external,
                };
                return match pool.chat(request).await {
                    Ok(response) => Ok(parse_completion(&response.body)),
                    Err(error) => Err(pool_error(&error)),
                };
            }
        };
        let mut last_error = String::new();
        for attempt in 0..=self.config.max_retries {
            if attempt > 0 {
                tokio::time::sleep(self.backoff(attempt - 1)).await;
            }
            match attempt_direct(http, url, self.config.api_key.as_deref(), &body).await {
                Ok(completion) => return Ok(completion),
                Err(AttemptError::Fatal(message)) => return Err(PolicyError::Other(message)),
                Err(AttemptError::Retryable(message)) => last_error = message,
            }
        }
        Err(PolicyError::Unavailable(format!(
            "{url} after {} attempts: {last_error}",
            self.config.max_retries + 1
        )))
    }

    /// `base * 2^attempt`, capped at 30 s, half of it random.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.backoff_base.as_millis().min(30_000) as u64;
        let exp = base.saturating_mul(1u64 << attempt.min(16)).min(30_000);
        let half = exp / 2;
        let jitter = if half > 0 {
            rand::rng().random_range(0..=half)
        } else {
            0
        };
        Duration::from_millis(half + jitter)
    }
}

/// One attempt straight at the endpoint.
async fn attempt_direct(
    http: &reqwest::Client,
    url: &str,
    api_key: Option<&str>,
    body: &Value,
) -> Result<Completion, AttemptError> {
    let mut request = http.post(url).json(body);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.map_err(|e| transport_error(&e))?;
    let status = response.status();
    if status.as_u16() == 429 || status.is_server_error() {
        let text = response.text().await.unwrap_or_default();
        return Err(AttemptError::Retryable(format!(
            "HTTP {status}: {}",
            snippet(&text)
        )));
    }
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(AttemptError::Fatal(format!(
            "the model endpoint refused the request with HTTP {status}: {}; check the model name and the server's structured-output support",
            snippet(&text)
        )));
    }
    let value: Value = response.json().await.map_err(|e| transport_error(&e))?;
    Ok(parse_completion(&value))
}

/// The pool's error as the policy reports it: busy, down or late is `Unavailable` (another try
/// later may work); a refused request or a misconfigured pool is `Other`.
fn pool_error(error: &RouterError) -> PolicyError {
    match error.http_status() {
        429 | 502..=599 => PolicyError::Unavailable(error.to_string()),
        _ => PolicyError::Other(error.to_string()),
    }
}

fn transport_error(error: &reqwest::Error) -> AttemptError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_decode() {
        "reply body is not JSON"
    } else {
        "request failed"
    };
    AttemptError::Retryable(format!("{kind}: {error}"))
}

fn snippet(text: &str) -> String {
    let mut cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    cut
}

/// Reads `choices[0].message.content` and `usage`; a missing content is an empty reply (which
/// then fails to parse and is asked again).
fn parse_completion(value: &Value) -> Completion {
    let content = value
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let tokens = |name: &str| {
        value
            .pointer(&format!("/usage/{name}"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Completion {
        content,
        usage: Usage {
            input_tokens: tokens("prompt_tokens"),
            output_tokens: tokens("completion_tokens"),
            model_calls: 1,
            parse_errors: 0,
        },
        logprobs: parse_logprobs(value),
    }
}

/// Reads `choices[0].logprobs.content[i].logprob` (OpenAI and vLLM chat format). Absent or null
/// is `None`, and so is a list with an entry that is not a number: a partial list would no
/// longer line up with the tokens, and a missing log-probability must not fail the call.
fn parse_logprobs(value: &Value) -> Option<Vec<f64>> {
    value
        .pointer("/choices/0/logprobs/content")?
        .as_array()?
        .iter()
        .map(|entry| entry.get("logprob").and_then(Value::as_f64))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn reply(logprobs: Value) -> Value {
        json!({
            "choices": [{"message": {"role": "assistant", "content": "{}"}, "logprobs": logprobs}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2}
        })
    }

    #[test]
    fn logprobs_are_read_per_token_when_given() {
        let value = reply(json!({"content": [
            {"token": "{", "logprob": -0.25, "top_logprobs": []},
            {"token": "}", "logprob": 0}
        ]}));
        let completion = parse_completion(&value);
        assert_eq!(completion.logprobs, Some(vec![-0.25, 0.0]));
        assert_eq!(completion.content, "{}");
    }

    #[test]
    fn absent_null_or_malformed_logprobs_are_none() {
        for logprobs in [
            Value::Null,
            json!({}),
            json!({"content": null}),
            json!({"content": "x"}),
            json!({"content": [{"token": "{", "logprob": -0.1}, {"token": "}", "logprob": "low"}]}),
            json!({"content": [{"token": "{"}]}),
        ] {
            let completion = parse_completion(&reply(logprobs.clone()));
            assert_eq!(completion.logprobs, None, "{logprobs}");
            assert_eq!(completion.usage.input_tokens, 5);
        }
        let no_field = json!({"choices": [{"message": {"content": "{}"}}]});
        assert_eq!(parse_completion(&no_field).logprobs, None);
    }
}
