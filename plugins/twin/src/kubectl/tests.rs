//! kubectl read tests on a hand-built cluster (no reconcile), plus a smoke run on the builtin
//! suite's deployed apps.

use super::run;
use crate::cluster::*;
use crate::suite::schema::{AppSpec, NodeSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub(super) const NOW: f64 = 1_768_307_406.0; // 2026-01-13T12:30:06Z
pub(super) const NS: &str = "test-hotel-reservation";

const APP: &str = r#"
name = "hotel-reservation"
display_name = "Hotel Reservation"
namespace = "test-hotel-reservation"
description = "test"
entry = "geo"
selector_label = "io.kompose.service"
[[services]]
name = "geo"
runtime = "go-zerolog"
image = "yinfangchen/hotelreservation:latest"
container = "hotel-reserv-geo"
command = ["geo"]
port = 8083
[[services]]
name = "mongodb-geo"
runtime = "mongodb"
image = "mongo:4.4.6"
container = "hotel-reserv-geo-mongo"
port = 27017
[services.database]
name = "geo-db"
users = [{ user = "admin", password = "admin", roles = ["readWrite@geo-db"] }, { user = "root", password = "root", roles = ["root@admin"] }]
"#;

fn labels(svc: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("io.kompose.service".to_string(), svc.to_string())])
}

fn container(name: &str, image: &str, command: &[&str], port: u16) -> ContainerSpec {
    ContainerSpec {
        name: name.into(),
        image: image.into(),
        command: command.iter().map(|s| s.to_string()).collect(),
        args: vec![],
        env: vec![EnvVar {
            name: "JAEGER_SAMPLE_RATIO".into(),
            value: "1".into(),
        }],
        ports: vec![port],
        cpu_request: Some("100m".into()),
        cpu_limit: Some("1".into()),
        memory_request: None,
        memory_limit: None,
        liveness: None,
        readiness: None,
        mounts: vec![],
    }
}

fn deployment(name: &str, c: ContainerSpec, hash: &str) -> Deployment {
    let template = PodTemplate {
        labels: labels(name),
        containers: vec![c],
        node_selector: BTreeMap::new(),
        volumes: vec![],
        restart_policy: "Always".into(),
    };
    Deployment {
        name: name.into(),
        created_at: NOW - 600.0,
        labels: labels(name),
        selector: labels(name),
        replicas: 1,
        template: template.clone(),
        revisions: vec![Revision {
            number: 1,
            template,
            hash: hash.into(),
            change_cause: None,
            created_at: NOW - 600.0,
        }],
        generation: 1,
        annotations: BTreeMap::new(),
    }
}

fn pod(
    d: &Deployment,
    suffix: &str,
    ip: &str,
    state: ContainerState,
    ready: bool,
    restarts: u32,
) -> Pod {
    let hash = d.revisions[0].hash.clone();
    let mut l = d.template.labels.clone();
    l.insert("pod-template-hash".into(), hash.clone());
    let c = &d.template.containers[0];
    Pod {
        name: format!("{}-{hash}-{suffix}", d.name),
        uid: format!("uid-{suffix}"),
        created_at: NOW - 180.0,
        labels: l,
        deployment: d.name.clone(),
        rs_hash: hash,
        spec: d.template.clone(),
        node: Some("kind-worker".into()),
        ip: Some(ip.into()),
        phase: PodPhase::Running,
        containers: vec![ContainerStatus {
            name: c.name.clone(),
            image: c.image.clone(),
            image_id: format!("docker.io/{}@sha256:abc", c.image),
            container_id: format!("containerd://{suffix}0000"),
            state,
            last_state: (restarts > 0).then_some(ContainerState::Terminated {
                reason: "Error".into(),
                exit_code: 2,
                started_at: NOW - 62.0,
                finished_at: NOW - 52.0,
            }),
            ready,
            restart_count: restarts,
            last_restart_at: (restarts > 0).then_some(NOW - 52.0),
        }],
        deleting: false,
        runtime: PodRuntime::default(),
    }
}

