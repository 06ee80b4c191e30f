//! Parsers for what the tools print: kubectl tables and `describe`, log lines, and the metrics and
//! traces CSV exports (raw CSV or an aligned table). Plain string scanning, no regexes; every
//! parser is total (bad input gives fewer facts, never a panic). Tool output is untrusted data:
//! these functions only extract facts from it.

/// A kubectl-style table: UPPERCASE headers, space-padded columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Index of a header, exact match.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// A row's cell under `name`, or "".
    pub fn cell<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        self.col(name)
            .and_then(|i| row.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }
}

fn is_header_line(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty()
        && t.chars().any(|c| c.is_ascii_uppercase())
        && t.chars().all(|c| {
            c.is_ascii_uppercase() || c == ' ' || c == '-' || c == '(' || c == ')' || c == '_'
        })
}

/// Splits a header line into (start offset, name) on runs of two or more spaces.
fn header_columns(line: &str) -> Vec<(usize, String)> {
    let bytes = line.as_bytes();
    let mut cols = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        let mut end = i;
        while end < bytes.len() {
            if bytes[end] == b' ' && (end + 1 >= bytes.len() || bytes[end + 1] == b' ') {
                break;
            }
            end += 1;
        }
        cols.push((start, line.get(start..end).unwrap_or("").to_string()));
        i = end;
    }
    cols
}

/// Parses the first kubectl table in `text`. Rows are sliced at the header offsets; a row whose
/// slices would cut a word falls back to whitespace splitting when the word count fits.
pub fn parse_table(text: &str) -> Table {
    let mut lines = text.lines().skip_while(|l| !is_header_line(l));
    let Some(header) = lines.next() else {
        return Table::default();
    };
    let cols = header_columns(header);
    let headers: Vec<String> = cols.iter().map(|(_, n)| n.clone()).collect();
    let mut rows = Vec::new();
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        if !line.is_ascii() {
            rows.push(split_fallback(line, headers.len()));
            continue;
        }
        let mut cells = Vec::with_capacity(cols.len());
        let mut clean = true;
        for (k, (start, _)) in cols.iter().enumerate() {
            let end = cols.get(k + 1).map_or(line.len(), |c| c.0).min(line.len());
            let start = (*start).min(line.len());
            if k > 0 && start > 0 && start < line.len() {
                let b = line.as_bytes();
                if b[start - 1] != b' ' && b[start] != b' ' {
                    clean = false;
                }
            }
            cells.push(line.get(start..end).unwrap_or("").trim().to_string());
        }
        if !clean {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() == headers.len() {
                cells = words.iter().map(|w| w.to_string()).collect();
            }
        }
        rows.push(cells);
    }
    Table { headers, rows }
}

fn split_fallback(line: &str, n: usize) -> Vec<String> {
    let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    if n > 0 && words.len() > n {
        let tail = words.split_off(n - 1).join(" ");
        words.push(tail);
    }
    words
}

/// Seconds in a kubectl age (`45s`, `3m12s`, `2h10m`, `3d`, `5d2h`); None when unreadable.
pub fn parse_age(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut total = 0u64;
    let mut num = 0u64;
    let mut any = false;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            num = num.saturating_mul(10).saturating_add(u64::from(d));
            any = true;
        } else {
            let mult = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'y' => 31_536_000,
                _ => return None,
            };
            total = total.saturating_add(num.saturating_mul(mult));
            num = 0;
        }
    }
    if !any {
        return None;
    }
    Some(total + num)
}

/// `4 (52s ago)` -> (4, Some(52)); `0` -> (0, None).
pub fn parse_restarts(s: &str) -> (u32, Option<u64>) {
    let s = s.trim();
    let count = s
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(0);
    let ago = s
        .find('(')
        .and_then(|i| s.get(i + 1..))
        .and_then(|r| r.split_whitespace().next())
        .and_then(parse_age);
    (count, ago)
}

