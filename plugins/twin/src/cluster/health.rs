//! From pods and conditions to what each service is doing: reachability of every call edge,
//! crash causes of processes whose hard dependencies fail, error rates and latency propagated
//! up the call graph.

use super::reconcile::{parse_mib, parse_millis, Blocker};
use super::*;
use crate::suite::schema::{AppSpec, Effect, ImageDefect, ServiceSpec};
use std::collections::BTreeSet;

/// A caller's deadline: calls slower than this fail with a timeout.
const CALL_DEADLINE_MS: f64 = 5_000.0;

/// Services in an order where callees come before their callers (cycles broken arbitrarily).
fn callee_first_order(app: &AppSpec) -> Vec<&ServiceSpec> {
    fn visit<'a>(
        app: &'a AppSpec,
        name: &str,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<&'a ServiceSpec>,
    ) {
        if !seen.insert(name.to_string()) {
            return;
        }
        let Some(spec) = app.services.iter().find(|s| s.name.get_ref() == name) else { return };
        for c in &spec.calls {
            visit(app, c.get_ref(), seen, out);
        }
        out.push(spec);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for s in &app.services {
        visit(app, s.name.get_ref(), &mut seen, &mut out);
    }
    out
}

/// The share of a caller's requests that involve a given callee.
fn edge_share(app: &AppSpec, caller: &ServiceSpec, callee: &str) -> f64 {
    let is_store = |n: &str| {
        app.services
            .iter()
            .find(|s| s.name.get_ref() == n)
            .is_some_and(|s| s.runtime.is_datastore())
    };
    if is_store(callee) {
        return 1.0;
    }
    let business = caller.calls.iter().filter(|c| !is_store(c.get_ref())).count();
    if business >= 4 { 1.0 / business as f64 } else { 1.0 }
}

fn conditions_on<'a>(ns: &'a Namespace, service: &'a str) -> impl Iterator<Item = &'a Condition> + 'a {
    ns.conditions.iter().filter(move |c| c.service == service)
}

impl Cluster {
    /// Works out the health of every service in a namespace from its current objects.
    pub(crate) fn assess(&self, ns_name: &str) -> Health {
        let Some(ns) = self.namespaces.get(ns_name) else {
            return Health::default();
        };
        let app = ns.app.clone();
        let previous = self.health.get(ns_name);
        let mut health = Health::default();
        for spec in callee_first_order(&app) {
            let name = spec.name.get_ref().clone();
            let sh = self.assess_service(ns, &app, spec, &health, previous.and_then(|p| p.services.get(&name)));
            health.services.insert(name, sh);
        }
        // Request rates flow from the entry down the graph (callers before callees).
        let mut order = callee_first_order(&app);
        order.reverse();
        let mut rates: BTreeMap<String, f64> = BTreeMap::new();
        let entry = app.entry.get_ref().clone();
        let surge = |svc: &str| -> f64 {
            conditions_on(ns, svc)
                .filter_map(|c| match &c.effect {
                    Effect::LoadSurge { factor } => Some(*factor),
                    _ => None,
                })
                .product::<f64>()
        };
        rates.insert(entry.clone(), app.load_rps * surge(&entry));
        for spec in &order {
            let name = spec.name.get_ref();
            let rate = rates.get(name).copied().unwrap_or(0.0);
            let up = health.services.get(name).is_some_and(|h| h.ready_replicas > 0);
            if !up {
                continue;
            }
            for c in &spec.calls {
                let share = edge_share(&app, spec, c.get_ref());
                let callee_surge = if c.get_ref() == &entry { 1.0 } else { surge(c.get_ref()) };
                *rates.entry(c.get_ref().clone()).or_insert(0.0) += rate * share * callee_surge;
            }
        }
        for (name, h) in health.services.iter_mut() {
            let rate = rates.get(name).copied().unwrap_or(0.0);
            h.request_rate = if h.ready_replicas > 0 { rate } else { 0.0 };
            if let Some(spec) = app.services.iter().find(|s| s.name.get_ref() == name) {
                let base = app.load_rps.max(0.1);
                let load_factor = (rate / base).clamp(0.0, 50.0);
                h.cpu_millis += spec.cpu_millis * 0.5 * load_factor.min(20.0);
            }
        }
        health
    }

