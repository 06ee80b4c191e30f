//! The evaluator: AIOpsLab's submit semantics for the four task types, judged by intent.
//! Mitigation is judged from the twin's state after submit.

use crate::cluster::*;
use crate::suite::schema::{AppSpec, FaultSpec, MitigationCheck};
use crate::suite::Problem;
use aoi_core::{Submission, TaskType};
use serde::Serialize;

/// The verdict on one session's submission.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub success: bool,
    /// What was checked and what failed, for the transcript and the evolver.
    pub detail: String,
}

/// Judges a submission (None: the agent never submitted).
pub fn evaluate(
    cluster: &Cluster,
    app: &AppSpec,
    problem: &Problem,
    fault: Option<&FaultSpec>,
    submission: Option<&Submission>,
) -> Evaluation {
    let Some(sub) = submission else {
        return fail("no submission: the session ended without submit");
    };
    if sub.task_type() != problem.task_type {
        return fail(&format!(
            "submitted a {} answer to a {} task",
            sub.task_type(),
            problem.task_type
        ));
    }
    match (problem.task_type, sub) {
        (TaskType::Detection, Submission::Detection { anomaly }) => {
            let expected = problem.fault.is_some();
            verdict(
                *anomaly == expected,
                format!("detection: expected {}, got {}", yes_no(expected), yes_no(*anomaly)),
            )
        }
        (TaskType::Localization, Submission::Localization { services }) => {
            let expected = &problem.expected_services;
            let norm = |s: &str| s.trim().to_ascii_lowercase();
            let matches_expected = |got: &str, want: &str| {
                let (g, w) = (norm(got), norm(want));
                g == w || w.strip_prefix("mongodb-").is_some_and(|short| g == short)
            };
            let all_found = expected.iter().all(|w| services.iter().any(|g| matches_expected(g, w)));
            let no_extra = services.iter().all(|g| expected.iter().any(|w| matches_expected(g, w)));
            verdict(
                all_found && no_extra && services.is_empty() == expected.is_empty(),
                format!("localization: expected {expected:?}, got {services:?}"),
            )
        }
        (TaskType::Analysis, Submission::Analysis { system_level, fault_type }) => match problem.analysis {
            Some(a) => verdict(
                a.system_level == *system_level && a.fault_type == *fault_type,
                format!(
                    "analysis: expected {} / {}, got {} / {}",
                    a.system_level.as_str(),
                    a.fault_type.as_str(),
                    system_level.as_str(),
                    fault_type.as_str()
                ),
            ),
            None => fail("analysis: the problem has no analysis answer"),
        },
        (TaskType::Mitigation, Submission::Mitigation) => {
            let checks: Vec<MitigationCheck> = match fault {
                Some(f) if !f.mitigation.is_empty() => f.mitigation.clone(),
                _ => vec![MitigationCheck::AllPodsHealthy],
            };
            let mut failed = Vec::new();
            for check in &checks {
                if let Err(why) = run_check(cluster, app, &problem.targets, check) {
                    failed.push(why);
                }
            }
            if failed.is_empty() {
                verdict(true, format!("mitigation: {} checks passed", checks.len()))
            } else {
                verdict(false, format!("mitigation: {}", failed.join("; ")))
            }
        }
        _ => fail("submission does not match the task type"),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

fn verdict(success: bool, detail: String) -> Evaluation {
    Evaluation { success, detail }
}

fn fail(detail: &str) -> Evaluation {
    Evaluation {
        success: false,
        detail: detail.to_string(),
    }
}

/// Whether a pod is healthy in AIOpsLab's sense.
pub fn pod_healthy(pod: &Pod) -> bool {
    pod.phase == PodPhase::Running
        && pod.node.is_some()
        && pod.containers.iter().all(|c| {
            c.ready
                && match &c.state {
                    ContainerState::Running { .. } => true,
                    ContainerState::Terminated { reason, .. } => reason == "Completed",
                    ContainerState::Waiting { .. } => false,
                }
        })
}

fn run_check(cluster: &Cluster, app: &AppSpec, targets: &[String], check: &MitigationCheck) -> Result<(), String> {
    let ns = cluster
        .namespace(&app.namespace)
        .ok_or_else(|| format!("namespace {} is gone", app.namespace))?;
    let spec = |t: &str| app.services.iter().find(|s| s.name.get_ref() == t);
    match check {
        MitigationCheck::AllPodsHealthy => {
            let bad: Vec<&str> = ns.pods.values().filter(|p| !pod_healthy(p)).map(|p| p.name.as_str()).collect();
            let missing: Vec<&str> = ns
                .deployments
                .values()
                .filter(|d| {
                    let ready = ns.pods.values().filter(|p| p.deployment == d.name && pod_healthy(p)).count() as u32;
                    d.replicas > 0 && ready < d.replicas.min(1)
                })
                .map(|d| d.name.as_str())
                .collect();
            if bad.is_empty() && missing.is_empty() {
                Ok(())
            } else {
                Err(format!("unhealthy pods {bad:?}, deployments without a ready pod {missing:?}"))
            }
        }
        MitigationCheck::TargetPortRestored => each(targets, |t| {
            let want = spec(t).map(|s| s.target_port()).ok_or_else(|| "no spec".to_string())?;
            let got = ns.services.get(t).and_then(|s| s.ports.first()).map(|p| p.target_port);
            if got == Some(want) { Ok(()) } else { Err(format!("{t}: targetPort {got:?}, want {want}")) }
        }),
        MitigationCheck::ReplicasRestored => each(targets, |t| {
            let want = spec(t).map(|s| s.replicas).ok_or_else(|| "no spec".to_string())?;
            let d = ns.deployments.get(t).ok_or(format!("{t}: deployment missing"))?;
            let ready = ns.pods.values().filter(|p| p.deployment == t && pod_healthy(p)).count() as u32;
            if d.replicas >= want && ready >= want {
                Ok(())
            } else {
                Err(format!("{t}: {ready}/{} ready, want {want}", d.replicas))
            }
        }),
        MitigationCheck::Scheduled => each(targets, |t| {
            let pods: Vec<&Pod> = ns.pods.values().filter(|p| p.deployment == t).collect();
            if !pods.is_empty() && pods.iter().all(|p| p.node.as_deref().is_some_and(|n| cluster.node(n).is_some())) {
                Ok(())
            } else {
                Err(format!("{t}: pods not scheduled"))
            }
        }),
        MitigationCheck::CommandRestored => each(targets, |t| {
            let want = &spec(t).ok_or_else(|| "no spec".to_string())?.command;
            let got = ns.deployments.get(t).and_then(|d| d.template.containers.first()).map(|c| &c.command);
            if got == Some(want) { Ok(()) } else { Err(format!("{t}: command {got:?}, want {want:?}")) }
        }),
        MitigationCheck::ImageRestored => each(targets, |t| {
            let want = &spec(t).ok_or_else(|| "no spec".to_string())?.image;
            let got = ns.deployments.get(t).and_then(|d| d.template.containers.first()).map(|c| c.image.clone());
            let good = got.as_ref().is_some_and(|g| g == want || cluster.images.get(g).is_some_and(|d| d.is_none()));
            if good { Ok(()) } else { Err(format!("{t}: image {got:?}, want {want}")) }
        }),
        MitigationCheck::DatabaseRestored => each(targets, |t| {
            let s = spec(t).ok_or_else(|| "no spec".to_string())?;
            let Some(want) = &s.database else { return Ok(()) };
            let db = ns.databases.get(t).ok_or(format!("{t}: database state missing"))?;
            for u in &want.users {
                let have = db.users.get(&u.user).ok_or(format!("{t}: user {} missing", u.user))?;
                if let Some(r) = u.roles.iter().find(|r| !have.roles.contains(*r)) {
                    return Err(format!("{t}: user {} lacks role {r}", u.user));
                }
            }
            let tls = ns
                .deployments
                .get(t)
                .and_then(|d| d.template.containers.first())
                .is_some_and(|c| c.args.iter().any(|a| a.contains("requireTLS")));
            if tls && !want.require_tls {
                return Err(format!("{t}: still requires TLS"));
            }
            Ok(())
        }),
        MitigationCheck::VolumesBound => {
            let pending: Vec<&str> = ns
                .pvcs
                .values()
                .filter(|c| c.phase != ClaimPhase::Bound)
                .map(|c| c.name.as_str())
                .collect();
            if pending.is_empty() { Ok(()) } else { Err(format!("claims not bound: {pending:?}")) }
        }
    }
}

fn each(targets: &[String], f: impl Fn(&str) -> Result<(), String>) -> Result<(), String> {
    for t in targets {
        f(t)?;
    }
    Ok(())
}
