//! Training dataset exports of a tenant (format in `docs/datasets.md`), built from what the
//! store holds: finished sessions with their recorded steps, operators' verdicts, and approved
//! corrective signals.
//!
//! - `sft`: approved or edited signals (the repaired Observer answer at the turn that first went
//!   wrong) and successful sessions (every recorded exchange). A session is successful when the
//!   twin's evaluator said so (`result.twin_verdict.success`) or an operator marked it correct;
//!   an operator's "wrong" verdict overrides the evaluator.
//! - `dpo`: approved or edited signals with their failed sessions (repaired over failed answer).
//! - `grpo`: finished sessions on twin environments grouped by problem, oldest first, in groups
//!   of up to `group_size` (default [`DEFAULT_GROUP_SIZE`]); a group needs two runs.
//!
//! Rows come only from steps that recorded a model exchange; everything left out is counted in
//! the export's [`Skipped`]. The export is built in memory with the bytes and SHA-256 the
//! dataset reader checks, so the files written as returned read back with `read_dataset`.
//! [`export_datasets`] is the API's entry (admins, audited as the caller); [`export`] is the
//! shared work, also used by `aoi export` (audited as `cli`).

use std::collections::{BTreeMap, HashMap};

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Config, Permission};
use aoi_core::{Submission, TaskSpec, TaskType, Trajectory};
use aoi_evolver::datasets::{
    DatasetKind, DatasetRow, ExportMeta, Manifest, RewardWeights, RunRecord, SignalRecord,
    Skipped, dpo_row_from_signal, export_in_memory, grpo_rows, plan_from_json,
    relevant_resources, sft_row_from_signal, sft_rows_from_success,
};
use aoi_store::SessionFilter;
use aoi_store::{EnvironmentKind, Session, SessionStatus, SignalStatus, TenantId};
use aoi_twin::suite::Suite;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Platform;
use crate::audit;
use crate::ports::store_error;
use crate::tenants::scope_tenant;

/// Runs per GRPO group when the request names none.
pub const DEFAULT_GROUP_SIZE: u32 = 8;
/// Largest GRPO group a request may ask for.
pub const MAX_GROUP_SIZE: u32 = 64;
/// The suite twin environments run.
const SUITE: &str = "aiopslab";

/// The reward weights of GRPO exports: `[learning.rewards]`.
pub fn reward_weights(config: &Config) -> RewardWeights {
    config.learning.rewards
}

/// Body of `POST /api/v1/datasets/export`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// `grpo`, `sft` or `dpo`.
    pub kind: DatasetKind,
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
    /// Runs per GRPO group (2 to [`MAX_GROUP_SIZE`]; default [`DEFAULT_GROUP_SIZE`]).
    #[serde(default)]
    pub group_size: Option<u32>,
}

/// Which of the tenant's data an export reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Sessions finished (signals reviewed) at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Sessions finished (signals reviewed) before this time.
    pub until: Option<DateTime<Utc>>,
    /// Runs per GRPO group; `None`: [`DEFAULT_GROUP_SIZE`].
    pub group_size: Option<u32>,
}

impl ExportFilter {
    /// Refuses a group size under 2 or over [`MAX_GROUP_SIZE`], and `since` after `until`.
    pub fn validate(&self) -> Result<u32, ApiError> {
        let size = self.group_size.unwrap_or(DEFAULT_GROUP_SIZE);
        if !(2..=MAX_GROUP_SIZE).contains(&size) {
            return Err(ApiError::invalid_input(
                "group_size",
                format!("a GRPO group compares 2 to {MAX_GROUP_SIZE} runs, got {size}"),
            ));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since >= until
        {
            return Err(ApiError::invalid_input("since", "must be before `until`"));
        }
        Ok(size)
    }

    fn admits(&self, at: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| at >= s) && self.until.is_none_or(|u| at < u)
    }
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportFile {
    /// A plain file name: `manifest.json` or `<kind>.jsonl`.
    pub path: String,
    /// The file's exact text.
    pub content: String,
}

/// An export: the manifest, its files (the JSONL file, then `manifest.json`), what was left out.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    pub manifest: Manifest,
    pub files: Vec<ExportFile>,
    pub skipped: Skipped,
}

/// `POST /api/v1/datasets/export`: the caller's tenant's export (admins), audited
/// `dataset.export` with the kind and counts.
pub async fn export_datasets(
    platform: &Platform,
    proof: &Authorized,
    request: ExportRequest,
) -> Result<Export, ApiError> {
    proof.require(Permission::ReviewSignals)?;
    let tenant = scope_tenant(platform, proof).await?;
    let slug = proof
        .tenant()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let filter = ExportFilter {
        since: request.since,
        until: request.until,
        group_size: request.group_size,
    };
    let actor = audit::actor(proof.principal());
    export(platform, tenant, &slug, &actor, request.kind, filter).await
}

