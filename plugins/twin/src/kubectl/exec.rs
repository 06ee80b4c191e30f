//! `kubectl exec`: a mongo shell in database pods, and the few shell commands an SRE runs in a
//! container (env, printenv, cat of mounted config, ls, hostname, echo); anything else is not
//! in the image.

use super::mongo::MongoLogin;
use super::parse::Args;
use super::{KubectlResult, err};
use crate::cluster::{Cluster, ContainerState};

fn exit(text: String, code: i32) -> KubectlResult {
    let mut s = text;
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&format!("command terminated with exit code {code}"));
    KubectlResult {
        stdout: s,
        ok: false,
    }
}

fn parse_mongo(words: &[String]) -> Result<(MongoLogin, Option<String>), String> {
    let mut login = MongoLogin {
        db: "test".into(),
        mongosh: words.first().is_some_and(|w| w == "mongosh"),
        ..MongoLogin::default()
    };
    let mut script = None;
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
            _ => (w.clone(), None),
        };
        let mut value = |inline: Option<String>| -> String {
            inline.unwrap_or_else(|| {
                let v = words.get(i).cloned().unwrap_or_default();
                i += 1;
                v
            })
        };
        match flag.as_str() {
            "--eval" => script = Some(value(inline)),
            "-u" | "--username" => login.user = Some(value(inline)),
            "-p" | "--password" => login.password = Some(value(inline)),
            "--authenticationDatabase" => login.auth_db = Some(value(inline)),
            "--host"
            | "--port"
            | "--authenticationMechanism"
            | "--tlsCAFile"
            | "--tlsCertificateKeyFile"
            | "--sslCAFile"
            | "--sslPEMKeyFile" => {
                let _ = value(inline);
            }
            "--quiet" => login.quiet = true,
            "--tls" | "--ssl" => login.tls = true,
            "--norc"
            | "--nodb"
            | "--shell"
            | "--tlsAllowInvalidCertificates"
            | "--sslAllowInvalidCertificates" => {}
            f if f.starts_with('-') => {
                return Err(format!(
                    "Error parsing command line: unrecognised option '{f}'\ntry 'mongo --help' for more information"
                ));
            }
            target => {
                // `admin`, `localhost:27017/admin`, `mongodb://u:p@host:27017/admin?authSource=admin`
                let t = target.trim_start_matches("mongodb://");
                let (creds, rest) = match t.rsplit_once('@') {
                    Some((c, r)) => (Some(c), r),
                    None => (None, t),
                };
                if let Some((u, p)) = creds.and_then(|c| c.split_once(':')) {
                    login.user = Some(u.to_string());
                    login.password = Some(p.to_string());
                }
                let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
                let db = if path.contains('/') {
                    path.rsplit('/').next().unwrap_or("")
                } else if path.contains(':') || path.contains('.') || path == "localhost" {
                    ""
                } else {
                    path
                };
                if !db.is_empty() {
                    login.db = db.to_string();
                }
                for kv in query.split('&') {
                    if let Some(a) = kv.strip_prefix("authSource=") {
                        login.auth_db = Some(a.to_string());
                    }
                }
            }
        }
    }
    Ok((login, script))
}

