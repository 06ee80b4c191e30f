//! The gRPC transport (package aoi.v1) against the `aoi` binary built for these tests, with the
//! tonic client generated from proto/aoi/v1: login, incidents, tenant isolation, missing
//! token, a viewer's refused decision, and a session's steps streamed live. REST is used only
//! for setup the gRPC API does not cover (tenants, users, environments).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aoi_e2e::Server;
use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Request};

#[allow(clippy::all, clippy::pedantic, dead_code, missing_docs)]
mod pb {
    tonic::include_proto!("aoi.v1");
}

use pb::approval_service_client::ApprovalServiceClient;
use pb::auth_service_client::AuthServiceClient;
use pb::incident_service_client::IncidentServiceClient;
use pb::session_service_client::SessionServiceClient;

const AOI: &str = env!("CARGO_BIN_EXE_aoi");
use aoi_e2e::ADMIN_PASSWORD;
const TWIN_PROBLEM: &str = "k8s_target_port-misconfig-mitigation-1";

/// `message` with `authorization: Bearer <token>` metadata.
fn authed<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn channel(server: &Server) -> Channel {
    Channel::from_shared(server.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn login(channel: &Channel, tenant: &str, username: &str, password: &str) -> String {
    AuthServiceClient::new(channel.clone())
        .login(pb::LoginRequest {
            tenant: tenant.into(),
            username: username.into(),
            password: password.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("login {tenant}/{username}: {e}"))
        .into_inner()
        .access_token
}

fn new_incident(title: &str) -> pb::CreateIncidentRequest {
    pb::CreateIncidentRequest {
        title: title.into(),
        severity: Some("critical".into()),
        service: Some("frontend".into()),
        namespace: None,
        fingerprint: None,
        labels: [("team".to_string(), "sre".to_string())].into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_identity_incidents_and_approvals() {
    let server = Server::start(AOI, false).await;
    let ch = channel(&server).await;

    // Login; a wrong password is UNAUTHENTICATED.
    let admin = login(&ch, "default", "admin", ADMIN_PASSWORD).await;
    let wrong = AuthServiceClient::new(ch.clone())
        .login(pb::LoginRequest {
            tenant: "default".into(),
            username: "admin".into(),
            password: "not-the-password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");

    // No token, or a garbage one: UNAUTHENTICATED.
    let mut incidents = IncidentServiceClient::new(ch.clone());
    let missing = incidents
        .list(pb::ListIncidentsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated, "{missing:?}");
    assert_eq!(
        missing.metadata().get("aoi-error-code").unwrap(),
        "unauthenticated"
    );
    let garbage = incidents
        .list(authed("not-a-token", pb::ListIncidentsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(garbage.code(), Code::Unauthenticated, "{garbage:?}");

    // Create, list, get.
    let created = incidents
        .create(authed(&admin, new_incident("checkout is failing")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.title, "checkout is failing");
    assert_eq!(created.severity, "critical");
    assert_eq!(created.state, "open");
    assert_eq!(created.labels.get("team").map(String::as_str), Some("sre"));
    let listed = incidents
        .list(authed(&admin, pb::ListIncidentsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .incidents;
    assert!(listed.iter().any(|i| i.id == created.id), "{listed:?}");
    let filtered = incidents
        .list(authed(
            &admin,
            pb::ListIncidentsRequest {
                state: Some("resolved".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .incidents;
    assert!(filtered.iter().all(|i| i.id != created.id));
    let bad_state = incidents
        .list(authed(
            &admin,
            pb::ListIncidentsRequest {
                state: Some("sideways".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_state.code(), Code::InvalidArgument, "{bad_state:?}");
    let detail = incidents
        .get(authed(
            &admin,
            pb::GetIncidentRequest {
                id: created.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(detail.incident.unwrap().id, created.id);
    let empty_title = incidents
        .create(authed(&admin, new_incident("   ")))
        .await
        .unwrap_err();
    assert_eq!(empty_title.code(), Code::InvalidArgument, "{empty_title:?}");

    // A message over server.body_limit_bytes (1 MiB by default) is refused before any work.
    let huge = incidents
        .create(authed(&admin, new_incident(&"x".repeat(2 * 1024 * 1024))))
        .await
        .unwrap_err();
    assert_eq!(huge.code(), Code::OutOfRange, "{huge:?}");

    // Another tenant's incident is NOT_FOUND, and not listed.
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/tenants",
            Some(&admin),
            Some(json!({"slug": "tenant-b", "name": "B", "admin_username": "boss", "admin_password": "boss-password"})),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let boss = login(&ch, "tenant-b", "boss", "boss-password").await;
    let other = incidents
        .get(authed(
            &boss,
            pb::GetIncidentRequest {
                id: created.id.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound, "{other:?}");
    let boss_list = incidents
        .list(authed(&boss, pb::ListIncidentsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .incidents;
    assert!(boss_list.iter().all(|i| i.id != created.id));

    // A viewer reads but cannot decide an approval: PERMISSION_DENIED.
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(json!({"username": "vera", "password": "viewer-password", "role": "viewer"})),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let viewer = login(&ch, "default", "vera", "viewer-password").await;
    let seen = incidents
        .list(authed(&viewer, pb::ListIncidentsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .incidents;
    assert!(seen.iter().any(|i| i.id == created.id));
    let mut approvals = ApprovalServiceClient::new(ch.clone());
    let denied = approvals
        .approve(authed(
            &viewer,
            pb::DecideRequest {
                id: uuid_like(),
                reason: "looks fine".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let refused_create = incidents
        .create(authed(&viewer, new_incident("viewer's incident")))
        .await
        .unwrap_err();
    assert_eq!(refused_create.code(), Code::PermissionDenied);
    let listed = approvals
        .list(authed(&viewer, pb::ListApprovalsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.approvals.is_empty());
    let missing = approvals
        .get(authed(&admin, pb::GetApprovalRequest { id: uuid_like() }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");

    // REST on the same listener is unchanged, unknown paths included.
    let (status, _) = server.call("GET", "/healthz", None, None).await;
    assert_eq!(status.as_u16(), 200);
    let (status, _) = server
        .call("GET", "/api/v1/no-such-route", None, None)
        .await;
    assert_eq!(status.as_u16(), 404);

    server.stop().await;
}

fn uuid_like() -> String {
    "7d1c4c53-1b43-4f0e-9a59-3c2f3f0e8f11".into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_stream_events_yields_the_steps_of_a_twin_session() {
    let server = Server::start(AOI, false).await;
    let ch = channel(&server).await;
    let admin = login(&ch, "default", "admin", ADMIN_PASSWORD).await;

    let (status, env) = server
        .call(
            "POST",
            "/api/v1/environments",
            Some(&admin),
            Some(json!({"name": "twin", "kind": "twin", "problem_id": TWIN_PROBLEM})),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{env}");
    let environment_id = env["id"].as_str().unwrap().to_string();
    let incident = IncidentServiceClient::new(ch.clone())
        .create(authed(&admin, new_incident("frontend unreachable")))
        .await
        .unwrap()
        .into_inner();

    let mut sessions = SessionServiceClient::new(ch.clone());
    let session = sessions
        .start(authed(
            &admin,
            pb::StartSessionRequest {
                incident_id: incident.id.clone(),
                environment_id,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(session.incident_id, incident.id);

    let mut stream = sessions
        .stream_events(authed(
            &admin,
            pb::StreamEventsRequest {
                session_id: session.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let step = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let event = stream
                .message()
                .await
                .unwrap()
                .expect("the stream ended before a step arrived");
            if event.kind == "step" {
                return event;
            }
        }
    })
    .await
    .expect("no step within 120 s");
    let data: serde_json::Value = serde_json::from_str(&step.data_json).unwrap();
    assert!(data["index"].is_u64(), "{data}");
    assert!(data["role"].is_string(), "{data}");

    // The session is listed and readable; another tenant's stream is NOT_FOUND.
    let listed = sessions
        .list(authed(
            &admin,
            pb::ListSessionsRequest {
                incident_id: Some(incident.id.clone()),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .sessions;
    assert!(listed.iter().any(|s| s.id == session.id), "{listed:?}");
    let got = sessions
        .get(authed(
            &admin,
            pb::GetSessionRequest {
                id: session.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.session.unwrap().id, session.id);
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/tenants",
            Some(&admin),
            Some(json!({"slug": "tenant-b", "name": "B", "admin_username": "boss", "admin_password": "boss-password"})),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let boss = login(&ch, "tenant-b", "boss", "boss-password").await;
    let other = sessions
        .stream_events(authed(
            &boss,
            pb::StreamEventsRequest {
                session_id: session.id.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound, "{other:?}");
    let unauthenticated = sessions
        .stream_events(pb::StreamEventsRequest {
            session_id: session.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_plugin_service_lists_installs_and_refuses() {
    use pb::plugin_service_client::PluginServiceClient;
    let server = Server::start(AOI, false).await;
    let ch = channel(&server).await;
    let admin = login(&ch, "default", "admin", ADMIN_PASSWORD).await;
    let mut plugins = PluginServiceClient::new(ch.clone());
    let listed = plugins
        .list(authed(&admin, pb::ListPluginsRequest {}))
        .await
        .unwrap()
        .into_inner();
    let k8s = listed.plugins.iter().find(|p| p.name == "kubernetes").unwrap();
    assert!(k8s.tools.iter().any(|t| t.name == "k8s_scale" && t.access == "write"));
    assert!(k8s.tools.iter().any(|t| t.name == "k8s_get" && t.access == "read"));
    assert!(k8s.installation.is_none());

    // Config is checked against the schema: the error names the field.
    let bad = plugins
        .install(authed(
            &admin,
            pb::InstallPluginRequest {
                name: "loki".into(),
                version: String::new(),
                config_json: r#"{"base_url": "not a url"}"#.into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("config.base_url"), "{}", bad.message());

    let installed = plugins
        .install(authed(
            &admin,
            pb::InstallPluginRequest {
                name: "loki".into(),
                version: String::new(),
                config_json: r#"{"base_url": "http://127.0.0.1:3100", "bearer_token": "grpc-secret-token"}"#.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(installed.enabled);
    assert_eq!(installed.secrets_set, vec!["bearer_token".to_string()]);
    assert!(!installed.config_json.contains("grpc-secret-token"));
    let disabled = plugins
        .disable(authed(&admin, pb::PluginNameRequest { name: "loki".into() }))
        .await
        .unwrap()
        .into_inner();
    assert!(!disabled.enabled);

    // An unsigned upload is refused; a missing token is unauthenticated.
    let unsigned = plugins
        .upload(authed(&admin, pb::UploadPluginRequest { package: br#"{"manifest": {}, "payload_base64": ""}"#.to_vec() }))
        .await
        .unwrap_err();
    assert_eq!(unsigned.code(), Code::InvalidArgument);
    let anonymous = plugins.list(pb::ListPluginsRequest {}).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    server.stop().await;
}
