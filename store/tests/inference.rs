//! The tenant's inference policy and model registry, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aoi_store::*;
use common::tenant;

fn version(name: &str, source: &str) -> NewAdapterVersion {
    NewAdapterVersion {
        name: name.to_owned(),
        base_model: "qwen2.5-7b".to_owned(),
        source: source.to_owned(),
        notes: format!("trained for {name}"),
        created_by: "user:alice".to_owned(),
    }
}

fn statuses(rows: &[ModelAdapter]) -> Vec<(i32, AdapterStatus)> {
    rows.iter().map(|a| (a.version, a.status)).collect()
}

#[test]
fn adapter_status_parses_and_displays_every_name() {
    for status in AdapterStatus::ALL {
        assert_eq!(status.to_string().parse::<AdapterStatus>(), Ok(status));
    }
    let err = "live".parse::<AdapterStatus>().unwrap_err();
    assert!(err.to_string().contains("`live`"), "{err}");
    assert!(err.to_string().contains("candidate"), "{err}");
}

on_both!(inference_policy_upsert_and_tenant_scope, |store| {
    let (_, acme) = tenant(&store, "acme").await;
    let (_, globex) = tenant(&store, "globex").await;
    assert_eq!(store.inference_policy(acme).await.unwrap(), None);
    let first = store
        .set_inference_policy(
            acme,
            NewInferencePolicy {
                allow_external: true,
                redact_identifiers: false,
                max_concurrent: Some(4),
                tokens_per_minute: None,
                tokens_per_day: Some(5_000_000_000),
                updated_by: "user:root".into(),
            },
        )
        .await
        .unwrap();
    assert!(first.allow_external);
    assert_eq!(first.max_concurrent, Some(4));
    assert_eq!(first.tokens_per_day, Some(5_000_000_000));
    assert_eq!(store.inference_policy(acme).await.unwrap(), Some(first));
    // Setting again replaces every field.
    let second = store
        .set_inference_policy(
            acme,
            NewInferencePolicy {
                allow_external: false,
                redact_identifiers: true,
                max_concurrent: None,
                tokens_per_minute: Some(1000),
                tokens_per_day: None,
                updated_by: "user:other".into(),
            },
        )
        .await
        .unwrap();
    assert!(!second.allow_external && second.redact_identifiers);
    assert_eq!(second.max_concurrent, None);
    assert_eq!(second.tokens_per_minute, Some(1000));
    assert_eq!(second.updated_by, "user:other");
    // Another tenant's policy is untouched (none).
    assert_eq!(store.inference_policy(globex).await.unwrap(), None);
    // An unknown tenant cannot get a policy.
    let ghost = TenantId::from_uuid(uuid::Uuid::new_v4());
    let err = store
        .set_inference_policy(
            ghost,
            NewInferencePolicy {
                allow_external: false,
                redact_identifiers: false,
                max_concurrent: None,
                tokens_per_minute: None,
                tokens_per_day: None,
                updated_by: "user:root".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);
});

on_both!(adapter_versions_number_per_name_and_tenant, |store| {
    let (_, acme) = tenant(&store, "acme").await;
    let (_, globex) = tenant(&store, "globex").await;
    let v1 = store
        .insert_adapter_version(acme, version("triage", "/lora/triage-1"))
        .await
        .unwrap();
    let v2 = store
        .insert_adapter_version(acme, version("triage", "/lora/triage-2"))
        .await
        .unwrap();
    let other = store
        .insert_adapter_version(acme, version("summarize", "/lora/sum-1"))
        .await
        .unwrap();
    let theirs = store
        .insert_adapter_version(globex, version("triage", "/lora/globex-1"))
        .await
        .unwrap();
    assert_eq!(
        (v1.version, v2.version, other.version, theirs.version),
        (1, 2, 1, 1)
    );
    assert_eq!(v1.status, AdapterStatus::Candidate);
    assert_eq!(v1.canary_percent, 0);
    assert_eq!(v1.activated_at, None);
    assert_eq!(v2.source, "/lora/triage-2");

    let all = store.adapters(acme, None).await.unwrap();
    let names: Vec<(&str, i32)> = all.iter().map(|a| (a.name.as_str(), a.version)).collect();
    assert_eq!(names, [("summarize", 1), ("triage", 1), ("triage", 2)]);
    assert_eq!(
        statuses(&store.adapters(acme, Some("triage")).await.unwrap()),
        [(1, AdapterStatus::Candidate), (2, AdapterStatus::Candidate)]
    );
    assert_eq!(store.adapter(acme, "triage", 2).await.unwrap(), Some(v2));
    // Another tenant's version answers like a missing one.
    assert_eq!(store.adapter(globex, "triage", 2).await.unwrap(), None);
    assert_eq!(store.adapter(acme, "triage", 3).await.unwrap(), None);
    assert_eq!(
        store
            .promote_adapter(globex, "summarize", 1, AdapterStatus::Active, 0)
            .await,
        Err(StoreError::NotFound)
    );
    // Concurrent registrations of one name each get their own number.
    let (a, b) = tokio::join!(
        store.insert_adapter_version(acme, version("burst", "/lora/a")),
        store.insert_adapter_version(acme, version("burst", "/lora/b")),
    );
    let mut got = vec![a.unwrap().version, b.unwrap().version];
    got.sort();
    assert_eq!(got, [1, 2]);
});

on_both!(adapter_promotions_keep_one_canary_and_one_active, |store| {
    let (_, t) = tenant(&store, "acme").await;
    for i in 1..=4 {
        store
            .insert_adapter_version(t, version("triage", &format!("/lora/{i}")))
            .await
            .unwrap();
    }
    // candidate -> active
    let p = store
        .promote_adapter(t, "triage", 1, AdapterStatus::Active, 0)
        .await
        .unwrap();
    assert_eq!(p.from, AdapterStatus::Candidate);
    assert_eq!(p.adapter.status, AdapterStatus::Active);
    assert!(p.adapter.activated_at.is_some());
    assert!(p.retired.is_empty());
    // candidate -> canary, then a second canary replaces the first.
    let c2 = store
        .promote_adapter(t, "triage", 2, AdapterStatus::Canary, 10)
        .await
        .unwrap();
    assert_eq!(
        (c2.adapter.status, c2.adapter.canary_percent),
        (AdapterStatus::Canary, 10)
    );
    let c3 = store
        .promote_adapter(t, "triage", 3, AdapterStatus::Canary, 25)
        .await
        .unwrap();
    assert_eq!(statuses(&c3.retired), [(2, AdapterStatus::Retired)]);
    assert_eq!(c3.retired[0].canary_percent, 0);
    assert_eq!(
        statuses(&store.adapters(t, Some("triage")).await.unwrap()),
        [
            (1, AdapterStatus::Active),
            (2, AdapterStatus::Retired),
            (3, AdapterStatus::Canary),
            (4, AdapterStatus::Candidate)
        ]
    );
    // canary -> active retires the previous active.
    let a3 = store
        .promote_adapter(t, "triage", 3, AdapterStatus::Active, 0)
        .await
        .unwrap();
    assert_eq!(a3.from, AdapterStatus::Canary);
    assert_eq!(a3.adapter.canary_percent, 0);
    assert_eq!(statuses(&a3.retired), [(1, AdapterStatus::Retired)]);
    assert!(a3.retired[0].activated_at.is_some(), "kept for roll-backs");
    // Refused: retired -> anything, active -> canary, active -> active.
    for (v, to) in [
        (2, AdapterStatus::Active),
        (2, AdapterStatus::Canary),
        (3, AdapterStatus::Canary),
        (3, AdapterStatus::Active),
        (4, AdapterStatus::Retired),
        (4, AdapterStatus::Candidate),
    ] {
        let err = store
            .promote_adapter(t, "triage", v, to, 5)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::InvalidTransition { to: got, .. } if *got == to.to_string()),
            "v{v} -> {to}: {err:?}"
        );
    }
    assert_eq!(
        store
            .promote_adapter(t, "triage", 9, AdapterStatus::Active, 0)
            .await,
        Err(StoreError::NotFound)
    );
    // The refused transitions changed nothing.
    assert_eq!(
        statuses(&store.adapters(t, Some("triage")).await.unwrap()),
        [
            (1, AdapterStatus::Retired),
            (2, AdapterStatus::Retired),
            (3, AdapterStatus::Active),
            (4, AdapterStatus::Candidate)
        ]
    );
    let in_service: Vec<i32> = store
        .adapters_in_service(t)
        .await
        .unwrap()
        .iter()
        .map(|a| a.version)
        .collect();
    assert_eq!(in_service, [3, 4]);
});

