//! The `exec_shell` classifier: proves a shell command is a kubectl read, or calls it a write.
//!
//! Fail closed: a command is a read only when it is one `kubectl` invocation with a known read
//! verb, no shell metacharacter anywhere, quoting that parses, and no flag that turns the read
//! into a long-running stream (`--watch`, `--follow`). Everything else is a write.

use std::fmt;

/// Proof that one command is a single kubectl read. Only [`classify_shell`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubectlRead {
    verb: String,
    namespace: Option<String>,
    words: Vec<String>,
}

impl KubectlRead {
    /// The read verb, two words for subcommands: `get`, `logs`, `rollout status`, `auth can-i`.
    pub fn verb(&self) -> &str {
        &self.verb
    }

    /// The namespace named with `-n` / `--namespace`, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The parsed words of the command, `kubectl` first.
    pub fn words(&self) -> &[String] {
        &self.words
    }
}

/// What a shell command is, as far as the runtime can prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellClass {
    Read(KubectlRead),
    Write { reason: String },
}

impl ShellClass {
    pub fn is_read(&self) -> bool {
        matches!(self, ShellClass::Read(_))
    }
}

impl fmt::Display for ShellClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShellClass::Read(read) => write!(f, "read (kubectl {})", read.verb),
            ShellClass::Write { reason } => write!(f, "write ({reason})"),
        }
    }
}

fn write(reason: impl Into<String>) -> ShellClass {
    ShellClass::Write {
        reason: reason.into(),
    }
}

/// Characters that make a command a write wherever they appear, quoted or not: command
/// separators, pipes, redirections, substitutions, escapes and line breaks.
const ALWAYS_FORBIDDEN: &[char] = &[';', '|', '&', '>', '<', '`', '$', '\\', '\n', '\r'];

/// Characters that are harmless inside single or double quotes but are shell syntax outside them:
/// subshells, globs, brace expansion, comments, history expansion.
const FORBIDDEN_UNQUOTED: &[char] = &['(', ')', '*', '?', '[', ']', '{', '}', '#', '!'];

/// kubectl verbs that only read.
const READ_VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "top",
    "events",
    "explain",
    "api-resources",
    "api-versions",
    "version",
    "cluster-info",
];

/// Global kubectl flags that take a separate value (`--context ctx`). Any other flag before the
/// verb is unknown, and an unknown flag makes the command a write (we cannot tell where the verb is).
const GLOBAL_VALUE_FLAGS: &[&str] = &[
    "-n",
    "--namespace",
    "--kubeconfig",
    "--context",
    "--cluster",
    "--user",
    "-s",
    "--server",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--request-timeout",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--tls-server-name",
    "--cache-dir",
    "-v",
    "--v",
    "--log-file",
    "--profile",
    "--profile-output",
];

/// Global boolean kubectl flags.
const GLOBAL_BOOL_FLAGS: &[&str] = &[
    "--insecure-skip-tls-verify",
    "--match-server-version",
    "--warnings-as-errors",
    "--disable-compression",
];

/// Long flags that turn a read into a stream or a watch.
const STREAMING_FLAGS: &[&str] = &["--watch", "--watch-only", "--follow"];

/// Short flags (of the read verbs) that take a value, so the rest of a `-xVALUE` word is data.
const SHORT_VALUE_FLAGS: &[char] = &['o', 'n', 'l', 'L', 'c', 's', 'f', 'k', 'v'];

/// Classifies one `exec_shell` command. Anything not proven a kubectl read is a write.
pub fn classify_shell(command: &str) -> ShellClass {
    let trimmed = command.trim();
    if trimmed.is_empty() {
        return write("empty command");
    }
    if let Some(reason) = find_metacharacter(trimmed) {
        return write(reason);
    }
    let words = match shell_words::split(trimmed) {
        Ok(words) => words,
        Err(e) => return write(format!("quoting does not parse: {e}")),
    };
    if words.first().map(String::as_str) != Some("kubectl") {
        let program = words.first().map(String::as_str).unwrap_or("");
        return write(format!("`{program}` is not kubectl"));
    }
    classify_kubectl(words)
}

