//! aoi-plugin-httpapi: what the built-in plugins over a server's HTTP API (prometheus,
//! alertmanager, loki, tempo) share: their typed config (`base_url`, secret `bearer_token`,
//! `timeout_seconds`), the JSON client whose errors name the system and never carry the token,
//! the serving of a tool call (unknown tool and argument checks, redaction, the 16 KiB cut), the
//! argument helpers and the text helpers (tables, label sets, times). Each plugin passes what
//! differs: its name (`prometheus`) and the system's display name (`Prometheus`). It depends on
//! the plugin SDK and package crates only among project crates, and keeps no state beyond its
//! HTTP client.

mod client;
mod config;
mod serve;
mod system;
mod text;

pub use client::{Api, status_data};
pub use config::Config;
pub use serve::{flag, ranged_u64, read_tools, required_str, serve, tool};
pub use system::System;
pub use text::{
    MAX_OUTPUT, alert_summary, cut, label_pairs, seconds_time, short_time, str_at, table,
};
