//! The detectors, in priority order: where two overlap, the earlier one wins. Each regex is
//! compiled once; the value to replace is the named group `v`, `w` or `x` (quoted double, quoted
//! single, bare), or the whole match; `k` is the key it was labelled with, when there is one.

use regex::{Regex, RegexSet, SetMatches};
use std::net::Ipv6Addr;
use std::sync::LazyLock;

/// One replaced range of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
}

/// `accept(text, start, end, key)`: whether a match is really a value to hide.
pub(super) type Accept = fn(&str, usize, usize, &str) -> bool;

pub(super) struct Detector {
    /// The placeholder's kind: `<<kind:n>>`.
    pub kind: &'static str,
    /// Only when the tenant asks for identifiers to be hidden.
    pub identifier: bool,
    /// `None` only if the pattern failed to compile (a bug the tests catch).
    pub regex: Option<Regex>,
    pub accept: Accept,
}

fn secret(kind: &'static str, pattern: &str, accept: Accept) -> Detector {
    Detector {
        kind,
        identifier: false,
        regex: Regex::new(pattern).ok(),
        accept,
    }
}

fn identifier(kind: &'static str, pattern: &str, accept: Accept) -> Detector {
    Detector {
        kind,
        identifier: true,
        regex: Regex::new(pattern).ok(),
        accept,
    }
}

/// Keys whose value is a password.
const PASSWORD_KEYS: &str = r"[a-z0-9_.-]*(?:password|passwd|pwd|pass)";
/// Keys whose value is some other secret.
const SECRET_KEYS: &str = r"[a-z0-9_.-]*(?:secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials|dockerconfigjson|tls\.key)";
/// A value after `key:` or `key=`: double-quoted, single-quoted, or bare.
const VALUE: &str = r#"(?:"(?P<v>(?:[^"\\\n]|\\.)*)"|'(?P<w>[^'\n]*)'|(?P<x>[^\s,;'"}\])&<>]+))"#;
/// A CLI argument: double-quoted, single-quoted, or bare.
const ARG: &str = r#"(?:"(?P<v>[^"\n]*)"|'(?P<w>[^'\n]*)'|(?P<x>[^\s'"]+))"#;

