//! Deploying an app spec into a namespace: the objects `kubectl apply` of its manifests makes.

use super::*;
use crate::suite::schema::{AppSpec, NodeSpec, ServiceSpec};
use rand::{Rng, SeedableRng};
use std::sync::Arc;

impl Cluster {
    /// An empty cluster with the suite's nodes, at simulated time `start`.
    pub fn new(seed: u64, nodes: &[NodeSpec], start: SimTime) -> Cluster {
        let created = start - 86_400.0 * 3.0 - 3_600.0 * 5.0;
        Cluster {
            now: start,
            seed,
            nodes: nodes
                .iter()
                .map(|n| Node {
                    name: n.name.clone(),
                    control_plane: n.control_plane,
                    internal_ip: n.internal_ip.clone(),
                    cpu_millis: n.cpu_millis,
                    memory_mib: n.memory_mib,
                    pod_cidr: n.pod_cidr.clone(),
                    created_at: created,
                    kubelet_version: "v1.32.0".to_string(),
                })
                .collect(),
            namespaces: BTreeMap::new(),
            pvs: BTreeMap::new(),
            events: Vec::new(),
            images: BTreeMap::new(),
            health: BTreeMap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            serial: 0,
        }
    }

    /// Deploys an app into its namespace, as `kubectl apply` of its manifests would, `age`
    /// seconds ago. Pods come up through [`Cluster::reconcile`].
    pub fn deploy_app(&mut self, app: Arc<AppSpec>, age: f64) -> Result<(), String> {
        self.deploy_app_with(app, age, true)
    }

    /// Like [`Cluster::deploy_app`]; with `provision` false, claims wait for an Available
    /// volume instead of getting a new one (a redeploy onto static volumes).
    pub fn deploy_app_with(&mut self, app: Arc<AppSpec>, age: f64, provision: bool) -> Result<(), String> {
        if self.namespaces.contains_key(&app.namespace) {
            return Err(format!(
                "Error from server (AlreadyExists): namespaces \"{}\" already exists",
                app.namespace
            ));
        }
        let created = self.now - age;
        let mut ns = Namespace {
            name: app.namespace.clone(),
            created_at: created,
            app: app.clone(),
            deployments: BTreeMap::new(),
            services: BTreeMap::new(),
            config_maps: BTreeMap::new(),
            pvcs: BTreeMap::new(),
            pods: BTreeMap::new(),
            databases: BTreeMap::new(),
            conditions: Vec::new(),
        };
        for cm in &app.config_maps {
            ns.config_maps.insert(
                cm.name.clone(),
                ConfigMap {
                    name: cm.name.clone(),
                    created_at: created,
                    data: cm.data.clone(),
                },
            );
        }
        if let Some(flag_cm) = &app.flag_config_map {
            let entry = ns.config_maps.entry(flag_cm.clone()).or_insert_with(|| ConfigMap {
                name: flag_cm.clone(),
                created_at: created,
                data: BTreeMap::new(),
            });
            for flag in &app.flags {
                entry
                    .data
                    .entry(flag.name.clone())
                    .or_insert_with(|| "off".to_string());
            }
        }
        for svc in &app.services {
            self.images.entry(svc.image.clone()).or_insert(None);
            let name = svc.name.get_ref().clone();
            if let Some(vol) = &svc.volume {
                let pv = provision.then(|| self.provision_volume(&app.namespace, &vol.claim, &vol.size, &vol.storage_class, created));
                ns.pvcs.insert(
                    vol.claim.clone(),
                    Pvc {
                        name: vol.claim.clone(),
                        created_at: created,
                        phase: if pv.is_some() { ClaimPhase::Bound } else { ClaimPhase::Pending },
                        volume: pv,
                        capacity: vol.size.clone(),
                        storage_class: vol.storage_class.clone(),
                    },
                );
            }
            if let Some(db) = &svc.database {
                ns.databases.insert(name.clone(), database_state(db));
            }
            let deployment = self.deployment_from_spec(&app, svc, created);
            ns.deployments.insert(name.clone(), deployment);
            let ip = self.cluster_ip();
            ns.services.insert(name.clone(), service_from_spec(&app, svc, ip, created));
        }
        let ns_name = ns.name.clone();
        self.namespaces.insert(ns_name.clone(), ns);
        self.reconcile_at(&ns_name, created + 5.0);
        Ok(())
    }

