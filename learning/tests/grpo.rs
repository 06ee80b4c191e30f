//! GRPO arithmetic: advantages (equal-reward groups included), clipping on both sides for both
//! signs of the advantage, the k3 KL, and every derivative against finite differences.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_learning::grpo::*;

const H: f64 = 1e-6;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn equal_reward_groups_get_zero_advantages() {
    assert_eq!(group_advantages(&[0.5, 0.5, 0.5, 0.5]), vec![0.0; 4]);
    assert_eq!(group_advantages(&[1.0]), vec![0.0]);
    // Spread below the tolerance is float noise, not a preference.
    assert_eq!(group_advantages(&[0.3, 0.3 + 1e-12, 0.3]), vec![0.0; 3]);
    assert!(group_advantages(&[]).is_empty());
}

#[test]
fn non_finite_rewards_give_no_signal() {
    assert_eq!(group_advantages(&[1.0, f64::NAN, 0.0]), vec![0.0; 3]);
    assert_eq!(group_advantages(&[1.0, f64::INFINITY]), vec![0.0; 2]);
}

#[test]
fn mixed_groups_are_normalised_by_the_population_std() {
    let a = group_advantages(&[1.0, 0.0, 0.0, 0.0]);
    // mean 0.25, population std sqrt(0.1875)
    let std = 0.1875_f64.sqrt();
    assert!(close(a[0], 0.75 / (std + ADVANTAGE_EPS), 1e-12), "{a:?}");
    assert!(close(a[1], -0.25 / (std + ADVANTAGE_EPS), 1e-12), "{a:?}");
    assert!(a.iter().sum::<f64>().abs() < 1e-9, "{a:?}");

    let rewards = [0.9, 0.1, 0.4, 1.3, -0.2];
    let a = group_advantages(&rewards);
    assert!(
        a.iter().sum::<f64>().abs() < 1e-9,
        "advantages sum to ~0: {a:?}"
    );
    let var = a.iter().map(|x| x * x).sum::<f64>() / a.len() as f64;
    assert!(close(var, 1.0, 1e-5), "unit population variance, got {var}");
    // Order is kept: the best reward gets the largest advantage.
    let best = a.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(a[3], best);
}

#[test]
fn clipping_for_positive_advantages() {
    let eps = 0.2;
    // Above 1 + eps: the clipped branch is the min, no gradient.
    assert!(close(clipped_surrogate(1.5, 2.0, eps), 1.2 * 2.0, 1e-12));
    assert!(clip_active(1.5, 2.0, eps));
    assert_eq!(clipped_surrogate_grad(1.5, 2.0, eps), 0.0);
    // Below 1 - eps: the unclipped branch is the min, gradient flows.
    assert!(close(clipped_surrogate(0.5, 2.0, eps), 1.0, 1e-12));
    assert!(!clip_active(0.5, 2.0, eps));
    assert!(close(clipped_surrogate_grad(0.5, 2.0, eps), 1.0, 1e-12));
    // Inside the range: plain ratio * A.
    assert!(close(clipped_surrogate(1.1, 2.0, eps), 2.2, 1e-12));
}

#[test]
fn clipping_for_negative_advantages() {
    let eps = 0.2;
    // Below 1 - eps: the clipped branch is the min, no gradient.
    assert!(close(clipped_surrogate(0.5, -1.0, eps), -0.8, 1e-12));
    assert!(clip_active(0.5, -1.0, eps));
    assert_eq!(clipped_surrogate_grad(0.5, -1.0, eps), 0.0);
    // Above 1 + eps: the unclipped branch is the min, gradient flows (pushes the ratio down).
    assert!(close(clipped_surrogate(1.5, -1.0, eps), -1.5, 1e-12));
    assert!(!clip_active(1.5, -1.0, eps));
    assert!(close(clipped_surrogate_grad(1.5, -1.0, eps), -1.5, 1e-12));
}

#[test]
fn kl_is_zero_at_equality_and_positive_otherwise() {
    for lp in [-3.0, -0.7, 0.0] {
        assert_eq!(kl_k3(lp, lp), 0.0);
        assert_eq!(kl_k3_grad(lp, lp), 0.0);
    }
    for (lp, lr) in [(-1.0, -2.0), (-2.0, -1.0), (-0.1, -5.0), (-4.0, -0.01)] {
        assert!(kl_k3(lp, lr) > 0.0, "kl({lp}, {lr}) = {}", kl_k3(lp, lr));
    }
}

