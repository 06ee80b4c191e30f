//! JSON views of config maps, claims and volumes, and the way back from patched views.

use super::objects::{metadata, scalar_string, str_map, string_map};
use super::table::rfc3339;
use crate::cluster::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub fn configmap_json(ns: &str, c: &ConfigMap) -> Value {
    json!({
        "apiVersion": "v1",
        "data": str_map(&c.data),
        "kind": "ConfigMap",
        "metadata": metadata(&c.name, Some(ns), c.created_at, &BTreeMap::new(), &BTreeMap::new())
    })
}

pub fn configmap_from(v: &Value, old: &ConfigMap) -> Result<ConfigMap, String> {
    let mut c = old.clone();
    c.data = string_map(v.get("data"));
    Ok(c)
}

pub fn claim_phase(p: ClaimPhase) -> &'static str {
    match p {
        ClaimPhase::Pending => "Pending",
        ClaimPhase::Bound => "Bound",
        ClaimPhase::Lost => "Lost",
    }
}

pub fn volume_phase(p: VolumePhase) -> &'static str {
    match p {
        VolumePhase::Available => "Available",
        VolumePhase::Bound => "Bound",
        VolumePhase::Released => "Released",
    }
}

pub fn pvc_json(ns: &str, c: &Pvc) -> Value {
    let mut ann = BTreeMap::new();
    if c.phase == ClaimPhase::Bound {
        ann.insert(
            "pv.kubernetes.io/bind-completed".to_string(),
            "yes".to_string(),
        );
        ann.insert(
            "pv.kubernetes.io/bound-by-controller".to_string(),
            "yes".to_string(),
        );
    }
    ann.insert(
        "volume.beta.kubernetes.io/storage-provisioner".to_string(),
        "rancher.io/local-path".to_string(),
    );
    ann.insert(
        "volume.kubernetes.io/selected-node".to_string(),
        "kind-worker".to_string(),
    );
    ann.insert(
        "volume.kubernetes.io/storage-provisioner".to_string(),
        "rancher.io/local-path".to_string(),
    );
    let mut meta = metadata(&c.name, Some(ns), c.created_at, &BTreeMap::new(), &ann);
    meta.insert("finalizers".into(), json!(["kubernetes.io/pvc-protection"]));
    let mut spec = Map::new();
    spec.insert("accessModes".into(), json!(["ReadWriteOnce"]));
    spec.insert(
        "resources".into(),
        json!({"requests": {"storage": c.capacity}}),
    );
    spec.insert("storageClassName".into(), json!(c.storage_class));
    spec.insert("volumeMode".into(), json!("Filesystem"));
    if let Some(v) = &c.volume {
        spec.insert("volumeName".into(), json!(v));
    }
    let status = if c.phase == ClaimPhase::Bound {
        json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": c.capacity}, "phase": "Bound"})
    } else {
        json!({"phase": claim_phase(c.phase)})
    };
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec, "status": status})
}

pub fn pvc_from(v: &Value, old: &Pvc) -> Result<Pvc, String> {
    let spec = v.get("spec").cloned().unwrap_or(Value::Null);
    let mut c = old.clone();
    let cap = spec
        .get("resources")
        .and_then(|r| r.get("requests"))
        .and_then(|r| r.get("storage"))
        .map(scalar_string);
    let sc = spec
        .get("storageClassName")
        .map(scalar_string)
        .unwrap_or_default();
    let vol = spec
        .get("volumeName")
        .map(scalar_string)
        .filter(|s| !s.is_empty());
    if sc != old.storage_class || (old.volume.is_some() && vol != old.volume) {
        return Err(format!(
            "The PersistentVolumeClaim \"{}\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            old.name
        ));
    }
    if let Some(cap) = cap {
        c.capacity = cap;
    }
    c.volume = vol;
    Ok(c)
}

pub fn pv_json(p: &PersistentVolume) -> Value {
    let mut ann = BTreeMap::new();
    ann.insert(
        "local.path.provisioner/selected-node".to_string(),
        "kind-worker".to_string(),
    );
    ann.insert(
        "pv.kubernetes.io/provisioned-by".to_string(),
        "rancher.io/local-path".to_string(),
    );
    let mut meta = metadata(&p.name, None, p.created_at, &BTreeMap::new(), &ann);
    meta.insert("finalizers".into(), json!(["kubernetes.io/pv-protection"]));
    let mut spec = Map::new();
    spec.insert("accessModes".into(), json!(["ReadWriteOnce"]));
    spec.insert("capacity".into(), json!({"storage": p.capacity}));
    let claim_path = p.claim_ref.clone().unwrap_or_default().replace('/', "_");
    if let Some(c) = &p.claim_ref {
        let (ns, name) = c.split_once('/').unwrap_or(("", c.as_str()));
        spec.insert(
            "claimRef".into(),
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name, "namespace": ns}),
        );
    }
    spec.insert("hostPath".into(), json!({"path": format!("/var/local-path-provisioner/{}_{claim_path}", p.name), "type": "DirectoryOrCreate"}));
    spec.insert("nodeAffinity".into(), json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["kind-worker"]}]}]}}));
    spec.insert(
        "persistentVolumeReclaimPolicy".into(),
        json!(p.reclaim_policy),
    );
    spec.insert("storageClassName".into(), json!(p.storage_class));
    spec.insert("volumeMode".into(), json!("Filesystem"));
    json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta, "spec": spec,
           "status": {"lastPhaseTransitionTime": rfc3339(p.created_at), "phase": volume_phase(p.phase)}})
}

