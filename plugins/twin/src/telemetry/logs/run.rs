//! One container run and what the renderers share: entries, levels, event streams (requests,
//! failing calls, effects, noise) and the error texts of failing calls.

use crate::cluster::{
    CallProblem, Cluster, CrashCause, EdgeHealth, Health, Namespace, Pod, ProcessState,
    ServiceHealth,
};
use crate::suite::schema::{Effect, ServiceSpec};
use crate::telemetry::noise::{periodic_times, poisson_times, Key};
use crate::telemetry::{baseline_rates, fake_ip, root_key, service_ip, spec_of, Vitals};

/// One log entry (possibly several physical lines), with the text it de-duplicates on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub t: f64,
    pub text: String,
    /// The text without its timestamp.
    pub key: String,
}

/// Entries being collected; [`Out::finish`] orders them by time (stable).
#[derive(Debug, Default)]
pub(crate) struct Out {
    lines: Vec<Line>,
}

impl Out {
    /// An entry whose timestamp text is `ts` (stripped for de-duplication).
    pub(crate) fn push(&mut self, t: f64, ts: &str, text: String) {
        let key = if ts.is_empty() {
            text.clone()
        } else {
            text.replacen(ts, "", 1)
        };
        self.lines.push(Line { t, text, key });
    }
    pub(crate) fn finish(mut self) -> Vec<Line> {
        self.lines.sort_by(|a, b| a.t.total_cmp(&b.t));
        self.lines
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
    Panic,
}

impl Level {
    pub(crate) fn parse(s: Option<&str>, default: Level) -> Level {
        match s.map(|s| s.to_ascii_lowercase()) {
            Some(s) if s.starts_with("tr") => Level::Trace,
            Some(s) if s.starts_with("de") => Level::Debug,
            Some(s) if s.starts_with("in") => Level::Info,
            Some(s) if s.starts_with("w") => Level::Warn,
            Some(s) if s.starts_with("e") => Level::Error,
            Some(s) if s.starts_with("f") || s.starts_with("c") => Level::Fatal,
            Some(s) if s.starts_with("p") => Level::Panic,
            _ => default,
        }
    }
    pub(crate) fn lower(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
            Level::Panic => "panic",
        }
    }
    pub(crate) fn upper(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
            Level::Panic => "PANIC",
        }
    }
}

/// A failure of one call the run's program makes.
#[derive(Debug, Clone)]
pub(crate) struct CallFailure<'a> {
    pub t: f64,
    pub callee: &'a str,
    pub edge: &'a EdgeHealth,
    pub key: Key,
}

/// One run of one container.
pub(crate) struct Run<'a> {
    pub cluster: &'a Cluster,
    pub ns: &'a Namespace,
    pub health: Option<&'a Health>,
    /// The service the pod belongs to.
    pub spec: &'a ServiceSpec,
    /// The program the container runs (another service's for a wrong binary).
    pub prog: &'a ServiceSpec,
    pub sh: Option<&'a ServiceHealth>,
    pub pod: &'a Pod,
    pub start: f64,
    pub end: f64,
    /// (reason, exit code) when the run has ended.
    pub ended: Option<(String, i32)>,
    pub key: Key,
}