    /// A dynamically provisioned PV bound to `namespace/claim`; returns its name.
    pub(crate) fn provision_volume(
        &mut self,
        namespace: &str,
        claim: &str,
        size: &str,
        storage_class: &str,
        created: SimTime,
    ) -> String {
        let name = format!("pvc-{}", self.uuid());
        self.pvs.insert(
            name.clone(),
            PersistentVolume {
                name: name.clone(),
                created_at: created,
                capacity: size.to_string(),
                storage_class: storage_class.to_string(),
                phase: VolumePhase::Bound,
                claim_ref: Some(format!("{namespace}/{claim}")),
                reclaim_policy: "Retain".to_string(),
            },
        );
        name
    }

    fn deployment_from_spec(&mut self, app: &AppSpec, svc: &ServiceSpec, created: SimTime) -> Deployment {
        let name = svc.name.get_ref().clone();
        let mut labels = BTreeMap::new();
        labels.insert(app.selector_label.clone(), name.clone());
        let mut mounts = Vec::new();
        let mut volumes = Vec::new();
        if let Some(vol) = &svc.volume {
            let vname = format!("{name}-data");
            mounts.push((vname.clone(), vol.mount_path.clone()));
            volumes.push((vname, VolumeSource::Pvc { claim: vol.claim.clone() }));
        }
        for cm in &svc.config_maps {
            let cm = cm.get_ref();
            mounts.push((cm.clone(), format!("/config/{cm}")));
            volumes.push((cm.clone(), VolumeSource::ConfigMap { name: cm.clone() }));
        }
        let container = ContainerSpec {
            name: svc.container.clone(),
            image: svc.image.clone(),
            command: svc.command.clone(),
            args: svc.args.clone(),
            env: svc
                .env
                .iter()
                .map(|(k, v)| EnvVar {
                    name: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            ports: vec![svc.container_port()],
            cpu_request: svc.resources.cpu_request.clone(),
            cpu_limit: svc.resources.cpu_limit.clone(),
            memory_request: svc.resources.memory_request.clone(),
            memory_limit: svc.resources.memory_limit.clone(),
            liveness: svc.liveness.clone(),
            readiness: svc.readiness.clone(),
            mounts,
        };
        let template = PodTemplate {
            labels: labels.clone(),
            containers: vec![container],
            node_selector: BTreeMap::new(),
            volumes,
            restart_policy: "Always".to_string(),
        };
        let hash = self.template_hash();
        Deployment {
            name,
            created_at: created,
            labels: labels.clone(),
            selector: labels,
            replicas: svc.replicas,
            template: template.clone(),
            revisions: vec![Revision {
                number: 1,
                template,
                hash,
                change_cause: None,
                created_at: created,
            }],
            generation: 1,
            annotations: BTreeMap::new(),
        }
    }

    /// A pod-template hash like Kubernetes' (`84fbc958c7`).
    pub(crate) fn template_hash(&mut self) -> String {
        let len = self.rng.random_range(9..=10);
        self.random_suffix(len)
    }

    fn cluster_ip(&mut self) -> String {
        let a = self.rng.random_range(0..=255u16);
        let b = self.rng.random_range(1..=254u16);
        format!("10.96.{a}.{b}")
    }

    /// A random UUID-shaped id.
    pub(crate) fn uuid(&mut self) -> String {
        let mut hex = |n: usize| -> String {
            (0..n)
                .map(|_| char::from_digit(self.rng.random_range(0..16u32), 16).unwrap_or('0'))
                .collect()
        };
        let (a, b, c, d, e) = (hex(8), hex(4), hex(4), hex(4), hex(12));
        format!("{a}-{b}-{c}-{d}-{e}")
    }
}

fn database_state(db: &crate::suite::schema::DatabaseSpec) -> DbState {
    DbState {
        name: db.name.clone(),
        users: db
            .users
            .iter()
            .map(|u| {
                (
                    u.user.clone(),
                    DbUser {
                        password: u.password.clone(),
                        db: u.db.clone(),
                        roles: u.roles.iter().cloned().collect(),
                    },
                )
            })
            .collect(),
        require_tls: db.require_tls,
    }
}

fn service_from_spec(app: &AppSpec, svc: &ServiceSpec, ip: String, created: SimTime) -> Service {
    let name = svc.name.get_ref().clone();
    let mut selector = BTreeMap::new();
    selector.insert(app.selector_label.clone(), name.clone());
    Service {
        name,
        created_at: created,
        service_type: "ClusterIP".to_string(),
        cluster_ip: ip,
        ports: vec![ServicePort {
            name: svc.port.to_string(),
            port: svc.port,
            target_port: svc.target_port(),
            protocol: "TCP".to_string(),
        }],
        selector: selector.clone(),
        labels: selector,
    }
}
