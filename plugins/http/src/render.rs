//! Response bodies as text an agent reads: the extracted JSON as lines or compact JSON, other
//! bodies as text, all capped at [`MAX_OUTPUT`].

use crate::spec::Extract;
use serde_json::{Map, Value};

pub use aoi_plugin_sdk::MAX_OUTPUT;

/// `text` cut at [`MAX_OUTPUT`] bytes (on a character boundary) with a note saying so.
pub(crate) fn truncate(text: String) -> String {
    aoi_plugin_sdk::truncate_output(text, MAX_OUTPUT)
}

/// The body as text; an error when the extraction's pointer is not in the response.
pub(crate) fn render_body(
    body: &[u8],
    content_type: Option<&str>,
    extract: &Extract,
) -> Result<String, String> {
    let looks_json = content_type.is_some_and(|t| t.contains("json"))
        || matches!(body.trim_ascii_start().first(), Some(b'{' | b'['));
    let parsed = if looks_json {
        serde_json::from_slice::<Value>(body).ok()
    } else {
        None
    };
    let Some(json) = parsed else {
        return Ok(String::from_utf8_lossy(body).into_owned());
    };
    let value = match &extract.pointer {
        Some(pointer) => json
            .pointer(pointer)
            .ok_or_else(|| format!("the response has nothing at {pointer}"))?,
        None => &json,
    };
    Ok(render_value(value, &extract.fields))
}

fn lookup<'a>(value: &'a Value, field: &str) -> Option<&'a Value> {
    field
        .split('.')
        .try_fold(value, |v, key| match v {
            Value::Object(map) => map.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
        .filter(|v| !v.is_null())
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None => "-".to_string(),
        Some(Value::String(s)) => s.replace(['\n', '\r'], " "),
        Some(other) => other.to_string(),
    }
}

fn scalar_or_json(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn render_value(value: &Value, fields: &[String]) -> String {
    match value {
        Value::Array(items) if items.is_empty() => "(no items)".to_string(),
        Value::Array(items) if fields.is_empty() => items
            .iter()
            .map(scalar_or_json)
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Array(items) => {
            let mut lines = vec![fields.join(" | ")];
            lines.extend(items.iter().map(|item| {
                fields
                    .iter()
                    .map(|f| cell(lookup(item, f)))
                    .collect::<Vec<_>>()
                    .join(" | ")
            }));
            lines.join("\n")
        }
        Value::Object(_) if !fields.is_empty() => {
            let picked: Map<String, Value> = fields
                .iter()
                .filter_map(|f| Some((f.clone(), lookup(value, f)?.clone())))
                .collect();
            Value::Object(picked).to_string()
        }
        other => scalar_or_json(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn extract(pointer: Option<&str>, fields: &[&str]) -> Extract {
        Extract {
            pointer: pointer.map(str::to_string),
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn arrays_render_one_line_per_item_with_the_fields() {
        let body = json!({"items": [
            {"id": 1, "status": "open", "meta": {"owner": "ana"}},
            {"id": 2, "status": "closed\nnow"}
        ]})
        .to_string();
        let text = render_body(
            body.as_bytes(),
            Some("application/json"),
            &extract(Some("/items"), &["id", "status", "meta.owner"]),
        )
        .unwrap();
        assert_eq!(
            text,
            "id | status | meta.owner\n1 | open | ana\n2 | closed now | -"
        );
    }

    #[test]
    fn objects_are_compact_json_and_text_stays_text() {
        let body = json!({"ticket": {"id": 7, "title": "t", "secret_field": "x"}}).to_string();
        let text = render_body(
            body.as_bytes(),
            None,
            &extract(Some("/ticket"), &["id", "title"]),
        )
        .unwrap();
        assert_eq!(text, r#"{"id":7,"title":"t"}"#);
        let text = render_body(b"plain {text}", Some("text/plain"), &Extract::default()).unwrap();
        assert_eq!(text, "plain {text}");
        let missing = render_body(b"{}", None, &extract(Some("/nope"), &[])).unwrap_err();
        assert!(missing.contains("/nope"));
        assert_eq!(
            render_body(b"[]", None, &Extract::default()).unwrap(),
            "(no items)"
        );
    }

    #[test]
    fn long_text_is_truncated_with_a_note() {
        let text = truncate("é".repeat(MAX_OUTPUT));
        assert!(text.len() < MAX_OUTPUT + 100);
        assert!(text.ends_with(&format!("of {} bytes]", 2 * MAX_OUTPUT)));
        assert_eq!(truncate("short".into()), "short");
    }
}
