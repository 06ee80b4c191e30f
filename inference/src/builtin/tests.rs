//! Playbook tests: scripted tool outputs through compress / observe, checking the decisions.

use super::*;
use aoi_core::{ContextEntry, ToolOutput};

fn task(t: TaskType, ns: &str) -> TaskSpec {
    TaskSpec {
        task_type: t,
        app_name: "app".into(),
        namespace: ns.into(),
        app_description: String::new(),
        instructions: String::new(),
    }
}

/// Runs the loop against a responder; returns the submission and every call made.
fn run(
    t: TaskType,
    ns: &str,
    max: u32,
    mut respond: impl FnMut(&ToolCall, &[ToolCall]) -> String,
) -> (Submission, Vec<ToolCall>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let spec = task(t, ns);
        let mut p = BuiltinPolicy::new();
        p.reset(&spec);
        let mut context = Vec::new();
        let mut calls: Vec<ToolCall> = Vec::new();
        for i in 0..max {
            let view = ObserverView {
                task: spec.clone(),
                iteration: i,
                max_iterations: max,
                context: context.clone(),
                lessons: vec![],
                executor_available: t == TaskType::Mitigation,
            };
            let d = p.observe(&view).await.unwrap().value;
            let (instruction, is_exec) = match d.next_action {
                NextAction::Submit { submission } => return (submission, calls),
                NextAction::Probe { instruction, .. } => (instruction, false),
                NextAction::Executor { instruction, .. } => (instruction, true),
            };
            let req = RoleRequest {
                task: spec.clone(),
                instruction,
                context: String::new(),
                already_run: calls.iter().map(|c| c.to_string()).collect(),
                tools: vec![],
            };
            let call = if is_exec {
                p.execute(&req).await.unwrap().value
            } else {
                p.probe(&req).await.unwrap().value
            };
            assert!(
                !calls.contains(&call),
                "repeated call {call} after {calls:?}"
            );
            let text = respond(&call, &calls);
            calls.push(call.clone());
            let summary = p
                .compress(&CompressInput {
                    task: spec.clone(),
                    instruction: String::new(),
                    call: call.clone(),
                    output: ToolOutput::ok(text),
                })
                .await
                .unwrap()
                .value;
            assert!(summary.lines().count() <= 15);
            context.push(ContextEntry {
                step: i,
                role: if is_exec { "executor" } else { "probe" }.into(),
                action: call.to_string(),
                summary,
                ok: true,
            });
        }
        panic!("no submission within {max} iterations: {calls:?}");
    })
}

fn cmd(c: &ToolCall) -> &str {
    c.str_arg("command").unwrap_or("")
}

const SN_PODS: &str = "NAME                                  READY   STATUS    RESTARTS     AGE   IP             NODE          NOMINATED NODE   READINESS GATES
compose-post-service-6d8f9c7b5-aaaaa  1/1     Running   0            2h    10.244.1.10    kind-worker   <none>           <none>
nginx-thrift-7c9d8b6f4-bbbbb          1/1     Running   1 (3h ago)   5h    10.244.1.11    kind-worker   <none>           <none>
text-service-5f6d7c8b9-ccccc          1/1     Running   0            5h    10.244.1.24    kind-worker   <none>           <none>
user-service-6d8f9c7b5-x2kqz          1/1     Running   0            5h    10.244.1.23    kind-worker   <none>           <none>
user-mongodb-7b8c9d6f5-ddddd          1/1     Running   0            5h    10.244.1.25    kind-worker   <none>           <none>
";

const SN_DEPLOY: &str = "NAME                   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS             IMAGES                                  SELECTOR
compose-post-service   1/1     1            1           5h    compose-post-service   deathstarbench/social-network:latest    service=compose-post-service
nginx-thrift           1/1     1            1           5h    nginx-thrift           yg397/openresty-thrift:xenial           service=nginx-thrift
text-service           1/1     1            1           5h    text-service           deathstarbench/social-network:latest    service=text-service
user-mongodb           1/1     1            1           5h    user-mongodb           mongo:4.4.6                             service=user-mongodb
user-service           1/1     1            1           5h    user-service           deathstarbench/social-network:latest    service=user-service
";

const SN_SVC: &str =
    "NAME                   TYPE        CLUSTER-IP      EXTERNAL-IP   PORT(S)     AGE