    fn assess_service(
        &self,
        ns: &Namespace,
        app: &AppSpec,
        spec: &ServiceSpec,
        done: &Health,
        previous: Option<&ServiceHealth>,
    ) -> ServiceHealth {
        let name = spec.name.get_ref().as_str();
        let deployment = ns.deployments.get(name);
        let desired = deployment.map(|d| d.replicas).unwrap_or(0);
        let container = deployment.and_then(|d| d.template.containers.first());
        let pods: Vec<&Pod> = ns.pods.values().filter(|p| p.deployment == name && !p.deleting).collect();

        // Edges first: they decide whether a fail-fast process can start.
        let mut edges = Vec::new();
        for callee in &spec.calls {
            edges.push(self.edge(ns, spec, container, callee.get_ref(), done));
        }
        let defect = container.and_then(|c| self.images.get(&c.image).copied().flatten());
        let mut crash: Option<CrashCause> = None;
        if let Some(defect) = defect {
            crash = Some(match defect {
                ImageDefect::DbUnreachable => {
                    let db = spec
                        .hard_dependencies
                        .first()
                        .map(|d| d.get_ref().clone())
                        .unwrap_or_else(|| "mongodb".to_string());
                    CrashCause::Dependency {
                        callee: db.clone(),
                        problem: CallProblem::DnsFailure {
                            host: format!("{db}:27017"),
                        },
                    }
                }
                ImageDefect::Panic => CrashCause::Panic {
                    message: "runtime error: invalid memory address or nil pointer dereference".to_string(),
                },
            });
        }
        let mut wrong_binary = None;
        if let Some(c) = container
            && let Some(bin) = c.command.first()
            && spec.command.first() != Some(bin)
            && let Some(other) = app
                .services
                .iter()
                .find(|s| s.image == c.image && s.command.first() == Some(bin))
        {
            wrong_binary = Some(other.name.get_ref().clone());
        }
        if crash.is_none() && wrong_binary.is_none() {
            for hard in &spec.hard_dependencies {
                if let Some(e) = edges.iter().find(|e| &e.callee == hard.get_ref())
                    && let Some(p) = &e.problem
                    && e.error_rate >= 0.5
                    && !matches!(p, CallProblem::UpstreamError { .. })
                {
                    crash = Some(CrashCause::Dependency {
                        callee: e.callee.clone(),
                        problem: p.clone(),
                    });
                    break;
                }
            }
        }

        let mut ready = 0u32;
        let mut block_reason: Option<String> = None;
        for pod in &pods {
            match self.blocker(ns, pod) {
                None | Some(Blocker::Oom { .. }) if crash.is_none() => {
                    if pod_settled(pod, self.now) {
                        ready += 1;
                    } else {
                        block_reason.get_or_insert_with(|| "ContainerCreating".to_string());
                    }
                }
                None | Some(Blocker::Oom { .. }) => {}
                Some(b) => {
                    block_reason.get_or_insert_with(|| blocker_reason(&b));
                    if let Blocker::MissingEnv { name } = &b {
                        crash.get_or_insert(CrashCause::MissingEnv { name: name.clone() });
                    }
                    if let Blocker::ExecNotFound { binary } = &b {
                        crash.get_or_insert(CrashCause::ExecNotFound { binary: binary.clone() });
                    }
                    if let Blocker::Liveness { message, .. } = &b {
                        crash.get_or_insert(CrashCause::LivenessFailed { message: message.clone() });
                    }
                }
            }
        }
        let oom = pods.iter().find_map(|p| match self.blocker(ns, p) {
            Some(Blocker::Oom { limit, .. }) => Some(limit),
            _ => None,
        });

        let process = if let Some(runs) = wrong_binary {
            if ready > 0 { ProcessState::WrongBinary { runs } } else { not_running(desired, block_reason) }
        } else if ready > 0 {
            ProcessState::Up
        } else if let Some(cause) = crash.clone() {
            let (_, code, _) = super::reconcile::crash_timing(&cause);
            ProcessState::Crashing { cause, exit_code: code }
        } else {
            not_running(desired, block_reason)
        };

        // Own behaviour and propagated errors and latency.
        let mut own_error = 0.0_f64;
        let mut p50 = spec.latency_ms;
        let mut p99 = spec.latency_ms * 3.0;
        let mut cpu = spec.cpu_millis;
        let mut mem = spec.memory_mib;
        let mut active = Vec::new();
        for c in conditions_on(ns, name) {
            match &c.effect {
                Effect::RequestErrors { rate, .. } => own_error = 1.0 - (1.0 - own_error) * (1.0 - rate),
                Effect::RequestLatency { rate, delay_ms, .. } => {
                    if *rate >= 0.5 {
                        p50 += delay_ms;
                    }
                    p99 += delay_ms;
                }
                Effect::GcPauses { pause_ms } => {
                    p50 += pause_ms * 0.05;
                    p99 += pause_ms;
                    cpu += spec.cpu_millis * 0.8;
                }
                Effect::CpuHog { cores } => {
                    cpu += cores * 1000.0;
                    p50 *= 1.8;
                    p99 *= 3.0;
                }
                Effect::MemoryLeak { mib_per_min } => {
                    let minutes = ((self.now - c.since) / 60.0).max(0.0);
                    mem += mib_per_min * minutes;
                }
                _ => {}
            }
            active.push(c.effect.clone());
        }
        if let Some(limit) = container.and_then(|c| c.cpu_limit.as_deref()) {
            let l = parse_millis(limit);
            if l > 0.0 {
                cpu = cpu.min(l);
            }
        }
        if let Some(limit) = oom.as_deref() {
            mem = mem.min(parse_mib(limit));
        }
        let mut keep = 1.0 - own_error;
        for e in &edges {
            let share = edge_share(app, spec, &e.callee);
            keep *= 1.0 - share * e.error_rate;
            let callee_p50 = done.services.get(&e.callee).map(|h| h.p50_ms).unwrap_or(0.0);
            let callee_p99 = done.services.get(&e.callee).map(|h| h.p99_ms).unwrap_or(0.0);
            p50 += share * (callee_p50 + e.added_latency_ms);
            p99 += (callee_p99 + e.added_latency_ms) * share.max(0.5);
        }
        let error_rate = match process {
            ProcessState::Up => 1.0 - keep,
            _ => 1.0,
        };
        let mut sh = ServiceHealth {
            name: name.to_string(),
            process,
            desired_replicas: desired,
            ready_replicas: ready,
            error_rate: error_rate.clamp(0.0, 1.0),
            p50_ms: p50,
            p99_ms: p99.max(p50),
            request_rate: 0.0,
            cpu_millis: if ready > 0 { cpu } else { 0.0 },
            memory_mib: if ready > 0 { mem } else { 0.0 },
            edges,
            active_effects: active,
            changed_at: ns.created_at,
        };
        sh.changed_at = match previous {
            Some(prev) if signature(prev) == signature(&sh) => prev.changed_at,
            Some(_) => self.now,
            None => ns.created_at,
        };
        sh
    }

