//! aoi-platform: the control plane's service layer. Every use case is one async function that
//! takes the [`Platform`] context, an `&Authorized` proof from aoi-control (so no caller can
//! skip the authorization check) and typed input, and returns typed output or an `ApiError`.
//! REST (server/src/http) and gRPC (server/src/grpc) are thin transports over these functions.
//!
//! It also runs the agent workers: the session queue ([`queue`]), the worker loop ([`worker`]),
//! the write gate backed by guardrails and approvals ([`gate`]) and live events ([`events`]).

pub mod access;
pub mod context;
pub mod datasets;
pub mod ports;

// Tenants, identity and configuration of the tenant.
pub mod audit;
pub mod benchmarks;
pub mod environments;
pub mod guardrails;
pub mod incidents;
pub mod inference_metrics;
pub mod keys;
pub mod models;
pub mod plugins;
pub mod tenants;
pub mod users;

// Sessions on workers.
pub mod approvals;
pub mod events;
pub mod external;
pub mod evolver;
pub mod gate;
pub mod queue;
pub mod session_tools;
pub mod sessions;
pub mod signals;
pub mod worker;

pub use context::Platform;
