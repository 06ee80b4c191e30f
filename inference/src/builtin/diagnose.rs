//! Classification: from the knowledge base to one fault (or none), strongest evidence first.

use super::findings::{Findings, PodFact, Signal, has_word};
use aoi_core::{FaultType, SystemLevel};

/// The fault the evidence points at.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// PVCs Pending / PVs Released after a redeploy.
    UnboundPv {
        released: Vec<String>,
        pending_owners: Vec<String>,
    },
    /// A Pending pod whose node selector matches no node.
    NodeSelector {
        deploy: String,
    },
    /// A deployment with zero desired replicas.
    ScaledToZero {
        deploy: String,
    },
    /// A Service whose endpoints use a port the container does not listen on.
    TargetPort {
        svc: String,
        port: u16,
    },
    /// A MongoDB that only accepts TLS.
    MongoTls {
        db: String,
        clients: Vec<String>,
    },
    /// The DB user lost its role (`not authorized on`).
    MongoRoleRevoked {
        db: String,
        client: String,
        db_name: String,
    },
    /// The DB user was dropped (`Authentication failed`, UserNotFound).
    MongoUserDropped {
        db: String,
        client: String,
        db_name: String,
        user: String,
    },
    /// The image differs from the app's other deployments and the service crashes.
    BuggyImage {
        deploy: String,
        container: String,
        image: String,
    },
    /// The container runs another service's binary.
    WrongBinary {
        deploy: String,
        binary: String,
    },
    /// A crash loop without a more specific cause.
    CrashLoop {
        deploy: String,
    },
    /// A recent container restart (kill).
    ContainerKill {
        deploy: String,
    },
    /// A pod not ready or just recreated.
    PodFailure {
        deploy: String,
    },
    /// A service where errors land (traces, logs).
    Errors {
        svc: String,
    },
    /// A service where latency lands.
    Latency {
        svc: String,
    },
    /// A resource trend (CPU / memory) on a service.
    Resource {
        svc: String,
    },
    None,
}

impl Fault {
    /// The localization answer.
    pub fn service(&self) -> Option<String> {
        let s = match self {
            Fault::UnboundPv { pending_owners, .. } => pending_owners.first()?.clone(),
            Fault::NodeSelector { deploy }
            | Fault::ScaledToZero { deploy }
            | Fault::BuggyImage { deploy, .. }
            | Fault::WrongBinary { deploy, .. }
            | Fault::CrashLoop { deploy }
            | Fault::ContainerKill { deploy }
            | Fault::PodFailure { deploy } => deploy.clone(),
            Fault::TargetPort { svc, .. } => svc.clone(),
            Fault::MongoTls { db, .. }
            | Fault::MongoRoleRevoked { db, .. }
            | Fault::MongoUserDropped { db, .. } => db.clone(),
            Fault::Errors { svc } | Fault::Latency { svc } | Fault::Resource { svc } => {
                if svc == "frontend-proxy" {
                    "frontend".to_string()
                } else {
                    svc.clone()
                }
            }
            Fault::None => return None,
        };
        Some(s)
    }

    /// The analysis answer (AIOpsLab's taxonomy).
    pub fn analysis(&self) -> (SystemLevel, FaultType) {
        use FaultType as T;
        use SystemLevel as L;
        match self {
            Fault::TargetPort { .. } => (L::Virtualization, T::Misconfiguration),
            Fault::MongoTls { .. } => (L::Application, T::Misconfiguration),
            Fault::MongoRoleRevoked { .. } => (L::Application, T::AuthenticationIssue),
            Fault::MongoUserDropped { .. } => (L::Application, T::NetworkStorageIssue),
            Fault::BuggyImage { .. } => (L::Application, T::Misconfiguration),
            Fault::ScaledToZero { .. } => (L::Virtualization, T::OperationError),
            Fault::NodeSelector { .. } => (L::Virtualization, T::DependencyProblem),
            Fault::UnboundPv { .. } => (L::Virtualization, T::OperationError),
            Fault::WrongBinary { .. } => (L::Application, T::NetworkStorageIssue),
            Fault::CrashLoop { .. } => (L::Application, T::CodeDefect),
            Fault::ContainerKill { .. } | Fault::PodFailure { .. } => {
                (L::Virtualization, T::OperationError)
            }
            Fault::Errors { .. } | Fault::Latency { .. } => {
                (L::Application, T::NetworkStorageIssue)
            }
            Fault::Resource { .. } => (L::Application, T::CodeDefect),
            Fault::None => (L::Application, T::Misconfiguration),
        }
    }

