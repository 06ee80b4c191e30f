//! Text the agent reads: `kubectl get`-style tables, ages, pod status and truncation.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

pub use crate::status::pod_status;

/// The most text one tool returns; longer output is cut with a note saying so.
pub const MAX_OUTPUT: usize = 16 * 1024;

/// Columns padded like `kubectl get`: each as wide as its widest cell, three spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let width = widths.get(i).copied().unwrap_or(0);
                line.push_str(&format!("{cell:<width$}   "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A duration in kubectl's short form: `45s`, `3m12s`, `5h`, `2d3h`, `40d`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        format!("{m}m{}s", s % 60)
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        format!("{h}h{}m", m % 60)
    } else if d < 2 {
        format!("{h}h")
    } else if d < 8 {
        format!("{d}d{}h", h % 24)
    } else if d < 365 * 2 {
        format!("{d}d")
    } else {
        format!("{}y", d / 365)
    }
}

/// How long ago `ts` was, or `<unknown>`.
pub fn age(ts: Option<&Timestamp>, now: Timestamp) -> String {
    match ts {
        Some(ts) => human_duration(now.as_second() - ts.as_second()),
        None => "<unknown>".into(),
    }
}

pub fn created(meta: &ObjectMeta, now: Timestamp) -> String {
    age(meta.creation_timestamp.as_ref().map(|t| &t.0), now)
}

pub fn name(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

/// Cuts `text` after `limit` bytes (on a line boundary when one is near), saying how much was left.
pub fn truncate_head(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    if let Some(nl) = text[..cut].rfind('\n') {
        cut = nl + 1;
    }
    format!(
        "{}[output truncated: {} more bytes; narrow the query, e.g. with a name or label selector]\n",
        &text[..cut],
        text.len() - cut
    )
}

/// Keeps the last `limit` bytes of `text` (logs: the newest lines matter), saying what was cut.
pub fn truncate_tail(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut cut = text.len() - limit;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    if let Some(nl) = text[cut..].find('\n') {
        cut += nl + 1;
    }
    format!(
        "[output truncated: the first {cut} bytes are left out; ask for fewer tail_lines]\n{}",
        &text[cut..]
    )
}

/// `ready/total` containers and the RESTARTS column (`7 (2m ago)`).
fn pod_ready_restarts(pod: &Pod, now: Timestamp) -> (String, String) {
    let total = pod.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or(&[]);
    let ready = statuses.iter().filter(|c| c.ready).count();
    let restarts: i32 = statuses.iter().map(|c| c.restart_count).sum();
    let last = statuses
        .iter()
        .filter_map(|c| {
            c.last_state
                .as_ref()?
                .terminated
                .as_ref()?
                .finished_at
                .as_ref()
        })
        .map(|t| t.0)
        .max();
    let restarts = match last {
        Some(t) if restarts > 0 => format!("{restarts} ({} ago)", age(Some(&t), now)),
        _ => restarts.to_string(),
    };
    (format!("{ready}/{total}"), restarts)
}

pub fn pods(items: &[Pod], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|p| {
            let (ready, restarts) = pod_ready_restarts(p, now);
            let node = p.spec.as_ref().and_then(|s| s.node_name.clone());
            vec![
                name(&p.metadata),
                ready,
                pod_status(p),
                restarts,
                created(&p.metadata, now),
                node.unwrap_or_else(|| "<none>".into()),
            ]
        })
        .collect();
    table(
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"],
        &rows,
    )
}

pub fn deployments(items: &[Deployment], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|d| {
            let want = d.spec.replicas.unwrap_or(1);
            let st = d.status.as_ref();
            let n = |f: fn(&k8s_openapi::api::apps::v1::DeploymentStatus) -> Option<i32>| {
                st.and_then(f).unwrap_or(0).to_string()
            };
            vec![
                name(&d.metadata),
                format!("{}/{want}", n(|s| s.ready_replicas)),
                n(|s| s.updated_replicas),
                n(|s| s.available_replicas),
                created(&d.metadata, now),
            ]
        })
        .collect();
    table(&["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], &rows)
}

pub fn statefulsets(items: &[StatefulSet], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|s| {
            let want = s.spec.replicas.unwrap_or(1);
            let ready = s
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            vec![
                name(&s.metadata),
                format!("{ready}/{want}"),
                created(&s.metadata, now),
            ]
        })
        .collect();
    table(&["NAME", "READY", "AGE"], &rows)
}

pub fn replicasets(items: &[ReplicaSet], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|r| {
            let st = r.status.as_ref();
            vec![
                name(&r.metadata),
                r.spec.replicas.unwrap_or(1).to_string(),
                st.map(|s| s.replicas).unwrap_or(0).to_string(),
                st.and_then(|s| s.ready_replicas).unwrap_or(0).to_string(),
                created(&r.metadata, now),
            ]
        })
        .collect();
    table(&["NAME", "DESIRED", "CURRENT", "READY", "AGE"], &rows)
}

