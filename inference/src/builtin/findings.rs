//! The knowledge base the Compressor fills: structured facts parsed from every tool output, plus
//! the short text summary the Observer's context shows.

use super::parse::{self, Described};
use super::telemetry::{metric_trends, summarize_metrics, summarize_traces, trace_stats};
use aoi_core::ToolCall;
use std::collections::{BTreeMap, BTreeSet};

/// One pod row of `kubectl get pods`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodFact {
    pub name: String,
    pub owner: String,
    pub ready: u32,
    pub total: u32,
    pub status: String,
    pub restarts: u32,
    pub last_restart_ago: Option<u64>,
    pub age: Option<u64>,
    pub node: String,
}

impl PodFact {
    pub fn crashing(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CrashLoopBackOff" | "Error" | "OOMKilled" | "ImagePullBackOff" | "ErrImagePull"
        ) || (self.ready < self.total
            && self.restarts >= 2
            && self.last_restart_ago.is_some_and(|a| a < 900))
    }
    pub fn pending(&self) -> bool {
        self.status == "Pending"
    }
    pub fn healthy(&self) -> bool {
        self.status == "Running" && self.ready == self.total && self.total > 0
            || self.status == "Completed"
    }
}

/// One deployment row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeployFact {
    pub ready: u32,
    pub desired: u32,
    pub containers: Vec<String>,
    pub images: Vec<String>,
}

/// One event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFact {
    pub kind: String,
    pub reason: String,
    pub object: String,
    pub message: String,
}

/// What a service's logs revealed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFacts {
    pub signals: BTreeSet<Signal>,
    /// `not authorized on geo-db` -> `geo-db`.
    pub unauthorized_db: Option<String>,
    /// `Read database URL: mongodb-geo:27017` -> `mongodb-geo`.
    pub db_host: Option<String>,
    /// `Could not find user "admin"` -> `admin`.
    pub missing_user: Option<String>,
    /// `cmd/geo/main.go` -> `geo`: the binary that runs.
    pub binary: Option<String>,
    pub error_lines: u32,
    pub lines: u32,
    /// The first error lines, for reading which component they name.
    pub error_samples: Vec<String>,
    /// Access-log requests (Envoy) that took a second or more, by upstream cluster.
    pub slow_requests: BTreeMap<String, u32>,
}

impl LogFacts {
    /// Adds what another read of the same service's logs found (e.g. the previous run's).
    pub fn merge(&mut self, other: &LogFacts) {
        self.signals.extend(other.signals.iter().cloned());
        for (mine, theirs) in [
            (&mut self.unauthorized_db, &other.unauthorized_db),
            (&mut self.db_host, &other.db_host),
            (&mut self.missing_user, &other.missing_user),
            (&mut self.binary, &other.binary),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        self.error_lines += other.error_lines;
        self.lines += other.lines;
        for sample in &other.error_samples {
            if self.error_samples.len() < 60 {
                self.error_samples.push(sample.clone());
            }
        }
        for (k, v) in &other.slow_requests {
            *self.slow_requests.entry(k.clone()).or_insert(0) += v;
        }
    }
}

/// An access-log request this slow (milliseconds) is a stall, not noise.
const SLOW_REQUEST_MS: u64 = 1000;

/// An Envoy access-log line (`[ts] "GET /p HTTP/1.1" 200 - via_upstream - "-" 0 512 10034 ...
/// "frontend-proxy:8080" "10.244.1.5:8080" frontend ...`): (duration ms, upstream cluster).
pub fn envoy_access(line: &str) -> Option<(u64, String)> {
    let start = line.find("] \"")?;
    let rest = &line[start + 3..];
    let (_, after) = rest.split_once(" HTTP/")?;
    let (_, after) = after.split_once("\" ")?;
    let words: Vec<&str> = after.split_whitespace().collect();
    words.first()?.parse::<u16>().ok()?;
    let duration = words.get(7)?.parse::<u64>().ok()?;
    let upstream = after
        .rsplit_once("\" ")
        .and_then(|(_, tail)| tail.split_whitespace().next())
        .filter(|w| !w.contains(':') && *w != "-")?;
    Some((duration, upstream.to_string()))
}

/// Error lines kept per service's logs.
const ERROR_SAMPLES: usize = 60;

/// A fact-bearing log pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    Panic,
    NoReachableServers,
    AuthFailed,
    NotAuthorized,
    Tls,
    ConnRefused,
    Unimplemented,
    Timeout,
    HighCpu,
    GetAdsFailed,
    RedisConnect,
    PaymentFailed,
    ChargeFailed,
    Unavailable,
    Gc,
    Cache,
    OutOfMemory,
    KafkaLag,
    Flood,
    SlowImage,
}

