//! A tolerant parser for the bits of JavaScript agents type into a mongo shell: statements,
//! call chains on `db`, object literals with unquoted keys, single or double quotes.

/// A shell value.
#[derive(Debug, Clone, PartialEq)]
pub enum JsVal {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<JsVal>),
    Obj(Vec<(String, JsVal)>),
    /// Printed as is (`UUID("...")`, `NumberLong(1)`).
    Raw(String),
    /// A database handle.
    Db(String),
    /// A collection handle (db, collection).
    Coll(String, String),
}

impl JsVal {
    pub fn get(&self, key: &str) -> Option<&JsVal> {
        match self {
            JsVal::Obj(v) => v.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsVal::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn truthy(&self) -> bool {
        match self {
            JsVal::Undefined | JsVal::Null => false,
            JsVal::Bool(b) => *b,
            JsVal::Num(n) => *n != 0.0,
            JsVal::Str(s) => !s.is_empty(),
            _ => true,
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(JsVal),
    Ident(String),
    Member(Box<Expr>, String),
    Call(Box<Expr>, Vec<Expr>),
    Obj(Vec<(String, Expr)>),
    Arr(Vec<Expr>),
    Assign(String, Box<Expr>),
}

/// A statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Use(String),
    Show(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Punct(char),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() && c != '\n' {
            i += 1;
        } else if c == '\n' {
            out.push(Tok::Punct(';'));
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&d) = chars.get(i) else {
                    return Err("SyntaxError: unterminated string literal".into());
                };
                i += 1;
                if d == c {
                    break;
                }
                if d == '\\' {
                    let e = chars.get(i).copied().unwrap_or('\\');
                    i += 1;
                    s.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                } else {
                    s.push(d);
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Tok::Num(
                s.parse()
                    .map_err(|_| format!("SyntaxError: bad number {s}"))?,
            ));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '$'
                    || chars[i] == '-')
            {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if "{}[](),:.;=".contains(c) {
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            return Err(format!("SyntaxError: illegal character '{c}'"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: char, what: &str) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("SyntaxError: missing {c} {what}"))
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let Some(t) = self.peek().cloned() else {
            return Err("SyntaxError: expected expression, got end of script".into());
        };
        self.pos += 1;
        match t {
            Tok::Str(s) => Ok(Expr::Lit(JsVal::Str(s))),
            Tok::Num(n) => Ok(Expr::Lit(JsVal::Num(n))),
            Tok::Ident(id) => match id.as_str() {
                "true" => Ok(Expr::Lit(JsVal::Bool(true))),
                "false" => Ok(Expr::Lit(JsVal::Bool(false))),
                "null" => Ok(Expr::Lit(JsVal::Null)),
                "undefined" => Ok(Expr::Lit(JsVal::Undefined)),
                _ => Ok(Expr::Ident(id)),
            },
            Tok::Punct('{') => {
                let mut fields = Vec::new();
                while !self.eat('}') {
                    let key = match self.peek().cloned() {
                        Some(Tok::Ident(k)) | Some(Tok::Str(k)) => k,
                        Some(Tok::Num(n)) => n.to_string(),
                        _ => return Err("SyntaxError: missing } after property list".into()),
                    };
                    self.pos += 1;
                    self.expect(':', "after property id")?;
                    let v = self.expr()?;
                    fields.push((key, v));
                    if !self.eat(',') {
                        self.expect('}', "after property list")?;
                        break;
                    }
                }
                Ok(Expr::Obj(fields))
            }
            Tok::Punct('[') => {
                let mut items = Vec::new();
                while !self.eat(']') {
                    items.push(self.expr()?);
                    if !self.eat(',') {
                        self.expect(']', "after element list")?;
                        break;
                    }
                }
                Ok(Expr::Arr(items))
            }
            Tok::Punct('(') => {
                let e = self.expr()?;
                self.expect(')', "in parenthetical")?;
                Ok(e)
            }
            Tok::Punct(c) => Err(format!("SyntaxError: expected expression, got '{c}'")),
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        if let (Some(Tok::Ident(id)), Some(Tok::Punct('='))) =
            (self.peek().cloned(), self.toks.get(self.pos + 1).cloned())
            && self.toks.get(self.pos + 2) != Some(&Tok::Punct('=')) {
                self.pos += 2;
                let v = self.expr()?;
                return Ok(Expr::Assign(id, Box::new(v)));
            }
        let mut e = self.primary()?;
        loop {
            if self.eat('.') {
                match self.peek().cloned() {
                    Some(Tok::Ident(m)) => {
                        self.pos += 1;
                        e = Expr::Member(Box::new(e), m);
                    }
                    _ => return Err("SyntaxError: missing name after . operator".into()),
                }
            } else if self.eat('(') {
                let mut args = Vec::new();
                while !self.eat(')') {
                    args.push(self.expr()?);
                    if !self.eat(',') {
                        self.expect(')', "after argument list")?;
                        break;
                    }
                }
                e = Expr::Call(Box::new(e), args);
            } else if self.eat('[') {
                let k = self.expr()?;
                self.expect(']', "in index expression")?;
                let key = match k {
                    Expr::Lit(JsVal::Str(s)) => s,
                    Expr::Lit(JsVal::Num(n)) => n.to_string(),
                    _ => return Err("SyntaxError: unsupported index".into()),
                };
                e = Expr::Member(Box::new(e), key);
            } else {
                return Ok(e);
            }
        }
    }
}

/// Parses a script into statements.
pub fn parse(src: &str) -> Result<Vec<Stmt>, String> {
    let mut stmts = Vec::new();
    // `use x` and `show x` are shell helpers, line-based.
    let mut js = String::new();
    for raw in src.split(['\n', ';']) {
        let line = raw.trim();
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("use"), Some(db), None) => {
                flush(&mut js, &mut stmts)?;
                stmts.push(Stmt::Use(db.to_string()));
            }
            (Some("show"), Some(what), None) => {
                flush(&mut js, &mut stmts)?;
                stmts.push(Stmt::Show(what.to_string()));
            }
            _ => {
                js.push_str(raw);
                js.push(';');
            }
        }
    }
    flush(&mut js, &mut stmts)?;
    Ok(stmts)
}

fn flush(js: &mut String, stmts: &mut Vec<Stmt>) -> Result<(), String> {
    if js.trim().trim_matches(';').trim().is_empty() {
        js.clear();
        return Ok(());
    }
    let toks = lex(js)?;
    js.clear();
    let mut p = Parser { toks, pos: 0 };
    while p.pos < p.toks.len() {
        if p.eat(';') {
            continue;
        }
        if p.peek() == Some(&Tok::Ident("var".into()))
            || p.peek() == Some(&Tok::Ident("let".into()))
            || p.peek() == Some(&Tok::Ident("const".into()))
        {
            p.pos += 1;
        }
        let e = p.expr()?;
        stmts.push(Stmt::Expr(e));
        if !p.eat(';') && p.pos < p.toks.len() {
            return Err("SyntaxError: missing ; before statement".into());
        }
    }
    Ok(())
}

/// The legacy shell's `tojson`: tab-indented, `"key" : value`.
pub fn tojson(v: &JsVal, indent: &str) -> String {
    match v {
        JsVal::Undefined => "undefined".into(),
        JsVal::Null => "null".into(),
        JsVal::Bool(b) => b.to_string(),
        JsVal::Num(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", *n as i64)
            } else {
                n.to_string()
            }
        }
        JsVal::Str(s) => serde_json::to_string(s).unwrap_or_default(),
        JsVal::Raw(r) => r.clone(),
        JsVal::Db(d) => d.clone(),
        JsVal::Coll(d, c) => format!("{d}.{c}"),
        JsVal::Arr(a) => {
            if a.is_empty() {
                return "[ ]".into();
            }
            let inner = format!("{indent}\t");
            let items: Vec<String> = a
                .iter()
                .map(|x| format!("{inner}{}", tojson(x, &inner)))
                .collect();
            format!("[\n{}\n{indent}]", items.join(",\n"))
        }
        JsVal::Obj(o) => {
            if o.is_empty() {
                return "{ }".into();
            }
            let inner = format!("{indent}\t");
            let items: Vec<String> = o
                .iter()
                .map(|(k, x)| format!("{inner}\"{k}\" : {}", tojson(x, &inner)))
                .collect();
            format!("{{\n{}\n{indent}}}", items.join(",\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tolerant_literals() {
        let s = parse("use admin\ndb.createUser({user: 'a', pwd: \"b\", roles: [{role: 'readWrite', db: 'geo-db'}, 'root']});").unwrap_or_default();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0], Stmt::Use("admin".into()));
        let Stmt::Expr(Expr::Call(_, args)) = &s[1] else {
            panic!("not a call: {s:?}")
        };
        assert!(matches!(&args[0], Expr::Obj(f) if f.len() == 3));
        assert!(parse("db.getSiblingDB('admin').getUsers()").is_ok());
        assert!(parse("db.createUser({user: 'a'").is_err());
    }
}
