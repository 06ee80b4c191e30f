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

mod learning;

pub use learning::{EVOLVER_TEACHERS, EvolverConfig, EvolverTeacher, LearningConfig};

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

/// The type of a configuration key, as the loader checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// A string.
    String,
    /// A non-negative integer.
    Integer,
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// A list of strings.
    StringList,
    /// A list of tables whose keys are listed under `<key>[].`.
    TableList,
    /// `true` or `false`.
    Boolean,
    /// A finite number (integer or float, negative allowed).
    Number,
}

impl KeyType {
    /// How the type is named in errors and in the doc.
    pub fn name(&self) -> String {
        match self {
            KeyType::String => "string".into(),
            KeyType::Integer => "integer".into(),
            KeyType::Choice(words) => words.join(" \\| "),
            KeyType::StringList => "list of strings".into(),
            KeyType::TableList => "list of tables".into(),
            KeyType::Boolean => "boolean".into(),
            KeyType::Number => "number".into(),
        }
    }

    fn accepts(&self, value: &Value) -> bool {
        match (self, value) {
            (KeyType::String, Value::String(_)) => true,
            (KeyType::Integer, Value::Integer(i)) => *i >= 0,
            (KeyType::Choice(words), Value::String(s)) => words.contains(&s.as_str()),
            (KeyType::StringList, Value::Array(items)) => {
                items.iter().all(|v| matches!(v, Value::String(_)))
            }
            (KeyType::TableList, Value::Array(items)) => {
                items.iter().all(|v| matches!(v, Value::Table(_)))
            }
            (KeyType::Boolean, Value::Boolean(_)) => true,
            (KeyType::Number, Value::Integer(_)) => true,
            (KeyType::Number, Value::Float(f)) => f.is_finite(),
            _ => false,
        }
    }
}

/// One documented configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDoc {
    /// Dotted path, e.g. `server.listen`; list entries use `inference.backends[].name`.
    pub key: &'static str,
    /// The type the loader checks.
    pub ty: KeyType,
    /// The default as TOML writes it, or a sentence in parentheses when it is unset or derived.
    pub default: &'static str,
    /// Conventional alias variables besides `AOI__...`, lowest precedence.
    pub aliases: &'static [&'static str],
    /// Whether the value is a secret (never logged).
    pub secret: bool,
    /// What it is for.
    pub description: &'static str,
}

impl KeyDoc {
    /// The `AOI__SECTION__KEY` variable for this key, or `None` inside a list of tables.
    pub fn env_var(&self) -> Option<String> {
        if self.key.contains("[]") {
            return None;
        }
        Some(format!(
            "AOI__{}",
            self.key.replace('.', "__").to_ascii_uppercase()
        ))
    }
}

const fn key(
    key: &'static str,
    ty: KeyType,
    default: &'static str,
    description: &'static str,
) -> KeyDoc {
    KeyDoc {
        key,
        ty,
        default,
        aliases: &[],
        secret: false,
        description,
    }
}

const GUARDRAIL_MODES: &[&str] = &["auto", "ask", "deny"];

