//! From objects to pods: creates and replaces pods for deployments, and works out each
//! container's state from the pod's spec, the node pool, the registry, volumes, conditions and
//! the health of its hard dependencies (see `health.rs` for the last part).

use super::*;
use crate::suite::schema::Effect;
use rand::Rng;

/// What keeps a pod from running normally, worked out before dependencies are considered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Blocker {
    Unschedulable { message: String },
    UnboundClaim,
    ImagePull { image: String },
    ExecNotFound { binary: String },
    MissingEnv { name: String },
    ChaosPodFailure { until: SimTime },
    Creating { until: SimTime },
    Oom { fill_s: f64, limit: String },
    Liveness { message: String, run_s: f64 },
    Readiness { message: String },
}

/// How long a crash-looping container runs before it exits, and its exit code.
pub(crate) fn crash_timing(cause: &CrashCause) -> (f64, i32, &'static str) {
    match cause {
        CrashCause::Dependency { problem, .. } => match problem {
            CallProblem::AuthFailed { .. } => (0.6, 2, "Error"),
            CallProblem::NotAuthorized { .. } => (1.2, 1, "Error"),
            CallProblem::TlsRequired => (10.5, 2, "Error"),
            _ => (10.5, 2, "Error"),
        },
        CrashCause::MissingEnv { .. } => (0.1, 1, "Error"),
        CrashCause::ExecNotFound { .. } => (0.0, 128, "StartError"),
        CrashCause::Panic { .. } => (0.3, 2, "Error"),
        CrashCause::OutOfMemory { .. } => (60.0, 137, "OOMKilled"),
        CrashCause::LivenessFailed { .. } => (35.0, 137, "Error"),
        CrashCause::Storage { .. } => (1.0, 100, "Error"),
    }
}

/// Where a crash loop stands at `elapsed` seconds after the trouble began.
pub(crate) struct LoopState {
    /// Runs that have ended (each a restart once the next begins).
    pub exits: u32,
    /// Restarts made so far.
    pub restarts: u32,
    pub running_since: Option<f64>,
    pub last_run: Option<(f64, f64)>,
    pub backoff: f64,
}

/// Kubelet's crash-loop back-off: 10 s doubling to 300 s.
pub(crate) fn crash_loop(elapsed: f64, run_s: f64) -> LoopState {
    let mut t = 0.0;
    let mut exits = 0u32;
    let mut backoff = 10.0;
    let mut last_run = None;
    loop {
        // a run from t to t + run_s
        if elapsed < t + run_s {
            return LoopState {
                exits,
                restarts: exits,
                running_since: Some(t),
                last_run,
                backoff,
            };
        }
        last_run = Some((t, t + run_s));
        exits += 1;
        let wait = if exits == 1 { 10.0 } else { (backoff * 2.0_f64).min(300.0) };
        backoff = wait;
        if elapsed < t + run_s + wait {
            return LoopState {
                exits,
                restarts: exits - 1,
                running_since: None,
                last_run,
                backoff: wait,
            };
        }
        t += run_s + wait;
        if exits > 10_000 {
            return LoopState {
                exits,
                restarts: exits - 1,
                running_since: None,
                last_run,
                backoff: wait,
            };
        }
    }
}

impl Cluster {
    /// Reconciles as if at time `t`, then steps the clock forward to now so that every
    /// transition on the way (pods starting, dependencies coming up) happens at its time.
    pub(crate) fn reconcile_at(&mut self, namespace: &str, t: SimTime) {
        let end = self.now;
        let mut at = t;
        let mut step = 3.0;
        while at < end {
            self.now = at;
            self.reconcile_namespace(namespace);
            at += step;
            step = (step * 1.6_f64).min(120.0);
        }
        self.now = end;
        self.reconcile_namespace(namespace);
    }

    /// Recomputes pods (create, replace, status) and health after a change or time step.
    pub fn reconcile(&mut self) {
        let names: Vec<String> = self.namespaces.keys().cloned().collect();
        for ns in &names {
            self.reconcile_namespace(ns);
        }
        self.health.retain(|k, _| names.contains(k));
    }

    fn reconcile_namespace(&mut self, ns_name: &str) {
        self.expire_conditions(ns_name);
        crate::faults::sync_flags(self, ns_name);
        self.bind_claims(ns_name);
        self.maintain_pods(ns_name);
        let health = self.assess(ns_name);
        self.apply_container_states(ns_name, &health);
        self.health.insert(ns_name.to_string(), health);
    }

