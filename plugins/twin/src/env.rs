//! A twin environment for one problem: the cluster with the problem's app deployed and its
//! fault injected, the AIOpsLab tool surface over it (a [`Toolset`]), and the evaluator. The
//! problem and the fault stay inside; a policy sees only what the tools print.

use crate::cluster::Cluster;
use crate::oracle::{self, Evaluation};
use crate::suite::schema::{AppSpec, FaultSpec};
use crate::suite::{Problem, Suite};
use crate::{faults, kubectl, telemetry};
use aoi_core::{Access, Submission, TaskSpec, TaskType, ToolCall, ToolOutput};
use aoi_plugin_sdk::{Classifier, ToolManifest, Toolset};
use async_trait::async_trait;
use rand::Rng;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// 2026-01-13T12:00:00Z, the simulated clock's origin; each seed starts somewhere after it.
const EPOCH: f64 = 1_768_305_600.0;

struct Inner {
    cluster: Cluster,
    /// Files the metrics and traces exports wrote, by path.
    files: BTreeMap<String, String>,
    /// The newest export folder of each tool (`get_metrics`, `get_traces`), so a path relative
    /// to it can be read too.
    last_dir: BTreeMap<&'static str, String>,
}

/// One problem's twin, ready for a session.
pub struct TwinEnv {
    inner: Mutex<Inner>,
    problem: Problem,
    app: Arc<AppSpec>,
    fault: Option<Arc<FaultSpec>>,
    task: TaskSpec,
}

impl TwinEnv {
    /// Deploys the problem's app, lets it run, injects the fault, and lets the fault take hold,
    /// all on a clock and noise seeded by `seed`.
    pub fn start(suite: &Suite, problem_id: &str, seed: u64) -> Result<TwinEnv, String> {
        let problem = suite
            .problem(problem_id)
            .ok_or_else(|| format!("no problem `{problem_id}` in suite `{}`", suite.name))?
            .clone();
        Self::from_problem(suite, problem, seed)
    }

    /// As [`TwinEnv::start`], for a problem value (one not necessarily in the suite's list).
    pub fn from_problem(suite: &Suite, problem: Problem, seed: u64) -> Result<TwinEnv, String> {
        let app = suite
            .app(&problem.app)
            .ok_or_else(|| format!("problem `{}` names unknown app `{}`", problem.id, problem.app))?
            .clone();
        let fault = match &problem.fault {
            Some(f) => Some(
                suite
                    .faults
                    .get(f)
                    .ok_or_else(|| format!("problem `{}` names unknown fault `{f}`", problem.id))?
                    .clone(),
            ),
            None => None,
        };
        let mix = seed ^ hash_id(&problem.id);
        let start = EPOCH + (mix % 86_400) as f64;
        let mut cluster = Cluster::new(mix, &suite.nodes, start);
        let age = cluster.rng.random_range(900.0..2400.0);
        cluster.deploy_app(app.clone(), age)?;
        add_startup_restarts(&mut cluster, &app.namespace);
        cluster.reconcile();
        if let Some(f) = &fault {
            faults::inject(&mut cluster, &app.namespace, f, &problem.targets)?;
        }
        let settle = problem
            .detect_after_s
            .map(|s| s as f64)
            .unwrap_or_else(|| cluster.rng.random_range(60.0..180.0));
        let mut t = 0.0;
        while t < settle {
            let step = (settle - t).min(15.0);
            cluster.advance(step);
            t += step;
        }
        let task = task_spec(&app, problem.task_type);
        Ok(TwinEnv {
            inner: Mutex::new(Inner {
                cluster,
                files: BTreeMap::new(),
                last_dir: BTreeMap::new(),
            }),
            problem,
            app,
            fault,
            task,
        })
    }

    /// What the agent is told.
    pub fn task(&self) -> TaskSpec {
        self.task.clone()
    }

