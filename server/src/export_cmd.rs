//! `aoi export <grpo|sft|dpo>`: a tenant's training dataset, read from the configured database
//! (like `aoi admin`, no server needed), written as an export folder and audited with actor
//! `cli`.
//!
//! `aoi rollout`: GRPO rollouts on the twin with no database: for each chosen problem, a group
//! of `--group` sessions of the current policy (sampling at `--temperature`), every reply
//! recorded with its prompt ([`aoi_inference::recording::recorded`]), written as a GRPO export.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use aoi_agent::SessionConfig;
use aoi_evolver::datasets::{RunRecord, Skipped, grpo_rows, relevant_resources, run_reward};
use aoi_learning::{DatasetKind, DatasetRow, DatasetWriter, ExportMeta, GrpoRow, RewardWeights};
use aoi_platform::Platform;
use aoi_platform::datasets::{ExportFilter, export};
use aoi_twin::suite::{Problem, Suite};
use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use crate::bench::{LessonSource, PolicyFactory, one_session, run_seed};
use crate::policies::PolicyArgs;
use crate::serve::ConfigArgs;

/// Arguments of `aoi export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// `grpo`, `sft` or `dpo`.
    pub kind: String,
    /// The tenant's slug.
    #[arg(long)]
    pub tenant: String,
    /// A new or empty folder to write the export into.
    #[arg(long)]
    pub out: PathBuf,
    /// Only sessions finished (signals reviewed) at or after this RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only sessions finished (signals reviewed) before this RFC 3339 time.
    #[arg(long)]
    pub until: Option<String>,
    /// Runs per GRPO group (default 8).
    #[arg(long)]
    pub group_size: Option<u32>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// The kind named on the command line.
fn kind_of(word: &str) -> Result<DatasetKind> {
    match word {
        "grpo" => Ok(DatasetKind::Grpo),
        "sft" => Ok(DatasetKind::Sft),
        "dpo" => Ok(DatasetKind::Dpo),
        other => bail!("unknown dataset kind `{other}`: use grpo, sft or dpo"),
    }
}

fn time_of(flag: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .with_context(|| {
                    format!("--{flag} `{v}` is not an RFC 3339 time (2026-11-26T10:00:00Z)")
                })
        })
        .transpose()
}

