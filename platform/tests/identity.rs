//! Service-level tests of the identity and incident functions on a fresh SQLite store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_control::auth::LoginRequest;
use aoi_control::{ApiError, Config, Permission, Principal, TenantScope};
use aoi_platform::{Platform, audit, incidents, keys, tenants, users};

async fn platform(dir: &std::path::Path) -> Platform {
    let mut config = Config::load_str(None, Vec::<(String, String)>::new()).unwrap();
    config.server.data_dir = dir.to_path_buf();
    Platform::open(config).await.unwrap()
}

async fn principal(p: &Platform, tenant: &str, user: &str, password: &str) -> Principal {
    let token = tenants::login(
        p,
        &LoginRequest {
            tenant: tenant.into(),
            username: user.into(),
            password: password.into(),
        },
    )
    .await
    .unwrap();
    p.authenticator.authenticate(&token.access_token).await.unwrap()
}

async fn proof(p: &Platform, who: &Principal, permission: Permission) -> aoi_control::Authorized {
    let scope = if permission.is_platform_wide() {
        TenantScope::Platform
    } else {
        TenantScope::Tenant(who.tenant.clone())
    };
    p.authorizer.authorize(who, &scope, permission).await.unwrap()
}

#[tokio::test]
async fn bootstrap_login_keys_and_isolation() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path()).await;
    let report = tenants::bootstrap(&p, None).await.unwrap().unwrap();
    let password = report.generated_password.expect("a generated password");
    assert!(tenants::bootstrap(&p, None).await.unwrap().is_none(), "runs once");

    let bad = tenants::login(
        &p,
        &LoginRequest {
            tenant: "default".into(),
            username: "admin".into(),
            password: "nope".into(),
        },
    )
    .await;
    assert_eq!(bad.unwrap_err(), ApiError::InvalidCredentials);
    let admin = principal(&p, "default", "admin", &password).await;

    // The bootstrap admin is the platform admin too.
    let manage = proof(&p, &admin, Permission::ManageTenants).await;
    tenants::create(
        &p,
        &manage,
        tenants::CreateTenant {
            slug: "other".into(),
            name: "Other".into(),
            admin_username: Some("olga".into()),
            admin_password: Some("olga-password".into()),
        },
    )
    .await
    .unwrap();
    let olga = principal(&p, "other", "olga", "olga-password").await;
    assert!(
        p.authorizer
            .authorize(&olga, &TenantScope::Platform, Permission::ManageTenants)
            .await
            .is_err()
    );

    // A proof for one permission does not pass for another.
    let read = proof(&p, &admin, Permission::ReadIncidents).await;
    let wrong = users::create(
        &p,
        &read,
        users::CreateUser {
            username: "x".into(),
            password: "password-x".into(),
            role: "viewer".into(),
        },
    )
    .await;
    assert!(matches!(wrong, Err(ApiError::Forbidden { .. })));

    // API keys: shown once, authenticate, revoke.
    let keys_proof = proof(&p, &admin, Permission::ManageKeys).await;
    let created = keys::create(
        &p,
        &keys_proof,
        keys::CreateKey {
            name: "ci".into(),
            role: "operator".into(),
        },
    )
    .await
    .unwrap();
    let by_key = p.authenticator.authenticate(&created.key).await.unwrap();
    assert_eq!(by_key.tenant.as_str(), "default");
    assert_eq!(by_key.roles, vec![aoi_control::Role::Operator]);
    keys::revoke(&p, &keys_proof, created.id).await.unwrap();
    assert!(p.authenticator.authenticate(&created.key).await.is_err());
    let olga_keys = proof(&p, &olga, Permission::ManageKeys).await;
    assert!(matches!(
        keys::revoke(&p, &olga_keys, created.id).await,
        Err(ApiError::NotFound { .. })
    ));

    // Incidents are tenant-scoped.
    let write = proof(&p, &admin, Permission::WriteIncidents).await;
    let incident = incidents::create(
        &p,
        &write,
        incidents::CreateIncident {
            title: "disk full".into(),
            severity: None,
            service: None,
            namespace: None,
            fingerprint: None,
            labels: Default::default(),
        },
    )
    .await
    .unwrap();
    let olga_read = proof(&p, &olga, Permission::ReadIncidents).await;
    assert!(matches!(
        incidents::get(&p, &olga_read, incident.id).await,
        Err(ApiError::NotFound { .. })
    ));
    assert!(
        incidents::list(&p, &olga_read, Default::default())
            .await
            .unwrap()
            .is_empty()
    );

    // Bad Alertmanager payloads write nothing.
    let payload: incidents::AlertmanagerPayload = serde_json::from_value(serde_json::json!({
        "version": "4", "status": "firing",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "A"}, "startsAt": "2026-01-01T00:00:00Z", "fingerprint": "f1"},
            {"status": "exploding", "labels": {"alertname": "B"}, "startsAt": "2026-01-01T00:00:00Z", "fingerprint": "f2"}
        ]
    }))
    .unwrap();
    let refused = incidents::ingest_alertmanager(&p, &write, payload).await;
    assert!(matches!(refused, Err(ApiError::InvalidInput { .. })));
    let read = proof(&p, &admin, Permission::ReadIncidents).await;
    assert_eq!(incidents::list(&p, &read, Default::default()).await.unwrap().len(), 1);

    // The audit log has the logins and the writes.
    let audit_proof = proof(&p, &admin, Permission::ReadAudit).await;
    let events = audit::query(&p, &audit_proof, &Default::default()).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for wanted in ["platform.bootstrap", "auth.login", "api_key.create", "api_key.revoke", "incident.create"] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }
    let jsonl = audit::export_jsonl(&p, &audit_proof, &Default::default()).await.unwrap();
    assert_eq!(jsonl.lines().count(), events.len());
}
