//! Writes to the cluster, as kubectl (and a mongo shell through kubectl exec) make them.
//! Each returns kubectl's success line, or its error text. After a change the cluster is
//! reconciled, so what kubectl reads next reflects it. (The mongo shell is
//! `Cluster::mongo_eval` in `kubectl/mongo.rs`.)

use super::*;
use crate::kubectl::objects::{self, RESTARTED_AT};
use crate::kubectl::patch::{self, PatchType};
use crate::kubectl::readonly::SYSTEM_NAMESPACES;
use crate::kubectl::table::{rfc3339, stable_hash};
use serde_json::Value;

/// Objects `kubectl patch` can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patchable {
    Deployment,
    Service,
    ConfigMap,
    Pvc,
    Pv,
}

impl Patchable {
    /// As the API names the resource in errors (`deployments.apps`).
    pub fn resource(self) -> &'static str {
        match self {
            Patchable::Deployment => "deployments.apps",
            Patchable::Service => "services",
            Patchable::ConfigMap => "configmaps",
            Patchable::Pvc => "persistentvolumeclaims",
            Patchable::Pv => "persistentvolumes",
        }
    }
    /// As kubectl names it in success lines (`deployment.apps`).
    pub fn kind(self) -> &'static str {
        match self {
            Patchable::Deployment => "deployment.apps",
            Patchable::Service => "service",
            Patchable::ConfigMap => "configmap",
            Patchable::Pvc => "persistentvolumeclaim",
            Patchable::Pv => "persistentvolume",
        }
    }
}

/// `Error from server (NotFound): deployments.apps "x" not found`.
pub fn not_found(resource: &str, name: &str) -> String {
    format!("Error from server (NotFound): {resource} \"{name}\" not found")
}

impl Cluster {
    fn deployment_mut(&mut self, ns: &str, name: &str) -> Result<&mut Deployment, String> {
        self.namespaces
            .get_mut(ns)
            .and_then(|n| n.deployments.get_mut(name))
            .ok_or_else(|| not_found("deployments.apps", name))
    }

    fn current_hash(&self, ns: &str, name: &str) -> Option<String> {
        self.namespace(ns)
            .and_then(|n| n.deployments.get(name))
            .and_then(|d| d.current_revision())
            .map(|r| r.hash.clone())
    }

    fn scaling_event(&mut self, ns: &str, deploy: &str, hash: &str, from: u32, to: u32) {
        if from == to {
            return;
        }
        let dir = if to > from { "up" } else { "down" };
        let msg = format!("Scaled {dir} replica set {deploy}-{hash} from {from} to {to}");
        self.emit_event(
            ns,
            "Normal",
            "ScalingReplicaSet",
            &format!("deployment/{deploy}"),
            &msg,
            "deployment-controller",
        );
    }

    fn scaling_total(&self, ns: &str, name: &str) -> u32 {
        let obj = format!("deployment/{name}");
        self.events
            .iter()
            .filter(|e| e.namespace == ns && e.object == obj && e.reason == "ScalingReplicaSet")
            .map(|e| e.count)
            .sum()
    }

    /// Records a template change: makes a new revision (forcing one when the template alone
    /// does not differ, as after a restart), bumps the generation and emits the rollout's events.
    fn roll(&mut self, ns: &str, name: &str, change_cause: Option<String>, force: bool) {
        let before = self
            .namespace(ns)
            .and_then(|n| n.deployments.get(name))
            .map(|d| {
                (
                    d.current_revision().map(|r| (r.number, r.hash.clone())),
                    d.replicas,
                    d.generation,
                )
            });
        let Some((old_rev, replicas, generation)) = before else {
            return;
        };
        let scaled_before = self.scaling_total(ns, name);
        self.new_revision(ns, name, change_cause.clone());
        let cur = |c: &Cluster| {
            c.namespace(ns)
                .and_then(|n| n.deployments.get(name))
                .and_then(|d| d.current_revision().map(|r| (r.number, r.hash.clone())))
        };
        if cur(self) == old_rev && force {
            let hash = self.template_hash();
            let now = self.now;
            if let Ok(d) = self.deployment_mut(ns, name) {
                let number = d.revisions.iter().map(|r| r.number).max().unwrap_or(0) + 1;
                d.revisions.push(Revision {
                    number,
                    template: d.template.clone(),
                    hash,
                    change_cause,
                    created_at: now,
                });
            }
        }
        if let Ok(d) = self.deployment_mut(ns, name)
            && d.generation == generation
        {
            d.generation += 1;
        }
        let new_hash = cur(self).map(|r| r.1);
        let old_hash = old_rev.map(|r| r.1);
        if new_hash != old_hash {
            if let (Some(h), true) = (&new_hash, self.scaling_total(ns, name) == scaled_before) {
                self.scaling_event(ns, name, h, 0, replicas);
            }
            if let Some(h) = old_hash {
                self.scaling_event(ns, name, &h, replicas, 0);
            }
        }
    }

