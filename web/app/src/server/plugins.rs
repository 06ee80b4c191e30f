//! The plugin store: the catalog with the tenant's installations; install, enable or disable,
//! configure (secret fields are write-only: never rendered back, left blank to keep).

use std::collections::HashMap;

use aoi_control::{ApiError, Permission};
use aoi_platform::plugins;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value};

use super::{Console, Part, SignedIn, form_action, live_page};
use crate::pages;

pub(super) fn routes() -> axum::Router<Console> {
    axum::Router::new()
        .route("/console/plugins", get(store))
        .route("/console/plugins/{name}/install", post(install))
        .route("/console/plugins/{name}/configure", post(configure))
        .route("/console/plugins/{name}/enable", post(enable))
        .route("/console/plugins/{name}/disable", post(disable))
}

const BACK: &str = "/console/plugins";

async fn store(
    State(console): State<Console>,
    who: SignedIn,
    Query(part): Query<Part>,
) -> Response {
    let entries = match who.authorize(&console, Permission::ReadPlugins).await {
        Ok(proof) => plugins::catalog(&console.platform, &proof).await,
        Err(e) => Err(e),
    };
    let can_manage = who.may(&console, Permission::ManagePlugins).await;
    let loaded = entries.map(|entries| pages::plugins::StoreView {
        entries,
        can_manage,
    });
    live_page(
        &console,
        &who,
        &part,
        loaded,
        "/console/incidents",
        pages::plugins::store_body,
        pages::plugins::store_page,
    )
    .await
}

/// The form's `config.<field>` values as the plugin's config: typed by the schema, blank
/// values left out (a blank secret keeps its stored value).
fn config_of(
    entry: &aoi_platform::plugins::catalog::CatalogEntry,
    form: &HashMap<String, String>,
) -> Result<Map<String, Value>, ApiError> {
    use aoi_plugin_package::ConfigKind;
    let mut config = Map::new();
    for field in &entry.config_schema {
        let Some(raw) = form.get(&format!("config.{}", field.name)) else {
            continue;
        };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let value = match field.kind {
            ConfigKind::Integer => raw.parse::<i64>().map(Value::from).map_err(|_| {
                ApiError::invalid_input(&field.name, format!("{raw:?} is not a whole number"))
            })?,
            ConfigKind::Boolean => Value::Bool(matches!(raw, "true" | "on" | "yes" | "1")),
            ConfigKind::String | ConfigKind::Url => Value::String(raw.to_owned()),
        };
        config.insert(field.name.clone(), value);
    }
    Ok(config)
}

async fn entry(
    console: &Console,
    who: &SignedIn,
    name: &str,
) -> Result<aoi_platform::plugins::catalog::CatalogEntry, ApiError> {
    let proof = who.authorize(console, Permission::ReadPlugins).await?;
    plugins::catalog(&console.platform, &proof)
        .await?
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(|| ApiError::NotFound {
            what: format!("plugin {name}"),
        })
}

/// Installs `name` with the form's config, or changes the installed config.
async fn save_config(
    console: Console,
    headers: HeaderMap,
    who: SignedIn,
    name: String,
    form: HashMap<String, String>,
    install: bool,
) -> Response {
    form_action(&console, &headers, BACK, async {
        let proof = who.authorize(&console, Permission::ManagePlugins).await?;
        let entry = entry(&console, &who, &name).await?;
        let config = config_of(&entry, &form)?;
        if install {
            let request = plugins::InstallRequest {
                version: None,
                config,
            };
            plugins::install(&console.platform, &proof, &name, request).await
        } else {
            let request = plugins::ConfigureRequest { config };
            plugins::configure(&console.platform, &proof, &name, request).await
        }
    })
    .await
}

async fn install(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    save_config(console, headers, who, name, form, true).await
}

async fn configure(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    save_config(console, headers, who, name, form, false).await
}

async fn set_enabled(
    console: Console,
    headers: HeaderMap,
    who: SignedIn,
    name: String,
    enabled: bool,
) -> Response {
    form_action(&console, &headers, BACK, async {
        let proof = who.authorize(&console, Permission::ManagePlugins).await?;
        plugins::set_enabled(&console.platform, &proof, &name, enabled).await
    })
    .await
}

async fn enable(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path(name): Path<String>,
) -> Response {
    set_enabled(console, headers, who, name, true).await
}

async fn disable(
    State(console): State<Console>,
    headers: HeaderMap,
    who: SignedIn,
    Path(name): Path<String>,
) -> Response {
    set_enabled(console, headers, who, name, false).await
}
