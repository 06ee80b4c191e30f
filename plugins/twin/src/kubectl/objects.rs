//! The JSON view of the twin's objects, as `kubectl get -o json` shows them, and the way back
//! from a (patched) JSON view to the model for the objects kubectl can write.

use super::table::rfc3339;
use super::view;
use crate::cluster::*;
use crate::suite::schema::ProbeSpec;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub use super::objects_storage::*;

/// Template annotation `kubectl rollout restart` sets; kept in `Deployment::annotations`.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
const REVISION: &str = "deployment.kubernetes.io/revision";

pub(super) fn str_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

pub(super) fn metadata(
    name: &str,
    namespace: Option<&str>,
    created: SimTime,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Map<String, Value> {
    let mut m = Map::new();
    if !annotations.is_empty() {
        m.insert("annotations".into(), str_map(annotations));
    }
    m.insert("creationTimestamp".into(), json!(rfc3339(created)));
    if !labels.is_empty() {
        m.insert("labels".into(), str_map(labels));
    }
    m.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        m.insert("namespace".into(), json!(ns));
    }
    let rv = super::table::stable_hash(&[namespace.unwrap_or(""), name, &created.to_string()])
        % 900_000
        + 100_000;
    m.insert("resourceVersion".into(), json!(rv.to_string()));
    m.insert(
        "uid".into(),
        json!(view::uid_for(&[
            namespace.unwrap_or(""),
            name,
            &created.to_string()
        ])),
    );
    m
}

fn probe_json(p: &ProbeSpec) -> Value {
    let mut m = Map::new();
    match p.kind.as_str() {
        "tcp-socket" => {
            m.insert("tcpSocket".into(), json!({"port": p.port.unwrap_or(0)}));
        }
        "exec" => {
            m.insert("exec".into(), json!({"command": p.command}));
        }
        _ => {
            m.insert(
                "httpGet".into(),
                json!({"path": p.path.clone().unwrap_or_else(|| "/".into()), "port": p.port.unwrap_or(0), "scheme": "HTTP"}),
            );
        }
    }
    m.insert("failureThreshold".into(), json!(p.failure_threshold));
    m.insert("initialDelaySeconds".into(), json!(p.initial_delay_seconds));
    m.insert("periodSeconds".into(), json!(p.period_seconds));
    m.insert("successThreshold".into(), json!(1));
    m.insert("timeoutSeconds".into(), json!(1));
    Value::Object(m)
}

fn probe_from(v: &Value, path: &str) -> Result<ProbeSpec, String> {
    let num = |k: &str, d: u32| v.get(k).and_then(Value::as_u64).map_or(d, |x| x as u32);
    let port = |o: &Value| -> Result<Option<u16>, String> {
        match o.get("port") {
            Some(Value::Number(n)) => Ok(n.as_u64().map(|x| x as u16)),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| format!("{path}.port: Invalid value: \"{s}\": must contain at least one letter or number")),
            _ => Ok(None),
        }
    };
    let (kind, p, path_s, command) = if let Some(h) = v.get("httpGet") {
        (
            "http-get",
            port(h)?,
            h.get("path").and_then(Value::as_str).map(String::from),
            vec![],
        )
    } else if let Some(t) = v.get("tcpSocket") {
        ("tcp-socket", port(t)?, None, vec![])
    } else if let Some(e) = v.get("exec") {
        ("exec", None, None, strings(e.get("command")))
    } else {
        return Err(format!(
            "{path}: Required value: must specify a handler type"
        ));
    };
    Ok(ProbeSpec {
        kind: kind.to_string(),
        path: path_s,
        port: p,
        command,
        initial_delay_seconds: num("initialDelaySeconds", 0),
        period_seconds: num("periodSeconds", 10),
        failure_threshold: num("failureThreshold", 3),
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(scalar_string).collect())
        .unwrap_or_default()
}

