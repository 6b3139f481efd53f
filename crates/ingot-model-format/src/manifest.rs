//! The JSON manifest describing a model: what it predicts, from what, and how it was trained.

use ingot_core::{Hyperparameters, Metrics, Schema, Task};
use serde::{Deserialize, Serialize};

/// Everything needed to understand and serve a model without running algorithm code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Container format version the file was written with.
    pub format_version: u16,
    /// Registered algorithm name, e.g. `linear-learner`.
    pub algorithm: String,
    /// Version of the algorithm's payload encoding.
    pub algorithm_version: u32,
    /// What the model predicts.
    pub task: Task,
    /// Name of the target column; `None` for unsupervised models (absent in such files).
    #[serde(default)]
    pub target: Option<String>,
    /// Feature columns the model consumes (target and dropped columns excluded).
    pub input_schema: Schema,
    /// Class labels in probability-column order (classification only).
    pub classes: Option<Vec<String>>,
    /// Hyperparameters as given by the user.
    pub hyperparameters: Hyperparameters,
    /// Every parameter with defaults filled in.
    pub resolved_parameters: serde_json::Value,
    /// The fitted preprocessing, human-readable.
    pub preprocessing: serde_json::Value,
    /// Validation metrics.
    pub metrics: Metrics,
    /// Rows used for fitting.
    pub training_rows: u64,
    /// Rows used for validation metrics.
    pub validation_rows: u64,
    /// Per-feature importance, for algorithms that report it (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_importance: Option<Vec<FeatureImportance>>,
}

/// How much one input feature was used by a model (e.g. tree splits on it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    /// Input column name.
    pub feature: String,
    /// Number of splits on the feature.
    pub splits: u64,
    /// Total loss reduction (gain) of those splits.
    pub gain: f64,
}
