//! `kubectl get`: tables (default, wide, --show-labels, -A), names, JSON, YAML, JSONPath and
//! custom columns.

pub use super::list::{Obj, list};
use super::parse::{Args, Kind, parse_selector, selector_matches};
use super::readonly;
use super::table::table;
use super::view;
use super::{KubectlResult, err, json_pretty};
use crate::cluster::{Cluster, PodPhase};
use serde_json::{Value, json};

pub fn headers(kind: Kind, wide: bool) -> Vec<&'static str> {
    let (base, extra): (&[&str], &[&str]) = match kind {
        Kind::Pod => (
            &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            &["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
        ),
        Kind::Deployment => (
            &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::ReplicaSet => (
            &["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::Service => (
            &[
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE",
            ],
            &["SELECTOR"],
        ),
        Kind::Endpoints => (&["NAME", "ENDPOINTS", "AGE"], &[]),
        Kind::Event if wide => (
            &[
                "LAST SEEN",
                "TYPE",
                "REASON",
                "OBJECT",
                "SUBOBJECT",
                "SOURCE",
                "MESSAGE",
                "FIRST SEEN",
                "COUNT",
                "NAME",
            ],
            &[],
        ),
        Kind::Event => (&["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], &[]),
        Kind::Node => (
            &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
            &[
                "INTERNAL-IP",
                "EXTERNAL-IP",
                "OS-IMAGE",
                "KERNEL-VERSION",
                "CONTAINER-RUNTIME",
            ],
        ),
        Kind::Pv => (
            &[
                "NAME",
                "CAPACITY",
                "ACCESS MODES",
                "RECLAIM POLICY",
                "STATUS",
                "CLAIM",
                "STORAGECLASS",
                "VOLUMEATTRIBUTESCLASS",
                "REASON",
                "AGE",
            ],
            &["VOLUMEMODE"],
        ),
        Kind::Pvc => (
            &[
                "NAME",
                "STATUS",
                "VOLUME",
                "CAPACITY",
                "ACCESS MODES",
                "STORAGECLASS",
                "VOLUMEATTRIBUTESCLASS",
                "AGE",
            ],
            &["VOLUMEMODE"],
        ),
        Kind::ConfigMap => (&["NAME", "DATA", "AGE"], &[]),
        Kind::Namespace => (&["NAME", "STATUS", "AGE"], &[]),
        Kind::ServiceAccount => (&["NAME", "SECRETS", "AGE"], &[]),
        Kind::Empty(_) => (&["NAME", "AGE"], &[]),
    };
    let mut h = base.to_vec();
    if wide {
        h.extend_from_slice(extra);
    }
    h
}

fn sort_key(v: &Value, path: &str) -> (u8, f64, String) {
    let p = path.trim().trim_start_matches('{').trim_end_matches('}');
    match super::jsonpath::select(v, p)
        .ok()
        .and_then(|r| r.first().cloned().cloned())
    {
        Some(Value::Number(n)) => (1, n.as_f64().unwrap_or(0.0), String::new()),
        Some(Value::String(s)) => (1, super::table::parse_rfc3339(&s).unwrap_or(0.0), s),
        Some(other) => (1, 0.0, other.to_string()),
        None => (0, 0.0, String::new()),
    }
}

fn field_matches(v: &Value, sel: &str) -> bool {
    sel.split(',').filter(|s| !s.trim().is_empty()).all(|req| {
        let (k, want, eq) = if let Some((k, w)) = req.split_once("!=") {
            (k, w, false)
        } else if let Some((k, w)) = req.split_once("==").or_else(|| req.split_once('=')) {
            (k, w, true)
        } else {
            return false;
        };
        let got = super::jsonpath::select(v, &format!(".{}", k.trim()))
            .ok()
            .and_then(|r| {
                r.first().map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .unwrap_or_default();
        (got == want.trim()) == eq
    })
}

/// Output modes of `-o`.
enum Output {
    Table { wide: bool },
    Name,
    Json,
    Yaml,
    JsonPath(String),
    Custom(Vec<(String, String)>),
}

fn output_mode(o: Option<&str>) -> Result<Output, String> {
    let Some(o) = o else {
        return Ok(Output::Table { wide: false });
    };
    let (mode, arg) = o.split_once('=').map_or((o, ""), |(a, b)| (a, b));
    Ok(match mode {
        "wide" => Output::Table { wide: true },
        "name" => Output::Name,
        "json" => Output::Json,
        "yaml" => Output::Yaml,
        "jsonpath" | "jsonpath-as-json" => Output::JsonPath(arg.trim_matches('\'').to_string()),
        "custom-columns" => Output::Custom(
            arg.split(',')
                .filter_map(|c| {
                    c.split_once(':')
                        .map(|(h, p)| (h.to_string(), p.to_string()))
                })
                .collect(),
        ),
        _ => {
            return Err(format!(
                "error: unable to match a printer suitable for the output format \"{o}\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml"
            ));
        }
    })
}

/// `kubectl get ...`.
pub fn get(c: &Cluster, a: &Args, default_ns: &str) -> KubectlResult {
    if a.has("watch") || a.has("watch-only") {
        return err(
            "error: watch is not supported in this environment (the command would not terminate)",
        );
    }
    let words = &a.positional[1..];
    if words.is_empty() {
        return err(
            "You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that resource (e.g. kubectl explain pods).\nSee 'kubectl get -h' for help and examples",
        );
    }
    let all_ns = a.has("all-namespaces");
    let ns_name = a.get("namespace").unwrap_or(default_ns).to_string();
    let ns = if all_ns { None } else { Some(ns_name.as_str()) };
    // (kind, names) requests
    let mut reqs: Vec<(Kind, Vec<String>)> = Vec::new();
    let mut multi = false;
    if words[0].contains('/') {
        for w in words {
            let Some((t, n)) = w.split_once('/') else {
                return err(
                    "error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'",
                );
            };
            let Some(k) = Kind::parse(t) else {
                return err(&format!(
                    "error: the server doesn't have a resource type \"{t}\""
                ));
            };
            match reqs.iter_mut().find(|r| r.0 == k) {
                Some(r) => r.1.push(n.to_string()),
                None => reqs.push((k, vec![n.to_string()])),
            }
        }
        multi = reqs.len() > 1;
    } else {
        for t in words[0].split(',').filter(|t| !t.is_empty()) {
            if t.eq_ignore_ascii_case("all") {
                multi = true;
                for k in [Kind::Pod, Kind::Service, Kind::Deployment, Kind::ReplicaSet] {
                    reqs.push((k, vec![]));
                }
                continue;
            }
            let Some(k) = Kind::parse(t) else {
                return err(&format!(
                    "error: the server doesn't have a resource type \"{t}\""
                ));
            };
            reqs.push((k, words[1..].to_vec()));
        }
        multi |= reqs.len() > 1;
    }
    let mode = match output_mode(a.get("output")) {
        Ok(m) => m,
        Err(e) => return err(&e),
    };
    let wide = matches!(mode, Output::Table { wide: true });
    let selector = match a.get("selector").map(parse_selector).transpose() {
        Ok(s) => s,
        Err(e) => return err(&e),
    };
    let mut errors = Vec::new();
    let mut groups: Vec<(Kind, Vec<Obj>)> = Vec::new();
    let mut single = false;
    for (kind, names) in &reqs {
        let scope = if kind.namespaced() { ns } else { None };
        let mut objs = list(c, *kind, scope, wide);
        if let Some(sel) = &selector {
            objs.retain(|o| selector_matches(sel, &o.labels));
        }
        if let Some(fs) = a.get("field-selector") {
            objs.retain(|o| field_matches(&o.json, fs));
        }
        if !names.is_empty() {
            let mut picked = Vec::new();
            for n in names {
                match objs.iter().position(|o| &o.name == n) {
                    Some(i) => picked.push(objs.swap_remove(i)),
                    None if a.has("ignore-not-found") => {}
                    None => errors.push(format!(
                        "Error from server (NotFound): {} \"{n}\" not found",
                        kind.resource()
                    )),
                }
            }
            single = reqs.len() == 1 && names.len() == 1;
            objs = picked;
        }
        if let Some(sort) = a.get("sort-by") {
            objs.sort_by(|x, y| {
                let (a1, b1) = (sort_key(&x.json, sort), sort_key(&y.json, sort));
                a1.0.cmp(&b1.0)
                    .then(a1.1.total_cmp(&b1.1))
                    .then(a1.2.cmp(&b1.2))
            });
        }
        groups.push((*kind, objs));
    }
    let total: usize = groups.iter().map(|g| g.1.len()).sum();
    let mut out = String::new();
    if total == 0 && errors.is_empty() {
        let any_namespaced = reqs.iter().any(|r| r.0.namespaced());
        return match mode {
            Output::Json => {
                KubectlResult::ok(format!("{}\n", json_pretty(&readonly::list_json(vec![]))))
            }
            Output::Yaml => KubectlResult::ok(
                "apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
                    .into(),
            ),
            _ if all_ns || !any_namespaced => KubectlResult::ok("No resources found\n".into()),
            _ => KubectlResult::ok(format!("No resources found in {ns_name} namespace.\n")),
        };
    }
    match &mode {
        Output::Table { wide } => {
            let mut first = true;
            for (kind, objs) in &groups {
                if objs.is_empty() {
                    continue;
                }
                if !first {
                    out.push('\n');
                }
                first = false;
                let mut headers = headers(*kind, *wide);
                let show_ns = all_ns && kind.namespaced();
                if show_ns {
                    headers.insert(0, "NAMESPACE");
                }
                if a.has("show-labels") {
                    headers.push("LABELS");
                }
                let rows: Vec<Vec<String>> = objs
                    .iter()
                    .map(|o| {
                        let mut r = o.cells.clone();
                        if multi && *kind != Kind::Event {
                            r[0] = format!("{}/{}", kind.name_prefix(), r[0]);
                        }
                        if show_ns {
                            r.insert(0, o.ns.clone().unwrap_or_default());
                        }
                        if a.has("show-labels") {
                            r.push(view::labels_cell(&o.labels));
                        }
                        r
                    })
                    .collect();
                out.push_str(&table(&headers, &rows, a.has("no-headers")));
            }
        }
        Output::Name => {
            for (kind, objs) in &groups {
                for o in objs {
                    out.push_str(&format!("{}/{}\n", kind.name_prefix(), o.name));
                }
            }
        }
        Output::Json | Output::Yaml | Output::JsonPath(_) | Output::Custom(_) => {
            let items: Vec<Value> = groups
                .into_iter()
                .flat_map(|g| g.1)
                .map(|o| o.json)
                .collect();
            let doc = if single && items.len() == 1 {
                items.into_iter().next().unwrap_or(Value::Null)
            } else {
                readonly::list_json(items)
            };
            match &mode {
                Output::Json => out = format!("{}\n", json_pretty(&doc)),
                Output::Yaml => out = super::yaml::to_yaml(&doc),
                Output::JsonPath(t) => match super::jsonpath::execute(t, &doc) {
                    Ok(s) => out = s,
                    Err(e) => return err(&e),
                },
                Output::Custom(cols) => {
                    let items: Vec<&Value> = match doc.get("items").and_then(Value::as_array) {
                        Some(list) if doc.get("kind") == Some(&json!("List")) => {
                            list.iter().collect()
                        }
                        _ => vec![&doc],
                    };
                    let headers: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
                    let rows: Vec<Vec<String>> = items
                        .iter()
                        .map(|it| {
                            cols.iter()
                                .map(|(_, p)| {
                                    let p = p.trim().trim_start_matches('{').trim_end_matches('}');
                                    let vals = super::jsonpath::select(it, p).unwrap_or_default();
                                    if vals.is_empty() {
                                        "<none>".to_string()
                                    } else {
                                        vals.iter()
                                            .map(|v| match v {
                                                Value::String(s) => s.clone(),
                                                other => other.to_string(),
                                            })
                                            .collect::<Vec<_>>()
                                            .join(",")
                                    }
                                })
                                .collect()
                        })
                        .collect();
                    out = table(&headers, &rows, a.has("no-headers"));
                }
                _ => {}
            }
        }
    }
    if errors.is_empty() {
        KubectlResult::ok(out)
    } else {
        let mut text = out;
        text.push_str(&errors.join("\n"));
        KubectlResult {
            stdout: text,
            ok: false,
        }
    }
}

/// Pods that are not Running, for convenience elsewhere.
pub fn is_running(p: &crate::cluster::Pod) -> bool {
    p.phase == PodPhase::Running
}