compose-post-service   ClusterIP   10.96.10.1      <none>        9090/TCP    5h
nginx-thrift           ClusterIP   10.96.10.2      <none>        8080/TCP    5h
text-service           ClusterIP   10.96.10.3      <none>        9090/TCP    5h
user-mongodb           ClusterIP   10.96.10.4      <none>        27017/TCP   5h
user-service           ClusterIP   10.96.10.5      <none>        9090/TCP    5h
";

const EVENTS_QUIET: &str = "LAST SEEN   TYPE     REASON    OBJECT                             MESSAGE
5m          Normal   Pulled    pod/text-service-5f6d7c8b9-ccccc   Container image already present on machine
";

fn sn_endpoints(port: u16) -> String {
    format!(
        "NAME                   ENDPOINTS            AGE
compose-post-service   10.244.1.10:9090     5h
nginx-thrift           10.244.1.11:8080     5h
text-service           10.244.1.24:9090     5h
user-mongodb           10.244.1.25:27017    5h
user-service           10.244.1.23:{port}     5h
"
    )
}

const DESCRIBE_USER_SERVICE: &str = "Name:             user-service-6d8f9c7b5-x2kqz
Namespace:        test-social-network
Node:             kind-worker/172.18.0.2
Containers:
  user-service:
    Image:          deathstarbench/social-network:latest
    Port:           9090/TCP
    Command:
      UserService
    State:          Running
    Ready:          True
    Restart Count:  0
Node-Selectors:     <none>
Events:             <none>
";

#[test]
fn target_port_case_is_patched_then_verified() {
    let ns = "test-social-network";
    let (sub, calls) = run(TaskType::Mitigation, ns, 30, |call, prior| {
        let c = cmd(call);
        let patched = prior
            .iter()
            .any(|p| cmd(p).starts_with("kubectl patch svc user-service"));
        if c.contains("get pods") {
            SN_PODS.into()
        } else if c.contains("get deployments") {
            SN_DEPLOY.into()
        } else if c.contains("get events") {
            EVENTS_QUIET.into()
        } else if c.contains("get svc") {
            SN_SVC.into()
        } else if c.contains("get endpoints") {
            sn_endpoints(if patched { 9090 } else { 9999 })
        } else if c.contains("describe pod user-service") {
            DESCRIBE_USER_SERVICE.into()
        } else if c.starts_with("kubectl patch") {
            "service/user-service patched".into()
        } else {
            String::new()
        }
    });
    assert_eq!(sub, Submission::Mitigation);
    let fix = calls
        .iter()
        .find(|c| cmd(c).starts_with("kubectl patch"))
        .unwrap();
    assert_eq!(
        cmd(fix),
        "kubectl patch svc user-service -n test-social-network --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/ports/0/targetPort\",\"value\":9090}]'"
    );
    let fix_at = calls.iter().position(|c| c == fix).unwrap();
    assert!(
        calls[fix_at + 1..]
            .iter()
            .any(|c| cmd(c).contains("get pods")),
        "verified: {calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.tool == "get_traces"),
        "structural fault needs no traces"
    );
}

#[test]
fn target_port_localization_and_analysis() {
    let ns = "test-social-network";
    let respond = |call: &ToolCall, _: &[ToolCall]| -> String {
        let c = cmd(call);
        match () {
            _ if c.contains("get pods") => SN_PODS.into(),
            _ if c.contains("get deployments") => SN_DEPLOY.into(),
            _ if c.contains("get svc") => SN_SVC.into(),
            _ if c.contains("get endpoints") => sn_endpoints(9999),
            _ if c.contains("describe pod user-service") => DESCRIBE_USER_SERVICE.into(),
            _ => EVENTS_QUIET.into(),
        }
    };
    let (sub, _) = run(TaskType::Localization, ns, 30, respond);
    assert_eq!(
        sub,
        Submission::Localization {
            services: vec!["user-service".into()]
        }
    );
    let (sub, _) = run(TaskType::Analysis, ns, 30, respond);
    assert_eq!(
        sub,
        Submission::Analysis {
            system_level: aoi_core::SystemLevel::Virtualization,
            fault_type: aoi_core::FaultType::Misconfiguration
        }
    );
    let (sub, _) = run(TaskType::Detection, ns, 30, respond);
    assert_eq!(sub, Submission::Detection { anomaly: true });
}