    /// The problem (for the bench and the evolver; never handed to a policy).
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Runs `f` on the cluster (tests, the evolver's replay checks).
    pub fn with_cluster<R>(&self, f: impl FnOnce(&mut Cluster) -> R) -> R {
        f(&mut self.lock().cluster)
    }

    /// Judges a submission against the problem, from the twin's state now.
    pub fn evaluate(&self, submission: Option<&Submission>) -> Evaluation {
        let mut inner = self.lock();
        // Submit takes a moment; mitigation is judged once the cluster has settled.
        inner.cluster.advance(5.0);
        oracle::evaluate(&inner.cluster, &self.app, &self.problem, self.fault.as_deref(), submission)
    }

    fn run_tool(&self, call: &ToolCall) -> ToolOutput {
        let mut inner = self.lock();
        let step = inner.cluster.rng.random_range(2.0..6.0);
        inner.cluster.advance(step);
        let ns_default = self.app.namespace.clone();
        match call.tool.as_str() {
            "exec_shell" => {
                let Some(cmd) = call.str_arg("command") else {
                    return ToolOutput::error("[ERROR] exec_shell needs a `command` string");
                };
                let r = kubectl::run(&mut inner.cluster, cmd, &ns_default);
                if r.ok {
                    ToolOutput::ok(r.stdout)
                } else {
                    ToolOutput::error(format!("[ERROR] Command execution failed: {}", r.stdout))
                }
            }
            "get_logs" => {
                let (Some(ns), Some(svc)) = (call.str_arg("namespace"), call.str_arg("service")) else {
                    return ToolOutput::error("[ERROR] get_logs needs `namespace` and `service`");
                };
                match telemetry::logs::service_logs(&inner.cluster, ns, svc) {
                    Ok(t) => ToolOutput::ok(t),
                    Err(e) => ToolOutput::error(e),
                }
            }
            "get_metrics" | "get_traces" => {
                let Some(ns) = call.str_arg("namespace") else {
                    return ToolOutput::error(format!("[ERROR] {} needs `namespace`", call.tool));
                };
                let duration = call.u64_arg("duration").unwrap_or(5).clamp(1, 60);
                let (kind, exported) = if call.tool == "get_metrics" {
                    ("metrics", telemetry::metrics::export_metrics(&inner.cluster, ns, duration))
                } else {
                    ("traces", telemetry::traces::export_traces(&inner.cluster, ns, duration))
                };
                match exported.map(|e| (telemetry::render_listing(&e), e.dir, e.files)) {
                    Ok((listing, dir, files)) => {
                        inner.last_dir.insert(kind, dir);
                        for (path, content) in files {
                            inner.files.insert(path, content);
                        }
                        ToolOutput::ok(listing)
                    }
                    Err(e) => ToolOutput::error(e),
                }
            }
            "read_metrics" | "read_traces" => {
                let Some(path) = call.str_arg("file_path") else {
                    return ToolOutput::error(format!("[ERROR] {} needs `file_path`", call.tool));
                };
                let (kind, dir_kind) = if call.tool == "read_metrics" { ("Metrics", "metrics") } else { ("Traces", "traces") };
                let relative = inner
                    .last_dir
                    .get(dir_kind)
                    .map(|d| format!("{d}/{}", path.trim_start_matches("./")));
                let found = inner
                    .files
                    .get(path)
                    .or_else(|| relative.as_ref().and_then(|r| inner.files.get(r)));
                match found {
                    Some(csv) => ToolOutput::ok(telemetry::render_csv_table(csv)),
                    None => ToolOutput::error(format!("error: {kind} file '{path}' not found.")),
                }
            }
            other => ToolOutput::error(format!("[ERROR] unknown tool `{other}`")),
        }
    }
}

#[async_trait]
impl Toolset for TwinEnv {
    fn manifests(&self) -> Vec<ToolManifest> {
        manifests()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        self.run_tool(call)
    }
}

/// The AIOpsLab tool surface.
pub fn manifests() -> Vec<ToolManifest> {
    let ns_dur = json!({"type":"object","properties":{"namespace":{"type":"string"},"duration":{"type":"integer"}},"required":["namespace"]});
    let path = json!({"type":"object","properties":{"file_path":{"type":"string"}},"required":["file_path"]});
    vec![
        ToolManifest {
            name: "get_logs".into(),
            description: "get_logs(namespace, service): the logs of the service's first pod (the last run's when it crash-loops).".into(),
            args_schema: json!({"type":"object","properties":{"namespace":{"type":"string"},"service":{"type":"string"}},"required":["namespace","service"]}),
            access: Access::Read,
            classifier: None,
            resource: "logs".into(),
        },
        ToolManifest {
            name: "get_metrics".into(),
            description: "get_metrics(namespace, duration=5): exports the namespace's Prometheus metrics for the last `duration` minutes as CSV files; returns the folder and its listing.".into(),
            args_schema: ns_dur.clone(),
            access: Access::Read,
            classifier: None,
            resource: "metrics".into(),
        },
        ToolManifest {
            name: "read_metrics".into(),
            description: "read_metrics(file_path): prints one exported metrics CSV as a table.".into(),
            args_schema: path.clone(),
            access: Access::Read,
            classifier: None,
            resource: "metrics".into(),
        },
        ToolManifest {
            name: "get_traces".into(),
            description: "get_traces(namespace, duration=5): exports recent Jaeger traces of the namespace as CSV; returns the folder and its listing.".into(),
            args_schema: ns_dur,
            access: Access::Read,
            classifier: None,
            resource: "traces".into(),
        },
        ToolManifest {
            name: "read_traces".into(),
            description: "read_traces(file_path): prints an exported traces CSV as a table.".into(),
            args_schema: path,
            access: Access::Read,
            classifier: None,
            resource: "traces".into(),
        },
        ToolManifest {
            name: "exec_shell".into(),
            description: "exec_shell(command): runs one non-interactive shell command (kubectl) in the cluster. kubectl get/describe/logs/top/events are reads; anything else changes state.".into(),
            args_schema: json!({"type":"object","properties":{"command":{"type":"string"},"timeout":{"type":"integer"}},"required":["command"]}),
            access: Access::Write,
            classifier: Some(Classifier::KubectlShell { arg: "command".into() }),
            resource: "kubernetes".into(),
        },
    ]
}

/// AIOpsLab's task text.
fn task_spec(app: &AppSpec, task_type: TaskType) -> TaskSpec {
    let (goal, submit) = match task_type {
        TaskType::Detection => (
            "detect anomalies",
            "Submit \"Yes\" if there are anomalies in the service, \"No\" otherwise: submit(\"Yes\") or submit(\"No\").",
        ),
        TaskType::Localization => (
            "localize faults",
            "Submit the list of faulty components (service names as deployed), e.g. submit([\"service-a\"]); submit([]) if none.",
        ),
        TaskType::Analysis => (
            "do root cause analysis",
            "Submit the system level (Hardware, Operating System, Virtualization, Application) and the fault type (Misconfiguration, Code Defect, Authentication Issue, Network/Storage Issue, Operation Error, Dependency Problem): submit({\"system_level\": \"...\", \"fault_type\": \"...\"}).",
        ),
        TaskType::Mitigation => (
            "mitigate anomalies",
            "Fix the fault so that the service works again, verify it, then call submit() with no arguments.",
        ),
    };
    let instructions = format!(
        "You are an expert DevOps engineer assigned to {goal} in a deployed service.\n\nService Name: {}\nNamespace: {}\nDescription: {}\n\nYou will use the APIs below to interact with the cluster: get_logs, get_metrics, read_metrics, get_traces, read_traces, exec_shell, submit.\n\n{submit}",
        app.display_name, app.namespace, app.description
    );
    TaskSpec {
        task_type,
        app_name: app.display_name.clone(),
        namespace: app.namespace.clone(),
        app_description: app.description.clone(),
        instructions,
    }
}

/// Background noise from start-up: now and then a service started before its database was
/// ready, crashed once and came back (an old, harmless restart).
fn add_startup_restarts(cluster: &mut Cluster, namespace: &str) {
    let Some(ns) = cluster.namespace(namespace) else { return };
    let candidates: Vec<(String, f64)> = ns
        .pods
        .values()
        .filter(|p| {
            ns.app
                .services
                .iter()
                .any(|s| s.name.get_ref() == &p.deployment && !s.hard_dependencies.is_empty())
        })
        .map(|p| (p.name.clone(), p.created_at))
        .collect();
    if candidates.is_empty() {
        return;
    }
    let count = match cluster.rng.random_range(0..10u32) {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    };
    for _ in 0..count {
        let i = cluster.rng.random_range(0..candidates.len());
        let (name, created) = candidates[i].clone();
        if let Some(p) = cluster.namespace_mut(namespace).and_then(|n| n.pods.get_mut(&name)) {
            p.runtime.base_restarts += 1;
            p.runtime.started_at = created + 24.0;
            for c in &mut p.containers {
                c.last_state = Some(crate::cluster::ContainerState::Terminated {
                    reason: "Error".to_string(),
                    exit_code: 2,
                    started_at: created + 2.0,
                    finished_at: created + 12.5,
                });
                c.last_restart_at = Some(created + 24.0);
            }
        }
    }
}

fn hash_id(id: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
