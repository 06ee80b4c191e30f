//! Configuration: built-in defaults, then an optional TOML file, then environment variables.
//!
//! Environment variables are `AOI__SECTION__KEY` (for example `AOI__SERVER__LISTEN`), plus the
//! conventional `DATABASE_URL` and `REDIS_URL`, which an explicit `AOI__` variable overrides.
//! Every key is listed in [`KEYS`] with its type, default and description; an unknown key in the
//! file or an unknown `AOI__` variable is refused with its name, and a value of the wrong type
//! names the key and the expected type. `docs/configuration.md` documents the same table, and a
//! test keeps the two in sync.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

mod keys;
mod learning;
mod plugins;

pub use keys::{KEYS, KeyDoc, KeyType, doc_table, flatten};
use keys::*;
pub use learning::{EVOLVER_TEACHERS, EvolverConfig, EvolverTeacher, LearningConfig};
pub use plugins::{PluginsConfig, TrustedKeyEntry};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The HTTP/gRPC listener and the data folder.
    pub server: ServerConfig,
    /// The source of truth.
    pub database: DatabaseConfig,
    /// Optional Redis for queues, fan-out and shared rate limits.
    pub redis: RedisConfig,
    /// Tokens, keys and OIDC.
    pub auth: AuthConfig,
    /// Human approvals of write actions.
    pub approvals: ApprovalsConfig,
    /// In-process workers.
    pub workers: WorkersConfig,
    /// Default guardrail modes.
    pub guardrails: GuardrailsConfig,
    /// Inference backends.
    pub inference: InferenceConfig,
    /// Step reward weights for training datasets.
    pub learning: LearningConfig,
    /// How the evolver drafts and approves corrective signals.
    pub evolver: EvolverConfig,
    /// Trusted plugin publishers, the secrets key and the WASM sandbox's limits.
    pub plugins: PluginsConfig,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to bind, `host:port`.
    pub listen: String,
    /// Folder for the SQLite database, the generated signing key and other state.
    pub data_dir: PathBuf,
    /// Largest accepted request body.
    pub body_limit_bytes: u64,
    /// The URL users reach the console at, when behind a proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            body_limit_bytes: 1024 * 1024,
            public_url: None,
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A sea-orm URL (`sqlite://...`, `postgres://...`); unset means a SQLite file under
    /// `server.data_dir` (see [`Config::database_url`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `[redis]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://...`; unset means the in-process queue and broadcast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Prefix of every Redis key this deployment uses.
    pub key_prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            key_prefix: "aoi:".into(),
        }
    }
}

/// `[auth]`
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `iss` of issued tokens, checked on every request.
    pub issuer: String,
    /// `aud` of issued tokens, checked on every request.
    pub audience: String,
    /// Lifetime of an access token.
    pub token_ttl_secs: u64,
    /// File holding the HS256 key; unset means `<data_dir>/jwt.key`, generated on first run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key_file: Option<PathBuf>,
    /// The HS256 key itself (32 bytes or more); takes precedence over the file. Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// Password of the bootstrap admin of the first tenant. Secret; change it before exposing
    /// the server.
    pub admin_password: String,
    /// Accept tokens from an external OpenID Connect issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcConfig>,
}

/// The built-in bootstrap admin password; `aoi serve` refuses a non-loopback address with it.
pub const DEFAULT_ADMIN_PASSWORD: &str = "admin";

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: "aoi".into(),
            audience: "aoi-api".into(),
            token_ttl_secs: 3600,
            signing_key_file: None,
            signing_key: None,
            admin_password: DEFAULT_ADMIN_PASSWORD.into(),
            oidc: None,
        }
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("signing_key_file", &self.signing_key_file)
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|_| "<redacted>"),
            )
            .field("admin_password", &"<redacted>")
            .field("oidc", &self.oidc)
            .finish()
    }
}

/// `[auth.oidc]`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The issuer (`iss`) whose tokens are accepted.
    pub issuer: String,
    /// The audience (`aud`) those tokens must carry.
    pub audience: String,
    /// Where the server fetches the issuer's JWKS.
    pub jwks_url: String,
}

/// `[approvals]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsConfig {
    /// How long an approval request waits for a person before it counts as denied.
    pub timeout_secs: u64,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig { timeout_secs: 900 }
    }
}

/// `[workers]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkersConfig {
    /// Agent workers `aoi serve` runs in-process.
    pub agent: u32,
    /// Evolver workers `aoi serve` runs in-process.
    pub evolver: u32,
    /// Seconds a worker's claim on a session lasts without renewal (renewed every third).
    pub lease_secs: u64,
    /// Seconds between reconciler passes (expired leases, lost queue entries).
    pub reconcile_secs: u64,
    /// The policy agent workers run sessions with.
    pub policy: WorkerPolicy,
    /// Record each step's prompt, completion and logprobs on the step, for training datasets.
    pub record_exchanges: bool,
}

