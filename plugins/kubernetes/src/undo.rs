//! `k8s_rollout_undo`, as `kubectl rollout undo` does it: find the deployment's ReplicaSets by
//! owner and revision annotation, then replace the deployment's pod template (and annotations)
//! with the target revision's by a JSON patch.

use crate::tools::{Kind, Session};
use crate::write::{FIELD_MANAGER, build};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, ListParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const REVISION: &str = "deployment.kubernetes.io/revision";
/// Deployment annotations a rollback keeps rather than copying from the ReplicaSet (as kubectl).
const ROLLBACK_KEEP: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

fn revision(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<u64> {
    meta.annotations.as_ref()?.get(REVISION)?.parse().ok()
}

/// A pod template as JSON without the `pod-template-hash` label the ReplicaSet adds.
fn template_without_hash(t: &k8s_openapi::api::core::v1::PodTemplateSpec) -> Result<Value, String> {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove("pod-template-hash");
    }
    serde_json::to_value(&t).map_err(|e| format!("could not encode the pod template: {e}"))
}

fn images(t: &Value) -> String {
    let images: Vec<&str> = t
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .collect();
    images.join(", ")
}

/// `kubectl rollout undo`: find the deployment's ReplicaSets, pick the target revision, and
/// replace the deployment's pod template (and annotations) with that ReplicaSet's.
pub async fn undo(
    s: &Session,
    ns: &str,
    name: &str,
    to_revision: Option<u64>,
) -> Result<String, String> {
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), ns);
    let action = format!("roll back deployment {ns}/{name}");
    let d = deployments
        .get(name)
        .await
        .map_err(|e| s.error(&action, e))?;
    let spec = &d.spec;
    if spec.paused == Some(true) {
        return Err(format!(
            "refused: deployment {ns}/{name} is paused; resume it before rolling back"
        ));
    }
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let selector: Vec<String> = spec
        .selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let lp = ListParams {
        label_selector: Some(selector.join(",")),
        ..ListParams::default()
    };
    let sets: Api<ReplicaSet> = Api::namespaced(s.client.clone(), ns);
    let list = sets
        .list(&lp)
        .await
        .map_err(|e| s.error(&format!("list replicasets of {ns}/{name}"), e))?;
    let mut owned: Vec<(u64, ReplicaSet)> = list
        .items
        .into_iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.controller == Some(true) && o.uid == uid)
        })
        .filter_map(|rs| Some((revision(&rs.metadata)?, rs)))
        .collect();
    owned.sort_by_key(|(r, _)| *r);
    let current = revision(&d.metadata)
        .or(owned.last().map(|(r, _)| *r))
        .unwrap_or(0);
    let target = match to_revision {
        Some(r) => owned.iter().find(|(rev, _)| *rev == r),
        None => owned.iter().rev().find(|(rev, _)| *rev < current),
    };
    let Some((target_rev, rs)) = target else {
        let known: Vec<String> = owned.iter().map(|(r, _)| r.to_string()).collect();
        return Err(match to_revision {
            Some(r) => format!(
                "{action}: revision {r} not found; known revisions: {}",
                known.join(", ")
            ),
            None => format!(
                "{action}: no previous revision found (revisions: {})",
                known.join(", ")
            ),
        });
    };
    let Some(rs_template) = rs.spec.template.as_ref() else {
        return Err(format!(
            "{action}: replicaset {} has no pod template",
            rs.metadata.name.as_deref().unwrap_or("?")
        ));
    };
    let template = template_without_hash(rs_template)?;
    if template == template_without_hash(&spec.template)? {
        return Ok(format!(
            "skipped rollback of deployment {ns}/{name}: the current template already matches revision {target_rev}"
        ));
    }
    let mut annotations: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if ROLLBACK_KEEP.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in rs.metadata.annotations.iter().flatten() {
        if !ROLLBACK_KEEP.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone());
        }
    }
    let body = json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]);
    let path = format!(
        "{}/{name}?fieldManager={FIELD_MANAGER}",
        Kind::Deployment.collection_path(Some(ns))
    );
    let req = build(
        http::Request::patch(path)
            .header(http::header::CONTENT_TYPE, "application/json-patch+json")
            .body(body.to_string().into_bytes()),
    )?;
    let _: Value = s
        .client
        .request(req)
        .await
        .map_err(|e| s.error(&action, e))?;
    Ok(format!(
        "rolled back deployment {ns}/{name} from revision {current} to revision {target_rev} (replicaset {}, images: {}), as {}",
        rs.metadata.name.as_deref().unwrap_or("?"),
        images(&template),
        s.identity
    ))
}
