//! The write tools against recorded API responses: the exact requests they send, who they run
//! as, and how refusals read.

mod support;

use aoi_core::ToolCall;
use serde_json::{Value, json};
use support::{FakeApi, NS, call, call_as, deployment_path, pods_path, route};

const ALICE: &str = "alice@example.com";

fn scale_call(replicas: u64) -> ToolCall {
    ToolCall::new("k8s_scale")
        .arg("kind", "deployment")
        .arg("namespace", NS)
        .arg("name", "geo")
        .arg("replicas", replicas)
}

#[tokio::test]
async fn scale_patches_the_scale_subresource() {
    let path = format!("{}/scale", deployment_path("geo"));
    let api = FakeApi::start(vec![route("PATCH", &path, 200, "scale-geo.json")]).await;
    let tools = api.toolset(json!({}));
    let out = call(&tools, scale_call(3)).await;
    assert!(!out.is_error, "{}", out.text);
    assert!(
        out.text.contains("to 3 replicas (1 currently running)"),
        "{}",
        out.text
    );
    let seen = api.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("PATCH", path.as_str())
    );
    assert_eq!(
        seen[0].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(seen[0].json(), json!({"spec": {"replicas": 3}}));
    assert!(
        seen[0].query.contains("fieldManager=aoi-agent"),
        "{}",
        seen[0].query
    );
    assert_eq!(seen[0].impersonate_user, None);
}

#[tokio::test]
async fn rollout_restart_patches_the_restarted_at_annotation() {
    let api = FakeApi::start(vec![route(
        "PATCH",
        &deployment_path("geo"),
        200,
        "deployment-geo.json",
    )])
    .await;
    let tools = api.toolset(json!({}));
    let c = ToolCall::new("k8s_rollout_restart")
        .arg("kind", "deploy")
        .arg("namespace", NS)
        .arg("name", "geo");
    let out = call(&tools, c).await;
    assert!(!out.is_error, "{}", out.text);
    let seen = api.requests();
    assert_eq!(seen[0].method, "PATCH");
    assert_eq!(
        seen[0].content_type.as_deref(),
        Some("application/strategic-merge-patch+json")
    );
    let at = seen[0].json()["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].clone();
    let at = at
        .as_str()
        .unwrap_or_else(|| panic!("no restartedAt in {}", seen[0].body));
    assert!(
        at.starts_with("20") && at.ends_with('Z') && at.len() == 20,
        "RFC 3339 seconds: {at}"
    );
}

#[tokio::test]
async fn rollout_undo_patches_the_template_of_the_previous_revision() {
    let api = FakeApi::start(vec![
        route("GET", &deployment_path("geo"), 200, "deployment-geo.json"),
        route(
            "GET",
            &format!("/apis/apps/v1/namespaces/{NS}/replicasets"),
            200,
            "replicasets-geo.json",
        ),
        route("PATCH", &deployment_path("geo"), 200, "deployment-geo.json"),
    ])
    .await;
    let tools = api.toolset(json!({}));
    let out = call(
        &tools,
        ToolCall::new("k8s_rollout_undo")
            .arg("namespace", NS)
            .arg("name", "geo"),
    )
    .await;
    assert!(!out.is_error, "{}", out.text);
    assert!(
        out.text.contains("from revision 3 to revision 2"),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("geo-7c9e8d1a2") && out.text.contains("yinfangchen/geo:app2"),
        "{}",
        out.text
    );

    let seen = api.requests();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen[1]
            .query
            .contains("labelSelector=io.kompose.service%3Dgeo"),
        "{}",
        seen[1].query
    );
    let patch = &seen[2];
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/json-patch+json")
    );
    let ops = patch.json();
    assert_eq!(ops[0]["op"], "replace");
    assert_eq!(ops[0]["path"], "/spec/template");
    // Revision 2's template exactly, without the ReplicaSet's pod-template-hash label.
    let rs: Value = serde_json::from_str(&support::fixture("replicasets-geo.json")).unwrap();
    let mut want = rs["items"][3]["spec"]["template"].clone();
    want["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("pod-template-hash");
    assert_eq!(ops[0]["value"], want);
    assert!(
        ops[0]["value"]["spec"]["containers"][0]
            .get("env")
            .is_none(),
        "revision 3's env is gone"
    );
    assert_eq!(ops[1]["path"], "/metadata/annotations");
    let ann = &ops[1]["value"];
    assert_eq!(
        ann["deployment.kubernetes.io/revision"], "3",
        "kept from the deployment"
    );
    assert_eq!(
        ann["kubernetes.io/change-cause"], "app2 rollout",
        "copied from the replicaset"
    );
}

