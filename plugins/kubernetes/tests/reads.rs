//! The read tools against recorded API responses: what they request and how they render it.

mod support;

use aoi_core::ToolCall;
use serde_json::json;
use support::{FakeApi, NS, TOKEN, call, call_as, pods_path, route, text_route};

#[tokio::test]
async fn get_pods_renders_kubectl_columns_with_the_crashlooping_pod() {
    let api = FakeApi::start(vec![route("GET", &pods_path(), 200, "pods.json")]).await;
    let tools = api.toolset(json!({}));
    let out = call(
        &tools,
        ToolCall::new("k8s_get")
            .arg("kind", "pods")
            .arg("namespace", NS),
    )
    .await;
    assert!(!out.is_error, "{}", out.text);
    let lines: Vec<&str> = out.text.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{}", out.text);
    for col in ["READY", "STATUS", "RESTARTS", "AGE", "NODE"] {
        assert!(lines[0].contains(col), "missing {col}: {}", lines[0]);
    }
    let geo = lines
        .iter()
        .find(|l| l.starts_with("geo-6b8d9c7f4-x2k9p"))
        .unwrap();
    assert!(geo.contains("0/1"), "{geo}");
    assert!(geo.contains("CrashLoopBackOff"), "{geo}");
    assert!(
        geo.contains("7 ("),
        "restarts with the last one's age: {geo}"
    );
    let frontend = lines.iter().find(|l| l.starts_with("frontend-")).unwrap();
    assert!(
        frontend.contains("1/1") && frontend.contains("Running"),
        "{frontend}"
    );
    assert_eq!(lines.len(), 6, "a header and five pods: {}", out.text);

    let seen = api.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, pods_path());
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        seen[0].impersonate_user, None,
        "reads run as the configured identity"
    );
}

#[tokio::test]
async fn get_by_name_and_label_sends_selectors() {
    let api = FakeApi::start(vec![route("GET", &pods_path(), 200, "pods.json")]).await;
    let tools = api.toolset(json!({}));
    let out = call(
        &tools,
        ToolCall::new("k8s_get")
            .arg("kind", "po")
            .arg("namespace", NS)
            .arg("name", "geo-6b8d9c7f4-x2k9p")
            .arg("label_selector", "io.kompose.service=geo"),
    )
    .await;
    assert!(!out.is_error, "{}", out.text);
    let q = &api.requests()[0].query;
    assert!(
        q.contains("fieldSelector=metadata.name%3Dgeo-6b8d9c7f4-x2k9p"),
        "{q}"
    );
    assert!(q.contains("labelSelector=io.kompose.service%3Dgeo"), "{q}");
}

#[tokio::test]
async fn get_nodes_shows_status_roles_and_version() {
    let api = FakeApi::start(vec![route("GET", "/api/v1/nodes", 200, "nodes.json")]).await;
    let tools = api.toolset(json!({"namespace_allowlist": NS}));
    let out = call(&tools, ToolCall::new("k8s_get").arg("kind", "nodes")).await;
    assert!(!out.is_error, "{}", out.text);
    let worker = out
        .text
        .lines()
        .find(|l| l.starts_with("worker-1"))
        .unwrap();
    assert!(
        worker.contains("NotReady") && worker.contains("v1.33.1"),
        "{worker}"
    );
    let cp = out
        .text
        .lines()
        .find(|l| l.starts_with("control-plane"))
        .unwrap();
    assert!(
        cp.contains("Ready") && cp.contains("control-plane   "),
        "{cp}"
    );
}

#[tokio::test]
async fn configmaps_are_listed_by_metadata_only() {
    let path = format!("/api/v1/namespaces/{NS}/configmaps");
    let api = FakeApi::start(vec![route("GET", &path, 200, "configmaps-metadata.json")]).await;
    let tools = api.toolset(json!({}));
    let out = call(
        &tools,
        ToolCall::new("k8s_get")
            .arg("kind", "configmaps")
            .arg("namespace", NS),
    )
    .await;
    assert!(!out.is_error, "{}", out.text);
    assert!(out.text.contains("mongo-geo-script"), "{}", out.text);
    let accept = api.requests()[0].accept.clone().unwrap_or_default();
    assert!(
        accept.contains("PartialObjectMetadataList"),
        "the data must not be asked for: {accept}"
    );
}