const HOTEL_PODS_OK: &str = "NAME                        READY   STATUS    RESTARTS     AGE   IP            NODE          NOMINATED NODE   READINESS GATES
frontend-7d9b8c6f5-abcde    1/1     Running   0            3h    10.244.1.9    kind-worker   <none>           <none>
geo-84fbc958c7-lxb9r        1/1     Running   1 (3h ago)   3h    10.244.1.5    kind-worker   <none>           <none>
mongodb-geo-5c7d8f9b6-qwert 1/1     Running   0            3h    10.244.1.6    kind-worker   <none>           <none>
user-66d7c9b8f5-zxcvb       1/1     Running   0            3h    10.244.1.7    kind-worker   <none>           <none>
mongodb-user-6f5d4c3b2-asdfg 1/1    Running   0            3h    10.244.1.8    kind-worker   <none>           <none>
";

const HOTEL_DEPLOY: &str = "NAME           READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS            IMAGES                                 SELECTOR
frontend       1/1     1            1           3h    hotel-reserv-frontend deathstarbench/hotel-reservation:latest io.kompose.service=frontend
geo            1/1     1            1           3h    hotel-reserv-geo      deathstarbench/hotel-reservation:latest io.kompose.service=geo
mongodb-geo    1/1     1            1           3h    hotel-reserv-geo-mongo mongo:4.4.6                           io.kompose.service=mongodb-geo
mongodb-user   1/1     1            1           3h    hotel-reserv-user-mongo mongo:4.4.6                          io.kompose.service=mongodb-user
user           1/1     1            1           3h    hotel-reserv-user     deathstarbench/hotel-reservation:latest io.kompose.service=user
";

const HOTEL_SVC: &str = "NAME           TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)     AGE
frontend       ClusterIP   10.96.0.10     <none>        5000/TCP    3h
geo            ClusterIP   10.96.0.11     <none>        8083/TCP    3h
mongodb-geo    ClusterIP   10.96.0.12     <none>        27017/TCP   3h
mongodb-user   ClusterIP   10.96.0.14     <none>        27017/TCP   3h
user           ClusterIP   10.96.0.13     <none>        8086/TCP    3h
";

const HOTEL_EP: &str = "NAME           ENDPOINTS           AGE
frontend       10.244.1.9:5000     3h
geo            10.244.1.5:8083     3h
mongodb-geo    10.244.1.6:27017    3h
mongodb-user   10.244.1.8:27017    3h
user           10.244.1.7:8086     3h
";

fn hotel_traces(user_errors: usize, user_slow: usize) -> String {
    let mut s = String::from(
        "trace_id,span_id,parent_span,service_name,operation_name,start_time,duration,has_error,response\n",
    );
    for i in 0..100 {
        let err = if i < user_errors { "True" } else { "False" };
        let dur = if i < user_slow { 10_004_000 } else { 4_000 };
        let benign = if i == 57 { "True" } else { "False" };
        s.push_str(&format!(
            "t{i},a{i},ROOT,frontend,HTTP GET /hotels,1700000000{i:06},{},{},200\n",
            dur + 2000,
            benign
        ));
        s.push_str(&format!(
            "t{i},b{i},a{i},frontend,/user.User/CheckUser,1700000000{i:06},{dur},{err},Unknown\n"
        ));
        s.push_str(&format!(
            "t{i},c{i},b{i},user,/user.User/CheckUser,1700000000{i:06},900,False,Unknown\n"
        ));
        s.push_str(&format!(
            "t{i},d{i},a{i},geo,/geo.Geo/Nearby,1700000000{i:06},1200,False,Unknown\n"
        ));
    }
    // One random latency spike in a single trace.
    s.push_str("t999,z1,ROOT,frontend,HTTP GET /hotels,1700000999000000,3000000,False,200\n");
    s.push_str("t999,z2,z1,geo,/geo.Geo/Nearby,1700000999000000,2990000,False,200\n");
    s
}

