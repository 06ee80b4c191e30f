//! Authorization: the role x permission matrix, tenant isolation, the platform scope and
//! policy changes through the API-facing functions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aoi_control::authz::{
    Authorized, AuthzError, MemoryPolicyStore, Permission, PolicyRule, PolicyStore, TenantScope,
};
use aoi_control::{ApiError, Authorizer, Principal, PrincipalKind, Role, TenantSlug};

fn tenant(s: &str) -> TenantSlug {
    TenantSlug::new(s).unwrap()
}

fn principal(id: &str, t: &str, roles: &[Role]) -> Principal {
    Principal {
        kind: PrincipalKind::User,
        id: id.into(),
        tenant: tenant(t),
        roles: roles.to_vec(),
        display: id.into(),
    }
}

/// What the issue grants each role by default.
fn expected(role: Role, p: Permission) -> bool {
    use Permission::*;
    let viewer = matches!(
        p,
        ReadIncidents
            | ReadSessions
            | ReadApprovals
            | ReadEnvironments
            | ReadPlugins
            | ReadModels
            | ReadBenchmarks
    );
    let operator = viewer
        || matches!(
            p,
            WriteIncidents | StartSession | DecideApproval | RunWriteActions
        );
    let admin = operator
        || matches!(
            p,
            ManageUsers
                | ManageKeys
                | ManagePlugins
                | ManageModels
                | ManageGuardrails
                | ReviewSignals
                | ReadAudit
                | ManagePolicies
        );
    match role {
        Role::Viewer => viewer,
        Role::Operator => operator,
        Role::Admin => admin,
        Role::PlatformAdmin => false, // no tenant permission by that role alone
    }
}

async fn setup() -> (Arc<MemoryPolicyStore>, Authorizer) {
    let store = Arc::new(MemoryPolicyStore::default());
    let authz = Authorizer::new(store.clone()).await.unwrap();
    authz.bootstrap(&tenant("acme")).await.unwrap();
    let root = principal("root", "acme", &[Role::PlatformAdmin]);
    let proof = authz
        .authorize(&root, &TenantScope::Platform, Permission::ManageTenants)
        .await
        .unwrap();
    authz.seed_tenant(&proof, &tenant("globex")).await.unwrap();
    (store, authz)
}

#[tokio::test]
async fn role_permission_matrix_in_own_tenant_and_nothing_elsewhere() {
    let (_, authz) = setup().await;
    let acme = TenantScope::Tenant(tenant("acme"));
    let globex = TenantScope::Tenant(tenant("globex"));
    for role in Role::ALL {
        let who = principal("u1", "acme", &[role]);
        for perm in Permission::ALL {
            let got = authz.authorize(&who, &acme, perm).await;
            assert_eq!(
                got.is_ok(),
                expected(role, perm),
                "{role} {perm} in own tenant"
            );
            if let Ok(proof) = &got {
                assert_eq!(proof.permission(), perm);
                assert_eq!(proof.tenant(), Some(&tenant("acme")));
                assert_eq!(proof.principal(), &who);
            }
            let other = authz.authorize(&who, &globex, perm).await;
            assert!(
                matches!(other, Err(AuthzError::OtherTenant { .. })),
                "{role} {perm} in another tenant: {other:?}"
            );
        }
    }
    // The same matrix holds in the second, seeded tenant.
    for role in Role::ALL {
        let who = principal("u2", "globex", &[role]);
        for perm in Permission::ALL {
            let got = authz.authorize(&who, &globex, perm).await.is_ok();
            assert_eq!(got, expected(role, perm), "{role} {perm} in globex");
        }
    }
    // No role at all: nothing.
    let nobody = principal("u3", "acme", &[]);
    for perm in Permission::ALL {
        assert!(authz.authorize(&nobody, &acme, perm).await.is_err());
    }
}

#[tokio::test]
async fn platform_admin_manages_tenants_and_only_platform_wide() {
    let (_, authz) = setup().await;
    for role in Role::ALL {
        let who = principal("u1", "acme", &[role]);
        let got = authz
            .authorize(&who, &TenantScope::Platform, Permission::ManageTenants)
            .await;
        assert_eq!(got.is_ok(), role == Role::PlatformAdmin, "{role}");
    }
    let root = principal("root", "acme", &[Role::PlatformAdmin]);
    // Tenant permissions are not checked in the platform scope, nor ManageTenants in a tenant.
    assert!(
        authz
            .authorize(&root, &TenantScope::Platform, Permission::ReadIncidents)
            .await
            .is_err()
    );
    assert!(
        authz
            .authorize(
                &root,
                &TenantScope::Tenant(tenant("acme")),
                Permission::ManageTenants
            )
            .await
            .is_err()
    );
    let proof = authz
        .authorize(&root, &TenantScope::Platform, Permission::ManageTenants)
        .await
        .unwrap();
    assert!(proof.may_grant(Role::PlatformAdmin));
    // Seeding needs a ManageTenants proof, not any proof.
    let admin = principal("a", "acme", &[Role::Admin]);
    let admin_proof = authz
        .authorize(
            &admin,
            &TenantScope::Tenant(tenant("acme")),
            Permission::ManagePolicies,
        )
        .await
        .unwrap();
    assert!(!admin_proof.may_grant(Role::PlatformAdmin));
    assert!(admin_proof.may_grant(Role::Operator));
    assert!(matches!(
        authz.seed_tenant(&admin_proof, &tenant("initech")).await,
        Err(AuthzError::WrongProof { .. })
    ));
    // Bootstrap runs once.
    assert_eq!(
        authz.bootstrap(&tenant("acme")).await,
        Err(AuthzError::AlreadyBootstrapped)
    );
}

