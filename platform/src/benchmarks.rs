//! Benchmark runs: `aoi bench` reports recorded in a tenant (`aoi bench --record`, or
//! `POST /api/v1/benchmarks`), listed and read with their scores.
//!
//! The scores (avg@1, avg@k, best@k overall and by task type, and before / after `--evolve`)
//! are computed here from the report's per-run results with the same arithmetic as
//! `aoi bench` ([`aoi_learning::SuccessRates`]); the report's own summary is kept but never
//! shown as the score. Recording needs [`Permission::ManageModels`] (benchmarks are how a
//! model or policy earns promotion); reading needs [`Permission::ReadBenchmarks`].

use std::collections::BTreeMap;

use aoi_control::{ApiError, Authorized, Permission};
use aoi_core::TaskType;
use aoi_learning::SuccessRates;
use aoi_store::{BenchmarkRunSummary, NewBenchmarkRun};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Platform;
use crate::audit;
use crate::ports::store_error;
use crate::tenants::scope_tenant;

/// The body of `POST /api/v1/benchmarks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBenchmark {
    /// Default: suite, policy and k.
    #[serde(default)]
    pub name: Option<String>,
    /// The report as `aoi bench --out` writes it.
    pub report: Value,
}

/// Success rates of one round: overall and by task type (every type, empty ones at zero).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundScores {
    pub overall: SuccessRates,
    pub by_task_type: BTreeMap<&'static str, SuccessRates>,
}

/// What `--evolve` changed: the rounds before and after the lessons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvolveScores {
    pub before: RoundScores,
    /// Sessions with the lessons of their own problem.
    pub after: RoundScores,
    /// Sessions with other problems' lessons only, when the report has that round.
    pub after_other_problems: Option<RoundScores>,
}

/// A recorded run's scores, computed from its runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Runs per task.
    pub k: u32,
    pub round: RoundScores,
    pub evolve: Option<EvolveScores>,
}

/// A recorded run with its report and scores.
#[derive(Debug, Clone, Serialize)]
pub struct BenchmarkRunDetail {
    #[serde(flatten)]
    pub run: BenchmarkRunSummary,
    pub scores: Scores,
    pub report: Value,
}

/// The most tasks a report may hold.
const MAX_TASKS: usize = 10_000;

fn bad(field: impl Into<String>, problem: impl Into<String>) -> ApiError {
    ApiError::invalid_input(field, problem)
}

/// Checks one task list (`tasks`, `evolve.after_tasks`...): each task has an `id`, a known
/// `task_type` and `runs` with a boolean `success`.
fn check_tasks(field: &str, tasks: &Value) -> Result<usize, ApiError> {
    let list = tasks
        .as_array()
        .ok_or_else(|| bad(field, "must be a list of tasks"))?;
    if list.len() > MAX_TASKS {
        return Err(bad(field, format!("holds {} tasks; at most {MAX_TASKS}", list.len())));
    }
    for (i, task) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if task.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(bad(format!("{at}.id"), "must be the task's id"));
        }
        let kind = task.get("task_type").and_then(Value::as_str).unwrap_or_default();
        if !TaskType::ALL.iter().any(|t| t.as_str() == kind) {
            return Err(bad(
                format!("{at}.task_type"),
                format!("{kind:?} is not detection, localization, analysis or mitigation"),
            ));
        }
        let runs = task
            .get("runs")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(format!("{at}.runs"), "must be the list of the task's runs"))?;
        for (j, run) in runs.iter().enumerate() {
            if run.get("success").and_then(Value::as_bool).is_none() {
                return Err(bad(format!("{at}.runs[{j}].success"), "must be true or false"));
            }
        }
    }
    Ok(list.len())
}

/// What a valid report says of itself: suite, policy, k, tasks.
fn check_report(report: &Value) -> Result<(String, String, u32, usize), ApiError> {
    if !report.is_object() {
        return Err(bad("report", "must be the JSON object `aoi bench --out` writes"));
    }
    let text = |k: &str| {
        report
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty() && s.chars().count() <= 200)
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("report.{k}"), "must be a name of 1 to 200 characters"))
    };
    let suite = text("suite")?;
    let policy = text("policy")?;
    let k = report
        .get("runs")
        .and_then(Value::as_u64)
        .filter(|k| (1..=1000).contains(k))
        .ok_or_else(|| bad("report.runs", "must be the runs per task, 1 to 1000"))?;
    let tasks = check_tasks("report.tasks", report.get("tasks").unwrap_or(&Value::Null))?;
    if tasks == 0 {
        return Err(bad("report.tasks", "holds no task"));
    }
    if let Some(evolve) = report.get("evolve").filter(|e| !e.is_null()) {
        check_tasks("report.evolve.after_tasks", evolve.get("after_tasks").unwrap_or(&Value::Null))?;
        if let Some(other) = evolve.get("after_other_problems_tasks").filter(|o| !o.is_null()) {
            check_tasks("report.evolve.after_other_problems_tasks", other)?;
        }
    }
    Ok((suite, policy, u32::try_from(k).unwrap_or(1), tasks))
}

/// The scores of one (checked) task list.
pub fn round_scores(tasks: &Value) -> RoundScores {
    let runs: Vec<(String, Vec<bool>)> = tasks
        .as_array()
        .map(|list| {
            list.iter()
                .map(|t| {
                    let kind = t.get("task_type").and_then(Value::as_str).unwrap_or_default();
                    let successes = t
                        .get("runs")
                        .and_then(Value::as_array)
                        .map(|r| r.iter().map(|r| r["success"] == json!(true)).collect())
                        .unwrap_or_default();
                    (kind.to_owned(), successes)
                })
                .collect()
        })
        .unwrap_or_default();
    let rates = |kind: Option<&str>| {
        SuccessRates::of(
            runs.iter()
                .filter(|(k, _)| kind.is_none_or(|kind| k == kind))
                .map(|(_, s)| s.as_slice()),
        )
    };
    RoundScores {
        overall: rates(None),
        by_task_type: TaskType::ALL
            .iter()
            .map(|t| (t.as_str(), rates(Some(t.as_str()))))
            .collect(),
    }
}