    /// `kubectl scale deployment NAME --replicas=N`.
    pub fn scale_deployment(
        &mut self,
        ns: &str,
        name: &str,
        replicas: u32,
    ) -> Result<String, String> {
        let d = self.deployment_mut(ns, name)?;
        let old = d.replicas;
        d.replicas = replicas;
        if old != replicas {
            d.generation += 1;
            let hash = self.current_hash(ns, name).unwrap_or_default();
            self.scaling_event(ns, name, &hash, old, replicas);
        }
        self.reconcile();
        Ok(format!("deployment.apps/{name} scaled"))
    }

    /// `kubectl set image deployment/NAME CONTAINER=IMAGE` (`*` for every container).
    pub fn set_image(
        &mut self,
        ns: &str,
        deploy: &str,
        container: &str,
        image: &str,
    ) -> Result<String, String> {
        let d = self.deployment_mut(ns, deploy)?;
        let mut found = false;
        let mut changed = false;
        for c in d.template.containers.iter_mut() {
            if container == "*" || c.name == container {
                found = true;
                changed |= c.image != image;
                c.image = image.to_string();
            }
        }
        if !found {
            return Err(format!(
                "error: unable to find container named \"{container}\""
            ));
        }
        if changed {
            self.roll(ns, deploy, None, false);
        }
        self.reconcile();
        Ok(format!("deployment.apps/{deploy} image updated"))
    }

    /// `kubectl set env deployment/NAME [-c CONTAINER] KEY=VALUE` (`KEY-` removes: value None).
    pub fn set_env(
        &mut self,
        ns: &str,
        deploy: &str,
        container: Option<&str>,
        name: &str,
        value: Option<String>,
    ) -> Result<String, String> {
        let d = self.deployment_mut(ns, deploy)?;
        let mut found = false;
        let mut changed = false;
        for c in d.template.containers.iter_mut() {
            if container.is_some_and(|n| n != c.name) {
                continue;
            }
            found = true;
            match &value {
                Some(v) => match c.env.iter_mut().find(|e| e.name == name) {
                    Some(e) => {
                        changed |= e.value != *v;
                        e.value = v.clone();
                    }
                    None => {
                        changed = true;
                        c.env.push(EnvVar {
                            name: name.to_string(),
                            value: v.clone(),
                        });
                    }
                },
                None => {
                    let before = c.env.len();
                    c.env.retain(|e| e.name != name);
                    changed |= c.env.len() != before;
                }
            }
        }
        if !found {
            return Err(format!(
                "error: unable to find container named \"{}\"",
                container.unwrap_or_default()
            ));
        }
        if changed {
            self.roll(ns, deploy, None, false);
        }
        self.reconcile();
        Ok(format!("deployment.apps/{deploy} env updated"))
    }

    /// `kubectl rollout restart deployment/NAME`.
    pub fn rollout_restart(&mut self, ns: &str, deploy: &str) -> Result<String, String> {
        let now = rfc3339(self.now);
        let d = self.deployment_mut(ns, deploy)?;
        d.annotations.insert(RESTARTED_AT.to_string(), now);
        self.roll(ns, deploy, None, true);
        self.reconcile();
        Ok(format!("deployment.apps/{deploy} restarted"))
    }