#[tokio::test]
async fn secrets_are_refused_without_a_request() {
    let api = FakeApi::start(vec![]).await;
    let tools = api.toolset(json!({}));
    for tool in ["k8s_get", "k8s_describe", "k8s_patch"] {
        let mut c = ToolCall::new(tool)
            .arg("kind", "secrets")
            .arg("namespace", NS)
            .arg("name", "db");
        if tool == "k8s_patch" {
            c = c.arg("patch", json!({"data": {"password": "eA=="}}));
        }
        let out = call(&tools, c).await;
        assert!(
            out.is_error && out.text.contains("secrets are never read"),
            "{tool}: {}",
            out.text
        );
    }
    assert!(api.requests().is_empty());
}

#[tokio::test]
async fn describe_pod_shows_state_conditions_and_its_events() {
    let pod = "geo-6b8d9c7f4-x2k9p";
    let api = FakeApi::start(vec![
        route(
            "GET",
            &format!("{}/{pod}", pods_path()),
            200,
            "pod-geo.json",
        ),
        route(
            "GET",
            &format!("/api/v1/namespaces/{NS}/events"),
            200,
            "events-geo-pod.json",
        ),
    ])
    .await;
    let tools = api.toolset(json!({}));
    let out = call(
        &tools,
        ToolCall::new("k8s_describe")
            .arg("kind", "pod")
            .arg("namespace", NS)
            .arg("name", pod),
    )
    .await;
    assert!(!out.is_error, "{}", out.text);
    for want in [
        "Status:           CrashLoopBackOff",
        "State:          Waiting: CrashLoopBackOff",
        "Last State:     Terminated: Error exit code 2",
        "Restart Count:  7",
        "Controlled By:    ReplicaSet/geo-6b8d9c7f4",
        "ContainersNotReady",
        "BackOff",
        "(x25)",
    ] {
        assert!(
            out.text.contains(want),
            "missing `{want}` in:\n{}",
            out.text
        );
    }
    let seen = api.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1]
            .query
            .contains(&format!("fieldSelector=involvedObject.name%3D{pod}")),
        "{}",
        seen[1].query
    );
}

