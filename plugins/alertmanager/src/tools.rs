//! The Alertmanager tools: alerts (active only unless asked), silences, and creating a silence
//! (a write, made as the person who approved it). Rendering is pure and unit-tested.

use aoi_core::{Access, ToolCall, ToolOutput};
use aoi_plugin_httpapi::{
    Api, alert_summary, cut, flag, label_pairs, ranged_u64, serve, short_time, str_at, table, tool,
};
use aoi_plugin_sdk::{CallContext, ToolManifest, Toolset};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

const RESOURCE: &str = "alerts";
/// The longest silence the agent may create: one week.
const MAX_SILENCE_MINUTES: u64 = 7 * 24 * 60;

pub fn manifests() -> Vec<ToolManifest> {
    vec![
        tool(
            "alertmanager_alerts",
            "List the alerts Alertmanager holds: active ones only, unless include_suppressed also asks for silenced and inhibited ones. Optional label matchers filter them.",
            Access::Read,
            RESOURCE,
            json!({"type": "object", "properties": {
                "filter": {"type": "array", "items": {"type": "string"}, "description": "Label matchers, e.g. [\"alertname=\\\"HighLatency\\\"\", \"namespace=~\\\"prod.*\\\"\"]"},
                "include_suppressed": {"type": "boolean", "description": "Also list silenced and inhibited alerts (default false)"}
            }}),
        ),
        tool(
            "alertmanager_silences",
            "List the silences (active and pending; expired ones too with include_expired), with their matchers, end, author and comment.",
            Access::Read,
            RESOURCE,
            json!({"type": "object", "properties": {
                "include_expired": {"type": "boolean", "description": "Also list expired silences (default false)"}
            }}),
        ),
        tool(
            "alertmanager_silence",
            "Create a silence: the alerts matching every matcher are muted for duration_minutes (at most one week). Recorded as created by the approver.",
            Access::Write,
            RESOURCE,
            json!({"type": "object", "properties": {
                "matchers": {"type": "array", "items": {"type": "string"}, "description": "Label matchers, e.g. [\"alertname=\\\"HighLatency\\\"\", \"service=\\\"geo\\\"\"]"},
                "duration_minutes": {"type": "integer", "description": "How long the silence lasts, 1 to 10080"},
                "comment": {"type": "string", "description": "Why the alerts are silenced"}
            }, "required": ["matchers", "duration_minutes", "comment"]}),
        ),
    ]
}

/// A label matcher: `name="v"`, `name!="v"`, `name=~"re"` or `name!~"re"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    pub is_equal: bool,
}

impl Matcher {
    pub(crate) fn parse(text: &str) -> Result<Matcher, String> {
        let bad = || {
            format!(
                "matcher `{text}` is not a label matcher: write name=\"value\", name!=\"value\", name=~\"regex\" or name!~\"regex\""
            )
        };
        let text = text.trim();
        let name_end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        let name = &text[..name_end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(bad());
        }
        let rest = text[name_end..].trim_start();
        let (is_equal, is_regex, value) = if let Some(v) = rest.strip_prefix("=~") {
            (true, true, v)
        } else if let Some(v) = rest.strip_prefix("!~") {
            (false, true, v)
        } else if let Some(v) = rest.strip_prefix("!=") {
            (false, false, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (true, false, v)
        } else {
            return Err(bad());
        };
        let value = value.trim();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(quoted) => quoted.replace("\\\"", "\"").replace("\\\\", "\\"),
            None if value.contains('"') => return Err(bad()),
            None => value.to_string(),
        };
        Ok(Matcher {
            name: name.into(),
            value,
            is_regex,
            is_equal,
        })
    }

    fn op(&self) -> &'static str {
        match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        }
    }

    fn json(&self) -> Value {
        json!({"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal})
    }

    /// From an API silence's matcher object (`isEqual` absent means equal, as before 0.22).
    fn from_json(value: &Value) -> Matcher {
        Matcher {
            name: str_at(value, &["name"]).into(),
            value: str_at(value, &["value"]).into(),
            is_regex: value
                .get("isRegex")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            is_equal: value
                .get("isEqual")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.name,
            self.op(),
            Value::String(self.value.clone())
        )
    }
}

fn matchers_arg(call: &ToolCall, key: &str) -> Result<Vec<Matcher>, String> {
    let Some(items) = call.args.get(key).and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|item| {
            let text = item
                .as_str()
                .ok_or_else(|| format!("{}: every `{key}` item must be a string", call.tool))?;
            Matcher::parse(text).map_err(|e| format!("{}: {e}", call.tool))
        })
        .collect()
}

