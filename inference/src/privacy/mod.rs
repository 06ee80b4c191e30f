//! The privacy guard's redactor: before a prompt leaves the process, secrets (and, when the tenant
//! asks, identifiers) are replaced with stable placeholders such as `<<password:1>>`; the mapping
//! stays here, and [`Redactor::restore`] puts the originals back into the model's reply before a
//! command runs.
//!
//! Placeholders are `<<kind:n>>`: plain ASCII a model copies faithfully, numbered per kind, and a
//! shape that does not occur in logs, configs or shell commands. Within one [`Redactor`] (one
//! session) the same value always gets the same placeholder.

mod detectors;
mod stream;

pub use stream::StreamRestorer;

use detectors::{Detector, Span};
use regex::Regex;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

/// What a tenant wants hidden from the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedactionPolicy {
    /// Bearer tokens, JWTs, cloud keys, private keys, passwords, credentials in URLs. Always on:
    /// a policy with `false` here still redacts secrets.
    pub secrets: bool,
    /// Emails, IP addresses, FQDN hostnames and Kubernetes pod names.
    pub identifiers: bool,
}

impl RedactionPolicy {
    /// Secrets only (the default).
    pub fn secrets_only() -> Self {
        RedactionPolicy {
            secrets: true,
            identifiers: false,
        }
    }

    /// Secrets and identifiers.
    pub fn with_identifiers() -> Self {
        RedactionPolicy {
            secrets: true,
            identifiers: true,
        }
    }
}

impl Default for RedactionPolicy {
    fn default() -> Self {
        RedactionPolicy::secrets_only()
    }
}

/// `<<kind:n>>`, as [`Redactor`] writes it.
static PLACEHOLDER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<<([a-z][a-z0-9-]*):([0-9]+)>>").ok());

/// One session's redactor: detects, replaces, remembers, restores. Its `Debug` shows counts
/// only, never a value.
#[derive(Clone, Default)]
pub struct Redactor {
    policy: RedactionPolicy,
    /// Original value to its placeholder.
    placeholders: HashMap<String, String>,
    /// Placeholder to its original value.
    originals: HashMap<String, String>,
    /// The last number given per kind.
    counters: HashMap<&'static str, usize>,
    /// Run every detector over every text instead of only those the prefilter says match.
    full_scan: bool,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("policy", &self.policy)
            .field("replaced", &self.originals.len())
            .finish()
    }
}

impl Redactor {
    pub fn new(policy: RedactionPolicy) -> Self {
        Redactor {
            policy,
            ..Redactor::default()
        }
    }

    /// This redactor without the one-pass prefilter: every detector searches every text. The
    /// result is the same, only slower; for benchmarks and tests that compare the two.
    pub fn with_full_scan(mut self) -> Self {
        self.full_scan = true;
        self
    }

    pub fn policy(&self) -> RedactionPolicy {
        self.policy
    }

    /// How many distinct values have been replaced so far.
    pub fn len(&self) -> usize {
        self.originals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.originals.is_empty()
    }