#[tokio::test]
async fn describe_of_a_missing_pod_says_not_found() {
    let api = FakeApi::start(vec![route(
        "GET",
        &format!("{}/geo-0", pods_path()),
        404,
        "status-404-pod.json",
    )])
    .await;
    let tools = api.toolset(json!({}));
    let out = call(
        &tools,
        ToolCall::new("k8s_describe")
            .arg("kind", "pod")
            .arg("namespace", NS)
            .arg("name", "geo-0"),
    )
    .await;
    assert!(out.is_error);
    assert!(
        out.text
            .starts_with("not found: get pod hotel-reservation/geo-0"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn logs_ask_for_the_tail_of_the_previous_container() {
    let pod = "geo-6b8d9c7f4-x2k9p";
    let api = FakeApi::start(vec![text_route(
        "GET",
        &format!("{}/{pod}/log", pods_path()),
        "geo.log",
    )])
    .await;
    let tools = api.toolset(json!({}));
    let out = call(
        &tools,
        ToolCall::new("k8s_logs")
            .arg("namespace", NS)
            .arg("pod", pod)
            .arg("container", "hotel-reserv-geo")
            .arg("tail_lines", 50)
            .arg("previous", true),
    )
    .await;
    assert!(!out.is_error, "{}", out.text);
    assert!(
        out.text.contains("panic: no reachable servers"),
        "{}",
        out.text
    );
    assert!(out.text.starts_with("logs of pod hotel-reservation/geo-6b8d9c7f4-x2k9p, container hotel-reserv-geo, previous instance"), "{}", out.text);
    let q = &api.requests()[0].query;
    for want in [
        "tailLines=50",
        "previous=true",
        "container=hotel-reserv-geo",
    ] {
        assert!(q.contains(want), "{want} not in {q}");
    }
}

#[tokio::test]
async fn events_are_sorted_oldest_first() {
    let path = format!("/api/v1/namespaces/{NS}/events");
    let api = FakeApi::start(vec![route("GET", &path, 200, "events.json")]).await;
    let tools = api.toolset(json!({}));
    let out = call(&tools, ToolCall::new("k8s_events").arg("namespace", NS)).await;
    assert!(!out.is_error, "{}", out.text);
    let pos = |s: &str| {
        out.text
            .find(s)
            .unwrap_or_else(|| panic!("no {s} in {}", out.text))
    };
    assert!(pos("Scheduled") < pos("ScalingReplicaSet"));
    assert!(pos("ScalingReplicaSet") < pos("Pulled"));
    assert!(pos("Pulled") < pos("BackOff"));
    assert!(out.text.contains("pod/geo-6b8d9c7f4-x2k9p"), "{}", out.text);
    assert!(out.text.lines().next().unwrap().contains("LAST SEEN"));
}

#[tokio::test]
async fn top_pods_and_nodes_read_metrics_busiest_first() {
    let api = FakeApi::start(vec![
        route(
            "GET",
            &format!("/apis/metrics.k8s.io/v1beta1/namespaces/{NS}/pods"),
            200,
            "pod-metrics.json",
        ),
        route(
            "GET",
            "/apis/metrics.k8s.io/v1beta1/nodes",
            200,
            "node-metrics.json",
        ),
    ])
    .await;
    let tools = api.toolset(json!({}));
    let out = call(
        &tools,
        ToolCall::new("k8s_top")
            .arg("kind", "pods")
            .arg("namespace", NS),
    )
    .await;
    assert!(!out.is_error, "{}", out.text);
    let lines: Vec<&str> = out.text.lines().collect();
    assert!(lines[0].contains("CPU(cores)") && lines[0].contains("MEMORY(bytes)"));
    assert!(
        lines[1].starts_with("mongodb-geo")
            && lines[1].contains("250m")
            && lines[1].contains("180Mi"),
        "{}",
        out.text
    );
    assert!(
        lines[2].starts_with("frontend") && lines[2].contains("12m") && lines[2].contains("24Mi"),
        "{}",
        out.text
    );
    assert!(
        lines[3].starts_with("search") && lines[3].contains("5m") && lines[3].contains("52Mi"),
        "containers summed: {}",
        out.text
    );

    let out = call(&tools, ToolCall::new("k8s_top").arg("kind", "nodes")).await;
    let first = out.text.lines().nth(1).unwrap();
    assert!(
        first.starts_with("worker-1") && first.contains("1250m") && first.contains("4096Mi"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn top_without_metrics_server_says_so() {
    let api = FakeApi::start(vec![]).await;
    let tools = api.toolset(json!({}));
    let out = call(&tools, ToolCall::new("k8s_top").arg("kind", "nodes")).await;
    assert!(out.is_error);
    assert!(out.text.contains("metrics-server"), "{}", out.text);
}

#[tokio::test]
async fn a_namespace_outside_the_allowlist_is_refused_before_any_request() {
    let api = FakeApi::start(vec![route(
        "GET",
        "/api/v1/namespaces/kube-system/pods",
        200,
        "pods.json",
    )])
    .await;
    let tools = api.toolset(json!({"namespace_allowlist": "hotel-reservation,shop"}));
    let calls = [
        ToolCall::new("k8s_get")
            .arg("kind", "pods")
            .arg("namespace", "kube-system"),
        ToolCall::new("k8s_logs")
            .arg("namespace", "kube-system")
            .arg("pod", "etcd-0"),
        ToolCall::new("k8s_delete_pod")
            .arg("namespace", "kube-system")
            .arg("name", "etcd-0"),
    ];
    for c in calls {
        let out = call_as(&tools, c, "alice@example.com").await;
        assert!(out.is_error);
        assert!(
            out.text.contains("namespace `kube-system` is not in"),
            "{}",
            out.text
        );
    }
    assert!(api.requests().is_empty(), "{:?}", api.requests());
}

#[tokio::test]
async fn names_that_are_not_kubernetes_names_are_refused_before_any_request() {
    let api = FakeApi::start(vec![]).await;
    let tools = api.toolset(json!({}));
    let out = call(
        &tools,
        ToolCall::new("k8s_describe")
            .arg("kind", "pods")
            .arg("namespace", NS)
            .arg("name", "../secrets/db"),
    )
    .await;
    assert!(
        out.is_error && out.text.contains("is not a Kubernetes name"),
        "{}",
        out.text
    );
    let out = call(&tools, ToolCall::new("k8s_get").arg("kind", "pods")).await;
    assert!(
        out.is_error && out.text.contains("`namespace` is required"),
        "{}",
        out.text
    );
    assert!(api.requests().is_empty());
}
