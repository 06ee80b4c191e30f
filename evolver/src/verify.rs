//! Running a teacher on a twin reproduction, and replaying a repaired plan to verify it.

use crate::{EvolveError, RepairedPlan, Verification};
use aoi_agent::{AutoGate, SessionConfig, ToolRegistry, run_session};
use aoi_core::{Policy, Submission, Trajectory};
use aoi_plugin_sdk::Toolset;
use aoi_twin::env::TwinEnv;
use aoi_twin::oracle::Evaluation;
use aoi_twin::suite::Suite;
use std::sync::Arc;

/// The actor the evolver's replays write as.
const ACTOR: &str = "aoi-evolver";

fn start_twin(suite: &Suite, problem_id: &str, seed: u64) -> Result<Arc<TwinEnv>, EvolveError> {
    if suite.problem(problem_id).is_none() {
        return Err(EvolveError::UnknownProblem {
            problem_id: problem_id.to_string(),
            suite: suite.name.clone(),
        });
    }
    TwinEnv::start(suite, problem_id, seed)
        .map(Arc::new)
        .map_err(|message| EvolveError::Twin {
            problem_id: problem_id.to_string(),
            seed,
            message,
        })
}

fn registry(env: &Arc<TwinEnv>) -> Result<ToolRegistry, EvolveError> {
    ToolRegistry::new(vec![env.clone() as Arc<dyn Toolset>])
        .map_err(|e| EvolveError::Registry(e.to_string()))
}

/// Runs `teacher` for one session on a fresh twin of `problem_id` at `seed` (writes pass
/// [`AutoGate`]) and evaluates its submission with the twin's oracle.
pub async fn run_teacher(
    suite: &Suite,
    problem_id: &str,
    seed: u64,
    teacher: &mut dyn Policy,
) -> Result<(Trajectory, Evaluation), EvolveError> {
    let env = start_twin(suite, problem_id, seed)?;
    let tools = registry(&env)?;
    let config = SessionConfig {
        actor: ACTOR.to_string(),
        ..SessionConfig::default()
    };
    let mut trajectory = run_session(
        format!("evolver-teacher-{problem_id}-{seed}"),
        teacher,
        &tools,
        &AutoGate,
        env.task(),
        &config,
    )
    .await;
    trajectory.problem_id = Some(problem_id.to_string());
    let evaluation = env.evaluate(trajectory.submission.as_ref());
    Ok((trajectory, evaluation))
}

/// Replays the plan's commands in order on a fresh twin of `problem_id` at `seed`, through the
/// Executor's tool path (reads run, writes pass [`AutoGate`]), then submits the plan's
/// submission and asks the twin's oracle. `attempted` is false when the twin cannot reproduce
/// the problem or the plan has no usable submission.
pub async fn verify_plan(
    suite: &Suite,
    problem_id: &str,
    seed: u64,
    plan: &RepairedPlan,
) -> Verification {
    let not_attempted = |detail: String| Verification {
        attempted: false,
        success: false,
        detail,
    };
    let submission = match &plan.submission {
        None => return not_attempted("the plan has no submission to replay".to_string()),
        Some(value) => match serde_json::from_value::<Submission>(value.clone()) {
            Ok(s) => s,
            Err(e) => {
                return not_attempted(format!("the plan's submission is not a submission: {e}"));
            }
        },
    };
    let env = match start_twin(suite, problem_id, seed) {
        Ok(env) => env,
        Err(e) => return not_attempted(e.to_string()),
    };
    let tools = match registry(&env) {
        Ok(tools) => tools,
        Err(e) => return not_attempted(e.to_string()),
    };
    let gated = tools.gated(
        &AutoGate,
        format!("evolver-verify-{problem_id}-{seed}"),
        ACTOR,
    );
    let mut failures: Vec<String> = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let call = step.tool_call();
        match gated.call(&call).await {
            Err(refused) => failures.push(format!(
                "step {} `{}` refused: {}",
                i + 1,
                step.command,
                refused.reason
            )),
            Ok(result) => match &result.output {
                None => failures.push(format!(
                    "step {} `{}` was not allowed by the gate",
                    i + 1,
                    step.command
                )),
                Some(out) if out.is_error => {
                    let first = out.text.lines().next().unwrap_or_default();
                    failures.push(format!("step {} `{}` failed: {first}", i + 1, step.command));
                }
                Some(_) => {}
            },
        }
    }
    let evaluation = env.evaluate(Some(&submission));
    let mut detail = format!(
        "replayed {} command(s) on the twin (seed {seed}), then {}: {}",
        plan.steps.len(),
        submission.to_call_string(),
        evaluation.detail
    );
    if !failures.is_empty() {
        detail.push_str(&format!(
            "; {} command(s) failed: {}",
            failures.len(),
            failures.join("; ")
        ));
    }
    Verification {
        attempted: true,
        success: evaluation.success,
        detail,
    }
}
