//! kubectl's command line: flags (pflag rules: interspersed, `--x=v`, `-x v`, `-xv`, grouped
//! booleans, `--`), resource type aliases and label selectors.

use std::collections::BTreeMap;

/// A parsed command line after `kubectl`.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub positional: Vec<String>,
    pub flags: BTreeMap<String, Vec<String>>,
    /// Words after `--`.
    pub rest: Vec<String>,
    pub dashdash: bool,
}

impl Args {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.flags.get(name).cloned().unwrap_or_default()
    }
    pub fn has(&self, name: &str) -> bool {
        self.flags
            .get(name)
            .and_then(|v| v.last())
            .is_some_and(|v| v != "false")
    }
}

/// (long, short, takes a value)
type Spec = (&'static str, Option<char>, bool);

const GLOBAL: &[Spec] = &[
    ("namespace", Some('n'), true),
    ("all-namespaces", Some('A'), false),
    ("output", Some('o'), true),
    ("selector", Some('l'), true),
    ("field-selector", None, true),
    ("show-labels", None, false),
    ("no-headers", None, false),
    ("sort-by", None, true),
    ("watch", Some('w'), false),
    ("watch-only", None, false),
    ("kubeconfig", None, true),
    ("context", None, true),
    ("cluster", None, true),
    ("user", None, true),
    ("request-timeout", None, true),
    ("v", Some('v'), true),
    ("label-columns", Some('L'), true),
    ("show-kind", None, false),
    ("chunk-size", None, true),
    ("ignore-not-found", None, false),
    ("template", None, true),
    ("allow-missing-template-keys", None, false),
    ("show-managed-fields", None, false),
    ("server-print", None, false),
    ("raw", None, true),
    ("show-events", None, false),
    ("recursive", Some('R'), false),
    ("timeout", None, true),
    ("dry-run", None, true),
    ("field-manager", None, true),
    ("record", None, false),
    ("all", None, false),
    ("force", None, false),
    ("grace-period", None, true),
    ("now", None, false),
    ("wait", None, false),
    ("cascade", None, true),
    ("overwrite", None, false),
    ("local", None, false),
    ("subresource", None, true),
    ("validate", None, true),
    ("help", Some('h'), false),
];

fn command_specs(cmd: &str) -> &'static [Spec] {
    match cmd {
        "logs" => &[
            ("container", Some('c'), true),
            ("previous", Some('p'), false),
            ("follow", Some('f'), false),
            ("tail", None, true),
            ("since", None, true),
            ("since-time", None, true),
            ("timestamps", None, false),
            ("all-containers", None, false),
            ("prefix", None, false),
            ("limit-bytes", None, true),
            ("max-log-requests", None, true),
            ("insecure-skip-tls-verify-backend", None, false),
            ("pod-running-timeout", None, true),
            ("ignore-errors", None, false),
        ],
        "patch" => &[
            ("patch", Some('p'), true),
            ("type", None, true),
            ("patch-file", None, true),
            ("filename", Some('f'), true),
        ],
        "exec" => &[
            ("container", Some('c'), true),
            ("stdin", Some('i'), false),
            ("tty", Some('t'), false),
            ("quiet", Some('q'), false),
            ("filename", Some('f'), true),
            ("pod-running-timeout", None, true),
        ],
        "apply" | "create" | "replace" | "delete" => &[
            ("filename", Some('f'), true),
            ("kustomize", Some('k'), true),
            ("prune", None, false),
            ("server-side", None, false),
            ("force-conflicts", None, false),
            ("save-config", None, false),
            ("image", None, true),
            ("replicas", Some('r'), true),
            ("port", None, true),
            ("from-literal", None, true),
            ("from-file", None, true),
        ],
        "set" => &[
            ("container", Some('c'), true),
            ("env", Some('e'), true),
            ("list", None, false),
            ("from", None, true),
            ("filename", Some('f'), true),
            ("containers", Some('c'), true),
        ],
        "scale" => &[
            ("replicas", None, true),
            ("current-replicas", None, true),
            ("resource-version", None, true),
            ("filename", Some('f'), true),
        ],
        "rollout" => &[
            ("to-revision", None, true),
            ("revision", None, true),
            ("filename", Some('f'), true),
        ],
        "top" => &[
            ("containers", None, false),
            ("sum", None, false),
            ("use-protocol-buffers", None, false),
        ],
        "describe" | "get" | "explain" => {
            &[("filename", Some('f'), true), ("api-version", None, true)]
        }
        "label" | "annotate" => &[
            ("filename", Some('f'), true),
            ("list", None, false),
            ("resource-version", None, true),
        ],
        "auth" => &[
            ("as", None, true),
            ("list", None, false),
            ("quiet", Some('q'), false),
            ("subresource", None, true),
        ],
        "api-resources" => &[
            ("namespaced", None, true),
            ("api-group", None, true),
            ("verbs", None, true),
            ("sort-by", None, true),
        ],
        "version" => &[("client", None, false), ("short", None, false)],
        _ => &[],
    }
}

