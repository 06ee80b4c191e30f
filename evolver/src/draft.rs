//! Drafting a corrective signal from one failed run: mine it, run the teacher on a twin
//! reproduction, turn the teacher's run into a repaired plan in phases, verify the plan by
//! replay, and write the rationale and the lesson.

use crate::select::symptoms_of;
use crate::verify::{run_teacher, verify_plan};
use crate::{EvolveError, FailedRun, Phase, PlanStep, RepairedPlan, SignalDraft, Verification};
use aoi_core::{NextAction, Policy, Role, SessionOutcome, Submission, Trajectory};
use aoi_inference::builtin::BuiltinPolicy;
use aoi_learning::patterns::{ReferenceRun, TaskInfo, mine};
use aoi_learning::trace::{EventKind, ToolEvent, tool_events, turns};
use aoi_twin::suite::Suite;
use std::collections::{BTreeMap, BTreeSet};

/// The action budget assumed when mining a run whose own budget is not known.
pub const DEFAULT_MAX_STEPS: u32 = 30;

/// Diagnosing commands a lesson names at most (the plan keeps them all).
const LESSON_DIAGNOSIS: usize = 6;
/// Verification commands a lesson names at most.
const LESSON_VERIFICATION: usize = 3;

/// Drafts a signal from `failed` with the built-in playbook as the teacher.
pub async fn draft_signal(suite: &Suite, failed: &FailedRun) -> Result<SignalDraft, EvolveError> {
    let mut teacher = BuiltinPolicy::new();
    draft_signal_with_teacher(suite, failed, &mut teacher).await
}

/// Drafts a signal from `failed` with `teacher` (the built-in playbook, or a model through the
/// pool): mines the failed run against the teacher's reference, turns the teacher's run on a
/// fresh twin of the same problem and seed into a repaired plan, and verifies the plan by
/// replaying it on another fresh twin. A teacher that fails yields a draft whose verification
/// says so (`success: false`), not an error.
pub async fn draft_signal_with_teacher(
    suite: &Suite,
    failed: &FailedRun,
    teacher: &mut dyn Policy,
) -> Result<SignalDraft, EvolveError> {
    let problem = suite
        .problem(&failed.problem_id)
        .ok_or_else(|| EvolveError::UnknownProblem {
            problem_id: failed.problem_id.clone(),
            suite: suite.name.clone(),
        })?;
    let task_type = problem.task_type;
    if failed.trajectory.task.task_type != task_type {
        return Err(EvolveError::TaskTypeMismatch {
            problem_id: failed.problem_id.clone(),
            run: failed.trajectory.task.task_type,
            problem: task_type,
        });
    }
    let teacher_name = teacher.name().to_string();
    let (taught, taught_eval) =
        run_teacher(suite, &failed.problem_id, failed.seed, teacher).await?;
    let reference = ReferenceRun::from_trajectory(&taught);
    let failed_traj = &failed.trajectory;
    let exhausted = failed_traj.outcome == SessionOutcome::StepBudgetExhausted;
    let info = TaskInfo {
        task_type,
        max_steps: DEFAULT_MAX_STEPS.max(failed_traj.actions + u32::from(!exhausted)),
    };
    let mut verdict = failed.verdict.clone();
    verdict.out_of_budget |= exhausted;
    let mining = mine(
        failed_traj,
        &info,
        &verdict,
        taught_eval.success.then_some(&reference),
    );
    let plan = plan_from_trajectory(&taught, &reference.relevant);
    let verification = if taught_eval.success {
        verify_plan(suite, &failed.problem_id, failed.seed, &plan).await
    } else {
        Verification {
            attempted: false,
            success: false,
            detail: format!(
                "not verified: the teacher ({teacher_name}) did not solve the problem on the twin: {}",
                taught_eval.detail
            ),
        }
    };
    let failed_commands = failed_commands(failed_traj, mining.first_wrong_step);
    let patterns: Vec<_> = mining.patterns.iter().copied().collect();
    let rca = final_rca(&taught);
    let rationale = rationale(
        failed,
        &mining,
        &plan,
        &teacher_name,
        &taught_eval.detail,
        taught_eval.success,
    );
    let lesson = lesson(failed_traj, &plan, &patterns, &rca);
    let mut incident = reference
        .relevant
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    incident.push(' ');
    incident.push_str(&rca);
    if let Some(category) = &failed.operator_category {
        incident.push(' ');
        incident.push_str(category);
    }
    Ok(SignalDraft {
        problem_id: failed.problem_id.clone(),
        task_type,
        patterns,
        first_wrong_step: mining.first_wrong_step,
        evidence: mining.evidence,
        failed_commands,
        plan,
        rationale,
        verification,
        lesson,
        symptoms: symptoms_of(&failed_traj.task, &incident),
    })
}

