//! aoi-store: the control plane's storage on sea-orm, the same code on SQLite (the embedded
//! default, a file under the data folder) and PostgreSQL (`DATABASE_URL`).
//!
//! It owns the entities (one per table of `aoi-migrations`) and the [`Store`], whose functions
//! are the only way in. Every function on a tenant-owned table takes a [`TenantId`] and filters
//! on it, so no call can reach another tenant's rows: a row of another tenant answers `None` or
//! [`StoreError::NotFound`], exactly like a missing one. The few calls that are not
//! tenant-scoped say why (tenant lookup by slug, API key lookup by prefix before the tenant is
//! known, the worker's claim and the platform's sweeps).
//!
//! It must not depend on axum, tonic, casbin or any AOI runtime crate: the server maps
//! [`StoreError`] to HTTP and gRPC, a casbin adapter is built on the `casbin_*` functions,
//! passwords and keys are hashed by the caller.

mod approvals;
mod audit;
mod benchmarks;
mod casbin;
mod connect;
pub mod entity;
mod environments;
mod error;
mod guardrails;
mod incidents;
mod inference;
mod plugins;
mod sessions;
mod signals;
mod tenants;

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use approvals::{ApprovalDecision, NewApproval};
pub use benchmarks::{BenchmarkRunSummary, NewBenchmarkRun};
pub use audit::{AuditExport, AuditFilter, AuditScope, NewAuditEvent};
pub use casbin::NewCasbinRule;
pub use connect::{Backend, Store};
pub use entity::alert::AlertStatus;
pub use entity::approval::ApprovalStatus;
pub use entity::corrective_signal::{SignalStatus, UnknownSignalStatus};
pub use entity::environment::EnvironmentKind;
pub use entity::evolver_job::EvolverJobStatus;
pub use entity::guardrail::GuardrailDecision;
pub use entity::incident::IncidentState;
pub use entity::model_adapter::{AdapterStatus, UnknownAdapterStatus};
pub use entity::session::SessionStatus;
pub use environments::{EnvironmentSpec, NewEnvironment};
pub use error::StoreError;
pub use guardrails::GuardrailRule;
pub use incidents::{AlertIngest, IncidentFilter, IncomingAlert, NewIncident};
pub use inference::{AdapterPromotion, AdapterRollback, NewAdapterVersion, NewInferencePolicy};
pub use plugins::{InstallationChange, NewPluginInstallation, NewPluginPackage};
pub use sessions::{NewSession, ReclaimReport, SessionFilter};
pub use signals::{NewSessionVerdict, NewSignal, SignalDecision};
pub use tenants::{
    ApiKey, ApiKeyCredentials, NewApiKey, NewTenant, NewUser, User, UserCredentials,
};

/// A tenant row.
pub type Tenant = entity::tenant::Model;
/// An incident row.
pub type Incident = entity::incident::Model;
/// An alert notification attached to an incident.
pub type Alert = entity::alert::Model;
/// An environment row.
pub type Environment = entity::environment::Model;
/// A diagnosis session row.
pub type Session = entity::session::Model;
/// A recorded step of a session.
pub type Step = entity::session_step::Model;
/// An approval row.
pub type Approval = entity::approval::Model;
/// A recorded `aoi bench` report.
pub type BenchmarkRun = entity::benchmark_run::Model;
/// A guardrail row.
pub type Guardrail = entity::guardrail::Model;
/// A version of a tenant's model adapter.
pub type ModelAdapter = entity::model_adapter::Model;
/// A tenant's stored inference policy.
pub type InferencePolicyRecord = entity::inference_policy::Model;
/// An operator's verdict on a session.
pub type SessionVerdict = entity::session_verdict::Model;
/// A session waiting for (or done by) the evolver.
pub type EvolverJob = entity::evolver_job::Model;
/// A corrective signal drafted by the evolver.
pub type CorrectiveSignal = entity::corrective_signal::Model;
/// An uploaded plugin package.
pub type PluginPackage = entity::plugin_package::Model;
/// A tenant's installation of a plugin.
pub type PluginInstallation = entity::plugin_installation::Model;
/// An audit record.
pub type AuditEvent = entity::audit_log::Model;
/// A casbin policy line.
pub type CasbinRule = entity::casbin_rule::Model;

/// The tenant every tenant-scoped call is confined to. Build it from an authenticated identity
/// (or a tenant row), never from request input alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(Uuid);

impl TenantId {
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Now, truncated to microseconds: what PostgreSQL keeps, so a written time reads back equal.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    truncate_micros(chrono::Utc::now())
}

pub(crate) fn truncate_micros(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::Timelike;
    let nanos = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(nanos).unwrap_or(t)
}