    fn expire_conditions(&mut self, ns_name: &str) {
        let now = self.now;
        if let Some(ns) = self.namespaces.get_mut(ns_name) {
            ns.conditions.retain(|c| c.until.is_none_or(|u| u > now));
        }
    }

    /// Pending claims bind to Available volumes of their storage class.
    fn bind_claims(&mut self, ns_name: &str) {
        let Some(ns) = self.namespaces.get_mut(ns_name) else { return };
        for pvc in ns.pvcs.values_mut() {
            if pvc.phase != ClaimPhase::Pending {
                continue;
            }
            if let Some(pv) = self.pvs.values_mut().find(|pv| {
                pv.phase == VolumePhase::Available
                    && pv.storage_class == pvc.storage_class
                    && pv.claim_ref.as_deref().is_none_or(|r| r == format!("{ns_name}/{}", pvc.name))
            }) {
                pv.phase = VolumePhase::Bound;
                pv.claim_ref = Some(format!("{ns_name}/{}", pvc.name));
                pvc.phase = ClaimPhase::Bound;
                pvc.volume = Some(pv.name.clone());
            }
        }
        // Released volumes whose claimRef was removed become Available.
        for pv in self.pvs.values_mut() {
            if pv.phase == VolumePhase::Released && pv.claim_ref.is_none() {
                pv.phase = VolumePhase::Available;
            }
        }
    }

    /// Creates, replaces and removes pods so each deployment has its replicas of its current
    /// revision.
    fn maintain_pods(&mut self, ns_name: &str) {
        let Some(ns) = self.namespaces.get(ns_name) else { return };
        let mut plan: Vec<(String, String, PodTemplate, u32)> = Vec::new();
        let mut remove: Vec<String> = Vec::new();
        for d in ns.deployments.values() {
            let Some(rev) = d.current_revision() else { continue };
            let mut current: Vec<&Pod> = ns
                .pods
                .values()
                .filter(|p| p.deployment == d.name && !p.deleting)
                .collect();
            for p in &current {
                if p.rs_hash != rev.hash {
                    remove.push(p.name.clone());
                }
            }
            current.retain(|p| p.rs_hash == rev.hash);
            current.sort_by(|a, b| b.created_at.total_cmp(&a.created_at));
            let have = current.len() as u32;
            if have > d.replicas {
                for p in current.iter().take((have - d.replicas) as usize) {
                    remove.push(p.name.clone());
                }
            } else if have < d.replicas {
                plan.push((d.name.clone(), rev.hash.clone(), rev.template.clone(), d.replicas - have));
            }
        }
        for p in ns.pods.values() {
            if p.deleting {
                remove.push(p.name.clone());
            }
            if !ns.deployments.contains_key(&p.deployment) {
                remove.push(p.name.clone());
            }
        }
        remove.sort();
        remove.dedup();
        for name in remove {
            if let Some(ns) = self.namespaces.get_mut(ns_name) {
                ns.pods.remove(&name);
            }
            self.emit_event(ns_name, "Normal", "Killing", &format!("pod/{name}"), "Stopping container", "kubelet");
        }
        for (deploy, hash, template, count) in plan {
            for _ in 0..count {
                self.create_pod(ns_name, &deploy, &hash, &template);
            }
        }
    }

