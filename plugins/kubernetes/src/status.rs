//! The STATUS a pod shows in `kubectl get pods`, computed as kubectl does.

use k8s_openapi::api::core::v1::Pod;

/// The STATUS column of `kubectl get pods`: the reason a container waits or failed, else the
/// phase (e.g. `CrashLoopBackOff`, `Init:Error`, `Terminating`, `Running`).
pub fn pod_status(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let mut reason = status
        .and_then(|s| s.reason.clone().or_else(|| s.phase.clone()))
        .unwrap_or_else(|| "Unknown".into());
    let inits = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or(&[]);
    let mut initializing = false;
    for (i, c) in inits.iter().enumerate() {
        let state = c.state.as_ref();
        if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            if t.exit_code == 0 {
                continue;
            }
            reason = match &t.reason {
                Some(r) => format!("Init:{r}"),
                None => format!("Init:ExitCode:{}", t.exit_code),
            };
        } else if let Some(r) = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_ref())
            .filter(|r| r.as_str() != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{}", inits.len());
        }
        initializing = true;
        break;
    }
    if !initializing {
        let mut has_running = false;
        let containers = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        for c in containers.iter().rev() {
            let state = c.state.as_ref();
            if let Some(r) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_ref())
            {
                reason = r.clone();
            } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                reason = t.reason.clone().unwrap_or_else(|| match t.signal {
                    Some(sig) if sig != 0 => format!("Signal:{sig}"),
                    _ => format!("ExitCode:{}", t.exit_code),
                });
            } else if c.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".into();
        }
    }
    if pod.metadata.deletion_timestamp.is_some() {
        reason = "Terminating".into();
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
    }

    fn container(state: serde_json::Value, ready: bool) -> serde_json::Value {
        json!({"name": "c", "image": "i", "imageID": "", "ready": ready, "restartCount": 0, "state": state})
    }

    #[test]
    fn a_waiting_reason_wins_over_the_phase() {
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            container(json!({"running": {}}), true),
            container(json!({"waiting": {"reason": "CrashLoopBackOff"}}), false),
        ]}));
        assert_eq!(pod_status(&p), "CrashLoopBackOff");
    }

    #[test]
    fn terminated_containers_show_reason_or_exit_code() {
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            container(json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}), false)]}));
        assert_eq!(pod_status(&p), "OOMKilled");
        let p = pod(json!({"phase": "Failed", "containerStatuses": [
            container(json!({"terminated": {"exitCode": 3}}), false)]}));
        assert_eq!(pod_status(&p), "ExitCode:3");
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            container(json!({"terminated": {"exitCode": 0, "reason": "Completed"}}), false),
            container(json!({"running": {}}), true)]}));
        assert_eq!(pod_status(&p), "Running");
    }

    #[test]
    fn init_containers_and_deletion_are_shown() {
        let p = pod(json!({"phase": "Pending", "initContainerStatuses": [
            container(json!({"terminated": {"exitCode": 0}}), false),
            container(json!({"waiting": {"reason": "ImagePullBackOff"}}), false)]}));
        assert_eq!(pod_status(&p), "Init:ImagePullBackOff");
        let p = pod(json!({"phase": "Pending", "initContainerStatuses": [
            container(json!({"running": {}}), false)]}));
        assert_eq!(pod_status(&p), "Init:0/1");
        let mut p = pod(json!({"phase": "Running"}));
        assert_eq!(pod_status(&p), "Running");
        p.metadata.deletion_timestamp =
            serde_json::from_value(json!("2026-11-26T10:00:00Z")).unwrap();
        assert_eq!(pod_status(&p), "Terminating");
    }
}
