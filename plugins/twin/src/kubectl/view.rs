//! Derived views of the model that kubectl shows but the model does not store: ReplicaSets,
//! Endpoints, deployment status, a pod's STATUS column.

use crate::cluster::{ContainerState, Deployment, Namespace, Pod, PodTemplate, Service, SimTime};
use std::collections::BTreeMap;

/// A ReplicaSet, one per distinct revision of a deployment.
#[derive(Debug, Clone)]
pub struct RsView<'a> {
    pub name: String,
    pub hash: String,
    pub revision: u32,
    pub template: &'a PodTemplate,
    pub created_at: SimTime,
    pub desired: u32,
    pub current: u32,
    pub ready: u32,
    pub deployment: &'a Deployment,
    pub change_cause: Option<String>,
}

impl RsView<'_> {
    pub fn selector(&self) -> BTreeMap<String, String> {
        let mut s = self.deployment.selector.clone();
        s.insert("pod-template-hash".to_string(), self.hash.clone());
        s
    }
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut s = self.template.labels.clone();
        s.insert("pod-template-hash".to_string(), self.hash.clone());
        s
    }
}

/// The pods a deployment owns (not being deleted).
pub fn deployment_pods<'a>(ns: &'a Namespace, d: &'a str) -> impl Iterator<Item = &'a Pod> + 'a {
    ns.pods
        .values()
        .filter(move |p| p.deployment == d && !p.deleting)
}

