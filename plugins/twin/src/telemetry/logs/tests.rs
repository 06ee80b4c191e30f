use super::*;
use crate::cluster::CallProblem;
use crate::telemetry::testkit::{geo_crashing, healthy, NS};

const GEO_POD: &str = "geo-84fbc958c7-x2kqz";

fn error_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            l.contains(" ERR ")
                || l.contains(" FTL ")
                || l.contains(" PNC ")
                || l.contains("<error>")
                || l.contains("panic:")
        })
        .count()
}

#[test]
fn same_seed_same_logs_other_seed_other_noise() {
    let a = healthy(7);
    let b = healthy(7);
    let c = healthy(8);
    for svc in ["frontend", "geo", "mongodb-geo", "search"] {
        assert_eq!(
            service_logs(&a, NS, svc),
            service_logs(&b, NS, svc),
            "{svc}"
        );
    }
    let differs = ["frontend", "geo", "mongodb-geo", "search", "profile"]
        .iter()
        .any(|s| service_logs(&a, NS, s) != service_logs(&c, NS, s));
    assert!(differs, "another seed should change something");
}

#[test]
fn healthy_services_print_start_up_and_little_else() {
    let c = healthy(1);
    let geo = service_logs(&c, NS, "geo").unwrap_or_default();
    assert!(
        geo.contains("INF cmd/geo/main.go:36 > Read database URL: mongodb-geo:27017"),
        "{geo}"
    );
    assert!(geo.contains("New session successfull..."));
    assert!(geo.contains("Starting server..."));
    assert!(geo
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("{\"level\":\"info\"")));
    for svc in ["frontend", "search", "geo", "profile", "mongodb-geo"] {
        let text = service_logs(&c, NS, svc).unwrap_or_default();
        assert!(error_lines(&text) <= 2, "{svc}: {text}");
        assert!(text.lines().count() <= MAX_LINES);
    }
    let mongo = service_logs(&c, NS, "mongodb-geo").unwrap_or_default();
    assert!(mongo.contains("\"msg\":\"Waiting for connections\""));
    assert!(mongo.contains("\"id\":20250"), "{mongo}");
    assert!(!mongo.contains("Authentication failed"));
    assert_eq!(service_logs(&c, NS, "memcached-profile"), Ok(String::new()));
}

#[test]
fn auth_failure_crash_prints_the_panic_and_mongo_logs_user_not_found() {
    let c = geo_crashing(
        3,
        CallProblem::AuthFailed {
            user: "admin".into(),
            db: "admin".into(),
        },
        2,
    );
    let geo = service_logs(&c, NS, "geo").unwrap_or_default();
    assert!(geo.contains("PNC cmd/geo/db.go:26 > server returned error on SASL authentication step: Authentication failed."), "{geo}");
    assert!(geo.contains("panic: server returned error on SASL authentication step"));
    assert!(geo.contains("goroutine 1 [running]:"));
    assert!(!geo.contains("Starting server..."));
    let prev = pod_logs(&c, NS, GEO_POD, None, true).unwrap_or_default();
    assert!(prev.contains("Authentication failed."));
    let mongo = service_logs(&c, NS, "mongodb-geo").unwrap_or_default();
    assert!(mongo.contains("\"id\":20249,"), "{mongo}");
    assert!(mongo.contains("UserNotFound: Could not find user \\\"admin\\\" for db \\\"admin\\\""));
}

#[test]
fn unreachable_and_not_authorized_have_their_own_ends() {
    let c = geo_crashing(
        3,
        CallProblem::DnsFailure {
            host: "mongodb-geo-bad:27017".into(),
        },
        2,
    );
    let geo = service_logs(&c, NS, "geo").unwrap_or_default();
    assert!(
        geo.contains("PNC cmd/geo/db.go:26 > no reachable servers"),
        "{geo}"
    );
    assert!(geo.contains("panic: no reachable servers"));
    let c = geo_crashing(
        3,
        CallProblem::NotAuthorized {
            user: "admin".into(),
            db: "geo-db".into(),
        },
        1,
    );
    let geo = service_logs(&c, NS, "geo").unwrap_or_default();
    assert!(
        geo.contains(
            "FTL cmd/geo/db.go:35 > not authorized on geo-db to execute command { count: \"geo\""
        ),
        "{geo}"
    );
    assert!(!geo.contains("panic:"));
    let mongo = service_logs(&c, NS, "mongodb-geo").unwrap_or_default();
    assert!(!mongo.contains("Authentication failed"));
}

#[test]
fn failing_edges_show_in_the_callers_logs() {
    let c = geo_crashing(
        5,
        CallProblem::AuthFailed {
            user: "admin".into(),
            db: "admin".into(),
        },
        2,
    );
    let search = service_logs(&c, NS, "search").unwrap_or_default();
    assert!(search.contains("rpc error: code = Unavailable"), "{search}");
    assert!(search.contains("connect: connection refused"));
    let fe = pod_logs(&c, NS, "frontend-84fbc958c7-x2kqz", None, false).unwrap_or_default();
    assert!(
        fe.contains("ERR services/frontend/server.go:271 > HTTP 500 GET /hotels"),
        "{fe}"
    );
    assert!(fe.lines().count() <= MAX_LINES);
}

#[test]
fn kubectl_errors() {
    let c = geo_crashing(
        5,
        CallProblem::AuthFailed {
            user: "admin".into(),
            db: "admin".into(),
        },
        2,
    );
    assert_eq!(
        pod_logs(&c, NS, "nope", None, false),
        Err("Error from server (NotFound): pods \"nope\" not found".to_string())
    );
    let e = pod_logs(&c, NS, "search-84fbc958c7-x2kqz", None, true)
        .err()
        .unwrap_or_default();
    assert_eq!(
        e,
        "Error from server (BadRequest): previous terminated container \"hotel-reserv-search\" in pod \"search-84fbc958c7-x2kqz\" not found"
    );
    assert_eq!(
        service_logs(&c, NS, "nope"),
        Err("Error: Your service/namespace does not exist. Use kubectl to check.".to_string())
    );
    let mut c = c;
    let st = &mut crate::telemetry::testkit::pod_mut(&mut c, "profile").containers[0];
    st.state = crate::cluster::ContainerState::Waiting {
        reason: "ImagePullBackOff".into(),
        message: String::new(),
    };
    let e = pod_logs(&c, NS, "profile-84fbc958c7-x2kqz", None, false)
        .err()
        .unwrap_or_default();
    assert!(
        e.ends_with("is waiting to start: trying and failing to pull image"),
        "{e}"
    );
}

#[test]
fn wrong_binary_prints_the_other_programs_start_up() {
    let mut c = healthy(2);
    crate::telemetry::testkit::sh(&mut c, "profile").process =
        crate::cluster::ProcessState::WrongBinary { runs: "geo".into() };
    let text = service_logs(&c, NS, "profile").unwrap_or_default();
    assert!(
        text.contains("Read database URL: mongodb-geo:27017"),
        "{text}"
    );
}