    /// One call edge from `caller` to `callee`.
    fn edge(
        &self,
        ns: &Namespace,
        caller: &ServiceSpec,
        caller_container: Option<&ContainerSpec>,
        callee: &str,
        done: &Health,
    ) -> EdgeHealth {
        let fail = |problem: CallProblem| EdgeHealth {
            callee: callee.to_string(),
            error_rate: 1.0,
            added_latency_ms: 0.0,
            problem: Some(problem),
        };
        let caller_name = caller.name.get_ref().as_str();
        for c in conditions_on(ns, caller_name) {
            if let Effect::DependencyUnreachable { service } = &c.effect
                && service == callee
            {
                return fail(CallProblem::DnsFailure {
                    host: format!("{callee}-unreachable:8080"),
                });
            }
        }
        if caller_container
            .and_then(|c| self.images.get(&c.image).copied().flatten())
            .is_some_and(|d| d == ImageDefect::DbUnreachable)
            && caller.hard_dependencies.iter().any(|h| h.get_ref() == callee)
        {
            return fail(CallProblem::DnsFailure {
                host: format!("{callee}:27017"),
            });
        }
        if let Some(host) = misconfigured_address(ns, caller, caller_container, callee) {
            return fail(CallProblem::DnsFailure { host });
        }
        let Some(service) = ns.services.get(callee) else {
            return fail(CallProblem::DnsFailure {
                host: callee.to_string(),
            });
        };
        let Some(callee_health) = done.services.get(callee) else {
            // A cycle: the callee is not assessed yet; assume it serves.
            return EdgeHealth {
                callee: callee.to_string(),
                error_rate: 0.0,
                added_latency_ms: 0.0,
                problem: None,
            };
        };
        if callee_health.ready_replicas == 0 {
            return fail(CallProblem::NoEndpoints);
        }
        let callee_port = ns
            .deployments
            .get(callee)
            .and_then(|d| d.template.containers.first())
            .and_then(|c| c.ports.first().copied());
        if let (Some(sp), Some(cp)) = (service.ports.first(), callee_port)
            && sp.target_port != cp
        {
            return fail(CallProblem::ConnectionRefused { port: sp.target_port });
        }
        if let ProcessState::WrongBinary { .. } = callee_health.process {
            return fail(CallProblem::Unimplemented {
                expected: callee.to_string(),
            });
        }
        if let Some(db) = ns.databases.get(callee) {
            let tls = ns
                .deployments
                .get(callee)
                .and_then(|d| d.template.containers.first())
                .is_some_and(|c| c.args.iter().chain(c.command.iter()).any(|a| a.contains("requireTLS")))
                || db.require_tls;
            let client = caller.db_client.as_ref();
            if tls && !client.is_some_and(|c| c.tls) {
                return fail(CallProblem::TlsRequired);
            }
            if let Some(user) = client.and_then(|c| c.user.as_ref()) {
                match db.users.get(user) {
                    None => {
                        return fail(CallProblem::AuthFailed {
                            user: user.clone(),
                            db: db.name.clone(),
                        })
                    }
                    Some(u) => {
                        let allowed = u.roles.iter().any(|r| {
                            let (role, on) = r.split_once('@').unwrap_or((r.as_str(), ""));
                            (on == db.name && matches!(role, "readWrite" | "dbOwner" | "read"))
                                || (on == "admin" && matches!(role, "readWriteAnyDatabase" | "root" | "dbAdminAnyDatabase"))
                        });
                        if !allowed {
                            return fail(CallProblem::NotAuthorized {
                                user: user.clone(),
                                db: db.name.clone(),
                            });
                        }
                    }
                }
            }
        }
        let mut edge = EdgeHealth {
            callee: callee.to_string(),
            error_rate: 0.0,
            added_latency_ms: 0.0,
            problem: None,
        };
        for c in conditions_on(ns, callee) {
            match &c.effect {
                Effect::NetworkLoss { percent } => {
                    let p = (percent / 100.0).clamp(0.0, 1.0);
                    // A lost packet on a retried RPC: most calls still fail at high loss.
                    edge.error_rate = 1.0 - (1.0 - edge.error_rate) * (1.0 - p);
                    edge.added_latency_ms += 200.0 * p;
                    edge.problem = Some(CallProblem::PacketLoss { percent: *percent });
                }
                Effect::NetworkDelay { delay_ms } => {
                    edge.added_latency_ms += delay_ms;
                    if *delay_ms >= CALL_DEADLINE_MS {
                        edge.error_rate = 1.0 - (1.0 - edge.error_rate) * 0.75;
                    }
                    edge.problem = Some(CallProblem::Timeout { delay_ms: *delay_ms });
                }
                _ => {}
            }
        }
        if edge.problem.is_none() && callee_health.error_rate > 0.0 {
            edge.error_rate = callee_health.error_rate;
            edge.problem = Some(CallProblem::UpstreamError {
                message: upstream_message(callee, callee_health),
            });
        }
        edge
    }
}

