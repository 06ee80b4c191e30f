//! The Loki tools: LogQL over a time range (log lines per stream, oldest first, or metric
//! series) and label names or values. Rendering is pure (JSON in, text out) and unit-tested.

use aoi_core::{ToolCall, ToolOutput};
use aoi_plugin_httpapi::{
    Api, cut, label_pairs, ranged_u64, read_tools, required_str, seconds_time, serve, status_data,
    table,
};
use aoi_plugin_sdk::{ToolManifest, Toolset};
use async_trait::async_trait;
use serde_json::{Value, json};

const RESOURCE: &str = "logs";
const MAX_MINUTES: u64 = 7 * 24 * 60;
const MAX_LIMIT: u64 = 5000;
/// The most of one log line shown.
const MAX_LINE: usize = 2000;

pub fn manifests() -> Vec<ToolManifest> {
    read_tools(
        RESOURCE,
        [
            (
                "loki_query",
                "Run a LogQL query over the last `minutes`: log queries print the newest `limit` lines per stream, oldest first; metric queries print each series' min, max and last value.",
                json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "LogQL, e.g. {namespace=\"test-hotel-reservation\", app=\"geo\"} |= \"error\""},
                "minutes": {"type": "integer", "description": "How far back, 1 to 10080 (default 60)"},
                "limit": {"type": "integer", "description": "Most log lines, 1 to 5000 (default 100)"}
            }, "required": ["query"]}),
            ),
            (
                "loki_labels",
                "List the label names seen over the last `minutes`, or the values of one label.",
                json!({"type": "object", "properties": {
                    "label": {"type": "string", "description": "A label name whose values to list, e.g. app"},
                    "minutes": {"type": "integer", "description": "How far back, 1 to 10080 (default 60)"}
                }}),
            ),
        ],
    )
}

pub(crate) struct LokiTools {
    api: Api,
}

impl LokiTools {
    pub(crate) fn new(api: Api) -> Self {
        LokiTools { api }
    }

    async fn run(&self, call: &ToolCall) -> Result<String, String> {
        let minutes = ranged_u64(call, "minutes", 60, MAX_MINUTES)?;
        let end = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        let start = end.saturating_sub(minutes as i64 * 60_000_000_000);
        let range = [("start", start.to_string()), ("end", end.to_string())];
        match call.tool.as_str() {
            "loki_query" => {
                let query = required_str(call, "query")
                    .map_err(|_| "loki_query: `query` must be a non-empty LogQL query")?;
                let limit = ranged_u64(call, "limit", 100, MAX_LIMIT)?;
                let mut params = vec![
                    ("query", query.to_string()),
                    ("limit", limit.to_string()),
                    ("direction", "backward".to_string()),
                ];
                params.extend(range);
                let body = self.api.get("loki/api/v1/query_range", &params).await?;
                render_query(&data(&body)?, limit)
            }
            "loki_labels" => match call.str_arg("label") {
                Some(label) => {
                    if !is_label_name(label) {
                        return Err(format!(
                            "loki_labels: `{label}` is not a label name (letters, digits and _, not starting with a digit)"
                        ));
                    }
                    let path = format!("loki/api/v1/label/{label}/values");
                    let body = self.api.get(&path, &range).await?;
                    Ok(render_names(
                        &data(&body)?,
                        &format!("values of `{label}`"),
                        minutes,
                    ))
                }
                None => {
                    let body = self.api.get("loki/api/v1/labels", &range).await?;
                    Ok(render_names(&data(&body)?, "labels", minutes))
                }
            },
            other => Err(format!("loki: no tool named `{other}`")),
        }
    }
}

#[async_trait]
impl Toolset for LokiTools {
    fn manifests(&self) -> Vec<ToolManifest> {
        manifests()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        serve(&self.api, &manifests(), call, self.run(call)).await
    }
}

fn is_label_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `data` of a success answer, or the answer's `error` field.
fn data(body: &Value) -> Result<Value, String> {
    status_data("Loki", body)
}

/// `{a="1", b="2"}` with sorted label names.
fn labels(value: Option<&Value>) -> String {
    let pairs = value
        .and_then(Value::as_object)
        .map(|o| label_pairs(o, &[]));
    format!("{{{}}}", pairs.unwrap_or_default())
}

/// Nanoseconds since the epoch (a decimal string) as `2026-01-13T12:30:06.123Z`.
fn nanos_time(text: &str) -> String {
    text.parse::<i64>()
        .ok()
        .map(chrono::DateTime::from_timestamp_nanos)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| text.to_string())
}

