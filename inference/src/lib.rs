//! aoi-inference: policies that decide the agent's next action. Depends on aoi-core and
//! aoi-router only among AOI crates: it never sees the twin, so it cannot read an injected fault
//! or an answer.
//!
//! - [`llm`]: the `llm` policy, any OpenAI-compatible chat endpoint (vLLM in production).
//! - [`prompts`]: the paper's role prompts, with tool output marked as untrusted data.
//! - [`recording`]: model exchanges for policies that make no model call ([`recording::recorded`]),
//!   and the prompt and reply renderers dataset builders use.

pub mod llm;
pub mod privacy;
pub mod prompts;
pub mod recording;

pub use llm::{LlmConfig, LlmPolicy};
pub use privacy::{RedactionPolicy, Redactor};

pub mod builtin;
pub mod local;