/// A (checked) report's scores.
pub fn scores(report: &Value) -> Scores {
    let round = round_scores(&report["tasks"]);
    let evolve = report.get("evolve").filter(|e| !e.is_null()).map(|e| EvolveScores {
        before: round.clone(),
        after: round_scores(&e["after_tasks"]),
        after_other_problems: e
            .get("after_other_problems_tasks")
            .filter(|o| o.as_array().is_some_and(|a| !a.is_empty()))
            .map(round_scores),
    });
    Scores {
        k: report["runs"].as_u64().and_then(|k| u32::try_from(k).ok()).unwrap_or(1),
        round,
        evolve,
    }
}

fn summary_of(run: &aoi_store::BenchmarkRun) -> BenchmarkRunSummary {
    BenchmarkRunSummary {
        id: run.id,
        name: run.name.clone(),
        suite: run.suite.clone(),
        policy: run.policy.clone(),
        runs: run.runs,
        tasks: run.tasks,
        recorded_by: run.recorded_by.clone(),
        created_at: run.created_at,
    }
}

/// Records a report in the caller's tenant (`manage_models`); audited.
pub async fn record(
    platform: &Platform,
    proof: &Authorized,
    input: RecordBenchmark,
) -> Result<BenchmarkRunDetail, ApiError> {
    proof.require(Permission::ManageModels)?;
    let (suite, policy, k, tasks) = check_report(&input.report)?;
    let name = match input.name.map(|n| n.trim().to_owned()) {
        Some(n) if n.is_empty() || n.chars().count() > 200 => {
            return Err(bad("name", "use 1 to 200 characters"));
        }
        Some(n) => n,
        None => format!("{suite} {policy} k={k}"),
    };
    let tenant = scope_tenant(platform, proof).await?;
    let stored = platform
        .store
        .record_benchmark_run(
            tenant,
            NewBenchmarkRun {
                name,
                suite,
                policy,
                runs: i32::try_from(k).unwrap_or(i32::MAX),
                tasks: i32::try_from(tasks).unwrap_or(i32::MAX),
                report: input.report,
                recorded_by: audit::actor(proof.principal()),
            },
        )
        .await
        .map_err(store_error("benchmark run"))?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "benchmark.record",
        &format!("benchmark:{}", stored.id),
        json!({ "name": stored.name, "suite": stored.suite, "policy": stored.policy, "tasks": stored.tasks }),
    )
    .await?;
    Ok(BenchmarkRunDetail {
        run: summary_of(&stored),
        scores: scores(&stored.report),
        report: stored.report,
    })
}

/// The tenant's recorded runs, newest first (`read_benchmarks`).
pub async fn list(
    platform: &Platform,
    proof: &Authorized,
) -> Result<Vec<BenchmarkRunSummary>, ApiError> {
    proof.require(Permission::ReadBenchmarks)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .store
        .benchmark_runs(tenant)
        .await
        .map_err(store_error("benchmark runs"))
}

/// One recorded run with its report and scores (`read_benchmarks`).
pub async fn get(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
) -> Result<BenchmarkRunDetail, ApiError> {
    proof.require(Permission::ReadBenchmarks)?;
    let tenant = scope_tenant(platform, proof).await?;
    let run = platform
        .store
        .benchmark_run(tenant, id)
        .await
        .map_err(store_error("benchmark run"))?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("benchmark run {id}"),
        })?;
    Ok(BenchmarkRunDetail {
        run: summary_of(&run),
        scores: scores(&run.report),
        report: run.report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Value {
        json!({
            "suite": "aiopslab", "policy": "builtin", "runs": 2,
            "tasks": [
                {"id": "a", "task_type": "detection", "runs": [{"success": true}, {"success": false}]},
                {"id": "b", "task_type": "mitigation", "runs": [{"success": false}, {"success": false}]},
                {"id": "c", "task_type": "mitigation", "runs": [{"success": false}, {"success": true}]}
            ]
        })
    }

    #[test]
    fn scores_come_from_the_runs() {
        let s = scores(&report());
        assert_eq!(s.k, 2);
        assert_eq!(s.round.overall.tasks, 3);
        assert!((s.round.overall.avg_at_k - 1.0 / 3.0).abs() < 1e-9);
        assert!((s.round.overall.best_at_k - 2.0 / 3.0).abs() < 1e-9);
        let m = s.round.by_task_type["mitigation"];
        assert!((m.avg_at_k - 0.25).abs() < 1e-9);
        assert!((m.best_at_k - 0.5).abs() < 1e-9);
        assert_eq!(s.round.by_task_type["analysis"].tasks, 0);
        assert!(s.evolve.is_none());
    }

    #[test]
    fn a_bad_report_names_the_field() {
        let mut r = report();
        r["tasks"][1]["runs"][0]["success"] = json!("yes");
        let e = check_report(&r).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("report.tasks[1].runs[0].success"), "{e}");
        let mut r = report();
        r["tasks"][0]["task_type"] = json!("guessing");
        let e = check_report(&r).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("report.tasks[0].task_type"), "{e}");
        let e = check_report(&json!({"suite": "x", "policy": "y", "runs": 0, "tasks": []}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("report.runs"), "{e}");
    }
}
