//! `kubectl describe`: kubectl 1.32's layouts for pods, deployments, ReplicaSets, services,
//! endpoints, nodes, claims, volumes, config maps and namespaces.

use super::describe_infra::{config_map, namespace, node, pv, pvc};
use super::parse::{Args, Kind, parse_selector, selector_matches};
use super::readonly;
use super::table::{age, rfc1123z, stable_hash, tabwrite};
use super::view;
use super::{KubectlResult, err};
use crate::cluster::*;
use crate::suite::schema::ProbeSpec;
use std::collections::BTreeMap;

/// Lines with kubectl's describe indentation (two spaces a level) and tabs between cells.
#[derive(Default)]
pub(super) struct W(pub(super) String);

impl W {
    pub(super) fn w(&mut self, level: usize, s: &str) {
        for _ in 0..level {
            self.0.push_str("  ");
        }
        self.0.push_str(s);
        self.0.push('\n');
    }
    pub(super) fn multiline(&mut self, indent: &str, title: &str, items: &[String]) {
        if items.is_empty() {
            self.0.push_str(&format!("{indent}{title}:\t<none>\n"));
            return;
        }
        for (i, it) in items.iter().enumerate() {
            if i == 0 {
                self.0.push_str(&format!("{indent}{title}:\t{it}\n"));
            } else {
                self.0.push_str(&format!("{indent}\t{it}\n"));
            }
        }
    }
    pub(super) fn labels(&mut self, indent: &str, title: &str, m: &BTreeMap<String, String>) {
        let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.multiline(indent, title, &items);
    }
    pub(super) fn annotations(&mut self, indent: &str, title: &str, m: &BTreeMap<String, String>) {
        let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        self.multiline(indent, title, &items);
    }
    pub(super) fn events(&mut self, c: &Cluster, ns: &str, object: &str) {
        let mut evs: Vec<&Event> = c
            .events
            .iter()
            .filter(|e| e.namespace == ns && e.object == object)
            .collect();
        if evs.is_empty() {
            self.0.push_str("Events:\t<none>\n");
            return;
        }
        evs.sort_by(|a, b| a.last_seen.total_cmp(&b.last_seen));
        self.0.push_str(
            "Events:\n  Type\tReason\tAge\tFrom\tMessage\n  ----\t------\t----\t----\t-------\n",
        );
        for e in evs {
            let first = age(c.now, e.first_seen);
            let interval = if e.count > 1 {
                format!("{} (x{} over {first})", age(c.now, e.last_seen), e.count)
            } else {
                first
            };
            self.0.push_str(&format!(
                "  {}\t{}\t{}\t{}\t{}\n",
                e.event_type,
                e.reason,
                interval,
                e.source,
                e.message.trim()
            ));
        }
    }
    pub(super) fn done(self) -> String {
        tabwrite(&self.0, 0, 2)
    }
}

fn probe_line(p: &ProbeSpec) -> String {
    let attrs = format!(
        "delay={}s timeout=1s period={}s #success=1 #failure={}",
        p.initial_delay_seconds, p.period_seconds, p.failure_threshold
    );
    let port = p.port.map(|x| x.to_string()).unwrap_or_default();
    match p.kind.as_str() {
        "tcp-socket" => format!("tcp-socket :{port} {attrs}"),
        "exec" => format!("exec [{}] {attrs}", p.command.join(" ")),
        _ => format!(
            "http-get http://:{port}{} {attrs}",
            p.path.clone().unwrap_or_else(|| "/".into())
        ),
    }
}

fn sa_volume(pod: &str) -> String {
    const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h = stable_hash(&[pod, "kube-api-access"]);
    let s: String = (0..5)
        .map(|_| {
            let c = A[(h % A.len() as u64) as usize] as char;
            h /= A.len() as u64;
            c
        })
        .collect();
    format!("kube-api-access-{s}")
}

fn state_lines(w: &mut W, title: &str, s: &ContainerState) {
    match s {
        ContainerState::Running { started_at } => {
            w.w(2, &format!("{title}:\tRunning"));
            w.w(3, &format!("Started:\t{}", rfc1123z(*started_at)));
        }
        ContainerState::Waiting { reason, .. } => {
            w.w(2, &format!("{title}:\tWaiting"));
            if !reason.is_empty() {
                w.w(3, &format!("Reason:\t{reason}"));
            }
        }
        ContainerState::Terminated {
            reason,
            exit_code,
            started_at,
            finished_at,
        } => {
            w.w(2, &format!("{title}:\tTerminated"));
            if !reason.is_empty() {
                w.w(3, &format!("Reason:\t{reason}"));
            }
            w.w(3, &format!("Exit Code:\t{exit_code}"));
            w.w(3, &format!("Started:\t{}", rfc1123z(*started_at)));
            w.w(3, &format!("Finished:\t{}", rfc1123z(*finished_at)));
        }
    }
}

