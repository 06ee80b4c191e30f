//! The context every service function receives.

use crate::events::EventBus;
use crate::ports::{StoreApiKeys, StorePolicies, StoreUsers};
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
        let mut authenticator = Authenticator::new(
            jwt,
            Arc::new(StoreApiKeys(store.clone())),
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
        Ok(Platform {
            config: Arc::new(config),
            store,
            authorizer: Arc::new(authorizer),
            authenticator: Arc::new(authenticator),
            events,
        })
    }

    /// Whether the database answers (for /readyz).
    pub async fn database_ready(&self) -> bool {
        self.store.tenants().await.is_ok()
    }
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
