//! Text for an agent: the cut at a sane size, tables, label sets, times, JSON paths. Pure.

use serde_json::{Map, Value};

/// The most text a tool returns; the rest is cut with a note.
pub const MAX_OUTPUT: usize = 16 * 1024;

/// At most `max` bytes of `text`, cut at a character boundary, with a note when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[output truncated: {} of {} bytes shown; narrow the query]",
        &text[..end],
        end,
        text.len()
    )
}

/// Space-padded columns under UPPERCASE headers, like kubectl; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] + 3 - cell.chars().count();
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `a="1", b="2"`: the labels but `skip`, sorted by name, values quoted as JSON strings.
pub fn label_pairs(labels: &Map<String, Value>, skip: &[&str]) -> String {
    let mut pairs: Vec<(&String, &Value)> = labels
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", Value::String(v.as_str().unwrap_or("").into())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The string at a path of object keys, or `""`.
pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let mut v = value;
    for key in path {
        v = v.get(key).unwrap_or(&Value::Null);
    }
    v.as_str().unwrap_or("")
}

/// An alert's summary (Prometheus and Alertmanager write alerts alike): its first non-empty
/// `summary`, `description` or `message` annotation, or `""`.
pub fn alert_summary(alert: &Value) -> &str {
    ["summary", "description", "message"]
        .iter()
        .map(|k| str_at(alert, &["annotations", k]))
        .find(|s| !s.is_empty())
        .unwrap_or("")
}

/// An RFC 3339 time as `2026-01-13T12:30:06Z` (seconds, UTC); other text unchanged.
pub fn short_time(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        Err(_) => text.to_string(),
    }
}

/// Unix seconds (as Prometheus and Loki write sample times) as `2026-01-13T12:30:06Z`.
pub fn seconds_time(seconds: f64) -> String {
    chrono::DateTime::from_timestamp_millis((seconds * 1000.0) as i64)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_text_is_cut_with_a_note() {
        let text = "é".repeat(100);
        let out = cut(&text, 51);
        assert!(out.starts_with(&"é".repeat(25)));
        assert!(out.contains("[output truncated: 50 of 200 bytes shown"));
        assert_eq!(cut("short", 10), "short");
    }

    #[test]
    fn tables_pad_columns() {
        let out = table(&["A", "LONGER"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(out, "A     LONGER\nxyz   1");
    }

    #[test]
    fn times_are_shortened_to_seconds_utc() {
        assert_eq!(
            short_time("2026-01-13T12:30:06.123456789+01:00"),
            "2026-01-13T11:30:06Z"
        );
        assert_eq!(short_time("soon"), "soon");
        assert_eq!(seconds_time(1768307406.5), "2026-01-13T12:30:06Z");
    }

    #[test]
    fn label_pairs_sort_by_name_and_skip() {
        let labels = json!({"job": "api", "a1": "x", "a": "q\"", "alertname": "Down"});
        assert_eq!(
            label_pairs(labels.as_object().unwrap(), &["alertname"]),
            "a=\"q\\\"\", a1=\"x\", job=\"api\""
        );
        assert_eq!(str_at(&json!({"a": {"b": "c"}}), &["a", "b"]), "c");
        assert_eq!(str_at(&json!({"a": 1}), &["a", "b"]), "");
        let alert = json!({"annotations": {"summary": "", "description": "d", "message": "m"}});
        assert_eq!(alert_summary(&alert), "d");
        assert_eq!(alert_summary(&json!({})), "");
    }
}
