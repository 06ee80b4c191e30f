//! aoi-migrations: the control plane's database schema as sea-orm migrations, one per table
//! group, each with a real `down()`.
//!
//! Types are portable between SQLite and PostgreSQL: ids are UUIDs (native `uuid` on
//! PostgreSQL), timestamps are `timestamptz` (text on SQLite), JSON columns are `json` (text on
//! SQLite). Every tenant-owned table carries `tenant_id` (a foreign key to `tenants`, deleted
//! with its tenant) and is indexed on `(tenant_id, ...)`.
//!
//! This crate owns the schema only; the entities and queries live in `aoi-store`. It depends on
//! nothing of AOI.

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;

mod common;
mod m20260101_000001_tenants;
mod m20260101_000002_casbin_rule;
mod m20260101_000003_incidents;
mod m20260101_000004_environments;
mod m20260101_000005_sessions;
mod m20260101_000006_approvals;
mod m20260101_000007_guardrails;
mod m20260101_000008_audit_log;
mod m20260201_000009_inference;
mod m20260301_000010_signals;
mod m20261101_000011_plugins;
mod m20261201_000012_benchmarks;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_tenants::Migration),
            Box::new(m20260101_000002_casbin_rule::Migration),
            Box::new(m20260101_000003_incidents::Migration),
            Box::new(m20260101_000004_environments::Migration),
            Box::new(m20260101_000005_sessions::Migration),
            Box::new(m20260101_000006_approvals::Migration),
            Box::new(m20260101_000007_guardrails::Migration),
            Box::new(m20260101_000008_audit_log::Migration),
            Box::new(m20260201_000009_inference::Migration),
            Box::new(m20260301_000010_signals::Migration),
            Box::new(m20261101_000011_plugins::Migration),
            Box::new(m20261201_000012_benchmarks::Migration),
        ]
    }
}

/// The tables the migrations create, in creation order (the migrations' own bookkeeping table
/// `seaql_migrations` is not listed).
pub const TABLES: &[&str] = &[
    "tenants",
    "users",
    "api_keys",
    "casbin_rule",
    "incidents",
    "alerts",
    "environments",
    "sessions",
    "session_steps",
    "approvals",
    "guardrails",
    "audit_log",
    "tenant_inference_policies",
    "model_adapters",
    "session_verdicts",
    "evolver_jobs",
    "corrective_signals",
    "plugin_packages",
    "plugin_installations",
    "benchmark_runs",
];
