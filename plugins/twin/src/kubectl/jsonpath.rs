//! A small subset of kubectl's JSONPath templates: `{.a.b[0].c}`, `[*]`, `..name`,
//! `[?(@.k=="v")]`, `{range ...}{end}`, quoted literals.

use serde_json::Value;

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Expr(String),
    Range(String, Vec<Node>),
}

fn tokenize(t: &str) -> Result<Vec<(bool, String)>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' {
            if !text.is_empty() {
                out.push((false, std::mem::take(&mut text)));
            }
            let mut depth = 1;
            let mut expr = String::new();
            let mut quote: Option<char> = None;
            loop {
                let Some(n) = chars.next() else {
                    return Err(format!(
                        "error: error parsing jsonpath {t}, unclosed action"
                    ));
                };
                if let Some(q) = quote {
                    if n == q {
                        quote = None;
                    }
                } else if n == '"' || n == '\'' {
                    quote = Some(n);
                } else if n == '{' {
                    depth += 1;
                } else if n == '}' {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                expr.push(n);
            }
            out.push((true, expr.trim().to_string()));
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        out.push((false, text));
    }
    Ok(out)
}

fn build(tokens: &[(bool, String)], i: &mut usize, nested: bool) -> Result<Vec<Node>, String> {
    let mut out = Vec::new();
    while *i < tokens.len() {
        let (is_expr, s) = &tokens[*i];
        *i += 1;
        if !is_expr {
            out.push(Node::Text(s.clone()));
        } else if let Some(r) = s.strip_prefix("range ") {
            let body = build(tokens, i, true)?;
            out.push(Node::Range(r.trim().to_string(), body));
        } else if s == "end" {
            if nested {
                return Ok(out);
            }
            return Err("error: error parsing jsonpath, not in range, nothing to end".into());
        } else {
            out.push(Node::Expr(s.clone()));
        }
    }
    Ok(out)
}

/// Evaluates a path like `.items[*].metadata.name` against `root`.
pub fn select<'a>(root: &'a Value, path: &str) -> Result<Vec<&'a Value>, String> {
    let mut cur: Vec<&Value> = vec![root];
    let p = path.trim().trim_start_matches('$');
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let recursive = i + 1 < chars.len() && chars[i + 1] == '.';
                i += if recursive { 2 } else { 1 };
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name.is_empty() {
                    continue;
                }
                let mut next = Vec::new();
                for v in cur {
                    if recursive {
                        collect_recursive(v, &name, &mut next);
                    } else if name == "*" {
                        match v {
                            Value::Object(m) => next.extend(m.values()),
                            Value::Array(a) => next.extend(a.iter()),
                            _ => {}
                        }
                    } else if let Some(x) = v.get(&name) {
                        next.push(x);
                    }
                }
                cur = next;
            }
            '[' => {
                let start = i + 1;
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '[' {
                        depth += 1;
                    } else if chars[i] == ']' {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    i += 1;
                }
                let inner: String = chars[start..i.min(chars.len())].iter().collect();
                i += 1;
                cur = index(cur, inner.trim())?;
            }
            _ => {
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                cur = cur.into_iter().filter_map(|v| v.get(&name)).collect();
            }
        }
    }
    Ok(cur)
}

fn collect_recursive<'a>(v: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if let Some(x) = m.get(name) {
                out.push(x);
            }
            for x in m.values() {
                collect_recursive(x, name, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_recursive(x, name, out)),
        _ => {}
    }
}

fn index<'a>(cur: Vec<&'a Value>, inner: &str) -> Result<Vec<&'a Value>, String> {
    let mut next = Vec::new();
    if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        let (lhs, op, rhs) = ["==", "!="]
            .iter()
            .find_map(|op| f.split_once(op).map(|(l, r)| (l.trim(), *op, r.trim())))
            .ok_or_else(|| format!("error: error parsing jsonpath, unsupported filter {f}"))?;
        let rhs = rhs.trim_matches('"').trim_matches('\'');
        let lhs = lhs.trim_start_matches('@');
        for v in cur {
            if let Value::Array(a) = v {
                for item in a {
                    let got = select(item, lhs)?;
                    let hit = got.iter().any(|g| match g {
                        Value::String(s) => s == rhs,
                        other => *other == rhs,
                    });
                    if hit == (op == "==") {
                        next.push(item);
                    }
                }
            }
        }
        return Ok(next);
    }
    if inner.starts_with('\'') || inner.starts_with('"') {
        let k = inner.trim_matches('\'').trim_matches('"');
        return Ok(cur.into_iter().filter_map(|v| v.get(k)).collect());
    }
    for v in cur {
        let Value::Array(a) = v else { continue };
        if inner == "*" {
            next.extend(a.iter());
        } else if let Some((s, e)) = inner.split_once(':') {
            let n = a.len() as i64;
            let norm = |x: &str, d: i64| -> i64 {
                let v = x.trim().parse::<i64>().unwrap_or(d);
                if v < 0 { (n + v).max(0) } else { v.min(n) }
            };
            let (s, e) = (norm(s, 0), norm(e, n));
            if s < e {
                next.extend(a[s as usize..e as usize].iter());
            }
        } else {
            let k: i64 = inner.parse().map_err(|_| {
                format!("error: error parsing jsonpath, invalid array index {inner}")
            })?;
            let k = if k < 0 { a.len() as i64 + k } else { k };
            match a.get(k as usize) {
                Some(x) if k >= 0 => next.push(x),
                _ => {
                    return Err("error: error executing jsonpath: array index out of bounds".into());
                }
            }
        }
    }
    Ok(next)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn literal(expr: &str) -> Option<String> {
    let e = expr.trim();
    if e.len() >= 2
        && ((e.starts_with('"') && e.ends_with('"')) || (e.starts_with('\'') && e.ends_with('\'')))
    {
        let inner = &e[1..e.len() - 1];
        return Some(inner.replace("\\n", "\n").replace("\\t", "\t"));
    }
    None
}

fn render(nodes: &[Node], root: &Value, out: &mut String) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Expr(e) => {
                if let Some(l) = literal(e) {
                    out.push_str(&l);
                    continue;
                }
                let vals = select(root, e)?;
                out.push_str(
                    &vals
                        .iter()
                        .map(|v| text_of(v))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            Node::Range(e, body) => {
                for v in select(root, e)? {
                    render(body, v, out)?;
                }
            }
        }
    }
    Ok(())
}

/// Renders a `-o jsonpath=` template.
pub fn execute(template: &str, root: &Value) -> Result<String, String> {
    let tokens = tokenize(template)?;
    let mut i = 0;
    let nodes = build(&tokens, &mut i, false)?;
    let mut out = String::new();
    render(&nodes, root, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_ranges() {
        let v = json!({"items": [{"metadata": {"name": "a"}, "spec": {"ports": [{"targetPort": 9090}]}},
                                 {"metadata": {"name": "b"}, "spec": {"ports": [{"targetPort": 9999}]}}]});
        assert_eq!(
            execute("{.items[*].metadata.name}", &v).ok().as_deref(),
            Some("a b")
        );
        assert_eq!(
            execute("{.items[1].spec.ports[0].targetPort}", &v)
                .ok()
                .as_deref(),
            Some("9999")
        );
        assert_eq!(
            execute("{range .items[*]}{.metadata.name}{\"\\n\"}{end}", &v)
                .ok()
                .as_deref(),
            Some("a\nb\n")
        );
        assert_eq!(
            execute(
                "{.items[?(@.metadata.name==\"b\")].spec.ports[0].targetPort}",
                &v
            )
            .ok()
            .as_deref(),
            Some("9999")
        );
    }
}
