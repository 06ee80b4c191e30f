//! Which resources a tool call names: a small, best-effort kubectl parser (resource kind, names,
//! namespace) and the matching rule that relates a pod name to its deployment.
//!
//! This is for learning signals only (rewards, failure mining), never for safety: whether a call
//! may run is decided by the agent's classifier and gates, not here.

use aoi_core::ToolCall;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A resource a tool call names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Target {
    /// Normalised kind (`pod`, `deployment`, `service`, ...), when the call says it.
    pub kind: Option<String>,
    pub name: String,
    pub namespace: Option<String>,
}

/// One parsed `kubectl` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubectlCommand {
    /// The verb, two words for subcommands: `get`, `patch`, `rollout restart`, `set image`.
    pub verb: String,
    /// The normalised resource kind, when one is named (`None` for `apply -f`).
    pub kind: Option<String>,
    /// The resource names, in order.
    pub names: Vec<String>,
    /// The namespace named with `-n` / `--namespace`.
    pub namespace: Option<String>,
}

impl KubectlCommand {
    /// The resources the command names.
    pub fn targets(&self) -> Vec<Target> {
        self.names
            .iter()
            .map(|name| Target {
                kind: self.kind.clone(),
                name: name.clone(),
                namespace: self.namespace.clone(),
            })
            .collect()
    }

    /// What the command does to what, for comparing two fixes regardless of flag order and
    /// payload: `patch service/user-service`.
    pub fn signature(&self) -> String {
        let kind = self.kind.as_deref().unwrap_or("-");
        let names = self.names.join(",");
        format!("{} {kind}/{names}", self.verb)
    }
}

/// Verbs whose second word is part of the verb.
const TWO_WORD_VERBS: &[&str] = &["rollout", "set", "auth", "config", "certificate"];
/// Verbs whose first argument is a pod (or `kind/name`).
const POD_VERBS: &[&str] = &["logs", "exec", "attach", "port-forward"];
/// Verbs whose first argument is a node.
const NODE_VERBS: &[&str] = &["cordon", "uncordon", "drain", "taint"];
/// Long flags that take a separate value.
const LONG_VALUE_FLAGS: &[&str] = &[
    "--output",
    "--selector",
    "--container",
    "--filename",
    "--type",
    "--patch",
    "--sort-by",
    "--field-selector",
    "--tail",
    "--since",
    "--replicas",
    "--timeout",
    "--image",
    "--context",
    "--kubeconfig",
    "--cluster",
    "--user",
    "--label-columns",
    "--to-revision",
];
/// Short flags that take a separate value (`-p` only for `patch`).
const SHORT_VALUE_FLAGS: &[&str] = &["-o", "-l", "-c", "-f", "-L", "-s"];

/// Splits a command line into words, honouring single and double quotes (and `\"` inside double
/// quotes). An unterminated quote ends at the end of the line.
pub fn split_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            Some(_) => current.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// Normalises a kubectl resource kind: plural and short forms to one singular name
/// (`po`, `pods` -> `pod`; `svc` -> `service`; `deploy` -> `deployment`).
pub fn normalize_kind(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    let k = k.split('.').next().unwrap_or(&k).to_string();
    let known = match k.as_str() {
        "po" | "pod" | "pods" => "pod",
        "deploy" | "deployment" | "deployments" => "deployment",
        "svc" | "service" | "services" => "service",
        "ep" | "endpoints" | "endpoint" => "endpoints",
        "cm" | "configmap" | "configmaps" => "configmap",
        "secret" | "secrets" => "secret",
        "no" | "node" | "nodes" => "node",
        "ns" | "namespace" | "namespaces" => "namespace",
        "pv" | "persistentvolume" | "persistentvolumes" => "persistentvolume",
        "pvc" | "persistentvolumeclaim" | "persistentvolumeclaims" => "persistentvolumeclaim",
        "rs" | "replicaset" | "replicasets" => "replicaset",
        "sts" | "statefulset" | "statefulsets" => "statefulset",
        "ds" | "daemonset" | "daemonsets" => "daemonset",
        "ev" | "event" | "events" => "event",
        "job" | "jobs" => "job",
        _ => return k,
    };
    known.to_string()
}

/// Parses one `kubectl` command line; `None` when it is not one.
pub fn parse_kubectl(command: &str) -> Option<KubectlCommand> {
    let words = split_words(command);
    let first = words.first()?;
    if first != "kubectl" && !first.ends_with("/kubectl") {
        return None;
    }
    let mut namespace = None;
    let mut positionals: Vec<String> = Vec::new();
    let mut i = 1;
    while let Some(word) = words.get(i) {
        i += 1;
        let verb = positionals.first().map(String::as_str);
        if word == "--" {
            break;
        } else if word == "-n" || word == "--namespace" {
            namespace = words.get(i).cloned();
            i += 1;
        } else if let Some(ns) = word.strip_prefix("--namespace=") {
            namespace = Some(ns.to_string());
        } else if word.starts_with("--") {
            if !word.contains('=') && LONG_VALUE_FLAGS.contains(&word.as_str()) {
                i += 1;
            }
        } else if let Some(ns) = word.strip_prefix("-n").filter(|rest| !rest.is_empty()) {
            namespace = Some(ns.to_string());
        } else if word.starts_with('-') && word.len() > 1 {
            let takes_value = SHORT_VALUE_FLAGS.contains(&word.as_str())
                || (word == "-p" && verb == Some("patch"));
            if takes_value {
                i += 1;
            }
        } else {
            positionals.push(word.clone());
        }
    }
    let mut rest = positionals.into_iter();
    let mut verb = rest.next()?;
    if TWO_WORD_VERBS.contains(&verb.as_str())
        && let Some(sub) = rest.next()
    {
        verb = format!("{verb} {sub}");
    }
    let rest: Vec<String> = rest.collect();
    let head = verb.split(' ').next().unwrap_or("");
    let (kind, names) = if POD_VERBS.contains(&head) {
        match rest.first() {
            Some(first) => match first.split_once('/') {
                Some((k, n)) => (Some(normalize_kind(k)), vec![n.to_string()]),
                None => (Some("pod".to_string()), vec![first.clone()]),
            },
            None => (None, Vec::new()),
        }
    } else if NODE_VERBS.contains(&head) {
        (
            Some("node".to_string()),
            rest.first().cloned().into_iter().collect(),
        )
    } else if head == "apply" || head == "replace" {
        (None, Vec::new())
    } else {
        kind_and_names(&rest)
    };
    Some(KubectlCommand {
        verb,
        kind,
        names,
        namespace,
    })
}