#[tokio::test]
async fn rollout_undo_to_a_missing_revision_sends_no_patch() {
    let api = FakeApi::start(vec![
        route("GET", &deployment_path("geo"), 200, "deployment-geo.json"),
        route(
            "GET",
            &format!("/apis/apps/v1/namespaces/{NS}/replicasets"),
            200,
            "replicasets-geo.json",
        ),
    ])
    .await;
    let tools = api.toolset(json!({}));
    let c = ToolCall::new("k8s_rollout_undo")
        .arg("namespace", NS)
        .arg("name", "geo")
        .arg("to_revision", 5);
    let out = call(&tools, c).await;
    assert!(out.is_error);
    assert!(
        out.text
            .contains("revision 5 not found; known revisions: 1, 2, 3"),
        "{}",
        out.text
    );
    assert!(api.requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn set_image_patches_the_named_container() {
    let api = FakeApi::start(vec![
        route("GET", &deployment_path("geo"), 200, "deployment-geo.json"),
        route("PATCH", &deployment_path("geo"), 200, "deployment-geo.json"),
    ])
    .await;
    let tools = api.toolset(json!({}));
    let c = ToolCall::new("k8s_set_image")
        .arg("namespace", NS)
        .arg("name", "geo")
        .arg("container", "hotel-reserv-geo")
        .arg("image", "yinfangchen/geo:app2");
    let out = call(&tools, c).await;
    assert!(!out.is_error, "{}", out.text);
    assert!(
        out.text
            .contains("yinfangchen/geo:app3 -> yinfangchen/geo:app2"),
        "{}",
        out.text
    );
    let seen = api.requests();
    assert_eq!(seen[1].method, "PATCH");
    assert_eq!(
        seen[1].content_type.as_deref(),
        Some("application/strategic-merge-patch+json")
    );
    assert_eq!(
        seen[1].json(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "hotel-reserv-geo", "image": "yinfangchen/geo:app2"}]}}}})
    );

    let c = ToolCall::new("k8s_set_image")
        .arg("namespace", NS)
        .arg("name", "geo")
        .arg("container", "geo")
        .arg("image", "x:1");
    let out = call(&tools, c).await;
    assert!(
        out.is_error && out.text.contains("its containers are: hotel-reserv-geo"),
        "{}",
        out.text
    );
    assert_eq!(
        api.requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .count(),
        1
    );
}

#[tokio::test]
async fn delete_pod_deletes_and_names_the_controller() {
    let pod = "geo-6b8d9c7f4-x2k9p";
    let path = format!("{}/{pod}", pods_path());
    let api = FakeApi::start(vec![route("DELETE", &path, 200, "pod-geo.json")]).await;
    let tools = api.toolset(json!({}));
    let c = ToolCall::new("k8s_delete_pod")
        .arg("namespace", NS)
        .arg("name", pod)
        .arg("grace_period_seconds", 0);
    let out = call(&tools, c).await;
    assert!(!out.is_error, "{}", out.text);
    assert!(
        out.text
            .contains("ReplicaSet geo-6b8d9c7f4 will create a replacement"),
        "{}",
        out.text
    );
    let seen = api.requests();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("DELETE", path.as_str())
    );
    assert_eq!(seen[0].json()["gracePeriodSeconds"], 0);
}

