//! The package payload of an HTTP plugin: for each manifest tool, a request template and a
//! response extraction. [`HttpSpec::parse`] checks it against the manifest once, so a call can
//! only fail on what the call itself brings.

use crate::template::{Placeholder, Template};
use aoi_core::Access;
use aoi_plugin_package::{PluginKind, PluginManifest};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

/// What is wrong with an HTTP spec, naming the place, e.g.
/// `tools.get_ticket.path: unknown argument {tiket}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct HttpSpecError {
    pub place: String,
    pub message: String,
}

fn err(place: impl Into<String>, message: impl Into<String>) -> HttpSpecError {
    HttpSpecError {
        place: place.into(),
        message: message.into(),
    }
}

/// The HTTP methods a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn parse(s: &str) -> Option<Method> {
        Some(match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn is_safe(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// How a response is turned into text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extract {
    /// A JSON pointer (RFC 6901) into the response, e.g. `/ticket`.
    pub pointer: Option<String>,
    /// Fields to keep; `a.b` reaches into nested objects.
    pub fields: Vec<String>,
}

/// A JSON body with templates in its strings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BodyTemplate {
    /// A string that is exactly one placeholder: the value keeps its JSON type.
    Sole(Placeholder),
    Text(Template),
    Array(Vec<BodyTemplate>),
    Object(Vec<(String, BodyTemplate)>),
    Literal(Value),
}

/// One tool's request template.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolTemplate {
    pub method: Method,
    pub(crate) path: Template,
    pub(crate) query: Vec<(String, Template)>,
    pub(crate) headers: Vec<(String, Template)>,
    pub(crate) body: Option<BodyTemplate>,
    pub extract: Extract,
}

/// A parsed and checked HTTP plugin spec.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSpec {
    pub(crate) tools: BTreeMap<String, ToolTemplate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    tools: BTreeMap<String, RawTool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTool {
    method: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    extract: Option<RawExtract>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtract {
    #[serde(default)]
    pointer: Option<String>,
    #[serde(default)]
    fields: Vec<String>,
}

/// What a template may refer to for one tool.
struct Scope<'a> {
    args: HashSet<&'a str>,
    required_args: HashSet<&'a str>,
    config: HashSet<&'a str>,
    secrets: HashSet<&'a str>,
}

/// Where in a request a template sits; secrets are allowed only in headers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Path,
    Query,
    Header,
    Body,
}

