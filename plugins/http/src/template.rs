//! String templates with `{arg}` and `{config.key}` placeholders (`{{` and `}}` are literal
//! braces), parsed once when the spec is loaded and filled in per call.

use serde_json::{Map, Value};

/// Where a placeholder takes its value from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// A call argument.
    Arg(String),
    /// An installation config value.
    Config(String),
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Placeholder::Arg(name) => write!(f, "{{{name}}}"),
            Placeholder::Config(key) => write!(f, "{{config.{key}}}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Hole(Placeholder),
}

/// A parsed template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

fn is_ident(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    /// Parses `text`; the error says what is wrong (the caller adds where).
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(format!(
                        "stray `}}` at byte {i}; write `}}}}` for a literal brace"
                    ));
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "unclosed `{{` at byte {i}; write `{{{{` for a literal brace"
                        ));
                    };
                    let name = &rest[..end];
                    let hole = match name.strip_prefix("config.") {
                        Some(key) if is_ident(key) => Placeholder::Config(key.to_string()),
                        None if is_ident(name) => Placeholder::Arg(name.to_string()),
                        _ => {
                            return Err(format!(
                                "`{{{name}}}` is not a placeholder: use {{argument}} or {{config.key}}, and `{{{{` for a literal brace"
                            ));
                        }
                    };
                    // Skip the name and the closing brace.
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Hole(hole));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Template { pieces })
    }

    pub(crate) fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Hole(h) => Some(h),
            Piece::Literal(_) => None,
        })
    }

    /// The placeholder, when the template is exactly one placeholder and nothing else.
    pub(crate) fn sole_placeholder(&self) -> Option<&Placeholder> {
        match self.pieces.as_slice() {
            [Piece::Hole(h)] => Some(h),
            _ => None,
        }
    }

    /// Fills the template; `None` when a placeholder has no value (an absent optional argument
    /// or config value). `encode` is applied to each substituted value, not to literals.
    pub(crate) fn render(
        &self,
        values: &Values<'_>,
        encode: impl Fn(&str) -> String,
    ) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Hole(hole) => out.push_str(&encode(&values.text(hole)?)),
            }
        }
        Some(out)
    }
}

/// The values placeholders are filled from for one call.
pub(crate) struct Values<'a> {
    pub(crate) args: &'a Map<String, Value>,
    pub(crate) config: &'a Map<String, Value>,
}

impl Values<'_> {
    pub(crate) fn json(&self, hole: &Placeholder) -> Option<&Value> {
        let value = match hole {
            Placeholder::Arg(name) => self.args.get(name),
            Placeholder::Config(key) => self.config.get(key),
        }?;
        match value {
            Value::Null => None,
            Value::String(s) if s.is_empty() && matches!(hole, Placeholder::Config(_)) => None,
            v => Some(v),
        }
    }

    /// A value as text: strings as they are, arrays of scalars joined with `,`, anything else as
    /// compact JSON.
    pub(crate) fn text(&self, hole: &Placeholder) -> Option<String> {
        Some(as_text(self.json(hole)?))
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|v| !v.is_array() && !v.is_object()) => {
            items.iter().map(as_text).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_literals_and_escapes() {
        let t = Template::parse("/api/{id}/x{{y}}/{config.org}").unwrap();
        let holes: Vec<String> = t.placeholders().map(|h| h.to_string()).collect();
        assert_eq!(holes, ["{id}", "{config.org}"]);
        let args = json!({"id": 7}).as_object().unwrap().clone();
        let config = json!({"org": "acme"}).as_object().unwrap().clone();
        let values = Values {
            args: &args,
            config: &config,
        };
        assert_eq!(
            t.render(&values, str::to_string).unwrap(),
            "/api/7/x{y}/acme"
        );
        let empty = Map::new();
        let values = Values {
            args: &empty,
            config: &config,
        };
        assert_eq!(t.render(&values, str::to_string), None);
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        assert!(Template::parse("/a/{id").unwrap_err().contains("unclosed"));
        assert!(Template::parse("/a/}").unwrap_err().contains("stray"));
        assert!(
            Template::parse("{a b}")
                .unwrap_err()
                .contains("not a placeholder")
        );
        assert!(Template::parse("{config.}").is_err());
        assert_eq!(
            Template::parse("{x}").unwrap().sole_placeholder(),
            Some(&Placeholder::Arg("x".into()))
        );
        assert_eq!(Template::parse("a{x}").unwrap().sole_placeholder(), None);
    }

    #[test]
    fn values_render_as_text() {
        assert_eq!(as_text(&json!("a b")), "a b");
        assert_eq!(as_text(&json!([1, "b"])), "1,b");
        assert_eq!(as_text(&json!({"a": 1})), "{\"a\":1}");
        assert_eq!(as_text(&json!(true)), "true");
    }
}
