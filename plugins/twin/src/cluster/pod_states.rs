//! Container states, restart counts and kubelet events for every pod, from its blocker or its
//! service's crash cause, kept consistent over simulated time.

use super::reconcile::{crash_loop, crash_timing, Blocker};
use super::*;

/// What a pod is going through, as a stable key and its crash behaviour.
enum Trouble {
    None,
    Pending { event: Option<(String, String)> },
    ImagePull { image: String },
    Creating,
    Crash { cause: CrashCause },
    ChaosFailure,
    NotReady { message: String },
}

impl Trouble {
    fn key(&self) -> String {
        match self {
            Trouble::None => String::new(),
            Trouble::Pending { event } => format!("pending:{}", event.as_ref().map(|e| e.0.as_str()).unwrap_or("")),
            Trouble::ImagePull { image } => format!("pull:{image}"),
            Trouble::Creating => "creating".to_string(),
            Trouble::Crash { cause } => format!("crash:{cause:?}"),
            Trouble::ChaosFailure => "chaos".to_string(),
            Trouble::NotReady { .. } => "notready".to_string(),
        }
    }
}

impl Cluster {
    pub(crate) fn apply_container_states(&mut self, ns_name: &str, health: &Health) {
        let Some(ns) = self.namespaces.get(ns_name) else { return };
        let mut troubles: Vec<(String, Trouble)> = Vec::new();
        for pod in ns.pods.values() {
            let service_crash = health.services.get(&pod.deployment).and_then(|h| match &h.process {
                ProcessState::Crashing { cause, .. } => Some(cause.clone()),
                _ => None,
            });
            let t = match self.blocker(ns, pod) {
                Some(Blocker::Unschedulable { message }) => Trouble::Pending {
                    event: Some(("FailedScheduling".to_string(), message)),
                },
                Some(Blocker::UnboundClaim) => Trouble::Pending {
                    event: Some((
                        "FailedScheduling".to_string(),
                        format!(
                            "0/{n} nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.",
                            n = self.nodes.len()
                        ),
                    )),
                },
                Some(Blocker::ImagePull { image }) => Trouble::ImagePull { image },
                Some(Blocker::Creating { .. }) => Trouble::Creating,
                Some(Blocker::ChaosPodFailure { .. }) => Trouble::ChaosFailure,
                Some(Blocker::ExecNotFound { binary }) => Trouble::Crash {
                    cause: CrashCause::ExecNotFound { binary },
                },
                Some(Blocker::MissingEnv { name }) => Trouble::Crash {
                    cause: CrashCause::MissingEnv { name },
                },
                Some(Blocker::Liveness { message, .. }) => Trouble::Crash {
                    cause: CrashCause::LivenessFailed { message },
                },
                Some(Blocker::Readiness { message }) => Trouble::NotReady { message },
                Some(Blocker::Oom { limit, .. }) => Trouble::Crash {
                    cause: CrashCause::OutOfMemory { limit },
                },
                None => match service_crash {
                    Some(cause) => Trouble::Crash { cause },
                    None => Trouble::None,
                },
            };
            troubles.push((pod.name.clone(), t));
        }
        for (pod_name, trouble) in troubles {
            self.set_pod_state(ns_name, &pod_name, trouble);
        }
    }