/// Every ReplicaSet of a namespace, by deployment then revision.
pub fn replica_sets(ns: &Namespace) -> Vec<RsView<'_>> {
    let mut out = Vec::new();
    for d in ns.deployments.values() {
        let current = d
            .current_revision()
            .map(|r| r.hash.clone())
            .unwrap_or_default();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, r) in d.revisions.iter().enumerate() {
            seen.insert(r.hash.as_str(), i);
        }
        let mut idx: Vec<usize> = seen.values().copied().collect();
        idx.sort_unstable();
        for i in idx {
            let r = &d.revisions[i];
            let pods: Vec<&Pod> = deployment_pods(ns, &d.name)
                .filter(|p| p.rs_hash == r.hash)
                .collect();
            out.push(RsView {
                name: format!("{}-{}", d.name, r.hash),
                hash: r.hash.clone(),
                revision: r.number,
                template: &r.template,
                created_at: r.created_at,
                desired: if r.hash == current { d.replicas } else { 0 },
                current: pods.len() as u32,
                ready: pods.iter().filter(|p| p.is_ready()).count() as u32,
                deployment: d,
                change_cause: r.change_cause.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A deployment's status counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeployStatus {
    pub replicas: u32,
    pub updated: u32,
    pub ready: u32,
    pub available: u32,
}

pub fn deploy_status(ns: &Namespace, d: &Deployment) -> DeployStatus {
    let hash = d.current_revision().map(|r| r.hash.as_str()).unwrap_or("");
    let mut s = DeployStatus::default();
    for p in deployment_pods(ns, &d.name) {
        s.replicas += 1;
        if p.rs_hash == hash {
            s.updated += 1;
        }
        if p.is_ready() {
            s.ready += 1;
            s.available += 1;
        }
    }
    s
}

/// Whether `labels` satisfy a service or deployment selector.
pub fn matches(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Endpoints of a service: ready and not-ready addresses (pod, ip), sorted by ip.
pub struct EndpointsView<'a> {
    pub ready: Vec<(&'a Pod, String)>,
    pub not_ready: Vec<(&'a Pod, String)>,
}

pub fn endpoints<'a>(ns: &'a Namespace, svc: &Service) -> EndpointsView<'a> {
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    for p in ns.pods.values() {
        if !matches(&svc.selector, &p.labels) || p.deleting {
            continue;
        }
        let Some(ip) = p.ip.clone() else { continue };
        if p.is_ready() {
            ready.push((p, ip));
        } else {
            not_ready.push((p, ip));
        }
    }
    let key = |ip: &str| -> Vec<u32> { ip.split('.').map(|x| x.parse().unwrap_or(0)).collect() };
    ready.sort_by_key(|(_, ip)| key(ip));
    not_ready.sort_by_key(|(_, ip)| key(ip));
    EndpointsView { ready, not_ready }
}

/// `10.244.1.23:9090,10.244.1.24:9090 + 1 more...` or `<none>`.
pub fn endpoints_cell(ns: &Namespace, svc: &Service) -> String {
    let ep = endpoints(ns, svc);
    let mut list = Vec::new();
    for port in &svc.ports {
        for (_, ip) in &ep.ready {
            list.push(format!("{ip}:{}", port.target_port));
        }
    }
    if list.is_empty() {
        return "<none>".to_string();
    }
    let more = list.len().saturating_sub(3);
    let mut s = list.into_iter().take(3).collect::<Vec<_>>().join(",");
    if more > 0 {
        s.push_str(&format!(" + {more} more..."));
    }
    s
}

/// kubectl's STATUS column for a pod.
pub fn pod_status(pod: &Pod) -> String {
    let mut reason = pod.phase.as_str().to_string();
    let mut has_running = false;
    for c in pod.containers.iter().rev() {
        match &c.state {
            ContainerState::Waiting { reason: r, .. } if !r.is_empty() => reason = r.clone(),
            ContainerState::Terminated {
                reason: r,
                exit_code,
                ..
            } => {
                reason = if r.is_empty() {
                    format!("ExitCode:{exit_code}")
                } else {
                    r.clone()
                };
            }
            ContainerState::Running { .. } if c.ready => has_running = true,
            _ => {}
        }
    }
    if reason == "Completed" && has_running {
        reason = if pod.is_ready() {
            "Running"
        } else {
            "NotReady"
        }
        .to_string();
    }
    if pod.deleting
        && !matches!(
            pod.phase,
            crate::cluster::PodPhase::Succeeded | crate::cluster::PodPhase::Failed
        )
    {
        reason = "Terminating".to_string();
    }
    reason
}

/// `0/1`: ready running containers over the spec's containers.
pub fn pod_ready(pod: &Pod) -> String {
    let ready = pod
        .containers
        .iter()
        .filter(|c| c.ready && matches!(c.state, ContainerState::Running { .. }))
        .count();
    format!(
        "{ready}/{}",
        pod.spec.containers.len().max(pod.containers.len())
    )
}

/// When the pod's containers last restarted, if ever.
pub fn last_restart(pod: &Pod) -> Option<SimTime> {
    let mut last: Option<SimTime> = None;
    for c in &pod.containers {
        let t = c.last_restart_at.or(match &c.last_state {
            Some(ContainerState::Terminated { finished_at, .. }) => Some(*finished_at),
            _ => None,
        });
        if let Some(t) = t {
            last = Some(last.map_or(t, |l: f64| l.max(t)));
        }
    }
    last
}

/// `4 (52s ago)` or `0`.
pub fn pod_restarts(pod: &Pod, now: SimTime) -> String {
    let n = pod.restarts();
    match last_restart(pod) {
        Some(t) if n > 0 => format!("{n} ({} ago)", super::table::age(now, t)),
        _ => n.to_string(),
    }
}

/// `k=v,k2=v2` or `<none>`.
pub fn labels_cell(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        "<none>".to_string()
    } else {
        labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The ReplicaSet name a pod belongs to.
pub fn pod_owner(pod: &Pod) -> Option<String> {
    (!pod.deployment.is_empty()).then(|| format!("{}-{}", pod.deployment, pod.rs_hash))
}

/// A deterministic uid for objects the model keeps none for.
pub fn uid_for(parts: &[&str]) -> String {
    let a = super::table::stable_hash(parts);
    let b = super::table::stable_hash(&[&a.to_string()]);
    let h = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
