//! The Tempo tools: trace search (by service, tags, duration) and one trace as a span tree with
//! durations and error status. Rendering is pure (JSON in, text out) and unit-tested.

use aoi_core::{ToolCall, ToolOutput};
use aoi_plugin_httpapi::{Api, cut, ranged_u64, read_tools, serve, str_at, table};
use aoi_plugin_sdk::{ToolManifest, Toolset};
use async_trait::async_trait;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

const RESOURCE: &str = "traces";
const MAX_MINUTES: u64 = 7 * 24 * 60;
const MAX_LIMIT: u64 = 200;
/// The most spans a trace tree prints.
const MAX_SPANS: usize = 300;

pub fn manifests() -> Vec<ToolManifest> {
    read_tools(
        RESOURCE,
        [
            (
                "tempo_search",
                "Find traces of the last `minutes` by service and span or resource tags; prints trace id, root service and span, start and duration.",
                json!({"type": "object", "properties": {
                    "service": {"type": "string", "description": "service.name to match, e.g. frontend"},
                    "tags": {"type": "string", "description": "More tags in logfmt, e.g. http.status_code=500 error=true"},
                    "min_duration": {"type": "string", "description": "Only traces at least this long, e.g. 500ms or 2s"},
                    "minutes": {"type": "integer", "description": "How far back, 1 to 10080 (default 60)"},
                    "limit": {"type": "integer", "description": "Most traces, 1 to 200 (default 20)"}
                }}),
            ),
            (
                "tempo_trace",
                "Show one trace as a span tree: service, span name, kind, duration, offset from the trace start, and error status with its message.",
                json!({"type": "object", "properties": {
                "trace_id": {"type": "string", "description": "Hex trace id, e.g. 2f3e0cee77ae5dc9c17ade3689eb2e54"}
            }, "required": ["trace_id"]}),
            ),
        ],
    )
}

pub(crate) struct TempoTools {
    api: Api,
}

impl TempoTools {
    pub(crate) fn new(api: Api) -> Self {
        TempoTools { api }
    }

    async fn run(&self, call: &ToolCall) -> Result<String, String> {
        match call.tool.as_str() {
            "tempo_search" => {
                let minutes = ranged_u64(call, "minutes", 60, MAX_MINUTES)?;
                let limit = ranged_u64(call, "limit", 20, MAX_LIMIT)?;
                let mut tags = Vec::new();
                if let Some(service) = call.str_arg("service").filter(|s| !s.is_empty()) {
                    tags.push(format!("service.name={}", logfmt_value(service)));
                }
                if let Some(more) = call
                    .str_arg("tags")
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    tags.push(more.to_string());
                }
                let end = chrono::Utc::now().timestamp();
                let mut params = vec![
                    ("start", (end - (minutes * 60) as i64).to_string()),
                    ("end", end.to_string()),
                    ("limit", limit.to_string()),
                ];
                if !tags.is_empty() {
                    params.push(("tags", tags.join(" ")));
                }
                if let Some(d) = call.str_arg("min_duration").filter(|s| !s.is_empty()) {
                    params.push(("minDuration", d.to_string()));
                }
                let body = self.api.get("api/search", &params).await?;
                Ok(render_search(&body, limit))
            }
            "tempo_trace" => {
                let id = call
                    .str_arg("trace_id")
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!(
                        "tempo_trace: `{id}` is not a trace id: give 1 to 32 hex digits, as tempo_search prints them"
                    ));
                }
                let body = self.api.get(&format!("api/traces/{id}"), &[]).await?;
                Ok(render_trace(&body, &id))
            }
            other => Err(format!("tempo: no tool named `{other}`")),
        }
    }
}

#[async_trait]
impl Toolset for TempoTools {
    fn manifests(&self) -> Vec<ToolManifest> {
        manifests()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        serve(&self.api, &manifests(), call, self.run(call)).await
    }
}

/// A logfmt value, quoted when it holds a space, `=` or a quote.
fn logfmt_value(value: &str) -> String {
    if value.contains([' ', '=', '"']) {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        value.to_string()
    }
}

/// Nanoseconds in a JSON string or number (protobuf JSON writes 64-bit integers as strings).
fn nanos(value: Option<&Value>) -> Option<u128> {
    match value? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().map(u128::from),
        _ => None,
    }
}

