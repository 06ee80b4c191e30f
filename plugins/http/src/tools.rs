//! [`HttpToolset`]: each call fills its tool's request template, sends it to `base_url` and
//! renders the response.

use crate::config::HttpConfig;
use crate::render::{render_body, truncate};
use crate::spec::{BodyTemplate, HttpSpec, Method, ToolTemplate};
use crate::template::Values;
use aoi_core::{ToolCall, ToolOutput};
use aoi_plugin_package::PluginManifest;
use aoi_plugin_sdk::{ConfigError, PluginConfig, ToolManifest, Toolset, check_args};
use async_trait::async_trait;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

/// Everything but RFC 3986 unreserved characters is encoded, so an argument stays one path
/// segment or one query value (`/`, `?`, `&`, `#` included).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Responses larger than this are refused rather than read.
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// How much of an error response's body an error output shows.
const ERROR_EXCERPT_CHARS: usize = 300;

fn encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// The tools of one installed HTTP plugin. `Debug` shows no config values.
pub struct HttpToolset {
    manifest: PluginManifest,
    spec: HttpSpec,
    config: HttpConfig,
    client: reqwest::Client,
}

impl std::fmt::Debug for HttpToolset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpToolset")
            .field("plugin", &self.manifest.name)
            .field("tools", &self.spec.tools.keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .finish()
    }
}

/// A request ready to send; `shown` is the method and URL path for messages (no secrets can be
/// in it: the spec keeps them in headers).
struct Prepared {
    request: reqwest::RequestBuilder,
    shown: String,
}

impl HttpToolset {
    /// Checks the installation's config (`base_url`, required fields, `timeout_seconds`) and
    /// builds the client. `spec` comes from [`HttpSpec::parse`] with the same manifest.
    pub fn new(
        manifest: PluginManifest,
        spec: HttpSpec,
        config: &PluginConfig,
    ) -> Result<HttpToolset, ConfigError> {
        let config = HttpConfig::new(&manifest, config)?;
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                ConfigError::new("base_url", format!("cannot build an HTTP client: {e}"))
            })?;
        Ok(HttpToolset {
            manifest,
            spec,
            config,
            client,
        })
    }

    fn prepare(
        &self,
        template: &ToolTemplate,
        args: &Map<String, Value>,
    ) -> Result<Prepared, String> {
        let values = Values {
            args,
            config: &self.config.values,
        };
        let path = template.path.render(&values, encode).ok_or_else(|| {
            let missing = template
                .path
                .placeholders()
                .find(|h| values.json(h).is_none())
                .map(|h| h.to_string())
                .unwrap_or_default();
            format!("the path needs {missing}, which has no value")
        })?;
        let mut url = format!("{}{path}", self.config.base_url);
        let query: Vec<String> = template
            .query
            .iter()
            .filter_map(|(name, value)| {
                Some(format!(
                    "{}={}",
                    encode(name),
                    value.render(&values, encode)?
                ))
            })
            .collect();
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let shown = format!(
            "{} {}",
            template.method.as_str(),
            &url[self.config.base_url.len()..]
        );
        let url =
            reqwest::Url::parse(&url).map_err(|e| format!("{shown}: not a valid URL: {e}"))?;
        let method = match template.method {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut request = self.client.request(method, url);
        for (name, value) in &template.headers {
            let Some(value) = value.render(&values, str::to_string) else {
                continue;
            };
            let value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
                format!("{shown}: header {name} would not be a valid header value (check the arguments for line breaks)")
            })?;
            request = request.header(name.as_str(), value);
        }
        if let Some(body) = &template.body {
            let body = fill_body(body, &values).unwrap_or(Value::Null);
            request = request.json(&body);
        }
        Ok(Prepared { request, shown })
    }

    async fn send(
        &self,
        tool: &str,
        template: &ToolTemplate,
        args: &Map<String, Value>,
    ) -> ToolOutput {
        let prepared = match self.prepare(template, args) {
            Ok(p) => p,
            Err(e) => return ToolOutput::error(format!("{tool}: {e}")),
        };
        let shown = prepared.shown;
        let mut response = match prepared.request.send().await {
            Ok(r) => r,
            Err(e) => {
                let why = if e.is_timeout() {
                    format!("timed out after {}s", self.config.timeout.as_secs())
                } else {
                    error_chain(&e.without_url())
                };
                return ToolOutput::error(format!("{tool}: {shown} failed: {why}"));
            }
        };
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_RESPONSE_BYTES {
                        return ToolOutput::error(format!(
                            "{tool}: {shown} returned more than {} MiB; narrow the request",
                            MAX_RESPONSE_BYTES / (1024 * 1024)
                        ));
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    return ToolOutput::error(format!(
                        "{tool}: {shown}: reading the response failed: {}",
                        error_chain(&e.without_url())
                    ));
                }
            }
        }
        if !status.is_success() {
            // Redact before cutting, so no part of a secret survives at the cut.
            let text = self.config.redact(&String::from_utf8_lossy(&body));
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut excerpt: String = text.chars().take(ERROR_EXCERPT_CHARS).collect();
            if excerpt.len() < text.len() {
                excerpt.push_str(" ...");
            }
            let excerpt = if excerpt.is_empty() {
                "(empty body)".to_string()
            } else {
                excerpt
            };
            return ToolOutput::error(format!("{tool}: {shown} returned HTTP {status}: {excerpt}"));
        }
        if body.is_empty() {
            return ToolOutput::ok(format!("HTTP {status}, empty response"));
        }
        match render_body(&body, content_type.as_deref(), &template.extract) {
            Ok(text) => ToolOutput::ok(truncate(self.config.redact(&text))),
            Err(e) => ToolOutput::error(format!("{tool}: {shown}: {e}")),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The body with its placeholders filled; `None` for a sole placeholder without a value (its
/// object key is dropped, in an array it becomes `null`).
fn fill_body(body: &BodyTemplate, values: &Values<'_>) -> Option<Value> {
    Some(match body {
        BodyTemplate::Sole(hole) => values.json(hole)?.clone(),
        BodyTemplate::Text(template) => Value::String(template.render(values, str::to_string)?),
        BodyTemplate::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fill_body(item, values).unwrap_or(Value::Null))
                .collect(),
        ),
        BodyTemplate::Object(entries) => Value::Object(
            entries
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), fill_body(v, values)?)))
                .collect(),
        ),
        BodyTemplate::Literal(value) => value.clone(),
    })
}

#[async_trait]
impl Toolset for HttpToolset {
    fn manifests(&self) -> Vec<ToolManifest> {
        self.manifest.tools.clone()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        let Some(manifest) = self.manifest.tools.iter().find(|t| t.name == call.tool) else {
            return ToolOutput::error(format!(
                "{}: no such tool in plugin {}",
                call.tool, self.manifest.name
            ));
        };
        if let Err(e) = check_args(manifest, call) {
            return ToolOutput::error(e);
        }
        let Some(template) = self.spec.tool(&call.tool) else {
            return ToolOutput::error(format!(
                "{}: the plugin's spec has no request template for this tool",
                call.tool
            ));
        };
        self.send(&call.tool, template, &call.args).await
    }
}
