//! The pool's configuration: one [`BackendSpec`] per `[[inference.backends]]` entry, and the
//! pool-wide [`PoolOptions`].

use crate::error::RouterError;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Duration;

/// Whether a backend runs inside the company's trust boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// On the company's own GPUs: any tenant may use it.
    #[default]
    Local,
    /// Outside the boundary: only tenants whose policy allows external traffic.
    External,
}

/// One backend of the pool, as written in `[[inference.backends]]`. `Debug` hides the API key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    /// Unique within the pool; used in logs, stats and errors.
    pub name: String,
    /// Base URL without `/v1`, e.g. `http://gpu-1:8000`. `https://` is spoken with rustls; the
    /// server certificate is checked against the platform's trust store.
    pub url: String,
    /// Base models this backend may serve. Empty: whatever its `/v1/models` lists. Non-empty: only
    /// these base models (and LoRA adapters whose parent is one of them), and only once listed by
    /// `/v1/models`.
    #[serde(default)]
    pub models: Vec<String>,
    /// Breaks ties between backends with as many outstanding requests; at least 1.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Requests sent to this backend at once; at least 1.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    #[serde(default)]
    pub trust: Trust,
    /// Sent as a bearer token. The config layer reads it from the environment.
    #[serde(default, skip_serializing)]
    pub api_key: Option<String>,
    /// This backend may be asked to load LoRA adapters on demand (`POST /v1/load_lora_adapter`;
    /// vLLM must run with `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`).
    #[serde(default)]
    pub load_adapters: bool,
}

impl std::fmt::Debug for BackendSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendSpec")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("models", &self.models)
            .field("weight", &self.weight)
            .field("max_in_flight", &self.max_in_flight)
            .field("trust", &self.trust)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("load_adapters", &self.load_adapters)
            .finish()
    }
}

fn default_weight() -> u32 {
    1
}

fn default_max_in_flight() -> usize {
    256
}

/// Pool-wide behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolOptions {
    /// Time between two health rounds (`GET /health` and `GET /v1/models` on every backend).
    pub health_interval: Duration,
    /// Limit of one health probe.
    pub health_timeout: Duration,
    /// Deadline of a whole request, retries included (for a stream: until its first chunk).
    pub request_timeout: Duration,
    /// Limit of one attempt on one backend (for a stream: also the longest silence between chunks).
    pub attempt_timeout: Duration,
    /// Attempts after the first one.
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, jittered, capped at 64 times this.
    pub backoff_base: Duration,
    /// Consecutive failures that open a backend's circuit.
    pub breaker_threshold: u32,
    /// Time an open circuit waits before letting one trial request through (half-open).
    pub breaker_cooldown: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            health_interval: Duration::from_secs(5),
            health_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(120),
            attempt_timeout: Duration::from_secs(60),
            max_retries: 2,
            backoff_base: Duration::from_millis(50),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

/// Checks the specs once, before the pool starts.
pub(crate) fn validate(pool: &str, specs: &[BackendSpec]) -> Result<(), RouterError> {
    let invalid = |reason: String| RouterError::Config {
        pool: pool.to_string(),
        reason,
    };
    if specs.is_empty() {
        return Err(invalid(
            "no backends: add at least one [[inference.backends]] entry".into(),
        ));
    }
    let mut names = HashSet::new();
    for spec in specs {
        if spec.name.trim().is_empty() {
            return Err(invalid(format!(
                "backend at `{}` has an empty name",
                spec.url
            )));
        }
        if !names.insert(spec.name.as_str()) {
            return Err(invalid(format!(
                "backend name `{}` is used twice",
                spec.name
            )));
        }
        if !(spec.url.starts_with("http://") || spec.url.starts_with("https://")) {
            return Err(invalid(format!(
                "backend `{}`: url `{}` must start with http:// or https://",
                spec.name, spec.url
            )));
        }
        if spec.weight == 0 {
            return Err(invalid(format!(
                "backend `{}`: weight must be at least 1",
                spec.name
            )));
        }
        if spec.max_in_flight == 0 {
            return Err(invalid(format!(
                "backend `{}`: max_in_flight must be at least 1",
                spec.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn spec_reads_from_toml_like_json_with_defaults_and_rejects_unknown_fields() {
        let spec: BackendSpec = serde_json::from_value(serde_json::json!({
            "name": "gpu-1", "url": "http://gpu-1:8000", "trust": "external"
        }))
        .unwrap();
        assert_eq!(spec.weight, 1);
        assert_eq!(spec.trust, Trust::External);
        assert!(spec.models.is_empty());
        assert!(!spec.load_adapters);
        let unknown = serde_json::from_value::<BackendSpec>(serde_json::json!({
            "name": "gpu-1", "url": "http://gpu-1:8000", "wieght": 2
        }));
        assert!(unknown.is_err());
    }

    #[test]
    fn validation_names_the_problem() {
        let spec = |name: &str| BackendSpec {
            name: name.into(),
            url: "http://a".into(),
            models: vec![],
            weight: 1,
            max_in_flight: 1,
            trust: Trust::Local,
            api_key: None,
            load_adapters: false,
        };
        assert!(validate("p", &[spec("a"), spec("b")]).is_ok());
        let dup = validate("p", &[spec("a"), spec("a")])
            .unwrap_err()
            .to_string();
        assert!(dup.contains("used twice"), "{dup}");
        assert!(validate("p", &[]).is_err());
        let mut keyed = spec("a");
        keyed.api_key = Some("sk-secret".into());
        assert!(!format!("{keyed:?}").contains("sk-secret"));
        let mut zero = spec("a");
        zero.max_in_flight = 0;
        assert!(validate("p", &[zero]).is_err());
    }
}
