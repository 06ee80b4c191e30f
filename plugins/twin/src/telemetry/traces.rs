//! get_traces: Jaeger-like traces walked down the call graph from the app's entry, exported as
//! one CSV with `trace_id,span_id,parent_span,service_name,operation_name,start_time,duration,
//! has_error,response` (times in microseconds). An error on a call marks the client span and
//! every ancestor; a service that is not running has no spans of its own.

use crate::cluster::{
    CallProblem, Cluster, EdgeHealth, Health, Namespace, ProcessState, ServiceHealth,
};
use crate::suite::schema::{Effect, Runtime, ServiceSpec};
use crate::telemetry::files::{csv_field, Export};
use crate::telemetry::noise::Key;
use crate::telemetry::{root_key, spec_of};

pub use crate::telemetry::files::TracesExport;

/// CSV header, exactly as AIOpsLab writes it.
pub const HEADER: &str = "trace_id,span_id,parent_span,service_name,operation_name,start_time,duration,has_error,response";

/// At most this many rows an export holds.
pub const MAX_ROWS: usize = 2000;

/// Traces generated per export, spread over the window, newest last.
const CANDIDATES: usize = 160;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Span {
    pub span_id: String,
    pub parent: Option<usize>,
    pub service: String,
    pub operation: String,
    /// Microseconds since the epoch.
    pub start_us: i64,
    pub duration_us: i64,
    pub error: bool,
    /// `http.status_code` for HTTP servers.
    pub status: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trace {
    pub trace_id: String,
    pub spans: Vec<Span>,
}

impl Trace {
    fn touches(&self, service: &str) -> bool {
        self.spans.iter().any(|s| s.service == service)
    }
}

/// Exports the namespace's traces over the last `duration_min` minutes.
pub fn export_traces(
    cluster: &Cluster,
    ns: &str,
    duration_min: u64,
) -> Result<TracesExport, String> {
    let namespace = cluster
        .namespace(ns)
        .ok_or_else(|| format!("Error: namespace '{ns}' does not exist. Use kubectl to check."))?;
    let traces = generate(cluster, namespace, duration_min);
    let csv = render_csv(namespace, &traces);
    let dir = format!("traces_output/{ns}_{}", cluster.now.floor() as i64);
    Ok(Export {
        files: vec![(format!("{dir}/traces.csv"), csv)],
        dir,
    })
}

/// Per service (in name order), its newest traces, a trace repeated once per service it
/// touches; round-robin until [`MAX_ROWS`].
fn render_csv(ns: &Namespace, traces: &[Trace]) -> String {
    let services: Vec<&str> = ns
        .app
        .services
        .iter()
        .map(|s| s.name.get_ref().as_str())
        .collect();
    let mut per_service: Vec<(&str, Vec<&Trace>)> = services
        .iter()
        .map(|s| {
            (
                *s,
                traces
                    .iter()
                    .rev()
                    .filter(|t| t.touches(s))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let mut chosen: Vec<Vec<&Trace>> = vec![Vec::new(); per_service.len()];
    let mut rows = 0usize;
    let mut round = 0usize;
    'outer: loop {
        let mut added = false;
        for (i, (_, list)) in per_service.iter_mut().enumerate() {
            if let Some(t) = list.get(round) {
                if rows + t.spans.len() > MAX_ROWS {
                    break 'outer;
                }
                rows += t.spans.len();
                chosen[i].push(t);
                added = true;
            }
        }
        if !added {
            break;
        }
        round += 1;
    }
    let mut csv = format!("{HEADER}\n");
    for list in chosen {
        for t in list {
            for s in &t.spans {
                let parent = s
                    .parent
                    .and_then(|p| t.spans.get(p))
                    .map(|p| p.span_id.clone())
                    .unwrap_or_else(|| "ROOT".to_string());
                let response = s
                    .status
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "Unknown".to_string());
                csv.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{}\n",
                    t.trace_id,
                    s.span_id,
                    parent,
                    csv_field(&s.service),
                    csv_field(&s.operation),
                    s.start_us,
                    s.duration_us,
                    if s.error { "True" } else { "False" },
                    response
                ));
            }
        }
    }
    csv
}

