//! A failed session put in the database as an agent worker leaves it, queued for the evolver:
//! shared by the evolver tests (in process and as its own `aoi worker evolver` process).

use aoi_platform::Platform;
use aoi_store::{
    EnvironmentSpec, NewEnvironment, NewIncident, NewSession, NewTenant, SessionStatus, TenantId,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// A tenant with one session on `spec` that ended failed after `steps`; its job is queued.
pub async fn failed_session(
    platform: &Platform,
    spec: EnvironmentSpec,
    steps: Vec<Value>,
) -> (TenantId, Uuid) {
    let store = &platform.store;
    let slug = format!("t{}", Uuid::new_v4().simple());
    let tenant = store
        .create_tenant(NewTenant {
            slug: slug.clone(),
            name: slug,
        })
        .await
        .unwrap();
    let tenant = TenantId::from_uuid(tenant.id);
    let environment = store
        .create_environment(
            tenant,
            NewEnvironment {
                name: "payments-prod".into(),
                spec,
                config: json!({}),
            },
        )
        .await
        .unwrap();
    let incident = store
        .create_incident(
            tenant,
            NewIncident {
                fingerprint: format!("fp-{}", Uuid::new_v4().simple()),
                title: "payments pods crash looping".into(),
                severity: "critical".into(),
                service: Some("payments".into()),
                namespace: Some("payments".into()),
                labels: json!({}),
            },
        )
        .await
        .unwrap();
    let session = store
        .create_session(
            tenant,
            NewSession {
                incident_id: incident.id,
                environment_id: environment.id,
            },
        )
        .await
        .unwrap();
    let claimed = store
        .claim_session(
            "test-worker",
            chrono::Duration::seconds(60),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .expect("the session is queued");
    assert_eq!(claimed.id, session.id);
    for (i, step) in steps.into_iter().enumerate() {
        store
            .append_step(tenant, session.id, i32::try_from(i).unwrap(), "probe", step)
            .await
            .unwrap();
    }
    let result = json!({
        "outcome": {"kind": "failed", "message": "the agent gave up"},
        "error": "the agent gave up",
        "policy": "builtin",
        "actions": 2,
    });
    store
        .finish_session(
            tenant,
            session.id,
            "test-worker",
            SessionStatus::Failed,
            Some(result),
        )
        .await
        .unwrap();
    store
        .enqueue_evolver_job(tenant, session.id, "session_failed")
        .await
        .unwrap();
    (tenant, session.id)
}
