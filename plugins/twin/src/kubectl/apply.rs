//! `kubectl apply|create|replace -f -` of a manifest on stdin (YAML, multi-document, `kind:
//! List`, or JSON), and `kubectl create configmap|deployment NAME`. Objects are checked as
//! kubectl checks them before sending (a bad document fails the whole command), then written
//! one by one through `cluster/ops.rs`, as the API server would take them.

use super::parse::Args;
use super::patch::{self, PatchType};
use super::{KubectlResult, err};
use crate::cluster::Cluster;
use crate::cluster::ops::{Patchable, not_found};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// One object of the manifest, mapped to what the twin stores.
struct Obj {
    /// None for a kind the API knows that the twin does not keep.
    kind: Option<Patchable>,
    kind_name: String,
    name: String,
    namespace: String,
    v: Value,
}

pub fn manifest_write(
    c: &mut Cluster,
    a: &Args,
    verb: &str,
    default_ns: &str,
    stdin: Option<&str>,
) -> KubectlResult {
    let text = match (a.get("filename"), stdin) {
        (Some("-"), Some(t)) => t,
        (Some("-"), None) => return err(&format!("error: no objects passed to {verb}")),
        (Some(f), _) => return err(&format!("error: the path \"{f}\" does not exist")),
        (None, _) if verb == "create" && a.positional.len() > 1 => {
            return with_dry_run(c, a, |c| create_imperative(c, a, default_ns));
        }
        (None, _) => return err("error: must specify one of -f and -k"),
    };
    let objs = match objects(text, a.get("namespace"), default_ns) {
        Ok(o) => o,
        Err(e) => return err(&e),
    };
    if objs.is_empty() {
        return err(&format!("error: no objects passed to {verb}"));
    }
    with_dry_run(c, a, |c| {
        let mut lines = Vec::new();
        let mut failed = false;
        for o in &objs {
            match write_one(c, verb, o) {
                Ok(l) => lines.push(l),
                Err(e) => {
                    failed = true;
                    lines.push(e);
                }
            }
        }
        let text = lines.join("\n");
        if failed { Err(text) } else { Ok(text) }
    })
}