pub(super) fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(super) fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), scalar_string(v)))
                .collect()
        })
        .unwrap_or_default()
}

pub fn container_json(c: &ContainerSpec) -> Value {
    let mut m = Map::new();
    if !c.args.is_empty() {
        m.insert("args".into(), json!(c.args));
    }
    if !c.command.is_empty() {
        m.insert("command".into(), json!(c.command));
    }
    if !c.env.is_empty() {
        m.insert(
            "env".into(),
            Value::Array(
                c.env
                    .iter()
                    .map(|e| json!({"name": e.name, "value": e.value}))
                    .collect(),
            ),
        );
    }
    m.insert("image".into(), json!(c.image));
    m.insert("imagePullPolicy".into(), json!("IfNotPresent"));
    if let Some(p) = &c.liveness {
        m.insert("livenessProbe".into(), probe_json(p));
    }
    m.insert("name".into(), json!(c.name));
    if !c.ports.is_empty() {
        m.insert(
            "ports".into(),
            Value::Array(
                c.ports
                    .iter()
                    .map(|p| json!({"containerPort": p, "protocol": "TCP"}))
                    .collect(),
            ),
        );
    }
    if let Some(p) = &c.readiness {
        m.insert("readinessProbe".into(), probe_json(p));
    }
    let mut res = Map::new();
    let mut lim = Map::new();
    let mut req = Map::new();
    if let Some(v) = &c.cpu_limit {
        lim.insert("cpu".into(), json!(v));
    }
    if let Some(v) = &c.memory_limit {
        lim.insert("memory".into(), json!(v));
    }
    if let Some(v) = &c.cpu_request {
        req.insert("cpu".into(), json!(v));
    }
    if let Some(v) = &c.memory_request {
        req.insert("memory".into(), json!(v));
    }
    if !lim.is_empty() {
        res.insert("limits".into(), Value::Object(lim));
    }
    if !req.is_empty() {
        res.insert("requests".into(), Value::Object(req));
    }
    m.insert("resources".into(), Value::Object(res));
    m.insert(
        "terminationMessagePath".into(),
        json!("/dev/termination-log"),
    );
    m.insert("terminationMessagePolicy".into(), json!("File"));
    if !c.mounts.is_empty() {
        m.insert(
            "volumeMounts".into(),
            Value::Array(
                c.mounts
                    .iter()
                    .map(|(n, p)| json!({"mountPath": p, "name": n}))
                    .collect(),
            ),
        );
    }
    Value::Object(m)
}

fn container_from(v: &Value, path: &str) -> Result<ContainerSpec, String> {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return Err(format!("{path}.name: Required value"));
    }
    let image = v
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if image.is_empty() {
        return Err(format!("{path}.image: Required value"));
    }
    let res = v.get("resources");
    let q = |a: &str, b: &str| {
        res.and_then(|r| r.get(a))
            .and_then(|r| r.get(b))
            .map(scalar_string)
    };
    let env = v
        .get("env")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| EnvVar {
                    name: e.get("name").map(scalar_string).unwrap_or_default(),
                    value: e.get("value").map(scalar_string).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports = Vec::new();
    for (i, p) in v
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        match p.get("containerPort").and_then(Value::as_u64) {
            Some(n) if (1..=65535).contains(&n) => ports.push(n as u16),
            _ => return Err(format!("{path}.ports[{i}].containerPort: Required value")),
        }
    }
    let mounts = v
        .get("volumeMounts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|m| {
                    (
                        m.get("name").map(scalar_string).unwrap_or_default(),
                        m.get("mountPath").map(scalar_string).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ContainerSpec {
        name,
        image,
        command: strings(v.get("command")),
        args: strings(v.get("args")),
        env,
        ports,
        cpu_request: q("requests", "cpu"),
        cpu_limit: q("limits", "cpu"),
        memory_request: q("requests", "memory"),
        memory_limit: q("limits", "memory"),
        liveness: v
            .get("livenessProbe")
            .filter(|p| !p.is_null())
            .map(|p| probe_from(p, &format!("{path}.livenessProbe")))
            .transpose()?,
        readiness: v
            .get("readinessProbe")
            .filter(|p| !p.is_null())
            .map(|p| probe_from(p, &format!("{path}.readinessProbe")))
            .transpose()?,
        mounts,
    })
}

