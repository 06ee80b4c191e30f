//! Agent workers: take a queued session, run the agent on its environment, record every step
//! as it happens, and finish the session and its incident.
//!
//! A worker holds a session under a lease in the store and renews it (and its queue entry)
//! every third of the lease while it runs; a worker that dies stops renewing, the reconciler
//! sends the session back to the queue once the lease expired, and another worker runs it
//! again from the start. The twin is seeded from the session id, so a rerun replays the same
//! steps and the idempotent step writes (`(session_id, index)`) neither lose nor double one.
//!
//! The reconciler also re-enqueues every session the store says is queued, so a queue that
//! lost its entries (a Redis flush or restart) loses nothing. The dispatcher turns
//! `session_state: queued` events into queue entries, so a new session starts without waiting
//! for the reconciler.

use std::sync::Arc;
use std::time::Duration;

use aoi_agent::{SessionConfig, StepHook, ToolRegistry, run_session};
use aoi_core::{SessionOutcome, Step as AgentStep};
use aoi_plugin_sdk::Toolset;
use aoi_store::{EnvironmentKind, IncidentState, Session, SessionFilter, SessionStatus, TenantId};
use aoi_twin::env::TwinEnv;
use aoi_twin::suite::Suite;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::Platform;
use crate::events::LiveEvent;
use crate::gate::PlatformGate;
use crate::queue::{Delivery, InProcessQueue, QueueError, RedisQueue, SessionQueue, SessionRef};
use crate::sessions::{audit, publish_incident_state, publish_session_state};

/// Timing of workers and the reconciler.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How long a claim holds a session without renewal.
    pub lease: Duration,
    /// How long a worker waits on the queue before checking the store anyway.
    pub poll: Duration,
    /// How often a pending approval is checked.
    pub approval_poll: Duration,
    /// How often the reconciler runs.
    pub reconcile_every: Duration,
    /// Claims of one session before it is marked failed.
    pub max_attempts: i32,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            approval_poll: Duration::from_millis(200),
            reconcile_every: Duration::from_secs(5),
            max_attempts: 3,
        }
    }
}

