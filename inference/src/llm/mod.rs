//! The `llm` policy: the four roles answered by any OpenAI-compatible chat endpoint (vLLM in
//! production), with JSON-schema-constrained replies, one re-ask on an unusable reply, and
//! retries with backoff when the endpoint is busy or down.

mod client;
pub mod parse;
pub mod schema;

use crate::privacy::{RedactionPolicy, Redactor};
use crate::prompts;
use aoi_core::{
    ChatMessage, CompressInput, ModelExchange, ObserverDecision, ObserverView, Policy, PolicyError,
    Reply, RoleRequest, TaskSpec, ToolCall, Usage,
};
use aoi_router::Pool;
use async_trait::async_trait;
use client::{ChatClient, Completion};
use rand::Rng;
use schema::ReplySchema;
use std::sync::Arc;
use std::time::Duration;

/// Where and how to reach the model.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// Server root, without `/v1`, e.g. `http://127.0.0.1:8000`.
    pub base_url: String,
    /// Model (or LoRA adapter) name as the server lists it.
    pub model: String,
    pub api_key: Option<String>,
    pub temperature: f32,
    pub max_tokens: u32,
    /// Per HTTP request.
    pub timeout: Duration,
    /// Retries after the first attempt, for timeouts, connection errors, 429 and 5xx.
    pub max_retries: u32,
    /// First backoff; it doubles each retry, half of it random.
    pub backoff_base: Duration,
    /// Also send vLLM's `guided_json` with the reply schema.
    pub send_guided_json: bool,
    /// What is replaced with placeholders before a prompt leaves the process (and restored in
    /// the reply); `None` sends prompts as they are. Default: secrets only.
    pub redaction: Option<RedactionPolicy>,
    /// Put the [`ModelExchange`] behind each reply on it (prompt as sent, completion as
    /// received, both redacted), for training datasets. Default: off.
    pub record_exchanges: bool,
    /// Ask for per-token log-probabilities (`"logprobs": true`); recorded with the exchange
    /// when the backend gives them. Default: off.
    pub logprobs: bool,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: "http://127.0.0.1:8000".to_string(),
            model: "Qwen/Qwen3-14B".to_string(),
            api_key: None,
            temperature: 0.0,
            max_tokens: 1024,
            timeout: Duration::from_secs(60),
            max_retries: 3,
            backoff_base: Duration::from_millis(250),
            send_guided_json: true,
            redaction: Some(RedactionPolicy::secrets_only()),
            record_exchanges: false,
            logprobs: false,
        }
    }
}

/// The `llm` policy.
pub struct LlmPolicy {
    client: ChatClient,
    /// This session's placeholders; `None` when redaction is off.
    redactor: Option<Redactor>,
    /// The session id set by the caller: the pool's affinity key.
    session: Option<String>,
    /// A random session id drawn at construction and on each reset, used when `session` is
    /// not set.
    random_session: String,
}

impl LlmPolicy {
    pub fn new(config: LlmConfig) -> Result<Self, PolicyError> {
        let redactor = config.redaction.map(Redactor::new);
        Ok(LlmPolicy {
            client: ChatClient::new(config)?,
            redactor,
            session: None,
            random_session: random_session_id(),
        })
    }

    /// A policy that sends through `pool` (which retries and fails over itself) instead of
    /// `config.base_url`; a session's calls stay on one backend while it is healthy.
    /// `allow_external` lets the pool use backends outside the trust boundary.
    pub fn with_pool(config: LlmConfig, pool: Arc<Pool>, allow_external: bool) -> Self {
        let redactor = config.redaction.map(Redactor::new);
        LlmPolicy {
            client: ChatClient::with_pool(config, pool, allow_external),
            redactor,
            session: None,
            random_session: random_session_id(),
        }
    }

    /// Asks the pool for `adapter` (the tenant's active LoRA adapter) instead of the base
    /// model; the pool loads it where a backend may load adapters and none lists it yet.
    pub fn with_adapter(mut self, adapter: aoi_router::LoraAdapter) -> Self {
        self.client = self.client.with_adapter(adapter);
        self
    }

    /// Sets the session id used as the pool's affinity key (kept across resets); without one,
    /// each reset draws a random id.
    pub fn set_session(&mut self, id: impl Into<String>) {
        self.session = Some(id.into());
    }

    /// The affinity key the pool gets: the session id, or the random one.
    pub fn session(&self) -> &str {
        self.session.as_deref().unwrap_or(&self.random_session)
    }

    pub fn config(&self) -> &LlmConfig {
        self.client.config()
    }

    /// The affinity key for a completion; `None` when sending directly.
    fn affinity(&self) -> Option<String> {
        self.client.uses_pool().then(|| self.session().to_string())
    }

