//! sea-orm entities, one module per table. Tenant-owned tables carry `tenant_id`.
//!
//! Queries on tenant-owned tables go through the `Store`'s tenant-scoped functions; the entities
//! are public so that callers can name the row types, not so they can query around the scoping.

pub mod alert;
pub mod api_key;
pub mod approval;
pub mod audit_log;
pub mod benchmark_run;
pub mod casbin_rule;
pub mod corrective_signal;
pub mod environment;
pub mod evolver_job;
pub mod guardrail;
pub mod incident;
pub mod inference_policy;
pub mod model_adapter;
pub mod plugin_installation;
pub mod plugin_package;
pub mod session;
pub mod session_step;
pub mod session_verdict;
pub mod tenant;
pub mod user;