/// `spec` of a pod (template) as JSON.
pub fn pod_spec_json(t: &PodTemplate) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "containers".into(),
        Value::Array(t.containers.iter().map(container_json).collect()),
    );
    m.insert("dnsPolicy".into(), json!("ClusterFirst"));
    if !t.node_selector.is_empty() {
        m.insert("nodeSelector".into(), str_map(&t.node_selector));
    }
    m.insert("restartPolicy".into(), json!(t.restart_policy));
    m.insert("schedulerName".into(), json!("default-scheduler"));
    m.insert("securityContext".into(), json!({}));
    m.insert("terminationGracePeriodSeconds".into(), json!(30));
    if !t.volumes.is_empty() {
        m.insert(
            "volumes".into(),
            Value::Array(
                t.volumes
                    .iter()
                    .map(|(n, s)| match s {
                        VolumeSource::Pvc { claim } => {
                            json!({"name": n, "persistentVolumeClaim": {"claimName": claim}})
                        }
                        VolumeSource::ConfigMap { name } => {
                            json!({"configMap": {"defaultMode": 420, "name": name}, "name": n})
                        }
                    })
                    .collect(),
            ),
        );
    }
    m
}

fn template_from(t: &Value) -> Result<PodTemplate, String> {
    let spec = t.get("spec").cloned().unwrap_or(Value::Null);
    let path = "spec.template.spec";
    let mut containers = Vec::new();
    for (i, c) in spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        containers.push(container_from(c, &format!("{path}.containers[{i}]"))?);
    }
    if containers.is_empty() {
        return Err(format!("{path}.containers: Required value"));
    }
    let mut volumes = Vec::new();
    for v in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = v.get("name").map(scalar_string).unwrap_or_default();
        if let Some(c) = v.get("persistentVolumeClaim") {
            volumes.push((
                name,
                VolumeSource::Pvc {
                    claim: c.get("claimName").map(scalar_string).unwrap_or_default(),
                },
            ));
        } else if let Some(c) = v.get("configMap") {
            volumes.push((
                name,
                VolumeSource::ConfigMap {
                    name: c.get("name").map(scalar_string).unwrap_or_default(),
                },
            ));
        }
    }
    Ok(PodTemplate {
        labels: string_map(t.get("metadata").and_then(|m| m.get("labels"))),
        containers,
        node_selector: string_map(spec.get("nodeSelector")),
        volumes,
        restart_policy: spec
            .get("restartPolicy")
            .and_then(Value::as_str)
            .unwrap_or("Always")
            .to_string(),
    })
}

