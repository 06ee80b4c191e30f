//! aoi-plugin-kubernetes: the built-in Kubernetes plugin over kube-rs.
//!
//! It owns the `k8s_*` tools: reads (`k8s_get`, `k8s_describe`, `k8s_logs`, `k8s_events`,
//! `k8s_top`) that run as the configured identity, and writes (`k8s_scale`,
//! `k8s_rollout_restart`, `k8s_rollout_undo`, `k8s_patch`, `k8s_delete_pod`, `k8s_set_image`) that
//! run as the approver (`Impersonate-User`) when `impersonate_approver` is set. Secrets are never
//! read, configmaps only by name, and a namespace outside `namespace_allowlist` is refused before
//! any request. It depends on the plugin SDK and package crates only among project crates; it
//! must not depend on the server, the store or the agent runtime.

mod config;
mod describe;
mod read;
mod render;
mod status;
mod tools;
mod undo;
mod write;

pub use config::K8sConfig;
pub use tools::KubernetesTools;

use aoi_plugin_package::{ConfigField, ConfigKind, PluginKind, PluginManifest};
use aoi_plugin_sdk::{ConfigError, PluginConfig, Toolset};
use std::sync::Arc;

fn field(
    name: &str,
    description: &str,
    kind: ConfigKind,
    required: bool,
    secret: bool,
) -> ConfigField {
    ConfigField {
        name: name.into(),
        description: description.into(),
        kind,
        required,
        secret,
    }
}

/// The plugin's manifest: its config schema (the token marked secret) and its tools.
pub fn manifest() -> PluginManifest {
    PluginManifest {
        name: "kubernetes".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        publisher: "aoi".into(),
        description: "Read and operate a Kubernetes cluster: get, describe, logs, events, top; scale, restart, undo, patch, delete pods, set images.".into(),
        kind: PluginKind::Builtin,
        config_schema: vec![
            field("api_server", "The API server URL, e.g. https://10.0.0.1:6443", ConfigKind::Url, true, false),
            field("token", "A bearer token (e.g. a ServiceAccount token) the tools authenticate with", ConfigKind::String, false, true),
            field("ca_cert_pem", "The cluster CA certificate in PEM form; default: the system roots", ConfigKind::String, false, false),
            field("insecure_skip_tls_verify", "Accept any server certificate (test clusters only); default false", ConfigKind::Boolean, false, false),
            field("impersonate_approver", "Run approved writes as the approver (Impersonate-User), so the cluster's RBAC applies to them; default false", ConfigKind::Boolean, false, false),
            field("namespace_allowlist", "Comma-separated namespaces the tools may touch; empty means all", ConfigKind::String, false, false),
        ],
        tools: tools::manifests(),
    }
}

/// The tools for one installation; the config error names the bad field.
pub fn toolset(config: &PluginConfig) -> Result<Arc<dyn Toolset>, ConfigError> {
    let config = K8sConfig::from_plugin(config)?;
    config::ensure_crypto_provider();
    Ok(Arc::new(KubernetesTools::new(config)))
}
