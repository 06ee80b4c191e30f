//! The local policy's model: a linear scorer over named binary features, stored as JSON.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The `format` field every model file carries.
pub const MODEL_FORMAT: &str = "aoi-local-policy";
/// The version this build reads and writes.
pub const MODEL_VERSION: u32 = 1;
/// Score added to a candidate whose command a lesson names in backticks.
pub const DEFAULT_LESSON_BONUS: f64 = 2.0;

/// How a model was trained (informational).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingMeta {
    pub suite: String,
    pub held_out: Vec<String>,
    pub seed: u64,
    pub epochs: u32,
    pub group_size: u32,
    pub temperature: f64,
    pub learning_rate: f64,
    pub kl_beta: f64,
    /// Held-out avg@1 before and after training, as the trainer measured it.
    pub held_out_before: Option<f64>,
    pub held_out_after: Option<f64>,
}

/// A linear model: `score(candidate) = sum of the weights of its features`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalModel {
    pub format: String,
    pub version: u32,
    /// Feature name -> weight; a feature absent here weighs zero.
    pub weights: BTreeMap<String, f64>,
    /// Added to the score of candidates that a lesson names.
    pub lesson_bonus: f64,
    pub training: TrainingMeta,
}

impl Default for LocalModel {
    fn default() -> Self {
        LocalModel {
            format: MODEL_FORMAT.to_string(),
            version: MODEL_VERSION,
            weights: BTreeMap::new(),
            lesson_bonus: DEFAULT_LESSON_BONUS,
            training: TrainingMeta::default(),
        }
    }
}

/// Why a model file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("model file {path} is not valid JSON for a local policy model: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("model file {path} has format `{found}`, expected `{MODEL_FORMAT}`")]
    Format { path: String, found: String },
    #[error(
        "model file {path} is version {found}; this build reads version {MODEL_VERSION} only (retrain with `aoi train --policy local`)"
    )]
    Version { path: String, found: u32 },
    #[error("model file {path}: weight of feature `{feature}` is not finite")]
    NotFinite { path: String, feature: String },
}

impl LocalModel {
    /// The untrained model: every weight zero, so sampling is uniform over the candidates.
    pub fn zeros() -> Self {
        Self::default()
    }

    /// The weight of one feature.
    pub fn weight(&self, feature: &str) -> f64 {
        self.weights.get(feature).copied().unwrap_or(0.0)
    }

    /// The linear score of a feature set.
    pub fn score(&self, features: &[String]) -> f64 {
        features.iter().map(|f| self.weight(f)).sum()
    }

    /// Parses a model from JSON text; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, ModelError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| ModelError::Parse {
                path: origin.to_string(),
                source,
            })?;
        let format = value
            .get("format")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        if format != MODEL_FORMAT {
            return Err(ModelError::Format {
                path: origin.to_string(),
                found: format,
            });
        }
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(MODEL_VERSION) {
            return Err(ModelError::Version {
                path: origin.to_string(),
                found: u32::try_from(version).unwrap_or(u32::MAX),
            });
        }
        let model: LocalModel =
            serde_json::from_value(value).map_err(|source| ModelError::Parse {
                path: origin.to_string(),
                source,
            })?;
        if let Some((feature, _)) = model.weights.iter().find(|(_, w)| !w.is_finite()) {
            return Err(ModelError::NotFinite {
                path: origin.to_string(),
                feature: feature.clone(),
            });
        }
        Ok(model)
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: origin.clone(),
            source,
        })?;
        Self::from_json(&text, &origin)
    }

    /// Writes the model as pretty JSON (through a temporary file, then a rename).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let origin = path.display().to_string();
        let io = |source| ModelError::Io {
            path: origin.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|source| ModelError::Parse {
            path: origin.clone(),
            source,
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|source| ModelError::Io {
            path: origin.clone(),
            source,
        })
    }
}
