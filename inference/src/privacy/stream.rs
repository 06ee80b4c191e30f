//! Restoring placeholders in a streamed (SSE) chat completion, chunk by chunk.
//!
//! [`StreamRestorer`] sits between the pool's SSE byte stream and the client. Network chunks
//! split events anywhere, and a model may emit a placeholder over several deltas (`<<sec` in one
//! event, `ret:1>>` in the next), so it keeps two small buffers:
//!
//! - the bytes of an SSE event not complete yet (events are parsed whole);
//! - per choice, a trailing piece of `delta.content` that is still the beginning of a placeholder
//!   this redactor gave (at most the longest placeholder's length minus one). It goes out with
//!   the choice's next content, with its `finish_reason` event, before a non-JSON event such as
//!   `data: [DONE]`, or at [`StreamRestorer::finish`].
//!
//! Everything else leaves at once: an event with nothing to restore (or with no content, or not
//! JSON) is passed through byte for byte; a rewritten event is its JSON re-serialized. With an
//! empty redactor, chunks pass through untouched, not even split into events.

use super::Redactor;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Restores one redactor's placeholders in an OpenAI chat-completion SSE stream. Feed it the
/// upstream chunks in order with [`push`](Self::push), then call [`finish`](Self::finish) once
/// the upstream ends; send what each call answers.
#[derive(Debug)]
pub struct StreamRestorer {
    redactor: Arc<Redactor>,
    /// The start of an event whose end has not arrived.
    partial: Vec<u8>,
    /// Per choice index: content held back because it may be the start of a placeholder.
    held: BTreeMap<u64, String>,
    /// `id`, `object`, `created`, `model`... of the last JSON event, for the events that carry
    /// held-back text on their own.
    template: Map<String, Value>,
}

impl StreamRestorer {
    /// A restorer for the placeholders `redactor` gave.
    pub fn new(redactor: Arc<Redactor>) -> Self {
        StreamRestorer {
            redactor,
            partial: Vec::new(),
            held: BTreeMap::new(),
            template: Map::new(),
        }
    }

    /// Bytes held back right now (an incomplete event plus held-back content).
    pub fn buffered(&self) -> usize {
        self.partial.len() + self.held.values().map(String::len).sum::<usize>()
    }

