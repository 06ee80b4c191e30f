//! The Prometheus tools: PromQL instant and range queries, firing alerts and scrape targets,
//! rendered as readable lines for an agent. Rendering is pure (JSON in, text out) and unit-tested.

use aoi_core::{ToolCall, ToolOutput};
use aoi_plugin_httpapi::{
    Api, alert_summary, cut, label_pairs, ranged_u64, read_tools, required_str, seconds_time,
    serve, short_time, status_data, str_at, table,
};
use aoi_plugin_sdk::{ToolManifest, Toolset};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

const RESOURCE: &str = "metrics";
/// The most series a vector or matrix lists before saying how many more there are.
const MAX_SERIES: usize = 200;
/// Prometheus refuses range queries of more points than this per series.
const MAX_POINTS: u64 = 11_000;

pub fn manifests() -> Vec<ToolManifest> {
    read_tools(
        RESOURCE,
        [
            (
                "prometheus_query",
                "Evaluate a PromQL expression at one instant (now unless `time` is given). Prints one `metric{labels} value` line per series.",
                json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "PromQL, e.g. rate(http_requests_total{job=\"api\"}[5m])"},
                "time": {"type": "string", "description": "RFC 3339 time or unix seconds; default now"}
            }, "required": ["query"]}),
            ),
            (
                "prometheus_query_range",
                "Evaluate a PromQL expression over the last `minutes` at `step_seconds` resolution. Prints each series with its points, min, max and last value.",
                json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "PromQL expression"},
                "minutes": {"type": "integer", "description": "How far back, 1 to 10080 (default 60)"},
                "step_seconds": {"type": "integer", "description": "Resolution in seconds (default: about 120 points)"}
            }, "required": ["query"]}),
            ),
            (
                "prometheus_alerts",
                "List the alerts Prometheus's rules have pending or firing, with labels, since when and summary.",
                json!({"type": "object", "properties": {}}),
            ),
            (
                "prometheus_targets",
                "List the active scrape targets with job, instance, health, last scrape and last error.",
                json!({"type": "object", "properties": {
                    "job": {"type": "string", "description": "Only targets of this job"}
                }}),
            ),
        ],
    )
}

pub(crate) struct PrometheusTools {
    api: Api,
}

impl PrometheusTools {
    pub(crate) fn new(api: Api) -> Self {
        PrometheusTools { api }
    }

    async fn run(&self, call: &ToolCall) -> Result<String, String> {
        match call.tool.as_str() {
            "prometheus_query" => {
                let query = required_str(call, "query")?;
                let mut params = vec![("query", query.to_string())];
                if let Some(time) = call.str_arg("time") {
                    params.push(("time", time.to_string()));
                }
                let body = self.api.get("api/v1/query", &params).await?;
                render_query(&data(&body)?, &body)
            }
            "prometheus_query_range" => {
                let query = required_str(call, "query")?;
                let minutes = ranged_u64(call, "minutes", 60, 10_080)?;
                let step = call
                    .u64_arg("step_seconds")
                    .unwrap_or_else(|| (minutes * 60 / 120).max(15));
                if step == 0 || minutes * 60 / step > MAX_POINTS {
                    return Err(format!(
                        "prometheus_query_range: step_seconds {step} gives more than {MAX_POINTS} points over {minutes} minutes; use a larger step"
                    ));
                }
                // Milliseconds, so that a sample scraped in the current second is in range.
                let end = chrono::Utc::now().timestamp_millis();
                let start = end - (minutes * 60_000) as i64;
                let seconds =
                    |ms: i64| format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
                let params = [
                    ("query", query.to_string()),
                    ("start", seconds(start)),
                    ("end", seconds(end)),
                    ("step", step.to_string()),
                ];
                let body = self.api.get("api/v1/query_range", &params).await?;
                render_query(&data(&body)?, &body)
            }
            "prometheus_alerts" => {
                let body = self.api.get("api/v1/alerts", &[]).await?;
                Ok(render_alerts(&data(&body)?))
            }
            "prometheus_targets" => {
                let params = [("state", "active".to_string())];
                let body = self.api.get("api/v1/targets", &params).await?;
                Ok(render_targets(&data(&body)?, call.str_arg("job")))
            }
            other => Err(format!("prometheus: no tool named `{other}`")),
        }
    }
}

#[async_trait]
impl Toolset for PrometheusTools {
    fn manifests(&self) -> Vec<ToolManifest> {
        manifests()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        serve(&self.api, &manifests(), call, self.run(call)).await
    }
}