struct Walk<'a> {
    ns: &'a Namespace,
    health: Option<&'a Health>,
    t: f64,
    key: Key,
    spans: Vec<Span>,
}

/// Generates the window's candidate traces, oldest first.
pub(crate) fn generate(cluster: &Cluster, ns: &Namespace, duration_min: u64) -> Vec<Trace> {
    let window = (duration_min.max(1) * 60) as f64;
    let spacing = window / CANDIDATES as f64;
    let key = root_key(cluster).s(&ns.name).s("traces");
    let entry = ns.app.entry.get_ref().clone();
    let mut out = Vec::new();
    for i in 0..CANDIDATES {
        let slot = ((cluster.now - window) / spacing).floor() + i as f64 + 1.0;
        let k = key.n(slot as i64 as u64);
        let t = slot * spacing - k.range(0.0, spacing * 0.9);
        if t > cluster.now {
            continue;
        }
        let mut w = Walk {
            ns,
            health: cluster.health_of(&ns.name),
            t,
            key: k,
            spans: Vec::new(),
        };
        let Some(spec) = spec_of(&ns.app, &entry) else {
            break;
        };
        if !w.running(&entry) {
            continue;
        }
        let op = pick_op(spec, k.s("op"));
        w.server(spec, &op, None, (t * 1e6) as i64, 0);
        if w.spans.is_empty() {
            continue;
        }
        // Benign noise: now and then a latency spike.
        if k.s("spike").chance(0.02) {
            let f = k.s("spike-f").range(4.0, 15.0);
            for s in &mut w.spans {
                s.duration_us = (s.duration_us as f64 * f) as i64;
            }
        }
        out.push(Trace {
            trace_id: k.s("tid").hex(32),
            spans: w.spans,
        });
    }
    out
}

fn pick_op(spec: &ServiceSpec, k: Key) -> String {
    match k.pick(&spec.operations) {
        Some(op) => op.clone(),
        None => match spec.runtime {
            Runtime::Mongodb => format!(
                "mongo_{}",
                spec.name.get_ref().trim_start_matches("mongodb-")
            ),
            Runtime::Memcached => format!(
                "memcached_get_{}",
                spec.name.get_ref().trim_start_matches("memcached-")
            ),
            Runtime::Redis | Runtime::Valkey => "RedisGet".to_string(),
            _ => format!("HTTP GET /{}", spec.name.get_ref()),
        },
    }
}

fn is_http(rt: Runtime) -> bool {
    matches!(
        rt,
        Runtime::GoZerologHttp | Runtime::Nginx | Runtime::Nextjs | Runtime::Envoy
    )
}

/// Services that answer spans of their own (datastores and infrastructure do not).
fn traced(rt: Runtime) -> bool {
    !(rt.is_datastore()
        || matches!(
            rt,
            Runtime::Jaeger | Runtime::Consul | Runtime::Flagd | Runtime::Locust
        ))
}