impl<'a> Run<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        cluster: &'a Cluster,
        ns: &'a Namespace,
        pod: &'a Pod,
        spec: &'a ServiceSpec,
        container: &'a str,
        start: f64,
        end: f64,
        ended: Option<(String, i32)>,
    ) -> Run<'a> {
        let health = cluster.health_of(&ns.name);
        let sh = health.and_then(|h| h.services.get(spec.name.get_ref()));
        let prog = match sh.map(|s| &s.process) {
            Some(ProcessState::WrongBinary { runs }) => spec_of(&ns.app, runs).unwrap_or(spec),
            _ => spec,
        };
        let key = root_key(cluster)
            .s(&ns.name)
            .s(&pod.name)
            .s(container)
            .t(start);
        Run {
            cluster,
            ns,
            health,
            spec,
            prog,
            sh,
            pod,
            start,
            end,
            ended,
            key,
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.spec.name.get_ref()
    }
    pub(crate) fn prog_name(&self) -> &str {
        self.prog.name.get_ref()
    }

    /// Why this run ended, when it ended in a crash.
    pub(crate) fn crash(&self) -> Option<CrashCause> {
        let (reason, _) = self.ended.as_ref()?;
        if reason == "OOMKilled" {
            return Some(CrashCause::OutOfMemory {
                limit: String::new(),
            });
        }
        if reason == "Completed" {
            return None;
        }
        match self.sh.map(|s| &s.process) {
            Some(ProcessState::Crashing { cause, .. }) => Some(cause.clone()),
            _ => None,
        }
    }

    /// Containers whose command names nothing runnable never print.
    pub(crate) fn never_started(&self) -> bool {
        matches!(self.crash(), Some(CrashCause::ExecNotFound { .. }))
            || self
                .ended
                .as_ref()
                .is_some_and(|(r, _)| r == "StartError" || r == "ContainerCannotRun")
    }

    pub(crate) fn vitals(&self) -> Vitals {
        match self.sh {
            Some(h) => Vitals::of(h),
            None => {
                let rate = baseline_rates(&self.ns.app)
                    .get(self.name())
                    .copied()
                    .unwrap_or(0.0);
                Vitals::baseline(self.spec, rate)
            }
        }
    }

    /// When the program is past its start-up.
    pub(crate) fn steady_from(&self) -> f64 {
        (self.start + 2.0).min(self.end)
    }

    /// When the service's current condition began, within this run.
    pub(crate) fn fault_from(&self) -> f64 {
        let since = self.sh.map(|s| s.changed_at).unwrap_or(self.start);
        since.max(self.steady_from()).min(self.end)
    }

    pub(crate) fn effects(&self) -> &'a [Effect] {
        self.sh.map(|s| s.active_effects.as_slice()).unwrap_or(&[])
    }

    pub(crate) fn ip(&self) -> String {
        self.pod
            .ip
            .clone()
            .unwrap_or_else(|| fake_ip(self.cluster, &self.ns.name, &self.pod.name))
    }
    pub(crate) fn ip_of(&self, service: &str) -> String {
        service_ip(self.cluster, self.ns, service)
    }
    pub(crate) fn spec_of(&self, service: &str) -> Option<&'a ServiceSpec> {
        spec_of(&self.ns.app, service)
    }
    pub(crate) fn port_of(&self, service: &str) -> u16 {
        self.spec_of(service).map(|s| s.port).unwrap_or(80)
    }
    pub(crate) fn health_of(&self, service: &str) -> Option<&'a ServiceHealth> {
        self.health.and_then(|h| h.services.get(service))
    }

    /// Edges of this service that fail or slow down.
    pub(crate) fn bad_edges(&self) -> Vec<&'a EdgeHealth> {
        self.sh
            .map(|s| {
                s.edges
                    .iter()
                    .filter(|e| e.error_rate > 0.0 || e.problem.is_some())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Failures of calls this run made since the condition began, newest `cap`, merged.
    pub(crate) fn call_failures(&self, cap: usize) -> Vec<CallFailure<'a>> {
        let rate = self.vitals().request_rate.max(0.2);
        let mut all = Vec::new();
        for e in self.bad_edges() {
            let share = if e.problem.is_some() {
                e.error_rate.max(0.0)
            } else {
                e.error_rate
            };
            let k = self.key.s("edge").s(&e.callee);
            for (i, t) in poisson_times(k, rate * share, self.fault_from(), self.end, cap)
                .into_iter()
                .enumerate()
            {
                all.push(CallFailure {
                    t,
                    callee: e.callee.as_str(),
                    edge: e,
                    key: k.n(i as u64).t(t),
                });
            }
        }
        all.sort_by(|a, b| a.t.total_cmp(&b.t));
        let skip = all.len().saturating_sub(cap);
        all.split_off(skip)
    }

    /// Sampled request times: one logged request per `every` seconds at most.
    pub(crate) fn requests(&self, tag: &str, every: f64, cap: usize) -> Vec<(f64, Key)> {
        let rate = self.vitals().request_rate.min(1.0 / every.max(0.01));
        let k = self.key.s(tag);
        poisson_times(k, rate, self.steady_from(), self.end, cap)
            .into_iter()
            .map(|t| (t, k.t(t)))
            .collect()
    }

    /// Rare benign events: on average one per `mean_s` seconds.
    pub(crate) fn noise(&self, tag: &str, mean_s: f64, cap: usize) -> Vec<(f64, Key)> {
        let k = self.key.s("noise").s(tag);
        poisson_times(k, 1.0 / mean_s, self.steady_from(), self.end, cap)
            .into_iter()
            .map(|t| (t, k.t(t)))
            .collect()
    }

    /// Every `period` seconds since `from`, newest `cap`.
    pub(crate) fn every(&self, tag: &str, period: f64, from: f64, cap: usize) -> Vec<(f64, Key)> {
        let k = self.key.s(tag);
        periodic_times(k, period, from.max(self.start), self.end, cap)
            .into_iter()
            .map(|t| (t, k.t(t)))
            .collect()
    }

    /// The effects' log lines: (time, level, text) at their cadence since the condition began.
    pub(crate) fn effect_lines(&self, default: Level, cap: usize) -> Vec<(f64, Level, String)> {
        let mut out = Vec::new();
        for (i, e) in self.effects().iter().enumerate() {
            if let Effect::LogLines {
                lines,
                every_s,
                level,
            } = e
            {
                if lines.is_empty() {
                    continue;
                }
                let level = Level::parse(level.as_deref(), default);
                let ticks = self.every(
                    &format!("fx{i}"),
                    (*every_s).max(1) as f64,
                    self.fault_from(),
                    cap,
                );
                for (n, (t, k)) in ticks.into_iter().enumerate() {
                    let tpl = &lines[n % lines.len()];
                    out.push((t, level, fill(tpl, k)));
                }
            }
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }

    /// A gRPC status (code, description) for a failed call.
    pub(crate) fn grpc_status(&self, f: &CallFailure) -> (&'static str, String) {
        let callee = f.callee;
        let port = self.port_of(callee);
        let ip = self.ip_of(callee);
        let bad_host = self.effects().iter().find_map(|e| match e {
            Effect::DependencyUnreachable { service } if service == callee => {
                Some(service.as_str())
            }
            _ => None,
        });
        if let Some(host) = bad_host {
            return (
                "Unavailable",
                format!(
                    "connection error: desc = \"transport: Error while dialing: dial tcp: lookup {host}-bad on 10.96.0.10:53: no such host\""
                ),
            );
        }
        match &f.edge.problem {
            Some(CallProblem::NoEndpoints) | Some(CallProblem::ConnectionRefused { .. }) => (
                "Unavailable",
                format!(
                    "connection error: desc = \"transport: Error while dialing: dial tcp {ip}:{port}: connect: connection refused\""
                ),
            ),
            Some(CallProblem::DnsFailure { host }) => (
                "Unavailable",
                format!(
                    "connection error: desc = \"transport: Error while dialing: dial tcp: lookup {host} on 10.96.0.10:53: no such host\""
                ),
            ),
            Some(CallProblem::Unimplemented { expected }) => {
                ("Unimplemented", format!("unknown service {}", grpc_service_name(expected)))
            }
            Some(CallProblem::PacketLoss { .. }) => {
                if f.key.chance(0.5) {
                    ("DeadlineExceeded", "context deadline exceeded".to_string())
                } else {
                    (
                        "Unavailable",
                        "error reading from server: read tcp: i/o timeout".to_string(),
                    )
                }
            }
            Some(CallProblem::Timeout { .. }) => {
                ("DeadlineExceeded", "context deadline exceeded".to_string())
            }
            Some(CallProblem::AuthFailed { .. }) => (
                "Unknown",
                "server returned error on SASL authentication step: Authentication failed.".to_string(),
            ),
            Some(CallProblem::NotAuthorized { db, .. }) => (
                "Unknown",
                format!("not authorized on {db} to execute command {{ find: \"{}\" }}", callee.trim_start_matches("mongodb-")),
            ),
            Some(CallProblem::TlsRequired) => ("Unavailable", "no reachable servers".to_string()),
            Some(CallProblem::UpstreamError { message }) => split_status(message),
            None => match self.health_of(callee).and_then(|h| {
                h.active_effects.iter().find_map(|e| match e {
                    Effect::RequestErrors { error, .. } => Some(error.as_str()),
                    _ => None,
                })
            }) {
                Some(err) => split_status(err),
                None => ("Unavailable", "upstream connect error or disconnect/reset before headers".to_string()),
            },
        }
    }

    /// `rpc error: code = X desc = Y` for a failed call.
    pub(crate) fn grpc_error(&self, f: &CallFailure) -> String {
        let (code, desc) = self.grpc_status(f);
        format!("rpc error: code = {code} desc = {desc}")
    }
}

/// Splits a configured error into a gRPC code and description; an error that already names a
/// code keeps it, others are `Unknown`.
pub(crate) fn split_status(message: &str) -> (&'static str, String) {
    const CODES: [(&str, &str); 9] = [
        ("UNAVAILABLE", "Unavailable"),
        ("Unavailable", "Unavailable"),
        ("INTERNAL", "Internal"),
        ("Internal", "Internal"),
        ("FAILED_PRECONDITION", "FailedPrecondition"),
        ("FailedPrecondition", "FailedPrecondition"),
        ("NOT_FOUND", "NotFound"),
        ("DEADLINE_EXCEEDED", "DeadlineExceeded"),
        ("RESOURCE_EXHAUSTED", "ResourceExhausted"),
    ];
    if let Some(rest) = message.strip_prefix("rpc error: code = ")
        && let Some((code, desc)) = rest.split_once(" desc = ") {
            let c = CODES
                .iter()
                .find(|(k, _)| *k == code)
                .map(|(_, v)| *v)
                .unwrap_or("Unknown");
            return (c, desc.to_string());
        }
    for (needle, code) in CODES {
        if let Some(rest) = message.strip_prefix(needle) {
            let desc = rest.trim_start_matches([':', ' ']);
            return (
                code,
                if desc.is_empty() {
                    message.to_string()
                } else {
                    desc.to_string()
                },
            );
        }
    }
    ("Unknown", message.to_string())
}

/// `profile` -> `profile.Profile`; names with a dot are kept.
pub(crate) fn grpc_service_name(expected: &str) -> String {
    if expected.contains('.') {
        return expected.to_string();
    }
    let mut chars = expected.chars();
    let cap: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("{expected}.{}", cap.replace('-', ""))
}

/// Fills a log template's placeholders with stable made-up values.
pub(crate) fn fill(template: &str, k: Key) -> String {
    if !template.contains('{') {
        return template.to_string();
    }
    const PRODUCTS: [&str; 6] = [
        "OLJCESPC7Z",
        "66VCHSJNUP",
        "1YMWWN1N4O",
        "L9ECAV7KIM",
        "2ZYFJ3GM2N",
        "0PUK6V6EV0",
    ];
    let product = PRODUCTS[k.n(3).below(PRODUCTS.len())];
    template
        .replace("{trace_id}", &k.n(1).hex(32))
        .replace("{span_id}", &k.n(2).hex(16))
        .replace("{product_id}", product)
        .replace("{user_id}", &k.n(4).uuid())
        .replace("{order_id}", &k.n(5).uuid())
        .replace("{transaction_id}", &k.n(6).uuid())
        .replace("{amount}", &format!("{:.2}", k.n(7).range(5.0, 900.0)))
        .replace("{n}", &(1 + k.n(8).below(500)).to_string())
        .replace("{ms}", &(5 + k.n(9).below(2000)).to_string())
}

/// A small stable thread / connection number.
pub(crate) fn small(k: Key, lo: usize, hi: usize) -> usize {
    lo + k.below(hi.saturating_sub(lo).max(1))
}
