//! The installation's config, checked once into typed values, and the kube client built from it.

use aoi_plugin_sdk::{ConfigError, PluginConfig};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::SecretString;
use std::time::Duration;

/// How long one API request may wait for an answer before the tool reports a timeout.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The kubernetes plugin's config. `Debug` never prints the token.
#[derive(Clone)]
pub struct K8sConfig {
    /// The API server URL, e.g. `https://10.0.0.1:6443`.
    pub api_server: String,
    cluster_url: http::Uri,
    token: Option<SecretString>,
    /// DER certificates parsed from `ca_cert_pem`.
    ca_certs: Option<Vec<Vec<u8>>>,
    pub insecure_skip_tls_verify: bool,
    /// Writes approved by a person run as that person (`Impersonate-User`).
    pub impersonate_approver: bool,
    /// Namespaces the tools may touch; empty means all.
    pub namespace_allowlist: Vec<String>,
}

impl std::fmt::Debug for K8sConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K8sConfig")
            .field("api_server", &self.api_server)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("ca_certs", &self.ca_certs.as_ref().map(Vec::len))
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("impersonate_approver", &self.impersonate_approver)
            .field("namespace_allowlist", &self.namespace_allowlist)
            .finish()
    }
}

impl K8sConfig {
    /// Reads and checks the installation's values; the error names the bad field.
    pub fn from_plugin(config: &PluginConfig) -> Result<Self, ConfigError> {
        let api_server = config.url("api_server")?;
        let cluster_url: http::Uri = api_server.parse().map_err(|e| {
            ConfigError::new(
                "api_server",
                format!("`{api_server}` is not a valid URL: {e}"),
            )
        })?;
        let ca_certs = match config.str("ca_cert_pem") {
            None => None,
            Some(pem) => Some(parse_ca_pem(pem)?),
        };
        Ok(K8sConfig {
            api_server,
            cluster_url,
            token: config.str("token").map(SecretString::from),
            ca_certs,
            insecure_skip_tls_verify: config.bool("insecure_skip_tls_verify", false),
            impersonate_approver: config.bool("impersonate_approver", false),
            namespace_allowlist: config.list("namespace_allowlist"),
        })
    }

    /// Whether the tools may touch `namespace`.
    pub fn namespace_allowed(&self, namespace: &str) -> bool {
        self.namespace_allowlist.is_empty()
            || self.namespace_allowlist.iter().any(|n| n == namespace)
    }

    /// The kube client config; `impersonate` sets `Impersonate-User` on every request.
    pub(crate) fn kube_config(&self, impersonate: Option<&str>) -> kube::Config {
        let mut config = kube::Config::new(self.cluster_url.clone());
        config.root_cert = self.ca_certs.clone();
        config.accept_invalid_certs = self.insecure_skip_tls_verify;
        config.read_timeout = Some(READ_TIMEOUT);
        config.auth_info.token = self.token.clone();
        config.auth_info.impersonate = impersonate.map(str::to_string);
        config
    }

    /// A client for one identity. Needs a tokio runtime (kube spawns its request buffer).
    pub(crate) fn client(&self, impersonate: Option<&str>) -> Result<kube::Client, String> {
        kube::Client::try_from(self.kube_config(impersonate)).map_err(|e| {
            format!(
                "could not build a Kubernetes client for {}{}: {e}; check the plugin's TLS config",
                self.api_server,
                impersonate
                    .map(|u| format!(" acting as \"{u}\""))
                    .unwrap_or_default()
            )
        })
    }
}

fn parse_ca_pem(pem: &str) -> Result<Vec<Vec<u8>>, ConfigError> {
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert =
            cert.map_err(|e| ConfigError::new("ca_cert_pem", format!("is not valid PEM: {e}")))?;
        certs.push(cert.to_vec());
    }
    if certs.is_empty() {
        return Err(ConfigError::new(
            "ca_cert_pem",
            "holds no `-----BEGIN CERTIFICATE-----` block; paste the cluster CA certificate in PEM form",
        ));
    }
    Ok(certs)
}

/// kube's TLS setup asks rustls for the process-wide crypto provider; install aws-lc-rs (the one
/// the workspace uses) when nobody has chosen one yet.
pub(crate) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only means another thread installed one first, which is as good.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn config(values: Value) -> PluginConfig {
        let map: Map<String, Value> = values.as_object().cloned().unwrap_or_default();
        PluginConfig::new(map)
    }

    #[test]
    fn api_server_is_required_and_must_be_a_url() {
        let err = K8sConfig::from_plugin(&config(json!({"token": "t"}))).unwrap_err();
        assert_eq!(err.field, "api_server");
        let err =
            K8sConfig::from_plugin(&config(json!({"api_server": "10.0.0.1:6443"}))).unwrap_err();
        assert_eq!(err.field, "api_server");
        assert!(err.message.contains("http"), "{err}");
    }

    #[test]
    fn allowlist_and_flags_are_read() {
        let c = K8sConfig::from_plugin(&config(json!({
            "api_server": "https://k8s.example:6443/",
            "namespace_allowlist": "hotel-reservation, shop",
            "impersonate_approver": true,
        })))
        .unwrap();
        assert_eq!(c.api_server, "https://k8s.example:6443");
        assert!(c.impersonate_approver);
        assert!(!c.insecure_skip_tls_verify);
        assert!(c.namespace_allowed("shop"));
        assert!(!c.namespace_allowed("kube-system"));
        let open =
            K8sConfig::from_plugin(&config(json!({"api_server": "http://127.0.0.1:1"}))).unwrap();
        assert!(open.namespace_allowed("kube-system"));
    }

    #[test]
    fn a_ca_without_certificates_is_refused() {
        let err = K8sConfig::from_plugin(&config(json!({
            "api_server": "https://k8s.example",
            "ca_cert_pem": "not a certificate",
        })))
        .unwrap_err();
        assert_eq!(err.field, "ca_cert_pem");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = K8sConfig::from_plugin(&config(json!({
            "api_server": "https://k8s.example",
            "token": "sekret-token-value",
        })))
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("sekret-token-value"), "{debug}");
        assert!(debug.contains("[redacted]"));
        let kube = format!("{:?}", c.kube_config(Some("alice")));
        assert!(!kube.contains("sekret-token-value"), "{kube}");
    }
}