/// Turns a (teacher's) run into a repaired plan: the reads before the first write are
/// Discovery (the first third, or fewer when a read touches a `relevant` resource sooner) then
/// Diagnosis; the writes, and reads between writes, are Resolution; the reads after the last
/// write are Verification. Refused calls are left out. The run's submission ends the plan.
pub fn plan_from_trajectory(run: &Trajectory, relevant: &BTreeSet<String>) -> RepairedPlan {
    let purposes = purposes(run);
    let events: Vec<ToolEvent> = tool_events(run)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::Read | EventKind::Write))
        .collect();
    let first_write = events.iter().position(|e| e.kind == EventKind::Write);
    let last_write = events.iter().rposition(|e| e.kind == EventKind::Write);
    let before = first_write.unwrap_or(events.len());
    let discovery = discovery_len(&events[..before], relevant);
    let steps = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let phase = match (first_write, last_write) {
                (Some(first), Some(last)) if i >= first && i <= last => Phase::Resolution,
                (_, Some(last)) if i > last => Phase::Verification,
                _ if i < discovery => Phase::Discovery,
                _ => Phase::Diagnosis,
            };
            let call = run.steps.get(e.step).and_then(|s| s.tool_call.clone());
            let purpose = purposes
                .get(&e.step)
                .cloned()
                .filter(|p| !p.trim().is_empty())
                .unwrap_or_else(|| default_purpose(phase, e));
            PlanStep {
                phase,
                command: e.command.clone(),
                purpose,
                call: call.filter(|c| c.tool != "exec_shell"),
            }
        })
        .collect();
    RepairedPlan {
        steps,
        submission: run
            .submission
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok()),
    }
}

/// How many of the reads before the first write are Discovery.
fn discovery_len(reads: &[ToolEvent], relevant: &BTreeSet<String>) -> usize {
    let n = reads.len();
    if n <= 1 {
        return n;
    }
    let third = n.div_ceil(3);
    let first_touch = reads
        .iter()
        .position(|e| e.touches(relevant))
        .unwrap_or(third);
    first_touch.min(third).clamp(1, n - 1)
}

/// The Observer's stated reason for each tool step, by step position.
fn purposes(run: &Trajectory) -> BTreeMap<usize, String> {
    let mut out = BTreeMap::new();
    for turn in turns(run) {
        let why = match turn.action() {
            Some(NextAction::Probe { context, .. } | NextAction::Executor { context, .. }) => {
                context.clone()
            }
            _ => continue,
        };
        for e in &turn.events {
            out.insert(e.step, why.clone());
        }
    }
    out
}

fn default_purpose(phase: Phase, e: &ToolEvent) -> String {
    let names: Vec<&str> = e.target_names().collect();
    let what = if names.is_empty() {
        "the namespace".to_string()
    } else {
        names.join(", ")
    };
    match phase {
        Phase::Discovery => format!("survey {what}"),
        Phase::Diagnosis => format!("inspect {what} for the root cause"),
        Phase::Resolution => format!("fix {what}"),
        Phase::Verification => format!("check that {what} recovered"),
    }
}

/// The failed run's commands from its first wrong step, then its submission.
pub(crate) fn failed_commands(run: &Trajectory, first_wrong: Option<usize>) -> Vec<String> {
    let from = first_wrong.unwrap_or(0);
    let mut out: Vec<String> = tool_events(run)
        .into_iter()
        .filter(|e| e.step >= from)
        .map(|e| e.command)
        .collect();
    if let Some(s) = &run.submission {
        out.push(s.to_call_string());
    }
    out
}

/// The teacher's last stated root cause analysis.
fn final_rca(run: &Trajectory) -> String {
    run.steps
        .iter()
        .rev()
        .filter(|s| s.role == Role::Observer)
        .find_map(|s| {
            s.decision
                .as_ref()
                .map(|d| d.root_cause_analysis.trim().to_string())
        })
        .unwrap_or_default()
}

