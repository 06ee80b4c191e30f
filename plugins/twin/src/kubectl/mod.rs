//! The kubectl an SRE uses against the twin: reads ([`get`], [`describe`], [`logs`], top,
//! rollout status/history), writes ([`writes`], backed by `cluster/ops.rs`) and exec
//! ([`exec`], with a mongo shell in [`mongo`]). [`run`] takes one command line.
//!
//! Output follows kubectl 1.32: tables aligned like Go's tabwriter ([`table`]), objects as the
//! API serialises them ([`objects`], [`readonly`]) in JSON, YAML ([`yaml`]) or JSONPath
//! ([`jsonpath`]). Reads never touch the cluster's rng, so a run repeats exactly.

pub mod apply;
pub mod describe;
pub mod describe_infra;
pub mod exec;
pub mod get;
pub mod jsonpath;
pub mod list;
pub mod logs;
mod misc;
pub mod mongo;
pub mod mongo_shell;
pub mod mongojs;
pub mod objects;
pub mod objects_storage;
pub mod parse;
pub mod patch;
mod pipe;
pub mod readonly;
mod stdin;
pub mod table;
pub mod view;
pub mod writes;
pub mod yaml;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_apply;
#[cfg(test)]
mod tests_writes;

use crate::cluster::Cluster;

/// What kubectl printed: stdout when `ok`, else its stderr (it exited non-zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubectlResult {
    pub stdout: String,
    pub ok: bool,
}

impl KubectlResult {
    pub fn ok(stdout: String) -> KubectlResult {
        KubectlResult { stdout, ok: true }
    }
}

pub(crate) fn err(msg: &str) -> KubectlResult {
    KubectlResult {
        stdout: msg.to_string(),
        ok: false,
    }
}

/// A write's result: its success line, or its error.
pub(crate) fn from(r: Result<String, String>) -> KubectlResult {
    match r {
        Ok(s) => KubectlResult::ok(format!("{s}\n")),
        Err(e) => err(&e),
    }
}

/// JSON as kubectl prints it: four-space indentation.
pub fn json_pretty(v: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if v.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

const VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "top",
    "rollout",
    "exec",
    "scale",
    "set",
    "patch",
    "delete",
    "apply",
    "create",
    "replace",
    "explain",
    "version",
    "cluster-info",
    "api-resources",
    "api-versions",
    "auth",
    "config",
    "edit",
    "port-forward",
    "attach",
    "proxy",
    "cp",
    "label",
    "annotate",
    "cordon",
    "uncordon",
    "drain",
    "taint",
    "wait",
    "events",
    "run",
    "expose",
    "autoscale",
    "debug",
    "diff",
    "kustomize",
    "certificate",
    "plugin",
    "completion",
    "alpha",
    "options",
    "help",
];

/// Runs one shell command line against the cluster, as AIOpsLab's exec_shell would run it.
pub fn run(cluster: &mut Cluster, command: &str, default_namespace: &str) -> KubectlResult {
    // A here-document, here-string or `echo ... |` feeds stdin: it is taken off before the
    // line is split into words (a here-document's body is not shell words).
    if let Some(p) = stdin::split(command) {
        let p = match p {
            Ok(p) => p,
            Err(e) => return err(&e),
        };
        let first = p.stages.first().map(Vec::as_slice).unwrap_or_default();
        let r = if first.len() == 1 && first[0] == "cat" {
            KubectlResult::ok(p.stdin.clone())
        } else {
            run_words(cluster, first, default_namespace, Some(&p.stdin))
        };
        return match p.stages.get(1..) {
            Some(rest) if !rest.is_empty() => {
                let rest: Vec<&[String]> = rest.iter().map(Vec::as_slice).collect();
                through(cluster, r, &rest, default_namespace)
            }
            _ => r,
        };
    }
    let words = match shell_words::split(command) {
        Ok(w) => w,
        Err(_) => return err("/bin/sh: 1: Syntax error: Unterminated quoted string"),
    };
    let stages: Vec<&[String]> = words.split(|w| w == "|").collect();
    if stages.len() > 1 {
        let r = run_words(cluster, stages[0], default_namespace, None);
        return through(cluster, r, &stages[1..], default_namespace);
    }
    run_words(cluster, &words, default_namespace, None)
}

