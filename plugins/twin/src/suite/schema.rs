//! The suite schema: apps, faults and problems as TOML data. Every struct refuses unknown
//! fields; references between files (a service's calls, a fault's target) are checked by the
//! loader, which reports the file and line of what is wrong.

use aoi_core::{FaultType, SystemLevel, TaskType};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// `suite.toml`: the suite's identity and the cluster's nodes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Nodes of the simulated cluster (kind: one control plane, one worker).
    pub nodes: Vec<NodeSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub name: String,
    /// `control-plane` nodes carry the NoSchedule taint.
    #[serde(default)]
    pub control_plane: bool,
    pub internal_ip: String,
    /// Allocatable CPU in millicores and memory in MiB.
    pub cpu_millis: u64,
    pub memory_mib: u64,
    /// Pod CIDR prefix, e.g. `10.244.1`.
    pub pod_cidr: String,
}

/// `apps/<name>.toml`: one application.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Short name problems refer to, e.g. `hotel-reservation`.
    pub name: String,
    /// As the task text names it, e.g. `Hotel Reservation`.
    pub display_name: String,
    pub namespace: String,
    pub description: String,
    /// The service load enters through, e.g. `frontend`.
    pub entry: Spanned<String>,
    /// Label key the app's selectors use, e.g. `io.kompose.service` or `app`.
    pub selector_label: String,
    /// Requests per second the load generator sends to the entry.
    #[serde(default = "default_rps")]
    pub load_rps: f64,
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub config_maps: Vec<ConfigMapSpec>,
    #[serde(default)]
    pub flags: Vec<FlagSpec>,
    /// Name of the config map that holds feature flags (flagd), if any.
    #[serde(default)]
    pub flag_config_map: Option<String>,
}

fn default_rps() -> f64 {
    10.0
}

/// How a service's process behaves and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Go gRPC service with zerolog (HotelReservation). Exits when its database is unusable.
    GoZerolog,
    /// Go HTTP front end with zerolog (HotelReservation frontend).
    GoZerologHttp,
    /// C++ Thrift service with Boost.Log (SocialNetwork). Keeps running and logs errors.
    CppThrift,
    /// OpenResty / nginx front end (SocialNetwork nginx-thrift, media-frontend).
    Nginx,
    Mongodb,
    Redis,
    Memcached,
    Jaeger,
    Consul,
    /// Astronomy Shop languages.
    Java,
    Dotnet,
    Node,
    GoLogrus,
    Python,
    Rust,
    Cpp,
    Ruby,
    Php,
    Kotlin,
    Nextjs,
    Envoy,
    Locust,
    Kafka,
    Flagd,
    Valkey,
}

impl Runtime {
    /// Datastores and infrastructure pieces that serve others rather than business requests.
    pub fn is_datastore(self) -> bool {
        matches!(
            self,
            Runtime::Mongodb
                | Runtime::Redis
                | Runtime::Memcached
                | Runtime::Valkey
                | Runtime::Kafka
        )
    }
}

/// One service: its Deployment, Service and process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: Spanned<String>,
    pub runtime: Runtime,
    pub image: String,
    /// Container name, e.g. `hotel-reserv-geo`.
    pub container: String,
    /// Container command (entrypoint override); empty means the image's own.
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Service port; `target_port` and `container_port` default to it.
    pub port: u16,
    #[serde(default)]
    pub target_port: Option<u16>,
    #[serde(default)]
    pub container_port: Option<u16>,
    #[serde(default = "one")]
    pub replicas: u32,
    /// Services this one calls (the call graph), by name.
    #[serde(default)]
    pub calls: Vec<Spanned<String>>,
    /// Calls among `calls` without which the process exits at start-up (fail fast).
    #[serde(default)]
    pub hard_dependencies: Vec<Spanned<String>>,
    /// Operation names as traces show them, e.g. `/geo.Geo/Nearby`.
    #[serde(default)]
    pub operations: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Env vars whose absence makes the process exit at start-up.
    #[serde(default)]
    pub required_env: Vec<String>,
    /// Config maps mounted into the container.
    #[serde(default)]
    pub config_maps: Vec<Spanned<String>>,
    #[serde(default)]
    pub resources: ResourceSpec,
    #[serde(default)]
    pub liveness: Option<ProbeSpec>,
    #[serde(default)]
    pub readiness: Option<ProbeSpec>,
    /// A database this service hosts (MongoDB services).
    #[serde(default)]
    pub database: Option<DatabaseSpec>,
    /// A persistent volume claim the pod mounts.
    #[serde(default)]
    pub volume: Option<VolumeSpec>,
    /// Credentials and TLS this service uses towards the databases it calls.
    #[serde(default)]
    pub db_client: Option<DbClientSpec>,
    /// Typical request latency in milliseconds (p50) when healthy.
    #[serde(default = "default_latency")]
    pub latency_ms: f64,
    /// Steady CPU in millicores and memory in MiB when healthy.
    #[serde(default = "default_cpu")]
    pub cpu_millis: f64,
    #[serde(default = "default_mem")]
    pub memory_mib: f64,
}