    pub fn is_fault(&self) -> bool {
        !matches!(self, Fault::None)
    }
}

/// Whether the namespace runs the Astronomy Shop (flag-driven demo).
pub fn is_astronomy(f: &Findings) -> bool {
    f.deployments.contains_key("flagd")
        || f.services.contains_key("flagd")
        || f.pods.iter().any(|p| p.owner == "flagd")
}

/// The DB a client service uses: from its logs, else by naming convention.
pub fn db_of(f: &Findings, client: &str) -> Option<String> {
    if let Some(h) = f.logs.get(client).and_then(|l| l.db_host.clone())
        && f.known_names().contains(&h)
    {
        return Some(h);
    }
    let base = client.strip_suffix("-service").unwrap_or(client);
    [format!("mongodb-{base}"), format!("{base}-mongodb")]
        .into_iter()
        .find(|n| f.known_names().contains(n))
}

/// The clients of a DB, by naming convention (`mongodb-geo` -> `geo`,
/// `url-shorten-mongodb` -> `url-shorten-service`).
pub fn clients_of(f: &Findings, db: &str) -> Vec<String> {
    let known = f.known_names();
    let mut out = Vec::new();
    if let Some(base) = db.strip_prefix("mongodb-") {
        out.push(base.to_string());
    }
    if let Some(base) = db.strip_suffix("-mongodb") {
        out.push(format!("{base}-service"));
        out.push(base.to_string());
    }
    out.retain(|c| known.contains(c));
    out
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// A pod that was just recreated while the rest of the app is older.
pub fn young(f: &Findings, p: &PodFact) -> bool {
    let med = median(f.pods.iter().filter_map(|q| q.age).collect());
    p.age.is_some_and(|a| med >= 300 && a * 3 <= med)
}

/// A container restart within the last 15 minutes (and younger than the pod).
pub fn recent_restart(p: &PodFact) -> bool {
    p.restarts > 0 && p.last_restart_ago.is_some_and(|a| a <= 900)
}

/// Owners with crash-looping pods, most restarts first.
pub fn crashing_owners(f: &Findings) -> Vec<String> {
    let mut v: Vec<(&PodFact, u32)> = f
        .pods
        .iter()
        .filter(|p| p.crashing())
        .map(|p| (p, p.restarts))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.owner.cmp(&b.0.owner)));
    let mut out: Vec<String> = Vec::new();
    for (p, _) in v {
        if !out.contains(&p.owner) {
            out.push(p.owner.clone());
        }
    }
    out
}

/// Services whose endpoints all use a port other than the Service port.
pub fn port_mismatches(f: &Findings) -> Vec<(String, u16, u16)> {
    let mut out = Vec::new();
    for (svc, ports) in &f.services {
        let [port] = ports.as_slice() else { continue };
        let Some(eps) = f.endpoints.get(svc) else {
            continue;
        };
        if eps.is_empty() || eps.iter().any(|p| p == port) {
            continue;
        }
        // Confirm against the container port when the pod was described.
        if let Some(d) = f.described.get(svc) {
            let cports: Vec<u16> = d.containers.iter().flat_map(|c| c.ports.clone()).collect();
            if !cports.is_empty() && cports.contains(&eps[0]) {
                continue;
            }
        }
        out.push((svc.clone(), *port, eps[0]));
    }
    out
}

/// Trace hotspots: (service, blamed traces) passing the noise thresholds.
pub fn error_hotspot(f: &Findings) -> Option<String> {
    let t = f.traces.as_ref()?;
    t.error_blame
        .iter()
        .filter(|(svc, n)| {
            let denom = t
                .traces_of
                .get(*svc)
                .copied()
                .filter(|d| *d > 0)
                .unwrap_or(t.total_traces);
            **n >= 3 && f64::from(**n) >= 0.05 * f64::from(denom.max(1))
        })
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(s, _)| s.clone())
}

pub fn slow_hotspot(f: &Findings) -> Option<String> {
    let t = f.traces.as_ref()?;
    // Calls that stall for seconds on their own, in more than one trace, are no noise spike:
    // follow them to where they stall.
    if let Some((svc, _)) = t
        .stall_blame
        .iter()
        .filter(|(_, n)| **n >= 2)
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
    {
        return Some(svc.clone());
    }
    t.slow_blame
        .iter()
        .filter(|(svc, n)| {
            let denom = t
                .traces_of
                .get(*svc)
                .copied()
                .filter(|d| *d > 0)
                .unwrap_or(t.total_traces);
            **n >= 3 && f64::from(**n) >= 0.10 * f64::from(denom.max(1))
        })
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(s, _)| s.clone())
}

