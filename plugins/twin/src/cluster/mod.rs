//! The simulated cluster: objects ([`model`]), how pods come to be in the state they are
//! ([`reconcile`]), what services are doing ([`health`]), and the writes kubectl and mongo
//! shells can make ([`ops`]).

pub mod health;
pub mod health_types;
pub mod model;
pub mod ops;
pub mod reconcile;
mod deploy;
mod pod_states;

pub use health_types::*;
pub use model::*;

use crate::suite::schema::ImageDefect;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The whole simulated cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Simulated now, unix seconds.
    pub now: SimTime,
    pub seed: u64,
    pub nodes: Vec<Node>,
    pub namespaces: BTreeMap<String, Namespace>,
    pub pvs: BTreeMap<String, PersistentVolume>,
    pub events: Vec<Event>,
    /// Images the registry serves, with what a build does wrong (None = a good build).
    pub images: BTreeMap<String, Option<ImageDefect>>,
    /// Health by namespace, recomputed whenever state or time changes.
    pub health: BTreeMap<String, Health>,
    /// Randomness for noise and jitter; seeded, so a seed repeats exactly.
    pub rng: ChaCha8Rng,
    /// Counter for generated names and ids.
    pub(crate) serial: u64,
}

impl Cluster {
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name)
    }

    pub fn namespace_mut(&mut self, name: &str) -> Option<&mut Namespace> {
        self.namespaces.get_mut(name)
    }

    /// Health of a namespace's services (empty when the namespace does not exist).
    pub fn health_of(&self, namespace: &str) -> Option<&Health> {
        self.health.get(namespace)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Events of a namespace (or all), oldest first.
    pub fn events_in<'a>(&'a self, namespace: Option<&'a str>) -> impl Iterator<Item = &'a Event> + 'a {
        self.events
            .iter()
            .filter(move |e| namespace.is_none_or(|ns| e.namespace == ns))
    }
}