/// Every configuration key the code knows, in the order `docs/configuration.md` lists them.
pub const KEYS: &[KeyDoc] = &[
    key(
        "server.listen",
        KeyType::String,
        "\"127.0.0.1:8080\"",
        "Address to bind (`host:port`). `aoi serve` refuses a non-loopback address while `auth.admin_password` is the default or the signing key is the generated default.",
    ),
    key(
        "server.data_dir",
        KeyType::String,
        "\"data\"",
        "Folder for the SQLite database, the generated signing key and other local state.",
    ),
    key(
        "server.body_limit_bytes",
        KeyType::Integer,
        "1048576",
        "Largest accepted request body; larger ones get `payload_too_large`.",
    ),
    key(
        "server.public_url",
        KeyType::String,
        "(unset)",
        "URL users reach the console at, when behind a proxy.",
    ),
    KeyDoc {
        aliases: &["DATABASE_URL"],
        ..key(
            "database.url",
            KeyType::String,
            "(unset: sqlite://<data_dir>/aoi.db?mode=rwc)",
            "sea-orm database URL (`sqlite://...` or `postgres://...`).",
        )
    },
    KeyDoc {
        aliases: &["REDIS_URL"],
        ..key(
            "redis.url",
            KeyType::String,
            "(unset)",
            "Redis URL for work queues, live-update fan-out and shared rate limits; unset means in-process.",
        )
    },
    key(
        "redis.key_prefix",
        KeyType::String,
        "\"aoi:\"",
        "Prefix of every Redis key this deployment uses.",
    ),
    key(
        "auth.issuer",
        KeyType::String,
        "\"aoi\"",
        "`iss` of issued access tokens, checked on every request.",
    ),
    key(
        "auth.audience",
        KeyType::String,
        "\"aoi-api\"",
        "`aud` of issued access tokens, checked on every request.",
    ),
    key(
        "auth.token_ttl_secs",
        KeyType::Integer,
        "3600",
        "Lifetime of an access token in seconds.",
    ),
    key(
        "auth.signing_key_file",
        KeyType::String,
        "(unset: <data_dir>/jwt.key)",
        "File holding the HS256 signing key; generated with mode 0600 on first run when missing.",
    ),
    KeyDoc {
        secret: true,
        ..key(
            "auth.signing_key",
            KeyType::String,
            "(unset)",
            "The HS256 signing key itself (32 bytes or more); takes precedence over the file. Secret.",
        )
    },
    KeyDoc {
        secret: true,
        ..key(
            "auth.admin_password",
            KeyType::String,
            "\"admin\"",
            "Password of the bootstrap admin of the first tenant. Secret; change it before exposing the server.",
        )
    },
    key(
        "auth.oidc.issuer",
        KeyType::String,
        "(unset)",
        "Issuer whose tokens are accepted; setting any `auth.oidc` key enables OIDC and all three are then required.",
    ),
    key(
        "auth.oidc.audience",
        KeyType::String,
        "(unset)",
        "Audience OIDC tokens must carry.",
    ),
    key(
        "auth.oidc.jwks_url",
        KeyType::String,
        "(unset)",
        "URL of the issuer's JWKS (RS256 and ES256 keys).",
    ),
    key(
        "approvals.timeout_secs",
        KeyType::Integer,
        "900",
        "How long an approval request waits for a person before it counts as denied.",
    ),
    key(
        "workers.agent",
        KeyType::Integer,
        "2",
        "Agent workers `aoi serve` runs in-process.",
    ),
    key(
        "workers.evolver",
        KeyType::Integer,
        "1",
        "Evolver workers `aoi serve` runs in-process.",
    ),
    key(
        "workers.lease_secs",
        KeyType::Integer,
        "30",
        "Seconds a worker's claim on a session lasts without renewal (renewed every third); a dead worker's session is run again after it.",
    ),
    key(
        "workers.reconcile_secs",
        KeyType::Integer,
        "5",
        "Seconds between reconciler passes, which requeue expired leases and queue entries a Redis flush lost.",
    ),
    key(
        "workers.policy",
        KeyType::Choice(WORKER_POLICIES),
        "\"builtin\"",
        "What answers the agent in worker sessions: `builtin`, the deterministic built-in policy; `llm`, the model `inference.model` through the `[[inference.backends]]` pool (external backends only when `inference.external_allowed`). `llm` needs at least one backend.",
    ),
    key(
        "workers.record_exchanges",
        KeyType::Boolean,
        "true",
        "Record each step's prompt, completion and logprobs on the step, for training datasets.",
    ),
    key(
        "guardrails.default_real",
        KeyType::Choice(GUARDRAIL_MODES),
        "\"ask\"",
        "Default guardrail for write actions on real environments.",
    ),
    key(
        "guardrails.default_twin",
        KeyType::Choice(GUARDRAIL_MODES),
        "\"auto\"",
        "Default guardrail for write actions on twins.",
    ),
    key(
        "inference.backends",
        KeyType::TableList,
        "[]",
        "OpenAI-compatible inference backends (`[[inference.backends]]`); empty means the built-in policy only. From the environment, a TOML array of inline tables.",
    ),
    key(
        "inference.backends[].name",
        KeyType::String,
        "(required)",
        "Name for logs and metrics.",
    ),
    key(
        "inference.backends[].url",
        KeyType::String,
        "(required)",
        "Base URL of the OpenAI-compatible API.",
    ),
    key(
        "inference.backends[].models",
        KeyType::StringList,
        "[]",
        "Models served by this backend.",
    ),
    key(
        "inference.backends[].weight",
        KeyType::Integer,
        "1",
        "Relative share of traffic.",
    ),
    key(
        "inference.backends[].max_in_flight",
        KeyType::Integer,
        "8",
        "Concurrent requests allowed.",
    ),
    key(
        "inference.backends[].trust",
        KeyType::Choice(&["local", "external"]),
        "\"local\"",
        "`local`: inside the trust boundary, any tenant may use it; `external`: only when `inference.external_allowed` is true.",
    ),
    key(
        "inference.backends[].api_key_env",
        KeyType::String,
        "(unset)",
        "Name of the environment variable that holds the backend's API key.",
    ),
    key(
        "inference.backends[].load_adapters",
        KeyType::Boolean,
        "false",
        "Whether the router may load a tenant's LoRA adapter on this backend on demand (vLLM `POST /v1/load_lora_adapter`, which needs `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True` there) when no backend lists it yet.",
    ),
    key(
        "inference.model",
        KeyType::String,
        "\"Qwen/Qwen3-14B\"",
        "Model (or LoRA adapter) name agent workers ask the pool for when `workers.policy = \"llm\"`.",
    ),
    key(
        "inference.external_allowed",
        KeyType::Boolean,
        "false",
        "Whether inference traffic (the OpenAI-compatible endpoints) may reach `trust = \"external\"` backends; the default for tenants without their own inference policy (`PUT /api/v1/tenants/{slug}/inference-policy`).",
    ),
    key(
        "inference.quota.max_concurrent",
        KeyType::Integer,
        "(unset: unlimited)",
        "Chat completions (`POST /v1/chat/completions`) a tenant may have in flight at once; the default for tenants without their own inference policy. Over it: 429 `rate_limited`. Shared across replicas through Redis when `redis.url` is set.",
    ),
    key(
        "inference.quota.tokens_per_minute",
        KeyType::Integer,
        "(unset: unlimited)",
        "Tokens a tenant may use per minute on the OpenAI-compatible endpoints (reserved up front as `max_tokens` or 1024, plus prompt characters / 4; corrected to the reply's usage); the default for tenants without their own inference policy. Over it: 429 `rate_limited` with `Retry-After`.",
    ),
    key(
        "inference.quota.tokens_per_day",
        KeyType::Integer,
        "(unset: unlimited)",
        "Tokens a tenant may use per UTC day on the OpenAI-compatible endpoints, counted like `inference.quota.tokens_per_minute`; the default for tenants without their own inference policy.",
    ),
    key(
        "learning.rewards.success",
        KeyType::Number,
        "1.0",
        "Step reward paid once, on the submit step, when the evaluator judged the run a success.",
    ),
    key(
        "learning.rewards.format",
        KeyType::Number,
        "0.1",
        "Step reward for a reply that parsed into the Observer's JSON shape.",
    ),
    key(
        "learning.rewards.action_type",
        KeyType::Number,
        "0.1",
        "Step reward for a sensible action type for the state of the run.",
    ),
    key(
        "learning.rewards.targets",
        KeyType::Number,
        "0.2",
        "Step reward weight of the share of named resources that are relevant to the incident.",
    ),
    key(
        "learning.rewards.calibration",
        KeyType::Number,
        "0.1",
        "Step reward weight of confidence calibration, `1 - (confidence - outcome)^2`.",
    ),
    key(
        "learning.rewards.refused_write",
        KeyType::Number,
        "-0.5",
        "Step reward per write the runtime refused (negative).",
    ),
    key(
        "learning.rewards.unparsable",
        KeyType::Number,
        "0.0",
        "The fixed step reward of a reply that does not parse (refused writes still count).",
    ),
    key(
        "evolver.teacher",
        KeyType::Choice(EVOLVER_TEACHERS),
        "\"builtin\"",
        "What drafts a failed session's repaired plan: `builtin`, the built-in playbook replayed on a twin reproduction; `model`, `evolver.teacher_model` through the `[[inference.backends]]` pool (on a twin it plays the problem and its plan is verified by replay). Sessions on environments no twin reproduces go to the model whenever there is a backend, unverified, and are skipped otherwise.",
    ),
    key(
        "evolver.teacher_model",
        KeyType::String,
        "\"\"",
        "Model the evolver's teacher asks the pool for; empty means `inference.model`.",
    ),
    key(
        "evolver.auto_approve_verified",
        KeyType::Boolean,
        "false",
        "Store a draft whose plan was verified on the twin as approved (reviewer `aoi-evolver`, audited `signal.auto_approve`) instead of pending review.",
    ),
];

