//! kubectl's writing commands, parsed and handed to the cluster's writes (`cluster/ops.rs`):
//! scale, set image/env, rollout restart/undo/pause/resume, delete, patch (apply/create/replace
//! of manifests are in [`super::apply`]).

use super::parse::{Args, Kind, parse_selector, selector_matches};
use super::patch::PatchType;
use super::{KubectlResult, err, from};
use crate::cluster::Cluster;
use crate::cluster::ops::Patchable;

/// `TYPE NAME` or `TYPE/NAME` from the positional words after the verb(s).
fn type_and_names(words: &[String]) -> Result<(String, Vec<String>), String> {
    let Some(first) = words.first() else {
        return Err("error: you must specify the type of resource".into());
    };
    if let Some((t, n)) = first.split_once('/') {
        let mut names = vec![n.to_string()];
        for w in &words[1..] {
            match w.split_once('/') {
                Some((_, n)) => names.push(n.to_string()),
                None => names.push(w.clone()),
            }
        }
        return Ok((t.to_string(), names));
    }
    Ok((first.clone(), words[1..].to_vec()))
}

fn deployment_target(words: &[String], verb: &str) -> Result<String, String> {
    let (t, names) = type_and_names(words)?;
    match Kind::parse(&t) {
        Some(Kind::Deployment) => {}
        Some(Kind::Empty(r)) => {
            return Err(format!(
                "Error from server (NotFound): {r} \"{}\" not found",
                names.first().cloned().unwrap_or_default()
            ));
        }
        Some(_) => {
            return Err(format!(
                "error: {verb} is not supported for the resource type \"{t}\" here"
            ));
        }
        None => {
            return Err(format!(
                "error: the server doesn't have a resource type \"{t}\""
            ));
        }
    }
    names
        .into_iter()
        .next()
        .ok_or_else(|| "error: resource name may not be empty".to_string())
}

pub fn scale(c: &mut Cluster, a: &Args, ns: &str) -> KubectlResult {
    let Some(r) = a.get("replicas") else {
        return err("error: required flag(s) \"replicas\" not set");
    };
    let Ok(replicas) = r.parse::<u32>() else {
        return err(&format!(
            "error: invalid argument \"{r}\" for \"--replicas\" flag: strconv.ParseInt: parsing \"{r}\": invalid syntax"
        ));
    };
    let name = match deployment_target(&a.positional[1..], "scale") {
        Ok(n) => n,
        Err(e) => return err(&e),
    };
    from(c.scale_deployment(ns, &name, replicas))
}

