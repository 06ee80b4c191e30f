//! The bench's table and JSON.

use super::TaskResult;
use super::evolve::{Evolution, LESSONS_K};
use aoi_core::TaskType;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

/// Success rates over a group of tasks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub tasks: usize,
    pub avg_at_1: f64,
    pub avg_at_k: f64,
    pub best_at_k: f64,
    pub gap: f64,
    pub mean_steps: f64,
    pub mean_time_ms: f64,
}

impl Rates {
    pub fn of<'a>(tasks: impl Iterator<Item = &'a TaskResult>) -> Rates {
        let (mut successes, mut steps, mut time, mut runs) = (Vec::new(), 0.0, 0.0, 0usize);
        for t in tasks {
            successes.push(t.runs.iter().map(|r| r.success).collect::<Vec<_>>());
            for r in &t.runs {
                steps += f64::from(r.steps);
                time += r.duration_ms;
                runs += 1;
            }
        }
        let rates = aoi_learning::SuccessRates::of(successes.iter().map(Vec::as_slice));
        let r = runs.max(1) as f64;
        Rates {
            tasks: rates.tasks,
            avg_at_1: rates.avg_at_1,
            avg_at_k: rates.avg_at_k,
            best_at_k: rates.best_at_k,
            gap: rates.gap(),
            mean_steps: steps / r,
            mean_time_ms: time / r,
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "tasks": self.tasks,
            "avg_at_1": round4(self.avg_at_1),
            "avg_at_k": round4(self.avg_at_k),
            "best_at_k": round4(self.best_at_k),
            "gap": round4(self.gap),
            "mean_steps": round4(self.mean_steps),
            "mean_time_ms": round4(self.mean_time_ms),
        })
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

pub struct Report {
    pub suite: String,
    pub policy: String,
    pub runs: u32,
    pub seed: u64,
    pub tasks: Vec<TaskResult>,
    pub wall: Duration,
    /// What `--evolve` learnt and the rounds it ran with lessons.
    pub evolve: Option<Evolution>,
}

impl Report {
    pub fn new(suite: &str, policy: &str, runs: u32, seed: u64, tasks: Vec<TaskResult>, wall: Duration) -> Report {
        Report {
            suite: suite.to_string(),
            policy: policy.to_string(),
            runs,
            seed,
            tasks,
            wall,
            evolve: None,
        }
    }

    fn by_type(&self, t: TaskType) -> Rates {
        Rates::of(self.tasks.iter().filter(|x| x.task_type == t))
    }

    fn overall(&self) -> Rates {
        Rates::of(self.tasks.iter())
    }

    /// Mean agent overhead per step over all sessions, in microseconds.
    fn overhead_us(&self) -> f64 {
        let all: Vec<f64> = self.tasks.iter().flat_map(|t| t.runs.iter().map(|r| r.overhead_us_per_step)).collect();
        all.iter().sum::<f64>() / all.len().max(1) as f64
    }