/// Why `workers.policy = "llm"` is refused without backends.
pub const LLM_WITHOUT_BACKENDS: &str = "is `llm`, which needs at least one `[[inference.backends]]` entry; add one or set `workers.policy = \"builtin\"`";

/// Sections that only group keys (tables whose children are keys in [`KEYS`]).
const SECTIONS: &[&str] = &[
    "server",
    "database",
    "redis",
    "auth",
    "auth.oidc",
    "approvals",
    "workers",
    "guardrails",
    "inference",
    "inference.quota",
    "learning",
    "learning.rewards",
    "evolver",
];

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

/// The key table of `docs/configuration.md`, generated from [`KEYS`] (the doc-sync test
/// prints it when the doc drifts).
pub fn doc_table() -> String {
    let mut out = String::from(
        "| key | type | default | environment | description |\n|---|---|---|---|---|\n",
    );
    for k in KEYS {
        let mut env: Vec<String> = k.env_var().into_iter().collect();
        env.extend(k.aliases.iter().map(|a| a.to_string()));
        let env = if env.is_empty() {
            "-".to_string()
        } else {
            env.iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} | {} |\n",
            k.key,
            k.ty.name(),
            k.default,
            env,
            k.description.replace('|', "\\|")
        ));
    }
    out
}

/// Flattened `(key, value)` pairs of a configuration's values as TOML writes them; unset
/// optional keys are absent. Lists of tables are one entry.
pub fn flatten(config: &Config) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Ok(Value::Table(table)) = Value::try_from(config) {
        flatten_into(&table, "", &mut out);
    }
    out
}