    /// `kubectl rollout undo deployment/NAME [--to-revision=N]`.
    pub fn rollout_undo(
        &mut self,
        ns: &str,
        deploy: &str,
        to_revision: Option<u32>,
    ) -> Result<String, String> {
        let d = self.deployment_mut(ns, deploy)?;
        let mut numbers: Vec<u32> = d.revisions.iter().map(|r| r.number).collect();
        numbers.sort_unstable();
        let target = match to_revision {
            None | Some(0) => match numbers.len() {
                0 | 1 => {
                    return Err(format!(
                        "error: no rollout history found for deployment \"{deploy}\""
                    ));
                }
                n => numbers[n - 2],
            },
            Some(n) => n,
        };
        let Some(rev) = d.revisions.iter().find(|r| r.number == target).cloned() else {
            return Err(format!(
                "error: unable to find specified revision {target} in history"
            ));
        };
        if rev.template == d.template {
            return Ok(format!(
                "deployment.apps/{deploy} skipped rollback (current template already matches revision {target})"
            ));
        }
        d.template = rev.template.clone();
        d.annotations.remove(RESTARTED_AT);
        self.roll(ns, deploy, rev.change_cause.clone(), true);
        let obj = format!("deployment/{deploy}");
        self.emit_event(
            ns,
            "Normal",
            "DeploymentRollback",
            &obj,
            &format!("Rolled back deployment \"{deploy}\" to revision {target}"),
            "deployment-controller",
        );
        self.reconcile();
        Ok(format!("deployment.apps/{deploy} rolled back"))
    }

    /// `kubectl delete pod NAME`: the pod goes; its ReplicaSet makes a new one on reconcile.
    pub fn delete_pod(&mut self, ns: &str, pod: &str) -> Result<String, String> {
        let removed = self
            .namespaces
            .get_mut(ns)
            .and_then(|n| n.pods.remove(pod))
            .ok_or_else(|| not_found("pods", pod))?;
        if removed.node.is_some() {
            for c in &removed.containers {
                if matches!(c.state, ContainerState::Running { .. }) {
                    self.emit_event(
                        ns,
                        "Normal",
                        "Killing",
                        &format!("pod/{pod}"),
                        &format!("Stopping container {}", c.name),
                        "kubelet",
                    );
                }
            }
        }
        self.reconcile();
        Ok(format!("pod \"{pod}\" deleted"))
    }

    /// `kubectl delete deployment NAME` (its pods go with it).
    pub fn delete_deployment(&mut self, ns: &str, name: &str) -> Result<String, String> {
        let n = self
            .namespaces
            .get_mut(ns)
            .ok_or_else(|| not_found("deployments.apps", name))?;
        n.deployments
            .remove(name)
            .ok_or_else(|| not_found("deployments.apps", name))?;
        n.pods.retain(|_, p| p.deployment != name);
        self.reconcile();
        Ok(format!("deployment.apps \"{name}\" deleted"))
    }

    pub fn delete_service(&mut self, ns: &str, name: &str) -> Result<String, String> {
        self.namespaces
            .get_mut(ns)
            .and_then(|n| n.services.remove(name))
            .ok_or_else(|| not_found("services", name))?;
        self.reconcile();
        Ok(format!("service \"{name}\" deleted"))
    }

    pub fn delete_config_map(&mut self, ns: &str, name: &str) -> Result<String, String> {
        self.namespaces
            .get_mut(ns)
            .and_then(|n| n.config_maps.remove(name))
            .ok_or_else(|| not_found("configmaps", name))?;
        self.reconcile();
        Ok(format!("configmap \"{name}\" deleted"))
    }

    /// `kubectl delete pvc NAME`: its bound volume is Released (Retain) or deleted (Delete).
    pub fn delete_pvc(&mut self, ns: &str, name: &str) -> Result<String, String> {
        let claim = self
            .namespaces
            .get_mut(ns)
            .and_then(|n| n.pvcs.remove(name))
            .ok_or_else(|| not_found("persistentvolumeclaims", name))?;
        if let Some(v) = &claim.volume {
            let delete = self
                .pvs
                .get(v)
                .is_some_and(|p| p.reclaim_policy == "Delete");
            if delete {
                self.pvs.remove(v);
            } else if let Some(p) = self.pvs.get_mut(v) {
                p.phase = VolumePhase::Released;
            }
        }
        self.reconcile();
        Ok(format!("persistentvolumeclaim \"{name}\" deleted"))
    }