pub fn pv_from(v: &Value, old: &PersistentVolume) -> Result<PersistentVolume, String> {
    let spec = v.get("spec").cloned().unwrap_or(Value::Null);
    let mut p = old.clone();
    if let Some(c) = spec.get("capacity").and_then(|c| c.get("storage")) {
        p.capacity = scalar_string(c);
    }
    p.storage_class = spec
        .get("storageClassName")
        .map(scalar_string)
        .unwrap_or_default();
    if let Some(r) = spec
        .get("persistentVolumeReclaimPolicy")
        .and_then(Value::as_str)
    {
        if !["Retain", "Delete", "Recycle"].contains(&r) {
            return Err(format!(
                "The PersistentVolume \"{}\" is invalid: spec.persistentVolumeReclaimPolicy: Unsupported value: \"{r}\": supported values: \"Delete\", \"Recycle\", \"Retain\"",
                old.name
            ));
        }
        p.reclaim_policy = r.to_string();
    }
    p.claim_ref = match spec.get("claimRef") {
        Some(c) if c.is_object() => {
            let ns = c.get("namespace").map(scalar_string).unwrap_or_default();
            let name = c.get("name").map(scalar_string).unwrap_or_default();
            Some(format!("{ns}/{name}"))
        }
        _ => None,
    };
    if p.claim_ref.is_none() && p.phase != VolumePhase::Available {
        p.phase = VolumePhase::Available;
    }
    Ok(p)
}

/// A new Deployment from its manifest (`kubectl apply/create -f`), without revisions yet.
pub fn new_deployment(v: &Value, name: &str, now: SimTime) -> Result<Deployment, String> {
    let selector = string_map(
        v.get("spec")
            .and_then(|s| s.get("selector"))
            .and_then(|s| s.get("matchLabels")),
    );
    if selector.is_empty() {
        return Err(format!(
            "The Deployment \"{name}\" is invalid: spec.selector: Required value"
        ));
    }
    let blank = Deployment {
        name: name.to_string(),
        created_at: now,
        labels: BTreeMap::new(),
        selector,
        replicas: 0,
        template: PodTemplate {
            labels: BTreeMap::new(),
            containers: vec![],
            node_selector: BTreeMap::new(),
            volumes: vec![],
            restart_policy: "Always".to_string(),
        },
        revisions: vec![],
        generation: 0,
        annotations: BTreeMap::new(),
    };
    super::objects::deployment_from(v, &blank)
}

/// A new Service from its manifest; `ip` is its cluster IP unless the manifest sets one.
pub fn new_service(v: &Value, name: &str, now: SimTime, ip: String) -> Result<Service, String> {
    let given = v
        .get("spec")
        .and_then(|s| s.get("clusterIP"))
        .map(scalar_string)
        .filter(|s| !s.is_empty());
    let blank = Service {
        name: name.to_string(),
        created_at: now,
        service_type: "ClusterIP".to_string(),
        cluster_ip: given.unwrap_or(ip),
        ports: vec![],
        selector: BTreeMap::new(),
        labels: BTreeMap::new(),
    };
    super::objects::service_from(v, &blank)
}

pub fn new_configmap(v: &Value, name: &str, now: SimTime) -> Result<ConfigMap, String> {
    let blank = ConfigMap {
        name: name.to_string(),
        created_at: now,
        data: BTreeMap::new(),
    };
    configmap_from(v, &blank)
}

/// A new claim: Pending until reconcile binds it (class `standard` when none is named).
pub fn new_pvc(v: &Value, name: &str, now: SimTime) -> Result<Pvc, String> {
    let spec = v.get("spec").cloned().unwrap_or(Value::Null);
    let storage = spec
        .get("resources")
        .and_then(|r| r.get("requests"))
        .and_then(|r| r.get("storage"))
        .map(scalar_string)
        .filter(|s| !s.is_empty());
    let Some(capacity) = storage else {
        return Err(format!(
            "The PersistentVolumeClaim \"{name}\" is invalid: spec.resources[storage]: Required value"
        ));
    };
    let blank = Pvc {
        name: name.to_string(),
        created_at: now,
        phase: ClaimPhase::Pending,
        volume: None,
        capacity,
        storage_class: spec
            .get("storageClassName")
            .map(scalar_string)
            .unwrap_or_default(),
    };
    let mut c = pvc_from(v, &blank)?;
    if c.storage_class.is_empty() {
        c.storage_class = "standard".to_string();
    }
    Ok(c)
}

pub fn new_pv(v: &Value, name: &str, now: SimTime) -> Result<PersistentVolume, String> {
    let has_capacity = v
        .get("spec")
        .and_then(|s| s.get("capacity"))
        .and_then(|c| c.get("storage"))
        .is_some();
    if !has_capacity {
        return Err(format!(
            "The PersistentVolume \"{name}\" is invalid: spec.capacity: Required value"
        ));
    }
    let blank = PersistentVolume {
        name: name.to_string(),
        created_at: now,
        capacity: String::new(),
        storage_class: String::new(),
        phase: VolumePhase::Available,
        claim_ref: None,
        reclaim_policy: "Retain".to_string(),
    };
    pv_from(v, &blank)
}
