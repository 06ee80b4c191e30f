//! Failure mining: which of the paper's failure patterns a run shows, and the first step that
//! went wrong.
//!
//! The evaluator's verdict and a teacher's reference run come in as plain data ([`Verdict`],
//! [`ReferenceRun`]) filled by the caller; this crate depends on no evaluator.
//!
//! Terms used below. A *read* is a tool call that ran and could not change state; a *write* is
//! a write that passed the gate and ran; a *targeted* read names a resource (a broad listing like
//! `kubectl get pods -n x` names none). `R` is the reference's relevant resource set; a read
//! *touches* `R` when a resource it names is in `R` (a pod matches its deployment, see
//! [`matches_resource`]). A turn is an Observer step; the *submit step* is the Observer step that
//! submitted.

use crate::targets::{matches_resource, parse_kubectl, resource_base};
use crate::trace::{EventKind, ToolEvent, tool_events, turns};
use aoi_core::{NextAction, SessionOutcome, TaskType, Trajectory};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A stated confidence below this, on the submit step, is a low-confidence stop (pattern E).
pub const LOW_CONFIDENCE: u8 = 50;

/// The paper's failure patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePattern {
    /// A: missing fix.
    MissingFix,
    /// B: incomplete diagnosis.
    IncompleteDiagnosis,
    /// C: wrong diagnostic path.
    WrongDiagnosticPath,
    /// D: missing verification.
    MissingVerification,
    /// E: premature stop.
    PrematureStop,
    /// F: wrong fix.
    WrongFix,
}

impl FailurePattern {
    /// All patterns, A to F.
    pub const ALL: [FailurePattern; 6] = [
        FailurePattern::MissingFix,
        FailurePattern::IncompleteDiagnosis,
        FailurePattern::WrongDiagnosticPath,
        FailurePattern::MissingVerification,
        FailurePattern::PrematureStop,
        FailurePattern::WrongFix,
    ];

    /// The paper's letter.
    pub fn letter(self) -> char {
        match self {
            FailurePattern::MissingFix => 'A',
            FailurePattern::IncompleteDiagnosis => 'B',
            FailurePattern::WrongDiagnosticPath => 'C',
            FailurePattern::MissingVerification => 'D',
            FailurePattern::PrematureStop => 'E',
            FailurePattern::WrongFix => 'F',
        }
    }

    /// The paper's name.
    pub fn name(self) -> &'static str {
        match self {
            FailurePattern::MissingFix => "missing fix",
            FailurePattern::IncompleteDiagnosis => "incomplete diagnosis",
            FailurePattern::WrongDiagnosticPath => "wrong diagnostic path",
            FailurePattern::MissingVerification => "missing verification",
            FailurePattern::PrematureStop => "premature stop",
            FailurePattern::WrongFix => "wrong fix",
        }
    }
}

/// What mining needs to know about the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub task_type: TaskType,
    /// The session's action budget (tool calls plus the submit).
    pub max_steps: u32,
}

/// One criterion the evaluator checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionResult {
    pub name: String,
    pub passed: bool,
    #[serde(default)]
    pub detail: String,
}

/// The evaluator's verdict, as plain data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Verdict {
    pub success: bool,
    /// Per-criterion results, when the evaluator gives them.
    #[serde(default)]
    pub criteria: Vec<CriterionResult>,
    /// The run ran out of steps or time.
    #[serde(default)]
    pub out_of_budget: bool,
    /// The evaluator's own words.
    #[serde(default)]
    pub detail: String,
}

/// A teacher's run of the same problem: what a good diagnosis and fix looked like.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReferenceRun {
    /// Resources relevant to the incident (names or `kind/name`).
    pub relevant: BTreeSet<String>,
    /// The fix commands.
    #[serde(default)]
    pub fix_commands: Vec<String>,
    /// The commands that verified the fix.
    #[serde(default)]
    pub verification_commands: Vec<String>,
}

impl ReferenceRun {
    /// Reads a reference off a teacher's (successful) trajectory: every resource its reads and
    /// writes named (pods reduced to their deployment), the writes that ran as fix commands,
    /// and the reads after its last write as verification commands.
    pub fn from_trajectory(teacher: &Trajectory) -> Self {
        let events = tool_events(teacher);
        let relevant = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Read | EventKind::Write))
            .flat_map(|e| e.targets.iter().map(|t| resource_base(&t.name).to_string()))
            .collect();
        let fix_commands: Vec<String> = events
            .iter()
            .filter(|e| e.kind == EventKind::Write)
            .map(|e| e.command.clone())
            .collect();
        let last_write = events.iter().rposition(|e| e.kind == EventKind::Write);
        let verification_commands = match last_write {
            Some(at) => events
                .iter()
                .skip(at + 1)
                .filter(|e| e.kind == EventKind::Read)
                .map(|e| e.command.clone())
                .collect(),
            None => Vec::new(),
        };
        ReferenceRun {
            relevant,
            fix_commands,
            verification_commands,
        }
    }
}