/// `KEY=value`, `key: value`, `"key": "value"`, `key = 'value'`, `key := value`.
fn key_value(keys: &str) -> String {
    format!(r#"(?i)(?P<k>{keys})["']?[ \t]*[:=]=?[ \t]*{VALUE}"#)
}

/// `\"key\":\"value\"`: JSON escaped inside a JSON log line.
fn escaped_json(keys: &str) -> String {
    format!(r#"(?i)\\"(?P<k>{keys})\\"[ \t]*:[ \t]*\\"(?P<v>(?:[^"\\\n]|\\[^"])*)\\""#)
}

/// Kubernetes env entries: `- name: DB_PASSWORD` then `value: x`, in YAML or JSON.
fn env_entry(keys: &str) -> String {
    format!(
        r#"(?i)(?:name:[ \t]*["']?(?P<k>{keys})["']?[ \t]*\r?\n[ \t]*-?[ \t]*value:[ \t]*(?:"(?P<v>(?:[^"\\\n]|\\.)*)"|'(?P<w>[^'\n]*)'|(?P<x>[^\s'"](?:[^\r\n]*[^\s])?))|"name"[ \t]*:[ \t]*"{keys}"[ \t]*,[ \t]*"value"[ \t]*:[ \t]*"(?P<y>(?:[^"\\\n]|\\.)*)")"#
    )
}

static DETECTORS: LazyLock<Vec<Detector>> = LazyLock::new(|| {
    vec![
        // The private_key field of a GCP service-account JSON (escaped newlines and all).
        secret(
            "private-key",
            r#""private_key"[ \t]*:[ \t]*"(?P<v>(?:[^"\\]|\\.)+)""#,
            any,
        ),
        secret(
            "private-key",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?s:.)*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----",
            any,
        ),
        // A base64-encoded PEM private key, as in a Secret's `tls.key`.
        secret(
            "private-key",
            r"\bLS0tLS1CRUdJTi[A-Za-z0-9+/]{16,}={0,2}",
            base64_private_key,
        ),
        secret(
            "jwt",
            r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
            jwt,
        ),
        secret("aws-key", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", any),
        secret(
            "aws-secret",
            r#"(?i)aws_?secret_?access_?key["']?[ \t]*[:=][ \t]*["']?(?P<v>[A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#,
            any,
        ),
        secret("gcp-key", r"\bAIza[0-9A-Za-z_-]{35}", any),
        secret(
            "azure-key",
            r"(?i)\b(?:AccountKey|SharedAccessKey)=(?P<v>[A-Za-z0-9+/]{16,}={0,2})",
            any,
        ),
        secret("azure-key", r"[?&]sig=(?P<v>[A-Za-z0-9%+/=]{16,})", any),
        secret(
            "github-token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
            any,
        ),
        secret("gitlab-token", r"\bglpat-[A-Za-z0-9_-]{20,}", any),
        secret("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", any),
        secret("api-key", r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}", any),
        // Credentials in a URL: only the password part.
        secret(
            "password",
            r#"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^:/?#@\s"']*:(?P<v>[^@\s/"']+)@"#,
            secret_value,
        ),
        secret(
            "basic-auth",
            r#"(?i)\bauthorization["']?[ \t]*[:=][ \t]*["']?basic[ \t]+(?P<v>[A-Za-z0-9+/]{8,}={0,2})"#,
            any,
        ),
        secret(
            "bearer",
            r"(?i)\bbearer[ \t]+(?P<v>[A-Za-z0-9\-._~+/]+=*)",
            random_value,
        ),
        secret("password", &env_entry(PASSWORD_KEYS), password_value),
        secret("secret", &env_entry(SECRET_KEYS), token_value),
        secret("password", &escaped_json(PASSWORD_KEYS), password_value),
        secret("secret", &escaped_json(SECRET_KEYS), token_value),
        secret("password", &key_value(PASSWORD_KEYS), password_value),
        secret("secret", &key_value(SECRET_KEYS), token_value),
        secret(
            "password",
            &format!(r#"(?i)(?:^|[\s"'])--(?:password|passwd|pass|pwd)(?:=|[ \t]+){ARG}"#),
            flag_value,
        ),
        secret(
            "password",
            &format!(
                r"\b(?i:mysql|mysqldump|mysqladmin|mongo|mongosh|mongodump|mongorestore|mongoimport|mongoexport|mongostat|mongotop)\b[^\n]*?[ \t]-p[ \t]*{ARG}"
            ),
            flag_value,
        ),
        secret(
            "password",
            &format!(r"\bredis-cli\b[^\n]*?[ \t]-a[ \t]+{ARG}"),
            flag_value,
        ),
        secret(
            "password",
            r"(?im)^[ \t]*(?:requirepass|masterauth)[ \t]+(?P<x>\S+)",
            secret_value,
        ),
        secret(
            "password",
            r"(?i)\bpassword[ \t]+(?:is[ \t]+)?'(?P<w>[^'\n]+)'",
            secret_value,
        ),
        identifier(
            "email",
            r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
            any,
        ),
        identifier("ip", r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}", ipv6),
        identifier("ip", r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b", ipv4),
        identifier(
            "pod",
            r"\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}\b",
            pod,
        ),
        identifier(
            "host",
            r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,10}\b",
            hostname,
        ),
    ]
});

pub(super) fn all() -> &'static [Detector] {
    &DETECTORS
}

/// The detectors' patterns in one [`RegexSet`]: a single pass over a text says which
/// detectors match it anywhere, so only those run their own (capturing) search, and a text no
/// detector matches is scanned once instead of once per detector. Whether a detector's regex
/// matches a text is exactly whether the set reports it, so the spans found are the same.
pub(super) struct Prefilter {
    set: RegexSet,
    /// For each detector of [`all`], the index of its pattern in the set (`None`: not in it).
    in_set: Vec<Option<usize>>,
}

impl Prefilter {
    fn new(identifiers: bool) -> Option<Prefilter> {
        let mut patterns = Vec::new();
        let mut in_set = Vec::new();
        for detector in all() {
            if detector.identifier && !identifiers {
                in_set.push(None);
                continue;
            }
            in_set.push(Some(patterns.len()));
            patterns.push(detector.regex.as_ref()?.as_str());
        }
        let set = RegexSet::new(patterns).ok()?;
        Some(Prefilter { set, in_set })
    }

    /// Which detectors (by index in [`all`]) match `text` somewhere.
    pub fn matching(&self, text: &str) -> PrefilterMatches<'_> {
        PrefilterMatches {
            prefilter: self,
            matches: self.set.matches(text),
        }
    }
}

/// The answer of [`Prefilter::matching`].
pub(super) struct PrefilterMatches<'a> {
    prefilter: &'a Prefilter,
    matches: SetMatches,
}

