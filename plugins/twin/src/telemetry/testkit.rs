//! Hand-built clusters for telemetry tests (deploy and health are built elsewhere).

use crate::cluster::{
    CallProblem, Cluster, ContainerSpec, ContainerState, ContainerStatus, DbState, DbUser,
    EdgeHealth, Health, Namespace, Pod, PodPhase, PodTemplate, ProcessState, ServiceHealth,
};
use crate::suite::schema::{AppSpec, NodeSpec};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) const NS: &str = "test-hotel-reservation";
pub(crate) const NOW: f64 = 1_768_307_406.0;

const HOTEL: &str = r#"
name = "hotel-reservation"
display_name = "Hotel Reservation"
namespace = "test-hotel-reservation"
description = "hotel"
entry = "frontend"
selector_label = "io.kompose.service"
load_rps = 10.0

[[services]]
name = "frontend"
runtime = "go-zerolog-http"
image = "yinfangchen/hotelreservation:latest"
container = "hotel-reserv-frontend"
port = 5000
calls = ["search", "profile"]
operations = ["HTTP GET /hotels"]
latency_ms = 3.0

[[services]]
name = "search"
runtime = "go-zerolog"
image = "yinfangchen/hotelreservation:latest"
container = "hotel-reserv-search"
port = 8082
calls = ["geo"]
operations = ["/search.Search/Nearby"]

[[services]]
name = "geo"
runtime = "go-zerolog"
image = "yinfangchen/hotelreservation:latest"
container = "hotel-reserv-geo"
port = 8083
calls = ["mongodb-geo"]
hard_dependencies = ["mongodb-geo"]
operations = ["/geo.Geo/Nearby"]
db_client = { user = "admin" }
resources = { cpu_limit = "1", memory_limit = "512Mi", cpu_request = "100m" }

[[services]]
name = "profile"
runtime = "go-zerolog"
image = "yinfangchen/hotelreservation:latest"
container = "hotel-reserv-profile"
port = 8081
calls = ["memcached-profile"]
operations = ["/profile.Profile/GetProfiles"]

[[services]]
name = "memcached-profile"
runtime = "memcached"
image = "memcached:1.6.7"
container = "hotel-reserv-profile-mmc"
port = 11211

[[services]]
name = "mongodb-geo"
runtime = "mongodb"
image = "mongo:4.4.6"
container = "hotel-reserv-geo-mongo"
port = 27017
database = { name = "geo-db", users = [{ user = "admin", password = "admin", roles = ["readWrite@geo-db"] }] }
"#;

pub(crate) fn app() -> Arc<AppSpec> {
    match toml::from_str::<AppSpec>(HOTEL) {
        Ok(a) => Arc::new(a),
        Err(e) => panic!("test app: {e}"),
    }
}

fn pod(app: &AppSpec, service: &str, ip: &str) -> Pod {
    let spec = app
        .services
        .iter()
        .find(|s| s.name.get_ref() == service)
        .unwrap_or_else(|| panic!("no {service}"));
    let mut labels = BTreeMap::new();
    labels.insert(app.selector_label.clone(), service.to_string());
    let c = ContainerSpec {
        name: spec.container.clone(),
        image: spec.image.clone(),
        command: vec![],
        args: vec![],
        env: vec![],
        ports: vec![spec.port],
        cpu_request: spec.resources.cpu_request.clone(),
        cpu_limit: spec.resources.cpu_limit.clone(),
        memory_request: None,
        memory_limit: spec.resources.memory_limit.clone(),
        liveness: None,
        readiness: None,
        mounts: vec![],
    };
    Pod {
        name: format!("{service}-84fbc958c7-x2kqz"),
        uid: "uid".into(),
        created_at: NOW - 7200.0,
        labels: labels.clone(),
        deployment: service.to_string(),
        rs_hash: "84fbc958c7".into(),
        spec: PodTemplate {
            labels,
            containers: vec![c],
            node_selector: BTreeMap::new(),
            volumes: vec![],
            restart_policy: "Always".into(),
        },
        node: Some("kind-worker".into()),
        ip: Some(ip.to_string()),
        phase: PodPhase::Running,
        containers: vec![ContainerStatus {
            name: spec.container.clone(),
            image: spec.image.clone(),
            image_id: String::new(),
            container_id: "containerd://abc".into(),
            state: ContainerState::Running {
                started_at: NOW - 7200.0,
            },
            last_state: None,
            ready: true,
            restart_count: 0,
            last_restart_at: None,
        }],
        deleting: false,
        runtime: Default::default(),
    }
}