on_both!(
    adapter_rollback_aborts_canary_then_restores_previous_active,
    |store| {
        let (_, t) = tenant(&store, "acme").await;
        assert_eq!(
            store.rollback_adapter(t, "triage").await,
            Err(StoreError::NotFound)
        );
        for i in 1..=3 {
            store
                .insert_adapter_version(t, version("triage", &format!("/lora/{i}")))
                .await
                .unwrap();
        }
        // Only candidates: nothing to roll back.
        let err = store.rollback_adapter(t, "triage").await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { what } if what.contains("no canary and no active")),
            "{err:?}"
        );
        store
            .promote_adapter(t, "triage", 1, AdapterStatus::Active, 0)
            .await
            .unwrap();
        // One active, never another before it: nothing to roll back to.
        let err = store.rollback_adapter(t, "triage").await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { what } if what.contains("v1 is active")),
            "{err:?}"
        );

        store
            .promote_adapter(t, "triage", 2, AdapterStatus::Canary, 20)
            .await
            .unwrap();
        // A canary: the canary is aborted, the active one stays.
        let r = store.rollback_adapter(t, "triage").await.unwrap();
        assert_eq!(
            (r.retired.version, r.retired_from),
            (2, AdapterStatus::Canary)
        );
        assert_eq!(r.retired.status, AdapterStatus::Retired);
        assert_eq!(r.restored, None);
        assert_eq!(
            statuses(&store.adapters(t, Some("triage")).await.unwrap()),
            [
                (1, AdapterStatus::Active),
                (2, AdapterStatus::Retired),
                (3, AdapterStatus::Candidate)
            ]
        );
        // v3 active (v1 retired), then roll back: v1 again, not the aborted canary v2.
        store
            .promote_adapter(t, "triage", 3, AdapterStatus::Active, 0)
            .await
            .unwrap();
        let r = store.rollback_adapter(t, "triage").await.unwrap();
        assert_eq!(
            (r.retired.version, r.retired_from),
            (3, AdapterStatus::Active)
        );
        let restored = r.restored.unwrap();
        assert_eq!(
            (restored.version, restored.status),
            (1, AdapterStatus::Active)
        );
        assert_eq!(
            statuses(&store.adapters(t, Some("triage")).await.unwrap()),
            [
                (1, AdapterStatus::Active),
                (2, AdapterStatus::Retired),
                (3, AdapterStatus::Retired)
            ]
        );
    }
);