/// Returns why the command holds a shell metacharacter, quote-aware for the unquoted-only set.
fn find_metacharacter(command: &str) -> Option<String> {
    let mut in_single = false;
    let mut in_double = false;
    for c in command.chars() {
        if ALWAYS_FORBIDDEN.contains(&c) {
            return Some(format!("shell metacharacter `{}`", c.escape_default()));
        }
        if c.is_control() && c != '\t' {
            return Some(format!("control character `{}`", c.escape_default()));
        }
        match c {
            '\'' if !in_double => in_single = !in_single,
            '"' if !in_single => in_double = !in_double,
            _ if !in_single && !in_double && FORBIDDEN_UNQUOTED.contains(&c) => {
                return Some(format!("unquoted shell metacharacter `{c}`"));
            }
            _ => {}
        }
    }
    None
}

/// Where the verb sits once global flags are skipped, and the namespace if one was named there.
struct VerbPosition {
    index: usize,
    namespace: Option<String>,
}

fn find_verb(words: &[String]) -> Result<VerbPosition, String> {
    let mut namespace = None;
    let mut i = 1;
    while i < words.len() {
        let word = &words[i];
        if !word.starts_with('-') {
            return Ok(VerbPosition {
                index: i,
                namespace,
            });
        }
        let (flag, inline_value) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_string())),
            None => (word.as_str(), None),
        };
        if GLOBAL_BOOL_FLAGS.contains(&flag) {
            i += 1;
            continue;
        }
        if !GLOBAL_VALUE_FLAGS.contains(&flag) {
            return Err(format!("unknown flag `{flag}` before the kubectl verb"));
        }
        let value = match inline_value {
            Some(value) => value,
            None => {
                i += 1;
                words
                    .get(i)
                    .cloned()
                    .ok_or_else(|| format!("flag `{flag}` has no value"))?
            }
        };
        if flag == "-n" || flag == "--namespace" {
            namespace = Some(value);
        }
        i += 1;
    }
    Err("no kubectl verb".to_string())
}

fn classify_kubectl(words: Vec<String>) -> ShellClass {
    let position = match find_verb(&words) {
        Ok(position) => position,
        Err(reason) => return write(reason),
    };
    let verb = words[position.index].as_str();
    let rest = &words[position.index + 1..];
    let subverb = rest
        .iter()
        .find(|w| !w.starts_with('-'))
        .map(String::as_str);
    let verb_name = match verb {
        v if READ_VERBS.contains(&v) => {
            if v == "cluster-info" && subverb == Some("dump") {
                return write("`kubectl cluster-info dump` writes files");
            }
            v.to_string()
        }
        "rollout" => match subverb {
            Some(sub @ ("status" | "history")) => format!("rollout {sub}"),
            Some(sub) => return write(format!("`kubectl rollout {sub}` changes state")),
            None => return write("`kubectl rollout` without a subcommand"),
        },
        "auth" => match subverb {
            Some("can-i") => "auth can-i".to_string(),
            Some(sub) => return write(format!("`kubectl auth {sub}` is not a known read")),
            None => return write("`kubectl auth` without a subcommand"),
        },
        other => return write(format!("`kubectl {other}` is not a read verb")),
    };
    if let Some(reason) = streaming_flag(verb, rest) {
        return write(reason);
    }
    let namespace = position.namespace.or_else(|| namespace_flag(rest));
    ShellClass::Read(KubectlRead {
        verb: verb_name,
        namespace,
        words,
    })
}

/// A flag that makes a read never end (watch, follow). Checked on every word after the verb,
/// including combined short flags such as `-fp` or `-Aw`.
fn streaming_flag(verb: &str, rest: &[String]) -> Option<String> {
    let watch_letter = match verb {
        "get" | "events" => Some('w'),
        "logs" => Some('f'),
        _ => None,
    };
    for word in rest {
        if word == "--" {
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(name, _)| name);
            let flag = format!("--{name}");
            if STREAMING_FLAGS.contains(&flag.as_str()) {
                return Some(format!("`{flag}` streams without end"));
            }
            continue;
        }
        let Some(shorts) = word.strip_prefix('-') else {
            continue;
        };
        for letter in shorts.chars() {
            if Some(letter) == watch_letter {
                return Some(format!("`-{letter}` streams without end"));
            }
            if SHORT_VALUE_FLAGS.contains(&letter) {
                break;
            }
        }
    }
    None
}

