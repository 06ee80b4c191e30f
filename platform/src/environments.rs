//! Environments a tenant's sessions run on. This build creates twin environments (a
//! simulated cluster running one problem of the shipped `aiopslab` suite); real clusters come
//! with the plugin work.

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission};
use aoi_store::{Environment, EnvironmentSpec, NewEnvironment};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Platform;
use crate::audit;
use crate::ports::{internal, store_error};
use crate::tenants::scope_tenant;

/// The body of `POST /api/v1/environments`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEnvironment {
    pub name: String,
    /// `twin` (the only kind this build creates).
    pub kind: String,
    /// For a twin: the problem id in the `aiopslab` suite.
    #[serde(default)]
    pub problem_id: Option<String>,
    #[serde(default)]
    pub config: Option<Value>,
}

/// Creates an environment (needs `manage_plugins`, i.e. a tenant admin).
pub async fn create(
    platform: &Platform,
    proof: &Authorized,
    input: CreateEnvironment,
) -> Result<Environment, ApiError> {
    proof.require(Permission::ManagePlugins)?;
    if input.name.trim().is_empty() || input.name.chars().count() > 128 {
        return Err(ApiError::invalid_input("name", "use 1 to 128 characters"));
    }
    let spec = match input.kind.as_str() {
        "twin" => {
            let Some(problem_id) = input.problem_id.clone() else {
                return Err(ApiError::invalid_input(
                    "problem_id",
                    "a twin environment needs a problem id of the aiopslab suite",
                ));
            };
            let suite = aoi_twin::suite::Suite::resolve("aiopslab")
                .map_err(|e| internal("suite", &e.to_string()))?;
            if suite.problem(&problem_id).is_none() {
                return Err(ApiError::invalid_input(
                    "problem_id",
                    format!("`{problem_id}` is not a problem of the aiopslab suite"),
                ));
            }
            EnvironmentSpec::Twin { problem_id }
        }
        "kubernetes" => {
            return Err(ApiError::invalid_input(
                "kind",
                "kubernetes environments come with cluster plugins; use `twin` for now",
            ));
        }
        other => {
            return Err(ApiError::invalid_input(
                "kind",
                format!("`{other}` is not an environment kind: use `twin`"),
            ));
        }
    };
    let tenant = scope_tenant(platform, proof).await?;
    let env = platform
        .store
        .create_environment(
            tenant,
            NewEnvironment {
                name: input.name.clone(),
                spec,
                config: input.config.unwrap_or_else(|| json!({})),
            },
        )
        .await
        .map_err(store_error(format!("environment {}", input.name)))?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "environment.create",
        &format!("environment:{}", env.id),
        json!({ "name": env.name, "problem_id": env.problem_id }),
    )
    .await?;
    Ok(env)
}

/// The tenant's environments.
pub async fn list(platform: &Platform, proof: &Authorized) -> Result<Vec<Environment>, ApiError> {
    proof.require(Permission::ReadEnvironments)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .store
        .environments(tenant)
        .await
        .map_err(store_error("environments"))
}

/// One environment of the tenant.
pub async fn get(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
) -> Result<Environment, ApiError> {
    proof.require(Permission::ReadEnvironments)?;
    let tenant = scope_tenant(platform, proof).await?;
    let what = format!("environment {id}");
    platform
        .store
        .environment(tenant, id)
        .await
        .map_err(store_error(what.clone()))?
        .ok_or(ApiError::NotFound { what })
}