/// The `data` of a success answer, or the API's `error` field.
fn data(body: &Value) -> Result<Value, String> {
    status_data("Prometheus", body)
}

/// `name{a="1", b="2"}` like Prometheus prints a series; `{}` for none.
pub(crate) fn series_name(metric: &Value) -> String {
    let Some(labels) = metric.as_object() else {
        return "{}".into();
    };
    let name = labels.get("__name__").and_then(Value::as_str).unwrap_or("");
    let inner = label_pairs(labels, &["__name__"]);
    if inner.is_empty() && !name.is_empty() {
        return name.to_string();
    }
    format!("{name}{{{inner}}}")
}

/// A sample `[unix_seconds, "value"]` as (time, value text).
fn sample(point: &Value) -> Option<(f64, &str)> {
    let pair = point.as_array()?;
    Some((pair.first()?.as_f64()?, pair.get(1)?.as_str()?))
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{value}")
    }
}

/// Renders a query's `data` by its result type, then any warnings.
pub(crate) fn render_query(data: &Value, body: &Value) -> Result<String, String> {
    let result = data.get("result").cloned().unwrap_or(Value::Null);
    let mut out = match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => render_vector(&result),
        Some("matrix") => render_matrix(&result),
        Some("scalar") | Some("string") => match sample(&result) {
            Some((t, v)) => format!("{v} (at {})", seconds_time(t)),
            None => "no value".into(),
        },
        other => return Err(format!("Prometheus: unknown result type {other:?}")),
    };
    if let Some(warnings) = body.get("warnings").and_then(Value::as_array) {
        for w in warnings.iter().filter_map(Value::as_str) {
            out.push_str(&format!("\nwarning: {w}"));
        }
    }
    Ok(out)
}

fn more_note(total: usize) -> String {
    format!(
        "\n... {} more series not shown; narrow the query",
        total - MAX_SERIES
    )
}

fn render_vector(result: &Value) -> String {
    let series = result.as_array().map(Vec::as_slice).unwrap_or_default();
    if series.is_empty() {
        return "no series matched".into();
    }
    let mut lines: Vec<String> = series
        .iter()
        .take(MAX_SERIES)
        .map(|s| {
            let value = s
                .get("value")
                .and_then(sample)
                .map(|(_, v)| v)
                .unwrap_or("?");
            format!(
                "{} {value}",
                series_name(s.get("metric").unwrap_or(&Value::Null))
            )
        })
        .collect();
    lines.sort();
    let mut out = lines.join("\n");
    if series.len() > MAX_SERIES {
        out.push_str(&more_note(series.len()));
    }
    out
}

fn render_matrix(result: &Value) -> String {
    let series = result.as_array().map(Vec::as_slice).unwrap_or_default();
    if series.is_empty() {
        return "no series matched in the range".into();
    }
    let mut out = format!("{} series:", series.len());
    for s in series.iter().take(MAX_SERIES) {
        let points: Vec<(f64, &str)> = s
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(sample).collect())
            .unwrap_or_default();
        let name = series_name(s.get("metric").unwrap_or(&Value::Null));
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            out.push_str(&format!("\n{name}  no points"));
            continue;
        };
        let values: Vec<f64> = points.iter().filter_map(|(_, v)| v.parse().ok()).collect();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        out.push_str(&format!(
            "\n{name}  points={}  min={}  max={}  last={}  ({} to {})",
            points.len(),
            number(min),
            number(max),
            last.1,
            seconds_time(first.0),
            seconds_time(last.0)
        ));
    }
    if series.len() > MAX_SERIES {
        out.push_str(&more_note(series.len()));
    }
    out
}

pub(crate) fn render_alerts(data: &Value) -> String {
    let alerts = data
        .get("alerts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if alerts.is_empty() {
        return "no alerts are pending or firing".into();
    }
    let empty = Map::new();
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            let labels = a.get("labels").and_then(Value::as_object).unwrap_or(&empty);
            vec![
                str_at(a, &["state"]).to_string(),
                str_at(a, &["labels", "alertname"]).to_string(),
                short_time(str_at(a, &["activeAt"])),
                str_at(a, &["value"]).to_string(),
                label_pairs(labels, &["alertname"]),
                cut(alert_summary(a), 200),
            ]
        })
        .collect();
    let firing = rows.iter().filter(|r| r[0] == "firing").count();
    format!(
        "{} alerts ({firing} firing):\n{}",
        rows.len(),
        table(
            &["STATE", "ALERT", "SINCE", "VALUE", "LABELS", "SUMMARY"],
            &rows
        )
    )
}

