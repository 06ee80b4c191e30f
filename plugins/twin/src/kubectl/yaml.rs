//! `-o yaml`: JSON values written the way kubectl (sigs.k8s.io/yaml, go-yaml v2) writes them.

use serde_json::Value;

/// A document, ending in a newline.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => write_seq(a, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn pad(n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn write_map(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    // Go writes a map's keys sorted, whatever order the JSON had them in.
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut first = true;
    for (k, v) in entries {
        if !first {
            pad(indent, out);
        }
        first = false;
        out.push_str(&key(k));
        out.push(':');
        write_value_after_key(v, indent, out);
    }
}

fn write_value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            pad(indent + 2, out);
            write_map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            pad(indent, out);
            write_seq(a, indent, out);
        }
        Value::String(s) if s.contains('\n') => {
            out.push_str(&block(s, indent + 2));
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_seq(a: &[Value], indent: usize, out: &mut String) {
    let mut first = true;
    for v in a {
        if !first {
            pad(indent, out);
        }
        first = false;
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => write_map(m, indent + 2, out),
            Value::Array(inner) if !inner.is_empty() => write_seq(inner, indent + 2, out),
            Value::String(s) if s.contains('\n') => {
                out.pop();
                out.push_str(&block(s, indent + 2));
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn block(s: &str, indent: usize) -> String {
    let mut out = String::from(if s.ends_with('\n') { " |\n" } else { " |-\n" });
    for line in s.trim_end_matches('\n').split('\n') {
        if !line.is_empty() {
            pad(indent, &mut out);
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn key(k: &str) -> String {
    if needs_quotes(k) {
        quote(k)
    } else {
        k.to_string()
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if needs_quotes(s) {
                quote(s)
            } else {
                s.clone()
            }
        }
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn looks_typed(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    matches!(
        l.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    ) || s.parse::<f64>().is_ok()
        || (s.len() >= 10
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[7] == b'-'
            && s[..4].chars().all(|c| c.is_ascii_digit()))
        || (s.starts_with("0x") && s.len() > 2)
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || looks_typed(s) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    "-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !(first == '-' && s.len() > 1 && !s[1..].starts_with(' '))
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains('\t')
}

fn quote(s: &str) -> String {
    if looks_typed(s) || s.is_empty() {
        return format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    }
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_like_kubectl() {
        let v = json!({"apiVersion": "v1", "metadata": {"creationTimestamp": "2026-01-13T12:30:06Z", "name": "x",
            "annotations": {"rev": "1"}}, "spec": {"containers": [{"command": ["geo"], "name": "c", "ports": [{"containerPort": 8083}]}],
            "empty": {}, "sel": "*"}});
        let y = to_yaml(&v);
        assert_eq!(
            y,
            "apiVersion: v1\nmetadata:\n  annotations:\n    rev: \"1\"\n  creationTimestamp: \"2026-01-13T12:30:06Z\"\n  name: x\nspec:\n  containers:\n  - command:\n    - geo\n    name: c\n    ports:\n    - containerPort: 8083\n  empty: {}\n  sel: '*'\n"
        );
    }
}
