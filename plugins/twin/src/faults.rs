//! Fault injection: each effect of a fault, applied to its targets, changes the cluster the way
//! the real injector (kubectl patches, chaos experiments, mongo shell) does. Consequences are
//! not written here: they follow from the changed state through reconcile and health.

use crate::cluster::*;
use crate::suite::schema::{Effect, FaultSpec};

/// Applies every effect of `fault` to each target service in `namespace`.
pub fn inject(cluster: &mut Cluster, namespace: &str, fault: &FaultSpec, targets: &[String]) -> Result<(), String> {
    for effect in &fault.effects {
        for target in targets {
            apply_effect(cluster, namespace, effect.get_ref(), target, None)?;
        }
    }
    cluster.reconcile();
    Ok(())
}

fn template_mut<'a>(cluster: &'a mut Cluster, ns: &str, target: &str) -> Result<&'a mut PodTemplate, String> {
    cluster
        .namespace_mut(ns)
        .and_then(|n| n.deployments.get_mut(target))
        .map(|d| &mut d.template)
        .ok_or_else(|| format!("no deployment `{target}` in namespace `{ns}`"))
}

fn container_mut<'a>(cluster: &'a mut Cluster, ns: &str, target: &str) -> Result<&'a mut ContainerSpec, String> {
    template_mut(cluster, ns, target)?
        .containers
        .first_mut()
        .ok_or_else(|| format!("deployment `{target}` has no container"))
}

fn add_condition(cluster: &mut Cluster, ns: &str, target: &str, effect: &Effect, until: Option<SimTime>, flag: Option<String>) {
    let now = cluster.now;
    if let Some(n) = cluster.namespace_mut(ns) {
        n.conditions.push(Condition {
            service: target.to_string(),
            effect: effect.clone(),
            since: now,
            until,
            flag,
        });
    }
}

