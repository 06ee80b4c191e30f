//! `aoi train --policy local`: trains the local policy's linear scorer with GRPO on the twin.
//!
//! For every training problem the current model runs `--group-size` sessions at the sampling
//! temperature on fresh twins; the evaluator's verdict is the reward (1 success, 0 failure);
//! group-relative advantages weight the gradient of the clipped GRPO objective (with a KL term
//! to the untrained reference model) with respect to the weights, summed over the decisions of
//! each session, averaged over the batch. Only this trainer touches the twin and the evaluator;
//! the policy sees tool output alone. Held-out problems (`--held-out`, other faults) are never
//! trained on: their avg@1 is measured before and after.

use anyhow::{Context, Result, bail};
use aoi_agent::{AutoGate, SessionConfig, ToolRegistry, run_session};
use aoi_inference::local::{Decision, LocalModel, LocalPolicy, TrainingMeta, scaled_scores};
use aoi_learning::grpo::{GrpoConfig, group_advantages, log_softmax, softmax_objective};
use aoi_plugin_sdk::Toolset;
use aoi_twin::env::TwinEnv;
use aoi_twin::suite::{Problem, Suite};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

#[derive(clap::Args, Clone, Debug)]
pub struct TrainArgs {
    /// The policy to train; only `local` is trainable on the CPU.
    #[arg(long, default_value = "local")]
    pub policy: String,
    /// `aiopslab` (the shipped suite) or a suite directory.
    #[arg(long, default_value = "aiopslab")]
    pub suite: String,
    /// Problems never trained on, comma-separated globs over problem ids (e.g. whole faults:
    /// `*scale_pod_zero*,*network_delay*`).
    #[arg(long)]
    pub held_out: String,
    /// Train only on the non-held-out problems matching this glob (default: all of them).
    #[arg(long)]
    pub tasks: Option<String>,
    /// Where to write the trained model (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the sampling, the shuffling and the twins.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Passes over the training problems.
    #[arg(long, default_value_t = 4)]
    pub epochs: u32,
    /// Sessions per problem per update (the GRPO group).
    #[arg(long, default_value_t = 6)]
    pub group_size: u32,
    /// Problems per update.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Sampling temperature of training and of the avg@1 measurements.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Step size of the gradient ascent.
    #[arg(long, default_value_t = 0.5)]
    pub learning_rate: f64,
    /// KL coefficient towards the untrained (uniform) reference.
    #[arg(long, default_value_t = 0.02)]
    pub kl_beta: f64,
    /// Gradient steps per batch of rollouts (the clipped ratio keeps them close).
    #[arg(long, default_value_t = 2)]
    pub inner_steps: u32,
    /// Sampled sessions per problem in each avg@1 measurement.
    #[arg(long, default_value_t = 4)]
    pub eval_runs: u32,
    /// Environment actions a session may take.
    #[arg(long, default_value_t = 30)]
    pub max_steps: u32,
    /// Sessions run at once (default: one per core).
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// One sampled session: its decisions and its reward.
#[derive(Debug, Clone)]
pub struct Rollout {
    pub decisions: Vec<Decision>,
    pub reward: f64,
}

fn split(
    suite: &Suite,
    held_out: &str,
    tasks: Option<&str>,
) -> Result<(Vec<Problem>, Vec<Problem>)> {
    let mut builder = globset::GlobSetBuilder::new();
    let mut n = 0;
    for g in held_out.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        builder.add(
            globset::Glob::new(g)
                .with_context(|| format!("--held-out: `{g}` is not a valid glob"))?,
        );
        n += 1;
    }
    if n == 0 {
        bail!("--held-out names no problem: give comma-separated globs over problem ids");
    }
    let held = builder.build().context("--held-out")?;
    let only = match tasks {
        Some(g) => Some(
            globset::Glob::new(g)
                .with_context(|| format!("--tasks: `{g}` is not a valid glob"))?
                .compile_matcher(),
        ),
        None => None,
    };
    let (held_out, train): (Vec<Problem>, Vec<Problem>) = suite
        .problems
        .iter()
        .cloned()
        .partition(|p| held.is_match(&p.id));
    let train: Vec<Problem> = train
        .into_iter()
        .filter(|p| only.as_ref().is_none_or(|m| m.is_match(&p.id)))
        .collect();
    if held_out.is_empty() {
        bail!(
            "--held-out {held_out:?} matches no problem of suite `{}`",
            suite.name
        );
    }
    if train.is_empty() {
        bail!(
            "no training problem left in suite `{}` after --held-out and --tasks",
            suite.name
        );
    }
    // A fault seen in training is not held out: refuse a split that leaks one.
    let train_faults: std::collections::BTreeSet<&str> =
        train.iter().filter_map(|p| p.fault.as_deref()).collect();
    if let Some(p) = held_out
        .iter()
        .find(|p| p.fault.as_deref().is_some_and(|f| train_faults.contains(f)))
    {
        bail!(
            "held-out problem `{}` has fault `{}`, which training problems also have: hold out whole faults",
            p.id,
            p.fault.as_deref().unwrap_or("")
        );
    }
    Ok((train, held_out))
}

fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs one session of the local policy on a fresh twin; the reward is the evaluator's verdict.
async fn rollout(
    suite: Arc<Suite>,
    problem: Problem,
    model: Arc<LocalModel>,
    temperature: f64,
    seed: u64,
    max_steps: u32,
) -> Result<Rollout> {
    let env = Arc::new(
        TwinEnv::from_problem(&suite, problem.clone(), seed)
            .map_err(|e| anyhow::anyhow!("{}: {e}", problem.id))?,
    );
    let registry = ToolRegistry::new(vec![env.clone() as Arc<dyn Toolset>])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut policy = LocalPolicy::new(model, temperature, mix(seed, 0x10ca1));
    let config = SessionConfig {
        max_steps,
        ..SessionConfig::default()
    };
    let trajectory = run_session(
        format!("train-{}-{seed}", problem.id),
        &mut policy,
        &registry,
        &AutoGate,
        env.task(),
        &config,
    )
    .await;
    let verdict = env.evaluate(trajectory.submission.as_ref());
    Ok(Rollout {
        decisions: policy.take_decisions(),
        reward: if verdict.success { 1.0 } else { 0.0 },
    })
}

/// Runs `runs` sessions of each problem (in parallel); returns them grouped by problem.
async fn rollouts(
    suite: &Arc<Suite>,
    problems: &[Problem],
    model: &Arc<LocalModel>,
    temperature: f64,
    runs: u32,
    seed: u64,
    args: &TrainArgs,
) -> Result<Vec<Vec<Rollout>>> {
    let jobs = args
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1);
    let mut slots: Vec<Vec<Option<Rollout>>> =
        problems.iter().map(|_| vec![None; runs as usize]).collect();
    let mut work = (0..problems.len()).flat_map(|i| (0..runs).map(move |r| (i, r)));
    let mut set = JoinSet::new();
    loop {
        while set.len() < jobs {
            let Some((i, r)) = work.next() else { break };
            let s = mix(mix(seed, i as u64 + 1), u64::from(r) + 1);
            let fut = rollout(
                suite.clone(),
                problems[i].clone(),
                model.clone(),
                temperature,
                s,
                args.max_steps,
            );
            set.spawn(async move { (i, r, fut.await) });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (i, r, result) = joined.context("a training session panicked")?;
        slots[i][r as usize] = Some(result?);
    }
    Ok(slots
        .into_iter()
        .map(|g| g.into_iter().flatten().collect())
        .collect())
}

/// avg@1: the mean over problems of the mean success of `runs` sampled sessions.
async fn avg_at_1(
    suite: &Arc<Suite>,
    problems: &[Problem],
    model: &Arc<LocalModel>,
    temperature: f64,
    seed: u64,
    args: &TrainArgs,
) -> Result<f64> {
    let runs = if temperature > 0.0 {
        args.eval_runs.max(1)
    } else {
        1
    };
    let groups = rollouts(suite, problems, model, temperature, runs, seed, args).await?;
    Ok(mean(
        groups.iter().map(|g| mean(g.iter().map(|r| r.reward))),
    ))
}