fn containers(
    w: &mut W,
    t: &PodTemplate,
    statuses: Option<&[ContainerStatus]>,
    space: &str,
    sa: Option<&str>,
) {
    w.0.push_str(&format!("{space}Containers:\n"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for c in &t.containers {
        let st = statuses.and_then(|s| s.iter().find(|x| x.name == c.name));
        w.w(1, &format!("{name_indent}{}:", c.name));
        if let Some(st) = st {
            w.w(2, &format!("Container ID:\t{}", st.container_id));
        }
        w.w(2, &format!("Image:\t{}", c.image));
        if let Some(st) = st {
            w.w(2, &format!("Image ID:\t{}", st.image_id));
        }
        let ports: Vec<String> = c.ports.iter().map(|p| format!("{p}/TCP")).collect();
        let hports: Vec<String> = c.ports.iter().map(|_| "0/TCP".to_string()).collect();
        if ports.len() > 1 {
            w.w(2, &format!("Ports:\t{}", ports.join(", ")));
            w.w(2, &format!("Host Ports:\t{}", hports.join(", ")));
        } else {
            w.w(
                2,
                &format!("Port:\t{}", ports.first().map_or("<none>", String::as_str)),
            );
            w.w(
                2,
                &format!(
                    "Host Port:\t{}",
                    hports.first().map_or("<none>", String::as_str)
                ),
            );
        }
        if !c.command.is_empty() {
            w.w(2, "Command:");
            c.command.iter().for_each(|x| w.w(3, x));
        }
        if !c.args.is_empty() {
            w.w(2, "Args:");
            c.args.iter().for_each(|x| w.w(3, x));
        }
        if let Some(st) = st {
            state_lines(w, "State", &st.state);
            if let Some(last @ ContainerState::Terminated { .. }) = &st.last_state {
                state_lines(w, "Last State", last);
            }
            w.w(
                2,
                &format!("Ready:\t{}", if st.ready { "True" } else { "False" }),
            );
            w.w(2, &format!("Restart Count:\t{}", st.restart_count));
        }
        let lim: Vec<(&str, &String)> = [("cpu", &c.cpu_limit), ("memory", &c.memory_limit)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect();
        let req: Vec<(&str, &String)> = [("cpu", &c.cpu_request), ("memory", &c.memory_request)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect();
        if !lim.is_empty() {
            w.w(2, "Limits:");
            lim.iter().for_each(|(k, v)| w.w(3, &format!("{k}:\t{v}")));
        }
        if !req.is_empty() {
            w.w(2, "Requests:");
            req.iter().for_each(|(k, v)| w.w(3, &format!("{k}:\t{v}")));
        }
        if let Some(p) = &c.liveness {
            w.w(2, &format!("Liveness:\t{}", probe_line(p)));
        }
        if let Some(p) = &c.readiness {
            w.w(2, &format!("Readiness:\t{}", probe_line(p)));
        }
        if c.env.is_empty() {
            w.w(2, "Environment:\t<none>");
        } else {
            w.w(2, "Environment:");
            c.env
                .iter()
                .for_each(|e| w.w(3, &format!("{}:\t{}", e.name, e.value)));
        }
        let mut mounts: Vec<(String, String, &str)> = c
            .mounts
            .iter()
            .map(|(n, p)| (p.clone(), n.clone(), "rw"))
            .collect();
        if let Some(sa) = sa {
            mounts.push((
                "/var/run/secrets/kubernetes.io/serviceaccount".into(),
                sa.to_string(),
                "ro",
            ));
        }
        mounts.sort();
        if mounts.is_empty() {
            w.w(2, "Mounts:\t<none>");
        } else {
            w.w(2, "Mounts:");
            mounts
                .iter()
                .for_each(|(p, n, f)| w.w(3, &format!("{p} from {n} ({f})")));
        }
    }
}

fn volumes(w: &mut W, t: &PodTemplate, space: &str, sa: Option<&str>) {
    if t.volumes.is_empty() && sa.is_none() {
        w.0.push_str(&format!("{space}Volumes:\t<none>\n"));
        return;
    }
    w.0.push_str(&format!("{space}Volumes:\n"));
    let ni = if space.is_empty() { "" } else { " " };
    for (n, src) in &t.volumes {
        w.w(1, &format!("{ni}{n}:"));
        match src {
            VolumeSource::Pvc { claim } => {
                w.w(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)");
                w.w(2, &format!("ClaimName:\t{claim}"));
                w.w(2, "ReadOnly:\tfalse");
            }
            VolumeSource::ConfigMap { name } => {
                w.w(2, "Type:\tConfigMap (a volume populated by a ConfigMap)");
                w.w(2, &format!("Name:\t{name}"));
                w.w(2, "Optional:\tfalse");
            }
        }
    }
    if let Some(sa) = sa {
        w.w(1, &format!("{sa}:"));
        w.w(
            2,
            "Type:\tProjected (a volume that contains injected data from multiple sources)",
        );
        w.w(2, "TokenExpirationSeconds:\t3607");
        w.w(2, "ConfigMapName:\tkube-root-ca.crt");
        w.w(2, "ConfigMapOptional:\t<nil>");
        w.w(2, "DownwardAPI:\ttrue");
    }
}

pub fn pod(c: &Cluster, ns: &str, p: &Pod) -> String {
    let mut w = W::default();
    w.w(0, &format!("Name:\t{}", p.name));
    w.w(0, &format!("Namespace:\t{ns}"));
    w.w(0, "Priority:\t0");
    w.w(0, "Service Account:\tdefault");
    match p.node.as_ref() {
        Some(n) => {
            let ip = c.node(n).map(|x| x.internal_ip.clone()).unwrap_or_default();
            w.w(0, &format!("Node:\t{n}/{ip}"));
            w.w(0, &format!("Start Time:\t{}", rfc1123z(p.created_at)));
        }
        None => w.w(0, "Node:\t<none>"),
    }
    w.labels("", "Labels", &p.labels);
    w.annotations("", "Annotations", &BTreeMap::new());
    if p.deleting {
        w.w(0, "Status:\tTerminating (lasts 29s)");
        w.w(0, "Termination Grace Period:\t30s");
    } else {
        w.w(0, &format!("Status:\t{}", p.phase.as_str()));
    }
    w.w(0, &format!("IP:\t{}", p.ip.clone().unwrap_or_default()));
    match &p.ip {
        Some(ip) => {
            w.w(0, "IPs:");
            w.w(1, &format!("IP:\t{ip}"));
        }
        None => w.w(0, "IPs:\t<none>"),
    }
    if let Some(o) = view::pod_owner(p) {
        w.w(0, &format!("Controlled By:\tReplicaSet/{o}"));
    }
    let sa = sa_volume(&p.name);
    let statuses = if p.containers.is_empty() {
        None
    } else {
        Some(p.containers.as_slice())
    };
    containers(&mut w, &p.spec, statuses, "", Some(&sa));
    w.0.push_str("Conditions:\n  Type\tStatus\n");
    for (t, ok, _) in readonly::pod_conditions(c, ns, p) {
        w.w(1, &format!("{t} \t{} ", if ok { "True" } else { "False" }));
    }
    volumes(&mut w, &p.spec, "", Some(&sa));
    w.w(0, &format!("QoS Class:\t{}", readonly::qos_class(&p.spec)));
    w.labels("", "Node-Selectors", &p.spec.node_selector);
    w.multiline(
        "",
        "Tolerations",
        &[
            "node.kubernetes.io/not-ready:NoExecute op=Exists for 300s".to_string(),
            "node.kubernetes.io/unreachable:NoExecute op=Exists for 300s".to_string(),
        ],
    );
    w.events(c, ns, &format!("pod/{}", p.name));
    w.done()
}

fn pod_template(w: &mut W, t: &PodTemplate, extra_ann: &BTreeMap<String, String>) {
    w.0.push_str("Pod Template:\n");
    w.labels("  ", "Labels", &t.labels);
    if !extra_ann.is_empty() {
        w.annotations("  ", "Annotations", extra_ann);
    }
    containers(w, t, None, "  ", None);
    volumes(w, t, "  ", None);
    w.labels("  ", "Node-Selectors", &t.node_selector);
    w.0.push_str("  Tolerations:\t<none>\n");
}

/// The pod template block `rollout history --revision` prints.
pub fn template_text(t: &PodTemplate, hash: &str) -> String {
    let mut t = t.clone();
    t.labels.insert("pod-template-hash".into(), hash.into());
    let mut w = W::default();
    pod_template(&mut w, &t, &BTreeMap::new());
    w.done()
}

pub fn deployment(c: &Cluster, n: &Namespace, d: &Deployment) -> String {
    let mut w = W::default();
    let st = view::deploy_status(n, d);
    w.w(0, &format!("Name:\t{}", d.name));
    w.w(0, &format!("Namespace:\t{}", n.name));
    w.w(
        0,
        &format!("CreationTimestamp:\t{}", rfc1123z(d.created_at)),
    );
    w.labels("", "Labels", &d.labels);
    let mut ann: BTreeMap<String, String> = d.annotations.clone();
    let restarted = ann.remove(super::objects::RESTARTED_AT);
    ann.insert(
        "deployment.kubernetes.io/revision".into(),
        d.current_revision().map_or(1, |r| r.number).to_string(),
    );
    w.annotations("", "Annotations", &ann);
    w.w(
        0,
        &format!(
            "Selector:\t{}",
            view::labels_cell(&d.selector).replace("<none>", "")
        ),
    );
    w.w(
        0,
        &format!(
            "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable",
            d.replicas,
            st.updated,
            st.replicas,
            st.available,
            d.replicas.saturating_sub(st.available)
        ),
    );
    w.w(0, "StrategyType:\tRollingUpdate");
    w.w(0, "MinReadySeconds:\t0");
    w.w(
        0,
        "RollingUpdateStrategy:\t25% max unavailable, 25% max surge",
    );
    let mut tann = BTreeMap::new();
    if let Some(r) = restarted {
        tann.insert(super::objects::RESTARTED_AT.to_string(), r);
    }
    pod_template(&mut w, &d.template, &tann);
    let avail = st.available >= d.replicas;
    w.0.push_str("Conditions:\n  Type\tStatus\tReason\n");
    w.w(1, "----\t------\t------");
    w.w(
        1,
        &format!(
            "Available \t{}\t{}",
            if avail { "True" } else { "False" },
            if avail {
                "MinimumReplicasAvailable"
            } else {
                "MinimumReplicasUnavailable"
            }
        ),
    );
    w.w(1, "Progressing \tTrue\tNewReplicaSetAvailable");
    let rss = view::replica_sets(n);
    let current = d
        .current_revision()
        .map(|r| r.hash.clone())
        .unwrap_or_default();
    let fmt =
        |r: &view::RsView| format!("{} ({}/{} replicas created)", r.name, r.current, r.desired);
    let old: Vec<String> = rss
        .iter()
        .filter(|r| r.deployment.name == d.name && r.hash != current && r.current > 0)
        .map(fmt)
        .collect();
    let new: Vec<String> = rss
        .iter()
        .filter(|r| r.deployment.name == d.name && r.hash == current)
        .map(fmt)
        .collect();
    w.w(
        0,
        &format!(
            "OldReplicaSets:\t{}",
            if old.is_empty() {
                "<none>".into()
            } else {
                old.join(", ")
            }
        ),
    );
    w.w(
        0,
        &format!(
            "NewReplicaSet:\t{}",
            if new.is_empty() {
                "<none>".into()
            } else {
                new.join(", ")
            }
        ),
    );
    w.events(c, &n.name, &format!("deployment/{}", d.name));
    w.done()
}

pub fn replica_set(c: &Cluster, n: &Namespace, rs: &view::RsView) -> String {
    let mut w = W::default();
    w.w(0, &format!("Name:\t{}", rs.name));
    w.w(0, &format!("Namespace:\t{}", n.name));
    w.w(
        0,
        &format!("Selector:\t{}", view::labels_cell(&rs.selector())),
    );
    w.labels("", "Labels", &rs.labels());
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
    w.annotations("", "Annotations", &ann);
    w.w(
        0,
        &format!("Controlled By:\tDeployment/{}", rs.deployment.name),
    );
    w.w(
        0,
        &format!("Replicas:\t{} current / {} desired", rs.current, rs.desired),
    );
    let pods: Vec<&Pod> = n
        .pods
        .values()
        .filter(|p| p.deployment == rs.deployment.name && p.rs_hash == rs.hash)
        .collect();
    let count = |f: &dyn Fn(&Pod) -> bool| pods.iter().filter(|p| f(p)).count();
    w.w(
        0,
        &format!(
            "Pods Status:\t{} Running / {} Waiting / {} Succeeded / {} Failed",
            count(&|p| p.phase == PodPhase::Running),
            count(&|p| p.phase == PodPhase::Pending),
            count(&|p| p.phase == PodPhase::Succeeded),
            count(&|p| p.phase == PodPhase::Failed)
        ),
    );
    pod_template(&mut w, rs.template, &BTreeMap::new());
    w.events(c, &n.name, &format!("replicaset/{}", rs.name));
    w.done()
}

pub fn service(c: &Cluster, n: &Namespace, s: &Service) -> String {
    let mut w = W::default();
    w.w(0, &format!("Name:\t{}", s.name));
    w.w(0, &format!("Namespace:\t{}", n.name));
    w.labels("", "Labels", &s.labels);
    w.annotations("", "Annotations", &BTreeMap::new());
    w.w(
        0,
        &format!(
            "Selector:\t{}",
            view::labels_cell(&s.selector).replace("<none>", "")
        ),
    );
    w.w(0, &format!("Type:\t{}", s.service_type));
    w.w(0, "IP Family Policy:\tSingleStack");
    w.w(0, "IP Families:\tIPv4");
    w.w(0, &format!("IP:\t{}", s.cluster_ip));
    w.w(0, &format!("IPs:\t{}", s.cluster_ip));
    let ep = view::endpoints(n, s);
    for p in &s.ports {
        let name = if p.name.is_empty() {
            "<unset>"
        } else {
            p.name.as_str()
        };
        w.w(0, &format!("Port:\t{name}\t{}/{}", p.port, p.protocol));
        w.w(0, &format!("TargetPort:\t{}/{}", p.target_port, p.protocol));
        if s.service_type == "NodePort" || s.service_type == "LoadBalancer" {
            w.w(
                0,
                &format!(
                    "NodePort:\t{name}\t{}/{}",
                    super::objects::node_port(&n.name, &s.name, p.port),
                    p.protocol
                ),
            );
        }
        let list: Vec<String> = ep
            .ready
            .iter()
            .map(|(_, ip)| format!("{ip}:{}", p.target_port))
            .collect();
        let more = list.len().saturating_sub(3);
        let mut cell = list.iter().take(3).cloned().collect::<Vec<_>>().join(",");
        if more > 0 {
            cell.push_str(&format!(" + {more} more..."));
        }
        w.w(0, &format!("Endpoints:\t{cell}"));
    }
    w.w(0, "Session Affinity:\tNone");
    w.w(0, "Internal Traffic Policy:\tCluster");
    w.events(c, &n.name, &format!("service/{}", s.name));
    w.done()
}

pub fn endpoints(c: &Cluster, n: &Namespace, s: &Service) -> String {
    let mut w = W::default();
    let ep = view::endpoints(n, s);
    w.w(0, &format!("Name:\t{}", s.name));
    w.w(0, &format!("Namespace:\t{}", n.name));
    w.labels("", "Labels", &s.labels);
    w.annotations(
        "",
        "Annotations",
        &BTreeMap::from([(
            "endpoints.kubernetes.io/last-change-trigger-time".to_string(),
            super::table::rfc3339(c.now),
        )]),
    );
    if ep.ready.is_empty() && ep.not_ready.is_empty() {
        w.w(0, "Subsets:");
    } else {
        w.w(0, "Subsets:");
        let ips = |l: &[(&Pod, String)]| {
            if l.is_empty() {
                "<none>".to_string()
            } else {
                l.iter().map(|x| x.1.clone()).collect::<Vec<_>>().join(",")
            }
        };
        w.w(1, &format!("Addresses:\t{}", ips(&ep.ready)));
        w.w(1, &format!("NotReadyAddresses:\t{}", ips(&ep.not_ready)));
        w.w(1, "Ports:");
        w.w(2, "Name\tPort\tProtocol");
        w.w(2, "----\t----\t--------");
        for p in &s.ports {
            w.w(
                2,
                &format!(
                    "{}\t{}\t{}",
                    if p.name.is_empty() {
                        "<unset>"
                    } else {
                        &p.name
                    },
                    p.target_port,
                    p.protocol
                ),
            );
        }
    }
    w.0.push('\n');
    w.events(c, &n.name, &format!("endpoints/{}", s.name));
    w.done()
}

/// `kubectl describe TYPE [NAME_PREFIX] [-l selector]`.
pub fn describe(c: &Cluster, a: &Args, default_ns: &str) -> KubectlResult {
    let words = &a.positional[1..];
    if words.is_empty() {
        return err(
            "You must specify the type of resource to describe. Use \"kubectl api-resources\" for a complete list of supported resources.",
        );
    }
    let (t, names): (String, Vec<String>) = match words[0].split_once('/') {
        Some((t, n)) => (t.to_string(), vec![n.to_string()]),
        None => (words[0].clone(), words[1..].to_vec()),
    };
    let Some(kind) = Kind::parse(&t) else {
        return err(&format!(
            "error: the server doesn't have a resource type \"{t}\""
        ));
    };
    let ns_name = a.get("namespace").unwrap_or(default_ns).to_string();
    let all_ns = a.has("all-namespaces");
    let sel = match a.get("selector").map(parse_selector).transpose() {
        Ok(s) => s,
        Err(e) => return err(&e),
    };
    let objs = super::get::list(
        c,
        kind,
        if all_ns || !kind.namespaced() {
            None
        } else {
            Some(&ns_name)
        },
        false,
    );
    let mut picked: Vec<&super::get::Obj> = Vec::new();
    let mut errors = Vec::new();
    if names.is_empty() {
        picked = objs
            .iter()
            .filter(|o| sel.as_ref().is_none_or(|s| selector_matches(s, &o.labels)))
            .collect();
    } else {
        for n in &names {
            let exact: Vec<&super::get::Obj> = objs.iter().filter(|o| &o.name == n).collect();
            let hits = if exact.is_empty() {
                objs.iter()
                    .filter(|o| o.name.starts_with(n.as_str()))
                    .collect()
            } else {
                exact
            };
            if hits.is_empty() {
                errors.push(format!(
                    "Error from server (NotFound): {} \"{n}\" not found",
                    kind.resource()
                ));
            }
            picked.extend(hits);
        }
    }
    if picked.is_empty() && errors.is_empty() {
        return if kind.namespaced() && !all_ns {
            KubectlResult::ok(format!("No resources found in {ns_name} namespace.\n"))
        } else {
            KubectlResult::ok("No resources found\n".into())
        };
    }
    let mut parts = Vec::new();
    for o in picked {
        let ns = o.ns.clone().unwrap_or_default();
        let n = c.namespace(&ns);
        let text = match kind {
            Kind::Pod => n.and_then(|n| n.pods.get(&o.name)).map(|p| pod(c, &ns, p)),
            Kind::Deployment => n.and_then(|n| n.deployments.get(&o.name).map(|d| deployment(c, n, d))),
            Kind::ReplicaSet => n.and_then(|n| view::replica_sets(n).into_iter().find(|r| r.name == o.name).map(|r| replica_set(c, n, &r))),
            Kind::Service => n.and_then(|n| n.services.get(&o.name).map(|s| service(c, n, s))),
            Kind::Endpoints => n.and_then(|n| n.services.get(&o.name).map(|s| endpoints(c, n, s))),
            Kind::Node => c.node(&o.name).map(|nd| node(c, nd)),
            Kind::Pvc => n.and_then(|n| n.pvcs.get(&o.name).map(|p| pvc(c, n, p))),
            Kind::Pv => c.pvs.get(&o.name).map(|p| pv(c, p)),
            Kind::ConfigMap => n.and_then(|n| n.config_maps.get(&o.name)).map(|cm| config_map(c, &ns, cm)).or_else(|| {
                (o.name == "kube-root-ca.crt").then(|| format!("Name:         kube-root-ca.crt\nNamespace:    {ns}\nLabels:       <none>\nAnnotations:  kubernetes.io/description: Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.\n\nData\n====\nca.crt:\n----\n-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n\n\nBinaryData\n====\n\nEvents:  <none>\n"))
            }),
            Kind::Namespace => Some(namespace(c, &o.name)),
            Kind::Event => Some(format!("Name:             {}\nNamespace:        {ns}\nMessage:          {}\n", o.name, o.json.get("message").and_then(|m| m.as_str()).unwrap_or_default())),
            Kind::ServiceAccount => Some(format!("Name:                default\nNamespace:           {ns}\nLabels:              <none>\nAnnotations:         <none>\nImage pull secrets:  <none>\nMountable secrets:   <none>\nTokens:              <none>\nEvents:              <none>\n")),
            Kind::Empty(_) => None,
        };
        if let Some(t) = text {
            parts.push(t);
        }
    }
    let mut out = parts.join("\n\n");
    if !errors.is_empty() {
        out.push_str(&errors.join("\n"));
        return KubectlResult {
            stdout: out,
            ok: false,
        };
    }
    KubectlResult::ok(out)
}
