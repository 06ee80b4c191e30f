//! `aoi bench`: runs every selected problem of a suite K times with a policy on fresh twins,
//! evaluates each session, and reports avg@1, avg@K, best@K and their gap by task type.

mod report;

use crate::policies::PolicyArgs;
use aoi_agent::{AutoGate, SessionConfig, ToolRegistry, run_session};
use aoi_core::TaskType;
use aoi_plugin_sdk::Toolset;
use aoi_twin::env::TwinEnv;
use aoi_twin::suite::{Problem, Suite};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// `aiopslab` (the shipped suite) or a suite directory.
    #[arg(long, default_value = "aiopslab")]
    pub suite: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Runs per task (K).
    #[arg(long, default_value_t = 1)]
    pub runs: u32,
    /// Only tasks whose id matches this glob, e.g. `*mitigation*`.
    #[arg(long)]
    pub tasks: Option<String>,
    /// Base seed; run r of a task uses its own seed derived from it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the results as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Environment actions a session may take.
    #[arg(long, default_value_t = 30)]
    pub max_steps: u32,
    /// Sessions run at once (default: one per core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// No progress bar (for logs).
    #[arg(long)]
    pub quiet: bool,
}

/// One session's result, as the JSON reports it.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub success: bool,
    pub steps: u32,
    pub duration_ms: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub writes: u32,
    pub seed: u64,
    pub outcome: String,
    pub detail: String,
    /// Agent time per step outside the twin and the policy, in microseconds.
    pub overhead_us_per_step: f64,
    /// Time inside the twin's tools and inside the policy, in microseconds.
    pub tool_us: u64,
    pub policy_us: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskResult {
    pub id: String,
    pub task_type: TaskType,
    pub app: String,
    pub fault: Option<String>,
    pub runs: Vec<RunResult>,
}

/// The seed of run `r` of a task under base seed `base`.
pub fn run_seed(base: u64, r: u32) -> u64 {
    base.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(u64::from(r) * 7919 + 1)
}

pub async fn run(args: BenchArgs) -> Result<()> {
    args.policy.validate()?;
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let suite = Arc::new(Suite::resolve(&args.suite).map_err(|e| anyhow::anyhow!("{e}"))?);
    let problems = select(&suite, args.tasks.as_deref())?;
    let total = problems.len() as u64 * u64::from(args.runs);
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(total) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} sessions {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
        .max(1);
    let started = Instant::now();
    let mut results: Vec<TaskResult> = problems
        .iter()
        .map(|p| TaskResult {
            id: p.id.clone(),
            task_type: p.task_type,
            app: p.app.clone(),
            fault: p.fault.clone(),
            runs: Vec::new(),
        })
        .collect();
    let mut slots: Vec<Vec<Option<RunResult>>> = problems.iter().map(|_| vec![None; args.runs as usize]).collect();
    let work: Vec<(usize, u32)> = (0..problems.len()).flat_map(|i| (0..args.runs).map(move |r| (i, r))).collect();
    let mut pending = work.into_iter();
    let mut set = JoinSet::new();
    let config = SessionConfig {
        max_steps: args.max_steps,
        ..SessionConfig::default()
    };
    loop {
        while set.len() < jobs {
            let Some((i, r)) = pending.next() else { break };
            let suite = suite.clone();
            let problem = problems[i].clone();
            let policy_args = args.policy.clone();
            let seed = run_seed(args.seed, r);
            let config = config.clone();
            set.spawn(async move { (i, r, one_session(&suite, problem, &policy_args, seed, &config).await) });
        }
        let Some(joined) = set.join_next().await else { break };
        let (i, r, result) = joined.context("a session task panicked")?;
        slots[i][r as usize] = Some(result?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let wall = started.elapsed();
    for (task, runs) in results.iter_mut().zip(slots) {
        task.runs = runs.into_iter().flatten().collect();
    }
    let report = report::Report::new(&suite.name, &args.policy.policy, args.runs, args.seed, results, wall);
    println!("{}", report.table());
    if let Some(path) = &args.out {
        let json = serde_json::to_string_pretty(&report.json())?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        println!("results written to {}", path.display());
    }
    Ok(())
}

fn select(suite: &Suite, glob: Option<&str>) -> Result<Vec<Problem>> {
    let problems: Vec<Problem> = match glob {
        None => suite.problems.clone(),
        Some(g) => {
            let matcher = globset::Glob::new(g)
                .with_context(|| format!("--tasks: `{g}` is not a valid glob"))?
                .compile_matcher();
            suite.problems.iter().filter(|p| matcher.is_match(&p.id)).cloned().collect()
        }
    };
    if problems.is_empty() {
        bail!("no task of suite `{}` matches --tasks {}", suite.name, glob.unwrap_or("*"));
    }
    Ok(problems)
}

/// Runs and evaluates one session on a fresh twin.
pub async fn one_session(
    suite: &Suite,
    problem: Problem,
    policy_args: &PolicyArgs,
    seed: u64,
    config: &SessionConfig,
) -> Result<RunResult> {
    let started = Instant::now();
    let env = Arc::new(TwinEnv::from_problem(suite, problem.clone(), seed).map_err(|e| anyhow::anyhow!("{}: {e}", problem.id))?);
    let registry = ToolRegistry::new(vec![env.clone() as Arc<dyn Toolset>]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut policy = policy_args.build()?;
    let task = env.task();
    let mut trajectory = run_session(
        format!("bench-{}-{seed}", problem.id),
        policy.as_mut(),
        &registry,
        &AutoGate,
        task,
        config,
    )
    .await;
    trajectory.problem_id = Some(problem.id.clone());
    let verdict = env.evaluate(trajectory.submission.as_ref());
    let steps = trajectory.actions;
    Ok(RunResult {
        success: verdict.success,
        steps,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        input_tokens: trajectory.input_tokens,
        output_tokens: trajectory.output_tokens,
        writes: trajectory.writes,
        seed,
        outcome: format!("{:?}", trajectory.outcome),
        detail: verdict.detail,
        overhead_us_per_step: trajectory.overhead_us() as f64 / f64::from(trajectory.steps.len().max(1) as u32),
        tool_us: trajectory.tool_us,
        policy_us: trajectory.policy_us,
    })
}
