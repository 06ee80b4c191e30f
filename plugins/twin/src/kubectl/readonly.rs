//! JSON views of the objects kubectl only reads: pods, ReplicaSets, nodes, endpoints, events,
//! namespaces.

use super::objects::pod_spec_json;
use super::table::rfc3339;
use super::view::{self, RsView};
use crate::cluster::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

fn str_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn meta(
    name: &str,
    ns: Option<&str>,
    created: SimTime,
    labels: &BTreeMap<String, String>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("creationTimestamp".into(), json!(rfc3339(created)));
    if !labels.is_empty() {
        m.insert("labels".into(), str_map(labels));
    }
    m.insert("name".into(), json!(name));
    if let Some(ns) = ns {
        m.insert("namespace".into(), json!(ns));
    }
    let rv = super::table::stable_hash(&[ns.unwrap_or(""), name, "rv"]) % 900_000 + 100_000;
    m.insert("resourceVersion".into(), json!(rv.to_string()));
    m.insert(
        "uid".into(),
        json!(view::uid_for(&[
            ns.unwrap_or(""),
            name,
            &created.to_string()
        ])),
    );
    m
}

/// The QoS class Kubernetes assigns from requests and limits.
pub fn qos_class(t: &PodTemplate) -> &'static str {
    let none = t.containers.iter().all(|c| {
        c.cpu_request.is_none()
            && c.cpu_limit.is_none()
            && c.memory_request.is_none()
            && c.memory_limit.is_none()
    });
    if none {
        return "BestEffort";
    }
    let guaranteed = t.containers.iter().all(|c| {
        c.cpu_limit.is_some()
            && c.memory_limit.is_some()
            && (c.cpu_request.is_none() || c.cpu_request == c.cpu_limit)
            && (c.memory_request.is_none() || c.memory_request == c.memory_limit)
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

pub fn state_json(s: &ContainerState) -> Value {
    match s {
        ContainerState::Waiting { reason, message } => {
            let mut m = Map::new();
            if !message.is_empty() {
                m.insert("message".into(), json!(message));
            }
            m.insert("reason".into(), json!(reason));
            json!({ "waiting": m })
        }
        ContainerState::Running { started_at } => {
            json!({"running": {"startedAt": rfc3339(*started_at)}})
        }
        ContainerState::Terminated {
            reason,
            exit_code,
            started_at,
            finished_at,
        } => json!({"terminated": {
            "containerID": "", "exitCode": exit_code, "finishedAt": rfc3339(*finished_at),
            "reason": reason, "startedAt": rfc3339(*started_at)}}),
    }
}

/// The scheduler's message for an unscheduled pod, from its latest FailedScheduling event.
pub fn scheduling_message(cluster: &Cluster, ns: &str, pod: &str) -> Option<String> {
    let obj = format!("pod/{pod}");
    cluster
        .events_in(Some(ns))
        .filter(|e| e.object == obj && e.reason == "FailedScheduling")
        .last()
        .map(|e| e.message.clone())
}

/// A pod condition: its type, whether it holds, and (reason, message) when it does not.
pub type PodCondition = (&'static str, bool, Option<(String, String)>);

pub fn pod_conditions(cluster: &Cluster, ns: &str, p: &Pod) -> Vec<PodCondition> {
    if p.node.is_none() {
        let msg = scheduling_message(cluster, ns, &p.name).unwrap_or_default();
        return vec![(
            "PodScheduled",
            false,
            Some(("Unschedulable".to_string(), msg)),
        )];
    }
    let started = !p.containers.is_empty()
        && p.containers.iter().any(|c| !matches!(&c.state, ContainerState::Waiting { reason, .. } if reason == "ContainerCreating"));
    let ready = p.is_ready();
    let nr = || {
        Some((
            "ContainersNotReady".to_string(),
            format!(
                "containers with unready status: [{}]",
                p.containers
                    .iter()
                    .filter(|c| !c.ready)
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ))
    };
    vec![
        ("PodReadyToStartContainers", started, None),
        ("Initialized", true, None),
        ("Ready", ready, if ready { None } else { nr() }),
        ("ContainersReady", ready, if ready { None } else { nr() }),
        ("PodScheduled", true, None),
    ]
}

pub fn pod_json(cluster: &Cluster, ns: &str, p: &Pod) -> Value {
    let mut m = meta(&p.name, Some(ns), p.created_at, &p.labels);
    m.insert("uid".into(), json!(p.uid));
    if let Some(owner) = view::pod_owner(p) {
        m.insert("generateName".into(), json!(format!("{owner}-")));
        m.insert("ownerReferences".into(), json!([{ "apiVersion": "apps/v1", "blockOwnerDeletion": true,
            "controller": true, "kind": "ReplicaSet", "name": owner, "uid": view::uid_for(&[ns, &owner]) }]));
    }
    if p.deleting {
        m.insert("deletionGracePeriodSeconds".into(), json!(30));
        m.insert("deletionTimestamp".into(), json!(rfc3339(cluster.now)));
    }
    let mut spec = pod_spec_json(&p.spec);
    spec.insert("enableServiceLinks".into(), json!(true));
    if let Some(n) = &p.node {
        spec.insert("nodeName".into(), json!(n));
    }
    spec.insert("preemptionPolicy".into(), json!("PreemptLowerPriority"));
    spec.insert("priority".into(), json!(0));
    spec.insert("serviceAccount".into(), json!("default"));
    spec.insert("serviceAccountName".into(), json!("default"));
    spec.insert("tolerations".into(), json!([
        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}]));
    let mut status = Map::new();
    let conds: Vec<Value> = pod_conditions(cluster, ns, p)
        .into_iter()
        .map(|(t, ok, why)| {
            let mut c = Map::new();
            c.insert("lastProbeTime".into(), Value::Null);
            c.insert("lastTransitionTime".into(), json!(rfc3339(p.created_at)));
            if let Some((reason, message)) = why {
                c.insert("message".into(), json!(message));
                c.insert("reason".into(), json!(reason));
            }
            c.insert("status".into(), json!(if ok { "True" } else { "False" }));
            c.insert("type".into(), json!(t));
            Value::Object(c)
        })
        .collect();
    status.insert("conditions".into(), Value::Array(conds));
    if !p.containers.is_empty() {
        let cs: Vec<Value> = p
            .containers
            .iter()
            .map(|c| {
                let mut m = Map::new();
                if !c.container_id.is_empty() {
                    m.insert("containerID".into(), json!(c.container_id));
                }
                m.insert("image".into(), json!(c.image));
                m.insert("imageID".into(), json!(c.image_id));
                m.insert(
                    "lastState".into(),
                    c.last_state.as_ref().map_or(json!({}), state_json),
                );
                m.insert("name".into(), json!(c.name));
                m.insert("ready".into(), json!(c.ready));
                m.insert("restartCount".into(), json!(c.restart_count));
                m.insert(
                    "started".into(),
                    json!(matches!(c.state, ContainerState::Running { .. })),
                );
                m.insert("state".into(), state_json(&c.state));
                Value::Object(m)
            })
            .collect();
        status.insert("containerStatuses".into(), Value::Array(cs));
    }
    if let Some(node) = p.node.as_ref().and_then(|n| cluster.node(n)) {
        status.insert("hostIP".into(), json!(node.internal_ip));
        status.insert("hostIPs".into(), json!([{"ip": node.internal_ip}]));
    }
    status.insert("phase".into(), json!(p.phase.as_str()));
    if let Some(ip) = &p.ip {
        status.insert("podIP".into(), json!(ip));
        status.insert("podIPs".into(), json!([{"ip": ip}]));
    }
    status.insert("qosClass".into(), json!(qos_class(&p.spec)));
    if p.node.is_some() {
        status.insert("startTime".into(), json!(rfc3339(p.created_at)));
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": status})
}

pub fn rs_json(ns: &str, rs: &RsView<'_>) -> Value {
    let mut m = meta(&rs.name, Some(ns), rs.created_at, &rs.labels());
    let mut ann = BTreeMap::new();
    ann.insert(
        "deployment.kubernetes.io/desired-replicas".to_string(),
        rs.deployment.replicas.to_string(),
    );
    ann.insert(
        "deployment.kubernetes.io/max-replicas".to_string(),
        (rs.deployment.replicas + 1).to_string(),
    );
    ann.insert(
        "deployment.kubernetes.io/revision".to_string(),
        rs.revision.to_string(),
    );
    m.insert("annotations".into(), str_map(&ann));
    m.insert(
        "ownerReferences".into(),
        json!([{ "apiVersion": "apps/v1", "blockOwnerDeletion": true,
        "controller": true, "kind": "Deployment", "name": rs.deployment.name,
        "uid": view::uid_for(&[ns, &rs.deployment.name, &rs.deployment.created_at.to_string()]) }]),
    );
    let mut tmeta = Map::new();
    tmeta.insert("creationTimestamp".into(), Value::Null);
    tmeta.insert("labels".into(), str_map(&rs.labels()));
    let mut status = Map::new();
    if rs.ready > 0 {
        status.insert("availableReplicas".into(), json!(rs.ready));
        status.insert("readyReplicas".into(), json!(rs.ready));
    }
    status.insert("fullyLabeledReplicas".into(), json!(rs.current));
    status.insert("observedGeneration".into(), json!(1));
    status.insert("replicas".into(), json!(rs.current));
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": m,
        "spec": {"replicas": rs.desired, "selector": {"matchLabels": str_map(&rs.selector())},
                 "template": {"metadata": tmeta, "spec": pod_spec_json(rs.template)}},
        "status": status})
}

pub fn node_labels(n: &Node) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    for (k, v) in [
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", n.name.as_str()),
        ("kubernetes.io/os", "linux"),
    ] {
        l.insert(k.to_string(), v.to_string());
    }
    if n.control_plane {
        l.insert(
            "node-role.kubernetes.io/control-plane".into(),
            String::new(),
        );
        l.insert(
            "node.kubernetes.io/exclude-from-external-load-balancers".into(),
            String::new(),
        );
    }
    l
}

pub const OS_IMAGE: &str = "Debian GNU/Linux 12 (bookworm)";
pub const KERNEL: &str = "6.8.0-1021-azure";
pub const RUNTIME: &str = "containerd://1.7.24";

pub fn node_json(n: &Node) -> Value {
    let mut m = meta(&n.name, None, n.created_at, &node_labels(n));
    m.insert(
        "annotations".into(),
        json!({
        "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true"}),
    );
    let cidr = format!("{}.0/24", n.pod_cidr);
    let mut spec = Map::new();
    spec.insert("podCIDR".into(), json!(cidr));
    spec.insert("podCIDRs".into(), json!([cidr]));
    spec.insert(
        "providerID".into(),
        json!(format!("kind://docker/kind/{}", n.name)),
    );
    if n.control_plane {
        spec.insert(
            "taints".into(),
            json!([{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}]),
        );
    }
    let res = json!({"cpu": format!("{}", n.cpu_millis / 1000), "ephemeral-storage": "102626232Ki",
        "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": format!("{}Ki", n.memory_mib * 1024), "pods": "110"});
    let t = rfc3339(n.created_at);
    let cond = |ty: &str, st: &str, reason: &str, msg: &str| {
        json!({"lastHeartbeatTime": t, "lastTransitionTime": t,
        "message": msg, "reason": reason, "status": st, "type": ty})
    };
    json!({"apiVersion": "v1", "kind": "Node", "metadata": m, "spec": spec, "status": {
        "addresses": [{"address": n.internal_ip, "type": "InternalIP"}, {"address": n.name, "type": "Hostname"}],
        "allocatable": res, "capacity": res,
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"architecture": "amd64", "bootID": view::uid_for(&[&n.name, "boot"]),
            "containerRuntimeVersion": RUNTIME, "kernelVersion": KERNEL, "kubeProxyVersion": n.kubelet_version,
            "kubeletVersion": n.kubelet_version, "machineID": view::uid_for(&[&n.name, "machine"]).replace('-', ""),
            "operatingSystem": "linux", "osImage": OS_IMAGE, "systemUUID": view::uid_for(&[&n.name, "sys"])}}})
}

