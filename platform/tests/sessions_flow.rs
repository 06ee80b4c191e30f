//! Sessions on workers end to end over SQLite (and Redis for the queue tests): approvals,
//! denials, deadlines, a viewer's refusal, idempotent steps, a dead worker and a Redis flush.
//! Redis must run at `AOI_TEST_REDIS_URL` (default redis://127.0.0.1:6379); those tests fail,
//! never skip, when it does not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aoi_control::authz::{PolicyStore, default_tenant_policies};
use aoi_control::{
    ApiError, Authorized, Config, Permission, Principal, PrincipalKind, Role, TenantScope,
    TenantSlug,
};
use aoi_platform::Platform;
use aoi_platform::approvals::{self, ApprovalQuery, Decision};
use aoi_platform::ports::StorePolicies;
use aoi_platform::queue::{InProcessQueue, RedisQueue, SessionQueue};
use aoi_platform::sessions::{self, StartSession};
use aoi_platform::worker::{AgentWorker, WorkerOptions, reconcile_once};
use aoi_store::{
    Approval, ApprovalStatus, EnvironmentSpec, IncidentState, NewEnvironment, NewIncident,
    NewTenant, SessionStatus, Store, TenantId,
};
use uuid::Uuid;

const MITIGATION: &str = "k8s_target_port-misconfig-mitigation-1";

struct Fixture {
    platform: Platform,
    slug: TenantSlug,
    tenant: TenantId,
    environment: Uuid,
    _dir: tempfile::TempDir,
}

async fn fixture(approval_timeout_secs: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("aoi.sqlite").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let slug = TenantSlug::new("acme").unwrap();
    let tenant = store
        .create_tenant(NewTenant {
            slug: "acme".into(),
            name: "Acme".into(),
        })
        .await
        .unwrap();
    StorePolicies(store.clone())
        .add(&default_tenant_policies(&slug))
        .await
        .unwrap();
    let tenant = TenantId::from_uuid(tenant.id);
    let env = store
        .create_environment(
            tenant,
            NewEnvironment {
                name: "twin".into(),
                spec: EnvironmentSpec::Twin {
                    problem_id: MITIGATION.into(),
                },
                config: serde_json::json!({}),
            },
        )
        .await
        .unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.path().to_path_buf();
    config.approvals.timeout_secs = approval_timeout_secs;
    let platform = Platform::from_store(config, store).await.unwrap();
    Fixture {
        platform,
        slug,
        tenant,
        environment: env.id,
        _dir: dir,
    }
}

impl Fixture {
    async fn proof(&self, role: Role, id: &str, permission: Permission) -> Result<Authorized, ApiError> {
        let principal = Principal {
            kind: PrincipalKind::User,
            id: id.into(),
            tenant: self.slug.clone(),
            roles: vec![role],
            display: id.into(),
        };
        self.platform
            .authorizer
            .authorize(&principal, &TenantScope::Tenant(self.slug.clone()), permission)
            .await
            .map_err(ApiError::from)
    }

    async fn start(&self) -> (Uuid, Uuid) {
        let incident = self
            .platform
            .store
            .create_incident(
                self.tenant,
                NewIncident {
                    fingerprint: Uuid::new_v4().to_string(),
                    title: "checkout errors".into(),
                    severity: "critical".into(),
                    service: None,
                    namespace: None,
                    labels: serde_json::json!({}),
                },
            )
            .await
            .unwrap();
        let auth = self
            .proof(Role::Operator, "olive", Permission::StartSession)
            .await
            .unwrap();
        let session = sessions::start_session(
            &self.platform,
            &auth,
            incident.id,
            StartSession {
                environment_id: self.environment,
            },
        )
        .await
        .unwrap();
        assert_eq!(session.status, SessionStatus::Queued);
        (incident.id, session.id)
    }