/// `1/2` -> (1, 2).
pub fn parse_ratio(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once('/')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Ports of a `PORT(S)` cell: `9090/TCP`, `5000:30918/TCP`, `8080/TCP,9090/UDP`.
pub fn parse_svc_ports(s: &str) -> Vec<u16> {
    s.split(',')
        .filter_map(|p| {
            let p = p.trim();
            let head = p.split('/').next().unwrap_or(p);
            head.split(':')
                .next()
                .and_then(|n| n.trim().parse::<u16>().ok())
        })
        .collect()
}

/// Ports of an `ENDPOINTS` cell: `10.244.1.23:9999,10.244.1.24:9999 + 1 more...`.
pub fn parse_endpoint_ports(s: &str) -> Vec<u16> {
    let head = s.split(" + ").next().unwrap_or(s);
    head.split(',')
        .filter_map(|e| e.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
        .collect()
}

/// The deployment / service a pod belongs to: the longest known name that prefixes it (followed
/// by `-`), else the name with its ReplicaSet / pod hash suffixes removed.
pub fn owner_of_pod(pod: &str, known: &[String]) -> String {
    let best = known
        .iter()
        .filter(|k| {
            pod.len() > k.len()
                && pod.starts_with(k.as_str())
                && pod.as_bytes().get(k.len()) == Some(&b'-')
        })
        .max_by_key(|k| k.len());
    if let Some(k) = best {
        return k.clone();
    }
    let parts: Vec<&str> = pod.split('-').collect();
    let looks_hash = |p: &str| {
        (p.len() == 5 || (8..=10).contains(&p.len()))
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && p.chars().any(|c| c.is_ascii_digit())
    };
    let mut n = parts.len();
    if n > 2 && looks_hash(parts[n - 1]) && looks_hash(parts[n - 2]) {
        n -= 2;
    } else if n > 1
        && (looks_hash(parts[n - 1]) || parts[n - 1].chars().all(|c| c.is_ascii_digit()))
    {
        n -= 1;
    }
    parts[..n].join("-")
}

/// What `kubectl describe pod` says that matters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Described {
    pub name: String,
    pub node: String,
    pub node_selectors: Vec<String>,
    pub containers: Vec<ContainerInfo>,
    /// (type, reason, message) of the Events section.
    pub events: Vec<(String, String, String)>,
}

/// One container of a described pod.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerInfo {
    pub name: String,
    pub image: String,
    pub ports: Vec<u16>,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub state: String,
    pub state_reason: String,
    pub last_reason: String,
    pub last_exit_code: Option<i32>,
    pub ready: Option<bool>,
    pub restarts: u32,
    pub env: Vec<(String, String)>,
    pub probes: Vec<String>,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Parses `kubectl describe pod` output (the first pod when several are printed).
pub fn parse_describe(text: &str) -> Described {
    let mut d = Described::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut section = "";
    let mut block = "";
    let mut block_indent = 0usize;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let ind = indent_of(line);
        if ind == 0 {
            if let Some((k, v)) = t.split_once(':') {
                let v = v.trim();
                match k {
                    "Name" if d.name.is_empty() => d.name = v.to_string(),
                    "Name" => break,
                    "Node" => d.node = v.split('/').next().unwrap_or("").to_string(),
                    "Node-Selectors" => {
                        section = "selectors";
                        if !v.is_empty() && v != "<none>" {
                            d.node_selectors.push(v.to_string());
                        }
                        continue;
                    }
                    _ => {}
                }
                section = match k {
                    "Containers" => "containers",
                    "Init Containers" => "init",
                    "Events" => "events",
                    _ => "",
                };
            }
            continue;
        }
        match section {
            "selectors" if !t.contains(':') || t.contains('=') => {
                d.node_selectors.push(t.to_string());
            }
            "events" => {
                if t.starts_with("Type") || t.starts_with("----") {
                    continue;
                }
                let words: Vec<&str> = t.split_whitespace().collect();
                if words.len() >= 2 {
                    let msg = message_after_from(t);
                    d.events
                        .push((words[0].to_string(), words[1].to_string(), msg.to_string()));
                }
            }
            "containers" => {
                if ind == 2 && t.ends_with(':') && !t.contains(' ') {
                    d.containers.push(ContainerInfo {
                        name: t.trim_end_matches(':').to_string(),
                        ..ContainerInfo::default()
                    });
                    block = "";
                    continue;
                }
                let Some(c) = d.containers.last_mut() else {
                    continue;
                };
                let Some((k, v)) = t.split_once(':') else {
                    if block == "env" {
                        continue;
                    }
                    continue;
                };
                let (k, v) = (k.trim(), v.trim());
                if !block.is_empty() && ind <= block_indent {
                    block = "";
                }
                match (block, k) {
                    ("state", "Reason") => c.state_reason = v.to_string(),
                    ("last", "Reason") => c.last_reason = v.to_string(),
                    ("last", "Exit Code") => c.last_exit_code = v.parse().ok(),
                    ("env", _) => c.env.push((k.to_string(), v.to_string())),
                    (_, "Image") => c.image = v.to_string(),
                    (_, "Port") | (_, "Ports") => c.ports.extend(v.split(',').filter_map(|p| {
                        p.trim()
                            .split('/')
                            .next()
                            .and_then(|n| n.trim().parse::<u16>().ok())
                    })),
                    (_, "Command") | (_, "Args") => {
                        let mut vals = Vec::new();
                        if !v.is_empty() {
                            vals.push(v.to_string());
                        }
                        while let Some(next) = lines.get(i) {
                            let nt = next.trim();
                            if nt.is_empty() || indent_of(next) <= ind {
                                break;
                            }
                            vals.push(nt.to_string());
                            i += 1;
                        }
                        if k == "Command" {
                            c.command = vals;
                        } else {
                            c.args = vals;
                        }
                    }
                    (_, "State") => {
                        c.state = v.to_string();
                        block = "state";
                        block_indent = ind;
                    }
                    (_, "Last State") => {
                        block = "last";
                        block_indent = ind;
                    }
                    (_, "Ready") => c.ready = Some(v.eq_ignore_ascii_case("true")),
                    (_, "Restart Count") => c.restarts = v.parse().unwrap_or(0),
                    (_, "Liveness") | (_, "Readiness") => c.probes.push(format!("{k}: {v}")),
                    (_, "Environment") if v.is_empty() => {
                        block = "env";
                        block_indent = ind;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    d
}

/// The message of an event row `Type Reason Age From Message`: what follows the `From` column.
fn message_after_from(t: &str) -> &str {
    // Columns are separated by two or more spaces; the message is the fifth column.
    let mut rest = t;
    for _ in 0..4 {
        match rest.find("  ") {
            Some(p) => rest = rest[p..].trim_start(),
            None => return rest,
        }
    }
    rest
}

/// One span of the traces export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent: String,
    pub service: String,
    pub operation: String,
    pub duration_us: f64,
    pub error: bool,
    pub response: String,
}

const TRACE_COLS: [&str; 9] = [
    "trace_id",
    "span_id",
    "parent_span",
    "service_name",
    "operation_name",
    "start_time",
    "duration",
    "has_error",
    "response",
];

fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "1.0"
    )
}

/// Parses the traces export, as raw CSV or as an aligned table (pandas style, with or without an
/// index column; the operation name may hold spaces).
pub fn parse_traces(text: &str) -> Vec<Span> {
    let mut lines = text.lines().skip_while(|l| !l.contains("trace_id"));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let csv = header.contains(',');
    let names: Vec<String> = if csv {
        header.split(',').map(|h| h.trim().to_string()).collect()
    } else {
        header.split_whitespace().map(str::to_string).collect()
    };
    let idx = |n: &str| names.iter().position(|h| h == n);
    let mut spans = Vec::new();
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<String> = if csv {
            csv_split(line)
        } else {
            table_trace_cells(line, &names)
        };
        let get = |n: &str| {
            idx(n)
                .and_then(|i| cells.get(i))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let span = Span {
            trace_id: get("trace_id"),
            span_id: get("span_id"),
            parent: get("parent_span"),
            service: get("service_name"),
            operation: get("operation_name"),
            duration_us: get("duration").parse().unwrap_or(0.0),
            error: truthy(&get("has_error")),
            response: get("response"),
        };
        if !span.service.is_empty() {
            spans.push(span);
        }
    }
    spans
}

fn csv_split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Cells of one table row of the traces export, aligned to `names` (the header words).
fn table_trace_cells(line: &str, names: &[String]) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let lead = usize::from(
        words.len() > names.len()
            && words
                .first()
                .is_some_and(|w| w.len() < 8 && w.chars().all(|c| c.is_ascii_digit())),
    );
    let words = &words[lead.min(words.len())..];
    let op = names
        .iter()
        .position(|n| n == "operation_name")
        .unwrap_or(TRACE_COLS.len());
    let after = names.len().saturating_sub(op + 1);
    if words.len() < names.len() || op >= names.len() {
        return words.iter().map(|w| w.to_string()).collect();
    }
    let mut cells: Vec<String> = words[..op].iter().map(|w| w.to_string()).collect();
    let op_end = words.len() - after;
    cells.push(words[op..op_end].join(" "));
    cells.extend(words[op_end..].iter().map(|w| w.to_string()));
    cells
}

/// One metrics sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub ts: f64,
    pub cmdb_id: String,
    pub kpi: String,
    pub value: f64,
}