fn flatten_into(table: &Table, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (k, v) in table {
        let path = join(prefix, k);
        match v {
            Value::Table(inner) if SECTIONS.contains(&path.as_str()) => {
                flatten_into(inner, &path, out)
            }
            other => out.push((path, other.clone())),
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn find_key(path: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|k| k.key == path)
}

fn type_name(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Integer(i) => format!("the integer {i}"),
        Value::Float(f) => format!("the float {f}"),
        Value::Boolean(b) => format!("the boolean {b}"),
        Value::Datetime(d) => format!("the datetime {d}"),
        Value::Array(_) => "a list".into(),
        Value::Table(_) => "a table".into(),
    }
}

/// Checks every key of `table` (at `prefix`) against [`KEYS`] and its type.
fn check_table(table: &Table, prefix: &str, origin: &str) -> Result<(), ConfigError> {
    for (k, v) in table {
        let path = join(prefix, k);
        if SECTIONS.contains(&path.as_str()) {
            match v {
                Value::Table(inner) => check_table(inner, &path, origin)?,
                other => {
                    return Err(ConfigError::WrongType {
                        key: path,
                        origin: origin.into(),
                        expected: "a table".into(),
                        found: type_name(other),
                    });
                }
            }
            continue;
        }
        check_value(&path, &path, v, origin)?;
    }
    Ok(())
}

/// Checks one value; `schema_path` is the key in [`KEYS`], `shown` what errors name.
fn check_value(schema_path: &str, shown: &str, v: &Value, origin: &str) -> Result<(), ConfigError> {
    let Some(doc) = find_key(schema_path) else {
        return Err(ConfigError::UnknownKey {
            key: shown.into(),
            origin: origin.into(),
        });
    };
    if !doc.ty.accepts(v) {
        return Err(ConfigError::WrongType {
            key: shown.into(),
            origin: origin.into(),
            expected: match doc.ty {
                KeyType::Choice(words) => format!("one of {}", words.join(", ")),
                KeyType::Integer => "a non-negative integer".into(),
                KeyType::Number => "a finite number".into(),
                other => format!("a {}", other.name()),
            },
            found: type_name(v),
        });
    }
    if doc.ty == KeyType::TableList
        && let Value::Array(items) = v
    {
        for (i, item) in items.iter().enumerate() {
            if let Value::Table(entry) = item {
                for (k, inner) in entry {
                    check_value(
                        &format!("{schema_path}[].{k}"),
                        &format!("{shown}[{i}].{k}"),
                        inner,
                        origin,
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Builds the environment layer: aliases first, then `AOI__` variables over them.
fn env_table<I>(env: I) -> Result<Table, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut aliases: Vec<(&'static KeyDoc, String, String)> = Vec::new();
    let mut explicit: Vec<(String, String)> = Vec::new();
    for (name, value) in env {
        if let Some(rest) = name.strip_prefix("AOI__") {
            explicit.push((rest.to_string(), value));
            continue;
        }
        for doc in KEYS {
            if doc.aliases.contains(&name.as_str()) {
                aliases.push((doc, name.clone(), value.clone()));
            }
        }
    }
    let mut table = Table::new();
    for (doc, name, raw) in aliases {
        let origin = format!("environment variable {name}");
        let value = env_value(doc, &raw, &origin)?;
        insert_path(&mut table, doc.key, value);
    }
    explicit.sort();
    for (rest, raw) in explicit {
        let origin = format!("environment variable AOI__{rest}");
        let path = rest.to_ascii_lowercase().replace("__", ".");
        let doc = find_key(&path)
            .filter(|d| !d.key.contains("[]"))
            .ok_or_else(|| ConfigError::UnknownKey {
                key: path.clone(),
                origin: origin.clone(),
            })?;
        let value = env_value(doc, &raw, &origin)?;
        insert_path(&mut table, doc.key, value);
    }
    Ok(table)
}

/// Converts an environment string to the key's type.
fn env_value(doc: &KeyDoc, raw: &str, origin: &str) -> Result<Value, ConfigError> {
    let value = match doc.ty {
        KeyType::String | KeyType::Choice(_) => Value::String(raw.to_string()),
        KeyType::Integer => match raw.trim().parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::String(raw.to_string()),
        },
        KeyType::Boolean => match raw.trim().parse::<bool>() {
            Ok(b) => Value::Boolean(b),
            Err(_) => Value::String(raw.to_string()),
        },
        KeyType::Number => match raw.trim().parse::<f64>() {
            Ok(f) => Value::Float(f),
            Err(_) => Value::String(raw.to_string()),
        },
        KeyType::StringList | KeyType::TableList => {
            let parsed: Result<Table, _> = toml::from_str(&format!("v = {raw}"));
            match parsed.ok().and_then(|mut t| t.remove("v")) {
                Some(v) => v,
                None => {
                    return Err(ConfigError::WrongType {
                        key: doc.key.into(),
                        origin: origin.into(),
                        expected: format!("a TOML {}", doc.ty.name()),
                        found: format!("`{raw}`"),
                    });
                }
            }
        }
    };
    check_value(doc.key, doc.key, &value, origin)?;
    Ok(value)
}

fn insert_path(table: &mut Table, path: &str, value: Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        match entry {
            Value::Table(t) => current = t,
            _ => return,
        }
    }
    current.insert(last.to_string(), value);
}

/// Merges `over` into `base`; tables merge key by key, anything else replaces.
fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
