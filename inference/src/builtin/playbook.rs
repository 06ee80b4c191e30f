//! The Observer's reasoning: which read to run next, given what is known. Discovery first, then
//! diagnosis that follows the evidence (crash loops, pending pods, port mismatches, trace and
//! metric hotspots, log signals), each call at most once.

use super::diagnose::{
    self, crashing_owners, db_of, error_hotspot, is_astronomy, port_mismatches, recent_restart,
    resource_hotspot, slow_hotspot, young,
};
use super::findings::{Findings, Signal};
use aoi_core::ToolCall;

/// A wanted read and why.
pub struct Want {
    pub call: ToolCall,
    pub why: String,
}

fn sh(cmd: String, why: &str) -> Want {
    Want {
        call: ToolCall::exec_shell(cmd),
        why: why.to_string(),
    }
}

fn logs(ns: &str, svc: &str, why: &str) -> Want {
    Want {
        call: ToolCall::get_logs(ns, svc),
        why: why.to_string(),
    }
}

/// The discovery calls, in order.
pub fn discovery(ns: &str) -> Vec<Want> {
    vec![
        sh(
            format!("kubectl get pods -n {ns} -o wide"),
            "discovery: pod status, restarts, nodes",
        ),
        sh(
            format!("kubectl get deployments -n {ns} -o wide"),
            "discovery: replicas and images",
        ),
        sh(
            format!("kubectl get events -n {ns} --sort-by=.lastTimestamp"),
            "discovery: recent events",
        ),
        sh(
            format!("kubectl get svc -n {ns}"),
            "discovery: service ports",
        ),
        sh(
            format!("kubectl get endpoints -n {ns}"),
            "discovery: endpoint ports",
        ),
    ]
}

/// Whether structural evidence (pods, deployments, services) already shows a fault.
pub fn structural(f: &Findings) -> bool {
    f.pods.iter().any(|p| p.pending() || p.crashing())
        || f.deployments.values().any(|d| d.desired == 0)
        || !port_mismatches(f).is_empty()
}

fn describe(f: &Findings, ns: &str, owner: &str, why: &str) -> Option<Want> {
    let mut pods: Vec<&super::findings::PodFact> = f.pods_of(owner).collect();
    pods.sort_by_key(|p| p.healthy());
    let pod = pods.first()?;
    Some(sh(
        format!("kubectl describe pod {} -n {ns}", pod.name),
        why,
    ))
}

/// Diagnosis of one suspect service: its pod, its logs, and its DB's logs when the logs or the
/// fault class point at the database.
fn suspect(f: &Findings, ns: &str, owner: &str, why: &str, out: &mut Vec<Want>) {
    out.extend(describe(f, ns, owner, why));
    if f.known_names().iter().any(|k| k == owner) {
        out.push(logs(ns, owner, why));
    }
    // A crash-looping container caught in a run that has not failed yet prints only its
    // start-up lines: the previous run's output says why it exits.
    // Only while no log read so far explains anything, and only for a pod that has run.
    // A fatal cause a process exits on; anything else in a crash-looping pod's current run does
    // not explain the crash.
    let explains_crash = |l: &super::findings::LogFacts| {
        [
            Signal::Panic,
            Signal::NoReachableServers,
            Signal::AuthFailed,
            Signal::NotAuthorized,
            Signal::Tls,
            Signal::OutOfMemory,
        ]
        .iter()
        .any(|s| l.signals.contains(s))
    };
    if let Some(l) = f.logs.get(owner)
        && !explains_crash(l)
        && !f.logs.values().any(explains_crash)
        && let Some(pod) = f
            .pods_of(owner)
            .find(|p| p.restarts > 0 && p.crashing() && !p.pending())
    {
        out.push(sh(
            format!("kubectl logs {} -n {ns} --previous", pod.name),
            "the previous run's output",
        ));
    }
    if let Some(l) = f.logs.get(owner) {
        let db_trouble = [
            Signal::AuthFailed,
            Signal::NotAuthorized,
            Signal::Tls,
            Signal::NoReachableServers,
        ]
        .iter()
        .any(|s| l.signals.contains(s));
        if db_trouble && let Some(db) = db_of(f, owner) {
            out.push(logs(ns, &db, "its database"));
            out.extend(describe(f, ns, &db, "its database"));
        }
    }
}

/// Services to sweep for log signals in the Astronomy Shop, most telling first.
const ASTRONOMY_SWEEP: &[&str] = &[
    "ad",
    "cart",
    "payment",
    "checkout",
    "recommendation",
    "fraud-detection",
    "accounting",
    "kafka",
    "product-catalog",
    "frontend",
    "load-generator",
];

