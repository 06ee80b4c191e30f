//! Choosing a policy from the command line.

use anyhow::{Result, bail};
use aoi_core::Policy;
use aoi_inference::{LlmConfig, LlmPolicy};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Sessions of the local policy started in this process (each gets its own sampling seed).
static LOCAL_SESSIONS: AtomicU64 = AtomicU64::new(0);

#[derive(clap::Args, Clone, Debug)]
pub struct PolicyArgs {
    /// `builtin` (the SRE playbook), `llm` (an OpenAI-compatible endpoint) or `local` (the
    /// learned CPU policy of `aoi train`, with `--model FILE`).
    #[arg(long, default_value = "builtin")]
    pub policy: String,
    /// Base URL of the OpenAI-compatible endpoint for `--policy llm` (without /v1).
    #[arg(long, env = "AOI_LLM_URL", default_value = "http://127.0.0.1:8000")]
    pub llm_url: String,
    /// Model name for `--policy llm`.
    #[arg(long, env = "AOI_LLM_MODEL", default_value = "Qwen/Qwen3-14B")]
    pub llm_model: String,
    /// API key for `--policy llm` (from the environment, never a flag).
    #[arg(skip)]
    pub llm_api_key: Option<String>,
    /// Sampling temperature for `--policy llm` and `--policy local` (0: greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// The model file of `--policy local` (written by `aoi train`); none: the untrained model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Whether the `llm` policy records each reply's exchange and asks the backend for
    /// log-probabilities (`aoi rollout`); other policies are wrapped by the caller.
    #[arg(skip)]
    pub record_exchanges: bool,
    /// The inference pool `--policy llm` sends through instead of `--llm-url` (`aoi rollout
    /// --config` with `[[inference.backends]]`).
    #[arg(skip)]
    pub pool: Option<PoolChoice>,
    /// The loaded local model, shared by the sessions of one command.
    #[arg(skip)]
    pub local_model: Arc<OnceLock<Arc<aoi_inference::local::LocalModel>>>,
}

/// A pool for the llm policy and whether its external backends may be used.
#[derive(Clone)]
pub struct PoolChoice {
    pub pool: Arc<aoi_router::Pool>,
    pub allow_external: bool,
}

impl std::fmt::Debug for PoolChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolChoice")
            .field("allow_external", &self.allow_external)
            .finish_non_exhaustive()
    }
}

impl PolicyArgs {
    /// Checks the choice once, before any session starts.
    pub fn validate(&self) -> Result<()> {
        match self.policy.as_str() {
            "builtin" | "llm" => Ok(()),
            "local" => self.local_model().map(|_| ()),
            other => bail!("unknown policy `{other}`: expected `builtin`, `llm` or `local`"),
        }
    }

    /// The local policy's model: loaded once from `--model`, or the untrained (zero) model.
    fn local_model(&self) -> Result<Arc<aoi_inference::local::LocalModel>> {
        if let Some(m) = self.local_model.get() {
            return Ok(m.clone());
        }
        let model = match &self.model {
            Some(path) => aoi_inference::local::LocalModel::load(path)
                .map_err(|e| anyhow::anyhow!("--model: {e}"))?,
            None => aoi_inference::local::LocalModel::zeros(),
        };
        Ok(self.local_model.get_or_init(|| Arc::new(model)).clone())
    }

    /// A fresh policy for one session.
    pub fn build(&self) -> Result<Box<dyn Policy>> {
        match self.policy.as_str() {
            "builtin" => Ok(Box::new(aoi_inference::builtin::BuiltinPolicy::new())),
            "llm" => {
                let config = LlmConfig {
                    base_url: self.llm_url.clone(),
                    model: self.llm_model.clone(),
                    api_key: std::env::var("AOI_LLM_API_KEY")
                        .ok()
                        .or_else(|| self.llm_api_key.clone()),
                    temperature: self.temperature,
                    timeout: Duration::from_secs(120),
                    record_exchanges: self.record_exchanges,
                    logprobs: self.record_exchanges,
                    ..LlmConfig::default()
                };
                match &self.pool {
                    Some(choice) => Ok(Box::new(LlmPolicy::with_pool(
                        config,
                        choice.pool.clone(),
                        choice.allow_external,
                    ))),
                    None => Ok(Box::new(
                        LlmPolicy::new(config).map_err(|e| anyhow::anyhow!("{e}"))?,
                    )),
                }
            }
            "local" => {
                let n = LOCAL_SESSIONS.fetch_add(1, Ordering::Relaxed);
                let policy = aoi_inference::local::LocalPolicy::new(
                    self.local_model()?,
                    f64::from(self.temperature),
                    n,
                );
                Ok(Box::new(policy))
            }
            other => bail!("unknown policy `{other}`: expected `builtin`, `llm` or `local`"),
        }
    }
}