/// Applies one effect to one target.
pub fn apply_effect(cluster: &mut Cluster, ns: &str, effect: &Effect, target: &str, flag: Option<String>) -> Result<(), String> {
    let now = cluster.now;
    match effect {
        Effect::Scale { replicas } => {
            let d = cluster
                .namespace_mut(ns)
                .and_then(|n| n.deployments.get_mut(target))
                .ok_or_else(|| format!("no deployment `{target}`"))?;
            let from = d.replicas;
            d.replicas = *replicas;
            let hash = d.current_revision().map(|r| r.hash.clone()).unwrap_or_default();
            cluster.emit_event(
                ns,
                "Normal",
                "ScalingReplicaSet",
                &format!("deployment/{target}"),
                &format!("Scaled down replica set {target}-{hash} from {from} to {replicas}"),
                "deployment-controller",
            );
        }
        Effect::ServiceTargetPort { port } => {
            let svc = cluster
                .namespace_mut(ns)
                .and_then(|n| n.services.get_mut(target))
                .ok_or_else(|| format!("no service `{target}`"))?;
            if let Some(p) = svc.ports.first_mut() {
                p.target_port = *port;
            }
        }
        Effect::NodeSelector { node } => {
            let t = template_mut(cluster, ns, target)?;
            t.node_selector.clear();
            t.node_selector.insert("kubernetes.io/hostname".to_string(), node.clone());
            cluster.new_revision(ns, target, None);
        }
        Effect::Image { image, exists, defect } => {
            if *exists {
                cluster.images.insert(image.clone(), *defect);
            }
            container_mut(cluster, ns, target)?.image = image.clone();
            cluster.new_revision(ns, target, None);
        }
        Effect::Command { command } => {
            container_mut(cluster, ns, target)?.command = command.clone();
            cluster.new_revision(ns, target, None);
        }
        Effect::EnvSet { name, value } => {
            let c = container_mut(cluster, ns, target)?;
            match c.env.iter_mut().find(|e| &e.name == name) {
                Some(e) => e.value = value.clone(),
                None => c.env.push(EnvVar {
                    name: name.clone(),
                    value: value.clone(),
                }),
            }
            cluster.new_revision(ns, target, None);
        }
        Effect::EnvRemove { name } => {
            container_mut(cluster, ns, target)?.env.retain(|e| &e.name != name);
            cluster.new_revision(ns, target, None);
        }
        Effect::ConfigMapSet { config_map, key, value } => {
            let cm = cluster
                .namespace_mut(ns)
                .and_then(|n| n.config_maps.get_mut(config_map))
                .ok_or_else(|| format!("no config map `{config_map}`"))?;
            cm.data.insert(key.clone(), value.clone());
            restart_pods(cluster, ns, target);
        }
        Effect::DbUserDrop { user } => {
            let db = cluster
                .namespace_mut(ns)
                .and_then(|n| n.databases.get_mut(target))
                .ok_or_else(|| format!("`{target}` hosts no database"))?;
            db.users.remove(user);
        }
        Effect::DbRoleRevoke { user, role } => {
            let db = cluster
                .namespace_mut(ns)
                .and_then(|n| n.databases.get_mut(target))
                .ok_or_else(|| format!("`{target}` hosts no database"))?;
            if let Some(u) = db.users.get_mut(user) {
                u.roles.retain(|r| r != role && r.split('@').next() != Some(role.as_str()));
            }
        }
        Effect::DbRequireTls => {
            let c = container_mut(cluster, ns, target)?;
            for a in ["--tlsMode", "requireTLS", "--tlsCertificateKeyFile", "/etc/tls/tls.pem"] {
                c.args.push(a.to_string());
            }
            cluster.new_revision(ns, target, None);
        }
        Effect::RestartCallers => {
            let callers: Vec<String> = cluster
                .namespace(ns)
                .map(|n| {
                    n.app
                        .services
                        .iter()
                        .filter(|s| s.calls.iter().any(|c| c.get_ref() == target))
                        .map(|s| s.name.get_ref().clone())
                        .collect()
                })
                .unwrap_or_default();
            for c in callers {
                restart_pods(cluster, ns, &c);
            }
        }
        Effect::PodFailure { duration_s } => {
            add_condition(cluster, ns, target, effect, Some(now + *duration_s as f64), flag);
        }
        Effect::PodKill { duration_s } => {
            restart_pods(cluster, ns, target);
            add_condition(cluster, ns, target, effect, Some(now + *duration_s as f64), flag);
        }
        Effect::ContainerKill => {
            let names: Vec<String> = cluster
                .namespace(ns)
                .map(|n| n.pods.values().filter(|p| p.deployment == target).map(|p| p.name.clone()).collect())
                .unwrap_or_default();
            for name in names {
                if let Some(p) = cluster.namespace_mut(ns).and_then(|n| n.pods.get_mut(&name)) {
                    let started = p.runtime.started_at;
                    p.runtime.base_restarts += 1;
                    p.runtime.started_at = now + 1.0;
                    for c in &mut p.containers {
                        c.last_state = Some(ContainerState::Terminated {
                            reason: "Error".to_string(),
                            exit_code: 137,
                            started_at: started,
                            finished_at: now,
                        });
                        c.last_restart_at = Some(now + 1.0);
                    }
                }
            }
        }
        Effect::ProbeMisconfig { probe, port, path } => {
            let c = container_mut(cluster, ns, target)?;
            let default_port = c.ports.first().copied();
            let slot = if probe == "liveness" { &mut c.liveness } else { &mut c.readiness };
            let p = slot.get_or_insert_with(|| crate::suite::schema::ProbeSpec {
                kind: "http-get".to_string(),
                path: Some("/health".to_string()),
                port: default_port,
                command: Vec::new(),
                initial_delay_seconds: 5,
                period_seconds: 10,
                failure_threshold: 3,
            });
            if let Some(port) = port {
                p.port = Some(*port);
            }
            if let Some(path) = path {
                p.path = Some(path.clone());
            }
            cluster.new_revision(ns, target, None);
        }
        Effect::FeatureFlag { flag: name } => {
            let cm_name = cluster
                .namespace(ns)
                .and_then(|n| n.app.flag_config_map.clone())
                .ok_or_else(|| format!("app in `{ns}` has no feature flags"))?;
            if let Some(cm) = cluster.namespace_mut(ns).and_then(|n| n.config_maps.get_mut(&cm_name)) {
                cm.data.insert(name.clone(), "on".to_string());
            }
            sync_flags(cluster, ns);
        }
        Effect::RedeployWithoutPv => {
            redeploy_without_pv(cluster, ns)?;
        }
        Effect::NetworkLoss { .. }
        | Effect::NetworkDelay { .. }
        | Effect::CpuHog { .. }
        | Effect::MemoryLeak { .. }
        | Effect::RequestErrors { .. }
        | Effect::RequestLatency { .. }
        | Effect::DependencyUnreachable { .. }
        | Effect::LoadSurge { .. }
        | Effect::QueueLag { .. }
        | Effect::GcPauses { .. }
        | Effect::LogLines { .. } => add_condition(cluster, ns, target, effect, None, flag),
    }
    Ok(())
}

