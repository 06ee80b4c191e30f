//! aoi-router: the vLLM pool router. It owns the pool of OpenAI-compatible (vLLM) backends:
//! health checks (`GET /health`, `GET /v1/models`, LoRA adapters read from the model list),
//! least-outstanding routing with session affinity, retries with jittered exponential backoff and
//! failover, a per-request deadline, a circuit breaker per backend, the trust boundary
//! (`external` backends only for tenants allowed to use them), SSE pass-through and per-backend
//! stats (latency and time-to-first-token histograms, tokens in and out), and on-demand LoRA
//! adapters (loaded on backends with `load_adapters = true` when a request names one that no
//! backend lists yet).
//!
//! It must not depend on the web framework, the database or the twin: the server maps
//! [`RouterError`] to HTTP status codes (see [`RouterError::http_status`]) and exposes [`Pool::stats`]
//! on /metrics.

mod adapters;
mod backend;
mod breaker;
mod config;
mod error;
pub mod metrics;
mod pool;
pub mod quota;
mod stream;

pub use adapters::LoraAdapter;
pub use breaker::BreakerState;
pub use config::{BackendSpec, PoolOptions, Trust};
pub use error::RouterError;
pub use metrics::{Histogram, HistogramSnapshot, render_histogram};
pub use pool::{BackendStats, ChatRequest, ChatResponse, Pool};
pub use quota::{
    QuotaBackend, QuotaError, QuotaExceeded, QuotaLimit, QuotaLimits, QuotaPermit, Quotas,
};
pub use stream::{ChatStream, StreamUsage, Usage};
