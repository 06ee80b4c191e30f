//! `aoi`: one binary, several roles. This build has the runtime's commands: `aoi bench` runs a
//! task suite with a policy and reports avg@k / best@k; `aoi run` prints one session as a
//! transcript.

mod bench;
mod policies;
mod transcript;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "aoi", version, about = "AOI: an on-premises AI site-reliability engineer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a task suite K times with a policy; print success by task type.
    Bench(bench::BenchArgs),
    /// Run one problem once and print the session role by role.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// `aiopslab` (the shipped suite) or a suite directory.
    #[arg(long, default_value = "aiopslab")]
    suite: String,
    /// Problem id, e.g. `k8s_target_port-misconfig-mitigation-1`.
    #[arg(long)]
    problem: String,
    #[command(flatten)]
    policy: policies::PolicyArgs,
    /// Seed of the twin's noise and clock.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the trajectory as JSON to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Bench(args) => runtime.block_on(bench::run(args)),
        Command::Run(args) => runtime.block_on(transcript::run(args.suite, args.problem, args.policy, args.seed, args.out)),
    }
}
