//! `[learning]` and `[evolver]`: how runs are rewarded for training, and how the evolver drafts
//! and approves corrective signals.

use serde::{Deserialize, Serialize};

/// `[learning]`
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearningConfig {
    /// `[learning.rewards]`: the weights of the step reward; each key is optional and defaults
    /// to [`aoi_learning::RewardWeights::default`].
    pub rewards: aoi_learning::RewardWeights,
}

/// `evolver.teacher`: what drafts the repaired plan of a failed session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvolverTeacher {
    /// The built-in playbook replayed on a twin reproduction; sessions on environments no twin
    /// reproduces go to the model when the platform has an inference pool, else are skipped.
    #[default]
    Builtin,
    /// A model (`evolver.teacher_model`) through the `[[inference.backends]]` pool: on a twin
    /// it plays the problem and its plan is replayed to verify it; elsewhere it drafts a plan
    /// from the failed run, left unverified for review.
    Model,
}

/// The words `evolver.teacher` accepts.
pub const EVOLVER_TEACHERS: &[&str] = &["builtin", "model"];

/// `[evolver]`
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvolverConfig {
    /// What drafts repaired plans.
    pub teacher: EvolverTeacher,
    /// The model the teacher asks the pool for; empty means `inference.model`.
    pub teacher_model: String,
    /// Whether a draft verified on the twin is stored approved (reviewer `aoi-evolver`)
    /// instead of waiting for review.
    pub auto_approve_verified: bool,
}

impl EvolverConfig {
    /// The model the teacher asks for: `teacher_model`, or `inference_model` when empty.
    pub fn teacher_model<'a>(&'a self, inference_model: &'a str) -> &'a str {
        if self.teacher_model.trim().is_empty() {
            inference_model
        } else {
            self.teacher_model.trim()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::{Config, ConfigError};
    use super::*;

    fn load(file: &str) -> Result<Config, ConfigError> {
        Config::load_str(Some((file, "aoi.toml")), Vec::new())
    }

    #[test]
    fn reward_weights_default_and_may_be_set_one_by_one() {
        let config = load("").unwrap();
        assert_eq!(
            config.learning.rewards,
            aoi_learning::RewardWeights::default()
        );
        let config = load("[learning.rewards]\nsuccess = 2\nrefused_write = -1.25\n").unwrap();
        assert_eq!(config.learning.rewards.success, 2.0);
        assert_eq!(config.learning.rewards.refused_write, -1.25);
        assert_eq!(
            config.learning.rewards.format,
            aoi_learning::RewardWeights::default().format
        );
        let env = vec![(
            "AOI__LEARNING__REWARDS__TARGETS".to_string(),
            "0.5".to_string(),
        )];
        let config = Config::load_str(None, env).unwrap();
        assert_eq!(config.learning.rewards.targets, 0.5);
    }

    #[test]
    fn non_finite_or_unknown_reward_weights_are_refused_naming_the_key() {
        let err = load("[learning.rewards]\nformat = nan\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("learning.rewards.format"), "{err}");
        assert!(err.contains("finite"), "{err}");
        let err = load("[learning.rewards]\nsuccess = inf\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("learning.rewards.success"), "{err}");
        let err = load("[learning.rewards]\nbonus = 1.0\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown configuration key learning.rewards.bonus"),
            "{err}"
        );
        let env = vec![(
            "AOI__LEARNING__REWARDS__CALIBRATION".to_string(),
            "-inf".to_string(),
        )];
        let err = Config::load_str(None, env).unwrap_err().to_string();
        assert!(err.contains("learning.rewards.calibration"), "{err}");
        let env = vec![(
            "AOI__LEARNING__REWARDS__CALIBRATION".to_string(),
            "high".to_string(),
        )];
        let err = Config::load_str(None, env).unwrap_err().to_string();
        assert!(err.contains("learning.rewards.calibration"), "{err}");
    }

    #[test]
    fn evolver_and_record_exchanges_keys_load() {
        let config = load("").unwrap();
        assert!(config.workers.record_exchanges);
        assert_eq!(config.evolver, EvolverConfig::default());
        assert_eq!(config.evolver.teacher_model("base"), "base");
        let config = load(
            "[workers]\nrecord_exchanges = false\n[evolver]\nteacher = \"model\"\nteacher_model = \"teacher-7b\"\nauto_approve_verified = true\n[[inference.backends]]\nname = \"a\"\nurl = \"http://vllm:8000\"\n",
        )
        .unwrap();
        assert!(!config.workers.record_exchanges);
        assert_eq!(config.evolver.teacher, EvolverTeacher::Model);
        assert_eq!(config.evolver.teacher_model("base"), "teacher-7b");
        assert!(config.evolver.auto_approve_verified);
        let err = load("[evolver]\nteacher = \"oracle\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("evolver.teacher"), "{err}");
        assert!(err.contains("builtin, model"), "{err}");
        let err = load("[evolver]\nteacher = \"model\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("evolver.teacher"), "{err}");
        assert!(err.contains("[[inference.backends]]"), "{err}");
    }
}