pub(crate) fn render_query(data: &Value, limit: u64) -> Result<String, String> {
    let result = data
        .get("result")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    match data.get("resultType").and_then(Value::as_str) {
        Some("streams") => Ok(render_streams(result, limit)),
        Some("matrix") | Some("vector") => Ok(render_series(result)),
        other => Err(format!("Loki: unknown result type {other:?}")),
    }
}

fn render_streams(streams: &[Value], limit: u64) -> String {
    let total: usize = streams
        .iter()
        .map(|s| {
            s.get("values")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    if total == 0 {
        return "no log lines matched".into();
    }
    let mut out = format!("{total} lines from {} streams, oldest first", streams.len());
    if total as u64 >= limit {
        out.push_str(&format!(" (limit {limit} reached: older lines not shown)"));
    }
    out.push(':');
    for stream in streams {
        let mut entries: Vec<(&str, &str)> = stream
            .get("values")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(|e| Some((e.get(0)?.as_str()?, e.get(1)?.as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        if entries.is_empty() {
            continue;
        }
        // Timestamps are decimal nanoseconds of equal width for centuries: sort as numbers.
        entries.sort_by_key(|(ts, _)| ts.parse::<i128>().unwrap_or(0));
        out.push_str(&format!("\n{}", labels(stream.get("stream"))));
        for (ts, line) in entries {
            out.push_str(&format!(
                "\n  {}  {}",
                nanos_time(ts),
                cut(line.trim_end(), MAX_LINE)
            ));
        }
    }
    out
}

fn render_series(series: &[Value]) -> String {
    if series.is_empty() {
        return "no series matched".into();
    }
    let mut rows = Vec::new();
    for s in series {
        let points: Vec<(f64, f64, &str)> = match (s.get("values"), s.get("value")) {
            (Some(Value::Array(values)), _) => values.iter().filter_map(point).collect(),
            (_, Some(value)) => point(value).into_iter().collect(),
            _ => Vec::new(),
        };
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            continue;
        };
        let min = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let max = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        rows.push(vec![
            labels(s.get("metric")),
            points.len().to_string(),
            format!("{min}"),
            format!("{max}"),
            last.2.to_string(),
            format!("{} to {}", seconds_time(first.0), seconds_time(last.0)),
        ]);
    }
    format!(
        "{} series:\n{}",
        rows.len(),
        table(&["SERIES", "POINTS", "MIN", "MAX", "LAST", "RANGE"], &rows)
    )
}

fn point(value: &Value) -> Option<(f64, f64, &str)> {
    let text = value.get(1)?.as_str()?;
    Some((value.get(0)?.as_f64()?, text.parse().ok()?, text))
}

pub(crate) fn render_names(data: &Value, what: &str, minutes: u64) -> String {
    let names: Vec<&str> = data
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if names.is_empty() {
        return format!("no {what} in the last {minutes} minutes");
    }
    format!(
        "{} {what} (last {minutes} minutes):\n{}",
        names.len(),
        names.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_print_oldest_first_under_their_labels() {
        let data = json!({"resultType": "streams", "result": [
            {"stream": {"pod": "geo-1", "app": "geo"}, "values": [
                ["1768307406200000000", "second\n"], ["1768307406100000000", "first"]]}
        ]});
        let out = render_query(&data, 2).unwrap();
        assert_eq!(
            out,
            "2 lines from 1 streams, oldest first (limit 2 reached: older lines not shown):\n{app=\"geo\", pod=\"geo-1\"}\n  2026-01-13T12:30:06.100Z  first\n  2026-01-13T12:30:06.200Z  second"
        );
        let empty = json!({"resultType": "streams", "result": []});
        assert_eq!(render_query(&empty, 5).unwrap(), "no log lines matched");
    }

    #[test]
    fn metric_queries_print_series_summaries() {
        let data = json!({"resultType": "matrix", "result": [
            {"metric": {"app": "geo"}, "values": [[1768307400, "0.5"], [1768307460, "2"]]}
        ]});
        let out = render_query(&data, 100).unwrap();
        assert!(out.contains("{app=\"geo\"}   2        0.5   2     2      2026-01-13T12:30:00Z to 2026-01-13T12:31:00Z"), "{out}");
    }

    #[test]
    fn label_names_are_checked() {
        assert!(is_label_name("app_name2"));
        assert!(!is_label_name("2app") && !is_label_name("a/b") && !is_label_name(""));
    }
}
