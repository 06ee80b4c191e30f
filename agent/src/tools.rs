//! The tool gateway: one registry of every tool, and the two handles roles hold.
//!
//! - [`ReadOnlyTools`] (the Probe's): it runs only a [`ReadCall`], and a `ReadCall` is only built
//!   by [`ReadOnlyTools::authorize`] after classification proved the call a read.
//! - [`GatedWriteTools`] (the Executor's): every write passes a [`WriteGate`]; only an `Allowed` or
//!   `Approved` record lets the call reach the plugin.
//!
//! ```compile_fail
//! // A ReadCall cannot be built outside this module: its fields are private.
//! let call = aoi_agent::tools::ReadCall {
//!     call: aoi_core::ToolCall::exec_shell("kubectl delete namespace prod"),
//! };
//! ```
//!
//! ```compile_fail
//! // Nor does the Probe's handle take a raw ToolCall.
//! async fn run(tools: &aoi_agent::ReadOnlyTools) {
//!     tools.call(&aoi_core::ToolCall::exec_shell("kubectl delete namespace prod")).await;
//! }
//! ```

use crate::gate::{WriteGate, WriteRequest};
use crate::shell::{ShellClass, classify_shell, kubectl_target};
use aoi_core::{Access, GateOutcome, GateRecord, ToolCall, ToolDoc, ToolOutput};
use aoi_plugin_sdk::{CallContext, Classifier, ToolManifest, Toolset, check_args};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Why a registry could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("tool `{0}` is declared by two toolsets; tool names must be unique")]
    DuplicateTool(String),
}

/// Why a call was refused before it reached any plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused {tool}: {reason}")]
pub struct Refused {
    pub tool: String,
    pub kind: RefusalKind,
    pub reason: String,
}

/// The class of a refusal, for callers that react differently (e.g. tell the Observer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    UnknownTool,
    BadArguments,
    /// The Probe asked for something not proven read.
    NotRead,
}

/// A call after classification: what access it needs and what it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub access: Access,
    /// Why the call is a write (`kubectl delete is not a read verb`, `manifest says write`).
    pub write_reason: Option<String>,
    /// `kubectl delete`, `kubectl get`, or the tool name for other tools.
    pub action: String,
    pub namespace: Option<String>,
    /// What the call touches, `namespace/kind/name` when it can be told.
    pub resource: String,
}

struct Entry {
    toolset: Arc<dyn Toolset>,
    manifest: ToolManifest,
}

/// Every tool the session can reach, by name. Cheap to clone.
#[derive(Clone)]
pub struct ToolRegistry {
    entries: Arc<BTreeMap<String, Entry>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRegistry")
            .field("tools", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ToolRegistry {
    /// Builds the registry from toolsets; two tools of the same name are refused.
    pub fn new(toolsets: Vec<Arc<dyn Toolset>>) -> Result<Self, RegistryError> {
        let mut entries = BTreeMap::new();
        for toolset in toolsets {
            for manifest in toolset.manifests() {
                let name = manifest.name.clone();
                if entries.contains_key(&name) {
                    return Err(RegistryError::DuplicateTool(name));
                }
                entries.insert(
                    name,
                    Entry {
                        toolset: Arc::clone(&toolset),
                        manifest,
                    },
                );
            }
        }
        Ok(ToolRegistry {
            entries: Arc::new(entries),
        })
    }

    pub fn manifest(&self, tool: &str) -> Option<&ToolManifest> {
        self.entries.get(tool).map(|e| &e.manifest)
    }

    /// Every tool, as the Executor's prompt documents them.
    pub fn docs(&self) -> Vec<ToolDoc> {
        self.entries.values().map(|e| e.manifest.doc()).collect()
    }

    /// The tools a Probe can reach: `read` tools, plus classified tools (a shell) whose single
    /// calls may be proven reads; those are documented as read-only.
    pub fn read_docs(&self) -> Vec<ToolDoc> {
        self.entries
            .values()
            .filter_map(|e| match (e.manifest.access, &e.manifest.classifier) {
                (Access::Read, _) => Some(e.manifest.doc()),
                (Access::Write, Some(Classifier::KubectlShell { arg })) => Some(ToolDoc {
                    name: e.manifest.name.clone(),
                    description: format!(
                        "{} Read-only here: `{arg}` must be one kubectl get / describe / logs / top / events / explain command without pipes or other shell syntax; anything else is refused.",
                        e.manifest.description
                    ),
                    access: Access::Read,
                }),
                (Access::Write, None) => None,
            })
            .collect()
    }

    /// Checks the tool exists and its arguments fit, then classifies the call. Fail closed:
    /// only a `read` manifest or a classifier's proof makes a call a read.
    pub fn classify(&self, call: &ToolCall) -> Result<Classified, Refused> {
        let entry = self.entry(call)?;
        check_args(&entry.manifest, call).map_err(|reason| Refused {
            tool: call.tool.clone(),
            kind: RefusalKind::BadArguments,
            reason,
        })?;
        Ok(classify_with(&entry.manifest, call))
    }

    /// The Probe's handle.
    pub fn read_only(&self) -> ReadOnlyTools {
        ReadOnlyTools {
            registry: self.clone(),
        }
    }

    /// The Executor's handle: writes pass `gate`, acting as `actor`.
    pub fn gated<'g>(
        &self,
        gate: &'g dyn WriteGate,
        session_id: impl Into<String>,
        actor: impl Into<String>,
    ) -> GatedWriteTools<'g> {
        GatedWriteTools {
            registry: self.clone(),
            gate,
            session_id: session_id.into(),
            actor: actor.into(),
        }
    }