/// Passes output down a pipeline: filters, and a later kubectl reading it as stdin
/// (`kubectl get svc x -o yaml | sed 's/9999/9090/' | kubectl apply -f -`).
fn through(
    cluster: &mut Cluster,
    mut r: KubectlResult,
    stages: &[&[String]],
    default_namespace: &str,
) -> KubectlResult {
    let is_kubectl = |s: &[String]| s.first().is_some_and(|w| w == "kubectl" || w == "k");
    let mut rest = stages;
    while !rest.is_empty() {
        let k = rest
            .iter()
            .position(|s| is_kubectl(s))
            .unwrap_or(rest.len());
        r = pipe::filter(r, &rest[..k]);
        let Some(next) = rest.get(k) else { break };
        if !r.ok {
            return r;
        }
        r = run_words(cluster, next, default_namespace, Some(&r.stdout));
        rest = &rest[k + 1..];
    }
    r
}

fn run_words(
    cluster: &mut Cluster,
    words: &[String],
    default_namespace: &str,
    stdin: Option<&str>,
) -> KubectlResult {
    let Some(first) = words.first() else {
        return KubectlResult::ok(String::new());
    };
    if first != "kubectl" && first != "k" {
        return misc::non_kubectl(words);
    }
    let rest = &words[1..];
    let verb = verb_of(rest);
    if verb.is_empty() {
        return err(
            "kubectl controls the Kubernetes cluster manager.\n\n Find more information at: https://kubernetes.io/docs/reference/kubectl/\n\nUse \"kubectl <command> --help\" for more information about a given command.",
        );
    }
    if !VERBS.contains(&verb.as_str()) {
        return err(&format!(
            "error: unknown command \"{verb}\" for \"kubectl\""
        ));
    }
    let a = match parse::parse_args(&verb, rest) {
        Ok(a) => a,
        Err(e) => return err(&format!("{e}\nSee 'kubectl {verb} --help' for usage.")),
    };
    if a.has("help") {
        return KubectlResult::ok(format!(
            "Usage: kubectl {verb} [options]\n\nUse \"kubectl options\" for a list of global command-line options (applies to all commands).\n"
        ));
    }
    let ns = a.get("namespace").unwrap_or(default_namespace).to_string();
    match verb.as_str() {
        "get" => get::get(cluster, &a, default_namespace),
        "describe" => describe::describe(cluster, &a, default_namespace),
        "logs" => logs::logs(cluster, &a, default_namespace),
        "top" => logs::top(cluster, &a, default_namespace),
        "rollout" => writes::rollout(cluster, &a, &ns),
        "exec" => exec::exec(cluster, &a, &ns),
        "scale" => writes::scale(cluster, &a, &ns),
        "set" => writes::set(cluster, &a, &ns),
        "patch" => writes::patch(cluster, &a, &ns),
        "delete" => writes::delete(cluster, &a, &ns),
        "apply" | "create" | "replace" => {
            apply::manifest_write(cluster, &a, &verb, default_namespace, stdin)
        }
        "events" => {
            let mut a2 = a.clone();
            a2.positional = vec!["get".into(), "events".into()];
            a2.flags
                .entry("sort-by".into())
                .or_insert_with(|| vec![".lastTimestamp".into()]);
            get::get(cluster, &a2, default_namespace)
        }
        other => misc::misc(cluster, other, &a),
    }
}

/// The first word that is neither a flag nor the value of a global flag before it
/// (`kubectl -n NS apply ...`).
fn verb_of(rest: &[String]) -> String {
    const VALUED: &[&str] = &[
        "-n",
        "--namespace",
        "--context",
        "--kubeconfig",
        "--cluster",
        "--user",
        "-s",
        "--server",
        "--request-timeout",
        "--token",
        "--as",
        "-v",
        "--v",
    ];
    let mut words = rest.iter();
    while let Some(w) = words.next() {
        if VALUED.contains(&w.as_str()) {
            words.next();
        } else if !w.starts_with('-') {
            return w.clone();
        }
    }
    String::new()
}