pub(super) fn fixture() -> Cluster {
    let nodes = vec![
        NodeSpec {
            name: "kind-control-plane".into(),
            control_plane: true,
            internal_ip: "172.18.0.3".into(),
            cpu_millis: 8000,
            memory_mib: 32000,
            pod_cidr: "10.244.0".into(),
        },
        NodeSpec {
            name: "kind-worker".into(),
            control_plane: false,
            internal_ip: "172.18.0.2".into(),
            cpu_millis: 8000,
            memory_mib: 32000,
            pod_cidr: "10.244.1".into(),
        },
    ];
    let mut c = Cluster::new(7, &nodes, NOW);
    let app: AppSpec = toml::from_str(APP).unwrap_or_else(|e| panic!("app: {e}"));
    let geo = deployment(
        "geo",
        container(
            "hotel-reserv-geo",
            "yinfangchen/hotelreservation:latest",
            &["geo"],
            8083,
        ),
        "84fbc958c7",
    );
    let mongo = deployment(
        "mongodb-geo",
        container("hotel-reserv-geo-mongo", "mongo:4.4.6", &[], 27017),
        "5d6f7b8c9",
    );
    let crash = ContainerState::Waiting {
        reason: "CrashLoopBackOff".into(),
        message: "back-off 1m20s".into(),
    };
    let p_geo = pod(&geo, "lxb9r", "10.244.1.23", crash, false, 4);
    let p_mongo = pod(
        &mongo,
        "x2kqz",
        "10.244.1.7",
        ContainerState::Running {
            started_at: NOW - 170.0,
        },
        true,
        0,
    );
    let svc = |name: &str, ip: &str, port: u16, target: u16| Service {
        name: name.into(),
        created_at: NOW - 600.0,
        service_type: "ClusterIP".into(),
        cluster_ip: ip.into(),
        ports: vec![ServicePort {
            name: port.to_string(),
            port,
            target_port: target,
            protocol: "TCP".into(),
        }],
        selector: labels(name),
        labels: labels(name),
    };
    let users = BTreeMap::from([
        (
            "admin".to_string(),
            DbUser {
                password: "admin".into(),
                db: "admin".into(),
                roles: BTreeSet::from(["readWrite@geo-db".to_string()]),
            },
        ),
        (
            "root".to_string(),
            DbUser {
                password: "root".into(),
                db: "admin".into(),
                roles: BTreeSet::from(["root@admin".to_string()]),
            },
        ),
    ]);
    let ns = Namespace {
        name: NS.into(),
        created_at: NOW - 600.0,
        app: Arc::new(app),
        deployments: BTreeMap::from([("geo".to_string(), geo), ("mongodb-geo".to_string(), mongo)]),
        services: BTreeMap::from([
            ("geo".to_string(), svc("geo", "10.96.100.12", 8083, 8083)),
            (
                "mongodb-geo".to_string(),
                svc("mongodb-geo", "10.96.7.200", 27017, 9999),
            ),
        ]),
        config_maps: BTreeMap::new(),
        pvcs: BTreeMap::new(),
        pods: BTreeMap::from([(p_geo.name.clone(), p_geo), (p_mongo.name.clone(), p_mongo)]),
        databases: BTreeMap::from([(
            "mongodb-geo".to_string(),
            DbState {
                name: "geo-db".into(),
                users,
                require_tls: false,
            },
        )]),
        conditions: vec![],
    };
    c.namespaces.insert(NS.into(), ns);
    c.images
        .insert("yinfangchen/hotelreservation:latest".into(), None);
    c.images.insert("mongo:4.4.6".into(), None);
    c
}

pub(super) fn ok(c: &mut Cluster, cmd: &str) -> String {
    let r = run(c, cmd, NS);
    assert!(r.ok, "{cmd} failed: {}", r.stdout);
    r.stdout
}

pub(super) fn fail(c: &mut Cluster, cmd: &str) -> String {
    let r = run(c, cmd, NS);
    assert!(!r.ok, "{cmd} should fail, printed: {}", r.stdout);
    r.stdout
}