pub fn services(items: &[Service], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|s| {
            let spec = s.spec.as_ref();
            let ports: Vec<String> = spec
                .and_then(|s| s.ports.as_deref())
                .unwrap_or(&[])
                .iter()
                .map(|p| {
                    let proto = p.protocol.as_deref().unwrap_or("TCP");
                    match p.node_port {
                        Some(np) => format!("{}:{np}/{proto}", p.port),
                        None => format!("{}/{proto}", p.port),
                    }
                })
                .collect();
            let mut external: Vec<String> = spec
                .and_then(|s| s.external_ips.clone())
                .unwrap_or_default();
            let ingress = s.status.as_ref().and_then(|s| s.load_balancer.as_ref());
            for i in ingress.and_then(|l| l.ingress.as_deref()).unwrap_or(&[]) {
                external.extend(i.ip.clone().or_else(|| i.hostname.clone()));
            }
            let external = if external.is_empty() {
                "<none>".into()
            } else {
                external.join(",")
            };
            vec![
                name(&s.metadata),
                spec.and_then(|s| s.type_.clone())
                    .unwrap_or_else(|| "ClusterIP".into()),
                spec.and_then(|s| s.cluster_ip.clone())
                    .unwrap_or_else(|| "<none>".into()),
                external,
                if ports.is_empty() {
                    "<none>".into()
                } else {
                    ports.join(",")
                },
                created(&s.metadata, now),
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ],
        &rows,
    )
}

/// `Ready`, `NotReady` or `Unknown`, plus `SchedulingDisabled` when cordoned.
pub fn node_status(n: &Node) -> String {
    let ready = n
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[])
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| match c.status.as_str() {
            "True" => "Ready",
            "False" => "NotReady",
            _ => "Unknown",
        })
        .unwrap_or("Unknown");
    if n.spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
    {
        format!("{ready},SchedulingDisabled")
    } else {
        ready.into()
    }
}

pub fn nodes(items: &[Node], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|n| {
            let roles: Vec<String> = n
                .metadata
                .labels
                .as_ref()
                .map(|l| {
                    l.keys()
                        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let version = n
                .status
                .as_ref()
                .and_then(|s| s.node_info.as_ref())
                .map(|i| i.kubelet_version.clone());
            vec![
                name(&n.metadata),
                node_status(n),
                if roles.is_empty() {
                    "<none>".into()
                } else {
                    roles.join(",")
                },
                created(&n.metadata, now),
                version.unwrap_or_default(),
            ]
        })
        .collect();
    table(&["NAME", "STATUS", "ROLES", "AGE", "VERSION"], &rows)
}

/// ConfigMaps by name and age only: their data is never fetched.
pub fn configmaps(items: &[ObjectMeta], now: Timestamp) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|m| vec![name(m), created(m, now)])
        .collect();
    table(&["NAME", "AGE"], &rows)
}

/// The time an event last happened (series, last, event time, first, creation).
pub fn event_time(e: &Event) -> Option<Timestamp> {
    e.series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
        .or_else(|| e.last_timestamp.as_ref().map(|t: &Time| t.0))
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// Events oldest first (as `kubectl get events --sort-by=.lastTimestamp`).
pub fn events(items: &mut [Event], now: Timestamp) -> String {
    items.sort_by_key(event_time);
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|e| {
            let obj = &e.involved_object;
            let count = e.count.filter(|c| *c > 1).map(|c| format!(" (x{c})"));
            vec![
                age(event_time(e).as_ref(), now),
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                format!(
                    "{}/{}",
                    obj.kind.as_deref().unwrap_or("?").to_lowercase(),
                    obj.name.as_deref().unwrap_or("?")
                ),
                format!(
                    "{}{}",
                    e.message.as_deref().unwrap_or("").trim(),
                    count.unwrap_or_default()
                ),
            ]
        })
        .collect();
    table(&["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns_like_kubectl() {
        let t = table(
            &["NAME", "STATUS"],
            &[
                vec!["frontend-1".into(), "Running".into()],
                vec!["geo".into(), "Error".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME         STATUS\nfrontend-1   Running\ngeo          Error\n"
        );
    }

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(200), "3m20s");
        assert_eq!(human_duration(1800), "30m");
        assert_eq!(human_duration(5 * 3600 + 120), "5h2m");
        assert_eq!(human_duration(20 * 3600), "20h");
        assert_eq!(human_duration(3 * 86400 + 7200), "3d2h");
        assert_eq!(human_duration(40 * 86400), "40d");
    }

    #[test]
    fn truncation_keeps_the_right_end_and_says_so() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let head = truncate_head(text.clone(), 64);
        assert!(head.starts_with("line 0\n"));
        assert!(head.contains("[output truncated"));
        let tail = truncate_tail(text.clone(), 64);
        assert!(tail.ends_with("line 99\n"));
        assert!(!tail.contains("line 0\n"));
        assert_eq!(truncate_head("short".into(), 64), "short");
    }
}