pub(crate) fn ticked<'a>(commands: impl Iterator<Item = &'a str>) -> String {
    commands
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn submission_text(plan: &RepairedPlan) -> Option<String> {
    plan.submission
        .as_ref()
        .and_then(|v| serde_json::from_value::<Submission>(v.clone()).ok())
        .map(|s| s.to_call_string())
}

/// What went wrong, for a rationale: the evaluator's reason, the mined patterns, the first
/// wrong step.
pub(crate) fn failure_summary(
    failed: &FailedRun,
    mining: &aoi_learning::patterns::Mining,
) -> String {
    let why = if failed.verdict.detail.is_empty() {
        "the evaluator rejected it".to_string()
    } else {
        failed.verdict.detail.clone()
    };
    let mut out = format!("The run failed: {why}.");
    if mining.patterns.is_empty() {
        out.push_str(" Mining found none of the failure patterns A to F.");
    } else {
        let names: Vec<String> = mining
            .patterns
            .iter()
            .map(|p| format!("{} ({})", p.letter(), p.name()))
            .collect();
        out.push_str(&format!(" Mining found {}.", names.join(", ")));
    }
    if let Some(at) = mining.first_wrong_step {
        let action = failed
            .trajectory
            .steps
            .get(at)
            .map(|s| s.action.as_str())
            .unwrap_or("?");
        out.push_str(&format!(" It first went wrong at step {at}: {action}."));
    }
    out
}

fn rationale(
    failed: &FailedRun,
    mining: &aoi_learning::patterns::Mining,
    plan: &RepairedPlan,
    teacher: &str,
    teacher_detail: &str,
    teacher_ok: bool,
) -> String {
    let mut out = failure_summary(failed, mining);
    if !teacher_ok {
        out.push_str(&format!(
            " The teacher ({teacher}) did not solve the problem on the twin either ({teacher_detail}), so this plan is not verified and should not be approved as it is."
        ));
        return out;
    }
    let reads = plan.phase(Phase::Discovery).count() + plan.phase(Phase::Diagnosis).count();
    out.push_str(&format!(
        " The teacher ({teacher}) instead read {reads} time(s) before acting"
    ));
    let fixes: Vec<&str> = plan
        .phase(Phase::Resolution)
        .map(|s| s.command.as_str())
        .collect();
    if !fixes.is_empty() {
        out.push_str(&format!(", fixed with {}", ticked(fixes.into_iter())));
    }
    let checks: Vec<&str> = plan
        .phase(Phase::Verification)
        .map(|s| s.command.as_str())
        .collect();
    if !checks.is_empty() {
        out.push_str(&format!(", verified with {}", ticked(checks.into_iter())));
    }
    if let Some(sub) = submission_text(plan) {
        out.push_str(&format!(", and submitted `{sub}`"));
    }
    out.push_str(&format!("; the oracle accepted it ({teacher_detail})."));
    out
}

pub(crate) fn lesson(
    failed: &Trajectory,
    plan: &RepairedPlan,
    patterns: &[aoi_learning::patterns::FailurePattern],
    rca: &str,
) -> String {
    let task = &failed.task;
    let kind = task.task_type.as_str();
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let mut out = format!(
        "On {article} {kind} task for {} (namespace {}), a run failed",
        task.app_name, task.namespace
    );
    if !patterns.is_empty() {
        let names: Vec<&str> = patterns.iter().map(|p| p.name()).collect();
        out.push_str(&format!(" by {}", names.join(", ")));
    }
    out.push('.');
    if !rca.is_empty() {
        out.push_str(&format!(
            " The teacher's diagnosis: {}.",
            rca.trim_end_matches('.')
        ));
    }
    let mut diagnose: Vec<&str> = plan
        .phase(Phase::Discovery)
        .take(2)
        .map(|s| s.command.as_str())
        .collect();
    diagnose.extend(plan.phase(Phase::Diagnosis).map(|s| s.command.as_str()));
    diagnose.truncate(LESSON_DIAGNOSIS);
    if !diagnose.is_empty() {
        out.push_str(&format!(" Diagnose with {}.", ticked(diagnose.into_iter())));
    }
    let fixes: Vec<&str> = plan
        .phase(Phase::Resolution)
        .map(|s| s.command.as_str())
        .collect();
    if !fixes.is_empty() {
        out.push_str(&format!(" Fix with {}.", ticked(fixes.into_iter())));
    }
    let checks: Vec<&str> = plan
        .phase(Phase::Verification)
        .take(LESSON_VERIFICATION)
        .map(|s| s.command.as_str())
        .collect();
    if !checks.is_empty() {
        out.push_str(&format!(" Verify with {}.", ticked(checks.into_iter())));
    }
    if let Some(sub) = submission_text(plan) {
        out.push_str(&format!(" Then submit `{sub}`."));
    }
    out
}
