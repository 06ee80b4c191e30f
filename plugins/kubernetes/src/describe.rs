//! `kubectl describe`-style text for one object: key fields, conditions, container states. The
//! caller appends the object's events.

use crate::render::{age, created, name, node_status, pod_status, table};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStatus, Node, Pod, PodTemplateSpec, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Annotations that only repeat the object (and may carry a ConfigMap's data): left out.
const HIDDEN_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

fn kv(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{:<18}{value}", format!("{key}:"));
}

fn map(m: Option<&BTreeMap<String, String>>, hidden: &[&str]) -> String {
    let items: Vec<String> = m
        .into_iter()
        .flatten()
        .filter(|(k, _)| !hidden.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if items.is_empty() {
        "<none>".into()
    } else {
        items.join(", ")
    }
}

fn header(out: &mut String, meta: &ObjectMeta, now: Timestamp) {
    kv(out, "Name", name(meta));
    if let Some(ns) = &meta.namespace {
        kv(out, "Namespace", ns);
    }
    kv(out, "Created", format!("{} ago", created(meta, now)));
    kv(out, "Labels", map(meta.labels.as_ref(), &[]));
    kv(
        out,
        "Annotations",
        map(meta.annotations.as_ref(), HIDDEN_ANNOTATIONS),
    );
    for owner in meta
        .owner_references
        .iter()
        .flatten()
        .filter(|o| o.controller == Some(true))
    {
        kv(
            out,
            "Controlled By",
            format!("{}/{}", owner.kind, owner.name),
        );
    }
    if meta.deletion_timestamp.is_some() {
        kv(out, "Deleting", "yes (deletionTimestamp set)");
    }
}

fn state(s: Option<&ContainerState>, now: Timestamp) -> String {
    let Some(s) = s else {
        return "<unknown>".into();
    };
    if let Some(w) = &s.waiting {
        let msg = w
            .message
            .as_deref()
            .map(|m| format!(" ({})", m.trim()))
            .unwrap_or_default();
        return format!("Waiting: {}{msg}", w.reason.as_deref().unwrap_or("?"));
    }
    if let Some(r) = &s.running {
        return format!(
            "Running since {} ago",
            age(r.started_at.as_ref().map(|t| &t.0), now)
        );
    }
    if let Some(t) = &s.terminated {
        let when = age(t.finished_at.as_ref().map(|t| &t.0), now);
        let msg = t
            .message
            .as_deref()
            .map(|m| format!(" ({})", m.trim()))
            .unwrap_or_default();
        return format!(
            "Terminated: {} exit code {}, {when} ago{msg}",
            t.reason.as_deref().unwrap_or("?"),
            t.exit_code
        );
    }
    "<unknown>".into()
}

fn containers(
    out: &mut String,
    title: &str,
    specs: &[Container],
    statuses: &[ContainerStatus],
    now: Timestamp,
) {
    if specs.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    for c in specs {
        let _ = writeln!(out, "  {}:", c.name);
        let _ = writeln!(
            out,
            "    Image:          {}",
            c.image.as_deref().unwrap_or("<none>")
        );
        if let Some(r) = &c.resources {
            let q = |m: Option<
                &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
            >| {
                let items: Vec<String> = m
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}={}", v.0))
                    .collect();
                if items.is_empty() {
                    "<none>".to_string()
                } else {
                    items.join(", ")
                }
            };
            let _ = writeln!(out, "    Requests:       {}", q(r.requests.as_ref()));
            let _ = writeln!(out, "    Limits:         {}", q(r.limits.as_ref()));
        }
        if let Some(st) = statuses.iter().find(|s| s.name == c.name) {
            let _ = writeln!(out, "    State:          {}", state(st.state.as_ref(), now));
            if st
                .last_state
                .as_ref()
                .is_some_and(|l| l.terminated.is_some() || l.waiting.is_some())
            {
                let _ = writeln!(
                    out,
                    "    Last State:     {}",
                    state(st.last_state.as_ref(), now)
                );
            }
            let _ = writeln!(out, "    Ready:          {}", st.ready);
            let _ = writeln!(out, "    Restart Count:  {}", st.restart_count);
        }
    }
}

fn conditions(out: &mut String, rows: Vec<Vec<String>>) {
    out.push_str("Conditions:\n");
    if rows.is_empty() {
        out.push_str("  <none>\n");
        return;
    }
    for line in table(&["TYPE", "STATUS", "REASON", "MESSAGE"], &rows).lines() {
        let _ = writeln!(out, "  {line}");
    }
}

pub fn pod(p: &Pod, now: Timestamp) -> String {
    let mut out = String::new();
    header(&mut out, &p.metadata, now);
    let spec = p.spec.as_ref();
    let st = p.status.as_ref();
    kv(
        &mut out,
        "Node",
        spec.and_then(|s| s.node_name.as_deref())
            .unwrap_or("<none>"),
    );
    kv(&mut out, "Status", pod_status(p));
    kv(
        &mut out,
        "Phase",
        st.and_then(|s| s.phase.as_deref()).unwrap_or("<unknown>"),
    );
    kv(
        &mut out,
        "IP",
        st.and_then(|s| s.pod_ip.as_deref()).unwrap_or("<none>"),
    );
    if let Some(msg) = st.and_then(|s| s.message.as_deref()) {
        kv(&mut out, "Message", msg);
    }
    let none = Vec::new();
    let init_status = st
        .and_then(|s| s.init_container_statuses.as_ref())
        .unwrap_or(&none);
    let status = st
        .and_then(|s| s.container_statuses.as_ref())
        .unwrap_or(&none);
    let init = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or(&[]);
    containers(&mut out, "Init Containers", init, init_status, now);
    containers(
        &mut out,
        "Containers",
        spec.map(|s| s.containers.as_slice()).unwrap_or(&[]),
        status,
        now,
    );
    let rows = st
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[])
        .iter()
        .map(|c| {
            vec![
                c.type_.clone(),
                c.status.clone(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    conditions(&mut out, rows);
    out
}

fn template(out: &mut String, t: &PodTemplateSpec, now: Timestamp) {
    if let Some(spec) = &t.spec {
        containers(out, "Pod Template Containers", &spec.containers, &[], now);
    }
}

pub fn deployment(d: &Deployment, now: Timestamp) -> String {
    let mut out = String::new();
    header(&mut out, &d.metadata, now);
    {
        let spec = &d.spec;
        let st = d.status.as_ref();
        kv(
            &mut out,
            "Replicas",
            format!(
                "{} desired | {} updated | {} total | {} available | {} unavailable",
                spec.replicas.unwrap_or(1),
                st.and_then(|s| s.updated_replicas).unwrap_or(0),
                st.and_then(|s| s.replicas).unwrap_or(0),
                st.and_then(|s| s.available_replicas).unwrap_or(0),
                st.and_then(|s| s.unavailable_replicas).unwrap_or(0),
            ),
        );
        kv(
            &mut out,
            "Selector",
            map(spec.selector.match_labels.as_ref(), &[]),
        );
        let strategy = spec.strategy.as_ref().and_then(|s| s.type_.clone());
        kv(
            &mut out,
            "Strategy",
            strategy.unwrap_or_else(|| "RollingUpdate".into()),
        );
        if spec.paused == Some(true) {
            kv(&mut out, "Paused", "true");
        }
        template(&mut out, &spec.template, now);
    }
    let rows = d
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[])
        .iter()
        .map(|c| {
            vec![
                c.type_.clone().unwrap_or_default(),
                c.status.clone().unwrap_or_default(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    conditions(&mut out, rows);
    out
}

pub fn statefulset(s: &StatefulSet, now: Timestamp) -> String {
    let mut out = String::new();
    header(&mut out, &s.metadata, now);
    {
        let spec = &s.spec;
        let st = s.status.as_ref();
        kv(
            &mut out,
            "Replicas",
            format!(
                "{} desired | {} current | {} ready | {} updated",
                spec.replicas.unwrap_or(1),
                st.and_then(|s| s.current_replicas).unwrap_or(0),
                st.and_then(|s| s.ready_replicas).unwrap_or(0),
                st.and_then(|s| s.updated_replicas).unwrap_or(0),
            ),
        );
        kv(
            &mut out,
            "Selector",
            map(spec.selector.match_labels.as_ref(), &[]),
        );
        template(&mut out, &spec.template, now);
    }
    out
}

pub fn replicaset(r: &ReplicaSet, now: Timestamp) -> String {
    let mut out = String::new();
    header(&mut out, &r.metadata, now);
    {
        let spec = &r.spec;
        let st = r.status.as_ref();
        kv(
            &mut out,
            "Replicas",
            format!(
                "{} current / {} desired, {} ready",
                st.map(|s| s.replicas).unwrap_or(0),
                spec.replicas.unwrap_or(1),
                st.and_then(|s| s.ready_replicas).unwrap_or(0),
            ),
        );
        if let Some(t) = &spec.template {
            template(&mut out, t, now);
        }
    }
    out
}

pub fn service(s: &Service, now: Timestamp) -> String {
    let mut out = String::new();
    header(&mut out, &s.metadata, now);
    if let Some(spec) = &s.spec {
        kv(
            &mut out,
            "Type",
            spec.type_.as_deref().unwrap_or("ClusterIP"),
        );
        kv(&mut out, "Selector", map(spec.selector.as_ref(), &[]));
        kv(
            &mut out,
            "Cluster IP",
            spec.cluster_ip.as_deref().unwrap_or("<none>"),
        );
        for p in spec.ports.iter().flatten() {
            let target = p.target_port.as_ref().map(|t| match t {
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
            });
            kv(
                &mut out,
                "Port",
                format!(
                    "{} {}/{} -> {}",
                    p.name.as_deref().unwrap_or("<unset>"),
                    p.port,
                    p.protocol.as_deref().unwrap_or("TCP"),
                    target.unwrap_or_else(|| p.port.to_string())
                ),
            );
        }
    }
    out
}

/// Name, labels and annotations only: a ConfigMap's data is never fetched.
pub fn configmap(meta: &ObjectMeta, now: Timestamp) -> String {
    let mut out = String::new();
    header(&mut out, meta, now);
    out.push_str("Data:             (not shown: this plugin reads configmaps by name only)\n");
    out
}

pub fn node(n: &Node, now: Timestamp) -> String {
    let mut out = String::new();
    header(&mut out, &n.metadata, now);
    kv(&mut out, "Status", node_status(n));
    let spec = n.spec.as_ref();
    let taints: Vec<String> = spec
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[])
        .iter()
        .map(|t| {
            format!(
                "{}={}:{}",
                t.key,
                t.value.as_deref().unwrap_or(""),
                t.effect
            )
        })
        .collect();
    kv(
        &mut out,
        "Taints",
        if taints.is_empty() {
            "<none>".into()
        } else {
            taints.join(", ")
        },
    );
    let st = n.status.as_ref();
    if let Some(info) = st.and_then(|s| s.node_info.as_ref()) {
        kv(&mut out, "Kubelet", &info.kubelet_version);
        kv(&mut out, "OS Image", &info.os_image);
    }
    let quantities =
        |m: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>| {
            let items: Vec<String> = m
                .into_iter()
                .flatten()
                .filter(|(k, _)| ["cpu", "memory", "pods"].contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={}", v.0))
                .collect();
            items.join(", ")
        };
    kv(
        &mut out,
        "Capacity",
        quantities(st.and_then(|s| s.capacity.as_ref())),
    );
    kv(
        &mut out,
        "Allocatable",
        quantities(st.and_then(|s| s.allocatable.as_ref())),
    );
    let rows = st
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[])
        .iter()
        .map(|c| {
            vec![
                c.type_.clone(),
                c.status.clone(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    conditions(&mut out, rows);
    out
}