    fn entry(&self, call: &ToolCall) -> Result<&Entry, Refused> {
        self.entries.get(&call.tool).ok_or_else(|| Refused {
            tool: call.tool.clone(),
            kind: RefusalKind::UnknownTool,
            reason: format!(
                "no tool named `{}`; known tools: {}",
                call.tool,
                self.entries.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }
}

fn classify_with(manifest: &ToolManifest, call: &ToolCall) -> Classified {
    let arg_namespace = call.str_arg("namespace").map(str::to_string);
    let plain_resource = || {
        let mut parts = vec![arg_namespace.clone().unwrap_or_else(|| "-".to_string())];
        parts.push(manifest.resource.clone());
        if let Some(service) = call.str_arg("service") {
            parts.push(service.to_string());
        }
        parts.join("/")
    };
    match (manifest.access, &manifest.classifier) {
        (Access::Read, _) => Classified {
            access: Access::Read,
            write_reason: None,
            action: manifest.name.clone(),
            namespace: arg_namespace.clone(),
            resource: plain_resource(),
        },
        (Access::Write, Some(Classifier::KubectlShell { arg })) => {
            let command = call.str_arg(arg).unwrap_or("");
            let target = kubectl_target(command);
            let namespace = target.as_ref().and_then(|t| t.namespace.clone());
            let action = target
                .as_ref()
                .map_or_else(|| manifest.name.clone(), |t| format!("kubectl {}", t.verb));
            let resource = match &target {
                Some(t) => format!(
                    "{}/{}",
                    namespace.as_deref().unwrap_or("-"),
                    t.object.as_deref().unwrap_or("-")
                ),
                None => format!("-/{}", manifest.resource),
            };
            let (access, write_reason) = match classify_shell(command) {
                ShellClass::Read(_) => (Access::Read, None),
                ShellClass::Write { reason } => (Access::Write, Some(reason)),
            };
            Classified {
                access,
                write_reason,
                action,
                namespace,
                resource,
            }
        }
        (Access::Write, None) => Classified {
            access: Access::Write,
            write_reason: Some(format!("the `{}` manifest declares write", manifest.name)),
            action: manifest.name.clone(),
            namespace: arg_namespace.clone(),
            resource: plain_resource(),
        },
    }
}

/// A call proven read. Only [`ReadOnlyTools::authorize`] builds one, so holding one is the proof.
pub struct ReadCall {
    call: ToolCall,
    toolset: Arc<dyn Toolset>,
}

impl ReadCall {
    pub fn call(&self) -> &ToolCall {
        &self.call
    }
}

impl std::fmt::Debug for ReadCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCall")
            .field("call", &self.call)
            .finish()
    }
}

/// The Probe's tool handle: it can only run calls proven read.
#[derive(Clone, Debug)]
pub struct ReadOnlyTools {
    registry: ToolRegistry,
}

impl ReadOnlyTools {
    /// The tools this handle can reach, as the Probe's prompt shows them.
    pub fn docs(&self) -> Vec<ToolDoc> {
        self.registry.read_docs()
    }

    /// Classifies `call` and returns the proof it is a read, or why it was refused.
    pub fn authorize(&self, call: ToolCall) -> Result<ReadCall, Refused> {
        let classified = self.registry.classify(&call)?;
        if classified.access != Access::Read {
            return Err(Refused {
                tool: call.tool.clone(),
                kind: RefusalKind::NotRead,
                reason: format!(
                    "the probe can only read, and this call is a write: {}",
                    classified
                        .write_reason
                        .as_deref()
                        .unwrap_or("not proven read")
                ),
            });
        }
        let toolset = Arc::clone(&self.registry.entry(&call)?.toolset);
        Ok(ReadCall { call, toolset })
    }

