//! The context every service function receives.

use crate::events::EventBus;
use crate::audit::AuditSink;
use crate::ports::{CachedApiKeys, StorePolicies, StoreUsers};
use crate::tenants::TenantIds;
use aoi_control::auth::{Authenticator, JwksVerifier, JwtCodec, SigningKey};
use aoi_control::{Authorizer, Config};
use aoi_store::Store;
use std::sync::Arc;

/// Shared state of one control-plane process.
#[derive(Clone)]
pub struct Platform {
    pub config: Arc<Config>,
    pub store: Store,
    pub authorizer: Arc<Authorizer>,
    pub authenticator: Arc<Authenticator>,
    pub events: EventBus,
    /// The vLLM pool of `[[inference.backends]]`; `None` when no backend is configured.
    pub inference: Option<Arc<aoi_router::Pool>>,
    /// Per-tenant quotas of the OpenAI-compatible endpoints, from `[inference.quota]`: in Redis
    /// (prefix `redis.key_prefix`) when `redis.url` is set, else in-process.
    pub quotas: aoi_router::Quotas,
    /// Writes usage records (`api_key.use`, `inference.chat`) in batches behind the requests.
    pub audit_sink: AuditSink,
    /// Tenant slug-to-id mappings already looked up.
    pub tenant_ids: Arc<TenantIds>,
    /// The API keys the authenticator looks up, cached briefly; cleared when a key is revoked.
    pub api_keys: Arc<CachedApiKeys>,
    /// Per-tenant figures of the OpenAI-compatible endpoints, for /metrics.
    pub inference_metrics: Arc<crate::inference_metrics::InferenceMetrics>,
    /// Tenants' inference policies and adapter registries, read at most every
    /// [`crate::models::CACHE_TTL`].
    pub model_cache: Arc<crate::models::ModelCache>,
    /// Trusted publisher keys, the plugin secrets box, WASM limits and built toolsets.
    pub plugins: Arc<crate::plugins::PluginRuntime>,
}

/// Why the platform could not start; the message says what to fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OpenError(pub String);

impl Platform {
    /// Creates the data folder, connects the configured database (SQLite under the data
    /// folder unless `database.url` / `DATABASE_URL` is set), migrates it, loads or generates
    /// the signing key, and builds the authorizer and authenticator.
    pub async fn open(config: Config) -> Result<Platform, OpenError> {
        Platform::open_with_jwks(config, None).await
    }

    /// [`Platform::open`], accepting tokens of the configured OIDC issuer with the key set
    /// `jwks` (the JSON document the caller fetched from `auth.oidc.jwks_url`).
    pub async fn open_with_jwks(
        config: Config,
        jwks: Option<String>,
    ) -> Result<Platform, OpenError> {
        std::fs::create_dir_all(&config.server.data_dir).map_err(|e| {
            OpenError(format!(
                "cannot create the data folder {}: {e}",
                config.server.data_dir.display()
            ))
        })?;
        let store = connect_and_migrate(&config).await?;
        Platform::from_store_with_jwks(config, store, jwks).await
    }

    /// Builds the platform over an already migrated store.
    pub async fn from_store(config: Config, store: Store) -> Result<Platform, OpenError> {
        Platform::from_store_with_jwks(config, store, None).await
    }

