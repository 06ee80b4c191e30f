//! The few filters agents pipe kubectl into: grep, head, tail, wc -l, sort, uniq, awk '{print $N}',
//! and sed 's/TEXT/TEXT/[g]' (literal text, no regular expressions).

use super::{KubectlResult, err};

pub fn filter(mut r: KubectlResult, stages: &[&[String]]) -> KubectlResult {
    for st in stages {
        let Some(cmd) = st.first() else {
            return err("/bin/sh: 1: Syntax error: \"|\" unexpected");
        };
        // A failing kubectl's stderr goes to the terminal, not through the pipe.
        if !r.ok {
            return r;
        }
        let lines: Vec<&str> = r.stdout.lines().collect();
        let args: Vec<&str> = st[1..].iter().map(String::as_str).collect();
        let out: Vec<String> = match cmd.as_str() {
            "grep" | "egrep" => {
                let mut invert = false;
                let mut icase = false;
                let mut count = false;
                let mut pats = Vec::new();
                let mut i = 0;
                while i < args.len() {
                    match args[i] {
                        "-e" => {
                            i += 1;
                            if let Some(p) = args.get(i) {
                                pats.push(p.to_string());
                            }
                        }
                        f if f.starts_with('-') && f.len() > 1 => {
                            invert |= f.contains('v');
                            icase |= f.contains('i');
                            count |= f.contains('c');
                        }
                        p => pats.push(p.to_string()),
                    }
                    i += 1;
                }
                let alts: Vec<String> = pats
                    .iter()
                    .flat_map(|p| {
                        p.split("\\|")
                            .chain(std::iter::empty())
                            .map(String::from)
                            .collect::<Vec<_>>()
                    })
                    .flat_map(|p| {
                        if cmd == "egrep" || args.contains(&"-E") {
                            p.split('|').map(String::from).collect()
                        } else {
                            vec![p]
                        }
                    })
                    .collect();
                let hit = |l: &str| {
                    alts.iter().any(|p| {
                        if icase {
                            l.to_lowercase().contains(&p.to_lowercase())
                        } else {
                            l.contains(p.as_str())
                        }
                    })
                };
                let kept: Vec<String> = lines
                    .iter()
                    .filter(|l| hit(l) != invert)
                    .map(|l| l.to_string())
                    .collect();
                if count {
                    vec![kept.len().to_string()]
                } else {
                    if kept.is_empty() {
                        return KubectlResult {
                            stdout: String::new(),
                            ok: false,
                        };
                    }
                    kept
                }
            }
            "head" | "tail" => {
                let mut n = 10usize;
                let mut i = 0;
                while i < args.len() {
                    let a = args[i];
                    if a == "-n" {
                        i += 1;
                        n = args
                            .get(i)
                            .and_then(|x| x.trim_start_matches('+').parse().ok())
                            .unwrap_or(10);
                    } else if let Some(x) = a.strip_prefix("-n") {
                        n = x.parse().unwrap_or(10);
                    } else if let Some(x) = a.strip_prefix('-') {
                        n = x.parse().unwrap_or(10);
                    }
                    i += 1;
                }
                if cmd == "head" {
                    lines.iter().take(n).map(|l| l.to_string()).collect()
                } else {
                    lines
                        .iter()
                        .skip(lines.len().saturating_sub(n))
                        .map(|l| l.to_string())
                        .collect()
                }
            }
            "wc" => vec![if args.contains(&"-l") {
                lines.len().to_string()
            } else {
                format!(
                    "{} {} {}",
                    lines.len(),
                    r.stdout.split_whitespace().count(),
                    r.stdout.len()
                )
            }],
            "sort" => {
                let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                v.sort();
                if args.contains(&"-r") {
                    v.reverse();
                }
                v
            }
            "uniq" => {
                let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                v.dedup();
                v
            }
            "awk" => {
                let prog = args.first().copied().unwrap_or("");
                let fields: Vec<usize> = prog
                    .split('$')
                    .skip(1)
                    .filter_map(|f| {
                        f.chars()
                            .take_while(char::is_ascii_digit)
                            .collect::<String>()
                            .parse()
                            .ok()
                    })
                    .collect();
                lines
                    .iter()
                    .map(|l| {
                        let w: Vec<&str> = l.split_whitespace().collect();
                        fields
                            .iter()
                            .map(|&f| {
                                if f == 0 {
                                    l.to_string()
                                } else {
                                    w.get(f - 1).map(|x| x.to_string()).unwrap_or_default()
                                }
                            })
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect()
            }
            "cat" | "less" | "more" => lines.iter().map(|l| l.to_string()).collect(),
            "sed" => match sed(&args) {
                Some(f) => lines.iter().map(|l| f(l)).collect(),
                None => {
                    return err(&format!(
                        "sed: -e expression #1, char 1: unsupported here: {}",
                        args.join(" ")
                    ));
                }
            },
            other => return err(&format!("/bin/sh: 1: {other}: not found")),
        };
        let mut s = out.join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        r = KubectlResult::ok(s);
    }
    r
}

/// `sed [-e] 's/FROM/TO/[g]'` with literal FROM and TO (any delimiter), one per line.
fn sed(args: &[&str]) -> Option<impl Fn(&str) -> String> {
    let script = args.iter().rev().find(|a| !a.starts_with('-'))?;
    let mut chars = script.strip_prefix('s')?.chars();
    let delim = chars.next()?;
    let parts: Vec<String> = chars
        .as_str()
        .split(delim)
        .map(|p| p.replace("\\.", ".").replace("\\/", "/"))
        .collect();
    let [from, to, flags] = parts.as_slice() else {
        return None;
    };
    if from.is_empty() || !flags.chars().all(|c| c == 'g') {
        return None;
    }
    let (from, to, all) = (from.clone(), to.clone(), flags.contains('g'));
    Some(move |l: &str| {
        if all {
            l.replace(&from, &to)
        } else {
            l.replacen(&from, &to, 1)
        }
    })
}
