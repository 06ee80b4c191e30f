//! GRPO arithmetic: group-relative advantages, the clipped surrogate, the k3 KL estimator, and
//! their derivatives with respect to the sampled action's log-probability.
//!
//! Everything is per action sample and in `f64`, so a CPU policy (a softmax over candidate
//! actions with a linear scorer) can train with it directly: [`log_softmax`] gives the
//! log-probabilities, [`grad_log_softmax`] the gradient of `log pi(a)` with respect to the
//! candidates' scores, and [`softmax_objective`] chains the two with [`grpo_objective`].
//!
//! Conventions: the objective is *maximised* (a trainer minimising a loss uses its negation);
//! `ratio = exp(logp - logp_old)`; the KL term is `beta * k3(logp, logp_ref)` and is subtracted.

use serde::{Deserialize, Serialize};

/// Added to the group's standard deviation before dividing, so a group with a tiny spread
/// does not blow its advantages up.
pub const ADVANTAGE_EPS: f64 = 1e-6;

/// A group whose rewards spread less than this is a group of equal rewards.
pub const EQUAL_REWARD_TOLERANCE: f64 = 1e-9;

/// The GRPO hyper-parameters used per sample. Defaults are the paper's: clip 0.2, KL 0.1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpoConfig {
    /// The PPO clip range epsilon: the ratio is clipped to `[1 - eps, 1 + eps]`.
    pub clip_eps: f64,
    /// The KL coefficient beta.
    pub kl_beta: f64,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        GrpoConfig {
            clip_eps: 0.2,
            kl_beta: 0.1,
        }
    }
}

/// Group-relative advantages: `(r - mean) / (std + 1e-6)` with the population standard
/// deviation, one per reward, in order.
///
/// A group whose rewards are all equal (`max - min < 1e-9`) gets all zeros: every sample did
/// equally well, so the group carries no preference between them, and dividing the float noise
/// of `r - mean` by a near-zero deviation would turn rounding into large, arbitrary updates.
/// The same holds for a group of one. A group with a non-finite reward also gets zeros: there is
/// no usable signal in it, and a NaN must not reach the weights. An empty group gives an empty
/// vector.
pub fn group_advantages(rewards: &[f64]) -> Vec<f64> {
    if rewards.is_empty() {
        return Vec::new();
    }
    let zeros = vec![0.0; rewards.len()];
    if rewards.iter().any(|r| !r.is_finite()) {
        return zeros;
    }
    let max = rewards.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = rewards.iter().copied().fold(f64::INFINITY, f64::min);
    if max - min < EQUAL_REWARD_TOLERANCE {
        return zeros;
    }
    let n = rewards.len() as f64;
    let mean = rewards.iter().sum::<f64>() / n;
    let var = rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    rewards
        .iter()
        .map(|r| (r - mean) / (std + ADVANTAGE_EPS))
        .collect()
}

/// `clip(ratio, 1 - eps, 1 + eps)`.
pub fn clip_ratio(ratio: f64, eps: f64) -> f64 {
    ratio.clamp(1.0 - eps, 1.0 + eps)
}

/// The PPO clipped surrogate for one sample: `min(ratio * A, clip(ratio) * A)`.
pub fn clipped_surrogate(ratio: f64, advantage: f64, eps: f64) -> f64 {
    let unclipped = ratio * advantage;
    let clipped = clip_ratio(ratio, eps) * advantage;
    unclipped.min(clipped)
}

/// Whether the clipped branch is the active one (the gradient is zero there): a positive
/// advantage with `ratio > 1 + eps`, or a negative one with `ratio < 1 - eps`.
pub fn clip_active(ratio: f64, advantage: f64, eps: f64) -> bool {
    (advantage > 0.0 && ratio > 1.0 + eps) || (advantage < 0.0 && ratio < 1.0 - eps)
}

/// d/d(logp) of [`clipped_surrogate`], where `ratio = exp(logp - logp_old)` so that
/// `d ratio / d logp = ratio`: `ratio * A` where the unclipped branch is active, zero where the
/// clipped branch is (at the clip boundary the unclipped branch's value is used).
pub fn clipped_surrogate_grad(ratio: f64, advantage: f64, eps: f64) -> f64 {
    if clip_active(ratio, advantage, eps) {
        0.0
    } else {
        ratio * advantage
    }
}