/// A CPU or memory trend far outside the noise.
pub fn resource_hotspot(f: &Findings) -> Option<String> {
    for (file, trends) in &f.metrics {
        let cpu = file.contains("cpu_usage");
        let mem = file.contains("working_set") || file.contains("memory_usage");
        if !cpu && !mem {
            continue;
        }
        let mut maxes: Vec<f64> = trends.values().map(|t| t.max).collect();
        maxes.sort_by(|a, b| a.total_cmp(b));
        let med = maxes.get(maxes.len() / 2).copied().unwrap_or(0.0);
        let mut best: Option<(&String, f64)> = None;
        for (owner, t) in trends {
            let score = if cpu {
                let climb = t.last >= 1.5 * t.first && t.last - t.first >= 0.1;
                let outlier = t.max >= 4.0 * med && t.max >= 0.5;
                if climb || outlier { t.max } else { 0.0 }
            } else if t.last >= 1.5 * t.first && t.last - t.first >= 50e6 {
                t.last / t.first.max(1.0)
            } else {
                0.0
            };
            if score > 0.0 && best.is_none_or(|b| score > b.1) {
                best = Some((owner, score));
            }
        }
        if let Some((o, _)) = best {
            return Some(o.clone());
        }
    }
    None
}

/// The services that take the app's traffic first (the load enters there).
pub const ENTRY_SERVICES: &[&str] = &["frontend-proxy", "frontend", "nginx-thrift"];

pub fn is_entry(svc: &str) -> bool {
    ENTRY_SERVICES.contains(&svc)
}

/// Where a log signal points in the Astronomy Shop (and generally). An entry service's logs
/// only carry the caller's side of a backend's failure (the backend's message passed up), so
/// they never point at the entry itself; traces follow such errors down.
pub fn log_hotspot(f: &Findings) -> Option<String> {
    use Signal as S;
    for (svc, l) in &f.logs {
        let has = |s: Signal| l.signals.contains(&s);
        if has(S::Flood) || has(S::SlowImage) {
            return Some("frontend".to_string());
        }
        if is_entry(svc) {
            continue;
        }
        if has(S::KafkaLag) {
            return Some("kafka".to_string());
        }
        if svc == "checkout" && has(S::Unavailable) && !has(S::PaymentFailed) {
            return Some("checkout".to_string());
        }
        if has(S::ChargeFailed) && !has(S::Unavailable) {
            return Some("payment".to_string());
        }
        if [
            S::HighCpu,
            S::GetAdsFailed,
            S::Gc,
            S::RedisConnect,
            S::PaymentFailed,
            S::Cache,
            S::OutOfMemory,
        ]
        .into_iter()
        .any(has)
        {
            return Some(svc.clone());
        }
    }
    None
}