/// An env var or mounted config map value that named the callee in the spec but names
/// something else now: the caller dials a wrong address.
fn misconfigured_address(
    ns: &Namespace,
    caller: &ServiceSpec,
    container: Option<&ContainerSpec>,
    callee: &str,
) -> Option<String> {
    let mentions = |v: &str| v.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).any(|w| w == callee);
    if let Some(c) = container {
        for (name, value) in &caller.env {
            if mentions(value) {
                match c.env.iter().find(|e| &e.name == name) {
                    Some(e) if e.value == *value => {}
                    Some(e) => return Some(e.value.clone()),
                    None => return Some(format!("<unset {name}>")),
                }
            }
        }
    }
    for cm in &caller.config_maps {
        let Some(spec_cm) = ns.app.config_maps.iter().find(|c| &c.name == cm.get_ref()) else { continue };
        let live = ns.config_maps.get(cm.get_ref());
        for (key, value) in &spec_cm.data {
            if mentions(value) {
                match live.and_then(|l| l.data.get(key)) {
                    Some(v) if v == value => {}
                    Some(v) => return Some(v.clone()),
                    None => return Some(format!("<missing {key}>")),
                }
            }
        }
    }
    None
}

fn upstream_message(callee: &str, h: &ServiceHealth) -> String {
    for e in &h.active_effects {
        if let Effect::RequestErrors { error, .. } = e {
            return error.clone();
        }
    }
    if let Some(e) = h.edges.iter().find(|e| e.problem.is_some()) {
        return format!("{callee}: dependency {} failing", e.callee);
    }
    format!("{callee} returned an error")
}