    fn create_pod(&mut self, ns_name: &str, deploy: &str, hash: &str, template: &PodTemplate) {
        let suffix = self.random_suffix(5);
        let name = format!("{deploy}-{hash}-{suffix}");
        let uid = self.uuid();
        let node = self.schedule(template);
        let ip = match &node {
            Some(n) => {
                let cidr = self.node(n).map(|n| n.pod_cidr.clone()).unwrap_or_default();
                let host = self.rng.random_range(2..=250u16);
                Some(format!("{cidr}.{host}"))
            }
            None => None,
        };
        let now = self.now;
        let containers = template
            .containers
            .iter()
            .map(|c| ContainerStatus {
                name: c.name.clone(),
                image: c.image.clone(),
                image_id: String::new(),
                container_id: String::new(),
                state: ContainerState::Waiting {
                    reason: "ContainerCreating".to_string(),
                    message: String::new(),
                },
                last_state: None,
                ready: false,
                restart_count: 0,
                last_restart_at: None,
            })
            .collect();
        let pod = Pod {
            name: name.clone(),
            uid,
            created_at: now,
            labels: {
                let mut l = template.labels.clone();
                l.insert("pod-template-hash".to_string(), hash.to_string());
                l
            },
            deployment: deploy.to_string(),
            rs_hash: hash.to_string(),
            spec: template.clone(),
            node: node.clone(),
            ip,
            phase: PodPhase::Pending,
            containers,
            deleting: false,
            runtime: PodRuntime {
                trouble: None,
                base_restarts: 0,
                started_at: now + 2.0,
            },
        };
        if let Some(ns) = self.namespaces.get_mut(ns_name) {
            ns.pods.insert(name.clone(), pod);
        }
        self.emit_event(
            ns_name,
            "Normal",
            "SuccessfulCreate",
            &format!("replicaset/{deploy}-{hash}"),
            &format!("Created pod: {name}"),
            "replicaset-controller",
        );
        if let Some(n) = node {
            self.emit_event(
                ns_name,
                "Normal",
                "Scheduled",
                &format!("pod/{name}"),
                &format!("Successfully assigned {ns_name}/{name} to {n}"),
                "default-scheduler",
            );
        }
    }

    /// The node a template's pods land on: a worker matching its node selector.
    fn schedule(&self, template: &PodTemplate) -> Option<String> {
        self.nodes
            .iter()
            .filter(|n| !n.control_plane)
            .find(|n| {
                template.node_selector.iter().all(|(k, v)| match k.as_str() {
                    "kubernetes.io/hostname" => &n.name == v,
                    "kubernetes.io/os" => v == "linux",
                    "kubernetes.io/arch" => v == "amd64",
                    _ => false,
                })
            })
            .map(|n| n.name.clone())
    }

    /// What blocks a pod before dependencies are looked at.
    pub(crate) fn blocker(&self, ns: &Namespace, pod: &Pod) -> Option<Blocker> {
        let spec = ns.app.services.iter().find(|s| s.name.get_ref() == &pod.deployment);
        if pod.node.is_none() {
            let ready_nodes = self.nodes.len();
            let workers = self.nodes.iter().filter(|n| !n.control_plane).count();
            let tainted = ready_nodes - workers;
            return Some(Blocker::Unschedulable {
                message: format!(
                    "0/{ready_nodes} nodes are available: {workers} node(s) didn't match Pod's node affinity/selector, {tainted} node(s) had untolerated taint {{node-role.kubernetes.io/control-plane: }}. preemption: 0/{ready_nodes} nodes are available: {ready_nodes} Preemption is not helpful for scheduling."
                ),
            });
        }
        for (_, source) in &pod.spec.volumes {
            if let VolumeSource::Pvc { claim } = source
                && ns.pvcs.get(claim).is_none_or(|c| c.phase != ClaimPhase::Bound)
            {
                return Some(Blocker::UnboundClaim);
            }
        }
        let container = pod.spec.containers.first()?;
        if !self.images.contains_key(&container.image) {
            return Some(Blocker::ImagePull {
                image: container.image.clone(),
            })
        }
        for c in &ns.conditions {
            if c.service != pod.deployment {
                continue;
            }
            match &c.effect {
                Effect::PodFailure { .. } => {
                    if let Some(until) = c.until {
                        return Some(Blocker::ChaosPodFailure { until });
                    }
                }
                Effect::PodKill { .. } => {
                    if let Some(until) = c.until
                        && pod.created_at >= c.since
                    {
                        return Some(Blocker::Creating { until });
                    }
                }
                _ => {}
            }
        }
        if let Some(binary) = container.command.first() {
            let known = ns
                .app
                .services
                .iter()
                .any(|s| s.command.first() == Some(binary));
            if !known {
                return Some(Blocker::ExecNotFound {
                    binary: binary.clone(),
                });
            }
        }
        if let Some(spec) = spec {
            for required in &spec.required_env {
                if !container.env.iter().any(|e| &e.name == required) {
                    return Some(Blocker::MissingEnv {
                        name: required.clone(),
                    });
                }
            }
            let port = container.ports.first().copied().unwrap_or(spec.container_port());
            if let Some(probe) = &container.liveness
                && probe_broken(probe, spec, port)
            {
                let ip = pod.ip.clone().unwrap_or_default();
                return Some(Blocker::Liveness {
                    message: probe_failure(probe, &ip, "Liveness"),
                    run_s: f64::from(probe.initial_delay_seconds + probe.period_seconds * probe.failure_threshold),
                });
            }
            if let Some(probe) = &container.readiness
                && probe_broken(probe, spec, port)
            {
                let ip = pod.ip.clone().unwrap_or_default();
                return Some(Blocker::Readiness {
                    message: probe_failure(probe, &ip, "Readiness"),
                });
            }
            for c in &ns.conditions {
                if c.service != pod.deployment {
                    continue;
                }
                if let Effect::MemoryLeak { mib_per_min } = &c.effect
                    && let Some(limit) = &container.memory_limit
                {
                    let limit_mib = parse_mib(limit);
                    if limit_mib > 0.0 && *mib_per_min > 0.0 {
                        let fill_s = ((limit_mib - spec.memory_mib).max(1.0) / mib_per_min) * 60.0;
                        return Some(Blocker::Oom {
                            fill_s,
                            limit: limit.clone(),
                        });
                    }
                }
            }
        }
        None
    }
}

