//! `aoi bench`: runs every selected problem of a suite K times with a policy on fresh twins,
//! evaluates each session, and reports avg@1, avg@K, best@K and their gap by task type. With
//! `--evolve` it then learns from the failed runs (see [`evolve`]) and runs the K runs again with
//! lessons.

mod evolve;
#[cfg(test)]
mod evolve_tests;
mod report;

use crate::policies::PolicyArgs;
use aoi_agent::{AutoGate, SessionConfig, ToolRegistry, run_session};
use aoi_core::{Policy, TaskSpec, TaskType, Trajectory};
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
    /// After the K runs, mine the failed ones, draft corrective signals with the built-in
    /// teacher on the twin, auto-approve the verified ones, and run the K runs again with their
    /// lessons; reports avg@K and best@K - avg@K before and after.
    #[arg(long)]
    pub evolve: bool,
    /// Keep every run's trajectory in the JSON, for the console's drill-down from a task to
    /// its runs (larger files; `POST /api/v1/benchmarks` takes up to 64 MiB).
    #[arg(long)]
    pub trajectories: bool,
    /// Record the report in a running control plane at this URL (e.g. http://127.0.0.1:8080),
    /// with an admin's token or API key in `AOI_TOKEN`; the console charts recorded runs.
    #[arg(long)]
    pub record: Option<String>,
    /// The recorded run's name (default: suite, policy, K and the time).
    #[arg(long)]
    pub name: Option<String>,
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
    /// Lessons the session's Observer was given (`--evolve`'s second round).
    #[serde(skip_serializing_if = "is_zero")]
    pub lessons: usize,
    /// The whole session, with `--trajectories`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trajectory: Option<Trajectory>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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

/// Builds a fresh policy for one session.
pub type PolicyFactory = Arc<dyn Fn() -> Result<Box<dyn Policy>> + Send + Sync>;

/// The lessons a session of a problem gets, given its task (none outside `--evolve`).
pub type LessonSource = Arc<dyn Fn(&str, &TaskSpec) -> Vec<String> + Send + Sync>;

/// One session's result with its trajectory, for the evolver.
pub struct SessionRun {
    pub result: RunResult,
    pub trajectory: Trajectory,
}

/// The sessions of one round: each task's runs, and the trajectories of the failed runs as
/// `(task index, run seed, trajectory)`.
pub struct Round {
    pub tasks: Vec<TaskResult>,
    pub failed: Vec<(usize, u64, Trajectory)>,
}

pub async fn run(args: BenchArgs) -> Result<()> {
    args.policy.validate()?;
    let policy_args = args.policy.clone();
    let factory: PolicyFactory = Arc::new(move || policy_args.build());
    run_with(&args, factory).await.map(|_| ())
}

/// `aoi bench` with the policy from `factory` (tests pass their own).
pub async fn run_with(args: &BenchArgs, factory: PolicyFactory) -> Result<report::Report> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let suite = Arc::new(Suite::resolve(&args.suite).map_err(|e| anyhow::anyhow!("{e}"))?);
    let problems = select(&suite, args.tasks.as_deref())?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
        .max(1);
    let config = SessionConfig {
        max_steps: args.max_steps,
        ..SessionConfig::default()
    };
    let started = Instant::now();
    let no_lessons: LessonSource = Arc::new(|_, _| Vec::new());
    let round = RoundSpec {
        suite: suite.clone(),
        problems: &problems,
        runs: args.runs,
        base_seed: args.seed,
        jobs,
        config: &config,
        factory: &factory,
        quiet: args.quiet,
        keep_trajectories: args.trajectories,
    };
    let before = round.run("sessions", &no_lessons, args.evolve).await?;
    let evolved = if args.evolve {
        Some(evolve::evolve(&round, &before).await?)
    } else {
        None
    };
    let wall = started.elapsed();
    let mut report = report::Report::new(&suite.name, &args.policy.policy, args.runs, args.seed, before.tasks, wall);
    report.evolve = evolved;
    println!("{}", report.table());
    if let Some(path) = &args.out {
        let json = serde_json::to_string_pretty(&report.json())?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        println!("results written to {}", path.display());
    }
    if let Some(url) = &args.record {
        let name = args.name.clone().unwrap_or_else(|| {
            format!(
                "{} {} k={} {}",
                suite.name,
                args.policy.policy,
                args.runs,
                chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
            )
        });
        let id = record(url, &name, report.json()).await?;
        println!("recorded as benchmark run {id} at {}", url.trim_end_matches('/'));
    }
    Ok(report)
}

/// What one round of sessions runs: every problem K times, run `r` at [`run_seed`].
pub struct RoundSpec<'a> {
    pub suite: Arc<Suite>,
    pub problems: &'a [Problem],
    pub runs: u32,
    pub base_seed: u64,
    pub jobs: usize,
    pub config: &'a SessionConfig,
    pub factory: &'a PolicyFactory,
    pub quiet: bool,
    /// Keep each run's trajectory in its result (`--trajectories`).
    pub keep_trajectories: bool,
}