/// Builds the tenant's export of `kind` and audits it (`dataset.export`, actor `actor`).
pub async fn export(
    platform: &Platform,
    tenant: TenantId,
    slug: &str,
    actor: &str,
    kind: DatasetKind,
    filter: ExportFilter,
) -> Result<Export, ApiError> {
    let group_size = filter.validate()?;
    let weights = reward_weights(&platform.config);
    let mut skipped = Skipped::default();
    let meta = ExportMeta::new(slug);
    let built = match kind {
        DatasetKind::Grpo => {
            let runs = finished_runs(platform, tenant, &filter, true, &mut skipped).await?;
            let mut rows = Vec::new();
            for (group_id, group) in grpo_groups(runs, group_size, &mut skipped) {
                let (group_rows, s) = grpo_rows(&group_id, &group, &weights);
                rows.extend(group_rows);
                skipped.add(s);
            }
            build(&rows, meta.with_reward_weights(weights), &mut skipped)
        }
        DatasetKind::Sft => {
            let mut rows = Vec::new();
            for signal in approved_signals(platform, tenant, &filter, &mut skipped).await? {
                match sft_row_from_signal(&signal) {
                    Ok(row) => rows.push(row),
                    Err(e) => skipped.signal(e.to_string()),
                }
            }
            for run in finished_runs(platform, tenant, &filter, false, &mut skipped).await? {
                if run.success {
                    let (run_rows, s) = sft_rows_from_success(&run);
                    rows.extend(run_rows);
                    skipped.add(s);
                }
            }
            build(&rows, meta, &mut skipped)
        }
        DatasetKind::Dpo => {
            let mut rows = Vec::new();
            for signal in approved_signals(platform, tenant, &filter, &mut skipped).await? {
                match dpo_row_from_signal(&signal) {
                    Ok(row) => rows.push(row),
                    Err(e) => skipped.signal(e.to_string()),
                }
            }
            build(&rows, meta, &mut skipped)
        }
    };
    let (manifest, files) = built.map_err(|e| {
        tracing::error!(error = %e, "dataset export not built");
        ApiError::Internal {
            reference: Uuid::new_v4().simple().to_string(),
        }
    })?;
    audit::record(
        platform,
        audit::Entry {
            tenant: Some(tenant),
            actor: actor.to_owned(),
            action: "dataset.export".into(),
            target: format!("dataset:{}", kind.as_str()),
            decision: Some("allowed".into()),
            details: json!({
                "kind": kind.as_str(),
                "rows": manifest.counts.rows,
                "groups": manifest.counts.groups,
                "sessions": manifest.counts.sessions,
                "skipped_steps": skipped.steps_without_exchange,
                "skipped_runs": skipped.runs,
                "skipped_signals": skipped.signals,
                "invalid_rows": skipped.invalid_rows,
            }),
        },
    )
    .await?;
    Ok(Export {
        manifest,
        files,
        skipped,
    })
}

/// Runs grouped by problem (in their order) into groups of up to `size`, each with its id
/// `<problem>#<n>`; a group of one run is left out and counted.
fn grpo_groups(
    runs: Vec<RunRecord>,
    size: u32,
    skipped: &mut Skipped,
) -> Vec<(String, Vec<RunRecord>)> {
    let mut by_problem: BTreeMap<String, Vec<RunRecord>> = BTreeMap::new();
    for run in runs {
        by_problem
            .entry(run.problem_id.clone())
            .or_default()
            .push(run);
    }
    let mut groups = Vec::new();
    for (problem, runs) in by_problem {
        for (n, group) in runs.chunks(size.max(1) as usize).enumerate() {
            if let [only] = group {
                skipped.run(format!(
                    "session {}: the last group of problem {problem} has one run; a GRPO group needs two",
                    only.session_id
                ));
                continue;
            }
            groups.push((format!("{problem}#{n}"), group.to_vec()));
        }
    }
    groups
}

