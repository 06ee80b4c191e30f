//! aoi-router: the vLLM pool router. It owns the pool of OpenAI-compatible (vLLM) backends:
//! health checks (`GET /health`, `GET /v1/models`, LoRA adapters read from the model list),
//! least-outstanding routing with session affinity, retries with jittered exponential backoff and
//! failover, a per-request deadline, a circuit breaker per backend, the trust boundary
//! (`external` backends only for tenants allowed to use them), SSE pass-through and per-backend
//! stats.
//!
//! It must not depend on the web framework, the database or the twin: the server maps
//! [`RouterError`] to HTTP status codes (see [`RouterError::http_status`]) and exposes [`Pool::stats`]
//! on /metrics.

mod backend;
mod breaker;
mod config;
mod error;
mod pool;
pub mod quota;

pub use breaker::BreakerState;
pub use config::{BackendSpec, PoolOptions, Trust};
pub use error::RouterError;
pub use pool::{BackendStats, ChatRequest, ChatResponse, ChatStream, Pool};
pub use quota::{
    QuotaBackend, QuotaError, QuotaExceeded, QuotaLimit, QuotaLimits, QuotaPermit, Quotas,
};