    /// `kubectl delete pv NAME`: a claim bound to it is Lost.
    pub fn delete_pv(&mut self, name: &str) -> Result<String, String> {
        let pv = self
            .pvs
            .remove(name)
            .ok_or_else(|| not_found("persistentvolumes", name))?;
        if let Some((ns, claim)) = pv.claim_ref.as_deref().and_then(|c| c.split_once('/'))
            && let Some(c) = self
                .namespaces
                .get_mut(ns)
                .and_then(|n| n.pvcs.get_mut(claim))
            && c.volume.as_deref() == Some(name)
        {
            c.phase = ClaimPhase::Lost;
        }
        self.reconcile();
        Ok(format!("persistentvolume \"{name}\" deleted"))
    }

    /// `kubectl delete namespace NAME`: everything in it goes; claimed volumes are Released.
    pub fn delete_namespace(&mut self, name: &str) -> Result<String, String> {
        if SYSTEM_NAMESPACES.contains(&name) {
            return Err(format!(
                "Error from server (Forbidden): namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            ));
        }
        let ns = self
            .namespaces
            .remove(name)
            .ok_or_else(|| not_found("namespaces", name))?;
        for claim in ns.pvcs.values() {
            let Some(v) = &claim.volume else { continue };
            let delete = self
                .pvs
                .get(v)
                .is_some_and(|p| p.reclaim_policy == "Delete");
            if delete {
                self.pvs.remove(v);
            } else if let Some(p) = self.pvs.get_mut(v) {
                p.phase = VolumePhase::Released;
            }
        }
        self.events.retain(|e| e.namespace != name);
        self.health.remove(name);
        self.reconcile();
        Ok(format!("namespace \"{name}\" deleted"))
    }

    /// `kubectl patch KIND NAME [--type=strategic|merge|json] -p PATCH`.
    pub fn patch_object(
        &mut self,
        ns: &str,
        kind: Patchable,
        name: &str,
        patch_type: PatchType,
        patch_text: &str,
    ) -> Result<String, String> {
        let before = self
            .object_json(ns, kind, name)
            .ok_or_else(|| not_found(kind.resource(), name))?;
        let after = patch::apply(&before, patch_type, patch_text)?;
        let done = format!("{}/{name} patched", kind.kind());
        if after == before {
            return Ok(format!("{done} (no change)"));
        }
        let changed = self.write_object(ns, kind, name, &after)?;
        self.reconcile();
        Ok(if changed {
            done
        } else {
            format!("{done} (no change)")
        })
    }

    /// The object's JSON view, as `kubectl get -o json` shows it; None when it does not exist.
    pub fn object_json(&self, ns: &str, kind: Patchable, name: &str) -> Option<Value> {
        let namespace = self.namespaces.get(ns);
        match kind {
            Patchable::Deployment => namespace.and_then(|n| {
                n.deployments
                    .get(name)
                    .map(|d| objects::deployment_json(n, d))
            }),
            Patchable::Service => namespace
                .and_then(|n| n.services.get(name))
                .map(|s| objects::service_json(ns, s)),
            Patchable::ConfigMap => namespace
                .and_then(|n| n.config_maps.get(name))
                .map(|c| objects::configmap_json(ns, c)),
            Patchable::Pvc => namespace
                .and_then(|n| n.pvcs.get(name))
                .map(|c| objects::pvc_json(ns, c)),
            Patchable::Pv => self.pvs.get(name).map(objects::pv_json),
        }
    }

    /// Replaces an existing object by the one a (patched, applied or replacing) JSON view
    /// describes; a Deployment whose template changed rolls a new revision. Whether anything
    /// changed. The caller reconciles.
    pub fn write_object(
        &mut self,
        ns: &str,
        kind: Patchable,
        name: &str,
        after: &Value,
    ) -> Result<bool, String> {
        let nf = || not_found(kind.resource(), name);
        let changed;
        match kind {
            Patchable::Deployment => {
                let old = self.deployment_mut(ns, name)?.clone();
                let new = objects::deployment_from(after, &old)?;
                changed = new != old;
                let template_changed = new.template != old.template;
                let restarted =
                    new.annotations.get(RESTARTED_AT) != old.annotations.get(RESTARTED_AT);
                *self.deployment_mut(ns, name)? = new.clone();
                if new.replicas != old.replicas {
                    let hash = self.current_hash(ns, name).unwrap_or_default();
                    self.scaling_event(ns, name, &hash, old.replicas, new.replicas);
                }
                if template_changed || restarted {
                    self.roll(ns, name, None, restarted);
                } else if new.replicas != old.replicas {
                    self.deployment_mut(ns, name)?.generation += 1;
                }
            }
            Patchable::Service => {
                let n = self.namespaces.get_mut(ns).ok_or_else(nf)?;
                let old = n.services.get(name).ok_or_else(nf)?;
                let new = objects::service_from(after, old)?;
                changed = &new != old;
                n.services.insert(name.to_string(), new);
            }
            Patchable::ConfigMap => {
                let n = self.namespaces.get_mut(ns).ok_or_else(nf)?;
                let old = n.config_maps.get(name).ok_or_else(nf)?;
                let new = objects::configmap_from(after, old)?;
                changed = &new != old;
                n.config_maps.insert(name.to_string(), new);
            }
            Patchable::Pvc => {
                let n = self.namespaces.get_mut(ns).ok_or_else(nf)?;
                let old = n.pvcs.get(name).ok_or_else(nf)?;
                let new = objects::pvc_from(after, old)?;
                changed = &new != old;
                n.pvcs.insert(name.to_string(), new);
            }
            Patchable::Pv => {
                let old = self.pvs.get(name).ok_or_else(nf)?;
                let new = objects::pv_from(after, old)?;
                changed = &new != old;
                self.pvs.insert(name.to_string(), new);
            }
        }
        Ok(changed)
    }

    /// Creates an object from its manifest (`kubectl apply/create -f`); a Deployment gets its
    /// first revision and pods. The namespace must exist (ignored for PersistentVolumes).
    pub fn create_object(
        &mut self,
        ns: &str,
        kind: Patchable,
        name: &str,
        manifest: &Value,
    ) -> Result<(), String> {
        let now = self.now;
        if kind == Patchable::Pv {
            let pv = objects::new_pv(manifest, name, now)?;
            self.pvs.insert(name.to_string(), pv);
            self.reconcile();
            return Ok(());
        }
        let ip = (kind == Patchable::Service).then(|| self.free_cluster_ip(ns, name));
        let n = self
            .namespaces
            .get_mut(ns)
            .ok_or_else(|| not_found("namespaces", ns))?;
        match kind {
            Patchable::Deployment => {
                let d = objects::new_deployment(manifest, name, now)?;
                n.deployments.insert(name.to_string(), d);
                self.new_revision(ns, name, None);
            }
            Patchable::Service => {
                let s = objects::new_service(manifest, name, now, ip.unwrap_or_default())?;
                n.services.insert(name.to_string(), s);
            }
            Patchable::ConfigMap => {
                let c = objects::new_configmap(manifest, name, now)?;
                n.config_maps.insert(name.to_string(), c);
            }
            Patchable::Pvc => {
                let c = objects::new_pvc(manifest, name, now)?;
                n.pvcs.insert(name.to_string(), c);
            }
            Patchable::Pv => {}
        }
        self.reconcile();
        Ok(())
    }

    /// A cluster IP no service holds, stable for the service's name.
    fn free_cluster_ip(&self, ns: &str, name: &str) -> String {
        let taken: Vec<&str> = self
            .namespaces
            .values()
            .flat_map(|n| n.services.values().map(|s| s.cluster_ip.as_str()))
            .collect();
        let mut i = 0u32;
        loop {
            let h = stable_hash(&[ns, name, &i.to_string()]);
            let ip = format!("10.96.{}.{}", h % 256, (h / 256) % 254 + 1);
            if !taken.contains(&ip.as_str()) || i > 1000 {
                return ip;
            }
            i += 1;
        }
    }
}