fn find_long(cmd: &str, name: &str) -> Option<Spec> {
    command_specs(cmd)
        .iter()
        .chain(GLOBAL.iter())
        .find(|s| s.0 == name)
        .copied()
}

fn find_short(cmd: &str, c: char) -> Option<Spec> {
    command_specs(cmd)
        .iter()
        .chain(GLOBAL.iter())
        .find(|s| s.1 == Some(c))
        .copied()
}

/// Parses `words` (after `kubectl`) for command `cmd` (the first positional word).
pub fn parse_args(cmd: &str, words: &[String]) -> Result<Args, String> {
    let mut a = Args::default();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if a.dashdash {
            a.rest.push(w.clone());
            continue;
        }
        if w == "--" {
            a.dashdash = true;
            continue;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let spec =
                find_long(cmd, name).ok_or_else(|| format!("error: unknown flag: --{name}"))?;
            let value = if spec.2 {
                match inline {
                    Some(v) => v,
                    None => {
                        let v = words
                            .get(i)
                            .cloned()
                            .ok_or_else(|| format!("error: flag needs an argument: --{name}"))?;
                        i += 1;
                        v
                    }
                }
            } else {
                inline.unwrap_or_else(|| "true".into())
            };
            a.flags.entry(spec.0.to_string()).or_default().push(value);
        } else if w.len() > 1
            && w.starts_with('-')
            && !w[1..].starts_with(|c: char| c.is_ascii_digit())
        {
            let chars: Vec<char> = w[1..].chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                let spec = find_short(cmd, c)
                    .ok_or_else(|| format!("error: unknown shorthand flag: '{c}' in {w}"))?;
                if spec.2 {
                    let rest: String = chars[j + 1..].iter().collect();
                    let value = if let Some(v) = rest.strip_prefix('=') {
                        v.to_string()
                    } else if !rest.is_empty() {
                        rest
                    } else {
                        let v = words.get(i).cloned().ok_or_else(|| {
                            format!("error: flag needs an argument: '{c}' in -{c}")
                        })?;
                        i += 1;
                        v
                    };
                    a.flags.entry(spec.0.to_string()).or_default().push(value);
                    break;
                }
                a.flags
                    .entry(spec.0.to_string())
                    .or_default()
                    .push("true".into());
                j += 1;
            }
        } else {
            a.positional.push(w.clone());
        }
    }
    Ok(a)
}