/// Aggregates of the traces export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceStats {
    /// service -> (spans, error spans, mean duration us).
    pub per_service: BTreeMap<String, (u32, u32, f64)>,
    /// service -> distinct traces touching it.
    pub traces_of: BTreeMap<String, u32>,
    /// blamed service -> traces whose deepest error lands there.
    pub error_blame: BTreeMap<String, u32>,
    /// blamed service -> traces whose deepest slow span lands there.
    pub slow_blame: BTreeMap<String, u32>,
    /// blamed service -> traces with a span that stalls on its own for a second or more
    /// (its time minus its children's), far beyond what any healthy call spends.
    pub stall_blame: BTreeMap<String, u32>,
    /// (caller, callee) -> (calls, errors).
    pub edges: BTreeMap<(String, String), (u32, u32)>,
    pub total_traces: u32,
    pub total_spans: u32,
}

/// Aggregates of one metrics file, per owner (deployment).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricTrend {
    /// Rate of a cumulative counter (first half, second half), or gauge (first, last).
    pub first: f64,
    pub last: f64,
    pub max: f64,
}

/// Everything learned so far.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub pods: Vec<PodFact>,
    pub pods_seen: bool,
    pub deployments: BTreeMap<String, DeployFact>,
    pub services: BTreeMap<String, Vec<u16>>,
    /// service -> endpoint ports (empty = `<none>`).
    pub endpoints: BTreeMap<String, Vec<u16>>,
    pub events: Vec<EventFact>,
    /// owner -> described pod.
    pub described: BTreeMap<String, Described>,
    pub logs: BTreeMap<String, LogFacts>,
    /// (name, status, volume).
    pub pvcs: Vec<(String, String, String)>,
    /// (name, status, claim).
    pub pvs: Vec<(String, String, String)>,
    pub nodes: Vec<String>,
    pub traces_path: Option<String>,
    pub traces: Option<TraceStats>,
    pub metrics_files: Vec<String>,
    /// kpi file -> owner -> trend.
    pub metrics: BTreeMap<String, BTreeMap<String, MetricTrend>>,
    /// Write commands that ran and whether they succeeded.
    pub writes: Vec<(String, bool)>,
}

impl Findings {
    /// Names of everything the cluster runs (deployments, services, pod owners).
    pub fn known_names(&self) -> Vec<String> {
        let mut set: BTreeSet<String> = self.deployments.keys().cloned().collect();
        set.extend(self.services.keys().cloned());
        set.into_iter().collect()
    }

