//! The write tools: scale, rollout restart, rollout undo, patch, delete pod, set image. They run
//! as the approver when the installation impersonates, else as the configured identity.

use crate::tools::{Args, Kind, Session};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

/// Recorded as the field manager of every change, so the cluster's audit shows who made it.
pub(crate) const FIELD_MANAGER: &str = "aoi-agent";
/// One checked write, ready to send.
pub enum WriteOp {
    Scale {
        kind: Kind,
        ns: String,
        name: String,
        replicas: i32,
    },
    Restart {
        kind: Kind,
        ns: String,
        name: String,
    },
    Undo {
        ns: String,
        name: String,
        to_revision: Option<u64>,
    },
    Patch {
        kind: Kind,
        ns: Option<String>,
        name: String,
        patch: Value,
        strategic: bool,
    },
    DeletePod {
        ns: String,
        name: String,
        grace: Option<u32>,
    },
    SetImage {
        ns: String,
        name: String,
        container: String,
        image: String,
    },
}

fn workload(args: &Args) -> Result<Kind, String> {
    match args.kind()? {
        k @ (Kind::Deployment | Kind::StatefulSet) => Ok(k),
        k => Err(format!(
            "{}: kind must be deployment or statefulset, not {}",
            args.0.tool,
            k.plural()
        )),
    }
}

impl WriteOp {
    pub fn from(tool: &str, args: &Args) -> Result<Self, String> {
        let op = match tool {
            "k8s_scale" => {
                let replicas = args
                    .u64("replicas")
                    .and_then(|r| i32::try_from(r).ok())
                    .ok_or("k8s_scale: `replicas` must be a non-negative integer")?;
                WriteOp::Scale {
                    kind: workload(args)?,
                    ns: args.str("namespace")?,
                    name: args.str("name")?,
                    replicas,
                }
            }
            "k8s_rollout_restart" => WriteOp::Restart {
                kind: workload(args)?,
                ns: args.str("namespace")?,
                name: args.str("name")?,
            },
            "k8s_rollout_undo" => WriteOp::Undo {
                ns: args.str("namespace")?,
                name: args.str("name")?,
                to_revision: args.u64("to_revision").filter(|r| *r > 0),
            },
            "k8s_patch" => {
                let kind = args.kind()?;
                if kind == Kind::Event {
                    return Err("k8s_patch: events are not patched".into());
                }
                let strategic = match args.opt_str("patch_type").as_deref() {
                    None | Some("strategic") => true,
                    Some("merge") => false,
                    Some(other) => {
                        return Err(format!(
                            "k8s_patch: patch_type `{other}` is not strategic or merge"
                        ));
                    }
                };
                let patch = args.0.args.get("patch").cloned().unwrap_or(Value::Null);
                if patch.as_object().is_none_or(|o| o.is_empty()) {
                    return Err("k8s_patch: `patch` must be a non-empty JSON object".into());
                }
                WriteOp::Patch {
                    kind,
                    ns: args.namespace_for(kind)?,
                    name: args.str("name")?,
                    patch,
                    strategic,
                }
            }
            "k8s_delete_pod" => WriteOp::DeletePod {
                ns: args.str("namespace")?,
                name: args.str("name")?,
                grace: args
                    .u64("grace_period_seconds")
                    .and_then(|g| u32::try_from(g).ok()),
            },
            "k8s_set_image" => WriteOp::SetImage {
                ns: args.str("namespace")?,
                name: args.str("name")?,
                container: args.str("container")?,
                image: args.str("image")?,
            },
            other => return Err(format!("unknown tool `{other}` in the kubernetes plugin")),
        };
        Ok(op)
    }
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

pub(crate) fn build<E: std::fmt::Display>(
    r: Result<http::Request<Vec<u8>>, E>,
) -> Result<http::Request<Vec<u8>>, String> {
    r.map_err(|e| format!("could not build the request: {e}"))
}

pub async fn run(s: &Session, op: WriteOp) -> Result<String, String> {
    match op {
        WriteOp::Scale {
            kind,
            ns,
            name,
            replicas,
        } => scale(s, kind, &ns, &name, replicas).await,
        WriteOp::Restart { kind, ns, name } => restart(s, kind, &ns, &name).await,
        WriteOp::Undo {
            ns,
            name,
            to_revision,
        } => crate::undo::undo(s, &ns, &name, to_revision).await,
        WriteOp::Patch {
            kind,
            ns,
            name,
            patch,
            strategic,
        } => patch_object(s, kind, ns.as_deref(), &name, patch, strategic).await,
        WriteOp::DeletePod { ns, name, grace } => delete_pod(s, &ns, &name, grace).await,
        WriteOp::SetImage {
            ns,
            name,
            container,
            image,
        } => set_image(s, &ns, &name, &container, &image).await,
    }
}

async fn scale(
    s: &Session,
    kind: Kind,
    ns: &str,
    name: &str,
    replicas: i32,
) -> Result<String, String> {
    let patch = Patch::Merge(json!({"spec": {"replicas": replicas}}));
    let req = build(
        kube::core::Request::new(kind.collection_path(Some(ns))).patch_subresource(
            "scale",
            name,
            &params(),
            &patch,
        ),
    )?;
    let action = format!("scale {} {ns}/{name}", kind.singular());
    let scale: Value = s
        .client
        .request(req)
        .await
        .map_err(|e| s.error(&action, e))?;
    let running = scale
        .pointer("/status/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    Ok(format!(
        "scaled {} {ns}/{name} to {replicas} replicas ({running} currently running), as {}",
        kind.singular(),
        s.identity
    ))
}