pub fn deployment_json(ns: &Namespace, d: &Deployment) -> Value {
    let mut ann: BTreeMap<String, String> = d.annotations.clone();
    let restarted = ann.remove(RESTARTED_AT);
    let rev = d.current_revision().map_or(1, |r| r.number);
    ann.insert(REVISION.into(), rev.to_string());
    let mut meta = metadata(&d.name, Some(&ns.name), d.created_at, &d.labels, &ann);
    meta.insert("generation".into(), json!(d.generation));
    let mut tmeta = Map::new();
    if let Some(r) = restarted {
        tmeta.insert("annotations".into(), json!({ RESTARTED_AT: r }));
    }
    tmeta.insert("creationTimestamp".into(), Value::Null);
    tmeta.insert("labels".into(), str_map(&d.template.labels));
    let st = view::deploy_status(ns, d);
    let mut status = Map::new();
    if st.available > 0 {
        status.insert("availableReplicas".into(), json!(st.available));
    }
    let avail = st.available >= d.replicas;
    status.insert(
        "conditions".into(),
        json!([
            {"lastTransitionTime": rfc3339(d.created_at), "lastUpdateTime": rfc3339(d.created_at),
             "message": if avail { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." },
             "reason": if avail { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
             "status": if avail { "True" } else { "False" }, "type": "Available"},
            {"lastTransitionTime": rfc3339(d.created_at), "lastUpdateTime": rfc3339(d.created_at),
             "message": format!("ReplicaSet \"{}-{}\" has successfully progressed.", d.name, d.current_revision().map(|r| r.hash.as_str()).unwrap_or("")),
             "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"}
        ]),
    );
    status.insert("observedGeneration".into(), json!(d.generation));
    if st.ready > 0 {
        status.insert("readyReplicas".into(), json!(st.ready));
    }
    if st.replicas > 0 {
        status.insert("replicas".into(), json!(st.replicas));
    }
    if d.replicas > st.available {
        status.insert(
            "unavailableReplicas".into(),
            json!(d.replicas - st.available),
        );
    }
    if st.updated > 0 {
        status.insert("updatedReplicas".into(), json!(st.updated));
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": d.replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": str_map(&d.selector)},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
            "template": {"metadata": tmeta, "spec": pod_spec_json(&d.template)}
        },
        "status": status
    })
}