    /// Pods of one owner.
    pub fn pods_of<'a>(&'a self, owner: &'a str) -> impl Iterator<Item = &'a PodFact> + 'a {
        self.pods.iter().filter(move |p| p.owner == owner)
    }

    /// Ingests one tool output; returns the summary for the Observer's context.
    pub fn ingest(&mut self, call: &ToolCall, text: &str, is_error: bool) -> String {
        let cmd = call.str_arg("command").unwrap_or("");
        if is_error || text.trim_start().starts_with("[ERROR]") {
            if call.tool == "exec_shell" && !is_read_cmd(cmd) {
                self.writes.push((cmd.to_string(), false));
            }
            return format!("error: {}", first_line(text));
        }
        match call.tool.as_str() {
            "exec_shell" => self.ingest_shell(cmd, text),
            "get_logs" => {
                let svc = call.str_arg("service").unwrap_or("").to_string();
                let facts = scan_logs(text);
                let summary = summarize_logs(&svc, &facts);
                self.logs.insert(svc, facts);
                summary
            }
            "get_traces" => {
                let (folder, files) = parse::paths_in(text);
                self.traces_path = files.into_iter().next().or(folder);
                format!(
                    "traces exported: {}",
                    self.traces_path.as_deref().unwrap_or("?")
                )
            }
            "read_traces" => {
                let spans = parse::parse_traces(text);
                let stats = trace_stats(&spans, &self.known_names());
                let s = summarize_traces(&stats);
                self.traces = Some(stats);
                s
            }
            "get_metrics" => {
                let (folder, files) = parse::paths_in(text);
                self.metrics_files = files
                    .into_iter()
                    .map(|f| match &folder {
                        Some(d) if !f.starts_with('/') => format!("{d}/{f}"),
                        _ => f,
                    })
                    .collect();
                format!("metrics exported: {} files", self.metrics_files.len())
            }
            "read_metrics" => {
                let path = call.str_arg("file_path").unwrap_or("").to_string();
                let samples = parse::parse_metrics(text);
                let trends = metric_trends(&samples, &self.known_names());
                let s = summarize_metrics(&path, &trends);
                self.metrics.insert(path, trends);
                s
            }
            _ => first_line(text).to_string(),
        }
    }

    fn ingest_shell(&mut self, cmd: &str, text: &str) -> String {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let verb = words.get(1).copied().unwrap_or("");
        let kind = words.get(2).copied().unwrap_or("");
        if !is_read_cmd(cmd) {
            self.writes.push((cmd.to_string(), true));
            return format!("write ok: {}", first_line(text));
        }
        match (verb, kind) {
            ("get", "pods" | "pod" | "po") => self.ingest_pods(text),
            ("get", "deployments" | "deployment" | "deploy") => self.ingest_deployments(text),
            ("get", "svc" | "services" | "service") => {
                let t = parse::parse_table(text);
                for r in &t.rows {
                    let ports = parse::parse_svc_ports(t.cell(r, "PORT(S)"));
                    self.services.insert(t.cell(r, "NAME").to_string(), ports);
                }
                format!("{} services", t.rows.len())
            }
            ("get", "endpoints" | "ep") => {
                let t = parse::parse_table(text);
                for r in &t.rows {
                    let ports = parse::parse_endpoint_ports(t.cell(r, "ENDPOINTS"));
                    self.endpoints.insert(t.cell(r, "NAME").to_string(), ports);
                }
                let none: Vec<&str> = t
                    .rows
                    .iter()
                    .filter(|r| t.cell(r, "ENDPOINTS") == "<none>")
                    .map(|r| t.cell(r, "NAME"))
                    .collect();
                format!("{} endpoints; without endpoints: {:?}", t.rows.len(), none)
            }
            ("get", "events" | "event") | ("events", _) => self.ingest_events(text),
            ("logs", pod) => {
                let owner = parse::owner_of_pod(pod, &self.known_names());
                let facts = scan_logs(text);
                let summary = summarize_logs(&owner, &facts);
                self.logs
                    .entry(owner)
                    .and_modify(|known| known.merge(&facts))
                    .or_insert(facts);
                summary
            }
            ("get", "pvc") => {
                let t = parse::parse_table(text);
                self.pvcs = t
                    .rows
                    .iter()
                    .map(|r| {
                        (
                            t.cell(r, "NAME").to_string(),
                            t.cell(r, "STATUS").to_string(),
                            t.cell(r, "VOLUME").to_string(),
                        )
                    })
                    .collect();
                format!("pvcs: {:?}", self.pvcs)
            }
            ("get", "pv") => {
                let t = parse::parse_table(text);
                self.pvs = t
                    .rows
                    .iter()
                    .map(|r| {
                        (
                            t.cell(r, "NAME").to_string(),
                            t.cell(r, "STATUS").to_string(),
                            t.cell(r, "CLAIM").to_string(),
                        )
                    })
                    .collect();
                format!("pvs: {:?}", self.pvs)
            }
            ("get", "nodes" | "node") => {
                let t = parse::parse_table(text);
                self.nodes = t
                    .rows
                    .iter()
                    .map(|r| t.cell(r, "NAME").to_string())
                    .collect();
                format!("nodes: {:?}", self.nodes)
            }
            ("describe", _) => {
                let d = parse::parse_describe(text);
                let owner = parse::owner_of_pod(&d.name, &self.known_names());
                let mut s = format!("described {} on {}", d.name, d.node);
                for c in &d.containers {
                    s.push_str(&format!(
                        "\n  {}: image {} ports {:?} command {:?} args {:?} state {} {} last {} exit {:?}",
                        c.name,
                        c.image,
                        c.ports,
                        c.command,
                        c.args,
                        c.state,
                        c.state_reason,
                        c.last_reason,
                        c.last_exit_code
                    ));
                }
                if !d.node_selectors.is_empty() {
                    s.push_str(&format!("\n  node selectors {:?}", d.node_selectors));
                }
                for (_, reason, msg) in d.events.iter().filter(|e| e.0 == "Warning").take(3) {
                    s.push_str(&format!("\n  event {reason}: {}", clip(msg, 120)));
                }
                if !owner.is_empty() {
                    self.described.insert(owner, d);
                }
                s
            }
            _ => format!("{} lines", text.lines().count()),
        }
    }

    fn ingest_pods(&mut self, text: &str) -> String {
        let t = parse::parse_table(text);
        let known = self.known_names();
        let mut pods = Vec::new();
        for r in &t.rows {
            let name = t.cell(r, "NAME").to_string();
            let (ready, total) = parse::parse_ratio(t.cell(r, "READY")).unwrap_or((0, 0));
            let (restarts, ago) = parse::parse_restarts(t.cell(r, "RESTARTS"));
            pods.push(PodFact {
                owner: parse::owner_of_pod(&name, &known),
                name,
                ready,
                total,
                status: t.cell(r, "STATUS").to_string(),
                restarts,
                last_restart_ago: ago,
                age: parse::parse_age(t.cell(r, "AGE")),
                node: t.cell(r, "NODE").to_string(),
            });
        }
        self.pods = pods;
        self.pods_seen = true;
        let unhealthy: Vec<String> = self
            .pods
            .iter()
            .filter(|p| !p.healthy())
            .map(|p| {
                format!(
                    "{} {} {}/{} restarts {}",
                    p.name, p.status, p.ready, p.total, p.restarts
                )
            })
            .collect();
        let mut s = format!("{} pods, {} not healthy", self.pods.len(), unhealthy.len());
        for u in unhealthy.iter().take(8) {
            s.push_str("\n  ");
            s.push_str(u);
        }
        s
    }

    fn ingest_deployments(&mut self, text: &str) -> String {
        let t = parse::parse_table(text);
        for r in &t.rows {
            let (ready, desired) = parse::parse_ratio(t.cell(r, "READY")).unwrap_or((0, 0));
            let split = |s: &str| -> Vec<String> {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            self.deployments.insert(
                t.cell(r, "NAME").to_string(),
                DeployFact {
                    ready,
                    desired,
                    containers: split(t.cell(r, "CONTAINERS")),
                    images: split(t.cell(r, "IMAGES")),
                },
            );
        }
        // Re-own pods now that the deployment names are known.
        let known = self.known_names();
        for p in &mut self.pods {
            p.owner = parse::owner_of_pod(&p.name, &known);
        }
        let short: Vec<String> = self
            .deployments
            .iter()
            .filter(|(_, d)| d.ready < d.desired || d.desired == 0)
            .map(|(n, d)| format!("{n} {}/{}", d.ready, d.desired))
            .collect();
        format!(
            "{} deployments; not fully ready: {:?}",
            self.deployments.len(),
            short
        )
    }

    fn ingest_events(&mut self, text: &str) -> String {
        let t = parse::parse_table(text);
        self.events = t
            .rows
            .iter()
            .map(|r| EventFact {
                kind: t.cell(r, "TYPE").to_string(),
                reason: t.cell(r, "REASON").to_string(),
                object: t.cell(r, "OBJECT").to_string(),
                message: t.cell(r, "MESSAGE").to_string(),
            })
            .collect();
        let warnings: Vec<&EventFact> =
            self.events.iter().filter(|e| e.kind == "Warning").collect();
        let mut s = format!("{} events, {} warnings", self.events.len(), warnings.len());
        let mut seen = BTreeSet::new();
        for e in warnings {
            if seen.insert((e.reason.clone(), e.object.clone())) && seen.len() <= 8 {
                s.push_str(&format!(
                    "\n  {} {}: {}",
                    e.reason,
                    e.object,
                    clip(&e.message, 100)
                ));
            }
        }
        s
    }
}

