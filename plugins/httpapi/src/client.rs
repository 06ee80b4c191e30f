//! The HTTP client for a server's JSON API. Errors name the system, the endpoint and what went
//! wrong; they never carry the bearer token.

use crate::config::{Config, shown_url};
use crate::system::System;
use crate::text::cut;
use aoi_plugin_sdk::ConfigError;
use reqwest::{RequestBuilder, Url};
use serde_json::Value;

/// The most of an error body quoted back.
const MAX_ERROR_BODY: usize = 1000;

/// One installation's client: the server's root, the token, and the names errors use.
pub struct Api {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    system: System,
}

impl Api {
    /// A client for `system` at the config's `base_url`; its errors start with the system's
    /// display name.
    pub fn new(config: &Config, system: System) -> Result<Api, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| {
                ConfigError::new("base_url", format!("cannot build an HTTP client: {e}"))
            })?;
        Ok(Api {
            http,
            base: config.base_url.clone(),
            token: config.bearer_token.clone(),
            system,
        })
    }

    /// The system this client talks to.
    pub fn system(&self) -> System {
        self.system
    }

    /// `path` (relative, e.g. `api/v1/query`) under the base URL with the query pairs encoded.
    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url, String> {
        let mut url = self.base.join(path).map_err(|e| {
            let system = self.system.display;
            format!("{system}: cannot build the URL for {path}: {e}")
        })?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        Ok(url)
    }

    /// GETs `path` with the query pairs; the JSON answer (`Null` for an empty body).
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, String> {
        let url = self.url(path, query)?;
        self.send(self.http.get(url), path).await
    }

    /// POSTs `body` as JSON to `path`; the JSON answer (`Null` for an empty body).
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        let url = self.url(path, &[])?;
        self.send(self.http.post(url).json(body), path).await
    }

    async fn send(&self, request: RequestBuilder, path: &str) -> Result<Value, String> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let system = self.system.display;
        let base = shown_url(&self.base);
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("{system} at {base} did not answer /{path} in time (timeout_seconds)")
            } else {
                format!(
                    "{system} at {base} is unreachable (/{path}): {}",
                    cause_chain(e)
                )
            }
        })?;
        let status = response.status();
        let body = response.text().await.map_err(|e| {
            format!(
                "{system} at {base}: reading the answer to /{path} failed: {}",
                cause_chain(e)
            )
        })?;
        if !status.is_success() {
            return Err(format!(
                "{system} answered HTTP {status} to /{path}: {}",
                self.redact(&error_message(&body))
            ));
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| {
            format!("{system} sent an answer to /{path} that is not JSON ({e}); is base_url {base} right?")
        })
    }

    /// The text with the token, should a server echo it, replaced.
    pub fn redact(&self, text: &str) -> String {
        match &self.token {
            Some(token) if !token.is_empty() => text.replace(token.as_str(), "<redacted>"),
            _ => text.to_string(),
        }
    }
}

/// The `data` of a Prometheus-style answer (`{"status": "success", "data": ...}`), or its
/// `error` field after the system's name.
pub fn status_data(system: &str, body: &Value) -> Result<Value, String> {
    match body.get("status").and_then(Value::as_str) {
        Some("success") => Ok(body.get("data").cloned().unwrap_or(Value::Null)),
        _ => Err(format!(
            "{system}: {}",
            body.get("error")
                .and_then(Value::as_str)
                .unwrap_or("the answer has neither status \"success\" nor an error")
        )),
    }
}

/// An error's message and its causes, e.g. `error sending request: connection refused`.
fn cause_chain(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What an error body says: the JSON `error` or `message` field, a JSON string, or the text.
fn error_message(body: &str) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(Value::String(s)) => s,
        Ok(Value::Object(o)) => ["error", "message"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| body.trim().to_string()),
        _ => body.trim().to_string(),
    };
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    cut(&text, MAX_ERROR_BODY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#),
            "parse error"
        );
        assert_eq!(error_message(r#""silence not found""#), "silence not found");
        assert_eq!(error_message("plain text\n"), "plain text");
        assert_eq!(error_message(""), "(empty body)");
    }

    #[test]
    fn status_answers_give_their_data_or_error() {
        let ok = json!({"status": "success", "data": [1]});
        assert_eq!(status_data("Loki", &ok).unwrap(), json!([1]));
        let bad = json!({"status": "error", "error": "parse error at char 3"});
        assert_eq!(
            status_data("Loki", &bad).unwrap_err(),
            "Loki: parse error at char 3"
        );
        assert!(
            status_data("Loki", &json!({}))
                .unwrap_err()
                .contains("neither")
        );
    }
}