/// A probe is broken when it points somewhere the process does not answer: a port other than
/// the container's or the ones the spec's own probes use, or a path the service does not serve.
fn probe_broken(probe: &crate::suite::schema::ProbeSpec, spec: &crate::suite::schema::ServiceSpec, port: u16) -> bool {
    let spec_ports: Vec<u16> = [&spec.liveness, &spec.readiness]
        .into_iter()
        .flatten()
        .filter_map(|p| p.port)
        .collect();
    match probe.kind.as_str() {
        "http-get" | "tcp-socket" => {
            probe.port.is_some_and(|p| p != port && !spec_ports.contains(&p))
                || probe
                    .path
                    .as_deref()
                    .is_some_and(|p| !spec_probe_paths(spec).contains(&p))
        }
        "exec" => probe.command.first().is_some_and(|c| c.contains("nonexistent")),
        _ => true,
    }
}

/// Paths the service answers probes on: those of its spec's own probes, plus common health paths.
fn spec_probe_paths(spec: &crate::suite::schema::ServiceSpec) -> Vec<&str> {
    let mut paths = vec!["/", "/health", "/healthz", "/ready", "/readyz", "/livez"];
    for p in [&spec.liveness, &spec.readiness].into_iter().flatten() {
        if let Some(path) = &p.path {
            paths.push(path.as_str());
        }
    }
    paths
}

fn probe_failure(probe: &crate::suite::schema::ProbeSpec, ip: &str, which: &str) -> String {
    let port = probe.port.unwrap_or(80);
    match probe.kind.as_str() {
        "http-get" => format!(
            "{which} probe failed: Get \"http://{ip}:{port}{}\": dial tcp {ip}:{port}: connect: connection refused",
            probe.path.as_deref().unwrap_or("/")
        ),
        "tcp-socket" => format!("{which} probe failed: dial tcp {ip}:{port}: connect: connection refused"),
        _ => format!("{which} probe errored: rpc error: code = Unknown desc = failed to exec in container"),
    }
}

/// Parses a Kubernetes memory quantity into MiB (`512Mi`, `1Gi`, `300M`).
pub fn parse_mib(q: &str) -> f64 {
    let q = q.trim();
    let (num, unit) = q.split_at(q.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(q.len()));
    let n: f64 = num.parse().unwrap_or(0.0);
    match unit {
        "Ki" => n / 1024.0,
        "Mi" => n,
        "Gi" => n * 1024.0,
        "K" | "k" => n * 1000.0 / 1_048_576.0,
        "M" => n * 1_000_000.0 / 1_048_576.0,
        "G" => n * 1_000_000_000.0 / 1_048_576.0,
        "" => n / 1_048_576.0,
        _ => 0.0,
    }
}

/// Parses a CPU quantity into millicores (`100m`, `1`, `0.5`).
pub fn parse_millis(q: &str) -> f64 {
    let q = q.trim();
    if let Some(m) = q.strip_suffix('m') {
        m.parse().unwrap_or(0.0)
    } else {
        q.parse::<f64>().map(|c| c * 1000.0).unwrap_or(0.0)
    }
}

