//! `aoi worker agent`: agent workers alone (no HTTP), against the configured database and
//! queue (Redis streams with `redis.url`, else an in-process queue fed by this process's
//! reconciler from the database).

use std::path::PathBuf;

use anyhow::Context as _;
use aoi_control::Config;
use aoi_platform::Platform;
use aoi_platform::worker::{WorkerOptions, build_queue, run_workers};

/// Arguments of `aoi worker`.
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// The worker role: `agent` (the evolver comes later).
    pub role: String,
    /// A TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The data folder; overrides server.data_dir.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Workers to run; defaults to workers.agent.
    #[arg(long)]
    pub concurrency: Option<u32>,
}

/// Runs the workers until Ctrl-C.
pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    crate::serve::init_tracing();
    if args.role != "agent" {
        anyhow::bail!("unknown worker role `{}`: use `aoi worker agent`", args.role);
    }
    let mut config = Config::load(args.config.as_deref(), std::env::vars())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = &args.data_dir {
        config.server.data_dir = dir.clone();
    }
    let count = args.concurrency.unwrap_or(config.workers.agent).max(1);
    let platform = Platform::open(config)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("opening the platform")?;
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