impl WorkerOptions {
    /// The defaults with `workers.lease_secs` and `workers.reconcile_secs` (each at least 1 s).
    pub fn from_config(config: &aoi_control::Config) -> WorkerOptions {
        WorkerOptions {
            lease: Duration::from_secs(config.workers.lease_secs.max(1)),
            reconcile_every: Duration::from_secs(config.workers.reconcile_secs.max(1)),
            ..WorkerOptions::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("store: {0}")]
    Store(#[from] aoi_store::StoreError),
}

/// The queue the configuration asks for: Redis streams with `redis.url`, else in-process.
pub async fn build_queue(
    platform: &Platform,
    options: &WorkerOptions,
) -> Result<Arc<dyn SessionQueue>, QueueError> {
    match &platform.config.redis.url {
        Some(url) => Ok(Arc::new(
            RedisQueue::connect(url, &platform.config.redis.key_prefix, options.lease).await?,
        )),
        None => Ok(InProcessQueue::new()),
    }
}

/// The policy `workers.policy` asks for: the built-in one, or the `llm` policy asking the
/// `[[inference.backends]]` pool for `inference.model` with the session id as affinity key
/// (external backends only when `inference.external_allowed`). `llm` without a pool is an
/// error naming `[[inference.backends]]`. Sessions of a tenant use [`tenant_worker_policy`].
/// With `workers.record_exchanges` (the default) every step carries its prompt and completion
/// (and the backend's logprobs for `llm`), the material of training datasets.
pub fn worker_policy(
    platform: &Platform,
    session: Uuid,
) -> Result<Box<dyn aoi_core::Policy>, String> {
    llm_or_builtin(
        platform,
        session,
        platform.config.inference.external_allowed,
        false,
        None,
    )
}

/// [`worker_policy`] for a session of `tenant`: the `llm` policy follows the tenant's
/// inference policy (external backends only when it allows them) and, when the tenant has an
/// active LoRA adapter over `inference.model`, asks for that adapter instead of the base model
/// (the pool loads it on demand where a backend may load adapters); identifiers are
/// redacted from its prompts when the tenant asks.
pub async fn tenant_worker_policy(
    platform: &Platform,
    session: Uuid,
    tenant: aoi_store::TenantId,
) -> Result<Box<dyn aoi_core::Policy>, String> {
    if platform.config.workers.policy == aoi_control::config::WorkerPolicy::Builtin {
        return worker_policy(platform, session);
    }
    let slug = platform
        .store
        .tenant(tenant)
        .await
        .map_err(|e| format!("reading the session's tenant: {e}"))?
        .map(|t| t.slug)
        .ok_or_else(|| "the session's tenant no longer exists".to_string())?;
    let policy = crate::models::inference_policy(platform, tenant)
        .await
        .map_err(|e| format!("the tenant's inference policy: {e}"))?;
    let adapter = crate::models::active_adapter_for_base(
        platform,
        tenant,
        &slug,
        &platform.config.inference.model,
    )
    .await
    .map_err(|e| format!("the tenant's adapters: {e}"))?
    .and_then(|resolved| resolved.adapter)
    .map(|a| aoi_router::LoraAdapter {
        name: a.name,
        path: a.path,
        base_model: a.base_model,
    });
    llm_or_builtin(
        platform,
        session,
        policy.allow_external,
        policy.redact_identifiers,
        adapter,
    )
}

fn llm_or_builtin(
    platform: &Platform,
    session: Uuid,
    allow_external: bool,
    redact_identifiers: bool,
    adapter: Option<aoi_router::LoraAdapter>,
) -> Result<Box<dyn aoi_core::Policy>, String> {
    match platform.config.workers.policy {
        aoi_control::config::WorkerPolicy::Builtin => {
            let policy: Box<dyn aoi_core::Policy> =
                Box::new(aoi_inference::builtin::BuiltinPolicy::new());
            Ok(if platform.config.workers.record_exchanges {
                aoi_inference::recording::recorded(policy)
            } else {
                policy
            })
        }
        aoi_control::config::WorkerPolicy::Llm => {
            let Some(pool) = &platform.inference else {
                return Err(format!(
                    "workers.policy {}",
                    aoi_control::config::LLM_WITHOUT_BACKENDS
                ));
            };
            let redaction = if redact_identifiers {
                aoi_inference::privacy::RedactionPolicy::with_identifiers()
            } else {
                aoi_inference::privacy::RedactionPolicy::secrets_only()
            };
            let config = aoi_inference::llm::LlmConfig {
                model: platform.config.inference.model.clone(),
                redaction: Some(redaction),
                record_exchanges: platform.config.workers.record_exchanges,
                logprobs: platform.config.workers.record_exchanges,
                ..aoi_inference::llm::LlmConfig::default()
            };
            let mut policy =
                aoi_inference::llm::LlmPolicy::with_pool(config, pool.clone(), allow_external);
            if let Some(adapter) = adapter {
                policy = policy.with_adapter(adapter);
            }
            policy.set_session(session.to_string());
            Ok(Box::new(policy))
        }
    }
}

/// One agent worker.
pub struct AgentWorker {
    pub platform: Platform,
    pub queue: Arc<dyn SessionQueue>,
    pub id: String,
    pub options: WorkerOptions,
}

impl AgentWorker {
    /// Serves the queue until the task is dropped or aborted.
    pub async fn run_forever(self) {
        loop {
            if let Err(e) = self.serve_one().await {
                tracing::error!(worker = %self.id, error = %e, "worker round failed");
                tokio::time::sleep(self.options.poll).await;
            }
        }
    }

    /// Waits for an entry (or the poll interval), claims the oldest queued session from the
    /// store and runs it. Returns the session it ran.
    pub async fn serve_one(&self) -> Result<Option<Uuid>, WorkerError> {
        let delivery = self.queue.dequeue(&self.id, self.options.poll).await?;
        let ran = self.claim_and_run(delivery.as_ref()).await?;
        if let Some(d) = &delivery {
            self.queue.ack(d).await?;
        }
        Ok(ran)
    }

    /// Claims the oldest queued session, if any, and runs it to its end.
    pub async fn claim_and_run(
        &self,
        delivery: Option<&Delivery>,
    ) -> Result<Option<Uuid>, WorkerError> {
        let lease = chrono::Duration::from_std(self.options.lease)
            .unwrap_or_else(|_| chrono::Duration::seconds(30));
        let Some(session) = self
            .platform
            .store
            .claim_session(&self.id, lease, chrono::Utc::now())
            .await?
        else {
            return Ok(None);
        };
        let id = session.id;
        publish_session_state(&self.platform, &session);
        self.run_claimed(session, delivery).await;
        Ok(Some(id))
    }

    /// Runs a claimed session while renewing its lease; stops when the lease is lost.
    async fn run_claimed(&self, session: Session, delivery: Option<&Delivery>) {
        let tenant = TenantId::from_uuid(session.tenant_id);
        let renew = async {
            loop {
                tokio::time::sleep(self.options.lease / 3).await;
                let until = chrono::Utc::now()
                    + chrono::Duration::from_std(self.options.lease)
                        .unwrap_or_else(|_| chrono::Duration::seconds(30));
                if let Err(e) = self
                    .platform
                    .store
                    .renew_lease(tenant, session.id, &self.id, until)
                    .await
                {
                    tracing::warn!(worker = %self.id, session = %session.id, error = %e, "lease lost; stopping");
                    return;
                }
                if let Some(d) = delivery
                    && let Err(e) = self.queue.renew(&self.id, d).await
                {
                    tracing::warn!(error = %e, "queue entry not renewed");
                }
            }
        };
        tokio::select! {
            () = self.execute(&session) => {}
            () = renew => {}
        }
    }

    async fn finish(&self, session: &Session, status: SessionStatus, result: serde_json::Value) {
        let tenant = TenantId::from_uuid(session.tenant_id);
        match self
            .platform
            .store
            .finish_session(tenant, session.id, &self.id, status, Some(result.clone()))
            .await
        {
            Ok(done) => {
                publish_session_state(&self.platform, &done);
                // Evolver hook: a failed, out-of-budget or evaluator-failed session is learned from.
                crate::evolver::enqueue_if_failed(&self.platform, &done).await;
                audit(
                    &self.platform,
                    tenant,
                    &format!("worker:{}", self.id),
                    "session.finish",
                    &format!("session:{}", session.id),
                    Some(status.as_str()),
                    result,
                )
                .await;
            }
            Err(e) => {
                tracing::warn!(worker = %self.id, session = %session.id, error = %e, "session not finished by this worker")
            }
        }
    }

    async fn execute(&self, session: &Session) {
        let tenant = TenantId::from_uuid(session.tenant_id);
        let store = &self.platform.store;
        let environment = match store.environment(tenant, session.environment_id).await {
            Ok(Some(env)) => env,
            Ok(None) => {
                let result = serde_json::json!({"error": "the session's environment no longer exists"});
                return self.finish(session, SessionStatus::Failed, result).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "environment unreadable");
                return;
            }
        };
        match environment.kind {
            EnvironmentKind::External => self.external_session(session, &environment).await,
            EnvironmentKind::Kubernetes => self.cluster_session(session, &environment).await,
            EnvironmentKind::Twin => self.twin_session(session, &environment).await,
        }
    }

    /// A session on a twin: the twin's tools plus the tenant's plugins; the twin's oracle
    /// judges the submission.
    async fn twin_session(&self, session: &Session, environment: &aoi_store::Environment) {
        let tenant = TenantId::from_uuid(session.tenant_id);
        let Some(problem_id) = environment.problem_id.clone() else {
            let result = serde_json::json!({"error": "the twin environment names no problem"});
            return self.finish(session, SessionStatus::Failed, result).await;
        };
        let seed = seed_of(session.id);
        let twin = Suite::resolve("aiopslab")
            .map_err(|e| e.to_string())
            .and_then(|suite| TwinEnv::start(&suite, &problem_id, seed));
        let twin = match twin {
            Ok(t) => Arc::new(t),
            Err(e) => {
                let result = serde_json::json!({"error": format!("the twin did not start: {e}")});
                return self.finish(session, SessionStatus::Failed, result).await;
            }
        };
        let tools = crate::session_tools::session_tools(
            &self.platform,
            tenant,
            vec![twin.clone() as Arc<dyn Toolset>],
        )
        .await;
        let tools = match tools {
            Ok(t) => t,
            Err(e) => {
                let result = serde_json::json!({"error": format!("tools: {e}")});
                return self.finish(session, SessionStatus::Failed, result).await;
            }
        };
        let run = match self
            .run_agent(session, environment.kind, &tools.registry, twin.task())
            .await
        {
            Ok(run) => run,
            Err(result) => return self.finish(session, SessionStatus::Failed, result).await,
        };
        let (mut trajectory, lessons) = run;
        trajectory.problem_id = Some(problem_id);
        let verdict = twin.evaluate(trajectory.submission.as_ref());
        let mut result = outcome_json(&trajectory, &lessons);
        result["twin_verdict"] = serde_json::json!({ "success": verdict.success, "detail": verdict.detail });
        with_tools(&mut result, &tools.summary);
        let status = self.conclude(session, &trajectory).await;
        self.finish(session, status, result).await;
    }

    /// A session on a real cluster (an environment of kind `kubernetes`): the tools are the
    /// tenant's enabled plugins (kubernetes, prometheus, loki, ...), every write through the
    /// gate; the task is the incident, to diagnose and mitigate. Nothing scores it here: the
    /// operator's verdict does.
    async fn cluster_session(&self, session: &Session, environment: &aoi_store::Environment) {
        let tenant = TenantId::from_uuid(session.tenant_id);
        let incident = match self.platform.store.incident(tenant, session.incident_id).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                let result = serde_json::json!({"error": "the session's incident no longer exists"});
                return self.finish(session, SessionStatus::Failed, result).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "incident unreadable");
                return;
            }
        };
        let tools = match crate::session_tools::session_tools(&self.platform, tenant, vec![]).await {
            Ok(t) => t,
            Err(e) => {
                let result = serde_json::json!({"error": format!("tools: {e}")});
                return self.finish(session, SessionStatus::Failed, result).await;
            }
        };
        if tools.registry.docs().is_empty() {
            let result = serde_json::json!({
                "error": "no tools: install and enable the kubernetes plugin (and prometheus, loki, ...) in this tenant for sessions on a cluster",
                "plugin_errors": tools.summary["plugin_errors"],
            });
            return self.finish(session, SessionStatus::Failed, result).await;
        }
        let spec = crate::environments::cluster_task(environment, &incident);
        let run = match self
            .run_agent(session, environment.kind, &tools.registry, spec)
            .await
        {
            Ok(run) => run,
            Err(result) => return self.finish(session, SessionStatus::Failed, result).await,
        };
        let (trajectory, lessons) = run;
        let mut result = outcome_json(&trajectory, &lessons);
        result["environment"] = serde_json::json!("kubernetes");
        with_tools(&mut result, &tools.summary);
        let status = self.conclude(session, &trajectory).await;
        self.finish(session, status, result).await;
    }

    /// A session on an external environment: the task comes from the environment's config,
    /// the tools are [`ExternalToolset`](crate::external::ExternalToolset) (the API client
    /// executes each call), nothing is evaluated here (the external orchestrator scores the
    /// submission, which is recorded and handed to the client).
    async fn external_session(&self, session: &Session, environment: &aoi_store::Environment) {
        let task = match crate::external::ExternalTask::from_config(&environment.config) {
            Ok(t) => t,
            Err(e) => {
                let result = serde_json::json!({"error": format!("the environment's task: {e}")});
                return self
                    .finish_external(session, SessionStatus::Failed, result)
                    .await;
            }
        };
        let tools = crate::external::ExternalToolset::new(session.id, task.call_timeout());
        let registry = match ToolRegistry::new(vec![Arc::new(tools) as Arc<dyn Toolset>]) {
            Ok(r) => r,
            Err(e) => {
                let result = serde_json::json!({"error": format!("tools: {e}")});
                return self
                    .finish_external(session, SessionStatus::Failed, result)
                    .await;
            }
        };
        let run = match self
            .run_agent(session, environment.kind, &registry, task.spec())
            .await
        {
            Ok(run) => run,
            Err(result) => {
                return self
                    .finish_external(session, SessionStatus::Failed, result)
                    .await;
            }
        };
        let (trajectory, lessons) = run;
        let mut result = outcome_json(&trajectory, &lessons);
        result["submission_action"] =
            serde_json::json!(trajectory.submission.as_ref().map(|s| s.to_call_string()));
        result["environment"] = serde_json::json!("external");
        let status = self.conclude(session, &trajectory).await;
        self.finish_external(session, status, result).await;
    }

    /// Runs the agent loop on `registry` for `spec` with the tenant's policy, gate and lessons,
    /// writing every step as it happens. `Err` holds the failed session's result.
    async fn run_agent(
        &self,
        session: &Session,
        kind: EnvironmentKind,
        registry: &ToolRegistry,
        spec: aoi_core::TaskSpec,
    ) -> Result<(aoi_core::Trajectory, crate::evolver::Lessons), serde_json::Value> {
        let tenant = TenantId::from_uuid(session.tenant_id);
        let mut policy = tenant_worker_policy(&self.platform, session.id, tenant)
            .await
            .map_err(|e| serde_json::json!({"error": e}))?;
        let gate = PlatformGate {
            platform: self.platform.clone(),
            tenant,
            session_id: session.id,
            incident_id: session.incident_id,
            environment: kind,
            worker: self.id.clone(),
            poll: self.options.approval_poll,
        };
        // Lessons: the tenant's approved signals most similar to this session's symptoms.
        let lessons =
            crate::evolver::lessons_for(&self.platform, tenant, session.incident_id, &spec).await;
        let (tx, mut rx) = mpsc::unbounded_channel::<AgentStep>();
        let run = async {
            let config = SessionConfig {
                lessons: lessons.texts.clone(),
                on_step: StepHook::new(move |step: &AgentStep| {
                    let _ = tx.send(step.clone());
                }),
                ..SessionConfig::default()
            };
            let trajectory = run_session(
                session.id.to_string(),
                policy.as_mut(),
                registry,
                &gate,
                spec,
                &config,
            )
            .await;
            drop(config);
            trajectory
        };
        let persist = async {
            while let Some(step) = rx.recv().await {
                self.persist_step(session, &step).await;
            }
        };
        let (trajectory, ()) = tokio::join!(run, persist);
        Ok((trajectory, lessons))
    }

    /// The session's final status; a submitted session that changed something moves its
    /// incident to mitigated.
    async fn conclude(&self, session: &Session, trajectory: &aoi_core::Trajectory) -> SessionStatus {
        let tenant = TenantId::from_uuid(session.tenant_id);
        let submitted = trajectory.outcome == SessionOutcome::Submitted;
        if submitted && trajectory.writes > 0 {
            match self
                .platform
                .store
                .update_incident_state(tenant, session.incident_id, IncidentState::Mitigated)
                .await
            {
                Ok(_) => publish_incident_state(
                    &self.platform,
                    tenant,
                    session.incident_id,
                    IncidentState::Mitigated,
                ),
                Err(e) => tracing::warn!(error = %e, "incident not moved to mitigated"),
            }
        }
        if submitted {
            SessionStatus::Succeeded
        } else {
            SessionStatus::Failed
        }
    }

    /// [`Self::finish`], then tells the session's client that it ended.
    async fn finish_external(
        &self,
        session: &Session,
        status: SessionStatus,
        result: serde_json::Value,
    ) {
        let finished = crate::external::Finished {
            status: status.as_str().to_string(),
            submission: result.get("submission").filter(|s| !s.is_null()).cloned(),
            action: result
                .get("submission_action")
                .and_then(|a| a.as_str())
                .map(str::to_string),
        };
        self.finish(session, status, result).await;
        crate::external::exchange().finish(session.id, finished);
    }

    /// Writes one step (idempotent by index, retried a few times) and streams it.
    async fn persist_step(&self, session: &Session, step: &AgentStep) {
        let tenant = TenantId::from_uuid(session.tenant_id);
        let payload = serde_json::to_value(step).unwrap_or_default();
        let index = i32::try_from(step.index).unwrap_or(i32::MAX);
        for attempt in 0..3u32 {
            match self
                .platform
                .store
                .append_step(tenant, session.id, index, step.role.as_str(), payload.clone())
                .await
            {
                Ok(_) => {
                    self.platform.events.publish(LiveEvent {
                        tenant_id: session.tenant_id,
                        session_id: Some(session.id),
                        incident_id: Some(session.incident_id),
                        kind: "step".to_owned(),
                        payload: serde_json::json!({"index": index, "role": step.role.as_str(), "step": payload}),
                    });
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "step not written; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt + 1))).await;
                }
            }
        }
    }
}