    fn set_pod_state(&mut self, ns_name: &str, pod_name: &str, trouble: Trouble) {
        let now = self.now;
        let Some(pod) = self.namespaces.get(ns_name).and_then(|ns| ns.pods.get(pod_name)).cloned() else {
            return;
        };
        let mut pod = pod;
        let key = trouble.key();
        // Track transitions so restarts accumulate and recoveries wait out the back-off.
        let old = pod.runtime.trouble.clone();
        let mut recovering_until: Option<f64> = None;
        match &old {
            Some((old_key, _)) if old_key.starts_with("recovering@") => {
                let until: f64 = old_key["recovering@".len()..].parse().unwrap_or(now);
                if key.is_empty() {
                    if now < until {
                        recovering_until = Some(until);
                    } else {
                        pod.runtime.trouble = None;
                        pod.runtime.base_restarts += 1;
                        pod.runtime.started_at = until;
                        pod.containers.iter_mut().for_each(|c| c.last_restart_at = Some(until));
                    }
                } else {
                    pod.runtime.trouble = Some((key.clone(), now));
                }
            }
            Some((old_key, since)) if *old_key != key => {
                let was_crash = old_key.starts_with("crash:");
                if was_crash {
                    let run = old_crash_run(old_key);
                    let st = crash_loop(now - since, run);
                    pod.runtime.base_restarts += st.restarts;
                    if key.is_empty() {
                        if st.running_since.is_none() {
                            // Waiting in back-off: the healthy run begins when it ends.
                            let until = now + remaining_backoff(now - since, run);
                            pod.runtime.trouble = Some((format!("recovering@{until}"), now));
                            recovering_until = Some(until);
                        } else {
                            pod.runtime.trouble = None;
                            pod.runtime.started_at = since + st.running_since.unwrap_or(0.0);
                        }
                    } else {
                        pod.runtime.trouble = Some((key.clone(), now));
                    }
                } else if key.is_empty() {
                    pod.runtime.trouble = None;
                    pod.runtime.started_at = pod.runtime.started_at.max(now);
                    if old_key == "chaos" {
                        pod.runtime.base_restarts += 1;
                    }
                } else {
                    pod.runtime.trouble = Some((key.clone(), now));
                }
            }
            Some(_) => {}
            None => {
                if !key.is_empty() {
                    let since = if now - pod.created_at < 1.0 { pod.created_at } else { now };
                    pod.runtime.trouble = Some((key.clone(), since));
                }
            }
        }
        let since = pod.runtime.trouble.as_ref().map(|t| t.1).unwrap_or(pod.created_at);
        let object = format!("pod/{}", pod.name);
        let mut events: Vec<(String, String, String, String, f64, u32)> = Vec::new();
        let node_started = pod.created_at + 2.0;
        let restart_base = pod.runtime.base_restarts;
        for (i, status) in pod.containers.iter_mut().enumerate() {
            let spec = pod.spec.containers.get(i).cloned();
            let image = spec.as_ref().map(|c| c.image.clone()).unwrap_or_default();
            status.image = image.clone();
            if status.container_id.is_empty() {
                status.container_id = format!("containerd://{:064x}", hash_str(&format!("{}{}", pod.uid, i)));
                status.image_id = format!("docker.io/{image}@sha256:{:064x}", hash_str(&image));
            }
            status.restart_count = restart_base;
            if recovering_until.is_some() {
                status.state = ContainerState::Waiting {
                    reason: "CrashLoopBackOff".to_string(),
                    message: format!("back-off restarting failed container={} pod={}", status.name, pod.name),
                };
                status.ready = false;
                continue;
            }
            match &trouble {
                Trouble::None => {
                    status.state = ContainerState::Running {
                        started_at: pod.runtime.started_at.min(now).max(node_started.min(now)),
                    };
                    status.ready = now >= pod.runtime.started_at;
                }
                Trouble::Pending { event } => {
                    status.state = ContainerState::Waiting {
                        reason: String::new(),
                        message: String::new(),
                    };
                    status.ready = false;
                    if let Some((reason, msg)) = event {
                        let count = 1 + ((now - since) / 300.0) as u32;
                        events.push(("Warning".into(), reason.clone(), msg.clone(), "default-scheduler".into(), since, count));
                    }
                }
                Trouble::ImagePull { image } => {
                    let cycle = ((now - since) / 20.0) as u32;
                    let reason = if cycle.is_multiple_of(2) { "ErrImagePull" } else { "ImagePullBackOff" };
                    status.state = ContainerState::Waiting {
                        reason: reason.to_string(),
                        message: format!("Back-off pulling image \"{image}\""),
                    };
                    status.ready = false;
                    let repo = image.rsplit_once(':').map_or(image.as_str(), |(r, _)| r);
                    let full = if repo.contains('/') && repo.split('/').next().is_some_and(|h| h.contains('.')) {
                        image.clone()
                    } else if repo.contains('/') {
                        format!("docker.io/{image}")
                    } else {
                        format!("docker.io/library/{image}")
                    };
                    let n = 1 + cycle / 2;
                    events.push(("Normal".into(), "Pulling".into(), format!("Pulling image \"{image}\""), "kubelet".into(), since, n));
                    events.push((
                        "Warning".into(),
                        "Failed".into(),
                        format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": {full}: not found"),
                        "kubelet".into(),
                        since,
                        n,
                    ));
                    events.push(("Warning".into(), "Failed".into(), "Error: ErrImagePull".into(), "kubelet".into(), since, n));
                    events.push(("Normal".into(), "BackOff".into(), format!("Back-off pulling image \"{image}\""), "kubelet".into(), since + 5.0, n));
                    events.push(("Warning".into(), "Failed".into(), "Error: ImagePullBackOff".into(), "kubelet".into(), since + 5.0, n));
                }
                Trouble::Creating => {
                    status.state = ContainerState::Waiting {
                        reason: "ContainerCreating".to_string(),
                        message: String::new(),
                    };
                    status.ready = false;
                }
                Trouble::ChaosFailure => {
                    status.image = "gcr.io/google-containers/pause:latest".to_string();
                    status.state = ContainerState::Running { started_at: since + 1.0 };
                    status.ready = false;
                    status.restart_count = restart_base + 1;
                    status.last_restart_at = Some(since + 1.0);
                    status.last_state = Some(ContainerState::Terminated {
                        reason: "Error".to_string(),
                        exit_code: 2,
                        started_at: pod.runtime.started_at.min(since),
                        finished_at: since,
                    });
                    events.push((
                        "Normal".into(),
                        "Killing".into(),
                        format!("Container {} definition changed, will be restarted", status.name),
                        "kubelet".into(),
                        since,
                        1,
                    ));
                }
                Trouble::NotReady { message } => {
                    status.state = ContainerState::Running {
                        started_at: pod.runtime.started_at.min(now),
                    };
                    status.ready = false;
                    let count = 1 + ((now - since) / 10.0) as u32;
                    events.push(("Warning".into(), "Unhealthy".into(), message.clone(), "kubelet".into(), since + 5.0, count));
                }
                Trouble::Crash { cause } => {
                    let (run, code, reason) = crash_timing(cause);
                    let st = crash_loop(now - since, run);
                    status.restart_count = restart_base + st.restarts;
                    if let Some((s, f)) = st.last_run {
                        status.last_state = Some(ContainerState::Terminated {
                            reason: reason.to_string(),
                            exit_code: code,
                            started_at: since + s,
                            finished_at: since + f,
                        });
                    }
                    if st.restarts > 0 {
                        status.last_restart_at = Some(since + st.running_since.unwrap_or_else(|| st.last_run.map(|r| r.0).unwrap_or(0.0)));
                    }
                    status.ready = false;
                    status.state = match st.running_since {
                        Some(s) if run > 0.0 => ContainerState::Running { started_at: since + s },
                        _ => {
                            let just_exited = st.last_run.is_some_and(|(_, f)| now - (since + f) < 2.0);
                            if just_exited {
                                ContainerState::Terminated {
                                    reason: reason.to_string(),
                                    exit_code: code,
                                    started_at: since + st.last_run.map(|r| r.0).unwrap_or(0.0),
                                    finished_at: since + st.last_run.map(|r| r.1).unwrap_or(0.0),
                                }
                            } else {
                                ContainerState::Waiting {
                                    reason: "CrashLoopBackOff".to_string(),
                                    message: format!(
                                        "back-off {}s restarting failed container={} pod={}_{}({})",
                                        st.backoff as u64, status.name, pod.name, ns_name, pod.uid
                                    ),
                                }
                            }
                        }
                    };
                    let runs = st.restarts + 1;
                    events.push(("Normal".into(), "Pulled".into(), format!("Container image \"{image}\" already present on machine"), "kubelet".into(), since, runs));
                    events.push(("Normal".into(), "Created".into(), format!("Created container: {}", status.name), "kubelet".into(), since, runs));
                    if let CrashCause::ExecNotFound { binary } = cause {
                        events.push((
                            "Warning".into(),
                            "Failed".into(),
                            format!("Error: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: exec: \"{binary}\": executable file not found in $PATH: unknown"),
                            "kubelet".into(),
                            since,
                            runs,
                        ));
                    } else {
                        events.push(("Normal".into(), "Started".into(), format!("Started container {}", status.name), "kubelet".into(), since, runs));
                    }
                    if let CrashCause::LivenessFailed { message } = cause {
                        events.push(("Warning".into(), "Unhealthy".into(), message.clone(), "kubelet".into(), since + 5.0, 3 * runs));
                        events.push((
                            "Normal".into(),
                            "Killing".into(),
                            format!("Container {} failed liveness probe, will be restarted", status.name),
                            "kubelet".into(),
                            since + run,
                            st.exits.max(1),
                        ));
                    }
                    if st.exits > 0 {
                        events.push((
                            "Warning".into(),
                            "BackOff".into(),
                            format!("Back-off restarting failed container {} in pod {}_{}({})", status.name, pod.name, ns_name, pod.uid),
                            "kubelet".into(),
                            since + run,
                            st.exits,
                        ));
                    }
                }
            }
        }
        pod.phase = match &trouble {
            _ if recovering_until.is_some() => PodPhase::Running,
            Trouble::Pending { .. } | Trouble::ImagePull { .. } | Trouble::Creating => PodPhase::Pending,
            _ => PodPhase::Running,
        };
        if pod.node.is_some() && matches!(trouble, Trouble::None) && now >= pod.created_at {
            events.push(("Normal".into(), "Pulled".into(), format!("Container image \"{}\" already present on machine", pod.spec.containers.first().map(|c| c.image.as_str()).unwrap_or("")), "kubelet".into(), pod.created_at + 1.0, 1));
            events.push(("Normal".into(), "Created".into(), format!("Created container: {}", pod.containers.first().map(|c| c.name.as_str()).unwrap_or("")), "kubelet".into(), pod.created_at + 1.0, 1));
            events.push(("Normal".into(), "Started".into(), format!("Started container {}", pod.containers.first().map(|c| c.name.as_str()).unwrap_or("")), "kubelet".into(), pod.created_at + 2.0, 1));
        }
        if let Some(ns) = self.namespaces.get_mut(ns_name) {
            ns.pods.insert(pod.name.clone(), pod);
        }
        for (etype, reason, message, source, first, count) in events {
            self.put_event(ns_name, &etype, &reason, &object, &message, &source, first, count);
        }
    }

    /// Upserts an event with an absolute count (kubelet aggregates repeats).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn put_event(
        &mut self,
        namespace: &str,
        event_type: &str,
        reason: &str,
        object: &str,
        message: &str,
        source: &str,
        first_seen: SimTime,
        count: u32,
    ) {
        let now = self.now;
        if let Some(e) = self
            .events
            .iter_mut()
            .find(|e| e.namespace == namespace && e.object == object && e.reason == reason && e.message == message)
        {
            if count > e.count {
                e.count = count;
                e.last_seen = now;
            }
            return;
        }
        let first = first_seen.min(now);
        self.events.push(Event {
            namespace: namespace.to_string(),
            event_type: event_type.to_string(),
            reason: reason.to_string(),
            object: object.to_string(),
            message: message.to_string(),
            source: source.to_string(),
            first_seen: first,
            last_seen: if count > 1 { now } else { first },
            count,
        });
    }
}