pub fn set(c: &mut Cluster, a: &Args, ns: &str) -> KubectlResult {
    let sub = a.positional.get(1).map(String::as_str).unwrap_or("");
    let words = &a.positional[2..];
    match sub {
        "image" => {
            let (targets, pairs): (Vec<String>, Vec<String>) =
                words.iter().cloned().partition(|w| !w.contains('='));
            let name = match deployment_target(&targets, "set image") {
                Ok(n) => n,
                Err(e) => return err(&e),
            };
            if pairs.is_empty() {
                return err("error: at least one image update is required");
            }
            let mut last = None;
            for p in pairs {
                let Some((cont, image)) = p.split_once('=') else {
                    continue;
                };
                match c.set_image(ns, &name, cont, image) {
                    Ok(s) => last = Some(s),
                    Err(e) => return err(&e),
                }
            }
            KubectlResult::ok(format!("{}\n", last.unwrap_or_default()))
        }
        "env" => {
            let mut targets: Vec<String> = Vec::new();
            let mut changes: Vec<(String, Option<String>)> = Vec::new();
            for w in words.iter().chain(a.all("env").iter()) {
                if let Some((k, v)) = w.split_once('=') {
                    changes.push((k.to_string(), Some(v.to_string())));
                } else if targets.is_empty()
                    || (targets.len() == 1 && !targets[0].contains('/') && !w.ends_with('-'))
                {
                    targets.push(w.clone());
                } else if let Some(k) = w.strip_suffix('-') {
                    changes.push((k.to_string(), None));
                } else {
                    targets.push(w.clone());
                }
            }
            let name = match deployment_target(&targets, "set env") {
                Ok(n) => n,
                Err(e) => return err(&e),
            };
            let container = a.get("container").or_else(|| a.get("containers"));
            if a.has("list") {
                let Some(d) = c.namespace(ns).and_then(|n| n.deployments.get(&name)) else {
                    return err(&format!(
                        "Error from server (NotFound): deployments.apps \"{name}\" not found"
                    ));
                };
                let mut out = String::new();
                for ct in d
                    .template
                    .containers
                    .iter()
                    .filter(|x| container.is_none_or(|n| n == "*" || n == x.name))
                {
                    out.push_str(&format!("# deployments/{name}, container {}\n", ct.name));
                    for e in &ct.env {
                        out.push_str(&format!("{}={}\n", e.name, e.value));
                    }
                }
                return KubectlResult::ok(out);
            }
            if changes.is_empty() {
                return err("error: at least one environment variable must be provided");
            }
            let container = container.filter(|c| *c != "*");
            let mut last = None;
            for (k, v) in changes {
                match c.set_env(ns, &name, container, &k, v) {
                    Ok(s) => last = Some(s),
                    Err(e) => return err(&e),
                }
            }
            KubectlResult::ok(format!("{}\n", last.unwrap_or_default()))
        }
        "resources" | "selector" | "serviceaccount" | "subject" => err(&format!(
            "error: `kubectl set {sub}` is not supported in this environment; use kubectl patch"
        )),
        _ => err(&format!(
            "error: unknown command \"{sub}\" for \"kubectl set\""
        )),
    }
}

pub fn rollout(c: &mut Cluster, a: &Args, ns: &str) -> KubectlResult {
    let sub = a.positional.get(1).map(String::as_str).unwrap_or("");
    if !matches!(
        sub,
        "status" | "history" | "restart" | "undo" | "pause" | "resume"
    ) {
        return err(&format!(
            "error: unknown command \"{sub}\" for \"kubectl rollout\""
        ));
    }
    let name = match deployment_target(&a.positional[2..], &format!("rollout {sub}")) {
        Ok(n) => n,
        Err(e) => return err(&e),
    };
    match sub {
        "status" | "history" => super::logs::rollout_read(c, a, ns, sub, &name),
        "restart" => from(c.rollout_restart(ns, &name)),
        "undo" => {
            let to = match a.get("to-revision").map(str::parse::<u32>).transpose() {
                Ok(t) => t,
                Err(_) => return err("error: invalid argument for \"--to-revision\" flag"),
            };
            from(c.rollout_undo(ns, &name, to))
        }
        _ => {
            if c.namespace(ns)
                .and_then(|n| n.deployments.get(&name))
                .is_none()
            {
                return err(&format!(
                    "Error from server (NotFound): deployments.apps \"{name}\" not found"
                ));
            }
            KubectlResult::ok(format!(
                "deployment.apps/{name} {}d\n",
                if sub == "pause" { "pause" } else { "resume" }
            ))
        }
    }
}