/// What every finished session's result holds.
fn outcome_json(trajectory: &aoi_core::Trajectory, lessons: &crate::evolver::Lessons) -> serde_json::Value {
    serde_json::json!({
        "outcome": trajectory.outcome,
        "submission": trajectory.submission,
        "actions": trajectory.actions,
        "writes": trajectory.writes,
        "steps": trajectory.steps.len(),
        "policy": trajectory.policy,
        "lessons": lessons.signal_ids,
    })
}

/// Adds the session's tools, plugins and plugin errors to its result.
fn with_tools(result: &mut serde_json::Value, summary: &serde_json::Value) {
    for key in ["tools", "plugins", "plugin_errors"] {
        result[key] = summary[key].clone();
    }
}

/// The twin seed of a session: stable across reruns of the same session.
pub fn seed_of(id: Uuid) -> u64 {
    let bytes = id.as_bytes();
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(seed)
}

/// What one reconciler pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub requeued_expired: u64,
    pub failed_expired: u64,
    pub enqueued: u64,
    pub approvals_expired: u64,
}

/// Sends sessions with expired leases back to the queue (or to failed), expires overdue
/// approvals, and enqueues every queued session of every tenant.
pub async fn reconcile_once(
    platform: &Platform,
    queue: &dyn SessionQueue,
    max_attempts: i32,
) -> Result<ReconcileReport, WorkerError> {
    let store = &platform.store;
    let now = chrono::Utc::now();
    let reclaimed = store.reclaim_expired_leases(now, max_attempts).await?;
    let approvals_expired = store.expire_approvals(now).await?;
    let mut enqueued = 0;
    for tenant in store.tenants().await? {
        let tenant = TenantId::from_uuid(tenant.id);
        let queued = store
            .sessions(
                tenant,
                SessionFilter {
                    status: Some(SessionStatus::Queued),
                    incident_id: None,
                },
            )
            .await?;
        for s in queued {
            queue
                .enqueue(SessionRef {
                    tenant_id: s.tenant_id,
                    session_id: s.id,
                })
                .await?;
            enqueued += 1;
        }
    }
    Ok(ReconcileReport {
        requeued_expired: reclaimed.requeued,
        failed_expired: reclaimed.failed,
        enqueued,
        approvals_expired,
    })
}