    /// The bytes ready to send after `chunk`: every event it completes, restored.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.redactor.is_empty() {
            return chunk.to_vec();
        }
        self.partial.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(self.partial.len());
        let mut start = 0;
        while let Some(end) = event_end(&self.partial[start..]) {
            let event = self.partial[start..start + end].to_vec();
            self.event(&event, &mut out);
            start += end;
        }
        self.partial.drain(..start);
        out
    }

    /// The rest, once the upstream has ended: any held-back text, then an unterminated last event
    /// as it came.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.flush_all(&mut out);
        // An event without its blank line is never dispatched by an SSE client: passed on as is.
        out.append(&mut self.partial);
        out
    }

    /// One whole event (its terminating blank line included).
    fn event(&mut self, event: &[u8], out: &mut Vec<u8>) {
        let Some((line_start, line_end)) = single_data_line(event) else {
            // A comment (keep-alive) or no data: held text keeps waiting.
            out.extend_from_slice(event);
            return;
        };
        // Nothing that could be (or complete) a placeholder, nothing held: pass it on.
        if self.held.is_empty() && !may_hold_placeholder(&event[line_start..line_end]) {
            out.extend_from_slice(event);
            return;
        }
        let payload = &event[line_start + 5..line_end];
        let payload = payload.strip_prefix(b" ").unwrap_or(payload);
        let mut value = match serde_json::from_slice::<Value>(payload) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                self.flush_all(out);
                out.extend_from_slice(event);
                return;
            }
        };
        if let Value::Object(map) = &value {
            self.template = map
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "choices" | "usage"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        if !self.rewrite_choices(&mut value) {
            out.extend_from_slice(event);
            return;
        }
        out.extend_from_slice(&event[..line_start]);
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(value.to_string().as_bytes());
        out.extend_from_slice(&event[line_end..]);
    }

    /// Restores the content of every choice in one event; whether anything changed.
    fn rewrite_choices(&mut self, value: &mut Value) -> bool {
        let Some(choices) = value.get_mut("choices").and_then(Value::as_array_mut) else {
            return false;
        };
        let mut changed = false;
        for (position, choice) in choices.iter_mut().enumerate() {
            let index = choice
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            let finished = choice
                .get("finish_reason")
                .is_some_and(|reason| !reason.is_null());
            let content = choice.pointer("/delta/content").and_then(Value::as_str);
            let held = self.held.remove(&index);
            if content.is_none() && held.is_none() {
                continue;
            }
            let text = match (held, content) {
                (Some(mut held), Some(content)) => {
                    held.push_str(content);
                    held
                }
                (Some(held), None) => held,
                (None, Some(content)) => content.to_string(),
                (None, None) => continue,
            };
            if content.is_none() && !finished {
                // A role-only or tool delta: the held text waits for the next content.
                self.held.insert(index, text);
                continue;
            }
            let keep = if finished {
                0
            } else {
                self.placeholder_start(&text)
            };
            let (ready, rest) = text.split_at(text.len() - keep);
            let restored = self.redactor.restore(ready);
            if !rest.is_empty() {
                self.held.insert(index, rest.to_string());
            }
            if content == Some(restored.as_str()) {
                continue;
            }
            if let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) {
                delta.insert("content".into(), Value::String(restored));
            } else if let Some(choice) = choice.as_object_mut() {
                let mut delta = Map::new();
                delta.insert("content".into(), Value::String(restored));
                choice.insert("delta".into(), Value::Object(delta));
            }
            changed = true;
        }
        changed
    }

    /// The length of the longest tail of `text` that begins one of the redactor's placeholders
    /// without completing it (0 when none).
    fn placeholder_start(&self, text: &str) -> usize {
        let longest = self
            .redactor
            .originals
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(0);
        let window = text.len().saturating_sub(longest.saturating_sub(1));
        let bytes = text.as_bytes();
        for at in window..text.len() {
            if bytes[at] != b'<' {
                continue;
            }
            let tail = &text[at..];
            if self
                .redactor
                .originals
                .keys()
                .any(|p| p.len() > tail.len() && p.starts_with(tail))
            {
                return tail.len();
            }
        }
        0
    }

    /// Sends every held-back text, restored, as events of their own.
    fn flush_all(&mut self, out: &mut Vec<u8>) {
        for (index, text) in std::mem::take(&mut self.held) {
            let mut event = self.template.clone();
            let choice = serde_json::json!({
                "index": index,
                "delta": {"content": self.redactor.restore(&text)},
                "finish_reason": null,
            });
            event.insert("choices".into(), Value::Array(vec![choice]));
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(Value::Object(event).to_string().as_bytes());
            out.extend_from_slice(b"\n\n");
        }
    }
}