/// A new or empty folder, created when missing.
fn empty_folder(dir: &Path) -> Result<()> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "--out {}: the folder is not empty; choose a new or empty folder",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Runs `aoi export`.
pub async fn run_export(args: ExportArgs) -> Result<()> {
    let kind = kind_of(&args.kind)?;
    let filter = ExportFilter {
        since: time_of("since", args.since.as_deref())?,
        until: time_of("until", args.until.as_deref())?,
        group_size: args.group_size,
    };
    empty_folder(&args.out)?;
    let config = args.config.load()?;
    let platform = Platform::open(config).await.map_err(|e| anyhow!("{e}"))?;
    let tenant = platform
        .store
        .tenant_by_slug(&args.tenant)
        .await?
        .map(|t| t.tenant_id())
        .ok_or_else(|| {
            anyhow!(
                "no tenant `{}`: list them with `aoi admin tenants list`",
                args.tenant
            )
        })?;
    let exported = export(&platform, tenant, &args.tenant, "cli", kind, filter)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    // The JSONL files first, the manifest last: a folder without a manifest does not read.
    let (manifest, data): (Vec<_>, Vec<_>) = exported
        .files
        .iter()
        .partition(|f| f.path == "manifest.json");
    for file in data.into_iter().chain(manifest) {
        let path = args.out.join(&file.path);
        std::fs::write(&path, &file.content)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let m = &exported.manifest;
    println!(
        "{} export of tenant {}: {} rows from {} sessions{} in {}",
        kind.as_str(),
        m.tenant,
        m.counts.rows,
        m.counts.sessions,
        m.counts
            .groups
            .map(|g| format!(" in {g} groups"))
            .unwrap_or_default(),
        args.out.display()
    );
    print_skipped(&exported.skipped);
    Ok(())
}

/// The counts of what was left out, then the first reasons.
fn print_skipped(skipped: &Skipped) {
    println!(
        "skipped: {} steps without a recorded exchange, {} runs, {} signals, {} invalid rows",
        skipped.steps_without_exchange, skipped.runs, skipped.signals, skipped.invalid_rows
    );
    for reason in skipped.reasons.iter().take(20) {
        println!("  skipped: {reason}");
    }
    if skipped.reasons.len() > 20 {
        println!("  ... and {} more", skipped.reasons.len() - 20);
    }
}

/// Arguments of `aoi rollout`.
#[derive(clap::Args, Debug)]
pub struct RolloutArgs {
    /// `aiopslab` (the shipped suite) or a suite directory.
    #[arg(long, default_value = "aiopslab")]
    pub suite: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Sessions per problem (the GRPO group, at least 2).
    #[arg(long, default_value_t = 8)]
    pub group: u32,
    /// These problems, comma-separated ids.
    #[arg(long, conflicts_with = "held_out")]
    pub problems: Option<String>,
    /// Every problem except these, comma-separated globs over problem ids (the held-out
    /// problems of `aoi train`).
    #[arg(long)]
    pub held_out: Option<String>,
    /// Base seed; session r of a problem uses its own seed derived from it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A new or empty folder to write the GRPO export into.
    #[arg(long)]
    pub out: PathBuf,
    /// The tenant slug written in the manifest.
    #[arg(long, default_value = "bench")]
    pub tenant: String,
    /// Environment actions a session may take.
    #[arg(long, default_value_t = 30)]
    pub max_steps: u32,
    /// Sessions run at once (default: one per core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// A TOML configuration whose `[learning.rewards]` weights the rewards (default weights
    /// without one).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// The problems `--problems` names (each must exist) or all but `--held-out`'s.
fn chosen_problems(suite: &Suite, args: &RolloutArgs) -> Result<Vec<Problem>> {
    if let Some(list) = &args.problems {
        let ids: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if ids.is_empty() {
            bail!("--problems names no problem: give comma-separated problem ids");
        }
        return ids
            .into_iter()
            .map(|id| {
                suite.problem(id).cloned().ok_or_else(|| {
                    anyhow!(
                        "--problems: `{id}` is not a problem of suite `{}`",
                        suite.name
                    )
                })
            })
            .collect();
    }
    let mut builder = globset::GlobSetBuilder::new();
    for g in args
        .held_out
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        builder.add(
            globset::Glob::new(g)
                .with_context(|| format!("--held-out: `{g}` is not a valid glob"))?,
        );
    }
    let held = builder.build().context("--held-out")?;
    let chosen: Vec<Problem> = suite
        .problems
        .iter()
        .filter(|p| !held.is_match(&p.id))
        .cloned()
        .collect();
    if chosen.is_empty() {
        bail!(
            "no problem of suite `{}` is left after --held-out",
            suite.name
        );
    }
    Ok(chosen)
}

/// Runs `aoi rollout`.
pub async fn run_rollout(args: RolloutArgs) -> Result<()> {
    if args.group < 2 {
        bail!("--group must be at least 2: a GRPO group compares runs of the same problem");
    }
    args.policy.validate()?;
    let config = match &args.config {
        Some(file) => Some(
            ConfigArgs {
                config: Some(file.clone()),
                data_dir: None,
            }
            .load()?,
        ),
        None => None,
    };
    let weights = config
        .as_ref()
        .map_or_else(RewardWeights::default, |c| c.learning.rewards);
    // With `[[inference.backends]]` in --config, the llm policy samples through the pool.
    let mut pool = None;
    if let Some(config) = config.as_ref().filter(|_| args.policy.policy == "llm") {
        pool = aoi_platform::context::inference_pool(&config.inference)
            .await
            .map_err(|e| anyhow!("--config [[inference.backends]]: {e}"))?
            .map(|pool| crate::policies::PoolChoice {
                pool,
                allow_external: config.inference.external_allowed,
            });
    }
    let suite = Arc::new(Suite::resolve(&args.suite).map_err(|e| anyhow!("{e}"))?);
    let problems = chosen_problems(&suite, &args)?;
    empty_folder(&args.out)?;
    let mut policy_args = args.policy.clone();
    // The llm policy records its own exchanges, with the backend's log-probabilities.
    policy_args.record_exchanges = true;
    policy_args.pool = pool;
    let factory: PolicyFactory =
        Arc::new(move || policy_args.build().map(aoi_inference::recording::recorded));
    let config = SessionConfig {
        max_steps: args.max_steps,
        ..SessionConfig::default()
    };
    let no_lessons: LessonSource = Arc::new(|_, _| Vec::new());
    let jobs = args
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1);
    let work: Vec<(usize, u32)> = (0..problems.len())
        .flat_map(|i| (0..args.group).map(move |r| (i, r)))
        .collect();
    let mut pending = work.into_iter();
    let mut set = JoinSet::new();
    let mut runs: Vec<Vec<Option<RunRecord>>> = problems
        .iter()
        .map(|_| vec![None; args.group as usize])
        .collect();
    loop {
        while set.len() < jobs {
            let Some((i, r)) = pending.next() else { break };
            let suite = suite.clone();
            let problem = problems[i].clone();
            let factory = factory.clone();
            let seed = run_seed(args.seed, r);
            let config = config.clone();
            let lessons = no_lessons.clone();
            set.spawn(async move {
                let run = one_session(&suite, problem, &factory, seed, &config, &lessons).await;
                (i, r, run)
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (i, r, run) = joined.context("a session task panicked")?;
        let run = run?;
        let problem = &problems[i];
        if let Some(slot) = runs.get_mut(i).and_then(|g| g.get_mut(r as usize)) {
            *slot = Some(RunRecord {
                problem_id: problem.id.clone(),
                session_id: run.trajectory.session_id.clone(),
                trajectory: run.trajectory,
                success: run.result.success,
                relevant: relevant_resources(problem),
            });
        }
    }
    let mut writer = DatasetWriter::<GrpoRow>::create(
        &args.out,
        ExportMeta::new(args.tenant.clone()).with_reward_weights(weights),
    )?;
    let mut skipped = Skipped::default();
    let mut rewards = Vec::new();
    let mut groups = BTreeSet::new();
    for (problem, group) in problems.iter().zip(runs) {
        let group: Vec<RunRecord> = group.into_iter().flatten().collect();
        rewards.extend(group.iter().map(|r| run_reward(r, &weights)));
        let (rows, left_out) = grpo_rows(&format!("{}#0", problem.id), &group, &weights);
        skipped.add(left_out);
        for row in &rows {
            if let Err(e) = row.check() {
                skipped.invalid_rows += 1;
                skipped.reasons.push(format!(
                    "session {} step {}: field `{}`: {}",
                    row.session_id, row.step, e.field, e.message
                ));
                continue;
            }
            groups.insert(row.group_id.clone());
            writer.write(row)?;
        }
    }
    let manifest = writer.finish()?;
    let mean = rewards.iter().sum::<f64>() / rewards.len().max(1) as f64;
    println!(
        "rollout of policy {} on {} problems x {}: {} rows in {} groups, mean reward {mean:.3}, written to {}",
        args.policy.policy,
        problems.len(),
        args.group,
        manifest.counts.rows,
        manifest.counts.groups.unwrap_or(groups.len() as u64),
        args.out.display()
    );
    print_skipped(&skipped);
    Ok(())
}
