//! `kubectl logs`, `kubectl top` and the read forms of `kubectl rollout` (status, history).

use super::parse::{Args, parse_selector, selector_matches};
use super::table::{stable_hash, tabwrite};
use super::view;
use super::{KubectlResult, err};
use crate::cluster::{Cluster, ContainerState, Namespace, Pod};

/// Resolves `pod`, `pod/x`, `deploy/x`, `deployment/x`, `svc/x` to a pod name.
pub fn resolve_pod(c: &Cluster, ns: &str, target: &str) -> Result<String, String> {
    let (t, name) = target.split_once('/').unwrap_or(("pod", target));
    let n = c.namespace(ns);
    let first_of = |pods: Vec<&Pod>| pods.first().map(|p| p.name.clone());
    match t.to_ascii_lowercase().as_str() {
        "pod" | "pods" | "po" => n
            .and_then(|n| n.pods.get(name))
            .map(|p| p.name.clone())
            .ok_or_else(|| format!("Error from server (NotFound): pods \"{name}\" not found")),
        "deploy" | "deployment" | "deployments" | "deployment.apps" => {
            let n = n.ok_or_else(|| {
                format!("Error from server (NotFound): deployments.apps \"{name}\" not found")
            })?;
            if !n.deployments.contains_key(name) {
                return Err(format!(
                    "Error from server (NotFound): deployments.apps \"{name}\" not found"
                ));
            }
            first_of(view::deployment_pods(n, name).collect())
                .ok_or_else(|| "error: timed out waiting for the condition".to_string())
        }
        "svc" | "service" | "services" => {
            let n = n.ok_or_else(|| {
                format!("Error from server (NotFound): services \"{name}\" not found")
            })?;
            let s = n.services.get(name).ok_or_else(|| {
                format!("Error from server (NotFound): services \"{name}\" not found")
            })?;
            first_of(n.pods.values().filter(|p| view::matches(&s.selector, &p.labels)).collect())
                .ok_or_else(|| format!("error: cannot attach to *v1.Service: selector for service \"{name}\" has no pods"))
        }
        other => Err(format!(
            "error: the server doesn't have a resource type \"{other}\""
        )),
    }
}

