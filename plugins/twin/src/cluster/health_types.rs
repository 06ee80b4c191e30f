//! What the twin's services are doing right now, derived from the cluster's objects and
//! conditions by `health::assess`. kubectl shows objects; logs, metrics and traces are rendered
//! from this.

use crate::cluster::model::SimTime;
use std::collections::BTreeMap;

/// Why one call from a caller to a callee fails or slows down.
#[derive(Debug, Clone, PartialEq)]
pub enum CallProblem {
    /// The callee's Service has no ready endpoints (scaled to zero, pods not ready, Pending).
    NoEndpoints,
    /// Endpoints exist but nothing listens on the targetPort.
    ConnectionRefused { port: u16 },
    /// The caller is configured with an address that does not resolve.
    DnsFailure { host: String },
    /// The database refused the caller's user (dropped user).
    AuthFailed { user: String, db: String },
    /// The user authenticates but lacks the role for the database.
    NotAuthorized { user: String, db: String },
    /// The database only accepts TLS and the caller speaks plain TCP.
    TlsRequired,
    /// The callee runs a different program than the caller expects (wrong binary).
    Unimplemented { expected: String },
    /// Packets dropped on the way.
    PacketLoss { percent: f64 },
    /// Calls time out (a network delay longer than the caller's deadline).
    Timeout { delay_ms: f64 },
    /// The callee itself answers errors (propagated or its own).
    UpstreamError { message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct EdgeHealth {
    pub callee: String,
    /// Share of calls on this edge that fail, 0..1.
    pub error_rate: f64,
    /// Latency the edge adds to a call, in milliseconds.
    pub added_latency_ms: f64,
    pub problem: Option<CallProblem>,
}

/// What a service's process is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessState {
    /// Running and serving.
    Up,
    /// No pod is running (scaled to zero, Pending, image not pulled, chaos pod failure).
    NotRunning { reason: String },
    /// Starts then exits (crash loop); `cause` is what its last run logged as fatal.
    Crashing { cause: CrashCause, exit_code: i32 },
    /// Running another service's binary.
    WrongBinary { runs: String },
}

/// Why a process exits.
#[derive(Debug, Clone, PartialEq)]
pub enum CrashCause {
    /// A hard dependency failed at start-up.
    Dependency { callee: String, problem: CallProblem },
    /// A required env var is missing.
    MissingEnv { name: String },
    /// The command names no executable in the image.
    ExecNotFound { binary: String },
    /// The image's defect.
    Panic { message: String },
    /// OOMKilled against the memory limit.
    OutOfMemory { limit: String },
    /// Killed by a failing liveness probe.
    LivenessFailed { message: String },
    /// Data directory or volume unusable.
    Storage { message: String },
}

/// One service's health.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceHealth {
    pub name: String,
    pub process: ProcessState,
    pub desired_replicas: u32,
    pub ready_replicas: u32,
    /// Share of the service's own requests that fail, propagated from callees included.
    pub error_rate: f64,
    /// Request latency percentiles in milliseconds, callee latency included.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests per second into the service.
    pub request_rate: f64,
    pub cpu_millis: f64,
    pub memory_mib: f64,
    pub edges: Vec<EdgeHealth>,
    /// Behaviour conditions active on the service (feature flags, chaos), for logs.
    pub active_effects: Vec<crate::suite::schema::Effect>,
    /// When this service's health last changed materially (fault onset, recovery); telemetry
    /// before this time shows the baseline.
    pub changed_at: SimTime,
}

/// A namespace's health, by service name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Health {
    pub services: BTreeMap<String, ServiceHealth>,
}
