//! The `k8s_*` tools: their manifests, the toolset that dispatches calls, the namespace and
//! impersonation rules, and how API errors read.

use crate::config::K8sConfig;
use crate::{read, write};
use aoi_core::{Access, ToolCall, ToolOutput};
use aoi_plugin_sdk::{CallContext, ToolManifest, Toolset, check_args};
use async_trait::async_trait;
use serde_json::{Value, json};

/// The kinds of object the tools know. Secrets are deliberately not among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pod,
    Deployment,
    Service,
    StatefulSet,
    ReplicaSet,
    Node,
    ConfigMap,
    Event,
}

impl Kind {
    pub const NAMES: &[&str] = &[
        "pods",
        "deployments",
        "services",
        "statefulsets",
        "replicasets",
        "nodes",
        "configmaps",
        "events",
    ];

    /// Accepts kubectl's plural, singular and short names (`po`, `deploy`, `svc`, `sts`...).
    pub fn parse(s: &str) -> Result<Kind, String> {
        let kind = match s.trim().to_ascii_lowercase().as_str() {
            "pod" | "pods" | "po" => Kind::Pod,
            "deployment" | "deployments" | "deploy" => Kind::Deployment,
            "service" | "services" | "svc" => Kind::Service,
            "statefulset" | "statefulsets" | "sts" => Kind::StatefulSet,
            "replicaset" | "replicasets" | "rs" => Kind::ReplicaSet,
            "node" | "nodes" | "no" => Kind::Node,
            "configmap" | "configmaps" | "cm" => Kind::ConfigMap,
            "event" | "events" | "ev" => Kind::Event,
            "secret" | "secrets" => {
                return Err("secrets are never read or changed by this plugin".into());
            }
            other => {
                return Err(format!(
                    "unknown kind `{other}`; use one of: {}",
                    Kind::NAMES.join(", ")
                ));
            }
        };
        Ok(kind)
    }

    /// The plural resource name used in API paths.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Deployment => "deployments",
            Kind::Service => "services",
            Kind::StatefulSet => "statefulsets",
            Kind::ReplicaSet => "replicasets",
            Kind::Node => "nodes",
            Kind::ConfigMap => "configmaps",
            Kind::Event => "events",
        }
    }

    pub fn singular(self) -> &'static str {
        self.plural().trim_end_matches('s')
    }

    pub fn namespaced(self) -> bool {
        self != Kind::Node
    }

    /// The collection's API path, e.g. `/apis/apps/v1/namespaces/shop/deployments`.
    pub fn collection_path(self, namespace: Option<&str>) -> String {
        let group = match self {
            Kind::Deployment | Kind::StatefulSet | Kind::ReplicaSet => "/apis/apps/v1",
            _ => "/api/v1",
        };
        match namespace.filter(|_| self.namespaced()) {
            Some(ns) => format!("{group}/namespaces/{ns}/{}", self.plural()),
            None => format!("{group}/{}", self.plural()),
        }
    }
}

/// Who a request runs as, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The token the plugin is configured with.
    Configured,
    /// The person who approved the write, impersonated.
    Approver(String),
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Identity::Configured => f.write_str("the plugin's configured identity"),
            Identity::Approver(user) => write!(f, "user \"{user}\" (the approver, impersonated)"),
        }
    }
}

/// A client and who it acts as.
pub struct Session {
    pub client: kube::Client,
    pub identity: Identity,
    pub api_server: String,
}

impl Session {
    /// Turns an API error into text the agent can act on; `action` says what was tried, e.g.
    /// `patch deployment shop/cart`.
    pub fn error(&self, action: &str, err: kube::Error) -> String {
        match err {
            kube::Error::Api(status) => {
                let msg = status.message.trim();
                match status.code {
                    401 => format!(
                        "unauthorized: the API server rejected the plugin's credentials for `{action}`; check the plugin's `token` config"
                    ),
                    403 => format!(
                        "forbidden: the cluster does not allow {} to {action}: {msg}. Ask a cluster admin for the RBAC permission, or have someone with it approve.",
                        self.identity
                    ),
                    404 => format!("not found: {action}: {msg}"),
                    409 => format!("conflict: {action}: {msg}; read the object again and retry"),
                    422 => format!("invalid: {action}: {msg}"),
                    code => format!("{action} failed: HTTP {code} {}: {msg}", status.reason),
                }
            }
            other => format!(
                "{action} failed: could not talk to the API server at {}: {other}",
                self.api_server
            ),
        }
    }
}

/// The plugin's tools over one cluster. The read client is built on the first call and kept
/// (kube runs its request buffer on the tokio runtime of that call); write clients that
/// impersonate an approver are built per call.
pub struct KubernetesTools {
    config: K8sConfig,
    reader: tokio::sync::OnceCell<kube::Client>,
}

impl KubernetesTools {
    pub fn new(config: K8sConfig) -> Self {
        KubernetesTools {
            config,
            reader: tokio::sync::OnceCell::new(),
        }
    }