pub fn delete(c: &mut Cluster, a: &Args, ns: &str) -> KubectlResult {
    if a.get("filename").is_some() {
        return err(&format!(
            "error: the path \"{}\" does not exist",
            a.get("filename").unwrap_or_default()
        ));
    }
    let (t, mut names) = match type_and_names(&a.positional[1..]) {
        Ok(x) => x,
        Err(_) => return err("error: resource(s) were provided, but no name was specified"),
    };
    let Some(kind) = Kind::parse(&t) else {
        return err(&format!(
            "error: the server doesn't have a resource type \"{t}\""
        ));
    };
    let sel = match a.get("selector").map(parse_selector).transpose() {
        Ok(s) => s,
        Err(e) => return err(&e),
    };
    if names.is_empty() {
        if sel.is_none() && !a.has("all") {
            return err("error: resource(s) were provided, but no name was specified");
        }
        let objs = super::get::list(
            c,
            kind,
            if kind.namespaced() { Some(ns) } else { None },
            false,
        );
        names = objs
            .into_iter()
            .filter(|o| sel.as_ref().is_none_or(|s| selector_matches(s, &o.labels)))
            .map(|o| o.name)
            .collect();
        if names.is_empty() {
            return KubectlResult::ok("No resources found\n".into());
        }
    }
    let force = a.has("force") && a.get("grace-period") == Some("0");
    let mut out = String::new();
    if force {
        out.push_str("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n");
    }
    let mut failed = Vec::new();
    for n in names {
        let r = match kind {
            Kind::Pod => c.delete_pod(ns, &n),
            Kind::Deployment => c.delete_deployment(ns, &n),
            Kind::Service => c.delete_service(ns, &n),
            Kind::ConfigMap => c.delete_config_map(ns, &n),
            Kind::Pvc => c.delete_pvc(ns, &n),
            Kind::Pv => c.delete_pv(&n),
            Kind::Namespace => c.delete_namespace(&n),
            Kind::ReplicaSet => {
                // The deployment recreates a deleted ReplicaSet and its pods at once.
                let pods: Vec<String> = c
                    .namespace(ns)
                    .map(|x| {
                        x.pods
                            .values()
                            .filter(|p| format!("{}-{}", p.deployment, p.rs_hash) == n)
                            .map(|p| p.name.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let exists = c
                    .namespace(ns)
                    .is_some_and(|x| super::view::replica_sets(x).iter().any(|r| r.name == n));
                if !exists {
                    Err(format!(
                        "Error from server (NotFound): replicasets.apps \"{n}\" not found"
                    ))
                } else {
                    for p in pods {
                        let _ = c.delete_pod(ns, &p);
                    }
                    Ok(format!("replicaset.apps \"{n}\" deleted"))
                }
            }
            Kind::Event => Ok(format!("event \"{n}\" deleted")),
            other => Err(format!(
                "Error from server (NotFound): {} \"{n}\" not found",
                other.resource()
            )),
        };
        match r {
            Ok(s) => {
                let s = if force {
                    s.replace(" deleted", " force deleted")
                } else {
                    s
                };
                out.push_str(&s);
                out.push('\n');
            }
            Err(e) => failed.push(e),
        }
    }
    if failed.is_empty() {
        KubectlResult::ok(out)
    } else {
        KubectlResult {
            stdout: format!("{out}{}", failed.join("\n")),
            ok: false,
        }
    }
}

pub fn patch(c: &mut Cluster, a: &Args, ns: &str) -> KubectlResult {
    let (t, names) = match type_and_names(&a.positional[1..]) {
        Ok(x) => x,
        Err(e) => return err(&e),
    };
    let Some(kind) = Kind::parse(&t) else {
        return err(&format!(
            "error: the server doesn't have a resource type \"{t}\""
        ));
    };
    let Some(name) = names.first() else {
        return err("error: resource(s) were provided, but no name was specified");
    };
    let Some(p) = a.get("patch") else {
        return err(
            "error: must specify --patch or --patch-file containing the contents of the patch",
        );
    };
    let pt = match PatchType::parse(a.get("type").unwrap_or("strategic")) {
        Ok(t) => t,
        Err(e) => return err(&e),
    };
    let target = match kind {
        Kind::Deployment => Patchable::Deployment,
        Kind::Service => Patchable::Service,
        Kind::ConfigMap => Patchable::ConfigMap,
        Kind::Pvc => Patchable::Pvc,
        Kind::Pv => Patchable::Pv,
        Kind::Pod => {
            return match c.namespace(ns).and_then(|n| n.pods.get(name)) {
                None => err(&format!(
                    "Error from server (NotFound): pods \"{name}\" not found"
                )),
                Some(_) => err(&format!(
                    "The Pod \"{name}\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
                )),
            };
        }
        other => {
            return err(&format!(
                "Error from server (NotFound): {} \"{name}\" not found",
                other.resource()
            ));
        }
    };
    from(c.patch_object(ns, target, name, pt, p))
}
