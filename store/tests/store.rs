//! Every repository function, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aoi_store::*;
use chrono::{Duration, Utc};
use common::tenant;
use serde_json::json;
use uuid::Uuid;

fn alert(fingerprint: &str, status: AlertStatus) -> IncomingAlert {
    IncomingAlert {
        fingerprint: fingerprint.to_owned(),
        status,
        title: format!("alert {fingerprint}"),
        severity: "critical".to_owned(),
        service: Some("checkout".to_owned()),
        namespace: Some("shop".to_owned()),
        labels: json!({"alertname": "HighErrorRate"}),
        annotations: json!({"summary": "errors"}),
        starts_at: Utc::now(),
        ends_at: None,
    }
}

fn new_incident(fingerprint: &str, severity: &str, service: &str) -> NewIncident {
    NewIncident {
        fingerprint: fingerprint.to_owned(),
        title: format!("incident {fingerprint}"),
        severity: severity.to_owned(),
        service: Some(service.to_owned()),
        namespace: None,
        labels: json!({}),
    }
}

async fn twin(store: &Store, t: TenantId, name: &str) -> Environment {
    store
        .create_environment(
            t,
            NewEnvironment {
                name: name.to_owned(),
                spec: EnvironmentSpec::Twin {
                    problem_id: "k8s_target_port-misconfig-detection-1".to_owned(),
                },
                config: json!({"seed": 7}),
            },
        )
        .await
        .unwrap()
}

/// A tenant with an incident, an environment and a queued session.
async fn session_fixture(store: &Store, slug: &str) -> (TenantId, Session) {
    let (_, t) = tenant(store, slug).await;
    let inc = store
        .create_incident(t, new_incident("fp-1", "critical", "checkout"))
        .await
        .unwrap();
    let env = twin(store, t, "twin-1").await;
    let s = store
        .create_session(
            t,
            NewSession {
                incident_id: inc.id,
                environment_id: env.id,
            },
        )
        .await
        .unwrap();
    (t, s)
}