fn duration_text(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0}ms", seconds * 1000.0)
    } else {
        format!("{seconds:.1}s")
    }
}

pub(crate) fn render_targets(data: &Value, job: Option<&str>) -> String {
    let targets: Vec<&Value> = data
        .get("activeTargets")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter(|t| job.is_none_or(|j| str_at(t, &["labels", "job"]) == j))
                .collect()
        })
        .unwrap_or_default();
    if targets.is_empty() {
        return match job {
            Some(j) => format!("no active targets for job `{j}`"),
            None => "no active targets".into(),
        };
    }
    let rows: Vec<Vec<String>> = targets
        .iter()
        .map(|t| {
            vec![
                str_at(t, &["labels", "job"]).to_string(),
                str_at(t, &["labels", "instance"]).to_string(),
                str_at(t, &["health"]).to_string(),
                short_time(str_at(t, &["lastScrape"])),
                t.get("lastScrapeDuration")
                    .and_then(Value::as_f64)
                    .map(duration_text)
                    .unwrap_or_default(),
                cut(str_at(t, &["lastError"]), 300),
            ]
        })
        .collect();
    let down = rows.iter().filter(|r| r[2] != "up").count();
    format!(
        "{} active targets ({down} not up):\n{}",
        rows.len(),
        table(
            &[
                "JOB",
                "INSTANCE",
                "HEALTH",
                "LAST SCRAPE",
                "DURATION",
                "LAST ERROR"
            ],
            &rows
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_print_one_line_per_series() {
        let data = json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "api", "instance": "10.0.0.1:80"}, "value": [1700000000.5, "1"]},
            {"metric": {}, "value": [1700000000.5, "3"]}
        ]});
        let out = render_query(&data, &json!({})).unwrap();
        assert_eq!(out, "up{instance=\"10.0.0.1:80\", job=\"api\"} 1\n{} 3");
    }

    #[test]
    fn matrices_summarise_each_series() {
        let data = json!({"resultType": "matrix", "result": [
            {"metric": {"__name__": "load"}, "values": [[1700000000, "2"], [1700000015, "NaN"], [1700000030, "0.5"]]}
        ]});
        let out = render_query(&data, &json!({"warnings": ["slow"]})).unwrap();
        assert!(
            out.contains("load  points=3  min=0.5  max=2  last=0.5"),
            "{out}"
        );
        assert!(
            out.contains("2023-11-14T22:13:20Z to 2023-11-14T22:13:50Z"),
            "{out}"
        );
        assert!(out.ends_with("warning: slow"), "{out}");
    }

    #[test]
    fn api_errors_come_from_the_error_field() {
        let body =
            json!({"status": "error", "errorType": "bad_data", "error": "parse error at char 3"});
        assert_eq!(
            data(&body).unwrap_err(),
            "Prometheus: parse error at char 3"
        );
    }

    #[test]
    fn alerts_and_targets_render_as_tables() {
        let alerts = json!({"alerts": [{"labels": {"alertname": "HighLatency", "severity": "page"},
            "annotations": {"summary": "p99 over 1s"}, "state": "firing",
            "activeAt": "2026-01-13T12:30:06.123Z", "value": "1.2e+00"}]});
        let out = render_alerts(&alerts);
        assert!(out.starts_with("1 alerts (1 firing):\nSTATE"), "{out}");
        assert!(
            out.contains("firing   HighLatency   2026-01-13T12:30:06Z"),
            "{out}"
        );
        assert!(out.contains("severity=\"page\"   p99 over 1s"), "{out}");

        let targets = json!({"activeTargets": [
            {"labels": {"job": "node", "instance": "a:9100"}, "health": "down", "lastError": "connection refused", "lastScrape": "2026-01-13T12:30:06Z", "lastScrapeDuration": 0.0021},
            {"labels": {"job": "api", "instance": "b:80"}, "health": "up", "lastError": "", "lastScrape": "2026-01-13T12:30:07Z", "lastScrapeDuration": 1.5}
        ]});
        let out = render_targets(&targets, None);
        assert!(out.starts_with("2 active targets (1 not up):"), "{out}");
        assert!(out.contains("node   a:9100     down"), "{out}");
        assert!(out.contains("2ms        connection refused"), "{out}");
        assert_eq!(
            render_targets(&targets, Some("x")),
            "no active targets for job `x`"
        );
        assert!(!render_targets(&targets, Some("api")).contains("node"));
    }
}
