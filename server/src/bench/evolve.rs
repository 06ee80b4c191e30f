//! `aoi bench --evolve`: learns from the failed runs of the first round and runs the round
//! again with lessons.
//!
//! Every failed run becomes a [`FailedRun`]; the evolver drafts a corrective signal from it with
//! the built-in playbook as the teacher on a twin reproduction (same problem and seed) and
//! verifies the repaired plan by replay. Verified signals are approved automatically (marked
//! `auto_approved`), one lesson per problem. The round then runs twice more with the same
//! seeds: each session gets the [`LESSONS_K`] approved lessons most similar to its task
//! ("after"), and, for a figure that is not memorisation, only lessons mined from other
//! problems ("after_other_problems").

use super::{LessonSource, Round, RoundSpec, TaskResult, progress};
use anyhow::{Context, Result};
use aoi_core::{SessionOutcome, TaskType};
use aoi_evolver::{FailedRun, SignalDraft, Verdict, draft_signal, select_lessons};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::task::JoinSet;

/// Lessons a session gets at most.
pub const LESSONS_K: usize = 3;

/// One drafted signal, as the bench reports it.
#[derive(Debug, Clone, Serialize)]
pub struct SignalSummary {
    pub problem_id: String,
    pub task_type: TaskType,
    pub seed: u64,
    /// The paper's letters, A to F.
    pub patterns: Vec<char>,
    pub first_wrong_step: Option<usize>,
    pub verified: bool,
    pub verification: String,
    /// Approved by the bench because it verified, not by a person.
    pub auto_approved: bool,
    /// Whether its lesson is the one lesson kept for its problem.
    pub used_as_lesson: bool,
    pub plan_steps: usize,
    pub rationale: String,
    pub lesson: String,
}

/// What `--evolve` did and what the second rounds scored.
#[derive(Debug, Clone)]
pub struct Evolution {
    pub signals: Vec<SignalSummary>,
    /// Failed runs no signal could be drafted from, with the reason.
    pub errors: Vec<String>,
    /// Lessons in the pool (one per problem with a verified signal).
    pub lessons: usize,
    pub after: Vec<TaskResult>,
    pub after_other_problems: Vec<TaskResult>,
}

impl Evolution {
    /// Signals whose plan verified on the twin.
    pub fn verified(&self) -> usize {
        self.signals.iter().filter(|s| s.verified).count()
    }
}

/// Drafts, approves and re-runs; `before` is the first round (with its failed trajectories).
pub async fn evolve(round: &RoundSpec<'_>, before: &Round) -> Result<Evolution> {
    let failed: Vec<FailedRun> = before
        .failed
        .iter()
        .map(|(i, seed, trajectory)| {
            let detail = before.tasks[*i]
                .runs
                .iter()
                .find(|r| r.seed == *seed)
                .map(|r| r.detail.clone())
                .unwrap_or_default();
            FailedRun {
                problem_id: round.problems[*i].id.clone(),
                seed: *seed,
                trajectory: trajectory.clone(),
                verdict: Verdict {
                    success: false,
                    out_of_budget: trajectory.outcome == SessionOutcome::StepBudgetExhausted,
                    detail,
                    ..Verdict::default()
                },
                source_session: Some(trajectory.session_id.clone()),
                operator_category: None,
            }
        })
        .collect();
    let (drafts, errors) = draft_all(round, failed).await?;
    let mut kept: BTreeSet<String> = BTreeSet::new();
    let mut pool: Vec<(String, Vec<String>, String)> = Vec::new();
    let signals: Vec<SignalSummary> = drafts
        .into_iter()
        .map(|(seed, d)| {
            let verified = d.verification.attempted && d.verification.success;
            let used = verified && kept.insert(d.problem_id.clone());
            if used {
                pool.push((d.problem_id.clone(), d.symptoms.clone(), d.lesson.clone()));
            }
            summary(seed, d, verified, used)
        })
        .collect();
    let all: Vec<(Vec<String>, String)> = pool
        .iter()
        .map(|(_, s, l)| (s.clone(), l.clone()))
        .collect();
    let all = Arc::new(all);
    let with_all: LessonSource = Arc::new(move |_, task| {
        select_lessons(&all, task, "", LESSONS_K)
            .into_iter()
            .map(str::to_string)
            .collect()
    });
    let pool = Arc::new(pool);
    let with_others: LessonSource = Arc::new(move |problem_id, task| {
        let others: Vec<(Vec<String>, String)> = pool
            .iter()
            .filter(|(p, _, _)| p != problem_id)
            .map(|(_, s, l)| (s.clone(), l.clone()))
            .collect();
        select_lessons(&others, task, "", LESSONS_K)
            .into_iter()
            .map(str::to_string)
            .collect()
    });
    let after = round.run("sessions with lessons", &with_all, false).await?;
    let after_other = round
        .run("sessions with other problems' lessons", &with_others, false)
        .await?;
    Ok(Evolution {
        lessons: kept.len(),
        signals,
        errors,
        after: after.tasks,
        after_other_problems: after_other.tasks,
    })
}

/// Drafts a signal from every failed run, `jobs` at a time, in the runs' order.
async fn draft_all(
    round: &RoundSpec<'_>,
    failed: Vec<FailedRun>,
) -> Result<(Vec<(u64, SignalDraft)>, Vec<String>)> {
    let bar = progress(round.quiet, failed.len() as u64, "signals drafted");
    let mut slots: Vec<Option<Result<SignalDraft, String>>> = failed.iter().map(|_| None).collect();
    let seeds: Vec<u64> = failed.iter().map(|f| f.seed).collect();
    let mut pending = failed.into_iter().enumerate();
    let mut set = JoinSet::new();
    loop {
        while set.len() < round.jobs {
            let Some((n, run)) = pending.next() else {
                break;
            };
            let suite = round.suite.clone();
            set.spawn(async move {
                let drafted = draft_signal(&suite, &run)
                    .await
                    .map_err(|e| format!("{} (seed {}): {e}", run.problem_id, run.seed));
                (n, drafted)
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (n, drafted) = joined.context("drafting a signal panicked")?;
        slots[n] = Some(drafted);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut drafts = Vec::new();
    let mut errors = Vec::new();
    for (slot, seed) in slots.into_iter().zip(seeds) {
        match slot {
            Some(Ok(d)) => drafts.push((seed, d)),
            Some(Err(e)) => errors.push(e),
            None => {}
        }
    }
    Ok((drafts, errors))
}

fn summary(seed: u64, d: SignalDraft, verified: bool, used: bool) -> SignalSummary {
    SignalSummary {
        problem_id: d.problem_id,
        task_type: d.task_type,
        seed,
        patterns: d.patterns.iter().map(|p| p.letter()).collect(),
        first_wrong_step: d.first_wrong_step,
        verified,
        verification: d.verification.detail,
        auto_approved: verified,
        used_as_lesson: used,
        plan_steps: d.plan.steps.len(),
        rationale: d.rationale,
        lesson: d.lesson,
    }
}