fn tail(text: &str, n: Option<usize>) -> String {
    let Some(n) = n else { return text.to_string() };
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut s = lines[start..].join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// `kubectl logs`.
pub fn logs(c: &Cluster, a: &Args, default_ns: &str) -> KubectlResult {
    if a.has("follow") {
        return err(
            "error: streaming logs (-f/--follow) is not supported here; the command would never return. Use --tail instead",
        );
    }
    let ns = a.get("namespace").unwrap_or(default_ns).to_string();
    let words = &a.positional[1..];
    let tail_n = match a.get("tail").map(|t| t.parse::<i64>()) {
        Some(Ok(n)) if n >= 0 => Some(n as usize),
        Some(Ok(_)) => None,
        Some(Err(_)) => {
            return err(&format!(
                "error: invalid argument \"{}\" for \"--tail\" flag: strconv.ParseInt: parsing \"{}\": invalid syntax",
                a.get("tail").unwrap_or_default(),
                a.get("tail").unwrap_or_default()
            ));
        }
        None => None,
    };
    if let Some(s) = a.get("since")
        && super::table::parse_duration(s).is_none() {
            return err(&format!(
                "error: invalid argument \"{s}\" for \"--since\" flag: time: invalid duration \"{s}\""
            ));
        }
    let container = a
        .get("container")
        .map(String::from)
        .or_else(|| words.get(1).cloned());
    let previous = a.has("previous");
    if let Some(sel) = a.get("selector") {
        let reqs = match parse_selector(sel) {
            Ok(r) => r,
            Err(e) => return err(&e),
        };
        let Some(n) = c.namespace(&ns) else {
            return KubectlResult::ok(format!("No resources found in {ns} namespace.\n"));
        };
        let pods: Vec<&Pod> = n
            .pods
            .values()
            .filter(|p| selector_matches(&reqs, &p.labels))
            .collect();
        if pods.is_empty() {
            return KubectlResult::ok(format!("No resources found in {ns} namespace.\n"));
        }
        let mut out = String::new();
        for p in pods {
            match crate::telemetry::logs::pod_logs(c, &ns, &p.name, container.as_deref(), previous)
            {
                Ok(t) => out.push_str(&tail(&t, tail_n.or(Some(10)))),
                Err(e) => {
                    return KubectlResult {
                        stdout: format!("{out}{e}"),
                        ok: false,
                    };
                }
            }
        }
        return KubectlResult::ok(out);
    }
    let Some(target) = words.first() else {
        return err(
            "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command\nSee 'kubectl logs -h' for help and examples",
        );
    };
    let pod = match resolve_pod(c, &ns, target) {
        Ok(p) => p,
        Err(e) => return err(&e),
    };
    match crate::telemetry::logs::pod_logs(c, &ns, &pod, container.as_deref(), previous) {
        Ok(t) => KubectlResult::ok(tail(&t, tail_n)),
        Err(e) => err(&e),
    }
}

fn jitter(parts: &[&str], now: f64) -> f64 {
    let bucket = ((now / 60.0).floor() as i64).to_string();
    let mut p = parts.to_vec();
    p.push(&bucket);
    let h = stable_hash(&p);
    0.9 + (h % 2001) as f64 / 10_000.0
}

/// CPU millicores and memory MiB a running pod uses now.
pub fn pod_usage(c: &Cluster, ns: &Namespace, p: &Pod) -> Option<(f64, f64)> {
    let running = p
        .containers
        .iter()
        .any(|x| matches!(x.state, ContainerState::Running { .. }));
    if !running || p.deleting {
        return None;
    }
    let h = c
        .health_of(&ns.name)
        .and_then(|h| h.services.get(&p.deployment));
    let (cpu, mem) = h.map_or((1.0, 8.0), |s| (s.cpu_millis, s.memory_mib));
    let j = jitter(&[&p.name], c.now);
    Some(((cpu * j).max(1.0), (mem * (0.5 + j / 2.0)).max(1.0)))
}

/// `kubectl top pods|nodes`.
pub fn top(c: &Cluster, a: &Args, default_ns: &str) -> KubectlResult {
    let what = a.positional.get(1).map(String::as_str).unwrap_or("");
    let ns = a.get("namespace").unwrap_or(default_ns).to_string();
    let all = a.has("all-namespaces");
    match what {
        "pod" | "pods" | "po" => {
            let sel = match a.get("selector").map(parse_selector).transpose() {
                Ok(s) => s,
                Err(e) => return err(&e),
            };
            let name = a.positional.get(2);
            let mut text = String::new();
            let containers = a.has("containers");
            if all {
                text.push_str("NAMESPACE\t");
            }
            text.push_str(if containers {
                "POD\tNAME\tCPU(cores)\tMEMORY(bytes)\t\n"
            } else {
                "NAME\tCPU(cores)\tMEMORY(bytes)\t\n"
            });
            let mut rows = 0;
            for n in c.namespaces.values().filter(|n| all || n.name == ns) {
                for p in n.pods.values() {
                    if name.is_some_and(|x| x != &p.name)
                        || sel
                            .as_ref()
                            .is_some_and(|s| !selector_matches(s, &p.labels))
                    {
                        continue;
                    }
                    let Some((cpu, mem)) = pod_usage(c, n, p) else {
                        continue;
                    };
                    rows += 1;
                    if all {
                        text.push_str(&format!("{}\t", n.name));
                    }
                    if containers {
                        let cname = p
                            .spec
                            .containers
                            .first()
                            .map(|x| x.name.as_str())
                            .unwrap_or("");
                        text.push_str(&format!(
                            "{}\t{cname}\t{}m\t{}Mi\t\n",
                            p.name, cpu as i64, mem as i64
                        ));
                    } else {
                        text.push_str(&format!(
                            "{}\t{}m\t{}Mi\t\n",
                            p.name, cpu as i64, mem as i64
                        ));
                    }
                }
            }
            if let Some(n) = name
                && rows == 0 {
                    return err(&format!("error: pods \"{n}\" not found"));
                }
            if rows == 0 {
                return KubectlResult::ok(if all {
                    "No resources found\n".to_string()
                } else {
                    format!("No resources found in {ns} namespace.\n")
                });
            }
            KubectlResult::ok(tabwrite(&text, 6, 3))
        }
        "node" | "nodes" | "no" => {
            let mut text = String::from("NAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)\t\n");
            for nd in &c.nodes {
                if a.positional.get(2).is_some_and(|x| x != &nd.name) {
                    continue;
                }
                let (mut cpu, mut mem) = if nd.control_plane {
                    (140.0, 620.0)
                } else {
                    (45.0, 310.0)
                };
                for n in c.namespaces.values() {
                    for p in n
                        .pods
                        .values()
                        .filter(|p| p.node.as_deref() == Some(nd.name.as_str()))
                    {
                        if let Some((pc, pm)) = pod_usage(c, n, p) {
                            cpu += pc;
                            mem += pm;
                        }
                    }
                }
                let j = jitter(&[&nd.name], c.now);
                cpu *= j;
                let cpct = (cpu / nd.cpu_millis.max(1) as f64 * 100.0) as i64;
                let mpct = (mem / nd.memory_mib.max(1) as f64 * 100.0) as i64;
                text.push_str(&format!(
                    "{}\t{}m\t{cpct}%\t{}Mi\t{mpct}%\t\n",
                    nd.name, cpu as i64, mem as i64
                ));
            }
            KubectlResult::ok(tabwrite(&text, 6, 3))
        }
        "" => err(
            "error: Required resource not specified.\nSee 'kubectl top -h' for help and examples",
        ),
        other => err(&format!(
            "error: unknown command \"{other}\" for \"kubectl top\""
        )),
    }
}

/// `kubectl rollout status|history`.
pub fn rollout_read(c: &Cluster, a: &Args, ns: &str, sub: &str, name: &str) -> KubectlResult {
    let Some(n) = c.namespace(ns) else {
        return err(&format!(
            "Error from server (NotFound): deployments.apps \"{name}\" not found"
        ));
    };
    let Some(d) = n.deployments.get(name) else {
        return err(&format!(
            "Error from server (NotFound): deployments.apps \"{name}\" not found"
        ));
    };
    if sub == "history" {
        let rss = view::replica_sets(n);
        let mut revs: Vec<&view::RsView> =
            rss.iter().filter(|r| r.deployment.name == d.name).collect();
        revs.sort_by_key(|r| r.revision);
        if let Some(want) = a.get("revision") {
            let want: u32 = want.parse().unwrap_or(0);
            if want == 0 {
                return rollout_history_table(name, &revs);
            }
            let Some(r) = revs.iter().find(|r| r.revision == want) else {
                return err("error: unable to find the specified revision");
            };
            let body = super::describe::template_text(r.template, &r.hash);
            return KubectlResult::ok(format!(
                "deployment.apps/{name} with revision #{want}\n{body}\n"
            ));
        }
        return rollout_history_table(name, &revs);
    }
    let st = view::deploy_status(n, d);
    let line = if st.updated < d.replicas {
        Some(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {} out of {} new replicas have been updated...",
            st.updated, d.replicas
        ))
    } else if st.replicas > st.updated {
        Some(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...",
            st.replicas - st.updated
        ))
    } else if st.available < st.updated {
        Some(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {} of {} updated replicas are available...",
            st.available, st.updated
        ))
    } else {
        None
    };
    match line {
        None => KubectlResult::ok(format!("deployment \"{name}\" successfully rolled out\n")),
        Some(l) => {
            let since = d.current_revision().map_or(d.created_at, |r| r.created_at);
            if c.now - since > 600.0 {
                KubectlResult {
                    stdout: format!(
                        "{l}\nerror: deployment \"{name}\" exceeded its progress deadline"
                    ),
                    ok: false,
                }
            } else {
                KubectlResult {
                    stdout: format!("{l}\nerror: timed out waiting for the condition"),
                    ok: false,
                }
            }
        }
    }
}

fn rollout_history_table(name: &str, revs: &[&view::RsView]) -> KubectlResult {
    let mut t = String::from("REVISION\tCHANGE-CAUSE\n");
    for r in revs {
        t.push_str(&format!(
            "{}\t{}\n",
            r.revision,
            r.change_cause.clone().unwrap_or_else(|| "<none>".into())
        ));
    }
    KubectlResult::ok(format!("deployment.apps/{name} \n{}\n", tabwrite(&t, 0, 2)))
}