fn time_of(ns: u128) -> String {
    i64::try_from(ns)
        .ok()
        .map(chrono::DateTime::from_timestamp_nanos)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn duration(ns: u128) -> String {
    if ns < 1_000_000 {
        format!("{} µs", ns / 1000)
    } else if ns < 1_000_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

pub(crate) fn render_search(body: &Value, limit: u64) -> String {
    let traces = body
        .get("traces")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if traces.is_empty() {
        return "no traces matched".into();
    }
    let rows: Vec<Vec<String>> = traces
        .iter()
        .map(|t| {
            let text = |k: &str| str_at(t, &[k]).to_string();
            let ms = t.get("durationMs").and_then(Value::as_u64);
            vec![
                text("traceID"),
                text("rootServiceName"),
                text("rootTraceName"),
                nanos(t.get("startTimeUnixNano"))
                    .map(time_of)
                    .unwrap_or_default(),
                ms.map_or("<1 ms".to_string(), |ms| format!("{ms} ms")),
            ]
        })
        .collect();
    let mut out = format!("{} traces", rows.len());
    if rows.len() as u64 >= limit {
        out.push_str(&format!(" (limit {limit} reached)"));
    }
    out.push_str(":\n");
    out.push_str(&table(
        &["TRACE ID", "ROOT SERVICE", "ROOT SPAN", "START", "DURATION"],
        &rows,
    ));
    out
}

/// A trace or span id as lowercase hex: Tempo's JSON writes them base64 (protobuf JSON), OTLP
/// JSON as hex.
fn hex_id(value: Option<&Value>) -> String {
    let text = value.and_then(Value::as_str).unwrap_or("");
    if matches!(text.len(), 16 | 32) && text.chars().all(|c| c.is_ascii_hexdigit()) {
        return text.to_ascii_lowercase();
    }
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        Err(_) => text.to_string(),
    }
}

struct Span {
    id: String,
    parent: String,
    service: String,
    name: String,
    kind: String,
    start: u128,
    end: u128,
    error: Option<String>,
}

fn attribute<'a>(attributes: Option<&'a Value>, key: &str) -> Option<&'a str> {
    attributes?
        .as_array()?
        .iter()
        .find(|a| a.get("key").and_then(Value::as_str) == Some(key))?
        .pointer("/value/stringValue")?
        .as_str()
}