#[test]
fn get_pods_table() {
    let mut c = fixture();
    assert_eq!(
        ok(&mut c, "kubectl get pods -n test-hotel-reservation"),
        "NAME                          READY   STATUS             RESTARTS      AGE\n\
         geo-84fbc958c7-lxb9r          0/1     CrashLoopBackOff   4 (52s ago)   3m\n\
         mongodb-geo-5d6f7b8c9-x2kqz   1/1     Running            0             3m\n"
    );
    assert_eq!(
        ok(&mut c, "kubectl get po geo-84fbc958c7-lxb9r -o wide"),
        "NAME                   READY   STATUS             RESTARTS      AGE   IP            NODE          NOMINATED NODE   READINESS GATES\n\
         geo-84fbc958c7-lxb9r   0/1     CrashLoopBackOff   4 (52s ago)   3m    10.244.1.23   kind-worker   <none>           <none>\n"
    );
    let l = ok(
        &mut c,
        "kubectl get pods -l io.kompose.service=geo --show-labels --no-headers",
    );
    assert!(
        l.starts_with("geo-84fbc958c7-lxb9r   0/1")
            && l.contains("io.kompose.service=geo,pod-template-hash=84fbc958c7"),
        "{l}"
    );
    assert_eq!(
        ok(&mut c, "kubectl get pods -n nowhere"),
        "No resources found in nowhere namespace.\n"
    );
    assert_eq!(
        ok(
            &mut c,
            "kubectl get pods -o jsonpath='{.items[*].metadata.name}'"
        ),
        "geo-84fbc958c7-lxb9r mongodb-geo-5d6f7b8c9-x2kqz"
    );
    assert_eq!(
        ok(&mut c, "kubectl get pods -o name"),
        "pod/geo-84fbc958c7-lxb9r\npod/mongodb-geo-5d6f7b8c9-x2kqz\n"
    );
}

#[test]
fn get_services_endpoints_deployments() {
    let mut c = fixture();
    assert_eq!(
        ok(&mut c, "kubectl get svc"),
        "NAME          TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)     AGE\n\
         geo           ClusterIP   10.96.100.12   <none>        8083/TCP    10m\n\
         mongodb-geo   ClusterIP   10.96.7.200    <none>        27017/TCP   10m\n"
    );
    // geo's pod is not ready: no endpoints; mongodb-geo's targetPort is wrong and shows.
    assert_eq!(
        ok(&mut c, "kubectl get endpoints"),
        "NAME          ENDPOINTS         AGE\ngeo           <none>            10m\nmongodb-geo   10.244.1.7:9999   10m\n"
    );
    assert_eq!(
        ok(&mut c, "kubectl get deploy -o wide"),
        "NAME          READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS               IMAGES                                SELECTOR\n\
         geo           0/1     1            0           10m   hotel-reserv-geo         yinfangchen/hotelreservation:latest   io.kompose.service=geo\n\
         mongodb-geo   1/1     1            1           10m   hotel-reserv-geo-mongo   mongo:4.4.6                           io.kompose.service=mongodb-geo\n"
    );
    assert_eq!(
        ok(
            &mut c,
            "kubectl get svc mongodb-geo -o jsonpath={.spec.ports[0].targetPort}"
        ),
        "9999"
    );
    let all = ok(&mut c, "kubectl get all");
    assert!(
        all.contains("pod/geo-84fbc958c7-lxb9r")
            && all.contains("service/geo ")
            && all.contains("deployment.apps/geo ")
            && all.contains("replicaset.apps/geo-84fbc958c7"),
        "{all}"
    );
    let rs = ok(&mut c, "kubectl get rs");
    assert!(rs.starts_with("NAME                    DESIRED   CURRENT   READY   AGE\ngeo-84fbc958c7          1         1         0       10m\n"), "{rs}");
}