fn old_crash_run(key: &str) -> f64 {
    // The key embeds the cause's Debug form; recover the run time from it.
    let k = key.trim_start_matches("crash:");
    if k.starts_with("ExecNotFound") {
        0.0
    } else if k.starts_with("MissingEnv") {
        0.1
    } else if k.starts_with("Panic") {
        0.3
    } else if k.starts_with("OutOfMemory") {
        60.0
    } else if k.starts_with("LivenessFailed") {
        35.0
    } else if k.contains("AuthFailed") {
        0.6
    } else if k.contains("NotAuthorized") {
        1.2
    } else {
        10.5
    }
}

fn remaining_backoff(elapsed: f64, run: f64) -> f64 {
    // Walk the loop to find when the current back-off ends.
    let mut t = 0.0;
    let mut exits = 0u32;
    let mut backoff = 10.0_f64;
    loop {
        if elapsed < t + run {
            return 0.0;
        }
        exits += 1;
        let wait = if exits == 1 { 10.0 } else { (backoff * 2.0).min(300.0) };
        backoff = wait;
        if elapsed < t + run + wait {
            return t + run + wait - elapsed;
        }
        t += run + wait;
        if exits > 10_000 {
            return 0.0;
        }
    }
}

/// A stable 64-bit hash for ids (FNV-1a).
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