/// Every read worth running now, in priority order (already-run ones are filtered by the caller).
pub fn wanted(f: &Findings, ns: &str) -> Vec<Want> {
    let mut w = discovery(ns);
    if !f.pods_seen {
        w.push(sh(
            format!("kubectl get pods -n {ns}"),
            "discovery: pod status",
        ));
    }
    if f.deployments.is_empty() {
        w.push(sh(
            format!("kubectl get deployments -n {ns}"),
            "discovery: replicas",
        ));
    }
    // Pending pods: why they do not schedule.
    let pending: Vec<String> = {
        let mut v: Vec<String> = f
            .pods
            .iter()
            .filter(|p| p.pending())
            .map(|p| p.owner.clone())
            .collect();
        v.dedup();
        v
    };
    for owner in pending.iter().take(2) {
        w.extend(describe(
            f,
            ns,
            owner,
            "pending pod: why it does not schedule",
        ));
    }
    let volume = f
        .events
        .iter()
        .any(|e| e.message.contains("PersistentVolumeClaim"))
        || f.described.values().any(|d| {
            d.events
                .iter()
                .any(|e| e.2.contains("PersistentVolumeClaim"))
        });
    if volume {
        w.push(sh(
            format!("kubectl get pvc -n {ns}"),
            "pending on volumes: claims",
        ));
        w.push(sh(
            "kubectl get pv".to_string(),
            "pending on volumes: volumes",
        ));
    }
    if pending.iter().any(|o| {
        f.described
            .get(o)
            .is_some_and(|d| !d.node_selectors.is_empty())
    }) {
        w.push(sh(
            "kubectl get nodes".to_string(),
            "node selector: which nodes exist",
        ));
    }
    for (svc, _, _) in port_mismatches(f) {
        w.extend(describe(
            f,
            ns,
            &svc,
            "endpoint port differs from the service port",
        ));
    }
    for owner in crashing_owners(f).iter().take(2) {
        suspect(f, ns, owner, "crash loop", &mut w);
    }
    for p in f
        .pods
        .iter()
        .filter(|p| (p.status == "Running" && p.ready < p.total) || recent_restart(p))
        .take(2)
    {
        suspect(
            f,
            ns,
            &p.owner.clone(),
            "not ready or recently restarted",
            &mut w,
        );
    }
    if !structural(f) {
        w.push(Want {
            call: ToolCall::get_traces(ns, 5),
            why: "traces: where errors and latency land".into(),
        });
        if let Some(p) = &f.traces_path {
            w.push(Want {
                call: ToolCall::read_traces(p),
                why: "read the traces".into(),
            });
        }
        w.push(Want {
            call: ToolCall::get_metrics(ns, 5),
            why: "metrics: resource trends".into(),
        });
        for key in ["cpu_usage", "working_set"] {
            if let Some(file) = f.metrics_files.iter().find(|m| m.contains(key)) {
                w.push(Want {
                    call: ToolCall::read_metrics(file),
                    why: format!("metrics: {key}"),
                });
            }
        }
        let entry = ["nginx-thrift", "frontend"]
            .into_iter()
            .find(|e| f.known_names().iter().any(|k| k == e));
        if let Some(e) = entry {
            w.push(logs(ns, e, "entry point logs: which backend fails"));
        }
        // A proxy in front of the entry keeps an access log: status and duration per request.
        if f.known_names().iter().any(|k| k == "frontend-proxy")
            && slow_hotspot(f).is_none()
            && error_hotspot(f).is_none()
        {
            w.push(logs(
                ns,
                "frontend-proxy",
                "proxy access log: slow or failing requests",
            ));
        }
        let hot = [error_hotspot(f), slow_hotspot(f), resource_hotspot(f)];
        for svc in hot.into_iter().flatten() {
            suspect(f, ns, &svc, "hotspot in traces or metrics", &mut w);
        }
        for p in f.pods.iter().filter(|p| young(f, p)).take(2) {
            let owner = p.owner.clone();
            suspect(f, ns, &owner, "recently recreated pod", &mut w);
            for c in diagnose::clients_of(f, &owner) {
                w.push(logs(ns, &c, "client of a recreated database"));
            }
        }
        if is_astronomy(f) && diagnose::log_hotspot(f).is_none() {
            for svc in ASTRONOMY_SWEEP {
                if f.known_names().iter().any(|k| k == svc) {
                    w.push(logs(ns, svc, "log sweep for flag signals"));
                }
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_comes_first() {
        let f = Findings::default();
        let w = wanted(&f, "ns");
        assert_eq!(
            w[0].call,
            ToolCall::exec_shell("kubectl get pods -n ns -o wide")
        );
        assert!(w.iter().any(|x| x.call.tool == "get_traces"));
    }
}
