//! Standard input for a command line, fed the way `/bin/sh` feeds it: a here-document
//! (`kubectl apply -f - <<EOF` ... `EOF`, `<<'EOF'`, `<<"EOF"`, `<<-EOF`), a here-string
//! (`<<<`), or `cat <<EOF | ...`, `echo '...' | ...`, `printf '...' | ...` piped in.

/// A pipeline whose first stage reads `stdin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Piped {
    /// The stages after the one that produced stdin, split at `|`.
    pub stages: Vec<Vec<String>>,
    pub stdin: String,
}

const UNTERMINATED: &str = "/bin/sh: 1: Syntax error: Unterminated quoted string";

/// The pipeline and its stdin, when the command line gives one; None when it gives none.
pub(super) fn split(command: &str) -> Option<Result<Piped, String>> {
    let command = command.trim_start();
    let (head, body) = command.split_once('\n').unwrap_or((command, ""));
    if let Some((at, here_string)) = find_redirect(head) {
        return Some(if here_string {
            here_string_input(command, at)
        } else {
            here_document(head, body, at)
        });
    }
    if !(command.contains("echo") || command.contains("printf")) || !command.contains('|') {
        return None;
    }
    let words = shell_words::split(command).ok()?;
    let stages = stages(&words);
    let producer = stages.first()?;
    let next = stages.get(1)?;
    if !matches!(next.first().map(String::as_str), Some("kubectl" | "k")) {
        return None;
    }
    let stdin = match producer.first().map(String::as_str) {
        Some("echo") => echo(&producer[1..]),
        Some("printf") => printf(&producer[1..]),
        _ => return None,
    };
    Some(Ok(Piped {
        stages: stages[1..].to_vec(),
        stdin,
    }))
}

fn stages(words: &[String]) -> Vec<Vec<String>> {
    words.split(|w| w == "|").map(<[String]>::to_vec).collect()
}

/// Byte offset of the first `<<` outside quotes, and whether it is a here-string (`<<<`).
fn find_redirect(line: &str) -> Option<(usize, bool)> {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(b'"') if b == b'\\' => i += 1,
            Some(_) => {}
            None if b == b'\\' => i += 1,
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'<' && bytes.get(i + 1) == Some(&b'<') => {
                return Some((i, bytes.get(i + 2) == Some(&b'<')));
            }
            None => {}
        }
        i += 1;
    }
    None
}

/// `<<[-]WORD` at `at` in the first line; the document is the lines after it up to WORD.
fn here_document(head: &str, body: &str, at: usize) -> Result<Piped, String> {
    let mut rest = &head[at + 2..];
    let strip_tabs = rest.starts_with('-');
    if strip_tabs {
        rest = &rest[1..];
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let end = word_end(rest);
    let raw = &rest[..end];
    let quoted = raw.contains(['\'', '"', '\\']);
    let delimiter: String = raw
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    if delimiter.is_empty() {
        return Err("/bin/sh: 1: Syntax error: redirection unexpected".into());
    }
    let mut doc = String::new();
    for line in body.lines() {
        let line = if strip_tabs {
            line.trim_start_matches('\t')
        } else {
            line
        };
        if line.trim() == delimiter {
            break;
        }
        doc.push_str(line);
        doc.push('\n');
    }
    if !quoted {
        doc = expand(&doc);
    }
    let line = format!("{} {}", &head[..at], &rest[end..]);
    let words = shell_words::split(&line).map_err(|_| UNTERMINATED.to_string())?;
    Ok(feed(stages(&words), doc))
}

/// `<<< WORD`: the word and a newline.
fn here_string_input(command: &str, at: usize) -> Result<Piped, String> {
    let before = shell_words::split(&command[..at]).map_err(|_| UNTERMINATED.to_string())?;
    let after = shell_words::split(&command[at + 3..]).map_err(|_| UNTERMINATED.to_string())?;
    let mut after = after.into_iter();
    let stdin = after.next().map(|w| format!("{w}\n")).unwrap_or_default();
    let words: Vec<String> = before.into_iter().chain(after).collect();
    Ok(feed(stages(&words), stdin))
}

/// Input to the first stage; a bare `cat` in front passes it on to the next.
fn feed(mut stages: Vec<Vec<String>>, stdin: String) -> Piped {
    let is_cat =
        |s: &[String]| s.first().is_some_and(|w| w == "cat") && s[1..].iter().all(|w| w == "-");
    if stages.len() > 1 && is_cat(&stages[0]) {
        stages.remove(0);
    }
    Piped { stages, stdin }
}

/// Where a (possibly quoted) shell word ends.
fn word_end(s: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_whitespace() || "|;&<>()".contains(c) => return i,
            None => {}
        }
    }
    s.len()
}