impl Scope<'_> {
    fn check(&self, place: &str, template: &Template, part: Part) -> Result<(), HttpSpecError> {
        for hole in template.placeholders() {
            self.check_one(place, hole, part)?;
        }
        Ok(())
    }

    fn check_one(&self, place: &str, hole: &Placeholder, part: Part) -> Result<(), HttpSpecError> {
        match hole {
            Placeholder::Arg(name) => {
                if !self.args.contains(name.as_str()) {
                    return Err(err(
                        place,
                        format!(
                            "unknown argument {hole}: declare it in the tool's args_schema properties"
                        ),
                    ));
                }
                if part == Part::Path && !self.required_args.contains(name.as_str()) {
                    return Err(err(
                        place,
                        format!(
                            "argument {hole} is used in the path but is not required: add it to the args_schema's required list"
                        ),
                    ));
                }
            }
            Placeholder::Config(key) => {
                if !self.config.contains(key.as_str()) {
                    return Err(err(
                        place,
                        format!(
                            "unknown config value {hole}: declare `{key}` in the manifest's config_schema"
                        ),
                    ));
                }
                if part != Part::Header && self.secrets.contains(key.as_str()) {
                    return Err(err(
                        place,
                        format!(
                            "secret config value {hole} may only be used in headers, where it is not logged with the URL or body"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn body(&self, place: &str, value: &Value) -> Result<BodyTemplate, HttpSpecError> {
        Ok(match value {
            Value::String(s) => {
                let template = Template::parse(s).map_err(|m| err(place, m))?;
                self.check(place, &template, Part::Body)?;
                match template.sole_placeholder() {
                    Some(hole) => BodyTemplate::Sole(hole.clone()),
                    None => BodyTemplate::Text(template),
                }
            }
            Value::Array(items) => BodyTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.body(&format!("{place}[{i}]"), v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => BodyTemplate::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.body(&format!("{place}.{k}"), v)?)))
                    .collect::<Result<_, HttpSpecError>>()?,
            ),
            other => BodyTemplate::Literal(other.clone()),
        })
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

fn names<'a>(schema: &'a Value, key: &str) -> HashSet<&'a str> {
    match schema.get(key) {
        Some(Value::Object(map)) => map.keys().map(String::as_str).collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => HashSet::new(),
    }
}

impl HttpSpec {
    /// Parses the payload and checks it against the manifest: every manifest tool has a
    /// template and no other tool does; placeholders refer to declared arguments or config
    /// fields; secrets appear only in headers; `read` tools use GET or HEAD.
    pub fn parse(payload: &[u8], manifest: &PluginManifest) -> Result<HttpSpec, HttpSpecError> {
        if manifest.kind != PluginKind::Http {
            return Err(err(
                "manifest.kind",
                format!(
                    "is {:?}; an HTTP spec belongs to a manifest of kind http",
                    manifest.kind
                ),
            ));
        }
        if !manifest.config_schema.iter().any(|f| f.name == "base_url") {
            return Err(err(
                "manifest.config_schema",
                "declares no `base_url`: an HTTP plugin needs it (kind url, required)",
            ));
        }
        let raw: RawSpec =
            serde_json::from_slice(payload).map_err(|e| err("spec", e.to_string()))?;
        let config: HashSet<&str> = manifest
            .config_schema
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let secrets: HashSet<&str> = manifest
            .config_schema
            .iter()
            .filter(|f| f.secret)
            .map(|f| f.name.as_str())
            .collect();
        if let Some(name) = raw
            .tools
            .keys()
            .find(|name| !manifest.tools.iter().any(|t| &t.name == *name))
        {
            return Err(err(
                format!("tools.{name}"),
                "is not a tool of the manifest: remove it or declare the tool",
            ));
        }
        let mut tools = BTreeMap::new();
        for tool in &manifest.tools {
            let at = format!("tools.{}", tool.name);
            let Some(raw_tool) = raw.tools.get(&tool.name) else {
                return Err(err(
                    at,
                    "the manifest declares this tool but the spec has no request template for it",
                ));
            };
            let scope = Scope {
                args: tool
                    .args_schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(Map::keys)
                    .map(String::as_str)
                    .collect(),
                required_args: names(&tool.args_schema, "required"),
                config: config.clone(),
                secrets: secrets.clone(),
            };
            tools.insert(
                tool.name.clone(),
                parse_tool(&at, raw_tool, &scope, tool.access)?,
            );
        }
        Ok(HttpSpec { tools })
    }

    /// The template of a tool.
    pub fn tool(&self, name: &str) -> Option<&ToolTemplate> {
        self.tools.get(name)
    }
}

fn parse_tool(
    at: &str,
    raw: &RawTool,
    scope: &Scope<'_>,
    access: Access,
) -> Result<ToolTemplate, HttpSpecError> {
    let method = Method::parse(&raw.method).ok_or_else(|| {
        err(
            format!("{at}.method"),
            format!(
                "`{}` is not one of GET, HEAD, POST, PUT, PATCH, DELETE",
                raw.method
            ),
        )
    })?;
    if access == Access::Read && !method.is_safe() {
        return Err(err(
            format!("{at}.method"),
            format!(
                "the tool is declared read but uses {}: a read tool uses GET or HEAD (or declare it write)",
                method.as_str()
            ),
        ));
    }
    let place = format!("{at}.path");
    if !raw.path.starts_with('/') {
        return Err(err(
            place,
            "must start with `/` (it is appended to base_url)",
        ));
    }
    if raw.path.contains(['?', '#']) {
        return Err(err(
            place,
            "must not contain `?` or `#`: put query parameters under `query`",
        ));
    }
    let path = Template::parse(&raw.path).map_err(|m| err(&place, m))?;
    scope.check(&place, &path, Part::Path)?;
    let mut query = Vec::new();
    for (name, value) in &raw.query {
        let place = format!("{at}.query.{name}");
        if name.is_empty() {
            return Err(err(place, "a query parameter needs a name"));
        }
        let template = Template::parse(value).map_err(|m| err(&place, m))?;
        scope.check(&place, &template, Part::Query)?;
        query.push((name.clone(), template));
    }
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        let place = format!("{at}.headers.{name}");
        if !is_token(name) {
            return Err(err(place, "is not a valid header name"));
        }
        if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("content-length") {
            return Err(err(place, "is set by the client and may not be templated"));
        }
        let template = Template::parse(value).map_err(|m| err(&place, m))?;
        scope.check(&place, &template, Part::Header)?;
        headers.push((name.clone(), template));
    }
    let body = match &raw.body {
        None | Some(Value::Null) => None,
        Some(value) => {
            let place = format!("{at}.body");
            if method.is_safe() {
                return Err(err(
                    place,
                    format!("a {} request has no body", method.as_str()),
                ));
            }
            Some(scope.body(&place, value)?)
        }
    };
    let extract = match &raw.extract {
        None => Extract::default(),
        Some(raw) => {
            if let Some(pointer) = &raw.pointer
                && !(pointer.is_empty() || pointer.starts_with('/'))
            {
                return Err(err(
                    format!("{at}.extract.pointer"),
                    format!("`{pointer}` is not a JSON pointer: it starts with `/`, e.g. /items"),
                ));
            }
            if let Some(i) = raw.fields.iter().position(|f| f.trim().is_empty()) {
                return Err(err(
                    format!("{at}.extract.fields[{i}]"),
                    "must not be empty",
                ));
            }
            Extract {
                pointer: raw.pointer.clone().filter(|p| !p.is_empty()),
                fields: raw.fields.clone(),
            }
        }
    };
    Ok(ToolTemplate {
        method,
        path,
        query,
        headers,
        body,
        extract,
    })
}