/// Fisher-Yates with the `mix` hash as the random source (deterministic for a seed).
fn shuffle(items: &mut [usize], seed: u64) {
    for i in (1..items.len()).rev() {
        let j = (mix(seed, i as u64) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// The gradient of the batch's GRPO objective with respect to the weights, and the objective.
///
/// Every decision of a session shares the session's group-relative advantage; the per-decision
/// gradient with respect to the scores (from [`softmax_objective`]) is chained through
/// `score_i = (w . x_i + bonus_i) / T`, so feature `f` of candidate `i` gets `g_i / T`. Sums over
/// the decisions of a session, averages over the sessions of the batch.
pub fn batch_gradient(
    model: &LocalModel,
    reference: &LocalModel,
    groups: &[Vec<Rollout>],
    temperature: f64,
    config: &GrpoConfig,
) -> (BTreeMap<String, f64>, f64) {
    let t = if temperature > 0.0 { temperature } else { 1.0 };
    let mut grad: BTreeMap<String, f64> = BTreeMap::new();
    let mut objective = 0.0;
    let mut sessions = 0usize;
    for group in groups {
        let rewards: Vec<f64> = group.iter().map(|r| r.reward).collect();
        let advantages = group_advantages(&rewards);
        for (rollout, advantage) in group.iter().zip(advantages) {
            sessions += 1;
            if advantage == 0.0 {
                continue;
            }
            for d in &rollout.decisions {
                let scores = scaled_scores(model, &d.features, &d.bonus, temperature);
                let reference_scores = scaled_scores(reference, &d.features, &d.bonus, temperature);
                let logp_ref = log_softmax(&reference_scores)
                    .get(d.chosen)
                    .copied()
                    .unwrap_or(0.0);
                let Some(step) =
                    softmax_objective(&scores, d.chosen, d.logp, logp_ref, advantage, config)
                else {
                    continue;
                };
                objective += step.term.objective;
                for (features, g) in d.features.iter().zip(&step.grad_scores) {
                    if *g == 0.0 {
                        continue;
                    }
                    for f in features {
                        *grad.entry(f.clone()).or_insert(0.0) += g / t;
                    }
                }
            }
        }
    }
    let n = sessions.max(1) as f64;
    for g in grad.values_mut() {
        *g /= n;
    }
    (grad, objective / n)
}

/// One ascent step: `w += lr * grad` (weights that end at zero are dropped).
pub fn apply(model: &mut LocalModel, grad: &BTreeMap<String, f64>, learning_rate: f64) {
    for (f, g) in grad {
        let w = model.weights.entry(f.clone()).or_insert(0.0);
        *w += learning_rate * g;
    }
    model.weights.retain(|_, w| w.is_finite() && *w != 0.0);
}

/// The command: trains, prints held-out avg@1 before and after, writes the model.
pub async fn run(args: TrainArgs) -> Result<()> {
    if args.policy != "local" {
        bail!(
            "`aoi train` trains `--policy local` only (got `{}`)",
            args.policy
        );
    }
    if args.group_size < 2 {
        bail!("--group-size must be at least 2: GRPO compares sessions within a group");
    }
    if args.temperature.is_nan() || args.temperature <= 0.0 {
        bail!("--temperature must be above 0: training samples");
    }
    let suite = Arc::new(Suite::resolve(&args.suite).map_err(|e| anyhow::anyhow!("{e}"))?);
    let (train, held) = split(&suite, &args.held_out, args.tasks.as_deref())?;
    let started = Instant::now();
    println!(
        "training the local policy on {} problems of `{}`; {} held-out problems ({} faults)",
        train.len(),
        suite.name,
        held.len(),
        held.iter()
            .filter_map(|p| p.fault.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    let reference = LocalModel::zeros();
    let mut model = LocalModel::zeros();
    let eval_seed = mix(args.seed, 0xe7a1);
    let t = args.temperature;
    let snapshot = Arc::new(model.clone());
    let held_out_before = avg_at_1(&suite, &held, &snapshot, t, eval_seed, &args).await?;
    let train_before = avg_at_1(&suite, &train, &snapshot, t, eval_seed, &args).await?;
    println!(
        "before: held-out avg@1 {held_out_before:.3}  train avg@1 {train_before:.3}  (untrained: uniform sampling, T={t})"
    );
    let config = GrpoConfig {
        kl_beta: args.kl_beta,
        ..GrpoConfig::default()
    };
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut update = 0u64;
    for epoch in 0..args.epochs {
        shuffle(&mut order, mix(args.seed, 0x5ef1e + u64::from(epoch)));
        let mut rewards = Vec::new();
        for chunk in order.chunks(args.batch.max(1)) {
            let problems: Vec<Problem> = chunk.iter().map(|&i| train[i].clone()).collect();
            update += 1;
            let snapshot = Arc::new(model.clone());
            let groups = rollouts(
                &suite,
                &problems,
                &snapshot,
                t,
                args.group_size,
                mix(args.seed, update),
                &args,
            )
            .await?;
            rewards.extend(groups.iter().flatten().map(|r| r.reward));
            for _ in 0..args.inner_steps.max(1) {
                let (grad, _) = batch_gradient(&model, &reference, &groups, t, &config);
                apply(&mut model, &grad, args.learning_rate);
            }
        }
        println!(
            "epoch {}: train sampled reward {:.3} over {} sessions, {} weights, {:.0}s",
            epoch + 1,
            mean(rewards.iter().copied()),
            rewards.len(),
            model.weights.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let trained = Arc::new(model.clone());
    let held_out_after = avg_at_1(&suite, &held, &trained, t, eval_seed, &args).await?;
    let train_after = avg_at_1(&suite, &train, &trained, t, eval_seed, &args).await?;
    let held_out_after_greedy = avg_at_1(&suite, &held, &trained, 0.0, eval_seed, &args).await?;
    println!(
        "after:  held-out avg@1 {held_out_after:.3}  train avg@1 {train_after:.3}  (T={t}); held-out greedy (T=0) {held_out_after_greedy:.3}"
    );
    model.training = TrainingMeta {
        suite: suite.name.clone(),
        held_out: args
            .held_out
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        seed: args.seed,
        epochs: args.epochs,
        group_size: args.group_size,
        temperature: t,
        learning_rate: args.learning_rate,
        kl_beta: args.kl_beta,
        held_out_before: Some(held_out_before),
        held_out_after: Some(held_out_after),
    };
    model.save(&args.out).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "model written to {} ({:.0}s)",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(chosen: usize, logp: f64) -> Decision {
        Decision {
            features: vec![
                vec!["probe".into(), "probe:kind=logs".into()],
                vec!["submit".into()],
                vec!["probe".into()],
            ],
            bonus: vec![0.0; 3],
            chosen,
            logp,
        }
    }

    #[test]
    fn the_gradient_raises_the_rewarded_choice() {
        let zeros = LocalModel::zeros();
        let uniform = (1.0f64 / 3.0).ln();
        // Two sessions of one group: the one that chose candidate 0 succeeded.
        let groups = vec![vec![
            Rollout {
                decisions: vec![decision(0, uniform)],
                reward: 1.0,
            },
            Rollout {
                decisions: vec![decision(1, uniform)],
                reward: 0.0,
            },
        ]];
        let (grad, _) = batch_gradient(&zeros, &zeros, &groups, 1.0, &GrpoConfig::default());
        assert!(grad["probe:kind=logs"] > 0.0, "{grad:?}");
        assert!(grad["submit"] < 0.0, "{grad:?}");
        let mut trained = zeros.clone();
        apply(&mut trained, &grad, 0.5);
        let logp = |m: &LocalModel, i: usize| {
            log_softmax(&scaled_scores(
                m,
                &decision(0, 0.0).features,
                &[0.0; 3],
                1.0,
            ))[i]
        };
        assert!(logp(&trained, 0) > logp(&zeros, 0));
        assert!(logp(&trained, 1) < logp(&zeros, 1));
        // A group of equal rewards carries no preference.
        let flat = vec![vec![
            Rollout {
                decisions: vec![decision(0, uniform)],
                reward: 1.0,
            },
            Rollout {
                decisions: vec![decision(1, uniform)],
                reward: 1.0,
            },
        ]];
        let (grad, _) = batch_gradient(&zeros, &zeros, &flat, 1.0, &GrpoConfig::default());
        assert!(grad.is_empty(), "{grad:?}");
    }

    #[test]
    fn held_out_faults_must_not_leak_into_training() {
        let suite = Suite::resolve("aiopslab").unwrap();
        let err = split(&suite, "k8s_target_port-misconfig-detection-1", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("hold out whole faults"), "{err}");
        let (train, held) = split(&suite, "*scale_pod_zero*", None).unwrap();
        assert!(!held.is_empty() && held.iter().all(|p| p.id.contains("scale_pod_zero")));
        assert!(train.iter().all(|p| !p.id.contains("scale_pod_zero")));
        assert!(split(&suite, "nothing-matches-*", None).is_err());
    }
}