/// What the shell does to an unquoted here-document: `\$`, `` \` `` and `\\` lose their
/// backslash; `$NAME` and `${...}` expand (to nothing: the shell's environment is empty).
fn expand(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    let mut chars = doc.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('$' | '`' | '\\')) => {
                    out.push(n);
                    chars.next();
                }
                Some('\n') => {
                    chars.next();
                }
                _ => out.push('\\'),
            },
            '$' => match chars.peek() {
                Some('{') => {
                    for n in chars.by_ref() {
                        if n == '}' {
                            break;
                        }
                    }
                }
                Some(&n) if n.is_ascii_alphabetic() || n == '_' => {
                    while chars
                        .peek()
                        .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_')
                    {
                        chars.next();
                    }
                }
                _ => out.push('$'),
            },
            other => out.push(other),
        }
    }
    out
}

/// `echo` as dash runs it: `-n` drops the newline, backslash escapes are interpreted.
fn echo(args: &[String]) -> String {
    let mut newline = true;
    let mut escapes = true;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a.len() < 2 || !a.starts_with('-') || !a[1..].chars().all(|c| "neE".contains(c)) {
            break;
        }
        for c in a[1..].chars() {
            match c {
                'n' => newline = false,
                'E' => escapes = false,
                _ => escapes = true,
            }
        }
        i += 1;
    }
    let text = args[i..].join(" ");
    let (mut out, stopped) = if escapes {
        unescape(&text)
    } else {
        (text, false)
    };
    if newline && !stopped {
        out.push('\n');
    }
    out
}

/// `printf FORMAT [ARG...]`: escapes, `%s`/`%b`/`%d` take the next argument, `%%` is `%`;
/// the format repeats while arguments remain.
fn printf(args: &[String]) -> String {
    let Some(format) = args.first() else {
        return String::new();
    };
    let mut rest = args[1..].iter();
    let mut out = String::new();
    loop {
        let mut used = false;
        let mut chars = format.chars().peekable();
        let mut lit = String::new();
        while let Some(c) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            out.push_str(&unescape(&std::mem::take(&mut lit)).0);
            match chars.next() {
                Some('%') => out.push('%'),
                Some('b') => {
                    used = true;
                    out.push_str(&unescape(rest.next().map_or("", String::as_str)).0);
                }
                Some(_) => {
                    used = true;
                    out.push_str(rest.next().map_or("", String::as_str));
                }
                None => out.push('%'),
            }
        }
        out.push_str(&unescape(&lit).0);
        if !used || rest.len() == 0 {
            return out;
        }
    }
}

/// Backslash escapes (`\n`, `\t`, `\\`, `\0NNN`, ...); true when `\c` stopped the output.
fn unescape(s: &str) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('a') => out.push('\x07'),
            Some('b') => out.push('\x08'),
            Some('f') => out.push('\x0c'),
            Some('v') => out.push('\x0b'),
            Some('c') => return (out, true),
            Some('0') => {
                let mut n = 0u32;
                for _ in 0..3 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            n = n * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(n).unwrap_or('\0'));
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piped(c: &str) -> Piped {
        match split(c) {
            Some(Ok(p)) => p,
            other => panic!("{c}: {other:?}"),
        }
    }

    #[test]
    fn heredoc_forms() {
        for c in [
            "kubectl apply -f - <<EOF\na: 1\nEOF",
            "kubectl apply -f - <<'EOF'\na: 1\nEOF\n",
            "kubectl apply -f - << \"END\"\na: 1\nEND",
            "kubectl apply -f - <<-EOF\n\ta: 1\n\tEOF",
            "cat <<EOF | kubectl apply -f -\na: 1\nEOF",
            "cat << 'YAML' | kubectl apply -f -\na: 1\nYAML",
            "kubectl apply -f - <<< 'a: 1'",
        ] {
            let p = piped(c);
            assert_eq!(p.stdin, "a: 1\n", "{c}");
            assert_eq!(p.stages, vec![vec!["kubectl", "apply", "-f", "-"]], "{c}");
        }
        assert_eq!(
            piped("kubectl apply -f - <<EOF\nx: $HOME\\$y\nEOF").stdin,
            "x: $y\n"
        );
        assert_eq!(
            piped("kubectl apply -f - <<'EOF'\nx: $HOME\nEOF").stdin,
            "x: $HOME\n"
        );
    }

    #[test]
    fn echo_and_printf() {
        assert_eq!(
            piped("echo '{\"a\": 1}' | kubectl apply -f -").stdin,
            "{\"a\": 1}\n"
        );
        assert_eq!(
            piped("echo 'a: 1\nb: 2' | kubectl apply -f -").stdin,
            "a: 1\nb: 2\n"
        );
        assert_eq!(piped("echo -n x | kubectl apply -f -").stdin, "x");
        assert_eq!(
            piped("printf 'a: %s\\n' 1 | kubectl apply -f -").stdin,
            "a: 1\n"
        );
        assert_eq!(piped("printf 'k: v\\n' | k apply -f -").stdin, "k: v\n");
        assert!(split("echo hi | grep h").is_none());
        assert!(split("kubectl get pods").is_none());
        assert!(split("kubectl get pods -l 'a<<b'").is_none());
    }
}