fn one() -> u32 {
    1
}
fn default_latency() -> f64 {
    2.0
}
fn default_cpu() -> f64 {
    20.0
}
fn default_mem() -> f64 {
    40.0
}

impl ServiceSpec {
    pub fn target_port(&self) -> u16 {
        self.target_port.unwrap_or(self.port)
    }
    pub fn container_port(&self) -> u16 {
        self.container_port.unwrap_or(self.target_port())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    #[serde(default)]
    pub cpu_request: Option<String>,
    #[serde(default)]
    pub cpu_limit: Option<String>,
    #[serde(default)]
    pub memory_request: Option<String>,
    #[serde(default)]
    pub memory_limit: Option<String>,
}

/// A liveness or readiness probe.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    /// `http-get`, `tcp-socket` or `exec`.
    pub kind: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default = "default_delay")]
    pub initial_delay_seconds: u32,
    #[serde(default = "default_period")]
    pub period_seconds: u32,
    #[serde(default = "default_failure")]
    pub failure_threshold: u32,
}

fn default_delay() -> u32 {
    5
}
fn default_period() -> u32 {
    10
}
fn default_failure() -> u32 {
    3
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// Database name, e.g. `geo-db`.
    pub name: String,
    pub users: Vec<DbUserSpec>,
    #[serde(default)]
    pub require_tls: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbUserSpec {
    pub user: String,
    pub password: String,
    /// Authentication database, usually `admin`.
    #[serde(default = "admin_db")]
    pub db: String,
    /// Roles as `role@db`, e.g. `readWrite@geo-db`.
    pub roles: Vec<String>,
}

fn admin_db() -> String {
    "admin".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbClientSpec {
    /// `None` for unauthenticated clients.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub tls: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    pub claim: String,
    pub size: String,
    #[serde(default = "default_sc")]
    pub storage_class: String,
    pub mount_path: String,
}

fn default_sc() -> String {
    "standard".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigMapSpec {
    pub name: String,
    pub data: BTreeMap<String, String>,
}

/// A feature flag (Astronomy Shop's flagd).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagSpec {
    pub name: String,
    /// The service whose behaviour the flag changes.
    pub service: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// What switching it on does, as composable effects on `service`.
    pub effects: Vec<Effect>,
}

/// `faults/<name>.toml`: a fault is a list of effects applied to a target service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub effects: Vec<Spanned<Effect>>,
    /// The analysis answer for this fault, when analysis tasks use it.
    #[serde(default)]
    pub analysis: Option<AnalysisAnswer>,
    /// What mitigation must restore, checked after submit.
    #[serde(default)]
    pub mitigation: Vec<MitigationCheck>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisAnswer {
    pub system_level: SystemLevel,
    pub fault_type: FaultType,
}

/// One effect of a fault. Effects compose: a fault lists several; each acts on the target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// Scale the deployment to `replicas`.
    Scale { replicas: u32 },
    /// Change the Service's targetPort.
    ServiceTargetPort { port: u16 },
    /// Pin the pod to a node (which may not exist).
    NodeSelector { node: String },
    /// Swap the image. `exists = false` makes it an image pull error (missing tag).
    /// `defect` says what the swapped build does wrong.
    Image {
        image: String,
        #[serde(default = "yes")]
        exists: bool,
        #[serde(default)]
        defect: Option<ImageDefect>,
    },
    /// Replace the container command.
    Command { command: Vec<String> },
    /// Set an env var (to a value that may be wrong).
    EnvSet { name: String, value: String },
    /// Remove an env var.
    EnvRemove { name: String },
    /// Change a config map value.
    ConfigMapSet {
        config_map: String,
        key: String,
        value: String,
    },
    /// Drop a database user (on the target database service).
    DbUserDrop { user: String },
    /// Revoke a role from a database user.
    DbRoleRevoke { user: String, role: String },
    /// Restart the database requiring TLS.
    DbRequireTls,
    /// Restart the pods of the services that call the target (AIOpsLab does after DB faults).
    RestartCallers,
    /// Pod failure (chaos) for `duration_s` seconds.
    PodFailure { duration_s: u64 },
    /// Pod kill (chaos): the pod is deleted and its replacement is unavailable for `duration_s`.
    PodKill { duration_s: u64 },
    /// Kill the container once (chaos).
    ContainerKill,
    /// Drop `percent` of packets to and from the target.
    NetworkLoss { percent: f64 },
    /// Add `delay_ms` of latency to the target's traffic.
    NetworkDelay { delay_ms: f64 },
    /// Burn `cores` CPUs in the target's container.
    CpuHog { cores: f64 },
    /// Leak `mib_per_min` MiB a minute; with a memory limit the container is OOMKilled.
    MemoryLeak { mib_per_min: f64 },
    /// Break a probe: `probe` is `liveness` or `readiness`; the probe points at a wrong port or path.
    ProbeMisconfig {
        probe: String,
        #[serde(default)]
        port: Option<u16>,
        #[serde(default)]
        path: Option<String>,
    },
    /// Switch a feature flag on.
    FeatureFlag { flag: String },
    /// Delete and redeploy the namespace while the PVs stay bound to the old claims.
    RedeployWithoutPv,
    /// Behaviours feature flags produce, usable by faults too:
    /// a share of the target's requests fails with `error`.
    RequestErrors {
        rate: f64,
        error: String,
        #[serde(default)]
        operation: Option<String>,
    },
    /// Extra latency on a share of the target's requests.
    RequestLatency {
        rate: f64,
        delay_ms: f64,
        #[serde(default)]
        operation: Option<String>,
    },
    /// The target calls `service` at a wrong address (unreachable).
    DependencyUnreachable { service: String },
    /// Request rate into the target multiplied by `factor`.
    LoadSurge { factor: f64 },
    /// Consumer lag grows on the target queue.
    QueueLag { messages_per_min: f64 },
    /// Periodic forced garbage collection pauses of `pause_ms`.
    GcPauses { pause_ms: f64 },
    /// Log lines the target prints while the effect holds (each a template).
    LogLines {
        lines: Vec<String>,
        #[serde(default = "default_every")]
        every_s: u64,
        #[serde(default)]
        level: Option<String>,
    },
}

fn yes() -> bool {
    true
}
fn default_every() -> u64 {
    10
}

/// What a swapped image does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageDefect {
    /// Connects to a database address that does not resolve: `no reachable servers`, exit 2.
    DbUnreachable,
    /// Panics at start-up with a nil pointer dereference.
    Panic,
}