/// Resource kinds the twin knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Pod,
    Service,
    Deployment,
    ReplicaSet,
    Endpoints,
    Event,
    Node,
    Pv,
    Pvc,
    ConfigMap,
    Namespace,
    ServiceAccount,
    /// Kinds that exist in the API but that the twin never holds.
    Empty(&'static str),
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        let l = s.to_ascii_lowercase();
        let k = match l.as_str() {
            "po" | "pod" | "pods" => Kind::Pod,
            "svc" | "service" | "services" => Kind::Service,
            "deploy" | "deployment" | "deployments" | "deployment.apps" | "deployments.apps" => {
                Kind::Deployment
            }
            "rs" | "replicaset" | "replicasets" | "replicaset.apps" | "replicasets.apps" => {
                Kind::ReplicaSet
            }
            "ep" | "endpoints" | "endpoint" => Kind::Endpoints,
            "ev" | "event" | "events" | "events.events.k8s.io" => Kind::Event,
            "no" | "node" | "nodes" => Kind::Node,
            "pv" | "persistentvolume" | "persistentvolumes" => Kind::Pv,
            "pvc" | "persistentvolumeclaim" | "persistentvolumeclaims" => Kind::Pvc,
            "cm" | "configmap" | "configmaps" => Kind::ConfigMap,
            "ns" | "namespace" | "namespaces" => Kind::Namespace,
            "sa" | "serviceaccount" | "serviceaccounts" => Kind::ServiceAccount,
            "sts" | "statefulset" | "statefulsets" => Kind::Empty("statefulsets.apps"),
            "ds" | "daemonset" | "daemonsets" => Kind::Empty("daemonsets.apps"),
            "job" | "jobs" => Kind::Empty("jobs.batch"),
            "cj" | "cronjob" | "cronjobs" => Kind::Empty("cronjobs.batch"),
            "secret" | "secrets" => Kind::Empty("secrets"),
            "ing" | "ingress" | "ingresses" => Kind::Empty("ingresses.networking.k8s.io"),
            "netpol" | "networkpolicy" | "networkpolicies" => {
                Kind::Empty("networkpolicies.networking.k8s.io")
            }
            "hpa" | "horizontalpodautoscaler" | "horizontalpodautoscalers" => {
                Kind::Empty("horizontalpodautoscalers.autoscaling")
            }
            "pdb" | "poddisruptionbudget" | "poddisruptionbudgets" => {
                Kind::Empty("poddisruptionbudgets.policy")
            }
            "role" | "roles" => Kind::Empty("roles.rbac.authorization.k8s.io"),
            "rolebinding" | "rolebindings" => Kind::Empty("rolebindings.rbac.authorization.k8s.io"),
            "limitrange" | "limitranges" | "limits" => Kind::Empty("limitranges"),
            "quota" | "resourcequota" | "resourcequotas" => Kind::Empty("resourcequotas"),
            "endpointslice" | "endpointslices" => Kind::Empty("endpointslices.discovery.k8s.io"),
            _ => return None,
        };
        Some(k)
    }

    /// Whether objects of the kind live in a namespace.
    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::Node | Kind::Pv | Kind::Namespace)
    }

    /// The API resource (`deployments.apps`) used in errors.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Service => "services",
            Kind::Deployment => "deployments.apps",
            Kind::ReplicaSet => "replicasets.apps",
            Kind::Endpoints => "endpoints",
            Kind::Event => "events",
            Kind::Node => "nodes",
            Kind::Pv => "persistentvolumes",
            Kind::Pvc => "persistentvolumeclaims",
            Kind::ConfigMap => "configmaps",
            Kind::Namespace => "namespaces",
            Kind::ServiceAccount => "serviceaccounts",
            Kind::Empty(r) => r,
        }
    }

    /// The prefix of `-o name` and multi-kind tables (`deployment.apps`).
    pub fn name_prefix(self) -> String {
        match self {
            Kind::Pod => "pod".into(),
            Kind::Service => "service".into(),
            Kind::Deployment => "deployment.apps".into(),
            Kind::ReplicaSet => "replicaset.apps".into(),
            Kind::Endpoints => "endpoints".into(),
            Kind::Event => "event".into(),
            Kind::Node => "node".into(),
            Kind::Pv => "persistentvolume".into(),
            Kind::Pvc => "persistentvolumeclaim".into(),
            Kind::ConfigMap => "configmap".into(),
            Kind::Namespace => "namespace".into(),
            Kind::ServiceAccount => "serviceaccount".into(),
            Kind::Empty(r) => {
                let (plural, group) = r.split_once('.').unwrap_or((r, ""));
                let singular = plural
                    .strip_suffix("ies")
                    .map(|s| format!("{s}y"))
                    .unwrap_or_else(|| {
                        plural
                            .strip_suffix("sses")
                            .map(|s| format!("{s}ss"))
                            .unwrap_or_else(|| plural.trim_end_matches('s').to_string())
                    });
                if group.is_empty() {
                    singular
                } else {
                    format!("{singular}.{group}")
                }
            }
        }
    }
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
pub enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// Parses `k=v,k!=v,k in (a,b),k,!k`.
pub fn parse_selector(s: &str) -> Result<Vec<Req>, String> {
    let mut reqs = Vec::new();
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let list = |v: &str| -> Vec<String> {
            v.trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split(',')
                .map(|x| x.trim().to_string())
                .collect()
        };
        if let Some((k, v)) = p.split_once(" notin ") {
            reqs.push(Req::NotIn(k.trim().into(), list(v)));
        } else if let Some((k, v)) = p.split_once(" in ") {
            reqs.push(Req::In(k.trim().into(), list(v)));
        } else if let Some((k, v)) = p.split_once("!=") {
            reqs.push(Req::Ne(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
            reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
        } else if let Some(k) = p.strip_prefix('!') {
            reqs.push(Req::NotExists(k.trim().into()));
        } else if p.chars().all(|c| c.is_alphanumeric() || "-_./".contains(c)) {
            reqs.push(Req::Exists(p.into()));
        } else {
            return Err(format!(
                "error: unable to parse requirement: found '{p}', expected: ',', '!=', '==', '=', 'in', 'notin'"
            ));
        }
    }
    Ok(reqs)
}

pub fn selector_matches(reqs: &[Req], labels: &BTreeMap<String, String>) -> bool {
    reqs.iter().all(|r| match r {
        Req::Eq(k, v) => labels.get(k) == Some(v),
        Req::Ne(k, v) => labels.get(k) != Some(v),
        Req::In(k, vs) => labels.get(k).is_some_and(|x| vs.contains(x)),
        Req::NotIn(k, vs) => labels.get(k).is_none_or(|x| !vs.contains(x)),
        Req::Exists(k) => labels.contains_key(k),
        Req::NotExists(k) => !labels.contains_key(k),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        shell_words::split(s).unwrap_or_default()
    }

    #[test]
    fn flags_parse_like_pflag() {
        let a = parse_args(
            "get",
            &w("get pods -n test -o=wide --show-labels -lapp=geo"),
        )
        .unwrap_or_default();
        assert_eq!(a.positional, vec!["get", "pods"]);
        assert_eq!(a.get("namespace"), Some("test"));
        assert_eq!(a.get("output"), Some("wide"));
        assert_eq!(a.get("selector"), Some("app=geo"));
        assert!(a.has("show-labels"));
        let e = parse_args("exec", &w("exec -it mongo-x -- mongo --eval 'x'")).unwrap_or_default();
        assert!(e.has("stdin") && e.has("tty"));
        assert_eq!(e.rest, vec!["mongo", "--eval", "x"]);
        assert_eq!(
            parse_args("get", &w("get pods --foo")).err().as_deref(),
            Some("error: unknown flag: --foo")
        );
        let l = parse_args("logs", &w("logs geo-x -p --tail=5")).unwrap_or_default();
        assert!(l.has("previous"));
    }

    #[test]
    fn selectors() {
        let mut l = BTreeMap::new();
        l.insert("app".to_string(), "geo".to_string());
        let r = parse_selector("app=geo,tier!=db").unwrap_or_default();
        assert!(selector_matches(&r, &l));
        let r = parse_selector("app in (rate, geo)").unwrap_or_default();
        assert!(selector_matches(&r, &l));
        assert!(!selector_matches(
            &parse_selector("!app").unwrap_or_default(),
            &l
        ));
    }
}