fn not_running(desired: u32, reason: Option<String>) -> ProcessState {
    ProcessState::NotRunning {
        reason: if desired == 0 {
            "scaled to 0 replicas".to_string()
        } else {
            reason.unwrap_or_else(|| "no pod running".to_string())
        },
    }
}

fn blocker_reason(b: &Blocker) -> String {
    match b {
        Blocker::Unschedulable { .. } => "Pending: unschedulable".to_string(),
        Blocker::UnboundClaim => "Pending: unbound PersistentVolumeClaim".to_string(),
        Blocker::ImagePull { image } => format!("ImagePullBackOff: {image}"),
        Blocker::ExecNotFound { binary } => format!("StartError: exec {binary} not found"),
        Blocker::MissingEnv { name } => format!("missing env {name}"),
        Blocker::ChaosPodFailure { .. } => "pod failure".to_string(),
        Blocker::Creating { .. } => "ContainerCreating".to_string(),
        Blocker::Oom { .. } => "OOMKilled".to_string(),
        Blocker::Liveness { .. } => "liveness probe failing".to_string(),
        Blocker::Readiness { .. } => "readiness probe failing".to_string(),
    }
}

/// A pod serves once its container has started (a few seconds after creation) and any
/// recovery back-off has passed.
fn pod_settled(pod: &Pod, now: SimTime) -> bool {
    if now < pod.runtime.started_at {
        return false;
    }
    match &pod.runtime.trouble {
        Some((key, _)) => match key.strip_prefix("recovering@") {
            Some(until) => until.parse::<f64>().is_ok_and(|u| now >= u),
            None => true,
        },
        None => true,
    }
}

/// What makes two healths materially different (for `changed_at`).
fn signature(h: &ServiceHealth) -> String {
    let process = match &h.process {
        ProcessState::Up => "up".to_string(),
        ProcessState::NotRunning { reason } => format!("down:{reason}"),
        ProcessState::Crashing { cause, .. } => format!("crash:{cause:?}"),
        ProcessState::WrongBinary { runs } => format!("wrong:{runs}"),
    };
    let problems: Vec<String> = h
        .edges
        .iter()
        .filter_map(|e| e.problem.as_ref().map(|p| format!("{}:{:?}", e.callee, std::mem::discriminant(p))))
        .collect();
    format!(
        "{process}|{}|{}|{}|{}",
        (h.error_rate * 20.0).round(),
        (h.p50_ms.max(1.0).log2()).round(),
        problems.join(","),
        h.active_effects.len()
    )
}