/// A mitigation check, AIOpsLab's oracle rules judged by intent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MitigationCheck {
    /// No container in CrashLoopBackOff, none terminated for a reason other than Completed,
    /// every container ready, every pod scheduled and Running.
    AllPodsHealthy,
    /// The target's Service targetPort equals the spec's again.
    TargetPortRestored,
    /// The target has its spec's replicas desired and available.
    ReplicasRestored,
    /// The target's pods run on an existing node.
    Scheduled,
    /// The target's container command is the spec's again.
    CommandRestored,
    /// The target's image is the spec's again (or a known-good build).
    ImageRestored,
    /// The target's database has its spec's users, roles and TLS setting.
    DatabaseRestored,
    /// Every PVC in the namespace is Bound.
    VolumesBound,
}

/// `problems/*.toml`: a list of problems.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemsFile {
    #[serde(rename = "problem")]
    pub problems: Vec<ProblemSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemSpec {
    pub id: Spanned<String>,
    pub app: Spanned<String>,
    pub task_type: TaskType,
    /// The fault injected; absent for no-op problems (nothing injected).
    #[serde(default)]
    pub fault: Option<Spanned<String>>,
    /// The services the fault acts on (one or more).
    #[serde(default)]
    pub targets: Vec<Spanned<String>>,
    /// Localization answer when it differs from `targets` (e.g. a flag acting on a dependency).
    #[serde(default)]
    pub expected_services: Option<Vec<String>>,
    /// Analysis answer when it differs from the fault's.
    #[serde(default)]
    pub analysis: Option<AnalysisAnswer>,
    /// Seconds between the injection and the agent's first look (default 60-180, seeded).
    #[serde(default)]
    pub detect_after_s: Option<u64>,
}