impl Cluster {
    /// Lets `seconds` of simulated time pass, then reconciles.
    pub fn advance(&mut self, seconds: f64) {
        self.now += seconds;
        self.reconcile();
    }

    /// Records the deployment's current `template` as a new revision (when it differs from the
    /// last one) and rolls its pods. Call after changing `Deployment::template`.
    pub fn new_revision(&mut self, namespace: &str, deployment: &str, change_cause: Option<String>) {
        let Some(template) = self
            .namespaces
            .get(namespace)
            .and_then(|ns| ns.deployments.get(deployment))
            .map(|d| d.template.clone())
        else {
            return;
        };
        let unchanged = self
            .namespaces
            .get(namespace)
            .and_then(|ns| ns.deployments.get(deployment))
            .and_then(|d| d.current_revision())
            .is_some_and(|r| r.template == template);
        if unchanged {
            return;
        }
        // Going back to an earlier template reuses its ReplicaSet hash, as Kubernetes does.
        let reuse = self
            .namespaces
            .get(namespace)
            .and_then(|ns| ns.deployments.get(deployment))
            .and_then(|d| d.revisions.iter().find(|r| r.template == template))
            .map(|r| r.hash.clone());
        let hash = match reuse {
            Some(h) => h,
            None => self.template_hash(),
        };
        let now = self.now;
        if let Some(d) = self
            .namespaces
            .get_mut(namespace)
            .and_then(|ns| ns.deployments.get_mut(deployment))
        {
            let number = d.revisions.iter().map(|r| r.number).max().unwrap_or(0) + 1;
            d.revisions.retain(|r| r.hash != hash);
            d.revisions.push(Revision {
                number,
                template,
                hash: hash.clone(),
                change_cause,
                created_at: now,
            });
            d.generation += 1;
        }
        self.emit_event(
            namespace,
            "Normal",
            "ScalingReplicaSet",
            &format!("deployment/{deployment}"),
            &format!("Scaled up replica set {deployment}-{hash} from 0 to 1"),
            "deployment-controller",
        );
    }

    /// Records an event, folding repeats of the same (object, reason, message) into a count.
    pub fn emit_event(
        &mut self,
        namespace: &str,
        event_type: &str,
        reason: &str,
        object: &str,
        message: &str,
        source: &str,
    ) {
        let now = self.now;
        if let Some(e) = self.events.iter_mut().find(|e| {
            e.namespace == namespace && e.object == object && e.reason == reason && e.message == message
        }) {
            e.count += 1;
            e.last_seen = now;
            return;
        }
        self.events.push(Event {
            namespace: namespace.to_string(),
            event_type: event_type.to_string(),
            reason: reason.to_string(),
            object: object.to_string(),
            message: message.to_string(),
            source: source.to_string(),
            first_seen: now,
            last_seen: now,
            count: 1,
        });
    }

    /// A fresh serial number for generated names and ids.
    pub fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// A random lowercase alphanumeric suffix like Kubernetes' (`x2kqz`).
    pub fn random_suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| ALPHABET[self.rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_loop_backs_off_like_kubelet() {
        // 10 s runs: exit at 10, restart at 20, exit at 30, restart at 50, exit 60, restart 100
        let s = crash_loop(5.0, 10.0);
        assert_eq!((s.exits, s.restarts, s.running_since.is_some()), (0, 0, true));
        let s = crash_loop(15.0, 10.0);
        assert_eq!((s.exits, s.restarts, s.running_since.is_some()), (1, 0, false));
        let s = crash_loop(25.0, 10.0);
        assert_eq!((s.exits, s.restarts, s.running_since), (1, 1, Some(20.0)));
        let s = crash_loop(70.0, 10.0);
        assert_eq!((s.exits, s.restarts), (3, 2));
        let s = crash_loop(10_000.0, 0.5);
        assert!(s.restarts > 30 && s.backoff <= 300.0);
    }

    #[test]
    fn quantities_parse() {
        assert_eq!(parse_mib("1Gi"), 1024.0);
        assert_eq!(parse_mib("300Mi"), 300.0);
        assert_eq!(parse_millis("100m"), 100.0);
        assert_eq!(parse_millis("2"), 2000.0);
    }
}
