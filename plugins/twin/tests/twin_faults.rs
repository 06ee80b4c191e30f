//! The twin's consequences: each fault family, injected from the shipped suite, puts the
//! cluster in the state an SRE would recognise, and fixing the state fixes the consequences.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_twin::cluster::{CallProblem, Cluster, CrashCause, PodPhase, ProcessState};
use aoi_twin::env::TwinEnv;
use aoi_twin::oracle::pod_healthy;
use aoi_twin::suite::Suite;

fn suite() -> Suite {
    Suite::resolve("aiopslab").expect("shipped suite loads")
}

fn env(problem: &str, seed: u64) -> TwinEnv {
    TwinEnv::start(&suite(), problem, seed).expect("problem starts")
}

fn process(c: &Cluster, ns: &str, svc: &str) -> ProcessState {
    c.health_of(ns).unwrap().services[svc].process.clone()
}

fn edge_problem(c: &Cluster, ns: &str, caller: &str, callee: &str) -> Option<CallProblem> {
    c.health_of(ns).unwrap().services[caller]
        .edges
        .iter()
        .find(|e| e.callee == callee)
        .and_then(|e| e.problem.clone())
}

fn unhealthy_pods(c: &Cluster, ns: &str) -> Vec<String> {
    c.namespace(ns)
        .unwrap()
        .pods
        .values()
        .filter(|p| !pod_healthy(p))
        .map(|p| p.name.clone())
        .collect()
}

const HOTEL: &str = "test-hotel-reservation";
const SOCIAL: &str = "test-social-network";

#[test]
fn noop_problems_leave_every_pod_healthy() {
    for (id, ns) in [
        ("noop_detection_hotel_reservation-1", HOTEL),
        ("noop_detection_social_network-1", SOCIAL),
        ("noop_detection_astronomy_shop-1", "astronomy-shop"),
    ] {
        for seed in 0..5 {
            let e = env(id, seed);
            e.with_cluster(|c| {
                assert!(unhealthy_pods(c, ns).is_empty(), "{id} seed {seed}: {:?}", unhealthy_pods(c, ns));
                for (name, h) in &c.health_of(ns).unwrap().services {
                    assert_eq!(h.process, ProcessState::Up, "{id}: {name}");
                    assert!(h.error_rate < 0.01, "{id}: {name} error rate {}", h.error_rate);
                }
            });
        }
    }
}

#[test]
fn target_port_fault_refuses_connections_and_a_patch_fixes_it() {
    let e = env("k8s_target_port-misconfig-mitigation-1", 1);
    e.with_cluster(|c| {
        // Pods stay Running and ready: only the Service is wrong.
        assert!(unhealthy_pods(c, SOCIAL).is_empty());
        let p = edge_problem(c, SOCIAL, "compose-post-service", "user-service");
        assert_eq!(p, Some(CallProblem::ConnectionRefused { port: 9999 }));
        c.namespace_mut(SOCIAL).unwrap().services.get_mut("user-service").unwrap().ports[0].target_port = 9090;
        c.reconcile();
        assert_eq!(edge_problem(c, SOCIAL, "compose-post-service", "user-service"), None);
    });
}

#[test]
fn scale_to_zero_leaves_callers_without_endpoints() {
    let e = env("scale_pod_zero_social_net-mitigation-1", 2);
    e.with_cluster(|c| {
        assert!(c.namespace(SOCIAL).unwrap().pods.values().all(|p| p.deployment != "user-service"));
        assert_eq!(edge_problem(c, SOCIAL, "compose-post-service", "user-service"), Some(CallProblem::NoEndpoints));
    });
}

#[test]
fn missing_node_leaves_the_pod_pending() {
    let e = env("assign_to_non_existent_node_social_net-mitigation-1", 3);
    e.with_cluster(|c| {
        let pods: Vec<_> = c.namespace(SOCIAL).unwrap().pods.values().filter(|p| p.deployment == "user-service").cloned().collect();
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0].phase, PodPhase::Pending);
        assert!(pods[0].node.is_none());
        assert!(c.events.iter().any(|ev| ev.reason == "FailedScheduling" && ev.message.contains("node affinity/selector")));
    });
}

#[test]
fn mongo_faults_crash_their_go_clients_until_fixed() {
    let e = env("revoke_auth_mongodb-mitigation-1", 4);
    e.with_cluster(|c| {
        match process(c, HOTEL, "geo") {
            ProcessState::Crashing { cause: CrashCause::Dependency { callee, problem: CallProblem::NotAuthorized { .. } }, .. } => {
                assert_eq!(callee, "mongodb-geo")
            }
            other => panic!("geo should crash on authorization, got {other:?}"),
        }
        let geo = c.namespace(HOTEL).unwrap().pods.values().find(|p| p.deployment == "geo").unwrap().clone();
        assert!(geo.restarts() >= 1, "geo restarted {} times", geo.restarts());
    });
    let e = env("user_unregistered_mongodb-mitigation-2", 5);
    e.with_cluster(|c| match process(c, HOTEL, "rate") {
        ProcessState::Crashing { cause: CrashCause::Dependency { problem: CallProblem::AuthFailed { .. }, .. }, .. } => {}
        other => panic!("rate should crash on authentication, got {other:?}"),
    });
}

#[test]
fn tls_only_mongo_breaks_the_cpp_client_without_crashing_it() {
    let e = env("auth_miss_mongodb-mitigation-1", 6);
    e.with_cluster(|c| {
        assert_eq!(process(c, SOCIAL, "url-shorten-service"), ProcessState::Up);
        assert_eq!(edge_problem(c, SOCIAL, "url-shorten-service", "url-shorten-mongodb"), Some(CallProblem::TlsRequired));
    });
}

#[test]
fn buggy_image_and_wrong_binary() {
    let e = env("misconfig_app_hotel_res-mitigation-1", 7);
    e.with_cluster(|c| assert!(matches!(process(c, HOTEL, "geo"), ProcessState::Crashing { .. })));
    let e = env("wrong_bin_usage-mitigation-1", 8);
    e.with_cluster(|c| {
        assert!(matches!(process(c, HOTEL, "profile"), ProcessState::WrongBinary { .. }));
        assert!(matches!(edge_problem(c, HOTEL, "frontend", "profile"), Some(CallProblem::Unimplemented { .. })));
    });
}

#[test]
fn redeploy_without_pv_leaves_claims_pending() {
    let e = env("redeploy_without_PV-mitigation-1", 9);
    e.with_cluster(|c| {
        let ns = c.namespace(HOTEL).unwrap();
        assert!(ns.pvcs.values().any(|p| p.phase == aoi_twin::cluster::ClaimPhase::Pending));
        assert!(!unhealthy_pods(c, HOTEL).is_empty());
    });
}

#[test]
fn the_same_seed_repeats_and_another_differs() {
    let snapshot = |seed| {
        let e = env("container_kill-detection", seed);
        e.with_cluster(|c| {
            let mut v: Vec<String> = c.namespace(HOTEL).unwrap().pods.values().map(|p| format!("{} {} {}", p.name, p.restarts(), p.created_at)).collect();
            v.sort();
            v
        })
    };
    assert_eq!(snapshot(11), snapshot(11));
    assert_ne!(snapshot(11), snapshot(12));
}
