//! `fake-vllm`: the scripted fake OpenAI-compatible server as a process, for manual runs and
//! black-box tests.

use aoi_test_support::{FakeConfig, ReplyScript, spawn_on};
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "fake-vllm",
    about = "A scripted fake OpenAI-compatible (vLLM) server"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Model names to serve (repeat the flag for several); the first is the default.
    #[arg(long = "model", default_value = "fake-model")]
    models: Vec<String>,
    /// Delay before each chat reply, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Streaming pace in tokens per second (0 = as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    tokens_per_sec: f64,
    /// Share of chat requests answered with 503, 0.0 to 1.0.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// JSON file: {"queue": [...], "rules": [{"contains": ..., "reply": ...}], "default": ...}.
    #[arg(long)]
    replies: Option<PathBuf>,
}

fn load_replies(path: &PathBuf) -> Result<ReplyScript, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read replies file {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "replies file {} is not a valid reply script: {e}",
            path.display()
        )
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.error_rate) {
        eprintln!("--error-rate must be between 0.0 and 1.0");
        return ExitCode::FAILURE;
    }
    let mut config = FakeConfig {
        models: args.models,
        latency: Duration::from_millis(args.latency_ms),
        tokens_per_sec: (args.tokens_per_sec > 0.0).then_some(args.tokens_per_sec),
        error_rate: args.error_rate,
        ..FakeConfig::default()
    };
    if let Some(path) = &args.replies {
        match load_replies(path) {
            Ok(replies) => config.replies = replies,
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::FAILURE;
            }
        }
    }
    let server = match spawn_on(config, SocketAddr::new(args.host, args.port)).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot listen on {}:{}: {e}", args.host, args.port);
            return ExitCode::FAILURE;
        }
    };
    println!("fake-vllm listening on {}", server.base_url());
    server.serve_forever().await;
    ExitCode::SUCCESS
}
