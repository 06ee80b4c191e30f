//! The objects `kubectl get` lists, with their table cells and JSON views.

use super::objects;
use super::parse::Kind;
use super::readonly;
use super::table::age;
use super::view;
use crate::cluster::Cluster;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One listed object.
pub struct Obj {
    pub ns: Option<String>,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub cells: Vec<String>,
    pub json: Value,
}

fn none_if_empty(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

/// The namespaces a listing covers.
fn namespaces<'a>(c: &'a Cluster, ns: Option<&'a str>) -> Vec<&'a crate::cluster::Namespace> {
    c.namespaces
        .values()
        .filter(|n| ns.is_none_or(|x| x == n.name))
        .collect()
}

/// Every object of `kind` in `ns` (None: all namespaces), in kubectl's order.
pub fn list(c: &Cluster, kind: Kind, ns: Option<&str>, wide: bool) -> Vec<Obj> {
    let now = c.now;
    let mut out = Vec::new();
    let nsname = |n: &crate::cluster::Namespace| Some(n.name.clone());
    match kind {
        Kind::Pod => {
            for n in namespaces(c, ns) {
                for p in n.pods.values() {
                    let mut cells = vec![
                        p.name.clone(),
                        view::pod_ready(p),
                        view::pod_status(p),
                        view::pod_restarts(p, now),
                        age(now, p.created_at),
                    ];
                    if wide {
                        cells.push(p.ip.clone().unwrap_or_else(|| "<none>".into()));
                        cells.push(p.node.clone().unwrap_or_else(|| "<none>".into()));
                        cells.push("<none>".into());
                        cells.push("<none>".into());
                    }
                    out.push(Obj {
                        ns: nsname(n),
                        name: p.name.clone(),
                        labels: p.labels.clone(),
                        cells,
                        json: readonly::pod_json(c, &n.name, p),
                    });
                }
            }
        }
        Kind::Deployment => {
            for n in namespaces(c, ns) {
                for d in n.deployments.values() {
                    let st = view::deploy_status(n, d);
                    let mut cells = vec![
                        d.name.clone(),
                        format!("{}/{}", st.ready, d.replicas),
                        st.updated.to_string(),
                        st.available.to_string(),
                        age(now, d.created_at),
                    ];
                    if wide {
                        cells.push(
                            d.template
                                .containers
                                .iter()
                                .map(|x| x.name.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        );
                        cells.push(
                            d.template
                                .containers
                                .iter()
                                .map(|x| x.image.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        );
                        cells.push(view::labels_cell(&d.selector));
                    }
                    out.push(Obj {
                        ns: nsname(n),
                        name: d.name.clone(),
                        labels: d.labels.clone(),
                        cells,
                        json: objects::deployment_json(n, d),
                    });
                }
            }
        }
        Kind::ReplicaSet => {
            for n in namespaces(c, ns) {
                for rs in view::replica_sets(n) {
                    let mut cells = vec![
                        rs.name.clone(),
                        rs.desired.to_string(),
                        rs.current.to_string(),
                        rs.ready.to_string(),
                        age(now, rs.created_at),
                    ];
                    if wide {
                        cells.push(
                            rs.template
                                .containers
                                .iter()
                                .map(|x| x.name.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        );
                        cells.push(
                            rs.template
                                .containers
                                .iter()
                                .map(|x| x.image.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        );
                        cells.push(view::labels_cell(&rs.selector()));
                    }
                    out.push(Obj {
                        ns: nsname(n),
                        name: rs.name.clone(),
                        labels: rs.labels(),
                        cells,
                        json: readonly::rs_json(&n.name, &rs),
                    });
                }
            }
        }
        Kind::Service => {
            for n in namespaces(c, ns) {
                for s in n.services.values() {
                    let ports = s
                        .ports
                        .iter()
                        .map(|p| {
                            if s.service_type == "NodePort" || s.service_type == "LoadBalancer" {
                                format!(
                                    "{}:{}/{}",
                                    p.port,
                                    objects::node_port(&n.name, &s.name, p.port),
                                    p.protocol
                                )
                            } else {
                                format!("{}/{}", p.port, p.protocol)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                    let ext = if s.service_type == "LoadBalancer" {
                        "<pending>"
                    } else {
                        "<none>"
                    };
                    let mut cells = vec![
                        s.name.clone(),
                        s.service_type.clone(),
                        s.cluster_ip.clone(),
                        ext.into(),
                        none_if_empty(ports),
                        age(now, s.created_at),
                    ];
                    if wide {
                        cells.push(view::labels_cell(&s.selector));
                    }
                    out.push(Obj {
                        ns: nsname(n),
                        name: s.name.clone(),
                        labels: s.labels.clone(),
                        cells,
                        json: objects::service_json(&n.name, s),
                    });
                }
            }
        }
        Kind::Endpoints => {
            for n in namespaces(c, ns) {
                for s in n.services.values() {
                    let cells = vec![
                        s.name.clone(),
                        view::endpoints_cell(n, s),
                        age(now, s.created_at),
                    ];
                    out.push(Obj {
                        ns: nsname(n),
                        name: s.name.clone(),
                        labels: s.labels.clone(),
                        cells,
                        json: readonly::endpoints_json(n, s),
                    });
                }
            }
        }
        Kind::Event => {
            let mut evs: Vec<&crate::cluster::Event> = c
                .events
                .iter()
                .filter(|e| ns.is_none_or(|x| x == e.namespace))
                .collect();
            evs.sort_by(|a, b| {
                (
                    a.namespace.as_str(),
                    a.object.split_once('/').map_or("", |x| x.1),
                )
                    .cmp(&(
                        b.namespace.as_str(),
                        b.object.split_once('/').map_or("", |x| x.1),
                    ))
                    .then(a.first_seen.total_cmp(&b.first_seen))
            });
            for e in evs {
                let last = age(now, e.last_seen);
                let mut cells = vec![
                    last,
                    e.event_type.clone(),
                    e.reason.clone(),
                    e.object.clone(),
                ];
                if wide {
                    let sub = if e.object.starts_with("pod/") && e.source == "kubelet" {
                        "spec.containers{...}".to_string()
                    } else {
                        String::new()
                    };
                    let src = if e.source == "kubelet" {
                        "kubelet, kind-worker".to_string()
                    } else {
                        e.source.clone()
                    };
                    cells.extend([
                        sub,
                        src,
                        e.message.clone(),
                        age(now, e.first_seen),
                        e.count.to_string(),
                        readonly::event_name(e),
                    ]);
                } else {
                    cells.push(e.message.clone());
                }
                out.push(Obj {
                    ns: Some(e.namespace.clone()),
                    name: readonly::event_name(e),
                    labels: BTreeMap::new(),
                    cells,
                    json: readonly::event_json(e),
                });
            }
        }
        Kind::Node => {
            for nd in &c.nodes {
                let roles = if nd.control_plane {
                    "control-plane"
                } else {
                    "<none>"
                };
                let mut cells = vec![
                    nd.name.clone(),
                    "Ready".into(),
                    roles.into(),
                    age(now, nd.created_at),
                    nd.kubelet_version.clone(),
                ];
                if wide {
                    cells.extend([
                        nd.internal_ip.clone(),
                        "<none>".into(),
                        readonly::OS_IMAGE.into(),
                        readonly::KERNEL.into(),
                        readonly::RUNTIME.into(),
                    ]);
                }
                out.push(Obj {
                    ns: None,
                    name: nd.name.clone(),
                    labels: readonly::node_labels(nd),
                    cells,
                    json: readonly::node_json(nd),
                });
            }
        }
        Kind::Pv => {
            for p in c.pvs.values() {
                let mut cells = vec![
                    p.name.clone(),
                    p.capacity.clone(),
                    "RWO".into(),
                    p.reclaim_policy.clone(),
                    objects::volume_phase(p.phase).into(),
                    p.claim_ref.clone().unwrap_or_default(),
                    p.storage_class.clone(),
                    "<unset>".into(),
                    String::new(),
                    age(now, p.created_at),
                ];
                if wide {
                    cells.push("Filesystem".into());
                }
                out.push(Obj {
                    ns: None,
                    name: p.name.clone(),
                    labels: BTreeMap::new(),
                    cells,
                    json: objects::pv_json(p),
                });
            }
        }
        Kind::Pvc => {
            for n in namespaces(c, ns) {
                for p in n.pvcs.values() {
                    let bound = p.phase == crate::cluster::ClaimPhase::Bound;
                    let mut cells = vec![
                        p.name.clone(),
                        objects::claim_phase(p.phase).into(),
                        p.volume.clone().unwrap_or_default(),
                        if bound {
                            p.capacity.clone()
                        } else {
                            String::new()
                        },
                        if bound { "RWO".into() } else { String::new() },
                        p.storage_class.clone(),
                        "<unset>".into(),
                        age(now, p.created_at),
                    ];
                    if wide {
                        cells.push("Filesystem".into());
                    }
                    out.push(Obj {
                        ns: nsname(n),
                        name: p.name.clone(),
                        labels: BTreeMap::new(),
                        cells,
                        json: objects::pvc_json(&n.name, p),
                    });
                }
            }
        }
        Kind::ConfigMap => {
            for n in namespaces(c, ns) {
                let mut items: Vec<crate::cluster::ConfigMap> =
                    n.config_maps.values().cloned().collect();
                let mut root = BTreeMap::new();
                root.insert("ca.crt".to_string(), "-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgIIJ0a8kMZ2ZxUwDQYJKoZIhvcNAQELBQAwFTETMBEGA1UE\n-----END CERTIFICATE-----\n".to_string());
                items.push(crate::cluster::ConfigMap {
                    name: "kube-root-ca.crt".into(),
                    created_at: n.created_at,
                    data: root,
                });
                items.sort_by(|a, b| a.name.cmp(&b.name));
                for cm in items {
                    let cells = vec![
                        cm.name.clone(),
                        cm.data.len().to_string(),
                        age(now, cm.created_at),
                    ];
                    out.push(Obj {
                        ns: nsname(n),
                        name: cm.name.clone(),
                        labels: BTreeMap::new(),
                        cells,
                        json: objects::configmap_json(&n.name, &cm),
                    });
                }
            }
        }
        Kind::Namespace => {
            for (name, created) in readonly::all_namespaces(c) {
                let cells = vec![name.clone(), "Active".into(), age(now, created)];
                let mut labels = BTreeMap::new();
                labels.insert("kubernetes.io/metadata.name".to_string(), name.clone());
                out.push(Obj {
                    ns: None,
                    name: name.clone(),
                    labels,
                    cells,
                    json: readonly::namespace_json(&name, created),
                });
            }
        }
        Kind::ServiceAccount => {
            for n in namespaces(c, ns) {
                let cells = vec!["default".into(), "0".into(), age(now, n.created_at)];
                let json = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"creationTimestamp": super::table::rfc3339(n.created_at), "name": "default", "namespace": n.name}});
                out.push(Obj {
                    ns: nsname(n),
                    name: "default".into(),
                    labels: BTreeMap::new(),
                    cells,
                    json,
                });
            }
        }
        Kind::Empty(_) => {}
    }
    out
}