/// The value of `-n` / `--namespace` among the words after the verb.
fn namespace_flag(rest: &[String]) -> Option<String> {
    let mut iter = rest.iter();
    while let Some(word) = iter.next() {
        if word == "--" {
            return None;
        }
        if word == "-n" || word == "--namespace" {
            return iter.next().cloned();
        }
        if let Some(value) = word.strip_prefix("--namespace=") {
            return Some(value.to_string());
        }
        if let Some(value) = word.strip_prefix("-n")
            && !value.is_empty()
        {
            return Some(value.trim_start_matches('=').to_string());
        }
    }
    None
}

/// What a kubectl command (read or write) targets, for gate rules and audit records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KubectlTarget {
    /// `delete`, `rollout restart`, `exec`, ...
    pub verb: String,
    pub namespace: Option<String>,
    /// The object named, `deployment/geo`, `pod/x`, `namespace/test`, when one is.
    pub object: Option<String>,
}

/// Best-effort parse of what a kubectl command acts on; `None` when it is not one parsable
/// kubectl invocation. Used to describe writes, never to prove anything safe.
pub fn kubectl_target(command: &str) -> Option<KubectlTarget> {
    let words = shell_words::split(command.trim()).ok()?;
    if words.first().map(String::as_str) != Some("kubectl") {
        return None;
    }
    let position = find_verb(&words).ok()?;
    let verb = words[position.index].clone();
    let rest = &words[position.index + 1..];
    let namespace = position.namespace.or_else(|| namespace_flag(rest));
    let mut positionals = Vec::new();
    let mut iter = rest.iter();
    while let Some(word) = iter.next() {
        if word == "--" {
            break;
        }
        if word.starts_with('-') {
            let takes_value = !word.contains('=')
                && matches!(
                    word.as_str(),
                    "-n" | "--namespace"
                        | "-c"
                        | "--container"
                        | "-l"
                        | "--selector"
                        | "-o"
                        | "--output"
                        | "-p"
                        | "--patch"
                        | "--type"
                        | "-f"
                        | "--filename"
                        | "--context"
                        | "--image"
                );
            if takes_value {
                iter.next();
            }
            continue;
        }
        positionals.push(word.clone());
    }
    let has_subverb = matches!(
        verb.as_str(),
        "rollout" | "set" | "auth" | "config" | "create"
    );
    let (verb, objects) = match (has_subverb, positionals.split_first()) {
        (true, Some((sub, objects))) => (format!("{verb} {sub}"), objects.to_vec()),
        _ => (verb, positionals),
    };
    let object = match objects.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [kind, name, ..] if !kind.contains('/') => Some(format!("{kind}/{name}")),
        [first, ..] => Some(first.clone()),
    };
    Some(KubectlTarget {
        verb,
        namespace,
        object,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn assert_read(command: &str, verb: &str) {
        match classify_shell(command) {
            ShellClass::Read(read) => assert_eq!(read.verb(), verb, "{command}"),
            other => panic!("expected read for `{command}`, got {other}"),
        }
    }

    fn assert_write(command: &str) {
        let class = classify_shell(command);
        assert!(
            !class.is_read(),
            "expected write for `{command}`, got {class}"
        );
    }

    #[test]
    fn kubectl_read_verbs_are_reads() {
        assert_read("kubectl get pods -n test-hotel-reservation", "get");
        assert_read("  kubectl get pods -A -o wide ", "get");
        assert_read("kubectl get pods -owide", "get");
        assert_read("kubectl get svc geo -n x -o yaml", "get");
        assert_read("kubectl get secrets -n x", "get");
        assert_read("kubectl describe pod geo-abc -n x", "describe");
        assert_read("kubectl logs geo-abc -n x --tail=100", "logs");
        assert_read(
            "kubectl logs deploy/geo -n x -c hotel-reserv-geo -p",
            "logs",
        );
        assert_read("kubectl logs geo-abc -n x --since=5m --tail 50", "logs");
        assert_read("kubectl top pods -n x", "top");
        assert_read("kubectl top nodes", "top");
        assert_read("kubectl events -n x", "events");
        assert_read("kubectl explain deployment.spec", "explain");
        assert_read("kubectl api-resources", "api-resources");
        assert_read("kubectl api-versions", "api-versions");
        assert_read("kubectl version", "version");
        assert_read("kubectl cluster-info", "cluster-info");
        assert_read(
            "kubectl rollout status deployment/geo -n x",
            "rollout status",
        );
        assert_read(
            "kubectl rollout history deployment/geo -n x",
            "rollout history",
        );
        assert_read("kubectl auth can-i delete pods -n x", "auth can-i");
    }

    #[test]
    fn global_flags_before_the_verb_are_skipped() {
        assert_read("kubectl --kubeconfig=/tmp/k get pods", "get");
        assert_read("kubectl --kubeconfig /tmp/k get pods", "get");
        assert_read("kubectl -n x get pods", "get");
        assert_read(
            "kubectl --context kind-aoi --namespace=x describe svc geo",
            "describe",
        );
        assert_read("kubectl --insecure-skip-tls-verify get nodes", "get");
        assert_write("kubectl --unknown-flag get pods");
        assert_write("kubectl -n");
        assert_write("kubectl --kubeconfig /tmp/k");
        let ShellClass::Read(read) = classify_shell("kubectl -n hotel get pods") else {
            panic!("read expected");
        };
        assert_eq!(read.namespace(), Some("hotel"));
        let ShellClass::Read(read) = classify_shell("kubectl get pods --namespace=geo") else {
            panic!("read expected");
        };
        assert_eq!(read.namespace(), Some("geo"));
    }

    #[test]
    fn quoted_jsonpath_is_a_read_and_unquoted_globs_are_not() {
        assert_read(
            "kubectl get pods -n x -o jsonpath='{.items[*].metadata.name}'",
            "get",
        );
        assert_read(
            "kubectl get pods -n x -o \"jsonpath={.items[*].status.phase}\"",
            "get",
        );
        assert_write("kubectl get pods -n x -o jsonpath={.items[*].metadata.name}");
        assert_write("kubectl get pods *");
        assert_write("kubectl get pods # comment");
    }

    #[test]
    fn state_changing_kubectl_verbs_are_writes() {
        for command in [
            "kubectl apply -f deploy.yaml",
            "kubectl create namespace x",
            "kubectl delete pod geo-abc -n x",
            "kubectl delete namespace test-hotel-reservation",
            "kubectl patch deployment geo -n x -p '{\"spec\":{\"replicas\":1}}'",
            "kubectl scale deployment geo --replicas=0 -n x",
            "kubectl set image deployment/geo geo=img:v2 -n x",
            "kubectl set env deployment/geo X=1",
            "kubectl label pod geo-abc a=b",
            "kubectl annotate pod geo-abc a=b",
            "kubectl rollout restart deployment/geo -n x",
            "kubectl rollout undo deployment/geo -n x",
            "kubectl rollout pause deployment/geo",
            "kubectl rollout resume deployment/geo",
            "kubectl rollout",
            "kubectl replace -f x.yaml",
            "kubectl drain node-1",
            "kubectl cordon node-1",
            "kubectl uncordon node-1",
            "kubectl taint nodes node-1 key=value:NoSchedule",
            "kubectl autoscale deployment geo --max=5",
            "kubectl expose deployment geo --port=80",
            "kubectl run shell --image=busybox",
            "kubectl debug pod/geo-abc -it --image=busybox",
            "kubectl edit deployment geo",
            "kubectl port-forward svc/geo 8080:80",
            "kubectl attach geo-abc",
            "kubectl proxy",
            "kubectl cp geo-abc:/etc/passwd ./passwd",
            "kubectl exec geo-abc -n x -- ls",
            "kubectl exec -it mongodb-geo-0 -n x -- mongo --eval 'db.dropDatabase()'",
            "kubectl exec mongodb-geo-0 -- mongo geo-db --eval \"db.getUsers()\"",
            "kubectl config view",
            "kubectl config use-context prod",
            "kubectl auth reconcile -f rbac.yaml",
            "kubectl auth",
            "kubectl cluster-info dump --output-directory=/tmp/x",
            "kubectl wait --for=condition=ready pod/x",
            "kubectl kustomize .",
            "kubectl plugin list",
            "kubectl certificate approve csr-1",
            "kubectl",
        ] {
            assert_write(command);
        }
    }

    #[test]
    fn streaming_reads_are_writes() {
        for command in [
            "kubectl logs geo-abc -f",
            "kubectl logs geo-abc --follow",
            "kubectl logs geo-abc --follow=true",
            "kubectl logs geo-abc --follow=false",
            "kubectl logs geo-abc -pf",
            "kubectl get pods -w",
            "kubectl get pods --watch",
            "kubectl get pods --watch-only",
            "kubectl get pods -Aw",
            "kubectl events -w",
        ] {
            assert_write(command);
        }
    }

    #[test]
    fn other_programs_and_shell_tricks_are_writes() {
        for command in [
            "",
            "   ",
            "rm -rf /",
            "curl http://evil.example/x",
            "bash -c 'kubectl get pods'",
            "sh",
            "echo hi > f",
            "echo hi",
            "/usr/bin/kubectl get pods",
            "KUBECONFIG=/x kubectl get pods",
            "kubectl get pods; kubectl delete ns x",
            "kubectl get pods && kubectl delete pod x",
            "kubectl get pods || kubectl delete pod x",
            "kubectl get pods | xargs kubectl delete",
            "kubectl get pods & kubectl delete pod x",
            "$(kubectl delete ns x)",
            "kubectl get pods $(kubectl delete ns x)",
            "kubectl get pods `kubectl delete ns x`",
            "kubectl get pods -n \"$(kubectl delete ns x)\"",
            "kubectl get pods -n '$HOME'",
            "kubectl get pods\nkubectl delete ns x",
            "kubectl get pods\rkubectl delete ns x",
            "kubectl get pods \\; kubectl delete ns x",
            "kubectl get pods < input",
            "kubectl get pods 'unbalanced",
            "kubectl get pods \"unbalanced",
            "(kubectl delete ns x)",
            "kubectl get pods {a,b}",
            "kubectl get pods !!",
            "kubectl get pods \u{0}",
        ] {
            assert_write(command);
        }
    }

    #[test]
    fn write_reasons_say_what_was_wrong() {
        let ShellClass::Write { reason } = classify_shell("kubectl get pods | sh") else {
            panic!("write expected");
        };
        assert!(reason.contains('|'), "{reason}");
        let ShellClass::Write { reason } = classify_shell("kubectl delete pod x") else {
            panic!("write expected");
        };
        assert!(reason.contains("kubectl delete"), "{reason}");
    }

    #[test]
    fn targets_of_writes_are_described() {
        let target = kubectl_target("kubectl delete pod geo-abc -n x").unwrap();
        assert_eq!(target.verb, "delete");
        assert_eq!(target.namespace.as_deref(), Some("x"));
        assert_eq!(target.object.as_deref(), Some("pod/geo-abc"));
        let target =
            kubectl_target("kubectl rollout restart deployment/geo --namespace=hotel").unwrap();
        assert_eq!(target.verb, "rollout restart");
        assert_eq!(target.namespace.as_deref(), Some("hotel"));
        assert_eq!(target.object.as_deref(), Some("deployment/geo"));
        let target = kubectl_target("kubectl -n x exec -it mongo-0 -c m -- mongo").unwrap();
        assert_eq!(target.verb, "exec");
        assert_eq!(target.object.as_deref(), Some("mongo-0"));
        assert!(kubectl_target("rm -rf /").is_none());
    }
}