on_both!(
    migration_grants_models_manage_to_existing_tenants_admins,
    |store| {
        use aoi_migrations::{Migrator, MigratorTrait};
        // Down to just before the inference migration, however many come after it.
        let all = Migrator::migrations();
        let position = all
            .iter()
            .position(|m| m.name() == "m20260201_000009_inference")
            .unwrap();
        let steps = Some(u32::try_from(all.len() - position).unwrap());
        let grant = |rules: &[CasbinRule], slug: &str| {
            rules.iter().any(|r| {
                (
                    r.ptype.as_str(),
                    r.v0.as_str(),
                    r.v1.as_str(),
                    r.v2.as_str(),
                    r.v3.as_str(),
                ) == ("p", "role:admin", slug, "models", "manage")
            })
        };
        // A tenant created before the inference migration (its seeded policies come from the
        // caller; here it has none), then the migration runs.
        Migrator::down(store.connection(), steps).await.unwrap();
        assert!(!grant(&store.casbin_rules().await.unwrap(), "acme"));
        tenant(&store, "acme").await;
        Migrator::up(store.connection(), None).await.unwrap();
        let rules = store.casbin_rules().await.unwrap();
        assert!(grant(&rules, "acme"), "{rules:?}");
        // Once only, even when it runs again.
        Migrator::down(store.connection(), steps).await.unwrap();
        assert!(
            !grant(&store.casbin_rules().await.unwrap(), "acme"),
            "down() takes it back"
        );
        Migrator::up(store.connection(), None).await.unwrap();
        let count = store
            .casbin_rules()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.v2 == "models" && r.v3 == "manage")
            .count();
        assert_eq!(count, 1);
    }
);