/// Parses a metrics CSV (raw or as an aligned table): `timestamp,cmdb_id,kpi_name,value`.
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    let mut lines = text.lines().skip_while(|l| !l.contains("cmdb_id"));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let csv = header.contains(',');
    let names: Vec<&str> = if csv {
        header.split(',').map(str::trim).collect()
    } else {
        header.split_whitespace().collect()
    };
    let pos = |n: &str| names.iter().position(|h| *h == n);
    let (Some(ts), Some(id), Some(kpi), Some(val)) = (
        pos("timestamp"),
        pos("cmdb_id"),
        pos("kpi_name"),
        pos("value"),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in lines {
        let mut cells: Vec<&str> = if csv {
            line.split(',').map(str::trim).collect()
        } else {
            line.split_whitespace().collect()
        };
        if !csv && cells.len() == names.len() + 1 {
            cells.remove(0);
        }
        let (Some(t), Some(c), Some(k), Some(v)) =
            (cells.get(ts), cells.get(id), cells.get(kpi), cells.get(val))
        else {
            continue;
        };
        let (Ok(t), Ok(v)) = (t.parse::<f64>(), v.parse::<f64>()) else {
            continue;
        };
        out.push(Sample {
            ts: t,
            cmdb_id: c.to_string(),
            kpi: k.to_string(),
            value: v,
        });
    }
    out
}