    fn worker(&self, queue: Arc<dyn SessionQueue>, id: &str, lease: Duration) -> AgentWorker {
        AgentWorker {
            platform: self.platform.clone(),
            queue,
            id: id.into(),
            options: WorkerOptions {
                lease,
                poll: Duration::from_millis(100),
                approval_poll: Duration::from_millis(50),
                reconcile_every: Duration::from_millis(200),
                max_attempts: 5,
            },
        }
    }

    async fn pending(&self, wait: Duration) -> Approval {
        let deadline = Instant::now() + wait;
        loop {
            let auth = self
                .proof(Role::Viewer, "vic", Permission::ReadApprovals)
                .await
                .unwrap();
            let pending = approvals::list_approvals(
                &self.platform,
                &auth,
                ApprovalQuery {
                    status: Some(ApprovalStatus::Pending),
                },
            )
            .await
            .unwrap();
            if let Some(a) = pending.into_iter().last() {
                return a;
            }
            assert!(Instant::now() < deadline, "no pending approval appeared");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn decide(&self, id: Uuid, approve: bool) {
        let auth = self
            .proof(Role::Operator, "olive", Permission::DecideApproval)
            .await
            .unwrap();
        approvals::decide_approval(
            &self.platform,
            &auth,
            id,
            approve,
            Decision {
                reason: "checked the change".into(),
            },
        )
        .await
        .unwrap();
    }

    async fn session(&self, id: Uuid) -> sessions::SessionWithSteps {
        let auth = self
            .proof(Role::Viewer, "vic", Permission::ReadSessions)
            .await
            .unwrap();
        sessions::get_session(&self.platform, &auth, id).await.unwrap()
    }

    async fn incident_state(&self, id: Uuid) -> IncidentState {
        self.platform
            .store
            .incident(self.tenant, id)
            .await
            .unwrap()
            .unwrap()
            .state
    }
}

fn executor_gates(s: &sessions::SessionWithSteps) -> Vec<serde_json::Value> {
    s.steps
        .iter()
        .filter(|st| st.role == "executor")
        .filter_map(|st| st.payload.get("gate").cloned())
        .filter(|g| !g.is_null())
        .collect()
}

fn assert_steps_contiguous(s: &sessions::SessionWithSteps) {
    let indices: Vec<i32> = s.steps.iter().map(|st| st.index).collect();
    let expected: Vec<i32> = (0..i32::try_from(indices.len()).unwrap()).collect();
    assert_eq!(indices, expected, "steps lost or doubled");
    let recorded = s.session.result.as_ref().unwrap()["steps"].as_u64().unwrap();
    assert_eq!(recorded as usize, s.steps.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_runs_the_write_as_the_approver_and_mitigates() {
    let f = fixture(60).await;
    let (incident, session) = f.start().await;
    assert_eq!(f.incident_state(incident).await, IncidentState::Diagnosing);
    let worker = f.worker(InProcessQueue::new(), "w1", Duration::from_secs(10));
    let run = tokio::spawn(async move { worker.claim_and_run(None).await.unwrap() });
    let approval = f.pending(Duration::from_secs(30)).await;
    assert_eq!(approval.session_id, Some(session));
    assert_eq!(f.incident_state(incident).await, IncidentState::AwaitingApproval);
    let waiting = f.platform.store.session(f.tenant, session).await.unwrap().unwrap();
    assert_eq!(waiting.status, SessionStatus::WaitingApproval);

    // A viewer cannot approve: authorization answers 403 before any service runs.
    let refused = f
        .proof(Role::Viewer, "vic", Permission::DecideApproval)
        .await
        .unwrap_err();
    assert_eq!(refused.http_status(), 403);

    f.decide(approval.id, true).await;
    assert_eq!(run.await.unwrap(), Some(session));
    let s = f.session(session).await;
    assert_eq!(s.session.status, SessionStatus::Succeeded, "{:?}", s.session.result);
    let gates = executor_gates(&s);
    assert!(
        gates
            .iter()
            .any(|g| g["outcome"] == "approved" && g["actor"] == "user:olive"),
        "{gates:?}"
    );
    assert!(s.session.result.as_ref().unwrap()["writes"].as_u64().unwrap() > 0);
    assert_eq!(f.incident_state(incident).await, IncidentState::Mitigated);
    assert_steps_contiguous(&s);
    let audit = f
        .platform
        .store
        .audit_events(aoi_store::AuditScope::Tenant(f.tenant), Default::default())
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "approval.approve" && e.actor == "user:olive"));
    assert!(
        audit
            .iter()
            .any(|e| e.action == "write.decision" && e.decision.as_deref() == Some("approved"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denial_stops_the_write_and_the_session_ends() {
    let f = fixture(60).await;
    let (incident, session) = f.start().await;
    let worker = f.worker(InProcessQueue::new(), "w1", Duration::from_secs(10));
    let run = tokio::spawn(async move { worker.claim_and_run(None).await.unwrap() });
    let approval = f.pending(Duration::from_secs(30)).await;
    f.decide(approval.id, false).await;
    // The builtin policy may ask again for another fix; deny every request until the end.
    loop {
        if run.is_finished() {
            break;
        }
        let pending = f.platform.store.approvals(f.tenant, Some(ApprovalStatus::Pending)).await.unwrap();
        for a in pending {
            f.decide(a.id, false).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run.await.unwrap();
    let s = f.session(session).await;
    assert!(s.session.status.is_final());
    assert_eq!(s.session.result.as_ref().unwrap()["writes"], 0);
    assert!(executor_gates(&s).iter().all(|g| g["outcome"] == "denied"));
    assert_ne!(f.incident_state(incident).await, IncidentState::Mitigated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_approval_expires_and_denies() {
    let f = fixture(1).await;
    let (_incident, session) = f.start().await;
    let worker = f.worker(InProcessQueue::new(), "w1", Duration::from_secs(10));
    tokio::time::timeout(Duration::from_secs(120), worker.claim_and_run(None))
        .await
        .unwrap()
        .unwrap();
    let s = f.session(session).await;
    let gates = executor_gates(&s);
    assert!(!gates.is_empty());
    assert!(gates.iter().all(|g| g["outcome"] == "denied"), "{gates:?}");
    let all = f.platform.store.approvals(f.tenant, None).await.unwrap();
    assert!(all.iter().all(|a| a.status == ApprovalStatus::Expired), "{all:?}");
    assert_eq!(s.session.result.as_ref().unwrap()["writes"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_step_write_is_stored_once() {
    let f = fixture(60).await;
    let (_incident, session) = f.start().await;
    let store = &f.platform.store;
    let payload = serde_json::json!({"action": "plan"});
    assert!(store.append_step(f.tenant, session, 0, "observer", payload.clone()).await.unwrap());
    assert!(!store.append_step(f.tenant, session, 0, "observer", serde_json::json!({"other": 1})).await.unwrap());
    let s = f.session(session).await;
    assert_eq!(s.steps.len(), 1);
    assert_eq!(s.steps[0].payload, payload);
}

fn redis_url() -> String {
    std::env::var("AOI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn redis_queue(prefix: &str, lease: Duration) -> Arc<RedisQueue> {
    Arc::new(
        RedisQueue::connect(&redis_url(), prefix, lease)
            .await
            .unwrap_or_else(|e| panic!("these tests need Redis at {}: {e}", redis_url())),
    )
}

async fn delete_keys(prefix: &str) {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    for k in keys {
        let _: i64 = redis::cmd("DEL").arg(&k).query_async(&mut conn).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_a_dead_workers_session_finishes_on_another() {
    let f = fixture(120).await;
    let prefix = format!("aoi-test-{}", Uuid::new_v4().simple());
    let lease = Duration::from_secs(2);
    let queue = redis_queue(&prefix, lease).await;
    let (incident, session) = f.start().await;
    reconcile_once(&f.platform, queue.as_ref(), 5).await.unwrap();

    // Worker A takes the session and is killed while it waits for the approval.
    let a = f.worker(queue.clone(), "worker-a", lease);
    let a_task = tokio::spawn(async move {
        loop {
            let _ = a.serve_one().await;
        }
    });
    let first = f.pending(Duration::from_secs(30)).await;
    let held = f.platform.store.session(f.tenant, session).await.unwrap().unwrap();
    assert_eq!(held.lease_owner.as_deref(), Some("worker-a"));
    a_task.abort();
    let _ = a_task.await;

    // Worker B and the reconciler take over once the lease expired.
    let b = f.worker(queue.clone(), "worker-b", lease);
    let b_task = tokio::spawn(async move {
        loop {
            let _ = b.serve_one().await;
        }
    });
    let platform = f.platform.clone();
    let rq = queue.clone();
    let reconciler = tokio::spawn(async move {
        loop {
            let _ = reconcile_once(&platform, rq.as_ref(), 5).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let second = loop {
        let pending = f.platform.store.approvals(f.tenant, Some(ApprovalStatus::Pending)).await.unwrap();
        let s = f.platform.store.session(f.tenant, session).await.unwrap().unwrap();
        if let Some(a) = pending.into_iter().find(|a| a.id != first.id)
            && s.lease_owner.as_deref() == Some("worker-b")
        {
            break a;
        }
        assert!(Instant::now() < deadline, "worker b never took the session over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    f.decide(second.id, true).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = f.platform.store.session(f.tenant, session).await.unwrap().unwrap();
        if s.status.is_final() {
            break;
        }
        assert!(Instant::now() < deadline, "session never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b_task.abort();
    reconciler.abort();
    let s = f.session(session).await;
    assert_eq!(s.session.status, SessionStatus::Succeeded, "{:?}", s.session.result);
    assert!(s.session.attempts >= 2);
    assert_steps_contiguous(&s);
    assert_eq!(f.incident_state(incident).await, IncidentState::Mitigated);
    delete_keys(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_flush_the_reconciler_requeues() {
    let f = fixture(120).await;
    let prefix = format!("aoi-test-{}", Uuid::new_v4().simple());
    let queue = redis_queue(&prefix, Duration::from_secs(5)).await;
    f.platform
        .store
        .upsert_guardrail(
            f.tenant,
            aoi_store::GuardrailRule {
                action_pattern: "*".into(),
                namespace_pattern: "*".into(),
                service_pattern: "*".into(),
                decision: aoi_store::GuardrailDecision::Auto,
                priority: 0,
            },
        )
        .await
        .unwrap();
    let (incident, session) = f.start().await;
    reconcile_once(&f.platform, queue.as_ref(), 5).await.unwrap();
    // The flush loses the entry (and the group).
    delete_keys(&prefix).await;
    assert_eq!(stream_len(queue.key()).await, 0);
    // The store still says queued: the reconciler puts it back.
    let report = reconcile_once(&f.platform, queue.as_ref(), 5).await.unwrap();
    assert_eq!(report.enqueued, 1);
    assert_eq!(stream_len(queue.key()).await, 1);
    let worker = f.worker(queue.clone(), "w", Duration::from_secs(5));
    let ran = worker.serve_one().await.unwrap();
    assert_eq!(ran, Some(session));
    let s = f.session(session).await;
    assert_eq!(s.session.status, SessionStatus::Succeeded, "{:?}", s.session.result);
    assert_steps_contiguous(&s);
    assert_eq!(f.incident_state(incident).await, IncidentState::Mitigated);
    delete_keys(&prefix).await;
}

async fn stream_len(key: &str) -> i64 {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("XLEN").arg(key).query_async(&mut conn).await.unwrap()
}
