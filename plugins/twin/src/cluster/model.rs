//! The twin's Kubernetes objects. Everything kubectl shows is read from here; everything a
//! write changes is changed here. Times are simulated unix seconds ([`SimTime`]).

use crate::suite::schema::{AppSpec, ProbeSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Simulated unix time in seconds.
pub type SimTime = f64;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub control_plane: bool,
    pub internal_ip: String,
    pub cpu_millis: u64,
    pub memory_mib: u64,
    pub pod_cidr: String,
    pub created_at: SimTime,
    pub kubelet_version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub env: Vec<EnvVar>,
    pub ports: Vec<u16>,
    pub cpu_request: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_request: Option<String>,
    pub memory_limit: Option<String>,
    pub liveness: Option<ProbeSpec>,
    pub readiness: Option<ProbeSpec>,
    /// (volume name, mount path)
    pub mounts: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VolumeSource {
    Pvc { claim: String },
    ConfigMap { name: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodTemplate {
    pub labels: BTreeMap<String, String>,
    pub containers: Vec<ContainerSpec>,
    pub node_selector: BTreeMap<String, String>,
    pub volumes: Vec<(String, VolumeSource)>,
    pub restart_policy: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub number: u32,
    pub template: PodTemplate,
    /// The ReplicaSet's pod-template hash, e.g. `84fbc958c7`.
    pub hash: String,
    pub change_cause: Option<String>,
    pub created_at: SimTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub name: String,
    pub created_at: SimTime,
    pub labels: BTreeMap<String, String>,
    pub selector: BTreeMap<String, String>,
    pub replicas: u32,
    pub template: PodTemplate,
    /// Every revision, oldest first; the last is current.
    pub revisions: Vec<Revision>,
    pub generation: u64,
    pub annotations: BTreeMap<String, String>,
}

impl Deployment {
    pub fn current_revision(&self) -> Option<&Revision> {
        self.revisions.last()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServicePort {
    pub name: String,
    pub port: u16,
    pub target_port: u16,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub created_at: SimTime,
    pub service_type: String,
    pub cluster_ip: String,
    pub ports: Vec<ServicePort>,
    pub selector: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigMap {
    pub name: String,
    pub created_at: SimTime,
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimPhase {
    Pending,
    Bound,
    Lost,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pvc {
    pub name: String,
    pub created_at: SimTime,
    pub phase: ClaimPhase,
    pub volume: Option<String>,
    pub capacity: String,
    pub storage_class: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumePhase {
    Available,
    Bound,
    Released,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersistentVolume {
    pub name: String,
    pub created_at: SimTime,
    pub capacity: String,
    pub storage_class: String,
    pub phase: VolumePhase,
    /// `namespace/claim`, kept after the claim is gone (Released).
    pub claim_ref: Option<String>,
    pub reclaim_policy: String,
}

/// A container's state, as kubelet reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerState {
    Waiting { reason: String, message: String },
    Running { started_at: SimTime },
    Terminated {
        reason: String,
        exit_code: i32,
        started_at: SimTime,
        finished_at: SimTime,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerStatus {
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub container_id: String,
    pub state: ContainerState,
    /// The previous run's end (for `--previous` and describe's Last State).
    pub last_state: Option<ContainerState>,
    pub ready: bool,
    pub restart_count: u32,
    pub last_restart_at: Option<SimTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl PodPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    pub name: String,
    pub uid: String,
    pub created_at: SimTime,
    pub labels: BTreeMap<String, String>,
    /// Owning deployment and the ReplicaSet hash it came from.
    pub deployment: String,
    pub rs_hash: String,
    /// The template the pod was created from.
    pub spec: PodTemplate,
    pub node: Option<String>,
    pub ip: Option<String>,
    pub phase: PodPhase,
    pub containers: Vec<ContainerStatus>,
    /// Set while the pod is being deleted.
    pub deleting: bool,
    /// The twin's bookkeeping for this pod (not shown by kubectl).
    pub runtime: PodRuntime,
}

/// Bookkeeping the twin keeps per pod to make restarts and back-off consistent over time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodRuntime {
    /// The trouble the pod is in (a key naming its cause) and since when.
    pub trouble: Option<(String, SimTime)>,
    /// Restarts accumulated before the current trouble began.
    pub base_restarts: u32,
    /// When the current container run started (healthy pods).
    pub started_at: SimTime,
}

impl Pod {
    /// `ready/total` as kubectl prints it.
    pub fn ready_count(&self) -> (usize, usize) {
        (
            self.containers.iter().filter(|c| c.ready).count(),
            self.containers.len(),
        )
    }
    pub fn is_ready(&self) -> bool {
        !self.containers.is_empty() && self.containers.iter().all(|c| c.ready)
    }
    pub fn restarts(&self) -> u32 {
        self.containers.iter().map(|c| c.restart_count).sum()
    }
}

/// A Kubernetes event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub namespace: String,
    /// `Normal` or `Warning`.
    pub event_type: String,
    pub reason: String,
    /// `pod/geo-84fbc958c7-lxb9r`, `deployment/geo`, ...
    pub object: String,
    pub message: String,
    /// `kubelet`, `default-scheduler`, `deployment-controller`, ...
    pub source: String,
    pub first_seen: SimTime,
    pub last_seen: SimTime,
    pub count: u32,
}

/// A MongoDB user inside the twin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUser {
    pub password: String,
    pub db: String,
    /// `role@db`
    pub roles: BTreeSet<String>,
}

/// The live state of a database a service hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbState {
    pub name: String,
    pub users: BTreeMap<String, DbUser>,
    pub require_tls: bool,
}

/// Runtime conditions the twin keeps per service that are not Kubernetes objects: chaos
/// experiments and behaviour switches (feature flags, injected request errors).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub service: String,
    pub effect: crate::suite::schema::Effect,
    pub since: SimTime,
    /// When the condition ends by itself (pod failure for a duration).
    pub until: Option<SimTime>,
    /// The feature flag that switched it on, if any.
    pub flag: Option<String>,
}

/// One namespace, holding one deployed application.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: String,
    pub created_at: SimTime,
    pub app: Arc<AppSpec>,
    pub deployments: BTreeMap<String, Deployment>,
    pub services: BTreeMap<String, Service>,
    pub config_maps: BTreeMap<String, ConfigMap>,
    pub pvcs: BTreeMap<String, Pvc>,
    pub pods: BTreeMap<String, Pod>,
    /// Databases by hosting service name.
    pub databases: BTreeMap<String, DbState>,
    pub conditions: Vec<Condition>,
}
