//! Mitigation: the write commands that undo each fault class, in the order they should run.

use super::diagnose::{Fault, clients_of};
use super::findings::Findings;

fn pod_of<'a>(f: &'a Findings, owner: &'a str) -> Option<&'a str> {
    let mut pods: Vec<&super::findings::PodFact> = f.pods_of(owner).collect();
    pods.sort_by_key(|p| !p.healthy());
    pods.first().map(|p| p.name.as_str())
}

fn restart(ns: &str, deploy: &str) -> String {
    format!("kubectl rollout restart deployment/{deploy} -n {ns}")
}

fn mongo_exec(f: &Findings, ns: &str, db: &str, eval: &str) -> Option<String> {
    let pod = pod_of(f, db)?;
    Some(format!(
        "kubectl exec {pod} -n {ns} -- mongo admin -u root -p root --authenticationDatabase admin --eval \"{eval}\""
    ))
}

/// The write commands for a fault, first to last. Empty when nothing is known to fix.
pub fn plan(f: &Findings, ns: &str, fault: &Fault) -> Vec<String> {
    let mut cmds = Vec::new();
    match fault {
        Fault::TargetPort { svc, port } => cmds.push(format!(
            "kubectl patch svc {svc} -n {ns} --type=json -p '[{{\"op\":\"replace\",\"path\":\"/spec/ports/0/targetPort\",\"value\":{port}}}]'"
        )),
        Fault::ScaledToZero { deploy } => {
            cmds.push(format!("kubectl scale deployment {deploy} -n {ns} --replicas=1"))
        }
        Fault::NodeSelector { deploy } => {
            cmds.push(format!(
                "kubectl patch deployment {deploy} -n {ns} --type=json -p '[{{\"op\":\"remove\",\"path\":\"/spec/template/spec/nodeSelector\"}}]'"
            ));
            for p in f.pods_of(deploy).filter(|p| p.pending()) {
                cmds.push(format!("kubectl delete pod {} -n {ns}", p.name));
            }
        }
        Fault::UnboundPv { released, .. } => {
            for pv in released {
                cmds.push(format!(
                    "kubectl patch pv {pv} --type=json -p '[{{\"op\":\"remove\",\"path\":\"/spec/claimRef\"}}]'"
                ));
            }
            for p in f.pods.iter().filter(|p| p.pending()) {
                cmds.push(format!("kubectl delete pod {} -n {ns}", p.name));
            }
        }
        Fault::BuggyImage { deploy, container, image } => {
            if container.is_empty() {
                cmds.push(format!("kubectl rollout undo deployment/{deploy} -n {ns}"));
            } else {
                cmds.push(format!("kubectl set image deployment/{deploy} {container}={image} -n {ns}"));
            }
        }
        Fault::WrongBinary { deploy, .. } => cmds.push(format!(
            "kubectl patch deployment {deploy} -n {ns} --type=json -p '[{{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/command\",\"value\":[\"{deploy}\"]}}]'"
        )),
        Fault::MongoRoleRevoked { db, client, db_name } => {
            let eval = format!(
                "db.grantRolesToUser('admin', [{{role: 'readWrite', db: '{db_name}'}}])"
            );
            cmds.extend(mongo_exec(f, ns, db, &eval));
            if !client.is_empty() {
                cmds.push(restart(ns, client));
            }
        }
        Fault::MongoUserDropped { db, client, db_name, user } => {
            let eval = format!(
                "db.createUser({{user: '{user}', pwd: '{user}', roles: [{{role: 'readWrite', db: '{db_name}'}}, {{role: 'userAdminAnyDatabase', db: 'admin'}}]}})"
            );
            cmds.extend(mongo_exec(f, ns, db, &eval));
            if !client.is_empty() {
                cmds.push(restart(ns, client));
            }
        }
        Fault::MongoTls { db, clients } => {
            let args = f
                .described
                .get(db)
                .and_then(|d| d.containers.first())
                .map(|c| c.args.clone())
                .unwrap_or_default();
            let kept: Vec<String> = strip_tls_args(&args);
            if !args.is_empty() && kept.len() < args.len() {
                let list: Vec<String> = kept.iter().map(|a| format!("\"{a}\"")).collect();
                cmds.push(format!(
                    "kubectl patch deployment {db} -n {ns} --type=json -p '[{{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/args\",\"value\":[{}]}}]'",
                    list.join(",")
                ));
            } else {
                cmds.push(format!("kubectl rollout undo deployment/{db} -n {ns}"));
            }
            let clients = if clients.is_empty() { clients_of(f, db) } else { clients.clone() };
            for c in clients {
                cmds.push(restart(ns, &c));
            }
        }
        Fault::CrashLoop { deploy } | Fault::PodFailure { deploy } | Fault::ContainerKill { deploy } => {
            cmds.push(restart(ns, deploy))
        }
        Fault::Errors { svc } | Fault::Latency { svc } | Fault::Resource { svc } => {
            if f.deployments.contains_key(svc) {
                cmds.push(restart(ns, svc));
            }
        }
        Fault::None => {}
    }
    cmds
}

/// Args without the TLS options (`--tlsMode requireTLS`, `--tlsCertificateKeyFile x`, ...).
pub fn strip_tls_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_value = false;
    for a in args {
        if skip_value {
            skip_value = false;
            if !a.starts_with("--") {
                continue;
            }
        }
        let low = a.to_ascii_lowercase();
        if low.starts_with("--tls") || low.starts_with("--ssl") {
            skip_value = !a.contains('=');
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// Pods that still crash after the fix: delete them so they start fresh.
pub fn cleanup(f: &Findings, ns: &str) -> Vec<String> {
    f.pods
        .iter()
        .filter(|p| p.crashing() || p.status == "Error")
        .map(|p| format!("kubectl delete pod {} -n {ns}", p.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_args_are_stripped() {
        let args: Vec<String> = [
            "--config",
            "/etc/mongod.conf",
            "--tlsMode",
            "requireTLS",
            "--tlsCertificateKeyFile=/etc/tls/tls.pem",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(strip_tls_args(&args), vec!["--config", "/etc/mongod.conf"]);
    }
}
