//! The read tools: get, describe, logs, events, top. They run as the configured identity.

use crate::describe;
use crate::render::{self, MAX_OUTPUT, truncate_head, truncate_tail};
use crate::tools::{Args, Kind, Session};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, LogParams};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt::Debug;

/// The most objects one list asks for.
const LIST_LIMIT: u32 = 500;
const DEFAULT_TAIL: u64 = 100;
const MAX_TAIL: u64 = 5000;

pub struct GetArgs {
    kind: Kind,
    namespace: Option<String>,
    name: Option<String>,
    label_selector: Option<String>,
}

impl GetArgs {
    pub fn from(args: &Args) -> Result<Self, String> {
        let kind = args.kind()?;
        Ok(GetArgs {
            kind,
            namespace: args.namespace_for(kind)?,
            name: args.opt_name("name")?,
            label_selector: args.opt_str("label_selector"),
        })
    }
}

fn where_(ns: Option<&str>) -> String {
    ns.map(|n| format!(" in namespace {n}")).unwrap_or_default()
}

async fn list<K>(s: &Session, ns: &str, lp: &ListParams, what: &str) -> Result<Vec<K>, String>
where
    K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    K: Clone + DeserializeOwned + Debug,
{
    let api: Api<K> = Api::namespaced(s.client.clone(), ns);
    let list = api
        .list(lp)
        .await
        .map_err(|e| s.error(&format!("list {what} in namespace {ns}"), e))?;
    Ok(list.items)
}

pub async fn get(s: &Session, a: GetArgs) -> Result<String, String> {
    let now = Timestamp::now();
    let lp = ListParams {
        label_selector: a.label_selector.clone(),
        field_selector: a.name.as_ref().map(|n| format!("metadata.name={n}")),
        limit: Some(LIST_LIMIT),
        ..ListParams::default()
    };
    let ns = a.namespace.as_deref().unwrap_or_default();
    let what = a.kind.plural();
    let (count, text) = match a.kind {
        Kind::Pod => {
            let items: Vec<Pod> = list(s, ns, &lp, what).await?;
            (items.len(), render::pods(&items, now))
        }
        Kind::Deployment => {
            let items: Vec<Deployment> = list(s, ns, &lp, what).await?;
            (items.len(), render::deployments(&items, now))
        }
        Kind::StatefulSet => {
            let items: Vec<StatefulSet> = list(s, ns, &lp, what).await?;
            (items.len(), render::statefulsets(&items, now))
        }
        Kind::ReplicaSet => {
            let items: Vec<ReplicaSet> = list(s, ns, &lp, what).await?;
            (items.len(), render::replicasets(&items, now))
        }
        Kind::Service => {
            let items: Vec<Service> = list(s, ns, &lp, what).await?;
            (items.len(), render::services(&items, now))
        }
        Kind::Event => {
            let mut items: Vec<Event> = list(s, ns, &lp, what).await?;
            (items.len(), render::events(&mut items, now))
        }
        Kind::ConfigMap => {
            // Metadata only: the data never leaves the cluster.
            let api: Api<ConfigMap> = Api::namespaced(s.client.clone(), ns);
            let list = api
                .list_metadata(&lp)
                .await
                .map_err(|e| s.error(&format!("list configmaps in namespace {ns}"), e))?;
            let metas: Vec<ObjectMeta> = list.items.into_iter().map(|m| m.metadata).collect();
            (metas.len(), render::configmaps(&metas, now))
        }
        Kind::Node => {
            let api: Api<Node> = Api::all(s.client.clone());
            let list = api.list(&lp).await.map_err(|e| s.error("list nodes", e))?;
            (list.items.len(), render::nodes(&list.items, now))
        }
    };
    if count == 0 {
        let named = a.name.map(|n| format!(" named {n}")).unwrap_or_default();
        return Ok(format!(
            "No {what}{named} found{}.",
            where_(a.namespace.as_deref())
        ));
    }
    let more = if count >= LIST_LIMIT as usize {
        format!(
            "[only the first {LIST_LIMIT} {what} are listed; narrow with name or label_selector]\n"
        )
    } else {
        String::new()
    };
    Ok(truncate_head(text + &more, MAX_OUTPUT))
}

pub struct DescribeArgs {
    kind: Kind,
    namespace: Option<String>,
    name: String,
}

impl DescribeArgs {
    pub fn from(args: &Args) -> Result<Self, String> {
        let kind = args.kind()?;
        if kind == Kind::Event {
            return Err("k8s_describe: events are not described; use k8s_events (with `name` for one object's events)".into());
        }
        Ok(DescribeArgs {
            kind,
            namespace: args.namespace_for(kind)?,
            name: args.str("name")?,
        })
    }
}

async fn get_one<K>(s: &Session, ns: &str, name: &str, kind: Kind) -> Result<K, String>
where
    K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    K: Clone + DeserializeOwned + Debug,
{
    let api: Api<K> = Api::namespaced(s.client.clone(), ns);
    api.get(name)
        .await
        .map_err(|e| s.error(&format!("get {} {ns}/{name}", kind.singular()), e))
}