#[test]
fn events_and_describe_pod() {
    let mut c = fixture();
    let pod = "geo-84fbc958c7-lxb9r";
    c.now = NOW - 300.0;
    c.emit_event(
        NS,
        "Normal",
        "Scheduled",
        &format!("pod/{pod}"),
        &format!("Successfully assigned {NS}/{pod} to kind-worker"),
        "default-scheduler",
    );
    for i in 0..4 {
        c.now = NOW - 200.0 + i as f64 * 40.0;
        c.emit_event(
            NS,
            "Warning",
            "BackOff",
            &format!("pod/{pod}"),
            &format!(
                "Back-off restarting failed container hotel-reserv-geo in pod {pod}_{NS}(uid-lxb9r)"
            ),
            "kubelet",
        );
    }
    c.now = NOW;
    let ev = ok(&mut c, "kubectl get events --field-selector type=Warning");
    assert_eq!(
        ev,
        format!(
            "LAST SEEN   TYPE      REASON    OBJECT                     MESSAGE\n80s         Warning   BackOff   pod/{pod}   Back-off restarting failed container hotel-reserv-geo in pod {pod}_{NS}(uid-lxb9r)\n"
        )
    );
    let d = ok(&mut c, &format!("kubectl describe pod {pod}"));
    let expect_head = format!(
        "Name:             {pod}\nNamespace:        {NS}\nPriority:         0\nService Account:  default\nNode:             kind-worker/172.18.0.2\nStart Time:       Tue, 13 Jan 2026 12:27:06 +0000\nLabels:           io.kompose.service=geo\n                  pod-template-hash=84fbc958c7\nAnnotations:      <none>\nStatus:           Running\nIP:               10.244.1.23\nIPs:\n  IP:           10.244.1.23\nControlled By:  ReplicaSet/geo-84fbc958c7\nContainers:\n  hotel-reserv-geo:\n    Container ID:  containerd://lxb9r0000\n    Image:         yinfangchen/hotelreservation:latest\n"
    );
    assert!(d.starts_with(&expect_head), "{d}");
    assert!(d.contains("    State:          Waiting\n      Reason:       CrashLoopBackOff\n    Last State:     Terminated\n      Reason:       Error\n      Exit Code:    2\n"), "{d}");
    assert!(d.contains("    Restart Count:  4\n"), "{d}");
    assert!(d.contains("Conditions:\n  Type                        Status\n  PodReadyToStartContainers   True \n"), "{d}");
    assert!(d.contains("QoS Class:                   Burstable\nNode-Selectors:              <none>\nTolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n"), "{d}");
    assert!(d.ends_with(&format!(
        "Events:\n  Type     Reason     Age                  From               Message\n  ----     ------     ----                 ----               -------\n  Normal   Scheduled  5m                   default-scheduler  Successfully assigned {NS}/{pod} to kind-worker\n  Warning  BackOff    80s (x4 over 3m20s)  kubelet            Back-off restarting failed container hotel-reserv-geo in pod {pod}_{NS}(uid-lxb9r)\n"
    )), "{d}");
    // prefix match, as kubectl describe does
    let m = ok(&mut c, "kubectl describe pod mongodb-geo");
    assert!(
        m.contains("Events:                      <none>")
            || m.contains("Events:  <none>")
            || m.contains("<none>\n"),
        "{m}"
    );
    assert!(ok(&mut c, "kubectl describe svc mongodb-geo").contains(
        "TargetPort:               9999/TCP\nEndpoints:                10.244.1.7:9999\n"
    ));
}

#[test]
fn json_and_yaml_views() {
    let mut c = fixture();
    let j = ok(&mut c, "kubectl get deployment geo -o json");
    let v: serde_json::Value = serde_json::from_str(&j).unwrap_or_default();
    assert_eq!(v["kind"], "Deployment");
    assert_eq!(
        v["spec"]["template"]["spec"]["containers"][0]["command"][0],
        "geo"
    );
    assert!(
        j.contains("\n    \"apiVersion\": \"apps/v1\","),
        "4-space indent: {j}"
    );
    // the JSON view round-trips to the same model object
    let n = c.namespace(NS).cloned().unwrap_or_else(|| panic!("ns"));
    let d = &n.deployments["geo"];
    assert_eq!(
        super::objects::deployment_from(&super::objects::deployment_json(&n, d), d).as_ref(),
        Ok(d)
    );
    let s = &n.services["mongodb-geo"];
    assert_eq!(
        super::objects::service_from(&super::objects::service_json(NS, s), s).as_ref(),
        Ok(s)
    );
    let y = ok(&mut c, "kubectl get svc geo -o yaml");
    assert!(y.starts_with("apiVersion: v1\nkind: Service\nmetadata:\n  creationTimestamp: \"2026-01-13T12:20:06Z\"\n"), "{y}");
    assert!(y.contains("  ports:\n  - name: \"8083\"\n    port: 8083\n    protocol: TCP\n    targetPort: 8083\n"), "{y}");
}