#[tokio::test]
async fn patch_sends_the_merge_patch_as_given() {
    let path = format!("/api/v1/namespaces/{NS}/services/geo");
    let api = FakeApi::start(vec![route("PATCH", &path, 200, "deployment-geo.json")]).await;
    let tools = api.toolset(json!({}));
    let patch = json!({"spec": {"ports": [{"port": 8083, "targetPort": 8083}]}});
    let c = ToolCall::new("k8s_patch")
        .arg("kind", "svc")
        .arg("namespace", NS)
        .arg("name", "geo")
        .arg("patch", patch.clone())
        .arg("patch_type", "merge");
    let out = call(&tools, c).await;
    assert!(!out.is_error, "{}", out.text);
    assert!(
        out.text
            .starts_with("patched service hotel-reservation/geo (merge patch)"),
        "{}",
        out.text
    );
    let seen = api.requests();
    assert_eq!(
        seen[0].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(seen[0].json(), patch);
}

#[tokio::test]
async fn approved_writes_impersonate_the_approver_and_reads_do_not() {
    let scale = format!("{}/scale", deployment_path("geo"));
    let api = FakeApi::start(vec![
        route("PATCH", &scale, 200, "scale-geo.json"),
        route("GET", &pods_path(), 200, "pods.json"),
    ])
    .await;
    let tools = api.toolset(json!({"impersonate_approver": true}));
    let out = call_as(&tools, scale_call(2), ALICE).await;
    assert!(!out.is_error, "{}", out.text);
    assert!(out.text.contains(ALICE), "says who it ran as: {}", out.text);
    let read = ToolCall::new("k8s_get")
        .arg("kind", "pods")
        .arg("namespace", NS);
    assert!(!call_as(&tools, read, ALICE).await.is_error);
    let seen = api.requests();
    assert_eq!(seen[0].impersonate_user.as_deref(), Some(ALICE));
    assert!(
        seen[0]
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer "))
    );
    assert_eq!(
        seen[1].impersonate_user, None,
        "reads run as the configured identity"
    );

    // Without impersonation configured, an approved write runs as the plugin's identity.
    let plain = api.toolset(json!({}));
    assert!(!call_as(&plain, scale_call(2), ALICE).await.is_error);
    assert_eq!(api.requests()[2].impersonate_user, None);
}

#[tokio::test]
async fn a_write_without_an_approver_under_impersonation_is_refused_unsent() {
    let api = FakeApi::start(vec![]).await;
    let tools = api.toolset(json!({"impersonate_approver": true}));
    let out = call(&tools, scale_call(2)).await;
    assert!(out.is_error);
    assert!(out.text.contains("has no approver"), "{}", out.text);
    assert!(api.requests().is_empty());
}

#[tokio::test]
async fn forbidden_names_the_impersonated_user() {
    let scale = format!("{}/scale", deployment_path("geo"));
    let api = FakeApi::start(vec![route("PATCH", &scale, 403, "status-403-scale.json")]).await;
    let tools = api.toolset(json!({"impersonate_approver": true}));
    let out = call_as(&tools, scale_call(2), ALICE).await;
    assert!(out.is_error);
    assert!(out.text.starts_with("forbidden:"), "{}", out.text);
    assert!(
        out.text
            .contains("user \"alice@example.com\" (the approver, impersonated)"),
        "{}",
        out.text
    );
    assert!(
        out.text
            .contains("cannot patch resource \"deployments/scale\""),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn under_an_allowlist_nodes_are_read_but_not_changed() {
    let api = FakeApi::start(vec![route("GET", "/api/v1/nodes", 200, "nodes.json")]).await;
    let tools = api.toolset(json!({"namespace_allowlist": NS}));
    let cordon = ToolCall::new("k8s_patch")
        .arg("kind", "node")
        .arg("name", "worker-1")
        .arg("patch", json!({"spec": {"unschedulable": true}}));
    let out = call(&tools, cordon).await;
    assert!(
        out.is_error && out.text.contains("cluster-scoped"),
        "{}",
        out.text
    );
    assert!(api.requests().is_empty());
    let out = call(&tools, ToolCall::new("k8s_get").arg("kind", "nodes")).await;
    assert!(!out.is_error, "{}", out.text);
}