#[test]
fn derivatives_match_finite_differences() {
    let eps = 0.2;
    for &(logp, old, adv) in &[
        (-1.0, -1.1, 1.5),
        (-1.0, -0.9, -0.7),
        (-2.0, -1.5, 0.8),
        (-0.5, -1.2, -1.0),
    ] {
        let s = |lp: f64| clipped_surrogate((lp - old).exp(), adv, eps);
        let numeric = (s(logp + H) - s(logp - H)) / (2.0 * H);
        let ratio = (logp - old).exp();
        let analytic = clipped_surrogate_grad(ratio, adv, eps);
        assert!(
            close(numeric, analytic, 1e-5),
            "surrogate at {logp},{old},{adv}: {numeric} vs {analytic}"
        );
    }
    for &(logp, lr) in &[(-1.0, -2.0), (-3.0, -0.5), (-0.2, -0.2)] {
        let numeric = (kl_k3(logp + H, lr) - kl_k3(logp - H, lr)) / (2.0 * H);
        assert!(
            close(numeric, kl_k3_grad(logp, lr), 1e-5),
            "kl at {logp},{lr}"
        );
    }
    let config = GrpoConfig::default();
    for &(logp, old, lr, adv) in &[
        (-1.0, -1.05, -1.3, 1.2),
        (-0.4, -0.9, -0.2, -0.6),
        (-2.0, -1.0, -2.5, 0.9),
    ] {
        let f = |lp: f64| grpo_objective(lp, old, lr, adv, &config).objective;
        let numeric = (f(logp + H) - f(logp - H)) / (2.0 * H);
        let term = grpo_objective(logp, old, lr, adv, &config);
        assert!(
            close(numeric, term.grad_logp, 1e-5),
            "objective: {numeric} vs {}",
            term.grad_logp
        );
    }
}

#[test]
fn objective_combines_surrogate_and_kl_with_beta() {
    let config = GrpoConfig {
        clip_eps: 0.2,
        kl_beta: 0.1,
    };
    let term = grpo_objective(-1.0, -1.0, -1.5, 2.0, &config);
    assert!(close(term.ratio, 1.0, 1e-12));
    assert!(close(term.surrogate, 2.0, 1e-12));
    assert!(close(term.objective, 2.0 - 0.1 * kl_k3(-1.0, -1.5), 1e-12));
    assert!(!term.clipped);
    // Clipped above with a positive advantage: only the KL term has a gradient.
    let term = grpo_objective(-0.5, -1.0, -0.5, 1.0, &config);
    assert!(term.clipped);
    assert!(
        close(term.grad_logp, 0.0, 1e-12),
        "kl grad is 0 at logp == ref: {}",
        term.grad_logp
    );
}

#[test]
fn softmax_helpers_are_stable_and_their_gradients_check() {
    let probs = softmax(&[1000.0, 1001.0, 999.0]);
    assert!(probs.iter().all(|p| p.is_finite()));
    assert!(close(probs.iter().sum::<f64>(), 1.0, 1e-12));
    assert!(grad_log_softmax(&[1.0, 2.0], 2).is_none());

    let scores = [0.3, -1.2, 2.0, 0.7];
    let chosen = 1;
    let g = grad_log_softmax(&scores, chosen).unwrap();
    assert!(
        g.iter().sum::<f64>().abs() < 1e-12,
        "onehot - softmax sums to 0"
    );
    for i in 0..scores.len() {
        let mut up = scores;
        let mut down = scores;
        up[i] += H;
        down[i] -= H;
        let numeric = (log_softmax(&up)[chosen] - log_softmax(&down)[chosen]) / (2.0 * H);
        assert!(close(numeric, g[i], 1e-5), "d log pi / d s{i}");
    }

    let config = GrpoConfig::default();
    let (old, reference, adv) = (-1.9, -1.7, 0.8);
    let out = softmax_objective(&scores, chosen, old, reference, adv, &config).unwrap();
    for i in 0..scores.len() {
        let f = |s: &[f64]| {
            softmax_objective(s, chosen, old, reference, adv, &config)
                .unwrap()
                .term
                .objective
        };
        let mut up = scores;
        let mut down = scores;
        up[i] += H;
        down[i] -= H;
        let numeric = (f(&up) - f(&down)) / (2.0 * H);
        assert!(
            close(numeric, out.grad_scores[i], 1e-5),
            "d objective / d s{i}: {numeric} vs {}",
            out.grad_scores[i]
        );
    }
}

#[test]
fn defaults_are_the_papers() {
    let c = GrpoConfig::default();
    assert_eq!((c.clip_eps, c.kl_beta), (0.2, 0.1));
}