pub(crate) struct AlertmanagerTools {
    api: Api,
}

impl AlertmanagerTools {
    pub(crate) fn new(api: Api) -> Self {
        AlertmanagerTools { api }
    }

    async fn run(&self, call: &ToolCall, ctx: &CallContext) -> Result<String, String> {
        match call.tool.as_str() {
            "alertmanager_alerts" => {
                let filter = matchers_arg(call, "filter")?;
                let all = flag(call, "include_suppressed");
                let mut params = vec![
                    ("active", "true".to_string()),
                    ("silenced", all.to_string()),
                    ("inhibited", all.to_string()),
                ];
                params.extend(filter.iter().map(|m| ("filter", m.to_string())));
                let body = self.api.get("api/v2/alerts", &params).await?;
                Ok(render_alerts(&body, all))
            }
            "alertmanager_silences" => {
                let expired = flag(call, "include_expired");
                let body = self.api.get("api/v2/silences", &[]).await?;
                Ok(render_silences(&body, expired))
            }
            "alertmanager_silence" => self.silence(call, ctx).await,
            other => Err(format!("alertmanager: no tool named `{other}`")),
        }
    }

    async fn silence(&self, call: &ToolCall, ctx: &CallContext) -> Result<String, String> {
        let matchers = matchers_arg(call, "matchers")?;
        if matchers.is_empty() {
            return Err(
                "alertmanager_silence: give at least one matcher, e.g. alertname=\"HighLatency\""
                    .into(),
            );
        }
        let minutes = ranged_u64(call, "duration_minutes", 0, MAX_SILENCE_MINUTES)?;
        let comment = call.str_arg("comment").map(str::trim).unwrap_or("");
        if comment.is_empty() {
            return Err(
                "alertmanager_silence: `comment` must say why the alerts are silenced".into(),
            );
        }
        let created_by = ctx
            .approved_by
            .as_deref()
            .or(ctx.actor.as_deref())
            .filter(|s| !s.is_empty())
            .unwrap_or("aoi");
        let starts = chrono::Utc::now();
        let ends = starts + chrono::Duration::minutes(minutes as i64);
        let body = json!({
            "matchers": matchers.iter().map(Matcher::json).collect::<Vec<_>>(),
            "startsAt": starts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "endsAt": ends.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "createdBy": created_by,
            "comment": comment,
        });
        let answer = self.api.post("api/v2/silences", &body).await?;
        let id = answer
            .get("silenceID")
            .and_then(Value::as_str)
            .unwrap_or("?");
        Ok(format!(
            "created silence {id} for {minutes}m (until {}) matching {}, by {created_by}: {comment}",
            ends.format("%Y-%m-%dT%H:%M:%SZ"),
            matchers
                .iter()
                .map(Matcher::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

#[async_trait]
impl Toolset for AlertmanagerTools {
    fn manifests(&self) -> Vec<ToolManifest> {
        manifests()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        self.call_with(call, &CallContext::default()).await
    }

    async fn call_with(&self, call: &ToolCall, ctx: &CallContext) -> ToolOutput {
        serve(&self.api, &manifests(), call, self.run(call, ctx)).await
    }
}

fn ids(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn render_alerts(body: &Value, include_suppressed: bool) -> String {
    let alerts = body.as_array().map(Vec::as_slice).unwrap_or_default();
    if alerts.is_empty() {
        return if include_suppressed {
            "no alerts".into()
        } else {
            "no active alerts (silenced and inhibited ones not shown; include_suppressed=true lists them)".into()
        };
    }
    let empty = Map::new();
    let mut rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            let mut state = str_at(a, &["status", "state"]).to_string();
            let silenced = ids(a.pointer("/status/silencedBy"));
            if !silenced.is_empty() {
                state.push_str(&format!(" (silenced by {})", silenced.join(", ")));
            }
            let inhibited = ids(a.pointer("/status/inhibitedBy"));
            if !inhibited.is_empty() {
                state.push_str(" (inhibited)");
            }
            vec![
                str_at(a, &["labels", "alertname"]).to_string(),
                state,
                short_time(str_at(a, &["startsAt"])),
                label_pairs(
                    a.get("labels").and_then(Value::as_object).unwrap_or(&empty),
                    &["alertname"],
                ),
                cut(alert_summary(a), 200),
            ]
        })
        .collect();
    rows.sort();
    format!(
        "{} alerts:\n{}",
        rows.len(),
        table(&["ALERT", "STATE", "SINCE", "LABELS", "SUMMARY"], &rows)
    )
}

pub(crate) fn render_silences(body: &Value, include_expired: bool) -> String {
    let silences = body.as_array().map(Vec::as_slice).unwrap_or_default();
    let shown: Vec<&Value> = silences
        .iter()
        .filter(|s| include_expired || str_at(s, &["status", "state"]) != "expired")
        .collect();
    let hidden = silences.len() - shown.len();
    let note = if hidden > 0 {
        format!(" ({hidden} expired not shown; include_expired=true lists them)")
    } else {
        String::new()
    };
    if shown.is_empty() {
        return format!("no silences{note}");
    }
    let mut rows: Vec<Vec<String>> = shown
        .iter()
        .map(|s| {
            let matchers: Vec<String> = s
                .get("matchers")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .map(|m| Matcher::from_json(m).to_string())
                        .collect()
                })
                .unwrap_or_default();
            vec![
                str_at(s, &["id"]).to_string(),
                str_at(s, &["status", "state"]).to_string(),
                short_time(str_at(s, &["endsAt"])),
                str_at(s, &["createdBy"]).to_string(),
                matchers.join(", "),
                cut(str_at(s, &["comment"]), 200),
            ]
        })
        .collect();
    // Active first, then pending, then expired; soonest end first within each.
    let rank = |state: &str| match state {
        "active" => 0,
        "pending" => 1,
        _ => 2,
    };
    rows.sort_by(|a, b| (rank(&a[1]), &a[2]).cmp(&(rank(&b[1]), &b[2])));
    format!(
        "{} silences{note}:\n{}",
        rows.len(),
        table(
            &["ID", "STATE", "ENDS", "CREATED BY", "MATCHERS", "COMMENT"],
            &rows
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_parse_in_every_form() {
        let m = Matcher::parse("alertname=\"High \\\"p99\\\"\"").unwrap();
        assert_eq!(
            (m.name.as_str(), m.value.as_str(), m.is_equal, m.is_regex),
            ("alertname", "High \"p99\"", true, false)
        );
        assert_eq!(m.to_string(), "alertname=\"High \\\"p99\\\"\"");
        assert_eq!(
            Matcher::parse("ns =~ prod.*").unwrap().to_string(),
            "ns=~\"prod.*\""
        );
        assert_eq!(Matcher::parse("a!=b").unwrap().op(), "!=");
        assert_eq!(Matcher::parse("a!~\"b|c\"").unwrap().op(), "!~");
        for bad in ["", "=x", "1a=b", "a", "a>b", "a=\"b"] {
            let err = Matcher::parse(bad).unwrap_err();
            assert!(err.contains("is not a label matcher"), "{bad}: {err}");
        }
    }

    #[test]
    fn alerts_show_state_and_silences() {
        let body = json!([{"labels": {"alertname": "Down", "job": "api"}, "annotations": {"summary": "api down"},
            "startsAt": "2026-01-13T12:30:06.5Z", "status": {"state": "suppressed", "silencedBy": ["abc"], "inhibitedBy": []}}]);
        let out = render_alerts(&body, true);
        assert!(out.starts_with("1 alerts:\nALERT"), "{out}");
        assert!(out.contains("Down    suppressed (silenced by abc)   2026-01-13T12:30:06Z   job=\"api\"   api down"), "{out}");
        assert!(render_alerts(&json!([]), false).starts_with("no active alerts"));
    }

    #[test]
    fn silences_hide_expired_ones_unless_asked() {
        let body = json!([
            {"id": "old", "status": {"state": "expired"}, "matchers": [{"name": "a", "value": "b", "isRegex": false}], "endsAt": "2026-01-01T00:00:00Z", "createdBy": "bob", "comment": "done"},
            {"id": "new", "status": {"state": "active"}, "matchers": [{"name": "a", "value": "b.*", "isRegex": true, "isEqual": false}], "endsAt": "2026-02-01T00:00:00Z", "createdBy": "alice", "comment": "deploy"}
        ]);
        let out = render_silences(&body, false);
        assert!(out.starts_with("1 silences (1 expired not shown;"), "{out}");
        assert!(
            out.contains("new   active   2026-02-01T00:00:00Z   alice        a!~\"b.*\"   deploy"),
            "{out}"
        );
        assert!(!out.contains("old"));
        assert!(render_silences(&body, true).contains("old"));
    }
}
