//! Choosing a policy from the command line.

use aoi_core::Policy;
use aoi_inference::{LlmConfig, LlmPolicy};
use anyhow::{Result, bail};
use std::time::Duration;

#[derive(clap::Args, Clone, Debug)]
pub struct PolicyArgs {
    /// `builtin` (the SRE playbook) or `llm` (an OpenAI-compatible endpoint).
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
    /// Sampling temperature for `--policy llm`.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
}

impl PolicyArgs {
    /// Checks the choice once, before any session starts.
    pub fn validate(&self) -> Result<()> {
        match self.policy.as_str() {
            "builtin" | "llm" => Ok(()),
            other => bail!("unknown policy `{other}`: expected `builtin` or `llm`"),
        }
    }

    /// A fresh policy for one session.
    pub fn build(&self) -> Result<Box<dyn Policy>> {
        match self.policy.as_str() {
            "builtin" => Ok(Box::new(aoi_inference::builtin::BuiltinPolicy::new())),
            "llm" => {
                let config = LlmConfig {
                    base_url: self.llm_url.clone(),
                    model: self.llm_model.clone(),
                    api_key: std::env::var("AOI_LLM_API_KEY").ok().or_else(|| self.llm_api_key.clone()),
                    temperature: self.temperature,
                    timeout: Duration::from_secs(120),
                    ..LlmConfig::default()
                };
                Ok(Box::new(LlmPolicy::new(config).map_err(|e| anyhow::anyhow!("{e}"))?))
            }
            other => bail!("unknown policy `{other}`: expected `builtin` or `llm`"),
        }
    }
}