    /// [`Platform::from_store`] with an OIDC key set (see [`Platform::open_with_jwks`]).
    pub async fn from_store_with_jwks(
        config: Config,
        store: Store,
        jwks: Option<String>,
    ) -> Result<Platform, OpenError> {
        let key = SigningKey::load_or_generate(&config)
            .map_err(|e| OpenError(format!("signing key: {e}")))?;
        let jwt = JwtCodec::new(&key, &config.auth);
        let api_keys = Arc::new(CachedApiKeys::new(store.clone()));
        let mut authenticator = Authenticator::new(
            jwt,
            api_keys.clone(),
            Arc::new(StoreUsers(store.clone())),
        );
        match (&config.auth.oidc, jwks) {
            (Some(oidc), Some(jwks)) => {
                let verifier = JwksVerifier::from_json(&jwks, &oidc.issuer, &oidc.audience)
                    .map_err(|e| OpenError(format!("auth.oidc.jwks_url: {e}")))?;
                authenticator = authenticator.with_oidc(verifier);
            }
            (Some(_), None) => tracing::warn!(
                "auth.oidc is configured but no key set was given; OIDC tokens are refused"
            ),
            (None, _) => {}
        }
        let authorizer = Authorizer::new(Arc::new(StorePolicies(store.clone())))
            .await
            .map_err(|e| OpenError(format!("authorization policies: {e}")))?;
        // Redis pub/sub across replicas with `redis.url`, else an in-process broadcast.
        let events = EventBus::from_config(&config.redis)
            .await
            .map_err(|e| OpenError(e.to_string()))?;
        let inference = inference_pool(&config.inference)
            .await
            .map_err(|e| OpenError(format!("inference.backends: {e}")))?;
        if config.workers.policy == aoi_control::config::WorkerPolicy::Llm && inference.is_none() {
            return Err(OpenError(format!(
                "workers.policy {}",
                aoi_control::config::LLM_WITHOUT_BACKENDS
            )));
        }
        let quotas = inference_quotas(&config)
            .await
            .map_err(|e| OpenError(format!("inference.quota: {e}")))?;
        let plugins = crate::plugins::PluginRuntime::from_config(&config).map_err(OpenError)?;
        let audit_sink = AuditSink::start(store.clone());
        Ok(Platform {
            plugins: Arc::new(plugins),
            config: Arc::new(config),
            audit_sink,
            tenant_ids: Arc::new(TenantIds::default()),
            inference_metrics: Arc::default(),
            model_cache: Arc::default(),
            api_keys,
            store,
            authorizer: Arc::new(authorizer),
            authenticator: Arc::new(authenticator),
            events,
            inference,
            quotas,
        })
    }

    /// Whether the database answers (for /readyz).
    pub async fn database_ready(&self) -> bool {
        self.store.tenants().await.is_ok()
    }
}

/// The name of the pool built from `[[inference.backends]]` (it appears in its errors).
pub const INFERENCE_POOL: &str = "default";

/// Builds the pool from `[[inference.backends]]`, or `None` when the list is empty. An
/// `api_key_env` naming an unset variable is refused. A trailing `/v1` on a URL is dropped.
pub async fn inference_pool(
    config: &aoi_control::config::InferenceConfig,
) -> Result<Option<Arc<aoi_router::Pool>>, String> {
    if config.backends.is_empty() {
        return Ok(None);
    }
    let mut specs = Vec::with_capacity(config.backends.len());
    for b in &config.backends {
        let api_key = match &b.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                format!(
                    "backend `{}`: api_key_env names `{var}`, which is not set",
                    b.name
                )
            })?),
            None => None,
        };
        let trust = match b.trust.as_str() {
            "external" => aoi_router::Trust::External,
            _ => aoi_router::Trust::Local,
        };
        let url = b.url.trim_end_matches('/');
        let url = url.strip_suffix("/v1").unwrap_or(url).to_string();
        specs.push(aoi_router::BackendSpec {
            name: b.name.clone(),
            url,
            models: b.models.clone(),
            weight: b.weight,
            max_in_flight: usize::try_from(b.max_in_flight).unwrap_or(usize::MAX),
            trust,
            api_key,
            load_adapters: b.load_adapters,
        });
    }
    let pool = aoi_router::Pool::new(INFERENCE_POOL, specs, aoi_router::PoolOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(Arc::new(pool)))
}

/// The default quota limits of every tenant, from `[inference.quota]` (unset: unlimited).
pub fn quota_limits(config: &aoi_control::config::QuotaConfig) -> aoi_router::QuotaLimits {
    aoi_router::QuotaLimits {
        max_concurrent: config.max_concurrent,
        tokens_per_minute: config.tokens_per_minute,
        tokens_per_day: config.tokens_per_day,
    }
}

/// Builds the quotas of the OpenAI-compatible endpoints: shared through Redis (keys under
/// `<redis.key_prefix>:quota:`) when `redis.url` is set, else in this process.
pub async fn inference_quotas(config: &Config) -> Result<aoi_router::Quotas, String> {
    let limits = quota_limits(&config.inference.quota);
    let backend = match &config.redis.url {
        Some(url) => aoi_router::QuotaBackend::Redis {
            url: url.clone(),
            prefix: config.redis.key_prefix.trim_end_matches(':').to_string(),
        },
        None => aoi_router::QuotaBackend::InProcess,
    };
    aoi_router::Quotas::connect(&backend, limits)
        .await
        .map_err(|e| e.to_string())
}

/// Connects `config.database_url()` and applies pending migrations.
pub async fn connect_and_migrate(config: &Config) -> Result<Store, OpenError> {
    let url = config.database_url();
    let store = Store::connect(&url)
        .await
        .map_err(|e| OpenError(format!("database: {e}")))?;
    store
        .migrate()
        .await
        .map_err(|e| OpenError(format!("migrating the database: {e}")))?;
    Ok(store)
}