pub fn endpoints_json(ns: &Namespace, s: &Service) -> Value {
    let ep = view::endpoints(ns, s);
    let addr = |list: &[(&Pod, String)]| -> Vec<Value> {
        list.iter()
            .map(|(p, ip)| {
                json!({"ip": ip, "nodeName": p.node.clone().unwrap_or_default(),
                "targetRef": {"kind": "Pod", "name": p.name, "namespace": ns.name, "uid": p.uid}})
            })
            .collect()
    };
    let mut subset = Map::new();
    if !ep.ready.is_empty() {
        subset.insert("addresses".into(), Value::Array(addr(&ep.ready)));
    }
    if !ep.not_ready.is_empty() {
        subset.insert(
            "notReadyAddresses".into(),
            Value::Array(addr(&ep.not_ready)),
        );
    }
    let mut m = meta(&s.name, Some(&ns.name), s.created_at, &s.labels);
    m.insert(
        "annotations".into(),
        json!({"endpoints.kubernetes.io/last-change-trigger-time": rfc3339(s.created_at)}),
    );
    let mut v = Map::new();
    v.insert("apiVersion".into(), json!("v1"));
    v.insert("kind".into(), json!("Endpoints"));
    v.insert("metadata".into(), Value::Object(m));
    if !subset.is_empty() {
        subset.insert(
            "ports".into(),
            Value::Array(
                s.ports
                    .iter()
                    .map(|p| json!({"name": p.name, "port": p.target_port, "protocol": p.protocol}))
                    .collect(),
            ),
        );
        v.insert("subsets".into(), json!([subset]));
    }
    Value::Object(v)
}

