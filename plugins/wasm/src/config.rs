//! The installation's network policy: which hosts a module may reach (`allowed_hosts`).

use aoi_plugin_sdk::{ConfigError, PluginConfig};
use reqwest::Url;

/// The config key listing the hosts a WASM plugin may call.
pub const ALLOWED_HOSTS: &str = "allowed_hosts";

/// One `allowed_hosts` entry: a host (any port) or `host:port` (that port only).
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostRule {
    /// As the URL parser normalizes it: lowercase name, canonical IPv4, `[v6]`.
    host: String,
    port: Option<u16>,
}

/// Hosts an installation lets its module reach; empty means no network at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    rules: Vec<HostRule>,
}

fn bad_entry(entry: &str, why: &str) -> ConfigError {
    ConfigError::new(
        ALLOWED_HOSTS,
        format!(
            "`{entry}` {why}; list hosts as `host` or `host:port`, comma-separated, e.g. `api.example.com, 10.0.0.5:9090`"
        ),
    )
}

/// Normalizes a host the way URLs of requests are normalized, so the match is exact.
fn normalize_host(entry: &str, host: &str) -> Result<String, ConfigError> {
    let url = Url::parse(&format!("http://{host}/"))
        .map_err(|e| bad_entry(entry, &format!("is not a host name or IP address ({e})")))?;
    match url.host_str() {
        Some(h) if !h.is_empty() => Ok(h.to_string()),
        _ => Err(bad_entry(entry, "has no host")),
    }
}

impl AllowedHosts {
    /// Reads `allowed_hosts` (a comma-separated string or a list); absent means no network.
    pub fn from_config(config: &PluginConfig) -> Result<Self, ConfigError> {
        let mut rules = Vec::new();
        for entry in config.list(ALLOWED_HOSTS) {
            rules.push(Self::parse_entry(&entry)?);
        }
        Ok(AllowedHosts { rules })
    }

    fn parse_entry(entry: &str) -> Result<HostRule, ConfigError> {
        if entry.contains("://") {
            return Err(bad_entry(entry, "has a scheme"));
        }
        if entry.contains(['/', '@', '?', '#', '\\', ' ', '*']) {
            return Err(bad_entry(entry, "is not a plain host"));
        }
        // `host:port`, `[v6]:port`; a bare IPv6 address (several `:`) has no port.
        let (host, port) = match entry.rsplit_once(':') {
            Some((h, p))
                if !p.is_empty()
                    && p.chars().all(|c| c.is_ascii_digit())
                    && (!h.contains(':') || h.ends_with(']')) =>
            {
                let port: u16 = p
                    .parse()
                    .map_err(|_| bad_entry(entry, "has a port above 65535"))?;
                (h, Some(port))
            }
            _ => (entry, None),
        };
        let host = if host.contains(':') && !host.starts_with('[') {
            normalize_host(entry, &format!("[{host}]"))?
        } else {
            normalize_host(entry, host)?
        };
        Ok(HostRule { host, port })
    }

    /// Whether no host at all is allowed.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Parses `url` and allows it only when it is http(s), has no user info and its host (and
    /// port, when the entry names one) is listed exactly. The refusal is shown to the guest.
    pub fn check(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "scheme {} is not allowed; only http and https URLs are",
                parsed.scheme()
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("URLs with user info (user:password@host) are not allowed".into());
        }
        let Some(host) = parsed.host_str() else {
            return Err(format!("`{url}` has no host"));
        };
        let port = parsed.port_or_known_default();
        let allowed = self
            .rules
            .iter()
            .any(|r| r.host == host && (r.port.is_none() || r.port == port));
        if !allowed {
            return Err(format!(
                "host {host} is not in this installation's allowed_hosts"
            ));
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn hosts(value: Value) -> Result<AllowedHosts, ConfigError> {
        let mut map = Map::new();
        map.insert(ALLOWED_HOSTS.into(), value);
        AllowedHosts::from_config(&PluginConfig::new(map))
    }

    #[test]
    fn a_host_allows_any_port_and_host_port_only_that_port() {
        let h = hosts(json!("API.example.com, 127.0.0.1:8080, [::1]:9000")).unwrap();
        assert!(h.check("https://api.example.com/x").is_ok());
        assert!(h.check("http://api.example.com:1234/").is_ok());
        assert!(h.check("http://127.0.0.1:8080/metrics").is_ok());
        assert!(h.check("http://[::1]:9000/").is_ok());
        let refused = h.check("http://127.0.0.1:8081/").unwrap_err();
        assert_eq!(
            refused,
            "host 127.0.0.1 is not in this installation's allowed_hosts"
        );
        assert!(h.check("http://[::1]:9001/").is_err());
        assert!(h.check("http://example.com/").is_err());
        assert!(h.check("http://api.example.com.evil.io/").is_err());
    }

    #[test]
    fn schemes_user_info_and_bad_urls_are_refused() {
        let h = hosts(json!(["api.example.com"])).unwrap();
        assert!(
            h.check("ftp://api.example.com/")
                .unwrap_err()
                .contains("scheme ftp")
        );
        assert!(
            h.check("file:///etc/passwd")
                .unwrap_err()
                .contains("scheme file")
        );
        assert!(
            h.check("http://api.example.com@evil.io/")
                .unwrap_err()
                .contains("user info")
        );
        assert!(
            h.check("http://evil.io@api.example.com/")
                .unwrap_err()
                .contains("user info")
        );
        assert!(
            h.check("not a url")
                .unwrap_err()
                .contains("not a valid URL")
        );
        // Decimal and hex spellings of an IP are normalized before the match.
        let ip = hosts(json!("127.0.0.1")).unwrap();
        assert!(ip.check("http://2130706433/").is_ok());
        assert!(
            hosts(json!(""))
                .unwrap()
                .check("http://127.0.0.1/")
                .is_err()
        );
    }

    #[test]
    fn bad_entries_name_the_field_and_the_entry() {
        for bad in ["http://x.io", "x.io/path", "u@x.io", "x.io:99999", "*.x.io"] {
            let err = hosts(json!(bad)).unwrap_err();
            assert_eq!(err.field, ALLOWED_HOSTS, "{bad}");
            assert!(err.message.contains(bad), "{bad}: {}", err.message);
        }
        assert!(
            hosts(json!("::1"))
                .unwrap()
                .check("http://[::1]:5/")
                .is_ok()
        );
    }
}
