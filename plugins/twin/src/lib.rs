//! aoi-twin: a simulated Kubernetes cluster that behaves like the one AIOpsLab deploys.
//!
//! It owns the cluster model and its consequences ([`cluster`]), the kubectl surface
//! ([`kubectl`]), logs, metrics and traces ([`telemetry`]), suites as data ([`suite`]), the
//! AIOpsLab-shaped tool surface ([`tools`]) and the evaluator ([`oracle`]). Policies never
//! depend on this crate: they see only what its tools print.

pub mod cluster;
pub mod faults;
pub mod kubectl;
pub mod oracle;
pub mod env;
pub mod plugin;
pub mod suite;
pub mod telemetry;