async fn restart(s: &Session, kind: Kind, ns: &str, name: &str) -> Result<String, String> {
    let at =
        Timestamp::from_second(Timestamp::now().as_second()).unwrap_or_else(|_| Timestamp::now());
    let patch = Patch::Strategic(json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": at.to_string()
    }}}}}));
    let req = build(
        kube::core::Request::new(kind.collection_path(Some(ns))).patch(name, &params(), &patch),
    )?;
    let action = format!("restart {} {ns}/{name}", kind.singular());
    let _: Value = s
        .client
        .request(req)
        .await
        .map_err(|e| s.error(&action, e))?;
    Ok(format!(
        "restarted {} {ns}/{name}: its pods are being replaced by a rolling update (restartedAt {at}), as {}",
        kind.singular(),
        s.identity
    ))
}

async fn patch_object(
    s: &Session,
    kind: Kind,
    ns: Option<&str>,
    name: &str,
    patch: Value,
    strategic: bool,
) -> Result<String, String> {
    let (patch, how) = if strategic {
        (Patch::Strategic(patch), "strategic merge patch")
    } else {
        (Patch::Merge(patch), "merge patch")
    };
    let req =
        build(kube::core::Request::new(kind.collection_path(ns)).patch(name, &params(), &patch))?;
    let target = match ns {
        Some(ns) => format!("{} {ns}/{name}", kind.singular()),
        None => format!("{} {name}", kind.singular()),
    };
    // The response is not echoed: a patched configmap would carry its data.
    let updated: Value = s
        .client
        .request(req)
        .await
        .map_err(|e| s.error(&format!("patch {target}"), e))?;
    let version = updated
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("?");
    Ok(format!(
        "patched {target} ({how}); resourceVersion is now {version}, as {}",
        s.identity
    ))
}

async fn delete_pod(
    s: &Session,
    ns: &str,
    name: &str,
    grace: Option<u32>,
) -> Result<String, String> {
    let pods: Api<Pod> = Api::namespaced(s.client.clone(), ns);
    let dp = DeleteParams {
        grace_period_seconds: grace,
        ..DeleteParams::default()
    };
    let action = format!("delete pod {ns}/{name}");
    let deleted = pods
        .delete(name, &dp)
        .await
        .map_err(|e| s.error(&action, e))?;
    let owner = deleted.left().and_then(|p| {
        let o = p
            .metadata
            .owner_references?
            .into_iter()
            .find(|o| o.controller == Some(true))?;
        Some(format!(
            "; its controller {} {} will create a replacement",
            o.kind, o.name
        ))
    });
    Ok(format!(
        "deleted pod {ns}/{name}{}, as {}",
        owner.unwrap_or_default(),
        s.identity
    ))
}

async fn set_image(
    s: &Session,
    ns: &str,
    name: &str,
    container: &str,
    image: &str,
) -> Result<String, String> {
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), ns);
    let action = format!("set image of deployment {ns}/{name}");
    let d = deployments
        .get(name)
        .await
        .map_err(|e| s.error(&action, e))?;
    let pod_spec = d.spec.template.spec.as_ref();
    let find = |list: Option<&Vec<k8s_openapi::api::core::v1::Container>>| {
        list.into_iter()
            .flatten()
            .find(|c| c.name == container)
            .map(|c| c.image.clone().unwrap_or_default())
    };
    let (field, old) = match (
        find(pod_spec.map(|p| &p.containers)),
        find(pod_spec.and_then(|p| p.init_containers.as_ref())),
    ) {
        (Some(old), _) => ("containers", old),
        (None, Some(old)) => ("initContainers", old),
        (None, None) => {
            let names: Vec<&str> = pod_spec
                .iter()
                .flat_map(|p| p.containers.iter())
                .map(|c| c.name.as_str())
                .collect();
            return Err(format!(
                "{action}: no container `{container}`; its containers are: {}",
                names.join(", ")
            ));
        }
    };
    if old == image {
        return Ok(format!(
            "deployment {ns}/{name} container {container} already runs {image}; nothing changed"
        ));
    }
    let patch = Patch::Strategic(
        json!({"spec": {"template": {"spec": {field: [{"name": container, "image": image}]}}}}),
    );
    deployments
        .patch(name, &params(), &patch)
        .await
        .map_err(|e| s.error(&action, e))?;
    Ok(format!(
        "deployment {ns}/{name} container {container}: image {old} -> {image}; a rollout has started, as {}",
        s.identity
    ))
}