/// Posts the report to `POST {url}/api/v1/benchmarks` with `AOI_TOKEN`; the recorded run's id.
async fn record(url: &str, name: &str, report: serde_json::Value) -> Result<String> {
    let token = std::env::var("AOI_TOKEN")
        .map_err(|_| anyhow::anyhow!("--record needs AOI_TOKEN: an admin's token or API key"))?;
    let endpoint = format!("{}/api/v1/benchmarks", url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(token)
        .json(&serde_json::json!({ "name": name, "report": report }))
        .send()
        .await
        .with_context(|| format!("recording the report at {endpoint}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("recording the report at {endpoint} answered {status}: {body}");
    }
    Ok(body["id"].as_str().unwrap_or_default().to_owned())
}

impl RoundSpec<'_> {
    /// Runs the round, `jobs` sessions at once; keeps failed trajectories when `keep_failed`.
    pub async fn run(&self, label: &str, lessons: &LessonSource, keep_failed: bool) -> Result<Round> {
        let bar = progress(self.quiet, self.problems.len() as u64 * u64::from(self.runs), label);
        let mut tasks: Vec<TaskResult> = self
            .problems
            .iter()
            .map(|p| TaskResult {
                id: p.id.clone(),
                task_type: p.task_type,
                app: p.app.clone(),
                fault: p.fault.clone(),
                runs: Vec::new(),
            })
            .collect();
        let mut slots: Vec<Vec<Option<RunResult>>> = self.problems.iter().map(|_| vec![None; self.runs as usize]).collect();
        let mut failed = Vec::new();
        let runs = self.runs;
        let work: Vec<(usize, u32)> = (0..self.problems.len()).flat_map(|i| (0..runs).map(move |r| (i, r))).collect();
        let mut pending = work.into_iter();
        let mut set = JoinSet::new();
        loop {
            while set.len() < self.jobs {
                let Some((i, r)) = pending.next() else { break };
                let suite = self.suite.clone();
                let problem = self.problems[i].clone();
                let factory = self.factory.clone();
                let seed = run_seed(self.base_seed, r);
                let config = self.config.clone();
                let lessons = lessons.clone();
                set.spawn(async move { (i, r, one_session(&suite, problem, &factory, seed, &config, &lessons).await) });
            }
            let Some(joined) = set.join_next().await else { break };
            let (i, r, run) = joined.context("a session task panicked")?;
            let mut run = run?;
            if self.keep_trajectories {
                run.result.trajectory = Some(run.trajectory.clone());
            }
            if keep_failed && !run.result.success {
                failed.push((i, run.result.seed, run.trajectory));
            }
            slots[i][r as usize] = Some(run.result);
            bar.inc(1);
        }
        bar.finish_and_clear();
        for (task, runs) in tasks.iter_mut().zip(slots) {
            task.runs = runs.into_iter().flatten().collect();
        }
        failed.sort_by_key(|(i, seed, _)| (*i, *seed));
        Ok(Round { tasks, failed })
    }
}

/// A progress bar for `total` steps (hidden when `quiet`).
pub fn progress(quiet: bool, total: u64, label: &str) -> ProgressBar {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(total) };
    bar.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} [{{elapsed_precise}}] {{bar:40}} {{pos}}/{{len}} {label} {{msg}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
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

/// Runs and evaluates one session on a fresh twin, with the lessons `lessons` gives its task.
pub async fn one_session(
    suite: &Suite,
    problem: Problem,
    factory: &PolicyFactory,
    seed: u64,
    config: &SessionConfig,
    lessons: &LessonSource,
) -> Result<SessionRun> {
    let started = Instant::now();
    let env = Arc::new(TwinEnv::from_problem(suite, problem.clone(), seed).map_err(|e| anyhow::anyhow!("{}: {e}", problem.id))?);
    let registry = ToolRegistry::new(vec![env.clone() as Arc<dyn Toolset>]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut policy = factory()?;
    let task = env.task();
    let config = SessionConfig {
        lessons: lessons(&problem.id, &task),
        ..config.clone()
    };
    let mut trajectory = run_session(
        format!("bench-{}-{seed}", problem.id),
        policy.as_mut(),
        &registry,
        &AutoGate,
        task,
        &config,
    )
    .await;
    trajectory.problem_id = Some(problem.id.clone());
    let verdict = env.evaluate(trajectory.submission.as_ref());
    let steps = trajectory.actions;
    let result = RunResult {
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
        lessons: config.lessons.len(),
        trajectory: None,
    };
    Ok(SessionRun { result, trajectory })
}