#[tokio::test]
async fn policies_change_through_a_manage_policies_proof_and_persist() {
    let (store, authz) = setup().await;
    let acme = TenantScope::Tenant(tenant("acme"));
    let admin = principal("a", "acme", &[Role::Admin]);
    let viewer = principal("v", "acme", &[Role::Viewer]);
    let proof = authz
        .authorize(&admin, &acme, Permission::ManagePolicies)
        .await
        .unwrap();

    // Viewers may read the audit log in acme after this change.
    assert!(
        authz
            .authorize(&viewer, &acme, Permission::ReadAudit)
            .await
            .is_err()
    );
    let rule = PolicyRule::allow("role:viewer", "acme", "audit", "read");
    authz.add_rules(&proof, vec![rule.clone()]).await.unwrap();
    assert!(
        authz
            .authorize(&viewer, &acme, Permission::ReadAudit)
            .await
            .is_ok()
    );
    assert!(
        store.load().await.unwrap().contains(&rule),
        "saved through the port"
    );
    assert!(authz.rules(&proof).await.unwrap().contains(&rule));
    assert!(
        authz
            .rules(&proof)
            .await
            .unwrap()
            .iter()
            .all(|r| r.domain() == "acme")
    );

    // A user-level membership stored in the policies grants roles too.
    let carol = principal("carol", "acme", &[]);
    authz
        .add_rules(
            &proof,
            vec![PolicyRule::member("user:carol", "role:operator", "acme")],
        )
        .await
        .unwrap();
    assert!(
        authz
            .authorize(&carol, &acme, Permission::DecideApproval)
            .await
            .is_ok()
    );
    assert!(
        authz
            .authorize(&carol, &acme, Permission::ManageUsers)
            .await
            .is_err()
    );

    // A new authorizer over the same store sees the change (policies live in the store).
    let again = Authorizer::new(store.clone()).await.unwrap();
    assert!(
        again
            .authorize(&viewer, &acme, Permission::ReadAudit)
            .await
            .is_ok()
    );

    // Removal.
    authz
        .remove_rules(&proof, vec![rule.clone()])
        .await
        .unwrap();
    assert!(
        authz
            .authorize(&viewer, &acme, Permission::ReadAudit)
            .await
            .is_err()
    );
    assert!(!store.load().await.unwrap().contains(&rule));

    // Refused changes: another tenant, the platform role, a non-role membership, wrong proof.
    for bad in [
        PolicyRule::allow("role:viewer", "globex", "audit", "read"),
        PolicyRule::allow("role:viewer", "*", "tenants", "manage"),
        PolicyRule::member("user:a", "role:platform-admin", "acme"),
        PolicyRule::member("user:a", "user:b", "acme"),
        PolicyRule::allow("role:viewer", "acme", "", "read"),
    ] {
        let err = authz
            .add_rules(&proof, vec![bad.clone()])
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthzError::InvalidRule(_)),
            "{bad:?}: {err:?}"
        );
        assert_eq!(ApiError::from(err).code(), "invalid_input");
    }
    let read_proof = authz
        .authorize(&admin, &acme, Permission::ReadAudit)
        .await
        .unwrap();
    assert!(matches!(
        authz.add_rules(&read_proof, vec![]).await,
        Err(AuthzError::WrongProof { .. })
    ));
    assert!(matches!(
        authz.rules(&read_proof).await,
        Err(AuthzError::WrongProof { .. })
    ));
    // An operator cannot even get the proof.
    let operator = principal("o", "acme", &[Role::Operator]);
    let err = authz
        .authorize(&operator, &acme, Permission::ManagePolicies)
        .await
        .unwrap_err();
    let api = ApiError::from(err);
    assert_eq!((api.code(), api.http_status()), ("forbidden", 403));
    assert!(
        api.message().contains("manage_policies"),
        "{}",
        api.message()
    );
}

/// Service functions take the proof; this is the shape they have.
fn service_needing_proof(proof: &Authorized) -> Result<String, AuthzError> {
    proof.require(Permission::StartSession)?;
    Ok(format!(
        "{} started a session in {}",
        proof.principal().id,
        proof.scope()
    ))
}

#[tokio::test]
async fn service_functions_check_the_proofs_permission() {
    let (_, authz) = setup().await;
    let acme = TenantScope::Tenant(tenant("acme"));
    let op = principal("o", "acme", &[Role::Operator]);
    let start = authz
        .authorize(&op, &acme, Permission::StartSession)
        .await
        .unwrap();
    assert_eq!(
        service_needing_proof(&start).unwrap(),
        "o started a session in acme"
    );
    let read = authz
        .authorize(&op, &acme, Permission::ReadIncidents)
        .await
        .unwrap();
    assert!(service_needing_proof(&read).is_err());
}

#[test]
fn model_file_is_the_embedded_one() {
    let on_disk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/casbin/model.conf"
    ))
    .unwrap();
    assert_eq!(on_disk, aoi_control::authz::MODEL);
}