/// A deployment from its (patched) JSON view; `old` supplies what the view does not carry.
pub fn deployment_from(v: &Value, old: &Deployment) -> Result<Deployment, String> {
    let invalid = |m: String| format!("The Deployment \"{}\" is invalid: {m}", old.name);
    let spec = v.get("spec").cloned().unwrap_or(Value::Null);
    let replicas = match spec.get("replicas") {
        None | Some(Value::Null) => 1,
        Some(r) => match r.as_i64() {
            Some(n) if n >= 0 => n as u32,
            _ => {
                return Err(invalid(format!(
                    "spec.replicas: Invalid value: {r}: must be greater than or equal to 0"
                )));
            }
        },
    };
    let selector = string_map(spec.get("selector").and_then(|s| s.get("matchLabels")));
    if selector != old.selector {
        return Err(invalid(format!(
            "spec.selector: Invalid value: v1.LabelSelector{{MatchLabels:map[string]string{{{}}}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}: field is immutable",
            selector
                .iter()
                .map(|(k, v)| format!("\"{k}\":\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let tv = spec.get("template").cloned().unwrap_or(Value::Null);
    let template = template_from(&tv).map_err(invalid)?;
    if !view::matches(&selector, &template.labels) {
        return Err(invalid(
            "spec.template.metadata.labels: Invalid value: map[string]string{...}: `selector` does not match template `labels`".into(),
        ));
    }
    let meta = v.get("metadata").cloned().unwrap_or(Value::Null);
    let mut annotations = string_map(meta.get("annotations"));
    annotations.remove(REVISION);
    if let Some(r) = tv
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(RESTARTED_AT))
    {
        annotations.insert(RESTARTED_AT.into(), scalar_string(r));
    }
    let mut d = old.clone();
    d.replicas = replicas;
    d.template = template;
    d.labels = string_map(meta.get("labels"));
    d.annotations = annotations;
    Ok(d)
}

pub fn service_json(ns: &str, s: &Service) -> Value {
    let ports: Vec<Value> = s
        .ports
        .iter()
        .map(|p| {
            let mut m = Map::new();
            if !p.name.is_empty() {
                m.insert("name".into(), json!(p.name));
            }
            if s.service_type == "NodePort" || s.service_type == "LoadBalancer" {
                m.insert("nodePort".into(), json!(node_port(ns, &s.name, p.port)));
            }
            m.insert("port".into(), json!(p.port));
            m.insert("protocol".into(), json!(p.protocol));
            m.insert("targetPort".into(), json!(p.target_port));
            Value::Object(m)
        })
        .collect();
    let mut spec = Map::new();
    spec.insert("clusterIP".into(), json!(s.cluster_ip));
    spec.insert("clusterIPs".into(), json!([s.cluster_ip]));
    spec.insert("internalTrafficPolicy".into(), json!("Cluster"));
    spec.insert("ipFamilies".into(), json!(["IPv4"]));
    spec.insert("ipFamilyPolicy".into(), json!("SingleStack"));
    spec.insert("ports".into(), Value::Array(ports));
    if !s.selector.is_empty() {
        spec.insert("selector".into(), str_map(&s.selector));
    }
    spec.insert("sessionAffinity".into(), json!("None"));
    spec.insert("type".into(), json!(s.service_type));
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(&s.name, Some(ns), s.created_at, &s.labels, &BTreeMap::new()),
        "spec": spec,
        "status": {"loadBalancer": {}}
    })
}

/// A stable node port for NodePort services.
pub fn node_port(ns: &str, name: &str, port: u16) -> u16 {
    30000 + (super::table::stable_hash(&[ns, name, &port.to_string()]) % 2768) as u16
}

pub fn service_from(v: &Value, old: &Service) -> Result<Service, String> {
    let invalid = |m: String| format!("The Service \"{}\" is invalid: {m}", old.name);
    let spec = v.get("spec").cloned().unwrap_or(Value::Null);
    let ip = spec.get("clusterIP").map(scalar_string).unwrap_or_default();
    if !ip.is_empty() && ip != old.cluster_ip {
        return Err(invalid(format!(
            "spec.clusterIPs[0]: Invalid value: []string{{\"{ip}\"}}: may not change once set"
        )));
    }
    let mut ports = Vec::new();
    let list = spec
        .get("ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        return Err(invalid("spec.ports: Required value".into()));
    }
    for (i, p) in list.iter().enumerate() {
        let port = match p.get("port").and_then(Value::as_i64) {
            Some(n) if (1..=65535).contains(&n) => n as u16,
            Some(n) => {
                return Err(invalid(format!(
                    "spec.ports[{i}].port: Invalid value: {n}: must be between 1 and 65535, inclusive"
                )));
            }
            None => return Err(invalid(format!("spec.ports[{i}].port: Required value"))),
        };
        let target = match p.get("targetPort") {
            None | Some(Value::Null) => port,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(t) if (1..=65535).contains(&t) => t as u16,
                _ => return Err(invalid(format!("spec.ports[{i}].targetPort: Invalid value: {n}: must be between 1 and 65535, inclusive"))),
            },
            Some(Value::String(s)) => s.parse().map_err(|_| {
                invalid(format!("spec.ports[{i}].targetPort: Invalid value: \"{s}\": no container port named \"{s}\""))
            })?,
            Some(other) => return Err(invalid(format!("spec.ports[{i}].targetPort: Invalid value: {other}"))),
        };
        let name = p.get("name").map(scalar_string).unwrap_or_default();
        if list.len() > 1 && name.is_empty() {
            return Err(invalid(format!("spec.ports[{i}].name: Required value")));
        }
        let protocol = p
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP")
            .to_string();
        if ports
            .iter()
            .any(|q: &ServicePort| q.port == port && q.protocol == protocol)
        {
            return Err(invalid(format!(
                "spec.ports[{i}]: Duplicate value: core.ServicePort{{Name:\"{name}\", Protocol:\"{protocol}\", AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:{target}, StrVal:\"\"}}, NodePort:0}}"
            )));
        }
        ports.push(ServicePort {
            name,
            port,
            target_port: target,
            protocol,
        });
    }
    let mut s = old.clone();
    s.ports = ports;
    s.selector = string_map(spec.get("selector"));
    s.service_type = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    s.labels = string_map(v.get("metadata").and_then(|m| m.get("labels")));
    Ok(s)
}