    pub fn table(&self) -> String {
        let k = self.runs;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "suite {}  policy {}  runs {}  seed {}  sessions {}  wall {:.2}s",
            self.suite,
            self.policy,
            k,
            self.seed,
            self.tasks.iter().map(|t| t.runs.len()).sum::<usize>(),
            self.wall.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "{:<14} {:>5} {:>7} {:>7} {:>8} {:>12} {:>10} {:>10}",
            "task type",
            "tasks",
            "avg@1",
            format!("avg@{k}"),
            format!("best@{k}"),
            format!("best-avg@{k}"),
            "steps",
            "time ms"
        );
        let mut row = |name: &str, r: Rates| {
            let _ = writeln!(
                out,
                "{:<14} {:>5} {:>7.3} {:>7.3} {:>8.3} {:>12.3} {:>10.2} {:>10.2}",
                name, r.tasks, r.avg_at_1, r.avg_at_k, r.best_at_k, r.gap, r.mean_steps, r.mean_time_ms
            );
        };
        for t in TaskType::ALL {
            let r = self.by_type(t);
            if r.tasks > 0 {
                row(t.as_str(), r);
            }
        }
        row("overall", self.overall());
        let _ = writeln!(out, "agent overhead per step (excluding twin and policy): {:.1} us", self.overhead_us());
        let failed: Vec<String> = self
            .tasks
            .iter()
            .filter(|t| t.runs.iter().any(|r| !r.success))
            .map(|t| format!("{} ({}/{})", t.id, t.runs.iter().filter(|r| r.success).count(), t.runs.len()))
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(out, "tasks with failed runs: {}", failed.join(", "));
        }
        if let Some(e) = &self.evolve {
            out.push_str(&self.evolve_table(e));
        }
        out
    }

    fn evolve_table(&self, e: &Evolution) -> String {
        let k = self.runs;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "evolve: {} signals drafted from failed runs, {} verified on the twin and auto-approved, {} lessons (one per problem), up to {LESSONS_K} per session",
            e.signals.len(),
            e.verified(),
            e.lessons
        );
        if !e.errors.is_empty() {
            let _ = writeln!(out, "evolve: {} failed runs gave no signal: {}", e.errors.len(), e.errors.join("; "));
        }
        let _ = writeln!(
            out,
            "{:<34} {:>5} {:>7} {:>8} {:>12} {:>10}",
            "round",
            "tasks",
            format!("avg@{k}"),
            format!("best@{k}"),
            format!("best-avg@{k}"),
            format!("avg@{k} +/-")
        );
        let before = self.overall();
        let rows = [
            ("before", before),
            ("after (lessons)", Rates::of(e.after.iter())),
            ("after (other problems' lessons)", Rates::of(e.after_other_problems.iter())),
        ];
        for (name, r) in rows {
            let _ = writeln!(
                out,
                "{:<34} {:>5} {:>7.3} {:>8.3} {:>12.3} {:>+10.3}",
                name,
                r.tasks,
                r.avg_at_k,
                r.best_at_k,
                r.gap,
                r.avg_at_k - before.avg_at_k
            );
        }
        out
    }

    fn evolve_json(&self, e: &Evolution) -> Value {
        let before = self.overall();
        let after = Rates::of(e.after.iter());
        let other = Rates::of(e.after_other_problems.iter());
        let round = |tasks: &[TaskResult]| {
            let mut by_type = serde_json::Map::new();
            for t in TaskType::ALL {
                by_type.insert(t.as_str().to_string(), Rates::of(tasks.iter().filter(|x| x.task_type == t)).json());
            }
            let mut v = Rates::of(tasks.iter()).json();
            if let Some(map) = v.as_object_mut() {
                map.insert("by_task_type".to_string(), Value::Object(by_type));
            }
            v
        };
        json!({
            "signals": e.signals.len(),
            "verified": e.verified(),
            "auto_approved": e.signals.iter().filter(|s| s.auto_approved).count(),
            "lessons": e.lessons,
            "lessons_per_session": LESSONS_K,
            "errors": e.errors,
            "before": round(&self.tasks),
            "after": round(&e.after),
            "after_other_problems": round(&e.after_other_problems),
            "avg_at_k_gain": round4(after.avg_at_k - before.avg_at_k),
            "avg_at_k_gain_other_problems": round4(other.avg_at_k - before.avg_at_k),
            "signal_list": e.signals,
            "after_tasks": e.after,
            "after_other_problems_tasks": e.after_other_problems,
        })
    }

    pub fn json(&self) -> Value {
        let mut by_type = serde_json::Map::new();
        for t in TaskType::ALL {
            by_type.insert(t.as_str().to_string(), self.by_type(t).json());
        }
        let mut out = json!({
            "suite": self.suite,
            "policy": self.policy,
            "runs": self.runs,
            "seed": self.seed,
            "wall_ms": self.wall.as_secs_f64() * 1000.0,
            "agent_overhead_us_per_step": round4(self.overhead_us()),
            "tasks": self.tasks,
            "summary": {
                "overall": self.overall().json(),
                "by_task_type": by_type,
            }
        });
        if let (Some(e), Some(map)) = (&self.evolve, out.as_object_mut()) {
            map.insert("evolve".to_string(), self.evolve_json(e));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::RunResult;

    fn run(success: bool) -> RunResult {
        RunResult {
            success,
            steps: 4,
            duration_ms: 2.0,
            input_tokens: 0,
            output_tokens: 0,
            writes: 0,
            seed: 1,
            outcome: String::new(),
            detail: String::new(),
            overhead_us_per_step: 1.0,
            tool_us: 0,
            policy_us: 0,
            lessons: 0,
            trajectory: None,
        }
    }

    fn task(id: &str, t: TaskType, runs: Vec<bool>) -> TaskResult {
        TaskResult {
            id: id.into(),
            task_type: t,
            app: "a".into(),
            fault: None,
            runs: runs.into_iter().map(run).collect(),
        }
    }

    #[test]
    fn rates_follow_the_definitions() {
        // task a: 2 of 4, first fails; task b: 0 of 4; task c: 4 of 4.
        let tasks = [
            task("a", TaskType::Detection, vec![false, true, true, false]),
            task("b", TaskType::Detection, vec![false; 4]),
            task("c", TaskType::Analysis, vec![true; 4]),
        ];
        let r = Rates::of(tasks.iter());
        assert_eq!(r.tasks, 3);
        assert!((r.avg_at_1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((r.avg_at_k - (0.5 + 0.0 + 1.0) / 3.0).abs() < 1e-9);
        assert!((r.best_at_k - 2.0 / 3.0).abs() < 1e-9);
        assert!((r.gap - (2.0 / 3.0 - 0.5)).abs() < 1e-9);
    }
}
