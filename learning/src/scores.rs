//! Benchmark scores from repeated runs: avg@1, avg@k, best@k over tasks (the paper's metrics).
//! `aoi bench` reports them and the console charts recorded reports with the same arithmetic.

use serde::Serialize;

/// Success rates over tasks, each task run k times.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct SuccessRates {
    /// Tasks with at least one run (the others are left out).
    pub tasks: usize,
    /// Share of tasks whose first run succeeded.
    pub avg_at_1: f64,
    /// Mean over tasks of each task's share of successful runs.
    pub avg_at_k: f64,
    /// Share of tasks with at least one successful run.
    pub best_at_k: f64,
}

impl SuccessRates {
    /// The rates of `tasks`, each given as its runs' successes in run order.
    pub fn of<'a>(tasks: impl IntoIterator<Item = &'a [bool]>) -> SuccessRates {
        let (mut n, mut a1, mut ak, mut bk) = (0usize, 0.0, 0.0, 0.0);
        for runs in tasks {
            let Some(first) = runs.first() else { continue };
            n += 1;
            let ok = runs.iter().filter(|s| **s).count();
            a1 += if *first { 1.0 } else { 0.0 };
            ak += ok as f64 / runs.len() as f64;
            bk += if ok > 0 { 1.0 } else { 0.0 };
        }
        let d = n.max(1) as f64;
        SuccessRates {
            tasks: n,
            avg_at_1: a1 / d,
            avg_at_k: ak / d,
            best_at_k: bk / d,
        }
    }

    /// best@k minus avg@k: what more runs would add.
    pub fn gap(&self) -> f64 {
        self.best_at_k - self.avg_at_k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_their_definitions() {
        let a = [true, false, false, true];
        let b = [false, false, false, false];
        let c = [false, true, true, true];
        let r = SuccessRates::of([&a[..], &b[..], &c[..], &[][..]]);
        assert_eq!(r.tasks, 3, "a task without runs is left out");
        assert!((r.avg_at_1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((r.avg_at_k - (0.5 + 0.0 + 0.75) / 3.0).abs() < 1e-9);
        assert!((r.best_at_k - 2.0 / 3.0).abs() < 1e-9);
        assert!((r.gap() - (2.0 / 3.0 - 1.25 / 3.0)).abs() < 1e-9);
    }

    #[test]
    fn no_tasks_give_zero_not_nan() {
        let r = SuccessRates::of(std::iter::empty());
        assert_eq!(r, SuccessRates::default());
    }
}