fn shell_cmd(c: &mut Cluster, ns: &str, pod: &str, words: &[String], in_sh: bool) -> KubectlResult {
    let Some(cmd) = words.first() else {
        return err("error: you must specify at least one command for the container");
    };
    let not_found = |bin: &str| {
        if in_sh {
            exit(format!("sh: 1: {bin}: not found"), 127)
        } else {
            exit(
                format!(
                    "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{bin}\": executable file not found in $PATH: unknown"
                ),
                126,
            )
        }
    };
    let Some(p) = c.namespace(ns).and_then(|n| n.pods.get(pod)).cloned() else {
        return err(&format!(
            "Error from server (NotFound): pods \"{pod}\" not found"
        ));
    };
    let spec = p.spec.containers.first().cloned();
    let bin = cmd.rsplit('/').next().unwrap_or(cmd);
    match bin {
        "mongo" | "mongosh" => {
            let (login, script) = match parse_mongo(words) {
                Ok(x) => x,
                Err(e) => return exit(e, 2),
            };
            match c.mongo_eval(ns, pod, &login, script.as_deref().unwrap_or("")) {
                Ok(s) => KubectlResult::ok(if script.is_none() {
                    format!("{s}bye\n")
                } else {
                    s
                }),
                Err(e) => KubectlResult {
                    stdout: e,
                    ok: false,
                },
            }
        }
        "sh" | "bash" | "ash" => {
            let Some(pos) = words.iter().position(|w| w == "-c") else {
                return KubectlResult::ok(String::new());
            };
            let script = words.get(pos + 1).cloned().unwrap_or_default();
            let mut out = String::new();
            for part in script
                .split(&[';', '\n'][..])
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                let part = part.trim_start_matches("&&").trim();
                let inner = match shell_words::split(part) {
                    Ok(w) => w,
                    Err(_) => {
                        return exit(
                            format!("{bin}: 1: Syntax error: Unterminated quoted string"),
                            2,
                        );
                    }
                };
                let r = shell_cmd(c, ns, pod, &inner, true);
                out.push_str(&r.stdout);
                if !r.ok {
                    return KubectlResult {
                        stdout: out,
                        ok: false,
                    };
                }
            }
            KubectlResult::ok(out)
        }
        "env" | "printenv" => {
            let mut vars = vec![
                (
                    "PATH".to_string(),
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
                ),
                ("HOSTNAME".to_string(), pod.to_string()),
            ];
            if let Some(s) = &spec {
                vars.extend(s.env.iter().map(|e| (e.name.clone(), e.value.clone())));
            }
            if let Some(n) = c.namespace(ns) {
                for s in n.services.values() {
                    let up = s.name.to_ascii_uppercase().replace('-', "_");
                    if let Some(port) = s.ports.first() {
                        vars.push((format!("{up}_SERVICE_HOST"), s.cluster_ip.clone()));
                        vars.push((format!("{up}_SERVICE_PORT"), port.port.to_string()));
                    }
                }
            }
            vars.push(("KUBERNETES_SERVICE_HOST".into(), "10.96.0.1".into()));
            vars.push(("KUBERNETES_SERVICE_PORT".into(), "443".into()));
            vars.push(("HOME".into(), "/root".into()));
            if bin == "printenv" && words.len() > 1 {
                let hits: Vec<String> = words[1..]
                    .iter()
                    .filter_map(|k| vars.iter().find(|v| &v.0 == k).map(|v| v.1.clone()))
                    .collect();
                if hits.is_empty() {
                    return exit(String::new(), 1);
                }
                return KubectlResult::ok(format!("{}\n", hits.join("\n")));
            }
            KubectlResult::ok(vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect())
        }
        "cat" | "ls" => {
            let Some(n) = c.namespace(ns) else {
                return err("error: namespace gone");
            };
            let mounts = spec.as_ref().map(|s| s.mounts.clone()).unwrap_or_default();
            let mut out = String::new();
            for path in words.iter().skip(1).filter(|w| !w.starts_with('-')) {
                let path = path.trim_end_matches('/');
                let mut found = false;
                for (vol, mpath) in &mounts {
                    let cm = p.spec.volumes.iter().find_map(|(v, s)| match s {
                        crate::cluster::VolumeSource::ConfigMap { name } if v == vol => {
                            n.config_maps.get(name)
                        }
                        _ => None,
                    });
                    let Some(cm) = cm else { continue };
                    if bin == "ls" && path == mpath.trim_end_matches('/') {
                        out.push_str(&cm.data.keys().map(|k| format!("{k}\n")).collect::<String>());
                        found = true;
                    } else if let Some(key) = path
                        .strip_prefix(mpath.trim_end_matches('/'))
                        .and_then(|k| k.strip_prefix('/'))
                        && let Some(v) = cm.data.get(key) {
                            if bin == "cat" {
                                out.push_str(v);
                            } else {
                                out.push_str(&format!("{path}\n"));
                            }
                            found = true;
                        }
                }
                if !found {
                    let msg = if bin == "cat" {
                        format!("cat: {path}: No such file or directory")
                    } else {
                        format!("ls: cannot access '{path}': No such file or directory")
                    };
                    return exit(format!("{out}{msg}"), if bin == "cat" { 1 } else { 2 });
                }
            }
            KubectlResult::ok(out)
        }
        "hostname" => KubectlResult::ok(format!("{pod}\n")),
        "whoami" => KubectlResult::ok("root\n".into()),
        "echo" => KubectlResult::ok(format!("{}\n", words[1..].join(" "))),
        "true" => KubectlResult::ok(String::new()),
        _ => not_found(bin),
    }
}

/// `kubectl exec [-it] POD [-c C] -- COMMAND...`.
pub fn exec(c: &mut Cluster, a: &Args, ns: &str) -> KubectlResult {
    let Some(target) = a.positional.get(1) else {
        return err("error: pod, type/name or --filename must be specified");
    };
    let mut words = a.rest.clone();
    if !a.dashdash {
        words = a.positional[2..].to_vec();
    }
    if words.is_empty() {
        return err("error: you must specify at least one command for the container");
    }
    let pod = match super::logs::resolve_pod(c, ns, target) {
        Ok(p) => p,
        Err(e) => return err(&e),
    };
    let Some(p) = c.namespace(ns).and_then(|n| n.pods.get(&pod)) else {
        return err(&format!(
            "Error from server (NotFound): pods \"{pod}\" not found"
        ));
    };
    let container = a.get("container").map(String::from).unwrap_or_else(|| {
        p.spec
            .containers
            .first()
            .map(|x| x.name.clone())
            .unwrap_or_default()
    });
    if !p.spec.containers.iter().any(|x| x.name == container) {
        return err(&format!(
            "error: unable to upgrade connection: container {container} not found in pod {pod}"
        ));
    }
    let running = p
        .containers
        .iter()
        .any(|x| x.name == container && matches!(x.state, ContainerState::Running { .. }));
    if !running || p.deleting {
        return err(&format!(
            "error: unable to upgrade connection: container not found (\"{container}\")"
        ));
    }
    // With -t and no terminal kubectl warns on stderr ("Unable to use a TTY"); only the
    // command's output is kept, as AIOpsLab's shell returns it.
    shell_cmd(c, ns, &pod, &words, false)
}
