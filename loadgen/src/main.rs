//! `aoi-loadgen`: load for the OpenAI-compatible endpoints.
//!
//! - `rate`: an open-loop constant request rate. Every request has an intended send time
//!   (`start + i / rate`) and its latency is measured from that time, so a slow server cannot
//!   slow the load down and hide its queueing (no coordinated omission).
//! - `streams`: N concurrent streaming requests held open until they finish, with time to first
//!   byte and, optionally, the resident memory of a server process; over HTTP/1.1 (one
//!   connection per stream) or, with `--http2`, HTTP/2 prior knowledge with many streams per
//!   connection.
//!
//! Both print one JSON object on stdout.

mod client;
mod rate;
mod stats;
mod streams;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "aoi-loadgen",
    about = "Open-loop rate and concurrent-stream load for OpenAI-compatible endpoints"
)]
struct Cli {
    /// Tokio worker threads (default: one per core).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// A constant request rate for a duration; latency measured from each intended send time.
    Rate(rate::RateArgs),
    /// N concurrent streaming requests held open until they finish.
    Streams(streams::StreamsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = cli.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("aoi-loadgen: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.mode {
            Mode::Rate(args) => rate::run(args).await,
            Mode::Streams(args) => streams::run(args).await,
        }
    });
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("aoi-loadgen: {message}");
            ExitCode::FAILURE
        }
    }
}