/// Classifies what is known so far.
pub fn classify(f: &Findings) -> Fault {
    // 1. Volumes that do not bind.
    let released: Vec<String> = f
        .pvs
        .iter()
        .filter(|p| p.1 == "Released" || p.1 == "Failed")
        .map(|p| p.0.clone())
        .collect();
    let pvc_pending = f.pvcs.iter().any(|p| p.1 == "Pending");
    let pending_owners: Vec<String> = {
        let mut v: Vec<String> = f
            .pods
            .iter()
            .filter(|p| p.pending())
            .map(|p| p.owner.clone())
            .collect();
        v.dedup();
        v
    };
    let volume_events = f
        .events
        .iter()
        .any(|e| e.message.contains("PersistentVolumeClaim"))
        || f.described
            .values()
            .flat_map(|d| &d.events)
            .any(|e| e.2.contains("PersistentVolumeClaim"));
    if !released.is_empty() || pvc_pending || (volume_events && !pending_owners.is_empty()) {
        return Fault::UnboundPv {
            released,
            pending_owners,
        };
    }
    // 2. Scheduling on a node that does not exist.
    for owner in &pending_owners {
        let selector = f
            .described
            .get(owner)
            .map(|d| d.node_selectors.clone())
            .unwrap_or_default();
        let affinity_event = f.events.iter().any(|e| {
            e.message.contains("node affinity/selector") && e.object.contains(owner.as_str())
        }) || f.described.get(owner).is_some_and(|d| {
            d.events
                .iter()
                .any(|e| e.2.contains("node affinity/selector"))
        });
        let bad_selector = !selector.is_empty()
            && (f.nodes.is_empty()
                || selector
                    .iter()
                    .any(|s| !f.nodes.iter().any(|n| s.ends_with(&format!("={n}")))));
        if affinity_event || bad_selector {
            return Fault::NodeSelector {
                deploy: owner.clone(),
            };
        }
    }
    // 3. Scaled to zero.
    if let Some((name, _)) = f.deployments.iter().find(|(_, d)| d.desired == 0) {
        return Fault::ScaledToZero {
            deploy: name.clone(),
        };
    }
    // 4. Target port.
    if let Some((svc, port, _)) = port_mismatches(f).into_iter().next() {
        let cport = f
            .described
            .get(&svc)
            .and_then(|d| d.containers.first())
            .and_then(|c| c.ports.first().copied())
            .unwrap_or(port);
        return Fault::TargetPort { svc, port: cport };
    }
    // 5. MongoDB faults, from the DB's and its clients' logs.
    if let Some(fault) = mongo_fault(f) {
        return fault;
    }
    // 6. Crash loops: buggy image, wrong binary, or unknown.
    if let Some(owner) = crashing_owners(f).into_iter().next() {
        return image_or_binary(f, &owner).unwrap_or(Fault::CrashLoop { deploy: owner });
    }
    for owner in f.deployments.keys() {
        if let Some(fault @ Fault::WrongBinary { .. }) = image_or_binary(f, owner) {
            return fault;
        }
    }
    // 7. Astronomy Shop log signals.
    if let Some(svc) = log_hotspot(f) {
        return Fault::Errors { svc };
    }
    // 8. Pods killed or failing.
    if let Some(p) = f
        .pods
        .iter()
        .find(|p| p.status == "Running" && p.ready < p.total)
    {
        return Fault::PodFailure {
            deploy: p.owner.clone(),
        };
    }
    if let Some(p) = f.pods.iter().find(|p| recent_restart(p)) {
        return Fault::ContainerKill {
            deploy: p.owner.clone(),
        };
    }
    if let Some(p) = f.pods.iter().find(|p| young(f, p) && !p.healthy()) {
        return Fault::PodFailure {
            deploy: p.owner.clone(),
        };
    }
    // 9. Traces and metrics.
    if let Some(svc) = error_hotspot(f) {
        return Fault::Errors { svc };
    }
    if let Some(svc) = slow_hotspot(f).or_else(|| access_log_stalls(f)) {
        return Fault::Latency { svc };
    }
    if let Some(svc) = resource_hotspot(f) {
        return Fault::Resource { svc };
    }
    if let Some(p) = f.pods.iter().find(|p| young(f, p)) {
        return Fault::PodFailure {
            deploy: p.owner.clone(),
        };
    }
    // 10. The entry answers errors in a sustained way (its logs), though no trace or metric
    // passed its threshold: follow the few erroring spans down when there are any.
    if let Some(entry) = entry_log_errors(f) {
        let svc = weak_error_hotspot(f)
            .or_else(|| mentioned_in_errors(f, &entry))
            .unwrap_or(entry);
        return Fault::Errors { svc };
    }
    Fault::None
}

/// The backend the entry's error lines name most often (`dependency product-catalog failing`,
/// `Error: Product Catalog Fail`), written kebab-case or in words; longer names win ties.
pub fn mentioned_in_errors(f: &Findings, entry: &str) -> Option<String> {
    let lines = &f.logs.get(entry)?.error_samples;
    let mut best: Option<(String, usize)> = None;
    for name in f.known_names() {
        if is_entry(&name) {
            continue;
        }
        let n = lines
            .iter()
            .filter(|l| {
                let low = l.to_ascii_lowercase();
                has_word(&low, &name) || has_word(&low.replace(' ', "-"), &name)
            })
            .count();
        let better = best
            .as_ref()
            .is_none_or(|(b, m)| n > *m || (n == *m && name.len() > b.len()));
        if n > 0 && better {
            best = Some((name, n));
        }
    }
    best.map(|(n, _)| n)
}

/// Requests that took seconds in an entry's access log, several of them: the upstream they
/// stalled on (a single slow request can be noise).
pub fn access_log_stalls(f: &Findings) -> Option<String> {
    ENTRY_SERVICES
        .iter()
        .filter_map(|e| f.logs.get(*e))
        .flat_map(|l| l.slow_requests.iter())
        .filter(|(_, n)| **n >= 2)
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(svc, _)| svc.clone())
}

/// Error lines an entry's logs must hold, in count and share, to count as a sustained error
/// rate rather than background noise (rare benign errors stay well under 2%).
const ENTRY_ERROR_LINES: u32 = 3;
const ENTRY_ERROR_SHARE: f64 = 0.10;