/// A healthy hotel namespace at [`NOW`].
pub(crate) fn healthy(seed: u64) -> Cluster {
    let nodes = vec![NodeSpec {
        name: "kind-worker".into(),
        control_plane: false,
        internal_ip: "172.18.0.2".into(),
        cpu_millis: 8000,
        memory_mib: 16000,
        pod_cidr: "10.244.1".into(),
    }];
    let mut cluster = Cluster::new(seed, &nodes, NOW);
    let app = app();
    let mut pods = BTreeMap::new();
    for (i, s) in app.services.iter().enumerate() {
        let p = pod(&app, s.name.get_ref(), &format!("10.244.1.{}", 10 + i));
        pods.insert(p.name.clone(), p);
    }
    let mut databases = BTreeMap::new();
    let mut users = BTreeMap::new();
    users.insert(
        "admin".to_string(),
        DbUser {
            password: "admin".into(),
            db: "admin".into(),
            roles: ["readWrite@geo-db".to_string()].into_iter().collect(),
        },
    );
    databases.insert(
        "mongodb-geo".to_string(),
        DbState {
            name: "geo-db".into(),
            users,
            require_tls: false,
        },
    );
    let mut health = Health::default();
    let rates = crate::telemetry::baseline_rates(&app);
    for s in &app.services {
        let name = s.name.get_ref().clone();
        health.services.insert(
            name.clone(),
            ServiceHealth {
                name: name.clone(),
                process: ProcessState::Up,
                desired_replicas: 1,
                ready_replicas: 1,
                error_rate: 0.0,
                p50_ms: s.latency_ms,
                p99_ms: s.latency_ms * 4.0,
                request_rate: rates.get(&name).copied().unwrap_or(0.0),
                cpu_millis: s.cpu_millis,
                memory_mib: s.memory_mib,
                edges: s
                    .calls
                    .iter()
                    .map(|c| EdgeHealth {
                        callee: c.get_ref().clone(),
                        error_rate: 0.0,
                        added_latency_ms: 0.0,
                        problem: None,
                    })
                    .collect(),
                active_effects: vec![],
                changed_at: NOW - 7200.0,
            },
        );
    }
    cluster.namespaces.insert(
        NS.to_string(),
        Namespace {
            name: NS.to_string(),
            created_at: NOW - 7200.0,
            app,
            deployments: BTreeMap::new(),
            services: BTreeMap::new(),
            config_maps: BTreeMap::new(),
            pvcs: BTreeMap::new(),
            pods,
            databases,
            conditions: vec![],
        },
    );
    cluster.health.insert(NS.to_string(), health);
    cluster
}

pub(crate) fn sh<'a>(c: &'a mut Cluster, service: &str) -> &'a mut ServiceHealth {
    c.health
        .get_mut(NS)
        .and_then(|h| h.services.get_mut(service))
        .unwrap_or_else(|| panic!("no health for {service}"))
}

pub(crate) fn pod_mut<'a>(c: &'a mut Cluster, service: &str) -> &'a mut Pod {
    c.namespaces
        .get_mut(NS)
        .and_then(|n| n.pods.get_mut(&format!("{service}-84fbc958c7-x2kqz")))
        .unwrap_or_else(|| panic!("no pod for {service}"))
}

pub(crate) fn edge_mut<'a>(c: &'a mut Cluster, caller: &str, callee: &str) -> &'a mut EdgeHealth {
    sh(c, caller)
        .edges
        .iter_mut()
        .find(|e| e.callee == callee)
        .unwrap_or_else(|| panic!("no edge {caller}->{callee}"))
}

/// geo crash-loops on the database: `problem` at start-up, exit `code`, the fault 10 min ago.
pub(crate) fn geo_crashing(seed: u64, problem: CallProblem, code: i32) -> Cluster {
    let mut c = healthy(seed);
    let onset = NOW - 600.0;
    {
        let s = sh(&mut c, "geo");
        s.process = ProcessState::Crashing {
            cause: crate::cluster::CrashCause::Dependency {
                callee: "mongodb-geo".into(),
                problem: problem.clone(),
            },
            exit_code: code,
        };
        s.ready_replicas = 0;
        s.error_rate = 1.0;
        s.changed_at = onset;
        s.edges[0].error_rate = 1.0;
        s.edges[0].problem = Some(problem);
    }
    {
        let p = pod_mut(&mut c, "geo");
        let st = &mut p.containers[0];
        st.state = ContainerState::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 2m40s".into(),
        };
        st.last_state = Some(ContainerState::Terminated {
            reason: "Error".into(),
            exit_code: code,
            started_at: NOW - 70.0,
            finished_at: NOW - 59.0,
        });
        st.ready = false;
        st.restart_count = 5;
        st.last_restart_at = Some(NOW - 70.0);
    }
    {
        let s = sh(&mut c, "search");
        s.error_rate = 1.0;
        s.changed_at = onset;
        s.edges[0].error_rate = 1.0;
        s.edges[0].problem = Some(CallProblem::ConnectionRefused { port: 8083 });
    }
    {
        let s = sh(&mut c, "frontend");
        s.error_rate = 0.5;
        s.changed_at = onset;
        let e = edge_mut(&mut c, "frontend", "search");
        e.error_rate = 1.0;
        e.problem = Some(CallProblem::UpstreamError {
            message: "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 10.244.1.12:8083: connect: connection refused\"".into(),
        });
    }
    c
}