on_both!(tenants_create_lookup_list, |store| {
    let (a, a_id) = tenant(&store, "acme").await;
    tenant(&store, "globex").await;
    assert_eq!(store.tenant_by_slug("acme").await.unwrap(), Some(a.clone()));
    assert_eq!(store.tenant(a_id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.tenant_by_slug("nope").await.unwrap(), None);
    let slugs: Vec<_> = store
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.slug)
        .collect();
    assert_eq!(slugs, ["acme", "globex"]);
    let dup = store
        .create_tenant(NewTenant {
            slug: "acme".into(),
            name: "again".into(),
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
});

on_both!(users_create_lookup_list_disable, |store| {
    let (_, t) = tenant(&store, "acme").await;
    let user = store
        .create_user(
            t,
            NewUser {
                username: "ann".into(),
                password_hash: "$argon2id$x".into(),
                role: "admin".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(user.tenant_id, t);
    assert!(!user.disabled);
    let creds = store.user_by_username(t, "ann").await.unwrap().unwrap();
    assert_eq!(creds.password_hash, "$argon2id$x");
    assert_eq!(creds.user, user);
    assert_eq!(store.user(t, user.id).await.unwrap(), Some(user.clone()));
    store
        .create_user(
            t,
            NewUser {
                username: "bob".into(),
                password_hash: "h".into(),
                role: "viewer".into(),
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = store
        .users(t)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["ann", "bob"]);
    let dup = store
        .create_user(
            t,
            NewUser {
                username: "ann".into(),
                password_hash: "h".into(),
                role: "viewer".into(),
            },
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
    store.disable_user(t, user.id).await.unwrap();
    assert!(store.user(t, user.id).await.unwrap().unwrap().disabled);
    assert_eq!(
        store.disable_user(t, Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    );
    // The same username in another tenant is a different user.
    let (_, other) = tenant(&store, "globex").await;
    store
        .create_user(
            other,
            NewUser {
                username: "ann".into(),
                password_hash: "h2".into(),
                role: "viewer".into(),
            },
        )
        .await
        .unwrap();
    // Unknown tenant.
    let ghost = TenantId::from_uuid(Uuid::new_v4());
    let res = store
        .create_user(
            ghost,
            NewUser {
                username: "x".into(),
                password_hash: "h".into(),
                role: "r".into(),
            },
        )
        .await;
    assert_eq!(res, Err(StoreError::NotFound));
});

on_both!(api_keys_create_find_revoke_list, |store| {
    let (_, t) = tenant(&store, "acme").await;
    let key = store
        .create_api_key(
            t,
            NewApiKey {
                name: "ci".into(),
                prefix: "aoi_ab12".into(),
                key_hash: "hash1".into(),
                role: "operator".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(key.tenant_id, t);
    assert_eq!(key.revoked_at, None);
    let found = store.api_key_by_prefix("aoi_ab12").await.unwrap().unwrap();
    assert_eq!(found.key_hash, "hash1");
    assert_eq!(found.key, key);
    let listed = store.api_keys(t).await.unwrap();
    assert_eq!(listed, vec![key.clone()]);
    let dup = store
        .create_api_key(
            t,
            NewApiKey {
                name: "other".into(),
                prefix: "aoi_ab12".into(),
                key_hash: "h".into(),
                role: "r".into(),
            },
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
    store.revoke_api_key(t, key.id).await.unwrap();
    store.revoke_api_key(t, key.id).await.unwrap();
    assert_eq!(store.api_key_by_prefix("aoi_ab12").await.unwrap(), None);
    assert!(store.api_keys(t).await.unwrap()[0].revoked_at.is_some());
    assert_eq!(
        store.revoke_api_key(t, Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    );
});

on_both!(casbin_rules_load_add_remove_replace, |store| {
    let p1 = NewCasbinRule::new("p", &["admin", "acme", "incidents", "write"]);
    let p2 = NewCasbinRule::new("p", &["viewer", "acme", "incidents", "read"]);
    let g1 = NewCasbinRule::new("g", &["ann", "admin", "acme"]);
    assert_eq!(
        store
            .add_casbin_rules(&[p1.clone(), p2.clone(), g1.clone()])
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .add_casbin_rules(std::slice::from_ref(&p1))
            .await
            .unwrap(),
        0,
        "duplicates are ignored"
    );
    let rules = store.casbin_rules().await.unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[0].ptype, "p");
    assert_eq!(rules[0].values(), ["admin", "acme", "incidents", "write"]);
    assert_eq!(rules[2].values(), ["ann", "admin", "acme"]);
    assert_eq!(
        store
            .remove_casbin_rules(std::slice::from_ref(&p2))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .remove_casbin_rules(std::slice::from_ref(&p2))
            .await
            .unwrap(),
        0
    );
    store
        .add_casbin_rules(std::slice::from_ref(&p2))
        .await
        .unwrap();
    // Remove every p rule of domain acme (field 1), whatever the role.
    let removed = store
        .remove_filtered_casbin_rules("p", 1, &["acme".to_owned()])
        .await
        .unwrap();
    assert_eq!(removed, 2);
    assert_eq!(store.casbin_rules().await.unwrap().len(), 1);
    let p3 = NewCasbinRule::new("p", &["ops", "globex", "sessions", "write"]);
    store
        .replace_casbin_rules(&[p3.clone(), p1.clone()])
        .await
        .unwrap();
    let values: Vec<_> = store
        .casbin_rules()
        .await
        .unwrap()
        .iter()
        .map(|r| r.values())
        .collect();
    assert_eq!(
        values,
        vec![
            vec!["ops", "globex", "sessions", "write"],
            vec!["admin", "acme", "incidents", "write"],
        ]
    );
});

on_both!(incidents_dedup_by_fingerprint_and_resolve, |store| {
    let (_, t) = tenant(&store, "acme").await;
    let first = store
        .ingest_alert(t, alert("fp-a", AlertStatus::Firing))
        .await
        .unwrap()
        .unwrap();
    assert!(first.created);
    assert_eq!(first.incident.state, IncidentState::Open);
    assert_eq!(first.incident.fingerprint, "fp-a");
    let again = store
        .ingest_alert(t, alert("fp-a", AlertStatus::Firing))
        .await
        .unwrap()
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.incident.id, first.incident.id);
    let other = store
        .ingest_alert(t, alert("fp-b", AlertStatus::Firing))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(other.incident.id, first.incident.id);
    let resolved = store
        .ingest_alert(t, alert("fp-a", AlertStatus::Resolved))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resolved.incident.id, first.incident.id);
    assert_eq!(resolved.incident.state, IncidentState::Resolved);
    assert!(resolved.incident.resolved_at.is_some());
    let alerts = store.incident_alerts(t, first.incident.id).await.unwrap();
    let statuses: Vec<_> = alerts.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            AlertStatus::Firing,
            AlertStatus::Firing,
            AlertStatus::Resolved
        ]
    );
    // A resolved alert with nothing active is not attached anywhere.
    assert_eq!(
        store
            .ingest_alert(t, alert("fp-a", AlertStatus::Resolved))
            .await
            .unwrap(),
        None
    );
    // The same fingerprint firing again opens a new incident.
    let reopened = store
        .ingest_alert(t, alert("fp-a", AlertStatus::Firing))
        .await
        .unwrap()
        .unwrap();
    assert!(reopened.created);
    assert_ne!(reopened.incident.id, first.incident.id);
});

on_both!(incidents_concurrent_alerts_open_one_incident, |store| {
    let (_, t) = tenant(&store, "acme").await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .ingest_alert(t, alert("fp-race", AlertStatus::Firing))
                .await
                .unwrap()
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for task in tasks {
        let out = task.await.unwrap();
        ids.push(out.incident.id);
        created += usize::from(out.created);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "all alerts joined one incident");
    assert_eq!(created, 1);
});

on_both!(incidents_create_get_filter, |store| {
    let (_, t) = tenant(&store, "acme").await;
    let a = store
        .create_incident(t, new_incident("f1", "critical", "checkout"))
        .await
        .unwrap();
    let b = store
        .create_incident(t, new_incident("f2", "warning", "cart"))
        .await
        .unwrap();
    let dup = store
        .create_incident(t, new_incident("f1", "critical", "checkout"))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
    assert_eq!(store.incident(t, a.id).await.unwrap(), Some(a.clone()));
    let all = store.incidents(t, IncidentFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, b.id, "newest first");
    let crit = store
        .incidents(
            t,
            IncidentFilter {
                severity: Some("critical".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(crit.iter().map(|i| i.id).collect::<Vec<_>>(), [a.id]);
    let cart = store
        .incidents(
            t,
            IncidentFilter {
                service: Some("cart".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cart.iter().map(|i| i.id).collect::<Vec<_>>(), [b.id]);
    store
        .update_incident_state(t, a.id, IncidentState::Diagnosing)
        .await
        .unwrap();
    let diag = store
        .incidents(
            t,
            IncidentFilter {
                state: Some(IncidentState::Diagnosing),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(diag.iter().map(|i| i.id).collect::<Vec<_>>(), [a.id]);
    let future = store
        .incidents(
            t,
            IncidentFilter {
                since: Some(Utc::now() + Duration::hours(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(future.is_empty());
    let past = store
        .incidents(
            t,
            IncidentFilter {
                since: Some(Utc::now() - Duration::hours(1)),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(past.len(), 1);
});

on_both!(incident_state_transitions_are_checked, |store| {
    let (_, t) = tenant(&store, "acme").await;
    let inc = store
        .create_incident(t, new_incident("f1", "critical", "checkout"))
        .await
        .unwrap();
    for to in [
        IncidentState::Diagnosing,
        IncidentState::AwaitingApproval,
        IncidentState::Mitigated,
    ] {
        assert_eq!(
            store
                .update_incident_state(t, inc.id, to)
                .await
                .unwrap()
                .state,
            to
        );
    }
    let bad = store
        .update_incident_state(t, inc.id, IncidentState::AwaitingApproval)
        .await;
    assert_eq!(
        bad,
        Err(StoreError::InvalidTransition {
            from: "mitigated".into(),
            to: "awaiting_approval".into()
        })
    );
    let resolved = store
        .update_incident_state(t, inc.id, IncidentState::Resolved)
        .await
        .unwrap();
    assert!(resolved.resolved_at.is_some());
    // Resolved frees the fingerprint for a new incident.
    store
        .create_incident(t, new_incident("f1", "critical", "checkout"))
        .await
        .unwrap();
    let closed = store
        .update_incident_state(t, inc.id, IncidentState::Closed)
        .await
        .unwrap();
    assert_eq!(closed.state, IncidentState::Closed);
    let bad = store
        .update_incident_state(t, inc.id, IncidentState::Open)
        .await;
    assert!(
        matches!(bad, Err(StoreError::InvalidTransition { .. })),
        "{bad:?}"
    );
    assert_eq!(
        store
            .update_incident_state(t, Uuid::new_v4(), IncidentState::Closed)
            .await,
        Err(StoreError::NotFound)
    );
});

on_both!(environments_create_list_get, |store| {
    let (_, t) = tenant(&store, "acme").await;
    let tw = twin(&store, t, "twin-a").await;
    assert_eq!(tw.kind, EnvironmentKind::Twin);
    assert_eq!(
        tw.problem_id.as_deref(),
        Some("k8s_target_port-misconfig-detection-1")
    );
    assert_eq!(tw.config, json!({"seed": 7}));
    let k8s = store
        .create_environment(
            t,
            NewEnvironment {
                name: "prod".into(),
                spec: EnvironmentSpec::Kubernetes,
                config: json!({"context": "prod"}),
            },
        )
        .await
        .unwrap();
    assert_eq!(k8s.kind, EnvironmentKind::Kubernetes);
    assert_eq!(k8s.problem_id, None);
    let names: Vec<_> = store
        .environments(t)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["prod", "twin-a"]);
    assert_eq!(store.environment(t, tw.id).await.unwrap(), Some(tw.clone()));
    let dup = store
        .create_environment(
            t,
            NewEnvironment {
                name: "prod".into(),
                spec: EnvironmentSpec::Kubernetes,
                config: json!({}),
            },
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
});

on_both!(sessions_create_claim_renew_finish, |store| {
    let (t, s) = session_fixture(&store, "acme").await;
    assert_eq!(s.status, SessionStatus::Queued);
    assert_eq!(s.attempts, 0);
    assert_eq!(store.session(t, s.id).await.unwrap(), Some(s.clone()));
    let now = Utc::now();
    let claimed = store
        .claim_session("w1", Duration::seconds(30), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, s.id);
    assert_eq!(claimed.tenant_id, t.as_uuid());
    assert_eq!(claimed.status, SessionStatus::Running);
    assert_eq!(claimed.lease_owner.as_deref(), Some("w1"));
    assert_eq!(claimed.attempts, 1);
    assert!(claimed.started_at.is_some());
    assert!(
        store
            .claim_session("w2", Duration::seconds(30), now)
            .await
            .unwrap()
            .is_none()
    );
    let renewed = store
        .renew_lease(t, s.id, "w1", now + Duration::seconds(90))
        .await
        .unwrap();
    assert!(renewed.lease_expires_at.unwrap() > claimed.lease_expires_at.unwrap());
    assert!(matches!(
        store.renew_lease(t, s.id, "w2", now).await,
        Err(StoreError::Conflict { .. })
    ));
    let waiting = store
        .set_session_waiting(t, s.id, "w1", true)
        .await
        .unwrap();
    assert_eq!(waiting.status, SessionStatus::WaitingApproval);
    let bad = store.set_session_waiting(t, s.id, "w1", true).await;
    assert!(
        matches!(bad, Err(StoreError::InvalidTransition { .. })),
        "{bad:?}"
    );
    store
        .set_session_waiting(t, s.id, "w1", false)
        .await
        .unwrap();
    let bad = store
        .finish_session(t, s.id, "w1", SessionStatus::Queued, None)
        .await;
    assert!(
        matches!(bad, Err(StoreError::InvalidTransition { .. })),
        "{bad:?}"
    );
    let done = store
        .finish_session(
            t,
            s.id,
            "w1",
            SessionStatus::Succeeded,
            Some(json!({"verdict": "ok"})),
        )
        .await
        .unwrap();
    assert_eq!(done.status, SessionStatus::Succeeded);
    assert_eq!(done.lease_owner, None);
    assert_eq!(done.result, Some(json!({"verdict": "ok"})));
    assert!(done.finished_at.is_some());
    let again = store
        .finish_session(t, s.id, "w1", SessionStatus::Failed, None)
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    let listed = store
        .sessions(
            t,
            SessionFilter {
                status: Some(SessionStatus::Succeeded),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let by_incident = store
        .sessions(
            t,
            SessionFilter {
                incident_id: Some(s.incident_id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_incident.len(), 1);
    // Sessions need the tenant's own incident and environment.
    let (_, other) = tenant(&store, "globex").await;
    let res = store
        .create_session(
            other,
            NewSession {
                incident_id: s.incident_id,
                environment_id: s.environment_id,
            },
        )
        .await;
    assert_eq!(res, Err(StoreError::NotFound));
});

on_both!(sessions_claim_oldest_first_and_cancel, |store| {
    let (t, first) = session_fixture(&store, "acme").await;
    let second = store
        .create_session(
            t,
            NewSession {
                incident_id: first.incident_id,
                environment_id: first.environment_id,
            },
        )
        .await
        .unwrap();
    let now = Utc::now();
    let got = store
        .claim_session("w", Duration::seconds(30), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, first.id);
    let cancelled = store.cancel_session(t, second.id).await.unwrap();
    assert_eq!(cancelled.status, SessionStatus::Cancelled);
    assert!(
        store
            .claim_session("w", Duration::seconds(30), now)
            .await
            .unwrap()
            .is_none()
    );
    let bad = store.cancel_session(t, second.id).await;
    assert!(
        matches!(bad, Err(StoreError::InvalidTransition { .. })),
        "{bad:?}"
    );
    assert_eq!(
        store.cancel_session(t, Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    );
});

on_both!(sessions_reclaim_expired_leases, |store| {
    let (t, s) = session_fixture(&store, "acme").await;
    let t0 = Utc::now();
    store
        .claim_session("w1", Duration::seconds(10), t0)
        .await
        .unwrap()
        .unwrap();
    let early = store
        .reclaim_expired_leases(t0 + Duration::seconds(5), 2)
        .await
        .unwrap();
    assert_eq!(early, ReclaimReport::default());
    let late = store
        .reclaim_expired_leases(t0 + Duration::seconds(11), 2)
        .await
        .unwrap();
    assert_eq!(
        late,
        ReclaimReport {
            requeued: 1,
            failed: 0
        }
    );
    let back = store.session(t, s.id).await.unwrap().unwrap();
    assert_eq!(back.status, SessionStatus::Queued);
    assert_eq!(back.lease_owner, None);
    // The old worker lost it.
    assert!(matches!(
        store
            .finish_session(t, s.id, "w1", SessionStatus::Succeeded, None)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let t1 = t0 + Duration::seconds(20);
    let second = store
        .claim_session("w2", Duration::seconds(10), t1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.attempts, 2);
    let out = store
        .reclaim_expired_leases(t1 + Duration::seconds(11), 2)
        .await
        .unwrap();
    assert_eq!(
        out,
        ReclaimReport {
            requeued: 0,
            failed: 1
        }
    );
    assert_eq!(
        store.session(t, s.id).await.unwrap().unwrap().status,
        SessionStatus::Failed
    );
});

on_both!(sessions_concurrent_claims_take_each_once, |store| {
    let (t, s) = session_fixture(&store, "acme").await;
    let mut expected = vec![s.id];
    for _ in 0..9 {
        let next = store
            .create_session(
                t,
                NewSession {
                    incident_id: s.incident_id,
                    environment_id: s.environment_id,
                },
            )
            .await
            .unwrap();
        expected.push(next.id);
    }
    let now = Utc::now();
    let mut tasks = Vec::new();
    for worker in ["w1", "w2"] {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(s) = store
                .claim_session(worker, Duration::seconds(60), now)
                .await
                .unwrap()
            {
                assert_eq!(s.lease_owner.as_deref(), Some(worker));
                got.push(s.id);
            }
            got
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    claimed.sort();
    expected.sort();
    assert_eq!(claimed, expected, "every session claimed exactly once");
    for id in expected {
        assert_eq!(store.session(t, id).await.unwrap().unwrap().attempts, 1);
    }
});

on_both!(steps_append_is_idempotent, |store| {
    let (t, s) = session_fixture(&store, "acme").await;
    assert!(
        store
            .append_step(t, s.id, 0, "observer", json!({"decision": "probe"}))
            .await
            .unwrap()
    );
    assert!(
        store
            .append_step(t, s.id, 1, "probe", json!({"cmd": "kubectl get pods"}))
            .await
            .unwrap()
    );
    // A retried write of step 1 is a no-op and keeps the first payload.
    assert!(
        !store
            .append_step(t, s.id, 1, "probe", json!({"cmd": "retry"}))
            .await
            .unwrap()
    );
    let steps = store.steps(t, s.id).await.unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].role, "observer");
    assert_eq!(steps[1].payload, json!({"cmd": "kubectl get pods"}));
    assert_eq!(
        steps.iter().map(|s| s.step_index).collect::<Vec<_>>(),
        [0, 1]
    );
    // Concurrent retries of one step: exactly one writes.
    let mut tasks = Vec::new();
    for i in 0..4 {
        let store = store.clone();
        let id = s.id;
        tasks.push(tokio::spawn(async move {
            store
                .append_step(t, id, 2, "executor", json!({"try": i}))
                .await
                .unwrap()
        }));
    }
    let mut wrote = 0;
    for task in tasks {
        wrote += usize::from(task.await.unwrap());
    }
    assert_eq!(wrote, 1);
    assert_eq!(
        store
            .append_step(t, Uuid::new_v4(), 0, "x", json!(null))
            .await,
        Err(StoreError::NotFound)
    );
});

on_both!(approvals_decided_once_and_expire, |store| {
    let (t, s) = session_fixture(&store, "acme").await;
    let now = Utc::now();
    let a = store
        .create_approval(
            t,
            NewApproval {
                session_id: Some(s.id),
                request: json!({"tool": "kubectl", "args": "scale"}),
                deadline: now + Duration::minutes(5),
            },
        )
        .await
        .unwrap();
    assert_eq!(a.status, ApprovalStatus::Pending);
    assert_eq!(store.approval(t, a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store
            .approvals(t, Some(ApprovalStatus::Pending))
            .await
            .unwrap(),
        vec![a.clone()]
    );
    // Two deciders at once: exactly one wins.
    let mut tasks = Vec::new();
    for (who, approve) in [("ann", true), ("bob", false)] {
        let store = store.clone();
        let id = a.id;
        tasks.push(tokio::spawn(async move {
            store
                .decide_approval(
                    t,
                    id,
                    ApprovalDecision {
                        approve,
                        decided_by: who.into(),
                        reason: Some("because".into()),
                    },
                    now,
                )
                .await
        }));
    }
    let mut wins = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(decided) => wins.push(decided),
            Err(StoreError::Conflict { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins.len(), 1);
    let decided = store.approval(t, a.id).await.unwrap().unwrap();
    assert_eq!(decided, wins[0]);
    assert!(matches!(
        decided.status,
        ApprovalStatus::Approved | ApprovalStatus::Denied
    ));
    assert_eq!(decided.reason.as_deref(), Some("because"));
    assert!(decided.decided_by.is_some() && decided.decided_at.is_some());
    // Past the deadline: cannot be decided, and the sweep expires it.
    let late = store
        .create_approval(
            t,
            NewApproval {
                session_id: None,
                request: json!({}),
                deadline: now + Duration::seconds(1),
            },
        )
        .await
        .unwrap();
    let res = store
        .decide_approval(
            t,
            late.id,
            ApprovalDecision {
                approve: true,
                decided_by: "ann".into(),
                reason: None,
            },
            now + Duration::seconds(2),
        )
        .await;
    assert!(matches!(res, Err(StoreError::Conflict { .. })), "{res:?}");
    assert_eq!(store.expire_approvals(now).await.unwrap(), 0);
    assert_eq!(
        store
            .expire_approvals(now + Duration::seconds(2))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .approvals(t, Some(ApprovalStatus::Expired))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.approvals(t, None).await.unwrap().len(), 2);
    let missing = store
        .decide_approval(
            t,
            Uuid::new_v4(),
            ApprovalDecision {
                approve: true,
                decided_by: "ann".into(),
                reason: None,
            },
            now,
        )
        .await;
    assert_eq!(missing, Err(StoreError::NotFound));
});

on_both!(guardrails_upsert_list_delete, |store| {
    let (_, t) = tenant(&store, "acme").await;
    let rule = |action: &str, decision, priority| GuardrailRule {
        action_pattern: action.into(),
        namespace_pattern: "*".into(),
        service_pattern: "*".into(),
        decision,
        priority,
    };
    let low = store
        .upsert_guardrail(t, rule("kubectl scale*", GuardrailDecision::Ask, 10))
        .await
        .unwrap();
    let high = store
        .upsert_guardrail(t, rule("kubectl delete*", GuardrailDecision::Deny, 100))
        .await
        .unwrap();
    let listed: Vec<_> = store
        .guardrails(t)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(listed, [high.id, low.id]);
    // Same patterns: updated in place.
    let updated = store
        .upsert_guardrail(t, rule("kubectl scale*", GuardrailDecision::Auto, 200))
        .await
        .unwrap();
    assert_eq!(updated.id, low.id);
    assert_eq!(updated.decision, GuardrailDecision::Auto);
    let listed: Vec<_> = store
        .guardrails(t)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(listed, [low.id, high.id]);
    store.delete_guardrail(t, high.id).await.unwrap();
    assert_eq!(
        store.delete_guardrail(t, high.id).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.guardrails(t).await.unwrap().len(), 1);
});

on_both!(audit_append_query_export, |store| {
    let (_, t) = tenant(&store, "acme").await;
    let start = Utc::now() - Duration::seconds(1);
    let mut seqs = Vec::new();
    for i in 0..5 {
        let e = store
            .append_audit(NewAuditEvent {
                tenant: Some(t),
                actor: if i % 2 == 0 {
                    "ann".into()
                } else {
                    "worker-1".into()
                },
                action: if i < 3 {
                    "incident.update".into()
                } else {
                    "approval.decide".into()
                },
                target: format!("incident/{i}"),
                decision: Some("allow".into()),
                details: json!({"i": i}),
            })
            .await
            .unwrap();
        seqs.push(e.seq);
    }
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "sequence ids increase: {seqs:?}"
    );
    let platform = store
        .append_audit(NewAuditEvent {
            tenant: None,
            actor: "admin".into(),
            action: "tenant.create".into(),
            target: "tenant/acme".into(),
            decision: None,
            details: json!({}),
        })
        .await
        .unwrap();
    let scope = AuditScope::Tenant(t);
    assert_eq!(
        store
            .audit_events(scope, AuditFilter::default())
            .await
            .unwrap()
            .len(),
        5
    );
    let ann = store
        .audit_events(
            scope,
            AuditFilter {
                actor: Some("ann".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ann.len(), 3);
    let decide = store
        .audit_events(
            scope,
            AuditFilter {
                action: Some("approval.decide".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(decide.len(), 2);
    let limited = store
        .audit_events(
            scope,
            AuditFilter {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs[..2]);
    let window = store
        .audit_events(
            scope,
            AuditFilter {
                since: Some(start),
                until: Some(Utc::now() + Duration::seconds(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(window.len(), 5);
    let none = store
        .audit_events(
            scope,
            AuditFilter {
                until: Some(start),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty());
    let plat = store
        .audit_events(AuditScope::Platform, AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(plat, vec![platform]);
    let mut export = store.audit_export(scope, AuditFilter::default(), 2);
    let mut exported = Vec::new();
    let mut pages = 0;
    while let Some(page) = export.next_page().await.unwrap() {
        pages += 1;
        exported.extend(page.into_iter().map(|e| e.seq));
    }
    assert_eq!(exported, seqs);
    assert_eq!(pages, 3);
});

on_both!(tenant_isolation_every_query, |store| {
    let (t_a, s_a) = session_fixture(&store, "acme").await;
    let (_, t_b) = tenant(&store, "globex").await;
    let inc = store
        .ingest_alert(t_a, alert("fp-iso", AlertStatus::Firing))
        .await
        .unwrap()
        .unwrap();
    let user = store
        .create_user(
            t_a,
            NewUser {
                username: "ann".into(),
                password_hash: "h".into(),
                role: "admin".into(),
            },
        )
        .await
        .unwrap();
    let key = store
        .create_api_key(
            t_a,
            NewApiKey {
                name: "k".into(),
                prefix: "aoi_iso".into(),
                key_hash: "h".into(),
                role: "r".into(),
            },
        )
        .await
        .unwrap();
    store
        .append_step(t_a, s_a.id, 0, "observer", json!({}))
        .await
        .unwrap();
    let appr = store
        .create_approval(
            t_a,
            NewApproval {
                session_id: Some(s_a.id),
                request: json!({}),
                deadline: Utc::now() + Duration::minutes(5),
            },
        )
        .await
        .unwrap();
    let guard = store
        .upsert_guardrail(
            t_a,
            GuardrailRule {
                action_pattern: "*".into(),
                namespace_pattern: "*".into(),
                service_pattern: "*".into(),
                decision: GuardrailDecision::Ask,
                priority: 1,
            },
        )
        .await
        .unwrap();
    store
        .append_audit(NewAuditEvent {
            tenant: Some(t_a),
            actor: "ann".into(),
            action: "x".into(),
            target: "y".into(),
            decision: None,
            details: json!({}),
        })
        .await
        .unwrap();

    // Reads from B see nothing of A.
    assert_eq!(store.user(t_b, user.id).await.unwrap(), None);
    assert_eq!(store.user_by_username(t_b, "ann").await.unwrap(), None);
    assert!(store.users(t_b).await.unwrap().is_empty());
    assert!(store.api_keys(t_b).await.unwrap().is_empty());
    assert_eq!(store.incident(t_b, inc.incident.id).await.unwrap(), None);
    assert!(
        store
            .incidents(t_b, IncidentFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .incident_alerts(t_b, inc.incident.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.environment(t_b, s_a.environment_id).await.unwrap(),
        None
    );
    assert!(store.environments(t_b).await.unwrap().is_empty());
    assert_eq!(store.session(t_b, s_a.id).await.unwrap(), None);
    assert!(
        store
            .sessions(t_b, SessionFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.steps(t_b, s_a.id).await.unwrap().is_empty());
    assert_eq!(store.approval(t_b, appr.id).await.unwrap(), None);
    assert!(store.approvals(t_b, None).await.unwrap().is_empty());
    assert!(store.guardrails(t_b).await.unwrap().is_empty());
    assert!(
        store
            .audit_events(AuditScope::Tenant(t_b), AuditFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .audit_events(AuditScope::Platform, AuditFilter::default())
            .await
            .unwrap()
            .is_empty()
    );

    // Writes from B on A's rows answer NotFound and change nothing.
    assert_eq!(
        store.disable_user(t_b, user.id).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.revoke_api_key(t_b, key.id).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .update_incident_state(t_b, inc.incident.id, IncidentState::Closed)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .create_session(
                t_b,
                NewSession {
                    incident_id: s_a.incident_id,
                    environment_id: s_a.environment_id
                }
            )
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.append_step(t_b, s_a.id, 5, "x", json!({})).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.cancel_session(t_b, s_a.id).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .create_approval(
                t_b,
                NewApproval {
                    session_id: Some(s_a.id),
                    request: json!({}),
                    deadline: Utc::now()
                }
            )
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .decide_approval(
                t_b,
                appr.id,
                ApprovalDecision {
                    approve: true,
                    decided_by: "mallory".into(),
                    reason: None
                },
                Utc::now()
            )
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.delete_guardrail(t_b, guard.id).await,
        Err(StoreError::NotFound)
    );
    // A firing alert with A's fingerprint opens B's own incident, not A's.
    let b_inc = store
        .ingest_alert(t_b, alert("fp-iso", AlertStatus::Firing))
        .await
        .unwrap()
        .unwrap();
    assert!(b_inc.created);
    assert_ne!(b_inc.incident.id, inc.incident.id);
    let b_resolve = store
        .ingest_alert(t_b, alert("fp-iso", AlertStatus::Resolved))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b_resolve.incident.id, b_inc.incident.id);
    // Worker-held session of A cannot be touched through B.
    let claimed = store
        .claim_session("w", Duration::seconds(30), Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, s_a.id);
    assert_eq!(
        store.renew_lease(t_b, s_a.id, "w", Utc::now()).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .finish_session(t_b, s_a.id, "w", SessionStatus::Succeeded, None)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.set_session_waiting(t_b, s_a.id, "w", true).await,
        Err(StoreError::NotFound)
    );

    // A's rows are intact.
    assert!(!store.user(t_a, user.id).await.unwrap().unwrap().disabled);
    assert!(store.api_key_by_prefix("aoi_iso").await.unwrap().is_some());
    assert_eq!(
        store
            .incident(t_a, inc.incident.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        IncidentState::Open
    );
    assert_eq!(store.steps(t_a, s_a.id).await.unwrap().len(), 1);
    assert_eq!(
        store.approval(t_a, appr.id).await.unwrap().unwrap().status,
        ApprovalStatus::Pending
    );
    assert_eq!(store.guardrails(t_a).await.unwrap().len(), 1);
});