/// Where the first event in `bytes` ends (after its blank line), if it has ended.
fn event_end(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            match bytes.get(i + 1..) {
                Some([b'\n', ..]) => return Some(i + 2),
                Some([b'\r', b'\n', ..]) => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// The byte range of the event's only `data:` line (without its line end), when it has exactly
/// one; other fields (`id:`, `event:`, comments) may surround it. Several `data:` lines (one
/// payload over several lines, which OpenAI-compatible servers do not send) pass as they are.
fn single_data_line(event: &[u8]) -> Option<(usize, usize)> {
    let mut found = None;
    let mut start = 0;
    for (i, &b) in event.iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        let mut end = i;
        if end > start && event[end - 1] == b'\r' {
            end -= 1;
        }
        if event[start..end].starts_with(b"data:") {
            if found.is_some() {
                return None;
            }
            found = Some((start, end));
        }
        start = i + 1;
    }
    if start < event.len() && event[start..].starts_with(b"data:") {
        if found.is_some() {
            return None;
        }
        found = Some((start, event.len()));
    }
    found
}

/// Whether a data line could hold a placeholder or its start: a `<`, raw or JSON-escaped.
fn may_hold_placeholder(line: &[u8]) -> bool {
    line.contains(&b'<') || line.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u003c"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::privacy::RedactionPolicy;
    use serde_json::json;

    /// A redactor that replaced `hunter2-prod` with `<<password:1>>`.
    fn redactor() -> Arc<Redactor> {
        let mut redactor = Redactor::new(RedactionPolicy::default());
        assert_eq!(
            redactor.redact("DB_PASSWORD=hunter2-prod"),
            "DB_PASSWORD=<<password:1>>"
        );
        Arc::new(redactor)
    }

    fn event(index: u64, content: Option<&str>, finish: Option<&str>) -> String {
        let delta = match content {
            Some(text) => json!({"content": text}),
            None => json!({}),
        };
        let value = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}]
        });
        format!("data: {value}\n\n")
    }

    fn run(restorer: &mut StreamRestorer, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(restorer.push(chunk));
        }
        out.extend(restorer.finish());
        out
    }

    /// Per choice index, the concatenated content of every JSON event; and the non-JSON data.
    fn contents(out: &[u8]) -> (BTreeMap<u64, String>, Vec<String>) {
        let text = String::from_utf8(out.to_vec()).unwrap();
        let mut by_choice = BTreeMap::new();
        let mut other = Vec::new();
        for event in text.split("\n\n").filter(|e| !e.is_empty()) {
            let Some(data) = event.strip_prefix("data: ") else {
                continue;
            };
            match serde_json::from_str::<Value>(data) {
                Ok(value) => {
                    for choice in value["choices"].as_array().unwrap() {
                        let index = choice["index"].as_u64().unwrap();
                        let entry: &mut String = by_choice.entry(index).or_default();
                        entry.push_str(choice["delta"]["content"].as_str().unwrap_or(""));
                    }
                }
                Err(_) => other.push(data.to_string()),
            }
        }
        (by_choice, other)
    }

    #[test]
    fn every_split_of_two_events_gives_the_same_restored_bytes() {
        let stream = format!(
            "{}{}data: [DONE]\n\n",
            event(0, Some("The password is <<pass"), None),
            event(0, Some("word:1>>, rotate it"), Some("stop")),
        );
        let bytes = stream.as_bytes();
        let whole = run(&mut StreamRestorer::new(redactor()), &[bytes]);
        let (text, other) = contents(&whole);
        assert_eq!(text[&0], "The password is hunter2-prod, rotate it");
        assert_eq!(other, vec!["[DONE]".to_string()]);
        assert!(!String::from_utf8_lossy(&whole).contains("<<"));
        for at in 0..=bytes.len() {
            let mut restorer = StreamRestorer::new(redactor());
            let out = run(&mut restorer, &[&bytes[..at], &bytes[at..]]);
            assert_eq!(out, whole, "split at byte {at}");
            assert_eq!(restorer.buffered(), 0);
        }
    }

    #[test]
    fn a_placeholder_over_two_deltas_is_held_then_restored() {
        let mut restorer = StreamRestorer::new(redactor());
        let first = restorer.push(event(0, Some("pw: <<passw"), None).as_bytes());
        assert_eq!(contents(&first).0[&0], "pw: ");
        assert_eq!(restorer.buffered(), "<<passw".len());
        let second = restorer.push(event(0, Some("ord:1>> end"), None).as_bytes());
        assert_eq!(contents(&second).0[&0], "hunter2-prod end");
        assert_eq!(restorer.buffered(), 0);
    }

    #[test]
    fn a_placeholder_over_three_deltas_is_restored() {
        let stream = [
            event(0, Some("<<pa"), None),
            ": keep-alive\n\n".to_string(),
            event(0, Some("sswo"), None),
            event(0, Some("rd:1>> done"), None),
            event(0, None, Some("stop")),
        ]
        .concat();
        let out = run(&mut StreamRestorer::new(redactor()), &[stream.as_bytes()]);
        assert_eq!(contents(&out).0[&0], "hunter2-prod done");
        // The first two deltas went out empty: nothing of the placeholder leaked.
        assert!(!String::from_utf8_lossy(&out).contains("<<pa"));
    }

    #[test]
    fn angle_brackets_that_are_no_placeholder_are_released() {
        let mut restorer = StreamRestorer::new(redactor());
        // `<<b` cannot start `<<password:1>>`: nothing is held.
        let out = restorer.push(event(0, Some("if a <<b"), None).as_bytes());
        assert_eq!(contents(&out).0[&0], "if a <<b");
        assert_eq!(restorer.buffered(), 0);
        // `<<` can: held, then released as is when the next delta does not complete it.
        let out = restorer.push(event(0, Some("x <<"), None).as_bytes());
        assert_eq!(contents(&out).0[&0], "x ");
        let out = restorer.push(event(0, Some("EOF"), None).as_bytes());
        assert_eq!(contents(&out).0[&0], "<<EOF");
        // An unknown placeholder stays as the model wrote it.
        let out = restorer.push(event(0, Some("<<password:9>>"), None).as_bytes());
        assert_eq!(contents(&out).0[&0], "<<password:9>>");
    }

    #[test]
    fn held_text_goes_out_with_the_finish_event() {
        let mut restorer = StreamRestorer::new(redactor());
        let first = restorer.push(event(0, Some("a <<pass"), None).as_bytes());
        assert_eq!(contents(&first).0[&0], "a ");
        let last = restorer.push(event(0, None, Some("stop")).as_bytes());
        let value: Value = serde_json::from_str(
            String::from_utf8(last)
                .unwrap()
                .trim()
                .strip_prefix("data: ")
                .unwrap(),
        )
        .unwrap();
        assert_eq!(value["choices"][0]["delta"]["content"], "<<pass");
        assert_eq!(value["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn held_text_goes_out_before_done_and_at_finish() {
        let mut restorer = StreamRestorer::new(redactor());
        restorer.push(event(0, Some("<<password:1"), None).as_bytes());
        let out = restorer.push(b"data: [DONE]\n\n");
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        let (content, _) = contents(&out);
        assert_eq!(content[&0], "<<password:1");
        assert!(text.contains("\"model\":\"m\""), "{text}");

        let mut restorer = StreamRestorer::new(redactor());
        restorer.push(event(0, Some("<<pass"), None).as_bytes());
        restorer.push(event(0, Some("word:1>"), None).as_bytes());
        let out = restorer.finish();
        assert_eq!(contents(&out).0[&0], "<<password:1>");
    }

    #[test]
    fn choices_are_held_apart() {
        let stream = [
            event(0, Some("zero <<pass"), None),
            event(1, Some("one <<passw"), None),
            event(1, Some("ord:1>>"), None),
            event(0, Some("word:1>>!"), None),
            event(0, None, Some("stop")),
            event(1, None, Some("stop")),
        ]
        .concat();
        let bytes = stream.as_bytes();
        for at in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
            let out = run(
                &mut StreamRestorer::new(redactor()),
                &[&bytes[..at], &bytes[at..]],
            );
            let (content, _) = contents(&out);
            assert_eq!(content[&0], "zero hunter2-prod!", "split at {at}");
            assert_eq!(content[&1], "one hunter2-prod", "split at {at}");
        }
    }

    #[test]
    fn nothing_to_restore_passes_byte_for_byte() {
        let stream = format!(
            ": keep-alive\n\n{}{}{}data: [DONE]\n\n",
            event(0, Some("<b>bold</b> and a < b"), None),
            "data: {\"choices\":[],\"usage\":{\"total_tokens\":3}}\r\n\r\n",
            event(0, Some("plain"), Some("stop")),
        );
        let bytes = stream.as_bytes();
        for at in 0..=bytes.len() {
            let out = run(
                &mut StreamRestorer::new(redactor()),
                &[&bytes[..at], &bytes[at..]],
            );
            assert_eq!(out, bytes, "split at {at}");
        }
        let mut empty = StreamRestorer::new(Arc::new(Redactor::default()));
        assert_eq!(empty.push(&bytes[..10]), &bytes[..10]);
        assert_eq!(empty.buffered(), 0);
    }

    #[test]
    fn crlf_events_and_other_fields_are_kept() {
        let line = event(0, Some("<<password:1>>"), None);
        let stream = format!("id: 7\r\n{}\r\n\r\n", line.trim_end());
        let out = run(&mut StreamRestorer::new(redactor()), &[stream.as_bytes()]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("id: 7\r\ndata: {"), "{text}");
        assert!(text.ends_with("}\r\n\r\n"), "{text}");
        assert!(text.contains("hunter2-prod"), "{text}");
    }
}