/// Every span of an OTLP JSON trace: `batches` (Tempo's /api/traces), `resourceSpans` (OTLP),
/// or `trace.resourceSpans` (Tempo's /api/v2/traces); `scopeSpans` or the older
/// `instrumentationLibrarySpans`.
fn spans(body: &Value) -> Vec<Span> {
    let resources = body
        .get("batches")
        .or_else(|| body.get("resourceSpans"))
        .or_else(|| body.pointer("/trace/resourceSpans"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::new();
    for resource in resources {
        let service =
            attribute(resource.pointer("/resource/attributes"), "service.name").unwrap_or("?");
        let scopes = resource
            .get("scopeSpans")
            .or_else(|| resource.get("instrumentationLibrarySpans"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for span in scopes.iter().flat_map(|s| {
            s.get("spans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        }) {
            let status = span.get("status");
            let code = status.and_then(|s| s.get("code"));
            let is_error = matches!(code, Some(Value::String(c)) if c == "STATUS_CODE_ERROR")
                || code.and_then(Value::as_u64) == Some(2);
            let start = nanos(span.get("startTimeUnixNano")).unwrap_or(0);
            out.push(Span {
                id: hex_id(span.get("spanId")),
                parent: hex_id(span.get("parentSpanId")),
                service: service.to_string(),
                name: str_at(span, &["name"]).to_string(),
                kind: str_at(span, &["kind"])
                    .trim_start_matches("SPAN_KIND_")
                    .to_ascii_lowercase(),
                start,
                end: nanos(span.get("endTimeUnixNano"))
                    .unwrap_or(start)
                    .max(start),
                error: is_error.then(|| {
                    status
                        .and_then(|s| s.get("message"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                }),
            });
        }
    }
    out
}

pub(crate) fn render_trace(body: &Value, trace_id: &str) -> String {
    let mut spans = spans(body);
    if spans.is_empty() {
        return format!("trace {trace_id} has no spans");
    }
    spans.sort_by_key(|s| s.start);
    let ids: HashSet<&str> = spans.iter().map(|s| s.id.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        if span.parent.is_empty() || !ids.contains(span.parent.as_str()) || span.parent == span.id {
            roots.push(i);
        } else {
            children.entry(span.parent.as_str()).or_default().push(i);
        }
    }
    let t0 = spans.iter().map(|s| s.start).min().unwrap_or(0);
    let t1 = spans.iter().map(|s| s.end).max().unwrap_or(t0);
    let services: HashSet<&str> = spans.iter().map(|s| s.service.as_str()).collect();
    let errors = spans.iter().filter(|s| s.error.is_some()).count();
    let mut out = format!(
        "trace {trace_id}: {} spans, {} services, {}, {errors} with error status",
        spans.len(),
        services.len(),
        duration(t1 - t0)
    );
    // Depth-first, children by start time; each span printed once, so a bad parent link
    // cannot loop.
    let mut printed = HashSet::new();
    let mut stack: Vec<(usize, String, bool, bool)> = roots
        .iter()
        .rev()
        .map(|&i| (i, String::new(), true, true))
        .collect();
    while let Some((i, prefix, last, root)) = stack.pop() {
        if !printed.insert(i) {
            continue;
        }
        if printed.len() > MAX_SPANS {
            out.push_str(&format!(
                "\n... {} more spans not shown",
                spans.len() - MAX_SPANS
            ));
            break;
        }
        let span = &spans[i];
        let branch = if root {
            ""
        } else if last {
            "└─ "
        } else {
            "├─ "
        };
        let kind = match span.kind.as_str() {
            "" | "unspecified" | "internal" => String::new(),
            k => format!(" [{k}]"),
        };
        out.push_str(&format!(
            "\n{prefix}{branch}{} {}{kind}  {}  +{}",
            span.service,
            span.name,
            duration(span.end - span.start),
            duration(span.start - t0)
        ));
        if let Some(message) = &span.error {
            out.push_str("  ERROR");
            if !message.is_empty() {
                out.push_str(&format!(": {}", cut(message, 300)));
            }
        }
        let child_prefix = if root {
            prefix.clone()
        } else {
            format!("{prefix}{}", if last { "   " } else { "│  " })
        };
        let kids = children
            .get(span.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (n, &k) in kids.iter().enumerate().rev() {
            stack.push((k, child_prefix.clone(), n + 1 == kids.len(), false));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_decode_from_base64_or_stay_hex() {
        assert_eq!(
            hex_id(Some(&json!("Lz4M7neuXcnBet42iesuVA=="))),
            "2f3e0cee77ae5dc9c17ade3689eb2e54"
        );
        assert_eq!(hex_id(Some(&json!("563D623C76514F8E"))), "563d623c76514f8e");
        assert_eq!(hex_id(None), "");
    }

    #[test]
    fn a_trace_renders_as_a_tree_with_orphans_as_roots() {
        let body = json!({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeSpans": [{"spans": [
            {"spanId": "0000000000000001", "name": "GET /", "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": "1000000", "endTimeUnixNano": "11000000"},
            {"spanId": "0000000000000002", "parentSpanId": "0000000000000001", "name": "db", "kind": 3, "startTimeUnixNano": "2000000", "endTimeUnixNano": "3500000", "status": {"code": 2, "message": "timeout"}},
            {"spanId": "0000000000000003", "parentSpanId": "0000000000000001", "name": "cache", "startTimeUnixNano": "4000000", "endTimeUnixNano": "4000500"},
            {"spanId": "0000000000000004", "parentSpanId": "00000000000000ff", "name": "late", "startTimeUnixNano": "5000000", "endTimeUnixNano": "6000000"}
        ]}]}]});
        assert_eq!(
            render_trace(&body, "abc"),
            "trace abc: 4 spans, 1 services, 10.0 ms, 1 with error status\n\
             api GET / [server]  10.0 ms  +0 µs\n\
             ├─ api db  1.5 ms  +1.0 ms  ERROR: timeout\n\
             └─ api cache  0 µs  +3.0 ms\n\
             api late  1.0 ms  +4.0 ms"
        );
        assert_eq!(
            render_trace(&json!({"batches": []}), "x"),
            "trace x has no spans"
        );
    }

    #[test]
    fn search_results_render_as_a_table() {
        let body = json!({"traces": [{"traceID": "ab", "rootServiceName": "fe", "rootTraceName": "GET", "startTimeUnixNano": "1768307416000000000"}]});
        assert_eq!(
            render_search(&body, 1),
            "1 traces (limit 1 reached):\nTRACE ID   ROOT SERVICE   ROOT SPAN   START                  DURATION\nab         fe             GET         2026-01-13T12:30:16Z   <1 ms"
        );
        assert_eq!(logfmt_value("my svc"), "\"my svc\"");
        assert_eq!(logfmt_value("geo"), "geo");
    }
}
