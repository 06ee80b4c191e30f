//! Container logs: `kubectl logs` ([`pod_logs`]) and AIOpsLab's get_logs ([`service_logs`]).
//!
//! A container's output is rendered for one run (the window between its start and its end or
//! `now`) by the renderer of the program it runs: start-up lines, steady-state lines (requests,
//! failures of the calls it makes, effects' log lines, benign noise) and, for a run that ended
//! in a crash, the fatal lines of its cause. Output is the tail, bounded to [`MAX_LINES`]
//! entries.

mod astronomy;
mod cpp;
mod go;
mod infra;
mod mongo;
mod run;

#[cfg(test)]
mod tests;

pub(crate) use run::{Out, Run};

use crate::cluster::{Cluster, ContainerState, Namespace, Pod};
use crate::suite::schema::Runtime;
use crate::telemetry::{pods_of, service_of_pod, spec_of};

/// At most this many log entries a call returns (the newest).
pub const MAX_LINES: usize = 60;

/// `kubectl logs <pod> [-c container] [--previous] -n <ns>`.
pub fn pod_logs(
    cluster: &Cluster,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    previous: bool,
) -> Result<String, String> {
    let not_found = || format!("Error from server (NotFound): pods \"{pod}\" not found");
    let namespace = cluster.namespace(ns).ok_or_else(not_found)?;
    let p = namespace.pods.get(pod).ok_or_else(not_found)?;
    let entries = render_pod(cluster, namespace, p, container, previous)?;
    Ok(join(entries.into_iter().map(|l| l.text), MAX_LINES))
}

/// AIOpsLab's get_logs: the first pod of the service, its main container's latest run (for a
/// crash-looping container, the run that just ended), de-duplicated.
pub fn service_logs(cluster: &Cluster, ns: &str, service: &str) -> Result<String, String> {
    let missing =
        || "Error: Your service/namespace does not exist. Use kubectl to check.".to_string();
    let namespace = cluster.namespace(ns).ok_or_else(missing)?;
    spec_of(&namespace.app, service).ok_or_else(missing)?;
    let pods = pods_of(namespace, service);
    let pod = pods.first().ok_or_else(missing)?;
    let entries = render_pod(cluster, namespace, pod, None, false)?;
    let mut seen = std::collections::BTreeSet::new();
    let unique = entries
        .into_iter()
        .filter(|l| seen.insert(l.key.clone()))
        .map(|l| l.text);
    Ok(join(unique, MAX_LINES))
}

fn join(lines: impl Iterator<Item = String>, max: usize) -> String {
    let all: Vec<String> = lines.collect();
    let skip = all.len().saturating_sub(max);
    let mut out = all[skip..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Renders one container run of a pod, oldest entry first.
pub(crate) fn render_pod(
    cluster: &Cluster,
    ns: &Namespace,
    pod: &Pod,
    container: Option<&str>,
    previous: bool,
) -> Result<Vec<run::Line>, String> {
    let spec_names: Vec<&str> = pod
        .spec
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let name = match container {
        Some(c) => {
            if !spec_names.contains(&c) && !pod.containers.iter().any(|s| s.name == c) {
                return Err(format!(
                    "Error from server (BadRequest): container {c} is not valid for pod {}",
                    pod.name
                ));
            }
            c.to_string()
        }
        None => spec_names
            .first()
            .map(|s| s.to_string())
            .or_else(|| pod.containers.first().map(|c| c.name.clone()))
            .unwrap_or_default(),
    };
    let waiting = |reason: &str| {
        let why = match reason {
            "ImagePullBackOff" | "ErrImagePull" => "trying and failing to pull image",
            other => other,
        };
        format!(
            "Error from server (BadRequest): container \"{name}\" in pod \"{}\" is waiting to start: {why}",
            pod.name
        )
    };
    let Some(status) = pod.containers.iter().find(|c| c.name == name) else {
        if previous {
            return Err(prev_missing(&name, &pod.name));
        }
        return Err(waiting("ContainerCreating"));
    };
    let (start, end, ended) = if previous {
        match &status.last_state {
            Some(ContainerState::Terminated {
                reason,
                exit_code,
                started_at,
                finished_at,
            }) => (
                *started_at,
                *finished_at,
                Some((reason.clone(), *exit_code)),
            ),
            _ => return Err(prev_missing(&name, &pod.name)),
        }
    } else {
        match (&status.state, &status.last_state) {
            (ContainerState::Running { started_at }, _) => (*started_at, cluster.now, None),
            (
                ContainerState::Terminated {
                    reason,
                    exit_code,
                    started_at,
                    finished_at,
                },
                _,
            )
            | (
                ContainerState::Waiting { .. },
                Some(ContainerState::Terminated {
                    reason,
                    exit_code,
                    started_at,
                    finished_at,
                }),
            ) => (
                *started_at,
                *finished_at,
                Some((reason.clone(), *exit_code)),
            ),
            (ContainerState::Waiting { reason, .. }, _) => return Err(waiting(reason)),
        }
    };
    let Some(spec) = service_of_pod(ns, pod) else {
        return Ok(Vec::new());
    };
    let run = Run::new(cluster, ns, pod, spec, &name, start, end.max(start), ended);
    Ok(render(&run))
}

fn prev_missing(container: &str, pod: &str) -> String {
    format!(
        "Error from server (BadRequest): previous terminated container \"{container}\" in pod \"{pod}\" not found"
    )
}

/// Dispatches on the runtime of the program the container runs.
pub(crate) fn render(run: &Run) -> Vec<run::Line> {
    let mut out = Out::default();
    if run.never_started() {
        return out.finish();
    }
    match run.prog.runtime {
        Runtime::GoZerolog | Runtime::GoZerologHttp => go::render(run, &mut out),
        Runtime::CppThrift => cpp::render_service(run, &mut out),
        Runtime::Nginx => cpp::render_nginx(run, &mut out),
        Runtime::Mongodb => mongo::render(run, &mut out),
        Runtime::Redis
        | Runtime::Valkey
        | Runtime::Memcached
        | Runtime::Jaeger
        | Runtime::Consul
        | Runtime::Kafka => infra::render(run, &mut out),
        Runtime::Java
        | Runtime::Dotnet
        | Runtime::Node
        | Runtime::GoLogrus
        | Runtime::Python
        | Runtime::Rust
        | Runtime::Cpp
        | Runtime::Ruby
        | Runtime::Php
        | Runtime::Kotlin
        | Runtime::Nextjs
        | Runtime::Envoy
        | Runtime::Locust
        | Runtime::Flagd => astronomy::render(run, &mut out),
    }
    out.finish()
}