/// `workers.policy`: what answers the agent's roles in a worker's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerPolicy {
    /// The deterministic built-in policy (no model).
    #[default]
    Builtin,
    /// A model (`inference.model`) through the `[[inference.backends]]` pool.
    Llm,
}

/// The words `workers.policy` accepts.
pub const WORKER_POLICIES: &[&str] = &["builtin", "llm"];

impl Default for WorkersConfig {
    fn default() -> Self {
        WorkersConfig {
            agent: 2,
            evolver: 1,
            lease_secs: 30,
            reconcile_secs: 5,
            policy: WorkerPolicy::Builtin,
            record_exchanges: true,
        }
    }
}

/// What a guardrail does with a write action by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuardrailMode {
    /// Run it.
    Auto,
    /// Ask a person (an approval).
    Ask,
    /// Refuse it.
    Deny,
}

/// `[guardrails]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardrailsConfig {
    /// Default for write actions on real environments.
    pub default_real: GuardrailMode,
    /// Default for write actions on twins.
    pub default_twin: GuardrailMode,
}

impl Default for GuardrailsConfig {
    fn default() -> Self {
        GuardrailsConfig {
            default_real: GuardrailMode::Ask,
            default_twin: GuardrailMode::Auto,
        }
    }
}

/// The model `workers.policy = "llm"` asks the pool for unless `inference.model` says otherwise.
pub const DEFAULT_INFERENCE_MODEL: &str = "Qwen/Qwen3-14B";

/// `[inference]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InferenceConfig {
    /// OpenAI-compatible backends (vLLM). Empty means the built-in policy only.
    pub backends: Vec<BackendConfig>,
    /// The model (or LoRA adapter) agent workers ask the pool for with `workers.policy = "llm"`.
    pub model: String,
    /// Whether traffic may reach `trust = "external"` backends (the default for tenants
    /// without their own inference policy).
    pub external_allowed: bool,
    /// `[inference.quota]`: the default limits of every tenant on the OpenAI-compatible endpoints.
    pub quota: QuotaConfig,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        InferenceConfig {
            backends: Vec::new(),
            model: DEFAULT_INFERENCE_MODEL.to_string(),
            external_allowed: false,
            quota: QuotaConfig::default(),
        }
    }
}

/// `[inference.quota]`: per-tenant limits (the default for every tenant); unset means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    /// Requests in flight at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// Tokens per epoch minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    /// Tokens per UTC day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
}

/// One `[[inference.backends]]` entry. The inference issue extends this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// A name for logs and metrics.
    pub name: String,
    /// Base URL of the OpenAI-compatible API.
    pub url: String,
    /// Models served there.
    #[serde(default)]
    pub models: Vec<String>,
    /// Relative share of traffic.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Concurrent requests allowed.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
    /// `local` (inside the trust boundary) or `external` (only when `inference.external_allowed`).
    #[serde(default = "default_trust")]
    pub trust: String,
    /// Name of the environment variable holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Whether tenants' LoRA adapters may be loaded here on demand.
    #[serde(default)]
    pub load_adapters: bool,
}

fn default_weight() -> u32 {
    1
}
fn default_max_in_flight() -> u32 {
    8
}
fn default_trust() -> String {
    "local".into()
}

/// Why `workers.policy = "llm"` is refused without backends.
pub const LLM_WITHOUT_BACKENDS: &str = "is `llm`, which needs at least one `[[inference.backends]]` entry; add one or set `workers.policy = \"builtin\"`";


/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{origin} is not valid TOML: {message}")]
    Syntax {
        /// The file name.
        origin: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key the code does not know.
    #[error("unknown configuration key {key} in {origin}: see docs/configuration.md for the keys")]
    UnknownKey {
        /// The dotted key as written.
        key: String,
        /// The file name or `environment variable AOI__...`.
        origin: String,
    },
    /// A value of the wrong type.
    #[error("configuration key {key} in {origin} must be {expected}, found {found}")]
    WrongType {
        /// The dotted key.
        key: String,
        /// Where it came from.
        origin: String,
        /// The expected type.
        expected: String,
        /// What was there.
        found: String,
    },
    /// A value of the right type that is not acceptable.
    #[error("configuration key {key}: {problem}")]
    Invalid {
        /// The dotted key.
        key: String,
        /// What is wrong and what is expected.
        problem: String,
    },
}