impl PrefilterMatches<'_> {
    /// Whether no detector matches.
    pub fn is_empty(&self) -> bool {
        !self.matches.matched_any()
    }

    /// Whether detector `index` (in [`all`]) matches.
    pub fn contains(&self, index: usize) -> bool {
        self.prefilter
            .in_set
            .get(index)
            .copied()
            .flatten()
            .is_some_and(|i| self.matches.matched(i))
    }
}

static SECRETS_PREFILTER: LazyLock<Option<Prefilter>> = LazyLock::new(|| Prefilter::new(false));
static ALL_PREFILTER: LazyLock<Option<Prefilter>> = LazyLock::new(|| Prefilter::new(true));

/// The prefilter over the secret detectors, or over every detector when `identifiers`; `None`
/// only if a pattern failed to compile or the set is too large (the tests catch both), in
/// which case callers run every detector.
pub(super) fn prefilter(identifiers: bool) -> Option<&'static Prefilter> {
    if identifiers {
        ALL_PREFILTER.as_ref()
    } else {
        SECRETS_PREFILTER.as_ref()
    }
}

fn any(_: &str, _: usize, _: usize, _: &str) -> bool {
    true
}

fn before(text: &str, start: usize) -> Option<char> {
    text[..start].chars().next_back()
}

fn after(text: &str, end: usize) -> Option<char> {
    text[end..].chars().next()
}

/// Not a placeholder, a reference (`$VAR`, `{{ .Values.x }}`, `%s`), a mask or a flag word.
fn is_literal_secret(value: &str) -> bool {
    const WORDS: &[&str] = &[
        "null",
        "none",
        "nil",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "undefined",
        "redacted",
        "hidden",
        "masked",
        "empty",
        "required",
        "optional",
        "enabled",
        "disabled",
        "changeme?",
        "<none>",
        "n/a",
    ];
    let trimmed = value.trim();
    if trimmed.chars().count() < 2 {
        return false;
    }
    let lower = trimmed.to_ascii_lowercase();
    if WORDS.contains(&lower.as_str()) || lower.contains("redacted") {
        return false;
    }
    if trimmed.contains("<<") || trimmed.contains('(') {
        return false;
    }
    if trimmed.starts_with(['$', '<', '%', '!', '[']) || trimmed.starts_with("{{") {
        return false;
    }
    !trimmed
        .chars()
        .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.')
}

fn secret_value(text: &str, start: usize, end: usize, _: &str) -> bool {
    is_literal_secret(&text[start..end])
}

fn password_value(text: &str, start: usize, end: usize, key: &str) -> bool {
    let value = &text[start..end];
    let key = key.to_ascii_lowercase();
    // `PWD=/app`, `OLDPWD=/` in env dumps are working directories.
    if (key == "pwd" || key == "oldpwd") && value.starts_with(['/', '~']) {
        return false;
    }
    // `kubectl describe secret`: `password:  12 bytes`.
    if value.chars().all(|c| c.is_ascii_digit()) && text[end..].trim_start().starts_with("bytes") {
        return false;
    }
    // `pass` alone is a password only as `DB_PASS`, `db.pass`, or not a count (`pass: 3`).
    let bare_pass = key.ends_with("pass")
        && !key.ends_with("_pass")
        && !key.ends_with(".pass")
        && !key.ends_with("-pass");
    if bare_pass && (key != "pass" || value.chars().all(|c| c.is_ascii_digit())) {
        return false;
    }
    is_literal_secret(value)
}

/// A token-like value: long enough, not a number, a path or a plain name like `mongo-creds`.
fn token_value(text: &str, start: usize, end: usize, _: &str) -> bool {
    let value = &text[start..end];
    if !is_literal_secret(value) || value.len() < 8 || value.contains(char::is_whitespace) {
        return false;
    }
    if value.starts_with('/') || value.starts_with("./") {
        return false;
    }
    looks_random(value)
}

fn flag_value(text: &str, start: usize, end: usize, key: &str) -> bool {
    !text[start..end].starts_with('-') && secret_value(text, start, end, key)
}

