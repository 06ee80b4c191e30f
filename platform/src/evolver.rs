//! The evolver worker: turns failed sessions into corrective signals for admins to review,
//! and hands approved lessons to new sessions.
//!
//! Its queue is the `evolver_jobs` table (one row per session): agent workers add a session
//! that ended failed, out of budget, or with a submission the twin's evaluator failed
//! ([`enqueue_if_failed`]); an operator's wrong verdict adds (or re-adds) one; and each
//! worker's sweep adds failed sessions nobody enqueued (a worker died, a lease ran out), so
//! nothing is lost across restarts. Workers claim one job at a time (a claim older than
//! [`EvolverOptions::stale`] is taken over), so `aoi serve`'s in-process evolver and any
//! `aoi worker evolver` processes share the list safely.
//!
//! A job on a twin environment reproduces the problem with the session's seed and asks
//! `aoi_evolver` for a draft, stored as a `pending` signal (audited `signal.draft`); the
//! teacher is the built-in playbook, or with `evolver.teacher = "model"` and a pool the `llm`
//! policy on `evolver.teacher_model`, and either way its plan is verified by replay on a fresh
//! twin. A session on an environment no twin reproduces goes to the model teacher through the
//! pool ([`teacher::PoolTeacher`]), which drafts an unverified plan from the failed run; without
//! a pool the job is finished `skipped` saying why. With `evolver.auto_approve_verified`, a
//! verified draft is stored approved by `aoi-evolver` (audited `signal.auto_approve`).
//!
//! [`lessons_for`] picks, at session start, the tenant's approved signals most similar to the
//! session's task and incident ([`LESSONS_PER_SESSION`] at most).

use std::time::Duration;

pub mod teacher;

use aoi_core::{SessionOutcome, TaskSpec};
use aoi_store::{
    CorrectiveSignal, Environment, EnvironmentKind, EvolverJob, EvolverJobStatus, NewSignal,
    Session, SessionStatus, SignalDecision, StoreError, TenantId,
};
use aoi_twin::env::TwinEnv;
use aoi_twin::suite::Suite;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::Platform;
use crate::audit;
use crate::signals::OPERATOR_WRONG;

/// Reason of a session whose submission the twin's evaluator failed.
pub const EVALUATOR_FAILED: &str = "evaluator_failed";
/// Reason of a session that ran out of steps.
pub const OUT_OF_BUDGET: &str = "out_of_budget";
/// Reason of any other failed session (an error, an expired lease).
pub const SESSION_FAILED: &str = "session_failed";
/// Most lessons a new session is given.
pub const LESSONS_PER_SESSION: usize = 3;
/// The suite twin environments run.
const SUITE: &str = "aiopslab";
/// Most failed sessions one sweep enqueues.
const SWEEP_BATCH: u64 = 100;
/// The reviewer of signals the evolver approves itself.
pub const AUTO_REVIEWER: &str = "aoi-evolver";

/// Timing of evolver workers.
#[derive(Debug, Clone)]
pub struct EvolverOptions {
    /// How long a worker waits when the list is empty.
    pub poll: Duration,
    /// A claim older than this is taken over (its worker died).
    pub stale: Duration,
    /// How often failed sessions nobody enqueued are swept onto the list.
    pub sweep_every: Duration,
}

impl Default for EvolverOptions {
    fn default() -> Self {
        EvolverOptions {
            poll: Duration::from_secs(1),
            stale: Duration::from_secs(300),
            sweep_every: Duration::from_secs(30),
        }
    }
}

/// Why an evolver round failed (the job stays claimed and is taken over once stale).
#[derive(Debug, thiserror::Error)]
pub enum EvolverError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// What one job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub session_id: Uuid,
    pub status: EvolverJobStatus,
    /// The signal drafted, when one was.
    pub signal_id: Option<Uuid>,
    /// The signal id, or why nothing was stored.
    pub detail: String,
}