    /// The text with every detected value replaced by its placeholder. Placeholders already in
    /// the text are left alone, so redacting twice changes nothing.
    pub fn redact(&mut self, text: &str) -> String {
        let spans = self.find(text);
        if spans.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for span in spans {
            out.push_str(&text[at..span.start]);
            let placeholder = self.placeholder(span.kind, &text[span.start..span.end]);
            out.push_str(&placeholder);
            at = span.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The text with every placeholder this redactor gave put back; unknown placeholders stay.
    pub fn restore(&self, text: &str) -> String {
        let Some(placeholder) = PLACEHOLDER.as_ref() else {
            return text.to_string();
        };
        if self.originals.is_empty() || !text.contains("<<") {
            return text.to_string();
        }
        placeholder
            .replace_all(text, |caps: &regex::Captures<'_>| {
                let found = &caps[0];
                self.originals
                    .get(found)
                    .cloned()
                    .unwrap_or_else(|| found.to_string())
            })
            .into_owned()
    }

    /// Every string inside a JSON value restored (object keys too).
    pub fn restore_json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.restore(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.restore_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.restore(k), self.restore_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A serializable value with every string in it restored; the value unchanged when it does
    /// not survive the JSON round trip.
    pub fn restore_value<T: Serialize + DeserializeOwned>(&self, value: T) -> T {
        if self.originals.is_empty() {
            return value;
        }
        let Ok(json) = serde_json::to_value(&value) else {
            return value;
        };
        serde_json::from_value(self.restore_json(&json)).unwrap_or(value)
    }

    /// The placeholder for `value`, given on first sight.
    fn placeholder(&mut self, kind: &'static str, value: &str) -> String {
        if let Some(existing) = self.placeholders.get(value) {
            return existing.clone();
        }
        let n = self.counters.entry(kind).or_insert(0);
        *n += 1;
        let placeholder = format!("<<{kind}:{n}>>");
        self.placeholders
            .insert(value.to_string(), placeholder.clone());
        self.originals
            .insert(placeholder.clone(), value.to_string());
        placeholder
    }

    /// Non-overlapping spans to replace, in text order: detectors earlier in the list win
    /// overlaps, and nothing inside an existing placeholder is touched. Unless
    /// [`Redactor::with_full_scan`], one pass of the prefilter picks the detectors that match
    /// the text at all, and only those search it again for their spans.
    fn find(&self, text: &str) -> Vec<Span> {
        let mut taken: Vec<(usize, usize)> = match PLACEHOLDER.as_ref() {
            Some(p) if text.contains("<<") => {
                p.find_iter(text).map(|m| (m.start(), m.end())).collect()
            }
            _ => Vec::new(),
        };
        let mut chosen = Vec::new();
        // Values already replaced this session, wherever they appear again, even unlabelled
        // (an instruction that quotes a restored password): longest first.
        let mut known: Vec<&String> = self
            .placeholders
            .keys()
            .filter(|v| v.chars().count() >= MIN_KNOWN)
            .collect();
        known.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for value in known {
            for (start, _) in text.match_indices(value.as_str()) {
                let end = start + value.len();
                if !standalone(text, start, end) || taken.iter().any(|&(s, e)| start < e && s < end)
                {
                    continue;
                }
                taken.push((start, end));
                chosen.push(Span {
                    start,
                    end,
                    kind: "known",
                });
            }
        }
        let identifiers = self.policy.identifiers;
        let matching = if self.full_scan {
            None
        } else {
            detectors::prefilter(identifiers).map(|p| p.matching(text))
        };
        if chosen.is_empty() && matching.as_ref().is_some_and(|m| m.is_empty()) {
            return chosen;
        }
        for (index, detector) in detectors::all().iter().enumerate() {
            if detector.identifier && !identifiers {
                continue;
            }
            if let Some(matching) = &matching
                && !matching.contains(index)
            {
                continue;
            }
            for span in detect(detector, text) {
                let overlaps = taken.iter().any(|&(s, e)| span.start < e && s < span.end);
                if !overlaps {
                    taken.push((span.start, span.end));
                    chosen.push(span);
                }
            }
        }
        chosen.sort_by_key(|s| s.start);
        chosen
    }
}

/// The shortest remembered value swept for without a detector.
const MIN_KNOWN: usize = 6;

/// Not the middle of a longer word or number.
fn standalone(text: &str, start: usize, end: usize) -> bool {
    let value = &text[start..end];
    let inner = |c: Option<char>| matches!(c, Some(c) if c.is_alphanumeric());
    let joins_before = inner(text[..start].chars().next_back()) && inner(value.chars().next());
    let joins_after = inner(text[end..].chars().next()) && inner(value.chars().next_back());
    !joins_before && !joins_after
}

/// The spans one detector finds in `text`.
fn detect(detector: &Detector, text: &str) -> Vec<Span> {
    let Some(regex) = detector.regex.as_ref() else {
        return Vec::new();
    };
    let mut spans = Vec::new();
    for caps in regex.captures_iter(text) {
        let value = caps
            .name("v")
            .or_else(|| caps.name("w"))
            .or_else(|| caps.name("x"))
            .or_else(|| caps.name("y"))
            .or_else(|| caps.get(0));
        let Some(value) = value else {
            continue;
        };
        if value.start() == value.end() {
            continue;
        }
        let key = caps.name("k").map(|k| k.as_str()).unwrap_or("");
        if !(detector.accept)(text, value.start(), value.end(), key) {
            continue;
        }
        spans.push(Span {
            start: value.start(),
            end: value.end(),
            kind: detector.kind,
        });
    }
    spans
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert!(PLACEHOLDER.is_some());
        for d in detectors::all() {
            assert!(d.regex.is_some(), "{}", d.kind);
        }
        assert!(detectors::prefilter(false).is_some());
        assert!(detectors::prefilter(true).is_some());
    }

    /// Lines that each set off one or more detectors, and clean ones.
    const MIXED: &[&str] = &[
        "Is the checkout service healthy? The last deploy was an hour ago.",
        "DB_PASSWORD=hunter2-prod and api_key: \"Zx9qL2mN8pR4sT6v\"",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8\n-----END RSA PRIVATE KEY-----",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE on host db-1.prod.internal (10.2.3.4)",
        "curl -H 'Authorization: Bearer tok_live_a1B2c3D4e5F6g7H8' https://user:s3cr3t!@api.corp.com/x",
        "mysql -u root -pS3cretPass orders; redis-cli -a Pa55w0rd ping; ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "pod checkout-7d9f8b6c5d-x2k9p restarted; mail ops@example.org; fe80::1ff:fe23:4567:890a down",
        "password is 'correct horse' and <<password:1>> stays",
        "  - name: REDIS_PASSWORD\n    value: 'Rds!2024pw'",
        "{\\\"db_password\\\":\\\"Qw3rty!9\\\"} sk-proj-abcdefghijklmnopqrstuvwx",
        "résumé of the incident: ünïcödé text, no secrets, cafe.internal is a host",
    ];

    #[test]
    fn the_prefilter_finds_exactly_what_the_full_scan_finds() {
        for policy in [
            RedactionPolicy::secrets_only(),
            RedactionPolicy::with_identifiers(),
        ] {
            let mut fast = Redactor::new(policy);
            let mut full = Redactor::new(policy).with_full_scan();
            for line in MIXED {
                assert_eq!(fast.redact(line), full.redact(line), "{policy:?}: {line}");
            }
            // The second pass also sweeps for the values remembered in the first.
            for line in MIXED {
                let twice = format!("{line} {line}");
                assert_eq!(
                    fast.redact(&twice),
                    full.redact(&twice),
                    "{policy:?}: {line}"
                );
            }
            assert!(fast.len() > 10, "{}", fast.len());
            assert_eq!(fast.len(), full.len());
        }
    }

    #[test]
    fn debug_never_shows_a_value() {
        let mut redactor = Redactor::new(RedactionPolicy::default());
        let redacted = redactor.redact("DB_PASSWORD=hunter2-prod");
        assert_eq!(redacted, "DB_PASSWORD=<<password:1>>");
        let debug = format!("{redactor:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