/// The k3 estimator of KL(pi || pi_ref) for one sample:
/// `exp(logp_ref - logp) - (logp_ref - logp) - 1`. It is zero when the two agree and positive
/// otherwise.
pub fn kl_k3(logp: f64, logp_ref: f64) -> f64 {
    let d = logp_ref - logp;
    d.exp() - d - 1.0
}

/// d/d(logp) of [`kl_k3`]: `1 - exp(logp_ref - logp)`.
pub fn kl_k3_grad(logp: f64, logp_ref: f64) -> f64 {
    1.0 - (logp_ref - logp).exp()
}

/// One sample's GRPO term and its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GrpoTerm {
    /// `surrogate - beta * kl`, to maximise.
    pub objective: f64,
    /// d objective / d logp.
    pub grad_logp: f64,
    /// `exp(logp - logp_old)`.
    pub ratio: f64,
    /// The clipped surrogate.
    pub surrogate: f64,
    /// The k3 KL estimate against the reference policy.
    pub kl: f64,
    /// Whether the clipped branch was active (no surrogate gradient).
    pub clipped: bool,
}

/// The GRPO objective for one action sample: the clipped surrogate of
/// `ratio = exp(logp - logp_old)` with the group-relative `advantage`, minus `beta` times the
/// k3 KL against the reference policy, with its derivative with respect to `logp`.
pub fn grpo_objective(
    logp: f64,
    logp_old: f64,
    logp_ref: f64,
    advantage: f64,
    config: &GrpoConfig,
) -> GrpoTerm {
    let ratio = (logp - logp_old).exp();
    let surrogate = clipped_surrogate(ratio, advantage, config.clip_eps);
    let kl = kl_k3(logp, logp_ref);
    let grad = clipped_surrogate_grad(ratio, advantage, config.clip_eps)
        - config.kl_beta * kl_k3_grad(logp, logp_ref);
    GrpoTerm {
        objective: surrogate - config.kl_beta * kl,
        grad_logp: grad,
        ratio,
        surrogate,
        kl,
        clipped: clip_active(ratio, advantage, config.clip_eps),
    }
}

/// Numerically stable log-softmax of candidate scores. An empty slice gives an empty vector.
pub fn log_softmax(scores: &[f64]) -> Vec<f64> {
    if scores.is_empty() {
        return Vec::new();
    }
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = scores.iter().map(|s| (s - max).exp()).sum::<f64>().ln() + max;
    scores.iter().map(|s| s - log_sum).collect()
}

/// Softmax probabilities of candidate scores.
pub fn softmax(scores: &[f64]) -> Vec<f64> {
    log_softmax(scores).into_iter().map(f64::exp).collect()
}

/// The gradient of `log pi(chosen)` with respect to every candidate's score:
/// `onehot(chosen) - softmax(scores)`. With a linear scorer `s_i = w . x_i`, the gradient with
/// respect to `w` is `sum_i g_i * x_i`. `None` when `chosen` is out of range.
pub fn grad_log_softmax(scores: &[f64], chosen: usize) -> Option<Vec<f64>> {
    if chosen >= scores.len() {
        return None;
    }
    let mut grad: Vec<f64> = softmax(scores).into_iter().map(|p| -p).collect();
    if let Some(g) = grad.get_mut(chosen) {
        *g += 1.0;
    }
    Some(grad)
}

/// One sample's GRPO term for a softmax policy over candidate actions, with the gradient of the
/// objective with respect to each candidate's score (chain rule through [`grad_log_softmax`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxGrpo {
    /// The term, with `logp = log pi(chosen)` under `scores`.
    pub term: GrpoTerm,
    /// d objective / d score_i for every candidate.
    pub grad_scores: Vec<f64>,
}

/// [`grpo_objective`] for a softmax policy: `logp` is `log pi(chosen)` under the current
/// `scores`; `logp_old` and `logp_ref` are that action's log-probabilities under the sampling and
/// the reference policies. `None` when `chosen` is out of range.
pub fn softmax_objective(
    scores: &[f64],
    chosen: usize,
    logp_old: f64,
    logp_ref: f64,
    advantage: f64,
    config: &GrpoConfig,
) -> Option<SoftmaxGrpo> {
    let logp = *log_softmax(scores).get(chosen)?;
    let term = grpo_objective(logp, logp_old, logp_ref, advantage, config);
    let grad_scores = grad_log_softmax(scores, chosen)?
        .into_iter()
        .map(|g| g * term.grad_logp)
        .collect();
    Some(SoftmaxGrpo { term, grad_scores })
}
