//! aoi-core: the domain types and ports every other AOI crate speaks.
//!
//! It owns what a task looks like to an agent ([`TaskSpec`], [`Submission`]), what a tool call is
//! ([`ToolCall`], [`Access`]), what a session records ([`Trajectory`], [`Step`]) and the port a
//! decision maker implements ([`Policy`]). It must not depend on web, database, queue or HTTP
//! crates, nor on any plugin: a policy that only sees these types cannot read a twin's injected
//! fault or a problem's answer.

pub mod policy;
pub mod task;
pub mod tool;
pub mod trajectory;

pub use policy::{
    ChatMessage, ChatRole, CompressInput, ContextEntry, ModelExchange, NextAction,
    ObserverDecision, ObserverView, Policy, PolicyError, Reply, RoleRequest, Usage,
};
pub use task::{FaultType, Submission, SystemLevel, TaskSpec, TaskType};
pub use tool::{Access, ToolCall, ToolDoc, ToolOutput};
pub use trajectory::{GateOutcome, GateRecord, Role, SessionOutcome, Step, Trajectory};