/// `kind name name...` or `kind/name kind/name...`; words with `=` (labels, container=image)
/// are not names.
fn kind_and_names(rest: &[String]) -> (Option<String>, Vec<String>) {
    let Some(first) = rest.first() else {
        return (None, Vec::new());
    };
    if first.contains('/') {
        let mut kind = None;
        let mut names = Vec::new();
        for word in rest.iter().filter(|w| !w.contains('=')) {
            if let Some((k, n)) = word.split_once('/') {
                kind.get_or_insert_with(|| normalize_kind(k));
                names.push(n.to_string());
            }
        }
        return (kind, names);
    }
    let names = rest
        .iter()
        .skip(1)
        .filter(|w| !w.contains('='))
        .cloned()
        .collect();
    (Some(normalize_kind(first)), names)
}

/// The command a call runs, as text: the `exec_shell` command, or the call in Python form.
pub fn call_text(call: &ToolCall) -> String {
    match call.str_arg("command") {
        Some(command) if call.tool == "exec_shell" => command.trim().to_string(),
        _ => call.to_string(),
    }
}

/// The resources a call names: kubectl's named resources for `exec_shell`, the service for
/// `get_logs`; broad calls (listings, metrics, traces) name none.
pub fn call_targets(call: &ToolCall) -> Vec<Target> {
    match call.tool.as_str() {
        "exec_shell" => call
            .str_arg("command")
            .and_then(parse_kubectl)
            .map(|k| k.targets())
            .unwrap_or_default(),
        "get_logs" => call
            .str_arg("service")
            .map(|service| Target {
                kind: Some("service".to_string()),
                name: service.to_string(),
                namespace: call.str_arg("namespace").map(str::to_string),
            })
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a resource called `name` is the resource `wanted` (a name, or `kind/name`): the same
/// name, or a pod of it (`geo-5c7d8f9b6-qwert` and `mongodb-0` belong to `geo` and `mongodb`).
pub fn matches_resource(name: &str, wanted: &str) -> bool {
    let wanted = wanted.rsplit('/').next().unwrap_or(wanted).trim();
    let name = name.rsplit('/').next().unwrap_or(name).trim();
    if wanted.is_empty() {
        return false;
    }
    if name.eq_ignore_ascii_case(wanted) {
        return true;
    }
    let (name, wanted) = (name.to_ascii_lowercase(), wanted.to_ascii_lowercase());
    let Some(suffix) = name
        .strip_prefix(wanted.as_str())
        .and_then(|s| s.strip_prefix('-'))
    else {
        return false;
    };
    let alnum = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    let parts: Vec<&str> = suffix.split('-').collect();
    match parts.as_slice() {
        [ordinal] => !ordinal.is_empty() && ordinal.chars().all(|c| c.is_ascii_digit()),
        [hash, pod] => {
            (6..=10).contains(&hash.len()) && alnum(hash) && pod.len() == 5 && alnum(pod)
        }
        _ => false,
    }
}

/// The resource a pod name belongs to: `geo-5c7d8f9b6-qwert` -> `geo`, `mongodb-0` -> `mongodb`;
/// any other name is returned as it is.
pub fn resource_base(name: &str) -> &str {
    let name = name.rsplit('/').next().unwrap_or(name);
    let mut cut = name;
    for _ in 0..2 {
        if let Some((base, _)) = cut.rsplit_once('-')
            && !base.is_empty()
            && matches_resource(name, base)
        {
            return base;
        }
        cut = match cut.rsplit_once('-') {
            Some((base, _)) => base,
            None => return name,
        };
    }
    name
}

/// Whether `name` is one of the `relevant` resources (see [`matches_resource`]).
pub fn is_relevant(name: &str, relevant: &BTreeSet<String>) -> bool {
    relevant.iter().any(|r| matches_resource(name, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_whitespace_and_keep_quoted_text() {
        assert_eq!(
            split_words(r#"kubectl patch svc a -p '[{"op": "x"}]'  --type "json""#),
            [
                "kubectl",
                "patch",
                "svc",
                "a",
                "-p",
                r#"[{"op": "x"}]"#,
                "--type",
                "json"
            ]
        );
        assert_eq!(
            split_words(r#"echo "say \"hi\"" ''"#),
            ["echo", r#"say "hi""#, ""]
        );
        assert!(split_words("   ").is_empty());
    }

    #[test]
    fn kinds_normalise_to_one_singular_name() {
        for (raw, want) in [
            ("po", "pod"),
            ("Pods", "pod"),
            ("svc", "service"),
            ("deploy", "deployment"),
            ("deployments.apps", "deployment"),
            ("widgets", "widgets"),
        ] {
            assert_eq!(normalize_kind(raw), want, "{raw}");
        }
    }
}