/// Whether a shell command is a kubectl read (mirrors the runtime's classifier, roughly).
pub fn is_read_cmd(cmd: &str) -> bool {
    let w: Vec<&str> = cmd.split_whitespace().collect();
    w.first() == Some(&"kubectl")
        && matches!(
            w.get(1).copied(),
            Some("get" | "describe" | "logs" | "top" | "events" | "explain")
        )
        || (w.get(1) == Some(&"rollout") && w.get(2) == Some(&"status"))
}

fn first_line(text: &str) -> &str {
    clip(
        text.lines().find(|l| !l.trim().is_empty()).unwrap_or(""),
        200,
    )
}

fn clip(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Scans log text for fact-bearing lines.
pub fn scan_logs(text: &str) -> LogFacts {
    let mut f = LogFacts::default();
    let mut gc = 0u32;
    for line in text.lines() {
        f.lines += 1;
        let low = line.to_ascii_lowercase();
        let mut add = |s: Signal| {
            f.signals.insert(s);
        };
        if line.contains("panic:") || line.contains(" PNC ") || line.contains(" FTL ") {
            add(Signal::Panic);
        }
        if low.contains("no reachable servers") {
            add(Signal::NoReachableServers);
        }
        if line.contains("Authentication failed") || line.contains("UserNotFound") {
            add(Signal::AuthFailed);
        }
        if line.contains("not authorized on") {
            add(Signal::NotAuthorized);
            if let Some(db) = parse::word_after(line, "not authorized on") {
                f.unauthorized_db = Some(db.to_string());
            }
        }
        if low.contains("sslhandshakefailed")
            || low.contains("only allow ssl")
            || low.contains("ssl handshake")
            || low.contains("tls handshake")
            || low.contains("no suitable servers")
            || low.contains("requiretls")
        {
            add(Signal::Tls);
        }
        if low.contains("connection refused") || low.contains("failed to connect") {
            add(Signal::ConnRefused);
        }
        if line.contains("Unimplemented") || low.contains("unknown service") {
            add(Signal::Unimplemented);
        }
        if low.contains("deadline exceeded")
            || low.contains("deadlineexceeded")
            || low.contains("timed out")
        {
            add(Signal::Timeout);
        }
        if line.contains("High CPU-Load") || low.contains("problempattern") {
            add(Signal::HighCpu);
        }
        if line.contains("GetAds Failed") {
            add(Signal::GetAdsFailed);
        }
        if low.contains("able to connect to redis") || low.contains("can't access cart storage") {
            add(Signal::RedisConnect);
        }
        if line.contains("Payment request failed") || line.contains("Invalid token") {
            add(Signal::PaymentFailed);
        }
        if low.contains("failed to charge card") {
            add(Signal::ChargeFailed);
        }
        if line.contains("code = Unavailable") || line.contains("UNAVAILABLE") {
            add(Signal::Unavailable);
        }
        if low.contains("garbage collect")
            || low.contains("manual gc")
            || low.contains("system.gc")
            || low.contains("forced gc")
            || low.contains("full gc")
        {
            gc += 1;
        }
        if low.contains("cache")
            && (low.contains("miss") || low.contains("size") || low.contains("grow"))
        {
            add(Signal::Cache);
        }
        if low.contains("outofmemory") || low.contains("out of memory") || low.contains("oomkilled")
        {
            add(Signal::OutOfMemory);
        }
        if has_word(&low, "lag")
            && (low.contains("kafka")
                || low.contains("consumer")
                || low.contains("offset")
                || low.contains("partition"))
        {
            add(Signal::KafkaLag);
        }
        if low.contains("flood") {
            add(Signal::Flood);
        }
        if low.contains("image") && (low.contains("slow") || low.contains("delay")) {
            add(Signal::SlowImage);
        }
        if f.db_host.is_none()
            && let Some(url) = parse::word_after(line, "Read database URL:")
        {
            f.db_host = Some(url.split(':').next().unwrap_or(url).to_string());
        }
        if let Some(u) = parse::word_after(line, "Could not find user") {
            f.missing_user = Some(u.trim_matches(|c| c == '"' || c == '\\').to_string());
        } else if line.contains("Could not find user \\\"")
            && let Some(i) = line.find("Could not find user \\\"")
        {
            let rest = &line[i + "Could not find user \\\"".len()..];
            f.missing_user = rest.split('\\').next().map(str::to_string);
        }
        if f.binary.is_none()
            && let Some(i) = line.find("cmd/")
        {
            let rest = &line[i + 4..];
            if let Some((bin, _)) = rest.split_once('/')
                && !bin.is_empty()
                && bin
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                f.binary = Some(bin.to_string());
            }
        }
        if let Some((ms, upstream)) = envoy_access(line)
            && ms >= SLOW_REQUEST_MS
        {
            *f.slow_requests.entry(upstream).or_default() += 1;
        }
        if is_error_line(line) {
            f.error_lines += 1;
            if f.error_samples.len() < ERROR_SAMPLES {
                f.error_samples.push(clip(line, 400).to_string());
            }
        }
    }
    if gc >= 2 {
        f.signals.insert(Signal::Gc);
    }
    f
}