/// Runs the write, on a scratch copy of the cluster under `--dry-run=client|server`.
fn with_dry_run(
    c: &mut Cluster,
    a: &Args,
    write: impl FnOnce(&mut Cluster) -> Result<String, String>,
) -> KubectlResult {
    let suffix = match a.get("dry-run") {
        None | Some("none") | Some("false") => None,
        Some("server") => Some(" (server dry run)"),
        Some("client") | Some("true") => Some(" (dry run)"),
        Some(other) => {
            return err(&format!(
                "error: Invalid dry-run value ({other}). Must be \"none\", \"server\", or \"client\"."
            ));
        }
    };
    let r = match suffix {
        None => write(c),
        Some(s) => {
            let mut scratch = c.clone();
            write(&mut scratch).map(|out| {
                out.lines()
                    .map(|l| format!("{l}{s}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    };
    match r {
        Ok(s) => KubectlResult::ok(format!("{s}\n")),
        Err(e) => err(&e),
    }
}

fn write_one(c: &mut Cluster, verb: &str, o: &Obj) -> Result<String, String> {
    let doing = if verb == "replace" {
        "replacing"
    } else {
        "creating"
    };
    let Some(kind) = o.kind else {
        return Err(format!(
            "error: {} \"{}\" is not supported in this environment: only Deployments, Services, ConfigMaps, PersistentVolumeClaims and PersistentVolumes can be written",
            o.kind_name, o.name
        ));
    };
    if kind != Patchable::Pv && c.namespace(&o.namespace).is_none() {
        return Err(format!(
            "Error from server (NotFound): error when {doing} \"STDIN\": namespaces \"{}\" not found",
            o.namespace
        ));
    }
    let (ns, name) = (o.namespace.as_str(), o.name.as_str());
    let done = |what: &str| format!("{}/{name} {what}", kind.kind());
    let live = c.object_json(ns, kind, name);
    match (verb, live) {
        ("create", Some(_)) => Err(format!(
            "Error from server (AlreadyExists): error when creating \"STDIN\": {} \"{name}\" already exists",
            kind.resource()
        )),
        ("replace", None) => Err(format!(
            "Error from server (NotFound): error when replacing \"STDIN\": {} \"{name}\" not found",
            kind.resource()
        )),
        ("replace", Some(_)) => {
            c.write_object(ns, kind, name, &o.v)?;
            c.reconcile();
            Ok(done("replaced"))
        }
        (_, None) => {
            c.create_object(ns, kind, name, &o.v)?;
            Ok(done("created"))
        }
        (_, Some(live)) => {
            let text = serde_json::to_string(&o.v).map_err(|e| format!("error: {e}"))?;
            let merged = patch::apply(&live, PatchType::Strategic, &text)?;
            let changed = c.write_object(ns, kind, name, &merged)?;
            c.reconcile();
            Ok(done(if changed { "configured" } else { "unchanged" }))
        }
    }
}

/// The objects of a manifest, checked as kubectl checks them before sending any.
fn objects(text: &str, explicit_ns: Option<&str>, default_ns: &str) -> Result<Vec<Obj>, String> {
    let docs = parse_docs(text).map_err(|e| format!("error: error parsing STDIN: {e}"))?;
    let mut items = Vec::new();
    for d in docs {
        match d {
            Value::Null => {}
            Value::Object(m) if m.get("kind").and_then(Value::as_str) == Some("List") => {
                items.extend(
                    m.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            Value::Object(_) => items.push(d),
            other => {
                let t = match other {
                    Value::Array(_) => "array",
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    _ => "bool",
                };
                return Err(format!(
                    "error: error parsing STDIN: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {t} into Go value of type map[string]interface {{}}"
                ));
            }
        }
    }
    items
        .into_iter()
        .map(|v| object(v, explicit_ns, default_ns))
        .collect()
}

fn object(v: Value, explicit_ns: Option<&str>, default_ns: &str) -> Result<Obj, String> {
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (api, kind_name) = (field("apiVersion"), field("kind"));
    let meta = |k: &str| {
        v.get("metadata")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (name, obj_ns) = (meta("name"), meta("namespace"));
    let invalid = |m: &str| {
        format!(
            "error: error validating \"STDIN\": error validating data: {m}; if you choose to ignore these errors, turn validation off with --validate=false"
        )
    };
    match (api.is_empty(), kind_name.is_empty()) {
        (true, true) => return Err(invalid("[apiVersion not set, kind not set]")),
        (true, false) => return Err(invalid("apiVersion not set")),
        (false, true) => return Err(invalid("kind not set")),
        (false, false) => {}
    }
    let (kind, namespaced) = match mapping(&api, &kind_name) {
        Some(m) => m,
        None => {
            return Err(format!(
                "error: resource mapping not found for name: \"{name}\" namespace: \"{obj_ns}\" from \"STDIN\": no matches for kind \"{kind_name}\" in version \"{api}\"\nensure CRDs are installed first"
            ));
        }
    };
    if name.is_empty() {
        return Err(invalid(&format!(
            "ValidationError({kind_name}.metadata): missing required field \"name\" in io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        )));
    }
    let namespace = if !namespaced {
        String::new()
    } else {
        if let Some(flag) = explicit_ns
            && !obj_ns.is_empty()
            && obj_ns != flag
        {
            return Err(format!(
                "error: the namespace from the provided object \"{obj_ns}\" does not match the namespace \"{flag}\". You must pass '--namespace={obj_ns}' to perform this operation."
            ));
        }
        [obj_ns.as_str(), explicit_ns.unwrap_or(""), default_ns]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or(default_ns)
            .to_string()
    };
    Ok(Obj {
        kind,
        kind_name,
        name,
        namespace,
        v,
    })
}

/// (what the twin stores it as, namespaced) for a kind the API serves at that version.
fn mapping(api: &str, kind: &str) -> Option<(Option<Patchable>, bool)> {
    let known = |list: &[&str]| list.contains(&kind);
    match api {
        "apps/v1" => match kind {
            "Deployment" => Some((Some(Patchable::Deployment), true)),
            _ if known(&[
                "StatefulSet",
                "DaemonSet",
                "ReplicaSet",
                "ControllerRevision",
            ]) =>
            {
                Some((None, true))
            }
            _ => None,
        },
        "v1" => match kind {
            "Service" => Some((Some(Patchable::Service), true)),
            "ConfigMap" => Some((Some(Patchable::ConfigMap), true)),
            "PersistentVolumeClaim" => Some((Some(Patchable::Pvc), true)),
            "PersistentVolume" => Some((Some(Patchable::Pv), false)),
            "Namespace" | "Node" => Some((None, false)),
            _ if known(&[
                "Pod",
                "Secret",
                "ServiceAccount",
                "Endpoints",
                "Event",
                "LimitRange",
                "ResourceQuota",
                "ReplicationController",
                "PodTemplate",
            ]) =>
            {
                Some((None, true))
            }
            _ => None,
        },
        "batch/v1" if known(&["Job", "CronJob"]) => Some((None, true)),
        "networking.k8s.io/v1" if known(&["Ingress", "NetworkPolicy"]) => Some((None, true)),
        "autoscaling/v1" | "autoscaling/v2" if kind == "HorizontalPodAutoscaler" => {
            Some((None, true))
        }
        "policy/v1" if kind == "PodDisruptionBudget" => Some((None, true)),
        "rbac.authorization.k8s.io/v1" => match kind {
            "Role" | "RoleBinding" => Some((None, true)),
            "ClusterRole" | "ClusterRoleBinding" => Some((None, false)),
            _ => None,
        },
        "storage.k8s.io/v1" if kind == "StorageClass" => Some((None, false)),
        _ => None,
    }
}

/// The documents of a manifest: JSON values, or YAML documents separated by `---`.
fn parse_docs(text: &str) -> Result<Vec<Value>, String> {
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        let json: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .collect();
        if let Ok(docs) = json {
            return Ok(docs);
        }
    }
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let v = serde_norway::Value::deserialize(doc).map_err(|e| yaml_error(&e))?;
        docs.push(yaml_to_json(v));
    }
    Ok(docs)
}

/// As sigs.k8s.io/yaml words it: `error converting YAML to JSON: yaml: line 3: ...`.
fn yaml_error(e: &serde_norway::Error) -> String {
    let full = e.to_string();
    let msg = full
        .split(" at line ")
        .next()
        .unwrap_or(&full)
        .trim_end_matches(|c: char| c == ',' || c.is_whitespace());
    match e.location() {
        Some(l) => format!(
            "error converting YAML to JSON: yaml: line {}: {msg}",
            l.line()
        ),
        None => format!("error converting YAML to JSON: yaml: {msg}"),
    }
}

fn yaml_to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match yaml_to_json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

/// `kubectl create configmap NAME --from-literal=K=V...`, `kubectl create deployment NAME
/// --image=IMG [--replicas=N] [--port=P] [-- COMMAND...]`.
fn create_imperative(c: &mut Cluster, a: &Args, default_ns: &str) -> Result<String, String> {
    let what = a.positional[1].as_str();
    let Some(name) = a.positional.get(2).cloned() else {
        return Err(format!(
            "error: exactly one NAME is required, got 0\nSee 'kubectl create {what} -h' for help and examples"
        ));
    };
    let ns = a.get("namespace").unwrap_or(default_ns);
    let (kind, manifest) = match what {
        "configmap" | "cm" => {
            if a.get("from-file").is_some() {
                return Err("error: --from-file is not supported in this environment (no files); use --from-literal".into());
            }
            let mut data = Map::new();
            for lit in a.all("from-literal") {
                let Some((k, v)) = lit.split_once('=') else {
                    return Err(format!(
                        "error: invalid literal source {lit}, expected key=value"
                    ));
                };
                data.insert(k.to_string(), json!(v));
            }
            let m = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data});
            (Patchable::ConfigMap, m)
        }
        "deployment" | "deploy" => {
            let Some(image) = a.get("image") else {
                return Err("error: required flag(s) \"image\" not set".into());
            };
            let replicas: u32 = match a.get("replicas") {
                None => 1,
                Some(r) => r.parse().map_err(|_| {
                    format!("error: invalid argument \"{r}\" for \"-r, --replicas\" flag: strconv.ParseInt: parsing \"{r}\": invalid syntax")
                })?,
            };
            let base = image.rsplit('/').next().unwrap_or(image);
            let cname = base.split([':', '@']).next().unwrap_or(base);
            let mut container = json!({"name": cname, "image": image});
            if let Some(p) = a.get("port").and_then(|p| p.parse::<u16>().ok()) {
                container["ports"] = json!([{"containerPort": p}]);
            }
            if !a.rest.is_empty() {
                container["command"] = json!(a.rest);
            }
            let labels = json!({"app": name});
            let m = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "labels": labels},
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}});
            (Patchable::Deployment, m)
        }
        other => {
            return Err(format!(
                "error: `kubectl create {other}` is not supported in this environment"
            ));
        }
    };
    let what = if kind == Patchable::Deployment {
        "deployment"
    } else {
        "configmap"
    };
    if c.namespace(ns).is_none() {
        return Err(format!(
            "error: failed to create {what}: {}",
            not_found("namespaces", ns).trim_start_matches("Error from server (NotFound): ")
        ));
    }
    if c.object_json(ns, kind, &name).is_some() {
        return Err(format!(
            "error: failed to create {what}: {} \"{name}\" already exists",
            kind.resource()
        ));
    }
    c.create_object(ns, kind, &name, &manifest)?;
    Ok(format!("{}/{name} created", kind.kind()))
}
