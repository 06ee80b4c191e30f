//! The key table ([`KEYS`]) and what checks a configuration against it: types, unknown keys,
//! environment variables, layering, and the table of `docs/configuration.md`.

use super::*;

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
    /// A table of named lists of tables (`name = [{...}]`), whose entries' keys are listed
    /// under `<key>.*[].`.
    NamedTableLists,
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
            KeyType::NamedTableLists => "table of lists of tables".into(),
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
            (KeyType::NamedTableLists, Value::Table(t)) => t.values().all(|v| {
                matches!(v, Value::Array(items) if items.iter().all(|i| matches!(i, Value::Table(_))))
            }),
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

pub(super) const fn key(
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

pub(super) const GUARDRAIL_MODES: &[&str] = &["auto", "ask", "deny"];

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
    key(
        "plugins.trusted_publishers",
        KeyType::NamedTableLists,
        "{}",
        "Publisher keys plugin packages must be signed with: `acme = [{ key_id = \"acme-2026\", public_key = \"<base64>\" }]`. An unsigned package, a tampered one or one from a publisher or key not listed here is refused at upload.",
    ),
    key(
        "plugins.trusted_publishers.*[].key_id",
        KeyType::String,
        "(required)",
        "The key's id, as the package's signature names it.",
    ),
    key(
        "plugins.trusted_publishers.*[].public_key",
        KeyType::String,
        "(required)",
        "Base64 of the 32-byte ed25519 public key (`aoi-plugin-sign keygen` prints it); an invalid key is refused when the config loads.",
    ),
    key(
        "plugins.secret_key_file",
        KeyType::String,
        "(unset: <data_dir>/plugins.key)",
        "File holding the 32-byte key that encrypts plugin config secrets at rest (XChaCha20-Poly1305); generated with mode 0600 on first run when missing. Losing it makes stored secrets unreadable: back it up with the database.",
    ),
    key(
        "plugins.wasm_fuel",
        KeyType::Integer,
        "200000000",
        "Fuel (roughly, WASM instructions) one call of a WASM plugin's tool may burn before it is stopped.",
    ),
    key(
        "plugins.wasm_timeout_ms",
        KeyType::Integer,
        "5000",
        "Wall-clock limit of one WASM tool call, host calls included.",
    ),
    key(
        "plugins.wasm_memory_mb",
        KeyType::Integer,
        "64",
        "Linear memory one WASM plugin instance may grow to.",
    ),
];


/// Sections that only group keys (tables whose children are keys in [`KEYS`]).
pub(super) const SECTIONS: &[&str] = &[
    "plugins",
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

pub(super) fn flatten_into(table: &Table, prefix: &str, out: &mut Vec<(String, Value)>) {
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

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

pub(super) fn find_key(path: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|k| k.key == path)
}

pub(super) fn type_name(value: &Value) -> String {
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
pub(super) fn check_table(table: &Table, prefix: &str, origin: &str) -> Result<(), ConfigError> {
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
pub(super) fn check_value(schema_path: &str, shown: &str, v: &Value, origin: &str) -> Result<(), ConfigError> {
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
    if doc.ty == KeyType::NamedTableLists
        && let Value::Table(named) = v
    {
        for (name, list) in named {
            if let Value::Array(items) = list {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Table(entry) = item {
                        for (k, inner) in entry {
                            check_value(
                                &format!("{schema_path}.*[].{k}"),
                                &format!("{shown}.{name}[{i}].{k}"),
                                inner,
                                origin,
                            )?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Builds the environment layer: aliases first, then `AOI__` variables over them.
pub(super) fn env_table<I>(env: I) -> Result<Table, ConfigError>
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
pub(super) fn env_value(doc: &KeyDoc, raw: &str, origin: &str) -> Result<Value, ConfigError> {
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
        KeyType::StringList | KeyType::TableList | KeyType::NamedTableLists => {
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

pub(super) fn insert_path(table: &mut Table, path: &str, value: Value) {
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
pub(super) fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}