/// Runs the reconciler every `options.reconcile_every`.
pub async fn run_reconciler(platform: Platform, queue: Arc<dyn SessionQueue>, options: WorkerOptions) {
    loop {
        match reconcile_once(&platform, queue.as_ref(), options.max_attempts).await {
            Ok(report) if report != ReconcileReport::default() => {
                tracing::debug!(?report, "reconciled sessions");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reconciler pass failed"),
        }
        tokio::time::sleep(options.reconcile_every).await;
    }
}

/// Turns `session_state: queued` events into queue entries.
pub async fn run_dispatcher(platform: Platform, queue: Arc<dyn SessionQueue>) {
    let mut events = platform.events.subscribe();
    loop {
        match events.recv().await {
            Ok(event) => {
                let queued = event.kind == "session_state"
                    && event.payload.get("status").and_then(|s| s.as_str()) == Some("queued");
                if let (true, Some(session_id)) = (queued, event.session_id) {
                    let entry = SessionRef {
                        tenant_id: event.tenant_id,
                        session_id,
                    };
                    if let Err(e) = queue.enqueue(entry).await {
                        tracing::warn!(error = %e, "session not enqueued; the reconciler will");
                    }
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "dispatcher lagged; the reconciler covers the gap");
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Runs `count` workers, the reconciler and the dispatcher on `queue` until the future is
/// dropped (which stops them all).
pub async fn run_workers(
    platform: Platform,
    queue: Arc<dyn SessionQueue>,
    count: u32,
    options: WorkerOptions,
    name: String,
) {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(run_dispatcher(platform.clone(), queue.clone()));
    set.spawn(run_reconciler(platform.clone(), queue.clone(), options.clone()));
    for i in 0..count {
        let worker = AgentWorker {
            platform: platform.clone(),
            queue: queue.clone(),
            id: format!("{name}-{i}"),
            options: options.clone(),
        };
        set.spawn(worker.run_forever());
    }
    while set.join_next().await.is_some() {}
}

/// [`run_workers`] as a task; abort the handle to stop them.
pub fn spawn_workers(
    platform: &Platform,
    queue: Arc<dyn SessionQueue>,
    count: u32,
    options: WorkerOptions,
    name: &str,
) -> JoinHandle<()> {
    tokio::spawn(run_workers(platform.clone(), queue, count, options, name.to_owned()))
}

/// What `aoi serve` runs: `workers.agent` workers on the configured queue, plus the
/// reconciler and the dispatcher. Fails (logged) when the configured Redis is unreachable.
pub fn spawn_in_process(platform: &Platform) -> JoinHandle<()> {
    let platform = platform.clone();
    tokio::spawn(async move {
        let options = WorkerOptions::from_config(&platform.config);
        let queue = match build_queue(&platform, &options).await {
            Ok(q) => q,
            Err(e) => {
                tracing::error!(error = %e, "agent workers not started");
                return;
            }
        };
        let name = format!("agent-{}", Uuid::new_v4().simple());
        let count = platform.config.workers.agent;
        run_workers(platform, queue, count, options, name).await;
    })
}