/// Whether `word` occurs in `text` as a whole word (not inside `trace_flags` or `flag`).
pub fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Whether a log line is logged at error level, in the usual shapes: zerolog console (` ERR `),
/// Boost.Log (`<error>`), JSON levels (zerolog, pino 50, logrus severity), log4j / Python
/// (` ERROR `), .NET console (`fail:`), Node / Next.js (`Error: ...` at the start of the line).
pub fn is_error_line(line: &str) -> bool {
    let t = line.trim_start();
    line.contains(" ERR ")
        || line.contains("<error>")
        || line.contains("\"level\":\"error\"")
        || line.contains("\"severity\":\"error\"")
        || line.contains(" ERROR ")
        || line.contains("\"level\":50")
        || t.starts_with("fail: ")
        || t.starts_with("Error: ")
        || t.starts_with("Error [")
}

fn summarize_logs(svc: &str, f: &LogFacts) -> String {
    let mut s = format!(
        "logs of {svc}: {} lines, {} error lines, signals {:?}",
        f.lines, f.error_lines, f.signals
    );
    if !f.slow_requests.is_empty() {
        s.push_str(&format!(
            "\n  requests of 1s or more by upstream: {:?}",
            f.slow_requests
        ));
    }
    if let Some(db) = &f.db_host {
        s.push_str(&format!("\n  database {db}"));
    }
    if let Some(db) = &f.unauthorized_db {
        s.push_str(&format!("\n  not authorized on {db}"));
    }
    if let Some(u) = &f.missing_user {
        s.push_str(&format!("\n  missing user {u}"));
    }
    if let Some(b) = &f.binary {
        s.push_str(&format!("\n  binary {b}"));
    }
    s
}
