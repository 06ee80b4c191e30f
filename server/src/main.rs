//! `aoi`: one binary, several roles. `aoi bench` runs a task suite with a policy and reports
//! avg@k / best@k; `aoi run` prints one session as a transcript; `aoi serve` runs the control
//! plane; `aoi worker agent|evolver` runs agent or evolver workers alone; `aoi train` trains the
//! local policy; `aoi migrate` and `aoi admin` manage the database directly.

mod admin_cmd;
mod bench;
mod export_cmd;
mod grpc;
mod http;
mod plugins_cmd;
mod policies;
mod serve;
mod train;
mod transcript;
mod worker_cmd;

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
    /// Train the local policy with GRPO on the twin; print held-out avg@1 before and after.
    Train(train::TrainArgs),
    /// Run the control plane (REST API, in-process agent and evolver workers) on
    /// 127.0.0.1:8080 by default.
    Serve(serve::ServeArgs),
    /// Run workers alone: `agent` (sessions) or `evolver` (corrective signals).
    Worker(worker_cmd::WorkerArgs),
    /// Apply pending database migrations.
    Migrate(serve::ConfigArgs),
    /// Manage tenants, users and API keys directly on the database.
    Admin(admin_cmd::AdminArgs),
    /// Export a tenant's training dataset (grpo, sft or dpo) from the database into a folder.
    Export(export_cmd::ExportArgs),
    /// Run a group of recorded twin sessions per problem with a policy; write a GRPO export.
    Rollout(export_cmd::RolloutArgs),
    /// The plugin store through a running server: list, upload, install, configure, enable,
    /// disable, upgrade, rollback, uninstall, call a read tool.
    Plugins(plugins_cmd::PluginsArgs),
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
        Command::Train(args) => runtime.block_on(train::run(args)),
        Command::Run(args) => runtime.block_on(transcript::run(args.suite, args.problem, args.policy, args.seed, args.out)),
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Worker(args) => runtime.block_on(worker_cmd::run(args)),
        Command::Migrate(args) => runtime.block_on(serve::migrate(args)),
        Command::Admin(args) => runtime.block_on(admin_cmd::run(args)),
        Command::Export(args) => runtime.block_on(export_cmd::run_export(args)),
        Command::Plugins(args) => runtime.block_on(plugins_cmd::run(args)),
        Command::Rollout(args) => runtime.block_on(export_cmd::run_rollout(args)),
    }
}
