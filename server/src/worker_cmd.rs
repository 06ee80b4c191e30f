//! `aoi worker agent`: agent workers alone (no HTTP), against the configured database and
//! queue (Redis streams with `redis.url`, else an in-process queue fed by this process's
//! reconciler from the database).
//!
//! `aoi worker evolver`: evolver workers alone, taking failed sessions from the database's
//! evolver list (shared safely with `aoi serve`'s in-process evolver and other processes).

use std::path::PathBuf;

use anyhow::Context as _;
use aoi_control::Config;
use aoi_platform::Platform;
use aoi_platform::evolver::{EvolverOptions, run_evolver};
use aoi_platform::worker::{WorkerOptions, build_queue, run_workers};

/// Arguments of `aoi worker`.
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// The worker role: `agent` or `evolver`.
    pub role: String,
    /// A TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The data folder; overrides server.data_dir.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Workers to run; defaults to workers.agent for agents, workers.evolver (at least 1) for
    /// the evolver.
    #[arg(long)]
    pub concurrency: Option<u32>,
}

/// Runs the workers until Ctrl-C.
pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    crate::serve::init_tracing();
    if args.role != "agent" && args.role != "evolver" {
        anyhow::bail!(
            "unknown worker role `{}`: use `aoi worker agent` or `aoi worker evolver`",
            args.role
        );
    }
    let mut config = Config::load(args.config.as_deref(), std::env::vars())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = &args.data_dir {
        config.server.data_dir = dir.clone();
    }
    let platform = Platform::open(config)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("opening the platform")?;
    if args.role == "evolver" {
        let count = args
            .concurrency
            .unwrap_or(platform.config.workers.evolver)
            .max(1);
        return run_evolvers(platform, count).await;
    }
    let count = args
        .concurrency
        .unwrap_or(platform.config.workers.agent)
        .max(1);
    let options = WorkerOptions::from_config(&platform.config);
    let queue = build_queue(&platform, &options)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = format!("agent-{}", uuid::Uuid::new_v4().simple());
    tracing::info!(count, %name, "agent workers started");
    tokio::select! {
        () = run_workers(platform, queue, count, options, name) => {}
        signal = tokio::signal::ctrl_c() => { signal.context("waiting for Ctrl-C")?; }
    }
    Ok(())
}

/// Runs `count` evolver workers until Ctrl-C.
async fn run_evolvers(platform: Platform, count: u32) -> anyhow::Result<()> {
    let name = format!("evolver-{}", uuid::Uuid::new_v4().simple());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..count {
        set.spawn(run_evolver(
            platform.clone(),
            EvolverOptions::default(),
            format!("{name}-{i}"),
        ));
    }
    tracing::info!(count, %name, "evolver workers started");
    tokio::select! {
        _ = set.join_next() => {}
        signal = tokio::signal::ctrl_c() => { signal.context("waiting for Ctrl-C")?; }
    }
    set.abort_all();
    Ok(())
}
