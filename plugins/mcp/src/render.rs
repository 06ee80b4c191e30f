//! A `tools/call` result as text: text content joined, other content named, capped at
//! [`MAX_OUTPUT`] bytes.

use serde_json::Value;

pub use aoi_plugin_sdk::MAX_OUTPUT;

/// `text` cut at [`MAX_OUTPUT`] bytes (on a character boundary) with a note saying so.
pub(crate) fn truncate(text: String) -> String {
    aoi_plugin_sdk::truncate_output(text, MAX_OUTPUT)
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("?")
}

/// One content block (MCP wire format) as text.
fn block(content: &Value) -> String {
    match content.get("type").and_then(Value::as_str) {
        Some("text") => str_at(content, "text").to_string(),
        Some("image") => format!("[image: {}]", str_at(content, "mimeType")),
        Some("audio") => format!("[audio: {}]", str_at(content, "mimeType")),
        Some("resource") => {
            let resource = content.get("resource").unwrap_or(&Value::Null);
            match resource.get("text").and_then(Value::as_str) {
                Some(text) => text.to_string(),
                None => format!("[resource: {}]", str_at(resource, "uri")),
            }
        }
        Some("resource_link") => format!("[resource link: {}]", str_at(content, "uri")),
        _ => content.to_string(),
    }
}

/// The result's text and whether the server flagged it as an error (`isError`).
pub(crate) fn result_text(result: &Value) -> (String, bool) {
    let is_error = result
        .get("isError")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let blocks: Vec<String> = result
        .get("content")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(block).collect())
        .unwrap_or_default();
    let text = if !blocks.is_empty() {
        blocks.join("\n")
    } else if let Some(structured) = result.get("structuredContent") {
        structured.to_string()
    } else {
        "(no content)".to_string()
    };
    (text, is_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_blocks_become_text() {
        let (text, is_error) = result_text(&json!({"content": [
            {"type": "text", "text": "a"},
            {"type": "image", "data": "xx", "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "file:///x", "text": "inline"}},
            {"type": "resource_link", "uri": "file:///y", "name": "y"}
        ]}));
        assert_eq!(
            text,
            "a\n[image: image/png]\ninline\n[resource link: file:///y]"
        );
        assert!(!is_error);
        let (text, is_error) =
            result_text(&json!({"content": [], "structuredContent": {"n": 1}, "isError": true}));
        assert_eq!(text, r#"{"n":1}"#);
        assert!(is_error);
    }

    #[test]
    fn long_text_is_truncated_with_a_note() {
        let text = truncate("x".repeat(MAX_OUTPUT + 1));
        assert!(text.ends_with(&format!(
            "[truncated: showing {MAX_OUTPUT} of {} bytes]",
            MAX_OUTPUT + 1
        )));
    }
}