/// Events about one object; a failure becomes a line rather than failing the describe.
async fn events_for(s: &Session, ns: Option<&str>, name: &str) -> Result<Vec<Event>, String> {
    let lp = ListParams {
        field_selector: Some(format!("involvedObject.name={name}")),
        limit: Some(LIST_LIMIT),
        ..ListParams::default()
    };
    let api: Api<Event> = match ns {
        Some(ns) => Api::namespaced(s.client.clone(), ns),
        None => Api::all(s.client.clone()),
    };
    api.list(&lp)
        .await
        .map(|l| l.items)
        .map_err(|e| s.error(&format!("list events for {name}"), e))
}

pub async fn describe(s: &Session, a: DescribeArgs) -> Result<String, String> {
    let now = Timestamp::now();
    let ns = a.namespace.as_deref().unwrap_or_default();
    let name = a.name.as_str();
    let mut text = match a.kind {
        Kind::Pod => describe::pod(&get_one::<Pod>(s, ns, name, a.kind).await?, now),
        Kind::Deployment => {
            describe::deployment(&get_one::<Deployment>(s, ns, name, a.kind).await?, now)
        }
        Kind::StatefulSet => {
            describe::statefulset(&get_one::<StatefulSet>(s, ns, name, a.kind).await?, now)
        }
        Kind::ReplicaSet => {
            describe::replicaset(&get_one::<ReplicaSet>(s, ns, name, a.kind).await?, now)
        }
        Kind::Service => describe::service(&get_one::<Service>(s, ns, name, a.kind).await?, now),
        Kind::ConfigMap => {
            let api: Api<ConfigMap> = Api::namespaced(s.client.clone(), ns);
            let meta = api
                .get_metadata(name)
                .await
                .map_err(|e| s.error(&format!("get configmap {ns}/{name}"), e))?;
            describe::configmap(&meta.metadata, now)
        }
        Kind::Node => {
            let api: Api<Node> = Api::all(s.client.clone());
            let node = api
                .get(name)
                .await
                .map_err(|e| s.error(&format!("get node {name}"), e))?;
            describe::node(&node, now)
        }
        Kind::Event => return Err("k8s_describe: events are not described".into()),
    };
    text.push_str("Events:\n");
    match events_for(s, a.namespace.as_deref(), name).await {
        Ok(events) if events.is_empty() => text.push_str("  <none>\n"),
        Ok(mut events) => {
            let len = events.len();
            events.sort_by_key(render::event_time);
            let recent = &mut events[len.saturating_sub(20)..];
            for line in render::events(recent, now).lines() {
                text.push_str(&format!("  {line}\n"));
            }
        }
        Err(e) => text.push_str(&format!("  (could not list events: {e})\n")),
    }
    Ok(truncate_head(text, MAX_OUTPUT))
}

pub struct LogsArgs {
    namespace: String,
    pod: String,
    container: Option<String>,
    tail_lines: u64,
    previous: bool,
}

impl LogsArgs {
    pub fn from(args: &Args) -> Result<Self, String> {
        Ok(LogsArgs {
            namespace: args.str("namespace")?,
            pod: args.str("pod")?,
            container: args.opt_name("container")?,
            tail_lines: args
                .u64("tail_lines")
                .unwrap_or(DEFAULT_TAIL)
                .clamp(1, MAX_TAIL),
            previous: args.bool("previous"),
        })
    }
}

pub async fn logs(s: &Session, a: LogsArgs) -> Result<String, String> {
    let api: Api<Pod> = Api::namespaced(s.client.clone(), &a.namespace);
    let lp = LogParams {
        container: a.container.clone(),
        tail_lines: i64::try_from(a.tail_lines).ok(),
        previous: a.previous,
        ..LogParams::default()
    };
    let target = format!("pod {}/{}", a.namespace, a.pod);
    let text = api
        .logs(&a.pod, &lp)
        .await
        .map_err(|e| s.error(&format!("read the logs of {target}"), e))?;
    let container = a
        .container
        .map(|c| format!(", container {c}"))
        .unwrap_or_default();
    let previous = if a.previous {
        ", previous instance"
    } else {
        ""
    };
    let body = if text.trim().is_empty() {
        "(no log lines)\n".to_string()
    } else {
        text
    };
    Ok(format!(
        "logs of {target}{container}{previous} (last {} lines):\n{}",
        a.tail_lines,
        truncate_tail(body, MAX_OUTPUT)
    ))
}

pub struct EventsArgs {
    namespace: String,
    name: Option<String>,
}

impl EventsArgs {
    pub fn from(args: &Args) -> Result<Self, String> {
        Ok(EventsArgs {
            namespace: args.str("namespace")?,
            name: args.opt_name("name")?,
        })
    }
}