/// The entry service whose logs show a sustained error rate.
pub fn entry_log_errors(f: &Findings) -> Option<String> {
    ENTRY_SERVICES
        .iter()
        .filter_map(|e| f.logs.get(*e).map(|l| (*e, l)))
        .find(|(_, l)| {
            l.error_lines >= ENTRY_ERROR_LINES
                && f64::from(l.error_lines) >= ENTRY_ERROR_SHARE * f64::from(l.lines.max(1))
        })
        .map(|(e, _)| e.to_string())
}

/// The service most traces' deepest errors land on, below the noise thresholds but in more
/// than one trace (used only when the entry's logs already show that requests fail).
pub fn weak_error_hotspot(f: &Findings) -> Option<String> {
    let t = f.traces.as_ref()?;
    t.error_blame
        .iter()
        .filter(|(svc, n)| !is_entry(svc) && **n >= 2)
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(s, _)| s.clone())
}

fn mongo_fault(f: &Findings) -> Option<Fault> {
    for (svc, l) in &f.logs {
        let is_db = svc.contains("mongodb");
        let (db, client) = if is_db {
            (
                svc.clone(),
                clients_of(f, svc).into_iter().next().unwrap_or_default(),
            )
        } else {
            match db_of(f, svc) {
                Some(db) => (db, svc.clone()),
                None => continue,
            }
        };
        let db_name = l.unauthorized_db.clone().unwrap_or_else(|| {
            format!(
                "{}-db",
                db.trim_start_matches("mongodb-")
                    .trim_end_matches("-mongodb")
            )
        });
        if l.signals.contains(&Signal::NotAuthorized) {
            return Some(Fault::MongoRoleRevoked {
                db,
                client,
                db_name,
            });
        }
        if l.signals.contains(&Signal::AuthFailed) {
            let user = l
                .missing_user
                .clone()
                .unwrap_or_else(|| "admin".to_string());
            return Some(Fault::MongoUserDropped {
                db,
                client,
                db_name,
                user,
            });
        }
        if l.signals.contains(&Signal::Tls) {
            let clients = clients_of(f, &db);
            return Some(Fault::MongoTls { db, clients });
        }
    }
    None
}

/// The app image most deployments share (by repository, tag ignored) for comparison.
fn image_or_binary(f: &Findings, owner: &str) -> Option<Fault> {
    let d = f.described.get(owner);
    let container = d
        .and_then(|d| d.containers.first().map(|c| c.name.clone()))
        .or_else(|| {
            f.deployments
                .get(owner)
                .and_then(|d| d.containers.first().cloned())
        })
        .unwrap_or_default();
    // Wrong binary: the command (or the start-up log) names another service.
    let cmd_bin = d
        .and_then(|d| d.containers.first())
        .and_then(|c| c.command.first())
        .map(|c| c.rsplit('/').next().unwrap_or(c).to_string());
    let log_bin = f.logs.get(owner).and_then(|l| l.binary.clone());
    let known = f.known_names();
    for bin in [cmd_bin, log_bin].into_iter().flatten() {
        if bin != owner && known.contains(&bin) && !owner.contains(bin.as_str()) {
            return Some(Fault::WrongBinary {
                deploy: owner.to_string(),
                binary: bin,
            });
        }
    }
    // Buggy image: differs from the image most app deployments share.
    let image = d
        .and_then(|d| d.containers.first().map(|c| c.image.clone()))
        .or_else(|| {
            f.deployments
                .get(owner)
                .and_then(|d| d.images.first().cloned())
        })?;
    let common = common_image(f)?;
    let crashes_on_db = f.logs.get(owner).is_some_and(|l| {
        l.signals.contains(&Signal::NoReachableServers) || l.signals.contains(&Signal::Panic)
    });
    if image != common && (crashes_on_db || !f.logs.contains_key(owner)) {
        return Some(Fault::BuggyImage {
            deploy: owner.to_string(),
            container,
            image: common,
        });
    }
    None
}

/// The image shared by most non-database deployments (the app image), if one dominates.
pub fn common_image(f: &Findings) -> Option<String> {
    let mut counts: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    for (n, d) in &f.deployments {
        if n.contains("mongo") || n.contains("memcached") || n.contains("redis") {
            continue;
        }
        for i in &d.images {
            *counts.entry(i.as_str()).or_default() += 1;
        }
    }
    let (img, n) = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?;
    (n >= 2).then(|| img.to_string())
}