fn random_value(text: &str, start: usize, end: usize, _: &str) -> bool {
    let value = &text[start..end];
    value.len() >= 8 && is_literal_secret(value) && looks_random(value)
}

/// Digits, mixed case or symbols: not all-digits and not a lowercase word or dashed name.
fn looks_random(value: &str) -> bool {
    if value.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let digit = value.chars().any(|c| c.is_ascii_digit());
    let upper = value.chars().any(|c| c.is_ascii_uppercase());
    let lower = value.chars().any(|c| c.is_ascii_lowercase());
    let symbol = value
        .chars()
        .any(|c| !c.is_ascii_alphanumeric() && !matches!(c, '-' | '_' | '.'));
    digit || (upper && lower) || symbol
}

/// A JWT's header decodes to a JSON object with `alg`.
fn jwt(text: &str, start: usize, end: usize, _: &str) -> bool {
    let Some(header) = text[start..end].split('.').next() else {
        return false;
    };
    let Some(bytes) = base64url_decode(header) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.contains_key("alg")))
        .unwrap_or(false)
}

fn base64_private_key(text: &str, start: usize, end: usize, _: &str) -> bool {
    base64url_decode(&text[start..end])
        .map(|bytes| bytes.windows(11).any(|w| w == b"PRIVATE KEY"))
        .unwrap_or(false)
}

/// Standard or URL-safe base64, padding optional.
fn base64url_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in input.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

fn ipv4(text: &str, start: usize, end: usize, _: &str) -> bool {
    let value = &text[start..end];
    if !value.split('.').all(|o| o.parse::<u8>().is_ok()) {
        return false;
    }
    if value == "0.0.0.0" || value == "255.255.255.255" || value.starts_with("127.") {
        return false;
    }
    // Versions: `v1.2.3.4`, `1.2.3.4.5`, `version 10.2.0.1`.
    if matches!(before(text, start), Some(c) if c.is_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return false;
    }
    if text[end..].starts_with('.') && text[end + 1..].starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let head = text[..start].to_ascii_lowercase();
    let head = head.trim_end();
    !head.ends_with("version")
}

fn ipv6(text: &str, start: usize, end: usize, _: &str) -> bool {
    let value = &text[start..end];
    let Ok(addr) = value.parse::<Ipv6Addr>() else {
        return false;
    };
    if addr.is_loopback() || addr.is_unspecified() || !value.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    if !value.contains("::") && value.matches(':').count() != 7 {
        return false;
    }
    let edge =
        |c: Option<char>| matches!(c, Some(c) if c.is_alphanumeric() || c == ':' || c == '.');
    !edge(before(text, start)) && !edge(after(text, end))
}

fn pod(text: &str, start: usize, end: usize, _: &str) -> bool {
    let value = &text[start..end];
    let mut parts = value.rsplitn(3, '-');
    let suffix = parts.next().unwrap_or("");
    let hash = parts.next().unwrap_or("");
    if !(suffix
        .chars()
        .chain(hash.chars())
        .any(|c| c.is_ascii_digit()))
    {
        return false;
    }
    let edge =
        |c: Option<char>| matches!(c, Some(c) if c.is_alphanumeric() || c == '-' || c == '_');
    !edge(before(text, start)) && !edge(after(text, end)) && before(text, start) != Some('.')
}

fn hostname(text: &str, start: usize, end: usize, _: &str) -> bool {
    const TLDS: &[&str] = &[
        "com", "net", "org", "io", "local", "internal", "corp", "lan", "cloud", "dev", "svc",
        "intra",
    ];
    const PUBLIC: &[&str] = &[
        "kubernetes.io",
        "k8s.io",
        "docker.io",
        "docker.com",
        "quay.io",
        "gcr.io",
        "ghcr.io",
        "github.com",
        "gitlab.com",
        "googleapis.com",
        "golang.org",
        "example.com",
    ];
    let value = &text[start..end];
    let Some(tld) = value.rsplit('.').next() else {
        return false;
    };
    if !TLDS.contains(&tld) {
        return false;
    }
    if PUBLIC
        .iter()
        .any(|p| value == *p || value.ends_with(&format!(".{p}")))
    {
        return false;
    }
    let edge = |c: Option<char>| matches!(c, Some(c) if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '@');
    !edge(before(text, start)) && !edge(after(text, end))
}