fn hotel_responder(
    traces: String,
    pods: &'static str,
    logs: fn(&str) -> String,
) -> impl FnMut(&ToolCall, &[ToolCall]) -> String {
    move |call, _| {
        let c = cmd(call);
        match call.tool.as_str() {
            "get_traces" => "Traces saved to /tmp/traces/test-hotel-reservation/traces.csv".into(),
            "read_traces" => traces.clone(),
            "get_metrics" => "Metrics saved to /tmp/metrics/x\ncontainer/kpi_container_cpu_usage_seconds_total.csv\ncontainer/kpi_container_memory_working_set_bytes.csv".into(),
            "read_metrics" => "timestamp,cmdb_id,kpi_name,value\n1700000000,kind-worker.geo-84fbc958c7-lxb9r,container_cpu_usage_seconds_total,10.000\n1700000300,kind-worker.geo-84fbc958c7-lxb9r,container_cpu_usage_seconds_total,13.100\n".into(),
            "get_logs" => logs(call.str_arg("service").unwrap_or("")),
            _ if c.contains("get pods") => pods.into(),
            _ if c.contains("get deployments") => HOTEL_DEPLOY.into(),
            _ if c.contains("get svc") => HOTEL_SVC.into(),
            _ if c.contains("get endpoints") => HOTEL_EP.into(),
            _ if c.contains("get events") => "LAST SEEN   TYPE      REASON      OBJECT                    MESSAGE\n3h          Warning   Unhealthy   pod/geo-84fbc958c7-lxb9r  Readiness probe failed: connection refused\n".into(),
            _ => String::new(),
        }
    }
}

fn benign_logs(svc: &str) -> String {
    format!(
        "{{\"level\":\"info\",\"time\":\"2026-01-13T12:30:00Z\",\"message\":\"TLS disabled.\"}}\n2026-01-13T12:30:06Z INF cmd/{svc}/main.go:36 > Read database URL: mongodb-{svc}:27017\n2026-01-13T12:31:00Z WRN cmd/{svc}/main.go:80 > slow consul registration, retrying\n"
    )
}

#[test]
fn noise_only_hotel_answers_no() {
    let ns = "test-hotel-reservation";
    let (sub, calls) = run(
        TaskType::Detection,
        ns,
        30,
        hotel_responder(hotel_traces(0, 0), HOTEL_PODS_OK, benign_logs),
    );
    assert_eq!(sub, Submission::Detection { anomaly: false }, "{calls:?}");
    assert!(calls.iter().any(|c| c.tool == "read_traces"));
}

#[test]
fn network_loss_and_delay_localize_the_callee() {
    let ns = "test-hotel-reservation";
    let (sub, _) = run(
        TaskType::Localization,
        ns,
        30,
        hotel_responder(hotel_traces(60, 0), HOTEL_PODS_OK, benign_logs),
    );
    assert_eq!(
        sub,
        Submission::Localization {
            services: vec!["user".into()]
        }
    );
    let (sub, _) = run(
        TaskType::Localization,
        ns,
        30,
        hotel_responder(hotel_traces(0, 80), HOTEL_PODS_OK, benign_logs),
    );
    assert_eq!(
        sub,
        Submission::Localization {
            services: vec!["user".into()]
        }
    );
}

const HOTEL_PODS_GEO_CRASH: &str = "NAME                        READY   STATUS             RESTARTS      AGE   IP            NODE          NOMINATED NODE   READINESS GATES
frontend-7d9b8c6f5-abcde    1/1     Running            0             3h    10.244.1.9    kind-worker   <none>           <none>
geo-84fbc958c7-lxb9r        0/1     CrashLoopBackOff   4 (52s ago)   3m    10.244.1.5    kind-worker   <none>           <none>
mongodb-geo-5c7d8f9b6-qwert 1/1     Running            0             3h    10.244.1.6    kind-worker   <none>           <none>
user-66d7c9b8f5-zxcvb       1/1     Running            0             3h    10.244.1.7    kind-worker   <none>           <none>
mongodb-user-6f5d4c3b2-asdfg 1/1    Running            0             3h    10.244.1.8    kind-worker   <none>           <none>
";

fn revoked_logs(svc: &str) -> String {
    if svc == "geo" {
        "2026-01-13T12:30:06Z INF cmd/geo/main.go:36 > Read database URL: mongodb-geo:27017\n2026-01-13T12:30:07Z FTL cmd/geo/db.go:40 > not authorized on geo-db to execute command { count: \"geo\", query: {} }\n".into()
    } else {
        benign_logs(svc)
    }
}