    async fn session(&self, access: Access, ctx: &CallContext) -> Result<Session, String> {
        let identity = match (access, self.config.impersonate_approver, &ctx.approved_by) {
            (Access::Write, true, Some(user)) if !user.trim().is_empty() => {
                Identity::Approver(user.trim().to_string())
            }
            (Access::Write, true, _) => {
                return Err("refused: this installation runs writes as the person who approved them (impersonate_approver), and this write has no approver; get it approved first".into());
            }
            _ => Identity::Configured,
        };
        let client = match &identity {
            Identity::Configured => self
                .reader
                .get_or_try_init(|| async { self.config.client(None) })
                .await?
                .clone(),
            Identity::Approver(user) => self.config.client(Some(user))?,
        };
        Ok(Session {
            client,
            identity,
            api_server: self.config.api_server.clone(),
        })
    }

    /// Refuses a namespace outside the allowlist, and (under an allowlist) a write to a
    /// cluster-scoped object, before anything is sent.
    fn check_namespace(&self, call: &ToolCall, access: Access) -> Result<(), String> {
        let allowlist = &self.config.namespace_allowlist;
        if let Some(ns) = call.str_arg("namespace")
            && !self.config.namespace_allowed(ns)
        {
            return Err(format!(
                "refused: namespace `{ns}` is not in this installation's namespace_allowlist ({})",
                allowlist.join(", ")
            ));
        }
        let cluster_scoped = call
            .str_arg("kind")
            .and_then(|k| Kind::parse(k).ok())
            .is_some_and(|k| !k.namespaced());
        if access == Access::Write && cluster_scoped && !allowlist.is_empty() {
            return Err(format!(
                "refused: this installation is limited to the namespaces {}; cluster-scoped objects (nodes) are not changed",
                allowlist.join(", ")
            ));
        }
        Ok(())
    }

    async fn run(&self, call: &ToolCall, ctx: &CallContext) -> Result<String, String> {
        let Some(manifest) = manifests().into_iter().find(|m| m.name == call.tool) else {
            return Err(format!(
                "unknown tool `{}` in the kubernetes plugin",
                call.tool
            ));
        };
        check_args(&manifest, call)?;
        self.check_namespace(call, manifest.access)?;
        let args = Args(call);
        // Arguments are checked before any client exists, so a bad call sends nothing.
        match call.tool.as_str() {
            "k8s_get" => {
                let a = read::GetArgs::from(&args)?;
                read::get(&self.session(manifest.access, ctx).await?, a).await
            }
            "k8s_describe" => {
                let a = read::DescribeArgs::from(&args)?;
                read::describe(&self.session(manifest.access, ctx).await?, a).await
            }
            "k8s_logs" => {
                let a = read::LogsArgs::from(&args)?;
                read::logs(&self.session(manifest.access, ctx).await?, a).await
            }
            "k8s_events" => {
                let a = read::EventsArgs::from(&args)?;
                read::events(&self.session(manifest.access, ctx).await?, a).await
            }
            "k8s_top" => {
                let a = read::TopArgs::from(&args)?;
                read::top(&self.session(manifest.access, ctx).await?, a).await
            }
            tool => {
                let op = write::WriteOp::from(tool, &args)?;
                write::run(&self.session(manifest.access, ctx).await?, op).await
            }
        }
    }
}

#[async_trait]
impl Toolset for KubernetesTools {
    fn manifests(&self) -> Vec<ToolManifest> {
        manifests()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        self.call_with(call, &CallContext::default()).await
    }

    async fn call_with(&self, call: &ToolCall, ctx: &CallContext) -> ToolOutput {
        match self.run(call, ctx).await {
            Ok(text) => ToolOutput::ok(text),
            Err(text) => ToolOutput::error(text),
        }
    }
}

/// Typed access to a call's arguments; errors name the tool and argument.
pub struct Args<'a>(pub &'a ToolCall);