/// The pod of a `cmdb_id` (`kind-worker.geo-84fbc958c7-lxb9r.eth0` -> `geo-84fbc958c7-lxb9r`).
pub fn pod_of_cmdb(id: &str) -> &str {
    let rest = id.split_once('.').map_or(id, |(_, r)| r);
    rest.split('.').next().unwrap_or(rest)
}

/// Paths named in a tool reply (tokens that end in `.csv`, or a folder path).
pub fn paths_in(text: &str) -> (Option<String>, Vec<String>) {
    let mut folder = None;
    let mut files = Vec::new();
    for raw in text.split_whitespace() {
        let tok = raw.trim_matches(|c: char| {
            c == '\'' || c == '"' || c == ',' || c == '`' || c == '[' || c == ']' || c == ':'
        });
        if tok.ends_with(".csv") {
            files.push(tok.to_string());
        } else if tok.starts_with('/') && folder.is_none() && tok.len() > 1 {
            folder = Some(tok.trim_end_matches('/').to_string());
        }
    }
    (folder, files)
}

/// The text after `key` up to the next whitespace or quote, e.g. `not authorized on geo-db`.
pub fn word_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let i = line.find(key)?;
    let rest = line.get(i + key.len()..)?.trim_start();
    let w = rest
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\\' || c == ',' || c == '\'')
        .next()?;
    if w.is_empty() { None } else { Some(w) }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