#[test]
fn errors_like_kubectl() {
    let mut c = fixture();
    assert_eq!(
        fail(&mut c, "kubectl get foo"),
        "error: the server doesn't have a resource type \"foo\""
    );
    assert_eq!(
        fail(&mut c, "kubectl frobnicate"),
        "error: unknown command \"frobnicate\" for \"kubectl\""
    );
    assert_eq!(
        fail(&mut c, "kubectl get pods --foo"),
        "error: unknown flag: --foo\nSee 'kubectl get --help' for usage."
    );
    assert_eq!(
        fail(&mut c, "kubectl get pod nope"),
        "Error from server (NotFound): pods \"nope\" not found"
    );
    assert_eq!(
        fail(&mut c, "kubectl describe deploy nope"),
        "Error from server (NotFound): deployments.apps \"nope\" not found"
    );
    assert!(fail(&mut c, "kubectl logs -f geo-84fbc958c7-lxb9r").contains("not supported"));
    assert!(fail(&mut c, "kubectl edit deploy geo").contains("not supported"));
    assert!(fail(&mut c, "kubectl get pods -w").contains("watch"));
    assert_eq!(fail(&mut c, "ls -la"), "/bin/sh: 1: ls: not found");
}

#[test]
fn nodes_namespaces_top_rollout() {
    let mut c = fixture();
    assert_eq!(
        ok(&mut c, "kubectl get nodes"),
        "NAME                 STATUS   ROLES           AGE    VERSION\nkind-control-plane   Ready    control-plane   3d5h   v1.32.0\nkind-worker          Ready    <none>          3d5h   v1.32.0\n"
    );
    let ns = ok(&mut c, "kubectl get ns");
    assert!(
        ns.contains("default ") && ns.contains("test-hotel-reservation   Active   10m"),
        "{ns}"
    );
    let top = ok(&mut c, "kubectl top pods");
    assert!(top.starts_with("NAME                          CPU(cores)   MEMORY(bytes)   \nmongodb-geo-5d6f7b8c9-x2kqz   "), "{top}");
    assert_eq!(top, ok(&mut c, "kubectl top pods"), "reads repeat exactly");
    let s = fail(&mut c, "kubectl rollout status deployment/geo");
    assert!(s.starts_with("Waiting for deployment \"geo\" rollout to finish: 0 of 1 updated replicas are available..."), "{s}");
    assert_eq!(
        ok(&mut c, "kubectl rollout status deploy mongodb-geo"),
        "deployment \"mongodb-geo\" successfully rolled out\n"
    );
    assert_eq!(
        ok(&mut c, "kubectl rollout history deployment/geo"),
        "deployment.apps/geo \nREVISION  CHANGE-CAUSE\n1         <none>\n\n"
    );
    assert_eq!(
        ok(&mut c, "kubectl get pods | grep mongo | awk '{print $1}'"),
        "mongodb-geo-5d6f7b8c9-x2kqz\n"
    );
}

#[test]
fn smoke_on_builtin_apps() {
    let Some(Ok(suite)) = crate::suite::Suite::builtin("aiopslab") else {
        return;
    };
    let mut c = Cluster::new(3, &suite.nodes, NOW);
    for app in suite.apps.values() {
        let _ = c.deploy_app(app.clone(), 900.0);
    }
    c.advance(30.0);
    for ns in [
        "test-hotel-reservation",
        "test-social-network",
        "astronomy-shop",
    ] {
        for cmd in [
            "kubectl get pods -o wide",
            "kubectl get all",
            "kubectl get events",
            "kubectl get svc,ep",
            "kubectl describe pods",
            "kubectl describe deploy",
            "kubectl get deploy -o yaml",
            "kubectl top pods",
            "kubectl describe nodes",
            "kubectl get pv,pvc",
        ] {
            let r = run(&mut c, &format!("{cmd} -n {ns}"), ns);
            assert!(
                r.ok || r.stdout.contains("No resources"),
                "{cmd} -n {ns}: {}",
                r.stdout
            );
        }
    }
}