pub async fn events(s: &Session, a: EventsArgs) -> Result<String, String> {
    let lp = ListParams {
        field_selector: a.name.as_ref().map(|n| format!("involvedObject.name={n}")),
        limit: Some(LIST_LIMIT),
        ..ListParams::default()
    };
    let mut items: Vec<Event> = list(s, &a.namespace, &lp, "events").await?;
    if items.is_empty() {
        let about = a.name.map(|n| format!(" about {n}")).unwrap_or_default();
        return Ok(format!(
            "No events{about} found in namespace {}.",
            a.namespace
        ));
    }
    // Oldest first; when cut, keep the newest (the end).
    Ok(truncate_tail(
        render::events(&mut items, Timestamp::now()),
        MAX_OUTPUT,
    ))
}

pub struct TopArgs {
    namespace: Option<String>,
}

impl TopArgs {
    pub fn from(args: &Args) -> Result<Self, String> {
        match args.str("kind")?.to_ascii_lowercase().as_str() {
            "pod" | "pods" | "po" => Ok(TopArgs {
                namespace: Some(
                    args.str("namespace")
                        .map_err(|_| "k8s_top: `namespace` is required for pods".to_string())?,
                ),
            }),
            "node" | "nodes" | "no" => Ok(TopArgs { namespace: None }),
            other => Err(format!("k8s_top: kind `{other}` is not pods or nodes")),
        }
    }
}

#[derive(Deserialize)]
struct MetricsList {
    #[serde(default)]
    items: Vec<Metrics>,
}

/// A PodMetrics (containers) or NodeMetrics (usage) item of metrics.k8s.io/v1beta1.
#[derive(Deserialize)]
struct Metrics {
    metadata: ObjectMeta,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
    #[serde(default)]
    usage: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ContainerMetrics {
    #[serde(default)]
    usage: BTreeMap<String, String>,
}

pub async fn top(s: &Session, a: TopArgs) -> Result<String, String> {
    let (path, what) = match &a.namespace {
        Some(ns) => (
            format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
            format!("pod metrics in namespace {ns}"),
        ),
        None => (
            "/apis/metrics.k8s.io/v1beta1/nodes".to_string(),
            "node metrics".to_string(),
        ),
    };
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| format!("k8s_top: could not build the request: {e}"))?;
    let list: MetricsList = s.client.request(request).await.map_err(|e| match &e {
        kube::Error::Api(st) if st.code == 404 => format!(
            "not found: {what}: metrics.k8s.io is not served by this cluster (is metrics-server installed?)"
        ),
        _ => s.error(&format!("read {what}"), e),
    })?;
    let mut rows: Vec<(String, u64, u64)> = list
        .items
        .iter()
        .map(|m| {
            let usages: Vec<&BTreeMap<String, String>> = if m.containers.is_empty() {
                vec![&m.usage]
            } else {
                m.containers.iter().map(|c| &c.usage).collect()
            };
            let cpu = usages
                .iter()
                .filter_map(|u| u.get("cpu"))
                .map(|q| millicores(q))
                .sum();
            let mem = usages
                .iter()
                .filter_map(|u| u.get("memory"))
                .map(|q| bytes(q))
                .sum();
            (render::name(&m.metadata), cpu, mem)
        })
        .collect();
    if rows.is_empty() {
        return Ok(format!(
            "No {what} found (metrics-server may not have scraped yet)."
        ));
    }
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)));
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(n, cpu, mem)| vec![n, format!("{cpu}m"), format!("{}Mi", mem / (1024 * 1024))])
        .collect();
    Ok(truncate_head(
        render::table(&["NAME", "CPU(cores)", "MEMORY(bytes)"], &rows),
        MAX_OUTPUT,
    ))
}

fn split_quantity(q: &str) -> (f64, &str) {
    let q = q.trim();
    let at = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    (q[..at].parse().unwrap_or(0.0), &q[at..])
}

/// A CPU quantity (`250m`, `1234567n`, `2`) in millicores.
pub fn millicores(q: &str) -> u64 {
    let (n, unit) = split_quantity(q);
    let m = match unit {
        "n" => n / 1e6,
        "u" => n / 1e3,
        "m" => n,
        _ => n * 1000.0,
    };
    m.round() as u64
}

/// A memory quantity (`123456Ki`, `64Mi`, `1G`, `1048576`) in bytes.
pub fn bytes(q: &str) -> u64 {
    let (n, unit) = split_quantity(q);
    let factor: f64 = match unit {
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0_f64.powi(4),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "m" => 1e-3,
        _ => 1.0,
    };
    (n * factor).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_convert_like_kubectl_top() {
        assert_eq!(millicores("250m"), 250);
        assert_eq!(millicores("1234567n"), 1);
        assert_eq!(millicores("25000000n"), 25);
        assert_eq!(millicores("2"), 2000);
        assert_eq!(millicores("0.5"), 500);
        assert_eq!(bytes("64Mi"), 64 * 1024 * 1024);
        assert_eq!(bytes("2048Ki"), 2 * 1024 * 1024);
        assert_eq!(bytes("1G"), 1_000_000_000);
        assert_eq!(bytes("1000"), 1000);
    }
}