/// Why a finished session should be learned from, if it should: failed (out of budget or
/// otherwise) or submitted but failed by the twin's evaluator (`result.twin_verdict`).
pub fn failure_reason(status: SessionStatus, result: Option<&Value>) -> Option<&'static str> {
    let outcome = result
        .and_then(|r| r.get("outcome"))
        .and_then(|o| o.get("kind"))
        .and_then(Value::as_str);
    let evaluator_failed = result
        .and_then(|r| r.pointer("/twin_verdict/success"))
        .and_then(Value::as_bool)
        == Some(false);
    match status {
        SessionStatus::Failed if outcome == Some("step_budget_exhausted") => Some(OUT_OF_BUDGET),
        SessionStatus::Failed => Some(SESSION_FAILED),
        SessionStatus::Succeeded if evaluator_failed => Some(EVALUATOR_FAILED),
        _ => None,
    }
}

/// Puts a session that just finished on the evolver's list when [`failure_reason`] says so;
/// a failure is logged (the sweep enqueues failed sessions later).
pub async fn enqueue_if_failed(platform: &Platform, session: &Session) {
    let Some(reason) = failure_reason(session.status, session.result.as_ref()) else {
        return;
    };
    let tenant = TenantId::from_uuid(session.tenant_id);
    if let Err(e) = platform
        .store
        .enqueue_evolver_job(tenant, session.id, reason)
        .await
    {
        tracing::warn!(session = %session.id, error = %e, "failed session not enqueued for the evolver; the sweep will");
    }
}

/// Lessons chosen for a new session, with the signals they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lessons {
    pub texts: Vec<String>,
    pub signal_ids: Vec<Uuid>,
}

/// The tenant's approved signals most similar to a session's task and incident (title,
/// service, namespace, labels), best first. A store failure is logged and gives no lessons:
/// the session runs anyway.
pub async fn lessons_for(
    platform: &Platform,
    tenant: TenantId,
    incident_id: Uuid,
    task: &TaskSpec,
) -> Lessons {
    let approved = match platform.store.approved_signals(tenant).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "approved signals unreadable; the session gets no lessons");
            return Lessons::default();
        }
    };
    if approved.is_empty() {
        return Lessons::default();
    }
    let incident_text = match platform.store.incident(tenant, incident_id).await {
        Ok(Some(incident)) => {
            let mut text = incident.title;
            for extra in [incident.service, incident.namespace].into_iter().flatten() {
                text.push(' ');
                text.push_str(&extra);
            }
            if let Value::Object(labels) = &incident.labels {
                for (key, value) in labels {
                    text.push_str(&format!(" {key} {}", value.as_str().unwrap_or_default()));
                }
            }
            text
        }
        Ok(None) => String::new(),
        Err(e) => {
            tracing::warn!(error = %e, "incident unreadable; lessons chosen on the task alone");
            String::new()
        }
    };
    choose_lessons(&approved, task, &incident_text, LESSONS_PER_SESSION)
}

/// The `k` signals among `approved` whose symptoms best match the task and incident text.
pub fn choose_lessons(
    approved: &[CorrectiveSignal],
    task: &TaskSpec,
    incident_text: &str,
    k: usize,
) -> Lessons {
    let candidates: Vec<(Vec<String>, String)> = approved
        .iter()
        .map(|s| (symptoms_of(&s.symptoms), s.lesson.clone()))
        .collect();
    let chosen = aoi_evolver::select_lessons(&candidates, task, incident_text, k);
    let mut lessons = Lessons::default();
    for lesson in chosen {
        // `select_lessons` answers slices of the candidates' own strings.
        if let Some(i) = candidates
            .iter()
            .position(|(_, text)| std::ptr::eq(text.as_str(), lesson))
            && let Some(signal) = approved.get(i)
        {
            lessons.texts.push(lesson.to_owned());
            lessons.signal_ids.push(signal.id);
        }
    }
    lessons
}