/// `pod` → `Pod` for event objects.
pub fn kind_of(prefix: &str) -> &str {
    match prefix {
        "pod" => "Pod",
        "deployment" => "Deployment",
        "replicaset" => "ReplicaSet",
        "service" => "Service",
        "node" => "Node",
        "persistentvolumeclaim" => "PersistentVolumeClaim",
        "persistentvolume" => "PersistentVolume",
        "endpoints" => "Endpoints",
        "configmap" => "ConfigMap",
        "namespace" => "Namespace",
        other => other,
    }
}

/// The event's object name (`geo-x.17f0c3a2b1d4e5f6`).
pub fn event_name(e: &Event) -> String {
    let name = e
        .object
        .split_once('/')
        .map_or(e.object.as_str(), |(_, n)| n);
    let nanos = (e.first_seen * 1e9) as u64;
    let h = super::table::stable_hash(&[&e.reason, &e.message]) % 1_000_000;
    format!("{name}.{:x}", nanos.wrapping_add(h))
}

pub fn event_json(e: &Event) -> Value {
    let (prefix, name) = e.object.split_once('/').unwrap_or((e.object.as_str(), ""));
    let kind = kind_of(prefix);
    let api = if matches!(kind, "Deployment" | "ReplicaSet") {
        "apps/v1"
    } else {
        "v1"
    };
    let mut source = Map::new();
    source.insert("component".into(), json!(e.source));
    if e.source == "kubelet" {
        source.insert("host".into(), json!("kind-worker"));
    }
    json!({"apiVersion": "v1", "count": e.count, "eventTime": null, "firstTimestamp": rfc3339(e.first_seen),
        "involvedObject": {"apiVersion": api, "kind": kind, "name": name, "namespace": e.namespace},
        "kind": "Event", "lastTimestamp": rfc3339(e.last_seen), "message": e.message,
        "metadata": {"creationTimestamp": rfc3339(e.first_seen), "name": event_name(e), "namespace": e.namespace,
            "resourceVersion": (super::table::stable_hash(&[&event_name(e)]) % 900_000 + 100_000).to_string(),
            "uid": view::uid_for(&[&event_name(e)])},
        "reason": e.reason, "reportingComponent": e.source, "reportingInstance": "", "source": source, "type": e.event_type})
}

pub fn namespace_json(name: &str, created: SimTime) -> Value {
    let mut labels = BTreeMap::new();
    labels.insert("kubernetes.io/metadata.name".to_string(), name.to_string());
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, None, created, &labels),
        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

/// Namespaces kind creates by itself.
pub const SYSTEM_NAMESPACES: [&str; 5] = [
    "default",
    "kube-node-lease",
    "kube-public",
    "kube-system",
    "local-path-storage",
];

/// Every namespace with its creation time, sorted by name.
pub fn all_namespaces(c: &Cluster) -> Vec<(String, SimTime)> {
    let base = c
        .nodes
        .iter()
        .map(|n| n.created_at)
        .fold(c.now - 86_400.0 * 3.0, f64::min);
    let mut v: Vec<(String, SimTime)> = SYSTEM_NAMESPACES
        .iter()
        .map(|n| (n.to_string(), base))
        .collect();
    for ns in c.namespaces.values() {
        if !SYSTEM_NAMESPACES.contains(&ns.name.as_str()) {
            v.push((ns.name.clone(), ns.created_at));
        }
    }
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A list wrapper, as `kubectl get -o json` prints several objects.
pub fn list_json(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}