    /// Runs a proven read.
    pub async fn call(&self, read: &ReadCall) -> ToolOutput {
        read.toolset.call(&read.call).await
    }
}

/// What the Executor's handle did with one call.
#[derive(Debug, Clone, PartialEq)]
pub struct GatedResult {
    pub classified: Classified,
    /// The gate's record for writes; `None` for reads (they pass without the gate).
    pub gate: Option<GateRecord>,
    /// The tool's output; `None` when the gate refused and nothing ran.
    pub output: Option<ToolOutput>,
    /// Time spent inside the plugin.
    pub tool_us: u64,
}

impl GatedResult {
    pub fn executed(&self) -> bool {
        self.output.is_some()
    }
}

/// The Executor's tool handle: each write passes the gate before it can reach a plugin.
pub struct GatedWriteTools<'g> {
    registry: ToolRegistry,
    gate: &'g dyn WriteGate,
    session_id: String,
    actor: String,
}

impl GatedWriteTools<'_> {
    /// Every tool, as the Executor's prompt shows them.
    pub fn docs(&self) -> Vec<ToolDoc> {
        self.registry.docs()
    }

    /// Classifies `call`; reads run at once, writes run only when the gate allows or a person
    /// approves. An unknown tool or bad arguments are refused before the gate.
    pub async fn call(&self, call: &ToolCall) -> Result<GatedResult, Refused> {
        let classified = self.registry.classify(call)?;
        let toolset = Arc::clone(&self.registry.entry(call)?.toolset);
        let gate = match classified.access {
            Access::Read => None,
            Access::Write => {
                let request = WriteRequest {
                    session_id: self.session_id.clone(),
                    call: call.clone(),
                    access: classified.access,
                    action: classified.action.clone(),
                    namespace: classified.namespace.clone(),
                    resource: classified.resource.clone(),
                    actor: self.actor.clone(),
                };
                let record = self.gate.decide(&request).await;
                if !matches!(record.outcome, GateOutcome::Allowed | GateOutcome::Approved) {
                    return Ok(GatedResult {
                        classified,
                        gate: Some(record),
                        output: None,
                        tool_us: 0,
                    });
                }
                Some(record)
            }
        };
        // The plugin learns who it acts for: the approver of an approved write (a plugin that
        // impersonates, like kubernetes, makes the cluster's RBAC apply to that person).
        let context = CallContext {
            session_id: Some(self.session_id.clone()),
            actor: Some(gate.as_ref().map_or_else(|| self.actor.clone(), |r| r.actor.clone())),
            approved_by: gate
                .as_ref()
                .filter(|r| r.outcome == GateOutcome::Approved)
                .map(|r| r.actor.clone()),
        };
        let started = Instant::now();
        let output = toolset.call_with(call, &context).await;
        Ok(GatedResult {
            classified,
            gate,
            output: Some(output),
            tool_us: micros_since(started),
        })
    }
}