impl Config {
    /// Loads defaults, then `file` when given, then `env` (pass `std::env::vars()` in the
    /// binary; tests pass their own list instead of touching the process environment).
    pub fn load<I>(file: Option<&Path>, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let file_layer = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                let origin = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string());
                Some((text, origin))
            }
            None => None,
        };
        match &file_layer {
            Some((text, origin)) => Config::load_str(Some((text, origin)), env),
            None => Config::load_str(None, env),
        }
    }

    /// Like [`Config::load`] with the file's text already read: `file` is `(text, name)`.
    pub fn load_str<I>(file: Option<(&str, &str)>, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut merged = Table::new();
        if let Some((text, origin)) = file {
            let table: Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
                origin: origin.to_string(),
                message: e.to_string(),
            })?;
            check_table(&table, "", origin)?;
            merge(&mut merged, table);
        }
        let env_layer = env_table(env)?;
        merge(&mut merged, env_layer);
        let config: Config = Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid {
                key: "(configuration)".into(),
                problem: e.message().to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if self.auth.token_ttl_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "auth.token_ttl_secs".into(),
                problem: "must be at least 1".into(),
            });
        }
        if let Some(key) = &self.auth.signing_key
            && key.len() < 32
        {
            return Err(ConfigError::Invalid {
                key: "auth.signing_key".into(),
                problem: "must be at least 32 bytes; leave it unset to have one generated".into(),
            });
        }
        if self.workers.policy == WorkerPolicy::Llm && self.inference.backends.is_empty() {
            return Err(ConfigError::Invalid {
                key: "workers.policy".into(),
                problem: LLM_WITHOUT_BACKENDS.into(),
            });
        }
        if self.workers.policy == WorkerPolicy::Llm && self.inference.model.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "inference.model".into(),
                problem: "must name a model when `workers.policy = \"llm\"`".into(),
            });
        }
        self.learning
            .rewards
            .validate()
            .map_err(|problem| ConfigError::Invalid {
                key: "learning.rewards".into(),
                problem,
            })?;
        if self.evolver.teacher == EvolverTeacher::Model && self.inference.backends.is_empty() {
            return Err(ConfigError::Invalid {
                key: "evolver.teacher".into(),
                problem: "is `model`, which needs at least one `[[inference.backends]]` entry; add one or set `evolver.teacher = \"builtin\"`".into(),
            });
        }
        self.plugins
            .trusted_keys()
            .map_err(|e| ConfigError::Invalid {
                key: "plugins.trusted_publishers".into(),
                problem: e.to_string(),
            })?;
        for (key, value) in [
            ("plugins.wasm_fuel", self.plugins.wasm_fuel),
            ("plugins.wasm_timeout_ms", self.plugins.wasm_timeout_ms),
            ("plugins.wasm_memory_mb", self.plugins.wasm_memory_mb),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    problem: "must be at least 1".into(),
                });
            }
        }
        if let Some(oidc) = &self.auth.oidc {
            for (name, value) in [
                ("auth.oidc.issuer", &oidc.issuer),
                ("auth.oidc.audience", &oidc.audience),
                ("auth.oidc.jwks_url", &oidc.jwks_url),
            ] {
                if value.is_empty() {
                    return Err(ConfigError::Invalid {
                        key: name.into(),
                        problem: "is required when OIDC is configured".into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// `server.listen` parsed.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server
            .listen
            .parse()
            .map_err(|_| ConfigError::Invalid {
                key: "server.listen".into(),
                problem: format!(
                    "`{}` is not host:port with an IP address, e.g. 127.0.0.1:8080 or 0.0.0.0:8080",
                    self.server.listen
                ),
            })
    }

    /// The database URL: `database.url`, or a SQLite file under `server.data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.server.data_dir.join("aoi.db").display()
            ),
        }
    }

    /// The signing key file: `auth.signing_key_file`, or `<data_dir>/jwt.key`.
    pub fn signing_key_path(&self) -> PathBuf {
        self.auth
            .signing_key_file
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("jwt.key"))
    }

    /// Where the key that encrypts plugin secrets lives.
    pub fn plugin_secret_key_path(&self) -> PathBuf {
        self.plugins
            .secret_key_file
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("plugins.key"))
    }

    /// What makes it unsafe to serve on `server.listen`; empty when it is safe. `aoi serve`
    /// refuses to start on a non-loopback address while this is not empty.
    pub fn exposure_problems(&self) -> Result<Vec<String>, ConfigError> {
        let addr = self.listen_addr()?;
        if addr.ip().is_loopback() {
            return Ok(Vec::new());
        }
        let mut problems = Vec::new();
        if self.auth.admin_password == DEFAULT_ADMIN_PASSWORD {
            problems.push(
                "auth.admin_password is the default: set AOI__AUTH__ADMIN_PASSWORD".to_string(),
            );
        }
        if self.auth.signing_key.is_none() && self.auth.signing_key_file.is_none() {
            problems.push(
                "the signing key is the default generated file in the data folder: set auth.signing_key_file (or auth.signing_key) to a managed secret".to_string(),
            );
        }
        Ok(problems)
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