/// Deletes a deployment's pods; its ReplicaSet replaces them.
pub fn restart_pods(cluster: &mut Cluster, ns: &str, deployment: &str) {
    if let Some(n) = cluster.namespace_mut(ns) {
        for p in n.pods.values_mut().filter(|p| p.deployment == deployment) {
            p.deleting = true;
        }
    }
    cluster.reconcile();
}

/// Makes the behaviour conditions of feature flags follow the flag config map: a flag set to
/// `on` holds its effects on its service; set to anything else, they go away.
pub fn sync_flags(cluster: &mut Cluster, ns: &str) {
    let Some(n) = cluster.namespace(ns) else { return };
    let Some(cm_name) = n.app.flag_config_map.clone() else { return };
    let data = n.config_maps.get(&cm_name).map(|c| c.data.clone()).unwrap_or_default();
    let app = n.app.clone();
    for flag in &app.flags {
        let on = data.get(&flag.name).is_some_and(|v| flag_value_on(v));
        let present = cluster
            .namespace(ns)
            .is_some_and(|n| n.conditions.iter().any(|c| c.flag.as_deref() == Some(flag.name.as_str())));
        if on && !present {
            for e in &flag.effects {
                let _ = apply_effect(cluster, ns, e, flag.service.get_ref(), Some(flag.name.clone()));
            }
        } else if !on && present
            && let Some(n) = cluster.namespace_mut(ns) {
                n.conditions.retain(|c| c.flag.as_deref() != Some(flag.name.as_str()));
            }
    }
}

fn flag_value_on(v: &str) -> bool {
    let v = v.trim().to_ascii_lowercase();
    v == "on" || v == "true" || v.contains("\"defaultvariant\": \"on\"") || v.contains("\"defaultvariant\":\"on\"")
}

/// Deletes the namespace and deploys its app again; the old volumes stay Released, bound to
/// claims that no longer exist, so the new claims stay Pending.
fn redeploy_without_pv(cluster: &mut Cluster, ns: &str) -> Result<(), String> {
    let app = cluster
        .namespace(ns)
        .map(|n| n.app.clone())
        .ok_or_else(|| format!("no namespace `{ns}`"))?;
    cluster.namespaces.remove(ns);
    cluster.events.retain(|e| e.namespace != ns);
    let prefix = format!("{ns}/");
    for pv in cluster.pvs.values_mut() {
        if pv.claim_ref.as_deref().is_some_and(|r| r.starts_with(&prefix)) {
            pv.phase = VolumePhase::Released;
        }
    }
    cluster.deploy_app_with(app, 1.0, false)
}
