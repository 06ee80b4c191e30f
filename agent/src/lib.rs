//! aoi-agent: the AOI loop (Observer, Probe, Executor, Compressor) and its safety boundary.
//!
//! It owns the session loop ([`run_session`]), the tool gateway ([`ToolRegistry`] and the two
//! handles roles hold: [`ReadOnlyTools`] for the Probe, [`GatedWriteTools`] for the Executor),
//! the `exec_shell` classifier ([`classify_shell`], fail closed) and the write gate
//! ([`WriteGate`], [`AutoGate`], [`DenyAllGate`], [`GuardrailGate`]).
//!
//! It depends on aoi-core and aoi-plugin-sdk only: no web, database, HTTP or plugin crate, and
//! no policy implementation. Safety comes from types here, not from what a policy promises.

pub mod gate;
pub mod session;
pub mod shell;
pub mod testing;
pub mod tools;

pub use gate::{
    Approval, Approver, AutoGate, DenyAllGate, GuardrailDecision, GuardrailGate, GuardrailRule,
    WriteGate, WriteRequest,
};
pub use session::{SessionConfig, StepHook, run_session};
pub use shell::{KubectlRead, KubectlTarget, ShellClass, classify_shell, kubectl_target};
pub use tools::{
    Classified, GatedResult, GatedWriteTools, ReadCall, ReadOnlyTools, RefusalKind, Refused,
    RegistryError, ToolRegistry,
};