impl<'a> Walk<'a> {
    fn sh(&self, name: &str) -> Option<&'a ServiceHealth> {
        self.health.and_then(|h| h.services.get(name))
    }

    fn running(&self, name: &str) -> bool {
        match self.sh(name).map(|s| &s.process) {
            Some(ProcessState::NotRunning { .. }) | Some(ProcessState::Crashing { .. }) => {
                self.sh(name).is_some_and(|s| self.t < s.changed_at)
            }
            _ => true,
        }
    }

    fn active(&self, name: &str) -> bool {
        self.sh(name).is_some_and(|s| self.t >= s.changed_at)
    }

    fn span_id(&self, n: usize) -> String {
        self.key.s("sid").n(n as u64).hex(16)
    }

    /// A server span of `spec` answering `op`, with its calls below; returns (duration, error).
    fn server(
        &mut self,
        spec: &ServiceSpec,
        op: &str,
        parent: Option<usize>,
        start: i64,
        depth: usize,
    ) -> (i64, bool) {
        let name = spec.name.get_ref().clone();
        let idx = self.spans.len();
        let k = self.key.s("srv").n(idx as u64);
        self.spans.push(Span {
            span_id: self.span_id(idx),
            parent,
            service: name.clone(),
            operation: op.to_string(),
            start_us: start,
            duration_us: 0,
            error: false,
            status: None,
        });
        let mut self_ms = spec.latency_ms.max(0.05) * (0.35 * k.s("lat").gauss()).exp() * 0.6;
        let mut error = false;
        if self.active(&name) {
            for e in self
                .sh(&name)
                .map(|s| s.active_effects.as_slice())
                .unwrap_or(&[])
            {
                match e {
                    Effect::RequestErrors {
                        rate, operation, ..
                    } if operation.as_deref().is_none_or(|o| o == op)
                        && k.s("err").chance(*rate) =>
                    {
                        error = true
                    }
                    Effect::RequestLatency {
                        rate,
                        delay_ms,
                        operation,
                    } if operation.as_deref().is_none_or(|o| o == op)
                        && k.s("slow").chance(*rate) =>
                    {
                        self_ms += delay_ms
                    }
                    Effect::GcPauses { pause_ms } if k.s("gc").chance(0.1) => self_ms += pause_ms,
                    Effect::CpuHog { .. } => self_ms *= 3.0,
                    _ => {}
                }
            }
        }
        // A rare benign failure in a healthy service.
        if k.s("benign").chance(0.002) {
            error = true;
        }
        let mut cursor = start + (self_ms * 0.3 * 1000.0) as i64;
        if depth < 6 && self.spans.len() < 25 {
            let fan_out = op.contains("compose");
            let calls: Vec<String> = spec.calls.iter().map(|c| c.get_ref().clone()).collect();
            let mut picked: Vec<&String> = calls
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    let ck = k.s("call").n(*i as u64);
                    let store = spec_of(&self.ns.app, c).is_some_and(|s| s.runtime.is_datastore());
                    let infra = spec_of(&self.ns.app, c)
                        .is_some_and(|s| !traced(s.runtime) && !s.runtime.is_datastore());
                    !infra && (fan_out || ck.chance(if store { 0.8 } else { 0.55 }))
                })
                .map(|(_, c)| c)
                .collect();
            if picked.is_empty()
                && let Some(c) = calls.iter().find(|c| {
                    spec_of(&self.ns.app, c)
                        .is_some_and(|s| traced(s.runtime) || s.runtime.is_datastore())
                }) {
                    picked.push(c);
                }
            for callee in picked {
                let (d, e) = self.client(&name, idx, callee, cursor, depth);
                cursor += d + (k.s("gap").unit() * 60.0) as i64;
                error |= e;
            }
        }
        let end = cursor + (self_ms * 0.7 * 1000.0) as i64;
        let duration = (end - start).max(1);
        let span = &mut self.spans[idx];
        span.duration_us = duration;
        span.error = error;
        if is_http(spec.runtime) {
            span.status = Some(if error { 500 } else { 200 });
        }
        (duration, error)
    }

    /// The caller's client span for one call, and the callee's server span under it.
    fn client(
        &mut self,
        caller: &str,
        parent: usize,
        callee: &str,
        start: i64,
        depth: usize,
    ) -> (i64, bool) {
        let Some(spec) = spec_of(&self.ns.app, callee) else {
            return (0, false);
        };
        let idx = self.spans.len();
        let k = self.key.s("cli").n(idx as u64);
        let op = pick_op(spec, k.s("op"));
        self.spans.push(Span {
            span_id: self.span_id(idx),
            parent: Some(parent),
            service: caller.to_string(),
            operation: op.clone(),
            start_us: start,
            duration_us: 0,
            error: false,
            status: None,
        });
        let edge: Option<EdgeHealth> = if self.active(caller) {
            self.sh(caller)
                .and_then(|s| s.edges.iter().find(|e| e.callee == callee).cloned())
        } else {
            None
        };
        let net_us = 80 + (k.s("net").unit() * 400.0) as i64;
        let mut error = false;
        let mut extra_us = 0i64;
        let callee_up = self.running(callee);
        // A callee that answers errors itself (or passes its callees' errors up) shows them in
        // its own server span, walked below; only the network and the connection fail the
        // client span on their own.
        let upstream_only = callee_up
            && traced(spec.runtime)
            && matches!(
                edge.as_ref().and_then(|e| e.problem.as_ref()),
                Some(CallProblem::UpstreamError { .. })
            );
        if let Some(e) = &edge {
            extra_us += (e.added_latency_ms * 1000.0) as i64;
            if !upstream_only && k.s("edge-err").chance(e.error_rate) {
                error = true;
            }
        }
        let hard_fail = error
            && matches!(
                edge.as_ref().and_then(|e| e.problem.as_ref()),
                Some(CallProblem::NoEndpoints)
                    | Some(CallProblem::ConnectionRefused { .. })
                    | Some(CallProblem::DnsFailure { .. })
                    | Some(CallProblem::PacketLoss { .. })
                    | Some(CallProblem::Timeout { .. })
                    | Some(CallProblem::Unimplemented { .. })
                    | Some(CallProblem::TlsRequired)
            );
        let mut inner = 0i64;
        if !callee_up {
            error = true;
            inner = 1000 + (k.s("dial").unit() * 2000.0) as i64;
        } else if traced(spec.runtime) && !hard_fail {
            let (d, e) = self.server(
                spec,
                &op,
                Some(idx),
                start + net_us / 2 + extra_us / 2,
                depth + 1,
            );
            inner = d;
            error |= e;
        } else if spec.runtime.is_datastore() {
            inner = (spec.latency_ms.max(0.1) * 1000.0 * (0.3 * k.s("db").gauss()).exp()) as i64;
        }
        let duration = (inner + net_us + extra_us).max(1);
        let span = &mut self.spans[idx];
        span.duration_us = duration;
        span.error = error;
        (duration, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::testkit::{geo_crashing, healthy, NS};

    fn rows(csv: &str) -> Vec<Vec<String>> {
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn header_determinism_and_bounds() {
        let c = healthy(4);
        let e = export_traces(&c, NS, 5).unwrap_or_else(|e| panic!("{e}"));
        let csv = e.file("traces.csv").unwrap_or_default();
        assert_eq!(csv.lines().next(), Some(HEADER));
        let r = rows(csv);
        assert!(!r.is_empty() && r.len() <= MAX_ROWS);
        assert!(r.iter().any(|x| x[2] == "ROOT" && x[3] == "frontend"));
        let errors = r.iter().filter(|x| x[7] == "True").count();
        assert!(
            errors * 50 <= r.len(),
            "healthy: {errors} errors in {}",
            r.len()
        );
        assert_eq!(export_traces(&c, NS, 5), export_traces(&healthy(4), NS, 5));
        assert_ne!(export_traces(&c, NS, 5), export_traces(&healthy(5), NS, 5));
        assert!(crate::telemetry::render_csv_table(csv).contains("trace_id"));
    }

    #[test]
    fn errors_propagate_to_the_root_and_dead_services_have_no_spans() {
        let c = geo_crashing(4, crate::cluster::CallProblem::NoEndpoints, 2);
        let traces = generate(&c, c.namespace(NS).unwrap_or_else(|| panic!()), 5);
        let mut seen = false;
        for t in &traces {
            assert!(
                t.spans.iter().all(|s| s.service != "geo"),
                "geo is not running"
            );
            for (i, s) in t.spans.iter().enumerate() {
                if s.error {
                    let mut p = s.parent;
                    while let Some(pi) = p {
                        assert!(t.spans[pi].error, "parent of an erroring span errors");
                        assert!(t.spans[pi].duration_us >= 1);
                        p = t.spans[pi].parent;
                    }
                    if s.service == "search" && s.operation == "/geo.Geo/Nearby" {
                        seen = true;
                        assert!(t.spans[0].error && t.spans[0].status == Some(500));
                    }
                    let _ = i;
                }
            }
        }
        assert!(seen, "search's client span to geo errors");
    }
}
