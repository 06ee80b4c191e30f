//! The model registry and inference policy of `aoi serve` over real HTTP, on SQLite and on
//! PostgreSQL: register -> canary -> active -> roll back, the conflicts' messages, viewers and
//! operators refused, every change audited, policy defaults from the configuration and
//! overrides by the platform admin only, and tenants kept apart. Then the resolution a chat
//! completion does, in process: canary share per affinity key, pinned versions, another
//! tenant's upstream name refused, base models passed through.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_control::auth::LoginRequest;
use aoi_control::{ApiError, Authorized, Config, Permission, Principal, TenantScope};
use aoi_e2e::{Launch, Server, create_pg_database, drop_pg_database, pg_url};
use aoi_platform::models::{
    self, InferencePolicy, NewAdapter, Promotion, canary_bucket, upstream_name,
};
use aoi_platform::{Platform, tenants};
use aoi_store::AdapterStatus;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aoi");
use aoi_e2e::ADMIN_PASSWORD;

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

async fn user(s: &Server, admin: &str, name: &str, role: &str) -> String {
    let password = format!("{name}-password");
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/users",
            Some(admin),
            Some(json!({"username": name, "password": password, "role": role})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s.login("default", name, &password).await
}

async fn register(s: &Server, token: &str, name: &str, source: &str) -> (StatusCode, Value) {
    s.call(
        "POST",
        "/api/v1/models/adapters",
        Some(token),
        Some(json!({"name": name, "base_model": "qwen2.5-7b", "source": source, "notes": "n"})),
    )
    .await
}

async fn promote(s: &Server, token: &str, name: &str, v: u32, body: Value) -> (StatusCode, Value) {
    let path = format!("/api/v1/models/adapters/{name}/versions/{v}/promote");
    s.call("POST", &path, Some(token), Some(body)).await
}

async fn audit(s: &Server, admin: &str, action: &str) -> Vec<Value> {
    let (status, body) = s
        .call(
            "GET",
            &format!("/api/v1/audit?action={action}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// The whole REST scenario against one running server whose `[inference]` sets
/// `external_allowed = true` and `quota.tokens_per_day = 1000`.
async fn scenario(s: &Server) {
    let admin = s.login("default", "admin", ADMIN_PASSWORD).await;
    let operator = user(s, &admin, "olga", "operator").await;
    let viewer = user(s, &admin, "vera", "viewer").await;

    // Viewers read, nobody but admins writes.
    let (status, body) = s
        .call("GET", "/api/v1/models/adapters", Some(&viewer), None)
        .await;
    assert_eq!(
        (status, body.clone()),
        (StatusCode::OK, json!([])),
        "{body}"
    );
    for token in [&viewer, &operator] {
        let (status, body) = register(s, token, "triage", "/lora/t1").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(message(&body).contains("manage_models"), "{body}");
    }

    // Register three versions; bad input names its field.
    for (i, source) in ["/lora/t1", "/lora/t2", "/lora/t3"].iter().enumerate() {
        let (status, body) = register(s, &admin, "triage", source).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["version"], i + 1);
        assert_eq!(body["status"], "candidate");
        assert_eq!(body["source"], *source);
        assert_eq!(body["upstream"], format!("default--triage--v{}", i + 1));
    }
    for (name, source, field) in [
        ("Bad", "/lora/x", "name"),
        ("a--b", "/lora/x", "name"),
        ("ok", " ", "source"),
    ] {
        let (status, body) = register(s, &admin, name, source).await;
        assert_eq!(status.as_u16() / 100, 4, "{name}: {body}");
        assert_eq!(code(&body), "invalid_input", "{body}");
        assert!(message(&body).contains(field), "{body}");
    }
    for token in [&viewer, &operator] {
        let (status, body) = promote(s, token, "triage", 1, json!({"to": "active"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = s
            .call(
                "POST",
                "/api/v1/models/adapters/triage/rollback",
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }

    // v1 active, v2 canary at 10%.
    let (status, body) = promote(s, &admin, "triage", 1, json!({"to": "active"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "active");
    let (status, body) = promote(
        s,
        &admin,
        "triage",
        2,
        json!({"to": "canary", "canary_percent": 10}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["status"].clone(), body["canary_percent"].clone()),
        (json!("canary"), json!(10))
    );
    let (status, body) = s
        .call("GET", "/api/v1/models/adapters/triage", Some(&viewer), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["active"].clone(), body["canary"].clone()),
        (json!(1), json!(2)),
        "{body}"
    );
    assert_eq!(body["versions"].as_array().unwrap().len(), 3);

    // Refused moves say where the version is and what is allowed.
    let (status, body) = promote(
        s,
        &admin,
        "triage",
        1,
        json!({"to": "canary", "canary_percent": 5}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("triage v1 is active"), "{body}");
    assert!(
        message(&body).contains("a candidate can become canary or active"),
        "{body}"
    );
    for percent in [0, 100] {
        let (status, body) = promote(
            s,
            &admin,
            "triage",
            3,
            json!({"to": "canary", "canary_percent": percent}),
        )
        .await;
        assert_eq!(code(&body), "invalid_input", "{status} {body}");
        assert!(message(&body).contains("canary_percent"), "{body}");
    }
    let (status, body) = promote(s, &admin, "triage", 9, json!({"to": "active"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = promote(s, &admin, "triage", 3, json!({"to": "retired"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The canary becomes active (v1 retires), then the roll-back restores v1.
    let (status, body) = promote(s, &admin, "triage", 2, json!({"to": "active"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/models/adapters/triage/rollback",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["retired"]["version"].clone(),
            body["retired"]["status"].clone()
        ),
        (json!(2), json!("retired"))
    );
    assert_eq!(
        (
            body["restored"]["version"].clone(),
            body["restored"]["status"].clone()
        ),
        (json!(1), json!("active"))
    );
    // A name with only candidates: nothing to roll back; an unknown name: 404.
    let (status, body) = register(s, &admin, "fresh", "/lora/f1").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/models/adapters/fresh/rollback",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).contains("no canary and no active version"),
        "{body}"
    );
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/models/adapters/nope/rollback",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Every change is one audit record with the actor and the status before and after.
    let (_, me) = s.call("GET", "/api/v1/users", Some(&admin), None).await;
    let admin_id = me
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let registered = audit(s, &admin, "model_adapter.register").await;
    assert_eq!(registered.len(), 4, "{registered:?}");
    let promoted = audit(s, &admin, "model_adapter.promote").await;
    let moves: Vec<(Value, Value, Value)> = promoted
        .iter()
        .map(|r| {
            (
                r["details"]["version"].clone(),
                r["details"]["before"].clone(),
                r["details"]["after"].clone(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            (json!(1), json!("candidate"), json!("active")),
            (json!(2), json!("candidate"), json!("canary")),
            (json!(2), json!("canary"), json!("active")),
        ]
    );
    assert!(
        promoted
            .iter()
            .all(|r| r["actor"] == format!("user:{admin_id}")),
        "{promoted:?}"
    );
    assert_eq!(
        promoted[2]["details"]["retired"],
        json!([{"version": 1, "before": "active", "after": "retired"}])
    );
    let rolled = audit(s, &admin, "model_adapter.rollback").await;
    assert_eq!(rolled.len(), 1, "{rolled:?}");
    assert_eq!(
        (
            rolled[0]["details"]["before"].clone(),
            rolled[0]["details"]["after"].clone()
        ),
        (json!("active"), json!("retired"))
    );
    assert_eq!(rolled[0]["details"]["restored"]["version"], 1);
    let denied = audit(s, &admin, "authz.denied").await;
    assert!(
        denied
            .iter()
            .filter(|r| r["target"] == "manage_models")
            .count()
            >= 4,
        "{denied:?}"
    );

    // Policy: the configured defaults, then the platform admin's override.
    let (status, body) = s
        .call("GET", "/api/v1/inference/policy", Some(&viewer), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["source"], "defaults");
    assert_eq!(
        body["allow_external"], true,
        "from inference.external_allowed"
    );
    assert_eq!(body["redact_identifiers"], false);
    assert_eq!(body["tokens_per_day"], 1000, "from inference.quota");
    assert_eq!(body["max_concurrent"], Value::Null);
    let set = json!({"allow_external": false, "redact_identifiers": true, "max_concurrent": 2});
    let (status, body) = s
        .call(
            "PUT",
            "/api/v1/tenants/default/inference-policy",
            Some(&admin),
            Some(set.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["source"], "tenant");
    let (_, body) = s
        .call("GET", "/api/v1/inference/policy", Some(&operator), None)
        .await;
    assert_eq!(
        (
            body["allow_external"].clone(),
            body["redact_identifiers"].clone()
        ),
        (json!(false), json!(true)),
        "{body}"
    );
    assert_eq!(
        (
            body["max_concurrent"].clone(),
            body["tokens_per_day"].clone()
        ),
        (json!(2), Value::Null),
        "{body}"
    );
    let (status, body) = s
        .call(
            "PUT",
            "/api/v1/tenants/default/inference-policy",
            Some(&admin),
            Some(json!({"allow_external": true, "max_concurrent": 0})),
        )
        .await;
    assert_eq!(code(&body), "invalid_input", "{status} {body}");
    assert!(message(&body).contains("max_concurrent"), "{body}");
    let (status, body) = s
        .call(
            "PUT",
            "/api/v1/tenants/nosuch/inference-policy",
            Some(&admin),
            Some(set.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let set_audit = audit(s, &admin, "inference_policy.set").await;
    assert_eq!(set_audit.len(), 1, "{set_audit:?}");
    assert_eq!(set_audit[0]["details"]["before"]["allow_external"], true);
    assert_eq!(set_audit[0]["details"]["after"]["allow_external"], false);

    // Another tenant: its own admin can neither set policies nor see default's adapters.
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/tenants",
            Some(&admin),
            Some(json!({"slug": "globex", "name": "Globex", "admin_username": "gina", "admin_password": "gina-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let gina = s.login("globex", "gina", "gina-password").await;
    for slug in ["globex", "default"] {
        let (status, body) = s
            .call(
                "PUT",
                &format!("/api/v1/tenants/{slug}/inference-policy"),
                Some(&gina),
                Some(set.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    for token in [&operator, &viewer] {
        let (status, body) = s
            .call(
                "PUT",
                "/api/v1/tenants/default/inference-policy",
                Some(token),
                Some(set.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (_, body) = s
        .call("GET", "/api/v1/inference/policy", Some(&gina), None)
        .await;
    assert_eq!(
        (body["tenant"].clone(), body["source"].clone()),
        (json!("globex"), json!("defaults")),
        "{body}"
    );
    let (_, body) = s
        .call("GET", "/api/v1/models/adapters", Some(&gina), None)
        .await;
    assert_eq!(body, json!([]));
    let (status, _) = s
        .call("GET", "/api/v1/models/adapters/triage", Some(&gina), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = promote(s, &gina, "triage", 3, json!({"to": "active"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Its own registry numbers from 1.
    let (status, body) = register(s, &gina, "triage", "/lora/g1").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["version"].clone(), body["upstream"].clone()),
        (json!(1), json!("globex--triage--v1"))
    );
}

fn launch(database_url: Option<String>) -> Launch {
    Launch {
        database_url,
        ..Launch::default()
    }
    .with("AOI__INFERENCE__EXTERNAL_ALLOWED", "true")
    .with("AOI__INFERENCE__QUOTA__TOKENS_PER_DAY", "1000")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_registry_and_policy_over_http_on_sqlite() {
    let server = Server::launch(BIN, &launch(None));
    scenario(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_registry_and_policy_over_http_on_postgres() {
    let name = create_pg_database().await;
    let server = Server::launch(BIN, &launch(Some(pg_url(&name))));
    scenario(&server).await;
    server.stop().await;
    drop_pg_database(&name).await;
}

async fn in_process(dir: &std::path::Path) -> (Platform, Authorized, Authorized) {
    let mut config = Config::load_str(None, Vec::<(String, String)>::new()).unwrap();
    config.server.data_dir = dir.to_path_buf();
    let p = Platform::open(config).await.unwrap();
    tenants::bootstrap(&p, Some(ADMIN_PASSWORD.to_owned()))
        .await
        .unwrap();
    let token = tenants::login(
        &p,
        &LoginRequest {
            tenant: "default".into(),
            username: "admin".into(),
            password: ADMIN_PASSWORD.into(),
        },
    )
    .await
    .unwrap();
    let admin: Principal = p
        .authenticator
        .authenticate(&token.access_token)
        .await
        .unwrap();
    let scope = TenantScope::Tenant(admin.tenant.clone());
    let manage = p
        .authorizer
        .authorize(&admin, &scope, Permission::ManageModels)
        .await
        .unwrap();
    let platform = p
        .authorizer
        .authorize(&admin, &TenantScope::Platform, Permission::ManageTenants)
        .await
        .unwrap();
    (p, manage, platform)
}

fn adapter(name: &str, base: &str, source: &str) -> NewAdapter {
    NewAdapter {
        name: name.into(),
        base_model: base.into(),
        source: source.into(),
        notes: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_model_adapters_canary_share_pinning_and_passthrough() {
    let dir = tempfile::tempdir().unwrap();
    let (p, manage, platform_admin) = in_process(dir.path()).await;
    let created = tenants::create(
        &p,
        &platform_admin,
        tenants::CreateTenant {
            slug: "globex".into(),
            name: "Globex".into(),
            admin_username: None,
            admin_password: None,
        },
    )
    .await
    .unwrap();
    let globex = aoi_store::TenantId::from_uuid(created.id);
    let tenant = aoi_platform::tenants::scope_tenant(&p, &manage)
        .await
        .unwrap();
    for source in ["/lora/t1", "/lora/t2", "/lora/t3"] {
        models::register_adapter(&p, &manage, adapter("triage", "qwen", source))
            .await
            .unwrap();
    }

    // A name with only candidates: 404 saying so (and it is not taken for a base model).
    let err = models::resolve_model(&p, tenant, "default", "triage", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::NotFound { what } if what.contains("no active or canary")),
        "{err:?}"
    );

    models::promote_adapter(&p, &manage, "triage", 1, Promotion::Active)
        .await
        .unwrap();
    // Resolved at once after the change (the cache is dropped on local changes).
    let active = models::resolve_model(&p, tenant, "default", "triage", Some("s"))
        .await
        .unwrap();
    assert_eq!(active.upstream, "default--triage--v1");
    assert_eq!(
        (active.version, active.status),
        (Some(1), Some(AdapterStatus::Active))
    );
    let load = active.adapter.unwrap();
    assert_eq!(
        (
            load.name.as_str(),
            load.path.as_str(),
            load.base_model.as_str()
        ),
        ("default--triage--v1", "/lora/t1", "qwen")
    );

    models::promote_adapter(
        &p,
        &manage,
        "triage",
        2,
        Promotion::Canary { canary_percent: 30 },
    )
    .await
    .unwrap();
    let mut to_canary = 0;
    for i in 0..200 {
        let key = format!("session-{i}");
        let first = models::resolve_model(&p, tenant, "default", "triage", Some(&key))
            .await
            .unwrap();
        let again = models::resolve_model(&p, tenant, "default", "triage", Some(&key))
            .await
            .unwrap();
        assert_eq!(
            first, again,
            "the same key always lands on the same version"
        );
        let expected = if canary_bucket(&key) < 30 { 2 } else { 1 };
        assert_eq!(first.version, Some(expected), "{key}");
        if expected == 2 {
            assert_eq!(first.status, Some(AdapterStatus::Canary));
            to_canary += 1;
        }
    }
    assert!(
        (30..=90).contains(&to_canary),
        "{to_canary} of 200 keys on a 30% canary"
    );

    // Pinning a version by its upstream name: in service only, own tenant only.
    let pinned = models::resolve_model(
        &p,
        tenant,
        "default",
        &upstream_name("default", "triage", 2),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (pinned.version, pinned.status),
        (Some(2), Some(AdapterStatus::Canary))
    );
    let candidate = models::resolve_model(&p, tenant, "default", "default--triage--v3", None)
        .await
        .unwrap();
    assert_eq!(candidate.status, Some(AdapterStatus::Candidate));
    for refused in ["default--triage--v9", "globex--triage--v1"] {
        let err = models::resolve_model(&p, tenant, "default", refused, None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ApiError::NotFound { what } if what.contains("not available to this tenant")),
            "{refused}: {err:?}"
        );
    }
    // Globex cannot reach default's adapters, by name or by upstream name.
    let err = models::resolve_model(&p, globex, "globex", "default--triage--v1", None)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }));
    let theirs = models::resolve_model(&p, globex, "globex", "triage", None)
        .await
        .unwrap();
    assert_eq!(
        (theirs.upstream.as_str(), theirs.adapter),
        ("triage", None),
        "a base model to them"
    );

    // Base models pass through.
    let base = models::resolve_model(&p, tenant, "default", "Qwen/Qwen2.5-7B-Instruct", None)
        .await
        .unwrap();
    assert_eq!(
        (base.upstream.as_str(), base.version, base.status),
        ("Qwen/Qwen2.5-7B-Instruct", None, None)
    );
    assert_eq!(base.adapter, None);

    // Workers: the active adapter of a base model.
    let for_base = models::active_adapter_for_base(&p, tenant, "default", "qwen")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(for_base.upstream, "default--triage--v1");
    assert_eq!(
        models::active_adapter_for_base(&p, tenant, "default", "llama")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        models::active_adapter_for_base(&p, globex, "globex", "qwen")
            .await
            .unwrap(),
        None
    );

    // Roll back the canary: everyone is on v1 again; a retired version cannot be pinned.
    models::rollback_adapter(&p, &manage, "triage")
        .await
        .unwrap();
    for i in 0..20 {
        let got = models::resolve_model(&p, tenant, "default", "triage", Some(&format!("k{i}")))
            .await
            .unwrap();
        assert_eq!(got.version, Some(1));
    }
    assert!(
        models::resolve_model(&p, tenant, "default", "default--triage--v2", None)
            .await
            .is_err()
    );

    // Policy: defaults from the configuration, then the stored one, then refused without proof.
    assert_eq!(
        models::inference_policy(&p, tenant).await.unwrap(),
        InferencePolicy {
            allow_external: false,
            redact_identifiers: false,
            max_concurrent: None,
            tokens_per_minute: None,
            tokens_per_day: None,
        }
    );
    let set = InferencePolicy {
        allow_external: true,
        redact_identifiers: true,
        max_concurrent: Some(3),
        tokens_per_minute: Some(10_000),
        tokens_per_day: None,
    };
    models::set_inference_policy(&p, &platform_admin, "globex", set)
        .await
        .unwrap();
    assert_eq!(models::inference_policy(&p, globex).await.unwrap(), set);
    assert!(
        !models::inference_policy(&p, tenant)
            .await
            .unwrap()
            .allow_external
    );
    let err = models::set_inference_policy(&p, &manage, "globex", set)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Forbidden { .. }), "{err:?}");
}