pub(crate) fn micros_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::gate::{AutoGate, DenyAllGate};
    use crate::testing::{RecordingToolset, aiopslab_manifests};

    fn registry() -> (ToolRegistry, Arc<RecordingToolset>) {
        let toolset = Arc::new(RecordingToolset::new(aiopslab_manifests()));
        let registry = ToolRegistry::new(vec![toolset.clone() as Arc<dyn Toolset>]).unwrap();
        (registry, toolset)
    }

    #[test]
    fn duplicate_tool_names_are_refused() {
        let a = Arc::new(RecordingToolset::new(aiopslab_manifests())) as Arc<dyn Toolset>;
        let b = Arc::new(RecordingToolset::new(aiopslab_manifests())) as Arc<dyn Toolset>;
        assert_eq!(
            ToolRegistry::new(vec![a, b]).unwrap_err(),
            RegistryError::DuplicateTool("exec_shell".into())
        );
    }

    #[test]
    fn classification_follows_manifest_and_shell() {
        let (registry, _) = registry();
        let read = registry.classify(&ToolCall::get_logs("x", "geo")).unwrap();
        assert_eq!(read.access, Access::Read);
        assert_eq!(read.resource, "x/logs/geo");
        let shell_read = registry
            .classify(&ToolCall::exec_shell("kubectl get pods -n x"))
            .unwrap();
        assert_eq!(shell_read.access, Access::Read);
        let shell_write = registry
            .classify(&ToolCall::exec_shell("kubectl delete pod geo-1 -n x"))
            .unwrap();
        assert_eq!(shell_write.access, Access::Write);
        assert_eq!(shell_write.action, "kubectl delete");
        assert_eq!(shell_write.namespace.as_deref(), Some("x"));
        assert_eq!(shell_write.resource, "x/pod/geo-1");
        let manifest_write = registry
            .classify(
                &ToolCall::new("restart_service")
                    .arg("namespace", "x")
                    .arg("service", "geo"),
            )
            .unwrap();
        assert_eq!(manifest_write.access, Access::Write);
        let unknown = registry
            .classify(&ToolCall::new("format_disk"))
            .unwrap_err();
        assert_eq!(unknown.kind, RefusalKind::UnknownTool);
        let bad = registry.classify(&ToolCall::new("exec_shell")).unwrap_err();
        assert_eq!(bad.kind, RefusalKind::BadArguments);
    }

    #[test]
    fn probe_docs_hold_only_reads() {
        let (registry, _) = registry();
        let names: Vec<String> = registry.read_docs().into_iter().map(|d| d.name).collect();
        assert!(names.contains(&"exec_shell".to_string()));
        assert!(names.contains(&"get_logs".to_string()));
        assert!(!names.contains(&"restart_service".to_string()));
    }

    #[tokio::test]
    async fn read_only_handle_refuses_writes_and_never_calls_the_toolset() {
        let (registry, toolset) = registry();
        let probe = registry.read_only();
        for call in [
            ToolCall::exec_shell("kubectl delete pod geo-1 -n x"),
            ToolCall::exec_shell(
                "kubectl exec mongodb-geo-0 -n x -- mongo --eval 'db.dropDatabase()'",
            ),
            ToolCall::exec_shell("kubectl get pods; kubectl delete ns x"),
            ToolCall::new("restart_service")
                .arg("namespace", "x")
                .arg("service", "geo"),
        ] {
            let refused = probe.authorize(call.clone()).unwrap_err();
            assert_eq!(refused.kind, RefusalKind::NotRead, "{call}");
        }
        assert!(toolset.calls().is_empty());
        let read = probe
            .authorize(ToolCall::exec_shell("kubectl get pods -n x"))
            .unwrap();
        let output = probe.call(&read).await;
        assert!(!output.is_error);
        assert_eq!(
            toolset.calls(),
            vec![ToolCall::exec_shell("kubectl get pods -n x")]
        );
    }

    #[tokio::test]
    async fn gated_handle_runs_writes_only_when_the_gate_allows() {
        let (registry, toolset) = registry();
        let delete = ToolCall::exec_shell("kubectl delete pod geo-1 -n x");
        let deny = DenyAllGate;
        let denied = registry
            .gated(&deny, "s1", "aoi-agent")
            .call(&delete)
            .await
            .unwrap();
        assert!(!denied.executed());
        assert_eq!(
            denied.gate.as_ref().map(|g| g.outcome),
            Some(GateOutcome::Denied)
        );
        assert!(toolset.calls().is_empty());

        let read = registry
            .gated(&deny, "s1", "aoi-agent")
            .call(&ToolCall::exec_shell("kubectl get pods -n x"))
            .await
            .unwrap();
        assert!(read.executed());
        assert!(read.gate.is_none());
        assert_eq!(read.classified.access, Access::Read);

        let auto = AutoGate;
        let allowed = registry
            .gated(&auto, "s1", "aoi-agent")
            .call(&delete)
            .await
            .unwrap();
        assert!(allowed.executed());
        let record = allowed.gate.unwrap();
        assert_eq!(record.outcome, GateOutcome::Allowed);
        assert_eq!(record.rule, "guardrail:auto");
        assert_eq!(record.actor, "aoi-agent");
        assert_eq!(toolset.calls().last(), Some(&delete));
        let context = toolset.contexts().last().cloned().unwrap();
        assert_eq!(context.actor.as_deref(), Some("aoi-agent"));
        assert_eq!(context.approved_by, None, "an auto-allowed write has no approver");
    }

    struct Yes;

    #[async_trait::async_trait]
    impl crate::gate::Approver for Yes {
        async fn ask(&self, _: &crate::gate::WriteRequest) -> Option<crate::gate::Approval> {
            Some(crate::gate::Approval {
                approver: "user:alice".into(),
                reason: "fine".into(),
            })
        }
    }

    #[tokio::test]
    async fn an_approved_write_reaches_the_plugin_with_its_approver() {
        let (registry, toolset) = registry();
        let gate = crate::gate::GuardrailGate::new(
            vec![],
            crate::gate::GuardrailDecision::Ask,
            Some(Arc::new(Yes)),
        );
        let delete = ToolCall::exec_shell("kubectl delete pod geo-1 -n x");
        let done = registry.gated(&gate, "s9", "aoi-agent").call(&delete).await.unwrap();
        assert_eq!(done.gate.unwrap().outcome, GateOutcome::Approved);
        let context = toolset.contexts().last().cloned().unwrap();
        assert_eq!(context.approved_by.as_deref(), Some("user:alice"));
        assert_eq!(context.actor.as_deref(), Some("user:alice"));
        assert_eq!(context.session_id.as_deref(), Some("s9"));
    }
}