#[test]
fn revoked_role_localizes_the_db_and_grants_it_back() {
    let ns = "test-hotel-reservation";
    let (sub, _) = run(
        TaskType::Localization,
        ns,
        30,
        hotel_responder(hotel_traces(0, 0), HOTEL_PODS_GEO_CRASH, revoked_logs),
    );
    assert_eq!(
        sub,
        Submission::Localization {
            services: vec!["mongodb-geo".into()]
        }
    );
    let (sub, _) = run(
        TaskType::Analysis,
        ns,
        30,
        hotel_responder(hotel_traces(0, 0), HOTEL_PODS_GEO_CRASH, revoked_logs),
    );
    assert_eq!(
        sub,
        Submission::Analysis {
            system_level: aoi_core::SystemLevel::Application,
            fault_type: aoi_core::FaultType::AuthenticationIssue
        }
    );
    let (sub, calls) = run(
        TaskType::Mitigation,
        ns,
        30,
        hotel_responder(hotel_traces(0, 0), HOTEL_PODS_GEO_CRASH, revoked_logs),
    );
    assert_eq!(sub, Submission::Mitigation);
    let grant = calls
        .iter()
        .find(|c| cmd(c).contains("grantRolesToUser"))
        .unwrap();
    assert!(cmd(grant).starts_with(
        "kubectl exec mongodb-geo-5c7d8f9b6-qwert -n test-hotel-reservation -- mongo admin"
    ));
    assert!(cmd(grant).contains("db: 'geo-db'"));
    assert!(
        calls
            .iter()
            .any(|c| cmd(c) == "kubectl rollout restart deployment/geo -n test-hotel-reservation")
    );
}

fn buggy_logs(svc: &str) -> String {
    if svc == "geo" {
        "2026-01-13T12:30:06Z INF cmd/geo/main.go:36 > Read database URL: mongodb-geo:27017\n2026-01-13T12:30:16Z PNC cmd/geo/db.go:26 > no reachable servers\npanic: no reachable servers\n\ngoroutine 1 [running]:\n".into()
    } else {
        benign_logs(svc)
    }
}

#[test]
fn buggy_image_is_set_back_to_the_app_image() {
    let ns = "test-hotel-reservation";
    let deploy = HOTEL_DEPLOY.replace(
        "hotel-reserv-geo      deathstarbench/hotel-reservation:latest",
        "hotel-reserv-geo      yinfangchen/geo:app3                   ",
    );
    let deploy: &'static str = Box::leak(deploy.into_boxed_str());
    let responder = move |call: &ToolCall, prior: &[ToolCall]| -> String {
        if cmd(call).contains("get deployments") {
            return deploy.into();
        }
        hotel_responder(hotel_traces(0, 0), HOTEL_PODS_GEO_CRASH, buggy_logs)(call, prior)
    };
    let (sub, _) = run(TaskType::Localization, ns, 30, responder);
    assert_eq!(
        sub,
        Submission::Localization {
            services: vec!["geo".into()]
        }
    );
    let (sub, calls) = run(TaskType::Mitigation, ns, 30, responder);
    assert_eq!(sub, Submission::Mitigation);
    assert!(
        calls.iter().any(|c| cmd(c)
            == "kubectl set image deployment/geo hotel-reserv-geo=deathstarbench/hotel-reservation:latest -n test-hotel-reservation"),
        "{calls:?}"
    );
}