/// What mining found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Mining {
    pub patterns: BTreeSet<FailurePattern>,
    /// The earliest step (position in the trajectory) at which a detected pattern went wrong.
    pub first_wrong_step: Option<usize>,
    /// One human-readable line per detected pattern, A to F.
    pub evidence: Vec<String>,
}

/// Mines one run. Each pattern is detected on its own evidence; several may hold.
///
/// - **A missing fix**: a mitigation task, the run failed, and no write ran. Step: the submit
///   step (the last step when the run never submitted).
/// - **B incomplete diagnosis**: the run failed and, with a reference, a resource of `R` was
///   never touched by a read; without one (or with an empty `R`), no read named any resource.
///   Step: the first turn that chose the Executor or submitted (the last step if none did).
/// - **C wrong diagnostic path**: the run failed, `R` is not empty, the Probe made at least two
///   targeted reads, and more than half of them touched nothing in `R`. Step: the first targeted
///   read that touched nothing in `R`.
/// - **D missing verification**: a write ran and no read after it verified it: a read verifies a
///   write when it names one of the write's resources (or any resource, when the write named
///   none), when it is a broad listing (names nothing), or when its command is one of the
///   reference's verification commands. Held whether or not the run succeeded: the paper's plan
///   shape is fix, then verify. Step: the first turn after that write that submitted (the last
///   step if none did).
/// - **E premature stop**: the run failed, the agent submitted while actions were left (not out
///   of budget), and either no read touched `R` (no read named any resource, without a
///   reference) or the submit step's confidence was below [`LOW_CONFIDENCE`]. Step: the submit
///   step.
/// - **F wrong fix**: a mitigation task, the run failed, a write ran, and, when the reference
///   names fix commands, no write that ran does what one of them does (same verb, kind and
///   names, or the same command text). Without reference fixes the failed verdict alone says the
///   writes did not mitigate. Step: the first write that matches no reference fix (the first
///   write, without reference fixes).
pub fn mine(
    trajectory: &Trajectory,
    task: &TaskInfo,
    verdict: &Verdict,
    reference: Option<&ReferenceRun>,
) -> Mining {
    let events = tool_events(trajectory);
    let turns = turns(trajectory);
    let failed = !verdict.success;
    let last_step = trajectory.steps.len().checked_sub(1);
    let submit_step = turns
        .iter()
        .find(|t| t.submission.is_some() || matches!(t.action(), Some(NextAction::Submit { .. })))
        .map(|t| t.step);
    let relevant: BTreeSet<String> = reference.map(|r| r.relevant.clone()).unwrap_or_default();
    let reads: Vec<&ToolEvent> = events
        .iter()
        .filter(|e| e.kind == EventKind::Read)
        .collect();
    let writes: Vec<&ToolEvent> = events
        .iter()
        .filter(|e| e.kind == EventKind::Write)
        .collect();
    let touched_relevant = if relevant.is_empty() {
        reads.iter().any(|e| !e.targets.is_empty())
    } else {
        reads.iter().any(|e| e.touches(&relevant))
    };
    let mitigation = task.task_type == TaskType::Mitigation;
    let failing: Vec<&str> = verdict
        .criteria
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    let why = if failing.is_empty() {
        verdict.detail.clone()
    } else {
        format!("failed criteria: {}", failing.join(", "))
    };
    let mut found: BTreeMap<FailurePattern, (Option<usize>, String)> = BTreeMap::new();

    // A: missing fix.
    if mitigation && failed && writes.is_empty() {
        let refused = events
            .iter()
            .filter(|e| e.kind == EventKind::RefusedWrite)
            .count();
        let ended = if submit_step.is_some() {
            "submitted"
        } else {
            "stopped"
        };
        found.insert(
            FailurePattern::MissingFix,
            (
                submit_step.or(last_step),
                format!("mitigation task, no write ran ({refused} refused); the run {ended} without a fix; {why}"),
            ),
        );
    }

    // B: incomplete diagnosis.
    if failed {
        let missed: Vec<&String> = relevant
            .iter()
            .filter(|r| {
                !reads
                    .iter()
                    .any(|e| e.targets.iter().any(|t| matches_resource(&t.name, r)))
            })
            .collect();
        let incomplete = if relevant.is_empty() {
            !touched_relevant
        } else {
            !missed.is_empty()
        };
        if incomplete {
            let acted = turns
                .iter()
                .find(|t| {
                    matches!(
                        t.action(),
                        Some(NextAction::Executor { .. } | NextAction::Submit { .. })
                    )
                })
                .map(|t| t.step);
            let what = if relevant.is_empty() {
                "no read named any resource".to_string()
            } else {
                format!(
                    "relevant resources never read: {}",
                    join(missed.iter().map(|s| s.as_str()))
                )
            };
            found.insert(
                FailurePattern::IncompleteDiagnosis,
                (acted.or(last_step), format!("{what}; {why}")),
            );
        }
    }

    // C: wrong diagnostic path.
    if failed && !relevant.is_empty() {
        let targeted: Vec<&&ToolEvent> = reads
            .iter()
            .filter(|e| e.role == aoi_core::Role::Probe && !e.targets.is_empty())
            .collect();
        let off: Vec<&&ToolEvent> = targeted
            .iter()
            .filter(|e| !e.touches(&relevant))
            .copied()
            .collect();
        if targeted.len() >= 2 && off.len() * 2 > targeted.len() {
            let names: BTreeSet<&str> = off.iter().flat_map(|e| e.target_names()).collect();
            found.insert(
                FailurePattern::WrongDiagnosticPath,
                (
                    off.first().map(|e| e.step),
                    format!(
                        "{} of {} targeted probes read resources unrelated to the incident ({}); relevant: {}",
                        off.len(),
                        targeted.len(),
                        join(names.into_iter()),
                        join(relevant.iter().map(String::as_str))
                    ),
                ),
            );
        }
    }

    // D: missing verification.
    let verification: BTreeSet<String> = reference
        .map(|r| {
            r.verification_commands
                .iter()
                .map(|c| normalize_command(c))
                .collect()
        })
        .unwrap_or_default();
    let unverified = writes.iter().find(|w| {
        !reads.iter().filter(|r| r.step > w.step).any(|r| {
            r.targets.is_empty()
                || w.targets.is_empty()
                || verification.contains(&normalize_command(&r.command))
                || r.targets
                    .iter()
                    .any(|rt| w.targets.iter().any(|wt| same_resource(&rt.name, &wt.name)))
        })
    });
    if let Some(write) = unverified {
        let submitted_after = turns
            .iter()
            .find(|t| t.step > write.step && t.submission.is_some())
            .map(|t| t.step);
        found.insert(
            FailurePattern::MissingVerification,
            (
                submitted_after.or(last_step),
                format!(
                    "the write at step {} (`{}`) was never checked by a later read",
                    write.step, write.command
                ),
            ),
        );
    }

    // E: premature stop.
    let submitted = trajectory.outcome == SessionOutcome::Submitted;
    let budget_left = !verdict.out_of_budget && trajectory.actions < task.max_steps;
    if failed && submitted && budget_left {
        let confidence = submit_step
            .and_then(|s| turns.iter().find(|t| t.step == s))
            .and_then(|t| t.decision)
            .map(|d| d.confidence);
        let low = confidence.is_some_and(|c| c < LOW_CONFIDENCE);
        if !touched_relevant || low {
            let mut reasons = Vec::new();
            if !touched_relevant {
                reasons.push("before any read reached a relevant resource".to_string());
            }
            if let Some(c) = confidence.filter(|_| low) {
                reasons.push(format!("with confidence {c} < {LOW_CONFIDENCE}"));
            }
            found.insert(
                FailurePattern::PrematureStop,
                (
                    submit_step,
                    format!(
                        "submitted after {} of {} actions, {}",
                        trajectory.actions,
                        task.max_steps,
                        reasons.join(" and ")
                    ),
                ),
            );
        }
    }

    // F: wrong fix.
    if mitigation && failed && !writes.is_empty() {
        let fixes: Vec<&String> = reference
            .map(|r| r.fix_commands.iter().collect())
            .unwrap_or_default();
        let is_fix = |w: &ToolEvent| fixes.iter().any(|f| same_fix(&w.command, f));
        let wrong = if fixes.is_empty() {
            writes.first()
        } else if writes.iter().any(|w| is_fix(w)) {
            None
        } else {
            writes.first()
        };
        if let Some(write) = wrong {
            let what = if fixes.is_empty() {
                format!("writes ran but the verdict says not mitigated ({why})")
            } else {
                format!(
                    "no write matched the reference fix ({}); ran: {}",
                    join(fixes.iter().map(|s| s.as_str())),
                    join(writes.iter().map(|w| w.command.as_str()))
                )
            };
            found.insert(FailurePattern::WrongFix, (Some(write.step), what));
        }
    }

    Mining {
        patterns: found.keys().copied().collect(),
        first_wrong_step: found.values().filter_map(|(s, _)| *s).min(),
        evidence: found
            .iter()
            .map(|(p, (step, text))| {
                let at = step.map(|s| format!(" (step {s})")).unwrap_or_default();
                format!("{} {}{at}: {text}", p.letter(), p.name())
            })
            .collect(),
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Runs of whitespace collapsed.
fn normalize_command(command: &str) -> String {
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Two resource names that denote the same resource (either is a pod of the other).
fn same_resource(a: &str, b: &str) -> bool {
    matches_resource(a, b) || matches_resource(b, a) || resource_base(a) == resource_base(b)
}

/// Whether a write does what a reference fix does: the same command text, or the same kubectl
/// verb on the same kind and resources.
fn same_fix(command: &str, fix: &str) -> bool {
    if normalize_command(command) == normalize_command(fix) {
        return true;
    }
    match (parse_kubectl(command), parse_kubectl(fix)) {
        (Some(a), Some(b)) => {
            a.verb == b.verb
                && a.kind == b.kind
                && !a.names.is_empty()
                && a.names.len() == b.names.len()
                && a.names
                    .iter()
                    .zip(&b.names)
                    .all(|(x, y)| same_resource(x, y))
        }
        _ => false,
    }
}