    /// The text as it may leave the process.
    fn redact(&mut self, text: String) -> String {
        match self.redactor.as_mut() {
            Some(redactor) => redactor.redact(&text),
            None => text,
        }
    }

    /// The exchange behind `completion`, the reply to `messages`, when recording is on: the
    /// prompt as sent and the completion as received, placeholders not restored (and a secret
    /// the model wrote itself replaced, as it would be before being sent back in a re-ask).
    fn exchange(
        &mut self,
        messages: &[ChatMessage],
        completion: &Completion,
    ) -> Option<ModelExchange> {
        if !self.client.config().record_exchanges {
            return None;
        }
        let text = self.redact(completion.content.clone());
        Some(ModelExchange {
            prompt: messages.to_vec(),
            completion: text,
            logprobs: completion.logprobs.clone(),
            temperature: Some(self.client.config().temperature),
        })
    }

    /// A parsed reply with this session's placeholders put back.
    fn restore<T: serde::Serialize + serde::de::DeserializeOwned>(&self, value: T) -> T {
        match self.redactor.as_ref() {
            Some(redactor) => redactor.restore_value(value),
            None => value,
        }
    }

    /// Asks once; on an unusable reply asks again with the error appended; a second unusable
    /// reply is `Unparsable`.
    async fn ask<T: serde::Serialize + serde::de::DeserializeOwned>(
        &mut self,
        system: String,
        user: String,
        schema: &ReplySchema,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Reply<T>, PolicyError> {
        let mut messages = vec![
            ChatMessage::system(self.redact(system)),
            ChatMessage::user(self.redact(user)),
        ];
        let mut usage = Usage::default();
        let affinity = self.affinity();
        let first = self
            .client
            .complete(&messages, schema, affinity.as_deref())
            .await?;
        usage.add(first.usage);
        let error = match parse(&first.content) {
            Ok(value) => {
                let value = self.restore(value);
                let exchange = self.exchange(&messages, &first);
                return Ok(Reply {
                    value,
                    usage,
                    exchange,
                });
            }
            Err(error) => error,
        };
        usage.parse_errors += 1;
        let first_content = self.redact(first.content.clone());
        messages.push(ChatMessage::assistant(first_content));
        let again = self.redact(format!(
            "Your reply could not be used: {error}. Reply again with exactly one JSON object that matches the required format, and nothing else."
        ));
        messages.push(ChatMessage::user(again));
        let second = self
            .client
            .complete(&messages, schema, affinity.as_deref())
            .await?;
        usage.add(second.usage);
        match parse(&second.content) {
            Ok(value) => {
                let value = self.restore(value);
                let exchange = self.exchange(&messages, &second);
                Ok(Reply {
                    value,
                    usage,
                    exchange,
                })
            }
            Err(error) => Err(PolicyError::Unparsable(format!(
                "{} reply after a re-ask: {error}",
                schema.name
            ))),
        }
    }
}

/// A random session id for the pool's affinity.
fn random_session_id() -> String {
    format!("llm-{:016x}", rand::rng().random::<u64>())
}

#[async_trait]
impl Policy for LlmPolicy {
    fn name(&self) -> &str {
        "llm"
    }

    fn reset(&mut self, _task: &TaskSpec) {
        self.redactor = self.client.config().redaction.map(Redactor::new);
        self.random_session = random_session_id();
    }

    async fn observe(
        &mut self,
        view: &ObserverView,
    ) -> Result<Reply<ObserverDecision>, PolicyError> {
        let task_type = view.task.task_type;
        let executor = view.executor_available;
        let schema = schema::observer(task_type, executor);
        self.ask(
            prompts::observer_system(view),
            prompts::observer_user(view),
            &schema,
            |reply| parse::observer_decision(reply, task_type, executor),
        )
        .await
    }

    async fn probe(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
        let schema = schema::tool_call("probe_tool_call", &request.tools);
        self.ask(
            prompts::probe_system(request),
            prompts::probe_user(request),
            &schema,
            |reply| parse::tool_call(reply, &request.tools),
        )
        .await
    }

    async fn execute(&mut self, request: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
        let schema = schema::tool_call("executor_tool_call", &request.tools);
        self.ask(
            prompts::executor_system(request),
            prompts::executor_user(request),
            &schema,
            |reply| parse::tool_call(reply, &request.tools),
        )
        .await
    }

    async fn compress(&mut self, input: &CompressInput) -> Result<Reply<String>, PolicyError> {
        self.ask(
            prompts::compressor_system(),
            prompts::compressor_user(input),
            &schema::compressor(),
            parse::summary,
        )
        .await
    }
}
