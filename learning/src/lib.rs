//! aoi-learning: what AOI learns from its own runs.
//!
//! It owns failure mining into the paper's patterns A to F with the first step that went wrong
//! ([`patterns`]), step and trajectory rewards with configurable weights ([`rewards`]), the GRPO
//! arithmetic (group-relative advantages, clipped surrogate, k3 KL and their derivatives,
//! [`grpo`]), and the GRPO / SFT / DPO dataset exports with their manifest ([`dataset`], format in
//! `docs/datasets.md`).
//!
//! It depends on `aoi-core` only: the evaluator's verdict and a teacher's reference run come in
//! as plain data ([`patterns::Verdict`], [`patterns::ReferenceRun`]) filled by the caller. It
//! must not depend on the twin, the agent runtime, or any server, store or web crate.

pub mod dataset;
pub mod grpo;
pub mod patterns;
pub mod rewards;
pub mod scores;
pub mod targets;
pub mod trace;

pub use dataset::{
    Dataset, DatasetError, DatasetKind, DatasetRow, DatasetRows, DatasetWriter, DpoRow, ExportMeta,
    GrpoRow, InMemoryExport, Manifest, Message, MessageRole, SftRow, SftSource, export_in_memory,
    read_dataset,
};
pub use grpo::{GrpoConfig, GrpoTerm, group_advantages, grpo_objective};
pub use patterns::{FailurePattern, Mining, ReferenceRun, TaskInfo, Verdict, mine};
pub use scores::SuccessRates;
pub use rewards::{RewardWeights, StepInput, TrajectoryReward, step_reward, trajectory_reward};