fn symptoms_of(stored: &Value) -> Vec<String> {
    stored
        .as_array()
        .map(|words| {
            words
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// One evolver worker.
pub struct EvolverWorker {
    pub platform: Platform,
    pub id: String,
    pub options: EvolverOptions,
}

impl EvolverWorker {
    /// Serves the list until the task is dropped or aborted, sweeping every
    /// `options.sweep_every`.
    pub async fn run_forever(self) {
        let mut last_sweep: Option<tokio::time::Instant> = None;
        loop {
            if last_sweep.is_none_or(|at| at.elapsed() >= self.options.sweep_every) {
                match sweep_failed(&self.platform).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        enqueued = n,
                        "failed sessions swept onto the evolver's list"
                    ),
                    Err(e) => tracing::warn!(error = %e, "evolver sweep failed"),
                }
                last_sweep = Some(tokio::time::Instant::now());
            }
            match self.run_once().await {
                Ok(Some(report)) => {
                    tracing::info!(session = %report.session_id, status = report.status.as_str(), detail = %report.detail, "evolver job done");
                }
                Ok(None) => tokio::time::sleep(self.options.poll).await,
                Err(e) => {
                    tracing::error!(worker = %self.id, error = %e, "evolver round failed");
                    tokio::time::sleep(self.options.poll).await;
                }
            }
        }
    }

    /// Claims the oldest job, if any, and does it.
    pub async fn run_once(&self) -> Result<Option<JobReport>, EvolverError> {
        let stale = chrono::Duration::from_std(self.options.stale)
            .unwrap_or_else(|_| chrono::Duration::seconds(300));
        let Some(job) = self
            .platform
            .store
            .claim_evolver_job(&self.id, stale, chrono::Utc::now())
            .await?
        else {
            return Ok(None);
        };
        let (status, signal_id, detail) = self.process(&job).await?;
        let tenant = TenantId::from_uuid(job.tenant_id);
        self.platform
            .store
            .finish_evolver_job(tenant, job.session_id, &self.id, status, &detail)
            .await?;
        Ok(Some(JobReport {
            session_id: job.session_id,
            status,
            signal_id,
            detail,
        }))
    }

    async fn process(
        &self,
        job: &EvolverJob,
    ) -> Result<(EvolverJobStatus, Option<Uuid>, String), EvolverError> {
        let tenant = TenantId::from_uuid(job.tenant_id);
        let store = &self.platform.store;
        let skipped = |why: String| Ok((EvolverJobStatus::Skipped, None, why));
        let Some(session) = store.session(tenant, job.session_id).await? else {
            return skipped("the session no longer exists".into());
        };
        if store
            .signals_of_session(tenant, session.id)
            .await?
            .iter()
            .any(|s| s.status == aoi_store::SignalStatus::Pending)
        {
            return skipped("a signal of this session is already waiting for review".into());
        }
        let Some(environment) = store.environment(tenant, session.environment_id).await? else {
            return skipped("the session's environment no longer exists".into());
        };
        let verdict = store.session_verdict(tenant, session.id).await?;
        let operator_category = verdict.filter(|v| !v.correct).and_then(|v| v.category);
        let steps = store.steps(tenant, session.id).await?;
        let drafted = match (environment.kind, environment.problem_id.clone()) {
            (EnvironmentKind::Twin, Some(problem_id)) => {
                let seed = crate::worker::seed_of(session.id);
                let failed = match failed_run(
                    &session,
                    &steps,
                    &problem_id,
                    seed,
                    &job.reason,
                    operator_category,
                ) {
                    Ok(failed) => failed,
                    Err(why) => return Ok((EvolverJobStatus::Failed, None, why)),
                };
                self.draft_on_twin(tenant, &failed).await
            }
            _ => {
                let Some(pool) = self.platform.inference.clone() else {
                    let why = format!(
                        "environment {} is not a twin: nothing reproduces the problem, and without \
                         `[[inference.backends]]` there is no model teacher, so no signal is drafted",
                        environment.name
                    );
                    tracing::info!(session = %session.id, "{why}");
                    return skipped(why);
                };
                let incident = store.incident(tenant, session.incident_id).await?;
                let failed = match untwinned_run(
                    &session,
                    &steps,
                    &environment,
                    incident.as_ref(),
                    &job.reason,
                    operator_category,
                ) {
                    Ok(failed) => failed,
                    Err(why) => return Ok((EvolverJobStatus::Failed, None, why)),
                };
                self.draft_with_model(tenant, pool, &failed).await
            }
        };
        let draft = match drafted.and_then(|d| to_new_signal(Some(session.id), d)) {
            Ok(draft) => draft,
            Err(why) => {
                tracing::warn!(session = %session.id, %why, "no signal drafted");
                return Ok((EvolverJobStatus::Failed, None, why));
            }
        };
        let signal = store.insert_signal(tenant, draft).await?;
        let recorded = audit::record(
            &self.platform,
            audit::Entry {
                tenant: Some(tenant),
                actor: format!("evolver:{}", self.id),
                action: "signal.draft".into(),
                target: format!("signal:{}", signal.id),
                decision: Some("pending".into()),
                details: json!({
                    "source_session": session.id, "reason": job.reason,
                    "problem_id": signal.problem_id, "patterns": signal.patterns,
                    "verified": signal.verified,
                }),
            },
        )
        .await;
        if let Err(e) = recorded {
            tracing::error!(signal = %signal.id, error = %e, "signal.draft not audited");
        }
        if signal.verified && self.platform.config.evolver.auto_approve_verified {
            self.auto_approve(tenant, &signal).await?;
            return Ok((
                EvolverJobStatus::Drafted,
                Some(signal.id),
                format!(
                    "signal {} (verified, approved by {AUTO_REVIEWER})",
                    signal.id
                ),
            ));
        }
        Ok((
            EvolverJobStatus::Drafted,
            Some(signal.id),
            format!("signal {}", signal.id),
        ))
    }

    /// A draft for a twin problem: the built-in playbook as the teacher, or with
    /// `evolver.teacher = "model"` and a pool the `llm` policy; verified by replay either way.
    async fn draft_on_twin(
        &self,
        tenant: TenantId,
        failed: &aoi_evolver::FailedRun,
    ) -> Result<aoi_evolver::SignalDraft, String> {
        let suite = Suite::resolve(SUITE).map_err(|e| format!("suite {SUITE}: {e}"))?;
        let use_model =
            self.platform.config.evolver.teacher == aoi_control::config::EvolverTeacher::Model;
        let drafted = match (use_model, self.platform.inference.clone()) {
            (true, Some(pool)) => {
                let allow_external = teacher::allow_external(&self.platform, tenant).await?;
                let session = failed.source_session.as_deref().unwrap_or_default();
                let mut policy = teacher::llm_teacher(
                    pool,
                    teacher::teacher_model(&self.platform),
                    allow_external,
                    session,
                );
                aoi_evolver::draft_signal_with_teacher(&suite, failed, &mut policy).await
            }
            _ => aoi_evolver::draft_signal(&suite, failed).await,
        };
        drafted.map_err(|e| e.to_string())
    }

    /// A draft for a session no twin reproduces, from the model teacher through `pool`
    /// (unverified).
    async fn draft_with_model(
        &self,
        tenant: TenantId,
        pool: std::sync::Arc<aoi_router::Pool>,
        failed: &aoi_evolver::FailedRun,
    ) -> Result<aoi_evolver::SignalDraft, String> {
        let model = teacher::PoolTeacher {
            pool,
            model: teacher::teacher_model(&self.platform),
            allow_external: teacher::allow_external(&self.platform, tenant).await?,
            affinity: format!(
                "evolver-{}",
                failed.source_session.as_deref().unwrap_or_default()
            ),
        };
        aoi_evolver::draft_signal_with_model(failed, &model)
            .await
            .map_err(|e| e.to_string())
    }

    /// Approves a verified draft as the evolver (`evolver.auto_approve_verified`), audited
    /// `signal.auto_approve`.
    async fn auto_approve(
        &self,
        tenant: TenantId,
        signal: &CorrectiveSignal,
    ) -> Result<(), EvolverError> {
        let approved = self
            .platform
            .store
            .decide_signal(tenant, signal.id, AUTO_REVIEWER, SignalDecision::AutoApprove)
            .await?;
        let recorded = audit::record(
            &self.platform,
            audit::Entry {
                tenant: Some(tenant),
                actor: AUTO_REVIEWER.into(),
                action: "signal.auto_approve".into(),
                target: format!("signal:{}", signal.id),
                decision: Some(approved.status.to_string()),
                details: json!({
                    "before": aoi_store::SignalStatus::Pending, "after": approved.status,
                    "reviewer": AUTO_REVIEWER, "verified": signal.verified,
                    "verification": signal.verification,
                    "source_session": signal.source_session_id,
                }),
            },
        )
        .await;
        if let Err(e) = recorded {
            tracing::error!(signal = %signal.id, error = %e, "signal.auto_approve not audited");
        }
        Ok(())
    }
}

/// The failed run as the evolver takes it: the session's recorded steps and result on a twin
/// of `problem_id` started with the session's seed (for the task the agent was given).
fn failed_run(
    session: &Session,
    steps: &[aoi_store::Step],
    problem_id: &str,
    seed: u64,
    reason: &str,
    operator_category: Option<String>,
) -> Result<aoi_evolver::FailedRun, String> {
    let suite = Suite::resolve(SUITE).map_err(|e| format!("suite {SUITE}: {e}"))?;
    let task = TwinEnv::start(&suite, problem_id, seed)
        .map_err(|e| format!("the twin cannot start problem {problem_id}: {e}"))?
        .task();
    let trajectory = teacher::recorded_trajectory(session, steps, Some(problem_id), task)?;
    Ok(learned_from(
        session,
        trajectory,
        problem_id,
        seed,
        reason,
        operator_category,
    ))
}

/// The failed run of a session no twin reproduces; its `problem_id` is the environment's name.
fn untwinned_run(
    session: &Session,
    steps: &[aoi_store::Step],
    environment: &Environment,
    incident: Option<&aoi_store::Incident>,
    reason: &str,
    operator_category: Option<String>,
) -> Result<aoi_evolver::FailedRun, String> {
    let result = session.result.clone().unwrap_or(Value::Null);
    let submission = teacher::submission_of(&result);
    let task = teacher::untwinned_task(&result, environment, incident, submission.as_ref());
    let trajectory = teacher::recorded_trajectory(session, steps, None, task)?;
    Ok(learned_from(
        session,
        trajectory,
        &environment.name,
        crate::worker::seed_of(session.id),
        reason,
        operator_category,
    ))
}

/// A recorded trajectory with the verdict the evolver learns from.
fn learned_from(
    session: &Session,
    trajectory: aoi_core::Trajectory,
    problem_id: &str,
    seed: u64,
    reason: &str,
    operator_category: Option<String>,
) -> aoi_evolver::FailedRun {
    let result = session.result.clone().unwrap_or(Value::Null);
    let out_of_budget = trajectory.outcome == SessionOutcome::StepBudgetExhausted;
    let mut detail = result
        .pointer("/twin_verdict/detail")
        .and_then(Value::as_str)
        .or_else(|| result.get("error").and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned();
    if reason == OPERATOR_WRONG {
        let category = operator_category.as_deref().unwrap_or("no category");
        detail = format!("an operator marked the session wrong ({category}). {detail}");
    }
    aoi_evolver::FailedRun {
        problem_id: problem_id.to_owned(),
        seed,
        trajectory,
        verdict: aoi_evolver::Verdict {
            success: false,
            criteria: Vec::new(),
            out_of_budget,
            detail,
        },
        source_session: Some(session.id.to_string()),
        operator_category,
    }
}

/// A draft as the row to store.
fn to_new_signal(
    source_session: Option<Uuid>,
    draft: aoi_evolver::SignalDraft,
) -> Result<NewSignal, String> {
    let to_json = |what: &str, value: Result<Value, serde_json::Error>| {
        value.map_err(|e| format!("the draft's {what} is not JSON: {e}"))
    };
    Ok(NewSignal {
        source_session_id: source_session,
        problem_id: draft.problem_id.clone(),
        task_type: draft.task_type.as_str().to_owned(),
        patterns: to_json("patterns", serde_json::to_value(&draft.patterns))?,
        first_wrong_step: draft.first_wrong_step.and_then(|i| i32::try_from(i).ok()),
        evidence: json!(draft.evidence),
        failed_commands: json!(draft.failed_commands),
        plan: to_json("plan", serde_json::to_value(&draft.plan))?,
        rationale: draft.rationale.clone(),
        verification: to_json("verification", serde_json::to_value(&draft.verification))?,
        verified: draft.verification.success,
        lesson: draft.lesson.clone(),
        symptoms: json!(draft.symptoms),
    })
}

/// Platform sweep: enqueues failed sessions of any tenant that are not on the list yet.
pub async fn sweep_failed(platform: &Platform) -> Result<u64, StoreError> {
    let mut enqueued = 0;
    for session in platform
        .store
        .failed_sessions_without_evolver_job(SWEEP_BATCH)
        .await?
    {
        let reason =
            failure_reason(session.status, session.result.as_ref()).unwrap_or(SESSION_FAILED);
        let tenant = TenantId::from_uuid(session.tenant_id);
        if platform
            .store
            .enqueue_evolver_job(tenant, session.id, reason)
            .await?
        {
            enqueued += 1;
        }
    }
    Ok(enqueued)
}

/// Runs one evolver worker named `name` until the future is dropped.
pub async fn run_evolver(platform: Platform, options: EvolverOptions, name: String) {
    EvolverWorker {
        platform,
        id: name,
        options,
    }
    .run_forever()
    .await
}

/// What `aoi serve` runs: `workers.evolver` evolver workers in this process (none when 0);
/// abort the handle to stop them.
pub fn spawn_in_process(platform: &Platform) -> JoinHandle<()> {
    let count = platform.config.workers.evolver;
    let name = format!("evolver-{}", Uuid::new_v4().simple());
    let platform = platform.clone();
    tokio::spawn(async move {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..count {
            set.spawn(run_evolver(
                platform.clone(),
                EvolverOptions::default(),
                format!("{name}-{i}"),
            ));
        }
        while set.join_next().await.is_some() {}
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use aoi_core::TaskType;

    fn result(outcome: &str, success: bool) -> Value {
        json!({"outcome": {"kind": outcome}, "twin_verdict": {"success": success, "detail": "d"}})
    }

    #[test]
    fn evolver_learns_from_failed_out_of_budget_and_evaluator_failed_sessions() {
        let out = result("step_budget_exhausted", false);
        assert_eq!(
            failure_reason(SessionStatus::Failed, Some(&out)),
            Some(OUT_OF_BUDGET)
        );
        assert_eq!(
            failure_reason(SessionStatus::Failed, None),
            Some(SESSION_FAILED)
        );
        let wrong = result("submitted", false);
        assert_eq!(
            failure_reason(SessionStatus::Succeeded, Some(&wrong)),
            Some(EVALUATOR_FAILED)
        );
        let right = result("submitted", true);
        assert_eq!(failure_reason(SessionStatus::Succeeded, Some(&right)), None);
        assert_eq!(failure_reason(SessionStatus::Cancelled, Some(&wrong)), None);
    }

    fn signal(lesson: &str, symptoms: &[&str]) -> CorrectiveSignal {
        let at = chrono::Utc::now();
        CorrectiveSignal {
            id: Uuid::new_v4(),
            tenant_id: Uuid::new_v4(),
            source_session_id: None,
            problem_id: "p".into(),
            task_type: "mitigation".into(),
            patterns: json!([]),
            first_wrong_step: None,
            evidence: json!([]),
            failed_commands: json!([]),
            plan: json!({"steps": []}),
            edited_plan: None,
            rationale: String::new(),
            verification: json!({}),
            verified: true,
            lesson: lesson.into(),
            symptoms: json!(symptoms),
            status: aoi_store::SignalStatus::Approved,
            auto_approved: false,
            reviewer: None,
            review_reason: None,
            created_at: at,
            reviewed_at: Some(at),
        }
    }

    #[test]
    fn lessons_are_the_most_similar_signals_with_their_ids() {
        let task = TaskSpec {
            task_type: TaskType::Mitigation,
            app_name: "Social Network".into(),
            namespace: "test-social-network".into(),
            app_description: String::new(),
            instructions: "mitigate the misconfigured target port".into(),
        };
        let approved = vec![
            signal("unrelated", &["zzz-unrelated"]),
            signal(
                "patch `user-service` port",
                &["mitigation", "social-network", "port", "target"],
            ),
            signal("same app", &["social-network"]),
        ];
        let chosen = choose_lessons(&approved, &task, "user-service unreachable", 3);
        assert_eq!(
            chosen.texts.first().map(String::as_str),
            Some("patch `user-service` port")
        );
        assert_eq!(chosen.signal_ids.first(), Some(&approved[1].id));
        assert_eq!(chosen.texts.len(), chosen.signal_ids.len());
        assert!(
            !chosen.signal_ids.contains(&approved[0].id),
            "no shared symptom"
        );
        let one = choose_lessons(&approved, &task, "", 1);
        assert_eq!(one.signal_ids, vec![approved[1].id]);
        assert_eq!(choose_lessons(&[], &task, "", 3), Lessons::default());
    }
}
