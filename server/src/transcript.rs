//! `aoi run`: one session on a fresh twin, printed role by role.

use crate::policies::PolicyArgs;
use aoi_agent::{AutoGate, SessionConfig, ToolRegistry, run_session};
use aoi_core::{NextAction, Role, Trajectory};
use aoi_plugin_sdk::Toolset;
use aoi_twin::env::TwinEnv;
use aoi_twin::suite::Suite;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

pub async fn run(suite: String, problem: String, policy: PolicyArgs, seed: u64, out: Option<PathBuf>) -> Result<()> {
    policy.validate()?;
    let suite = Suite::resolve(&suite).map_err(|e| anyhow::anyhow!("{e}"))?;
    let env = Arc::new(TwinEnv::start(&suite, &problem, seed).map_err(|e| anyhow::anyhow!("{e}"))?);
    let registry = ToolRegistry::new(vec![env.clone() as Arc<dyn Toolset>]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut p = policy.build()?;
    let task = env.task();
    let mut trajectory = run_session(
        format!("run-{problem}-{seed}"),
        p.as_mut(),
        &registry,
        &AutoGate,
        task,
        &SessionConfig::default(),
    )
    .await;
    trajectory.problem_id = Some(problem.clone());
    let verdict = env.evaluate(trajectory.submission.as_ref());
    print!("{}", render(&trajectory));
    println!(
        "\n== result: {} ({})  actions {}  writes {}  tokens {}/{}",
        if verdict.success { "SUCCESS" } else { "FAILURE" },
        verdict.detail,
        trajectory.actions,
        trajectory.writes,
        trajectory.input_tokens,
        trajectory.output_tokens
    );
    if let Some(path) = out {
        std::fs::write(&path, serde_json::to_string_pretty(&trajectory)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A readable transcript of a trajectory.
pub fn render(t: &Trajectory) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "== task ({} policy)\n{}\n", t.policy, t.task.instructions);
    for s in &t.steps {
        match s.role {
            Role::Observer => {
                if let Some(d) = &s.decision {
                    let next = match &d.next_action {
                        NextAction::Probe { instruction, .. } => format!("probe: {instruction}"),
                        NextAction::Executor { instruction, .. } => format!("executor: {instruction}"),
                        NextAction::Submit { submission } => submission.to_call_string(),
                    };
                    let _ = writeln!(
                        out,
                        "[{:>2}] OBSERVER  phase {} | confidence {} | {}\n     analysis: {}\n     next: {}",
                        s.index, d.current_phase, d.confidence, d.previous_iteration_summary, d.root_cause_analysis, next
                    );
                }
            }
            Role::Probe | Role::Executor => {
                let call = s.tool_call.as_ref().map(|c| c.to_string()).unwrap_or_default();
                let access = s.access.map(|a| a.as_str()).unwrap_or("?");
                let _ = writeln!(out, "[{:>2}] {:<9} {call}  ({access})", s.index, s.role.as_str().to_uppercase());
                if let Some(g) = &s.gate {
                    let _ = writeln!(out, "     gate: {:?} by {} as {} ({})", g.outcome, g.rule, g.actor, g.reason);
                }
                if let Some(e) = &s.error {
                    let _ = writeln!(out, "     refused: {e}");
                }
                if let Some(raw) = &s.raw_observation {
                    for line in raw.lines().take(12) {
                        let _ = writeln!(out, "     | {line}");
                    }
                    let n = raw.lines().count();
                    if n > 12 {
                        let _ = writeln!(out, "     | ... ({} more lines)", n - 12);
                    }
                }
            }
            Role::Compressor => {
                if let Some(c) = &s.compressed_observation {
                    let _ = writeln!(out, "[{:>2}] COMPRESSOR", s.index);
                    for line in c.lines() {
                        let _ = writeln!(out, "     > {line}");
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "== outcome: {:?}", t.outcome);
    out
}
