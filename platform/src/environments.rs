//! Environments a tenant's sessions run on. This build creates twin environments (a
//! simulated cluster running one problem of the shipped `aiopslab` suite) and external ones (a
//! cluster outside AOI whose tool calls an API client executes, [`crate::external`]); real
//! clusters come with the plugin work.

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
    /// `twin`, or `external` (a cluster whose tool calls the API client executes; `config`
    /// holds the task, see [`crate::external::ExternalTask`]).
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
        "external" => {
            if input.problem_id.is_some() {
                return Err(ApiError::invalid_input(
                    "problem_id",
                    "an external environment has no problem id: put the task in config",
                ));
            }
            let config = input.config.clone().unwrap_or(Value::Null);
            crate::external::ExternalTask::from_config(&config)?;
            EnvironmentSpec::External
        }
        "kubernetes" => {
            if input.problem_id.is_some() {
                return Err(ApiError::invalid_input(
                    "problem_id",
                    "a kubernetes environment has no problem id: its sessions work on the incident",
                ));
            }
            check_cluster_config(input.config.as_ref())?;
            EnvironmentSpec::Kubernetes
        }
        other => {
            return Err(ApiError::invalid_input(
                "kind",
                format!("`{other}` is not an environment kind: use `twin`, `kubernetes` or `external`"),
            ));
        }
    };
    let tenant = scope_tenant(platform, proof).await?;
    if input.kind == "kubernetes" {
        let installed = platform
            .store
            .plugin_installation(tenant, "kubernetes")
            .await
            .map_err(store_error("plugin kubernetes"))?;
        if !installed.is_some_and(|i| i.enabled) {
            return Err(ApiError::invalid_input(
                "kind",
                "a kubernetes environment runs on the tenant's kubernetes plugin: install and enable it first (POST /api/v1/plugins/kubernetes/install with the cluster's api_server and token)",
            ));
        }
    }
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
        json!({ "name": env.name, "kind": env.kind, "problem_id": env.problem_id }),
    )
    .await?;
    Ok(env)
}

/// The keys a kubernetes environment's config may hold, all strings.
const CLUSTER_KEYS: &[&str] = &["namespace", "app_name", "app_description"];

fn check_cluster_config(config: Option<&Value>) -> Result<(), ApiError> {
    let Some(config) = config else {
        return Ok(());
    };
    let Some(map) = config.as_object() else {
        return Err(ApiError::invalid_input("config", "must be a JSON object"));
    };
    for (key, value) in map {
        if !CLUSTER_KEYS.contains(&key.as_str()) {
            return Err(ApiError::invalid_input(
                format!("config.{key}"),
                format!("is not a kubernetes environment key; use {}", CLUSTER_KEYS.join(", ")),
            ));
        }
        if !value.is_string() {
            return Err(ApiError::invalid_input(format!("config.{key}"), "must be a string"));
        }
    }
    Ok(())
}

/// The task of a session on a cluster: mitigate the incident, in its namespace (or the
/// environment's default one).
pub fn cluster_task(environment: &Environment, incident: &aoi_store::Incident) -> aoi_core::TaskSpec {
    let config = |key: &str| {
        environment
            .config
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let namespace = incident
        .namespace
        .clone()
        .or_else(|| config("namespace"))
        .unwrap_or_else(|| "default".to_string());
    let app_name = config("app_name")
        .or_else(|| incident.service.clone())
        .unwrap_or_else(|| environment.name.clone());
    let app_description = config("app_description").unwrap_or_default();
    let instructions = format!(
        "You are an expert DevOps engineer on call for the cluster `{}`.\n\nIncident: {} (severity {}{}).\nNamespace: {namespace}\n\nFind the root cause with the read tools, have the Executor fix it (every change passes the guardrails and may need a person's approval), verify that the service is healthy, then call submit() with no arguments.",
        environment.name,
        incident.title,
        incident.severity,
        incident
            .service
            .as_ref()
            .map(|s| format!(", service {s}"))
            .unwrap_or_default(),
    );
    aoi_core::TaskSpec {
        task_type: aoi_core::TaskType::Mitigation,
        app_name,
        namespace,
        app_description,
        instructions,
    }
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