/// The export of `rows` (the same bytes `DatasetWriter` writes); a row that breaks a rule is
/// left out and counted in `skipped`, naming its session and field.
fn build<R: DatasetRow>(
    rows: &[R],
    meta: ExportMeta,
    skipped: &mut Skipped,
) -> Result<(Manifest, Vec<ExportFile>), String> {
    let valid = rows.iter().filter(|row| match row.check() {
        Ok(()) => true,
        Err(e) => {
            skipped.invalid_rows += 1;
            skipped.reasons.push(format!(
                "session {}: a row was left out: field `{}`: {}",
                row.session_id(),
                e.field,
                e.message
            ));
            false
        }
    });
    let export = export_in_memory(valid, meta).map_err(|e| e.to_string())?;
    let files = export
        .files
        .into_iter()
        .map(|(path, content)| ExportFile { path, content })
        .collect();
    Ok((export.manifest, files))
}

/// The tenant's finished sessions (succeeded or failed) in the filter's time range, oldest
/// first, as runs; `twin_only`: only sessions on twin environments. Unreadable ones are counted.
async fn finished_runs(
    platform: &Platform,
    tenant: TenantId,
    filter: &ExportFilter,
    twin_only: bool,
    skipped: &mut Skipped,
) -> Result<Vec<RunRecord>, ApiError> {
    let store = &platform.store;
    let suite = Suite::resolve(SUITE).ok();
    let mut sessions: Vec<Session> = store
        .sessions(tenant, SessionFilter::default())
        .await
        .map_err(store_error("sessions"))?
        .into_iter()
        .filter(|s| matches!(s.status, SessionStatus::Succeeded | SessionStatus::Failed))
        .filter(|s| filter.admits(s.finished_at.unwrap_or(s.created_at)))
        .collect();
    sessions.sort_by_key(|s| (s.created_at, s.id));
    let mut problems: HashMap<Uuid, Option<String>> = HashMap::new();
    let mut runs = Vec::new();
    for session in sessions {
        let problem_id = match problems.get(&session.environment_id) {
            Some(p) => p.clone(),
            None => {
                let env = store
                    .environment(tenant, session.environment_id)
                    .await
                    .map_err(store_error("environment"))?;
                let p = env
                    .filter(|e| e.kind == EnvironmentKind::Twin)
                    .and_then(|e| e.problem_id);
                problems.insert(session.environment_id, p.clone());
                p
            }
        };
        if twin_only && problem_id.is_none() {
            continue;
        }
        let verdict = store
            .session_verdict(tenant, session.id)
            .await
            .map_err(store_error("session verdict"))?;
        let evaluator = session
            .result
            .as_ref()
            .and_then(|r| r.pointer("/twin_verdict/success"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let success = match verdict {
            Some(v) => v.correct,
            None => evaluator && session.status == SessionStatus::Succeeded,
        };
        let problem = problem_id
            .as_deref()
            .and_then(|p| suite.as_ref().and_then(|s| s.problem(p)));
        let trajectory = match trajectory_of(
            platform,
            tenant,
            &session,
            problem_id.as_deref(),
            problem,
        )
        .await?
        {
            Ok(t) => t,
            Err(why) => {
                skipped.run(why);
                continue;
            }
        };
        runs.push(RunRecord {
            problem_id: problem_id.clone().unwrap_or_else(|| "unknown".to_owned()),
            session_id: session.id.to_string(),
            trajectory,
            success,
            relevant: problem.map(relevant_resources).unwrap_or_default(),
        });
    }
    Ok(runs)
}

/// The session's recorded steps and result as a trajectory (the task from the twin problem when
/// known: rewards read its task type); `Err` says why it does not read.
async fn trajectory_of(
    platform: &Platform,
    tenant: TenantId,
    session: &Session,
    problem_id: Option<&str>,
    problem: Option<&aoi_twin::suite::Problem>,
) -> Result<Result<Trajectory, String>, ApiError> {
    let stored = platform
        .store
        .steps(tenant, session.id)
        .await
        .map_err(store_error("session steps"))?;
    let result = session.result.clone().unwrap_or(Value::Null);
    let submission = crate::evolver::teacher::submission_of(&result);
    let task = TaskSpec {
        task_type: problem
            .map(|p| p.task_type)
            .or_else(|| submission.as_ref().map(Submission::task_type))
            .unwrap_or(TaskType::Detection),
        app_name: problem.map(|p| p.app.clone()).unwrap_or_default(),
        namespace: String::new(),
        app_description: String::new(),
        instructions: String::new(),
    };
    Ok(crate::evolver::teacher::recorded_trajectory(
        session, &stored, problem_id, task,
    ))
}

/// The tenant's approved and edited signals reviewed in the filter's time range, oldest first,
/// each with its failed session's trajectory; the ones that do not read are counted.
async fn approved_signals(
    platform: &Platform,
    tenant: TenantId,
    filter: &ExportFilter,
    skipped: &mut Skipped,
) -> Result<Vec<SignalRecord>, ApiError> {
    let store = &platform.store;
    let mut signals = store
        .signals(tenant, None)
        .await
        .map_err(store_error("signals"))?;
    signals.retain(|s| matches!(s.status, SignalStatus::Approved | SignalStatus::Edited));
    signals.retain(|s| filter.admits(s.reviewed_at.unwrap_or(s.created_at)));
    signals.sort_by_key(|s| (s.created_at, s.id));
    let mut records = Vec::new();
    for signal in signals {
        let Some(session_id) = signal.source_session_id else {
            skipped.signal(format!("signal {}: no source session", signal.id));
            continue;
        };
        let Some(session) = store
            .session(tenant, session_id)
            .await
            .map_err(store_error("session"))?
        else {
            skipped.signal(format!(
                "signal {}: its session {session_id} no longer exists",
                signal.id
            ));
            continue;
        };
        let plan = match plan_from_json(signal.edited_plan.as_ref().unwrap_or(&signal.plan)) {
            Ok(plan) => plan,
            Err(why) => {
                skipped.signal(format!("signal {}: {why}", signal.id));
                continue;
            }
        };
        let trajectory = match trajectory_of(
            platform,
            tenant,
            &session,
            Some(&signal.problem_id),
            None,
        )
        .await?
        {
            Ok(t) => t,
            Err(why) => {
                skipped.signal(format!("signal {}: {why}", signal.id));
                continue;
            }
        };
        records.push(SignalRecord {
            signal_id: signal.id.to_string(),
            session_id: session_id.to_string(),
            problem_id: signal.problem_id.clone(),
            first_wrong_step: signal
                .first_wrong_step
                .and_then(|s| usize::try_from(s).ok()),
            plan,
            rationale: signal.rationale.clone(),
            lesson: signal.lesson.clone(),
            trajectory,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aoi_core::SessionOutcome;

    fn run(problem: &str, session: &str) -> RunRecord {
        RunRecord {
            problem_id: problem.to_owned(),
            session_id: session.to_owned(),
            trajectory: Trajectory {
                session_id: session.to_owned(),
                problem_id: Some(problem.to_owned()),
                policy: "test".to_owned(),
                task: TaskSpec {
                    task_type: TaskType::Detection,
                    app_name: String::new(),
                    namespace: String::new(),
                    app_description: String::new(),
                    instructions: String::new(),
                },
                steps: Vec::new(),
                submission: None,
                outcome: SessionOutcome::Submitted,
                actions: 0,
                writes: 0,
                input_tokens: 0,
                output_tokens: 0,
                duration_us: 0,
                policy_us: 0,
                tool_us: 0,
            },
            success: false,
            relevant: Default::default(),
        }
    }

    #[test]
    fn runs_group_by_problem_in_order_and_a_lone_run_is_left_out() {
        let runs = vec![
            run("a", "s1"),
            run("b", "s2"),
            run("a", "s3"),
            run("a", "s4"),
            run("b", "s5"),
            run("c", "s6"),
        ];
        let mut skipped = Skipped::default();
        let groups = grpo_groups(runs, 2, &mut skipped);
        let ids: Vec<(String, Vec<String>)> = groups
            .into_iter()
            .map(|(id, g)| (id, g.into_iter().map(|r| r.session_id).collect()))
            .collect();
        let expected: Vec<(String, Vec<String>)> = vec![
            ("a#0".into(), vec!["s1".into(), "s3".into()]),
            ("b#0".into(), vec!["s2".into(), "s5".into()]),
        ];
        assert_eq!(ids, expected);
        assert_eq!(skipped.runs, 2, "a#1 (s4) and c#0 (s6) have one run each");
        assert!(skipped.reasons.iter().any(|r| r.contains("s4")));
        assert!(skipped.reasons.iter().any(|r| r.contains("s6")));
    }

    #[test]
    fn filters_refuse_bad_group_sizes_and_ranges() {
        assert_eq!(
            ExportFilter::default().validate().ok(),
            Some(DEFAULT_GROUP_SIZE)
        );
        for size in [0, 1, MAX_GROUP_SIZE + 1] {
            let f = ExportFilter {
                group_size: Some(size),
                ..ExportFilter::default()
            };
            assert!(f.validate().is_err(), "{size}");
        }
        let now = Utc::now();
        let f = ExportFilter {
            since: Some(now),
            until: Some(now),
            group_size: None,
        };
        assert!(f.validate().is_err());
        let f = ExportFilter {
            since: Some(now - chrono::Duration::hours(1)),
            until: None,
            group_size: None,
        };
        assert!(f.admits(now) && !f.admits(now - chrono::Duration::hours(2)));
    }
}