impl Args<'_> {
    pub fn opt_str(&self, key: &str) -> Option<String> {
        self.0
            .str_arg(key)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// An optional name-like argument, checked like [`Args::str`].
    pub fn opt_name(&self, key: &str) -> Result<Option<String>, String> {
        match self.opt_str(key) {
            Some(v) => self.check_name(key, &v).map(|_| Some(v)),
            None => Ok(None),
        }
    }

    /// A required string; names (`namespace`, `name`, `pod`, `container`) must look like
    /// Kubernetes names, so that nothing but the intended object's path is ever requested.
    pub fn str(&self, key: &str) -> Result<String, String> {
        let value = self.opt_str(key).ok_or_else(|| {
            format!(
                "{}: argument `{key}` must be a non-empty string",
                self.0.tool
            )
        })?;
        self.check_name(key, &value)?;
        Ok(value)
    }

    fn check_name(&self, key: &str, value: &str) -> Result<(), String> {
        let is_name = ["namespace", "name", "pod", "container"].contains(&key);
        let ok = value.len() <= 253
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && !value.starts_with('.');
        if is_name && !ok {
            return Err(format!(
                "{}: `{key}` \"{value}\" is not a Kubernetes name (lowercase letters, digits, '-' and '.')",
                self.0.tool
            ));
        }
        Ok(())
    }

    pub fn kind(&self) -> Result<Kind, String> {
        Kind::parse(&self.str("kind")?).map_err(|e| format!("{}: {e}", self.0.tool))
    }

    /// The namespace, required for a namespaced kind.
    pub fn namespace_for(&self, kind: Kind) -> Result<Option<String>, String> {
        match (kind.namespaced(), self.opt_name("namespace")?) {
            (true, None) => Err(format!(
                "{}: `namespace` is required for {}",
                self.0.tool,
                kind.plural()
            )),
            (true, ns) => Ok(ns),
            (false, _) => Ok(None),
        }
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.0.u64_arg(key)
    }

    pub fn bool(&self, key: &str) -> bool {
        self.0
            .args
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

fn tool(
    name: &str,
    description: &str,
    access: Access,
    props: Value,
    required: &[&str],
) -> ToolManifest {
    ToolManifest {
        name: name.into(),
        description: description.into(),
        args_schema: json!({"type": "object", "properties": props, "required": required}),
        access,
        classifier: None,
        resource: "kubernetes".into(),
    }
}

fn s(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

/// Every tool of the plugin.
pub fn manifests() -> Vec<ToolManifest> {
    let kinds = format!("one of {}", Kind::NAMES.join(", "));
    let ns = s("the namespace");
    let name = s("the object's name");
    vec![
        tool(
            "k8s_get",
            "List objects like `kubectl get` (columns per kind; configmaps by name only, secrets never).",
            Access::Read,
            json!({"kind": s(&kinds), "namespace": ns, "name": s("only this object"),
                   "label_selector": s("e.g. app=frontend")}),
            &["kind"],
        ),
        tool(
            "k8s_describe",
            "Describe one object like `kubectl describe`: key fields, conditions, container states and its recent events.",
            Access::Read,
            json!({"kind": s(&kinds), "namespace": ns, "name": name}),
            &["kind", "name"],
        ),
        tool(
            "k8s_logs",
            "A pod's container logs (the last tail_lines lines, default 100; previous=true for the crashed instance).",
            Access::Read,
            json!({"namespace": ns, "pod": s("the pod's name"), "container": s("needed when the pod has several"),
                   "tail_lines": {"type": "integer", "description": "lines from the end, default 100"},
                   "previous": {"type": "boolean", "description": "logs of the previous (crashed) container"}}),
            &["namespace", "pod"],
        ),
        tool(
            "k8s_events",
            "A namespace's events, oldest first; `name` keeps those about one object.",
            Access::Read,
            json!({"namespace": ns, "name": s("only events about this object")}),
            &["namespace"],
        ),
        tool(
            "k8s_top",
            "CPU and memory use of pods (in a namespace) or nodes from metrics-server, busiest first.",
            Access::Read,
            json!({"kind": s("pods or nodes"), "namespace": s("the namespace, for pods")}),
            &["kind"],
        ),
        tool(
            "k8s_scale",
            "Set a deployment's or statefulset's replica count.",
            Access::Write,
            json!({"kind": s("deployment or statefulset"), "namespace": ns, "name": name,
                   "replicas": {"type": "integer", "description": "the new replica count"}}),
            &["kind", "namespace", "name", "replicas"],
        ),
        tool(
            "k8s_rollout_restart",
            "Restart a deployment's or statefulset's pods by a rolling update (`kubectl rollout restart`).",
            Access::Write,
            json!({"kind": s("deployment or statefulset"), "namespace": ns, "name": name}),
            &["kind", "namespace", "name"],
        ),
        tool(
            "k8s_rollout_undo",
            "Roll a deployment back to its previous revision, or to to_revision (`kubectl rollout undo`).",
            Access::Write,
            json!({"namespace": ns, "name": s("the deployment"),
                   "to_revision": {"type": "integer", "description": "a revision number; default the previous one"}}),
            &["namespace", "name"],
        ),
        tool(
            "k8s_patch",
            "Patch an object (not a secret) with a strategic merge (default) or merge patch.",
            Access::Write,
            json!({"kind": s(&kinds), "namespace": ns, "name": name,
                   "patch": {"type": "object", "description": "the patch, as a JSON object"},
                   "patch_type": s("strategic (default) or merge")}),
            &["kind", "name", "patch"],
        ),
        tool(
            "k8s_delete_pod",
            "Delete a pod (its controller recreates it).",
            Access::Write,
            json!({"namespace": ns, "name": s("the pod"),
                   "grace_period_seconds": {"type": "integer", "description": "default: the pod's own"}}),
            &["namespace", "name"],
        ),
        tool(
            "k8s_set_image",
            "Set one container's image in a deployment (`kubectl set image`), which starts a rollout.",
            Access::Write,
            json!({"namespace": ns, "name": s("the deployment"), "container": s("the container's name"),
                   "image": s("the new image, e.g. repo/app:1.2.3")}),
            &["namespace", "name", "container", "image"],
        ),
    ]
}