#[test]
fn astronomy_ad_failure_from_traces_and_logs() {
    let ns = "astronomy-shop";
    let pods = "NAME                      READY   STATUS    RESTARTS   AGE   IP            NODE          NOMINATED NODE   READINESS GATES
ad-5d8f7c9b6-abcde        1/1     Running   0          2h    10.244.1.30   kind-worker   <none>           <none>
cart-6c7d8e9f0-bcdef      1/1     Running   0          2h    10.244.1.31   kind-worker   <none>           <none>
flagd-7d8e9f0a1-cdefg     1/1     Running   0          2h    10.244.1.32   kind-worker   <none>           <none>
frontend-8e9f0a1b2-defgh  1/1     Running   0          2h    10.244.1.33   kind-worker   <none>           <none>
";
    let mut traces = String::from(
        "trace_id,span_id,parent_span,service_name,operation_name,start_time,duration,has_error,response\n",
    );
    for i in 0..50 {
        let err = if i % 10 == 0 { "True" } else { "False" };
        traces.push_str(&format!(
            "t{i},a{i},ROOT,frontend,GET /api/data,1,5000,{err},200\n"
        ));
        traces.push_str(&format!(
            "t{i},b{i},a{i},ad,oteldemo.AdService/GetAds,1,3000,{err},Unknown\n"
        ));
        traces.push_str(&format!(
            "t{i},c{i},a{i},cart,oteldemo.CartService/GetCart,1,2000,False,Unknown\n"
        ));
    }
    let responder = move |call: &ToolCall, _: &[ToolCall]| -> String {
        let c = cmd(call);
        match call.tool.as_str() {
            "get_traces" => "/tmp/traces/astronomy-shop.csv".into(),
            "read_traces" => traces.clone(),
            "get_metrics" => "/tmp/metrics/y\n".into(),
            "get_logs" if call.str_arg("service") == Some("ad") => "2026-01-13 12:30:00 - ad - GetAds Failed with status Status{code=UNAVAILABLE, description=null} trace_id=abc span_id=def\n".into(),
            "get_logs" => "info: all good\nwarn: deprecated option\n".into(),
            _ if c.contains("get pods") => pods.into(),
            _ if c.contains("get deployments") => "NAME       READY   UP-TO-DATE   AVAILABLE   AGE\nad         1/1     1            1           2h\ncart       1/1     1            1           2h\nflagd      1/1     1            1           2h\nfrontend   1/1     1            1           2h\n".into(),
            _ => String::new(),
        }
    };
    let (sub, calls) = run(TaskType::Localization, ns, 30, responder);
    assert_eq!(
        sub,
        Submission::Localization {
            services: vec!["ad".into()]
        },
        "{calls:?}"
    );
}

#[test]
fn pending_on_a_missing_node_removes_the_selector() {
    let ns = "test-social-network";
    let pods = SN_PODS.replace(
        "user-service-6d8f9c7b5-x2kqz          1/1     Running   0            5h    10.244.1.23    kind-worker",
        "user-service-6d8f9c7b5-x2kqz          0/1     Pending   0            2m    <none>         <none>     ",
    );
    let describe = DESCRIBE_USER_SERVICE.replace(
        "Node-Selectors:     <none>",
        "Node-Selectors:     kubernetes.io/hostname=extra-node",
    );
    let responder = move |call: &ToolCall, _: &[ToolCall]| -> String {
        let c = cmd(call);
        match () {
            _ if c.contains("get pods") => pods.clone(),
            _ if c.contains("get deployments") => SN_DEPLOY.into(),
            _ if c.contains("get svc") => SN_SVC.into(),
            _ if c.contains("get endpoints") => sn_endpoints(9090).replace("10.244.1.23:9090", "<none>"),
            _ if c.contains("get events") => "LAST SEEN   TYPE      REASON             OBJECT                             MESSAGE\n2m          Warning   FailedScheduling   pod/user-service-6d8f9c7b5-x2kqz   0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.\n".into(),
            _ if c.contains("describe pod user-service") => describe.clone(),
            _ if c.contains("get nodes") => "NAME                 STATUS   ROLES           AGE   VERSION\nkind-control-plane   Ready    control-plane   5h    v1.32.0\nkind-worker          Ready    <none>          5h    v1.32.0\n".into(),
            _ => String::new(),
        }
    };
    let (sub, _) = run(TaskType::Analysis, ns, 30, responder.clone());
    assert_eq!(
        sub,
        Submission::Analysis {
            system_level: aoi_core::SystemLevel::Virtualization,
            fault_type: aoi_core::FaultType::DependencyProblem
        }
    );
    let (_, calls) = run(TaskType::Mitigation, ns, 30, responder);
    assert!(calls.iter().any(|c| {
        cmd(c).contains("\"op\":\"remove\",\"path\":\"/spec/template/spec/nodeSelector\"")
    }));
}

#[test]
fn step_budget_forces_a_submission() {
    let ns = "test-hotel-reservation";
    let (sub, calls) = run(
        TaskType::Detection,
        ns,
        4,
        hotel_responder(hotel_traces(0, 0), HOTEL_PODS_GEO_CRASH, revoked_logs),
    );
    assert!(calls.len() <= 3);
    assert!(matches!(sub, Submission::Detection { .. }));
}
