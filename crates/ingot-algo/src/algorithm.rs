//! The algorithm contract (fit / load), the estimator contract (predict / serialize), training
//! inputs and events, and the registry of built-in algorithms.

use std::sync::atomic::{AtomicBool, Ordering};

use arrow_array::RecordBatch;
use ingot_core::Hyperparameters;
use ingot_model_format::Manifest;

use crate::{Error, Predictions, Result};

/// Hyperparameters consumed by the training pipeline itself rather than by an algorithm.
pub const PIPELINE_HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "predictor_type",
        default: "auto",
        description: "auto, regressor, binary_classifier or multiclass_classifier",
    },
    HyperparameterSpec {
        name: "drop_missing_target",
        default: "false",
        description: "skip rows without a target value instead of failing",
    },
];

/// Something that happened during training, for logs and progress bars.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    /// A human-readable line.
    Log(String),
    /// `done` of `total` units of work finished (e.g. optimizer iterations).
    Progress { done: u64, total: u64 },
    /// One point of a metric series (e.g. training loss per iteration).
    Metric { name: String, step: u64, value: f64 },
}

/// What an algorithm gets besides data: cancellation, parallelism, seed and an event sink.
pub struct FitContext<'a> {
    /// Set to `true` (from any thread) to stop training with [`Error::Cancelled`].
    pub cancel: &'a AtomicBool,
    /// Worker threads to use: 1 means the calling thread only, 0 means rayon's global pool.
    /// Results never depend on it.
    pub threads: usize,
    /// Seed for any randomness.
    pub seed: u64,
    /// Receives training events.
    pub events: &'a mut dyn FnMut(TrainEvent),
}

impl FitContext<'_> {
    /// Sends an event.
    pub fn emit(&mut self, event: TrainEvent) {
        (self.events)(event);
    }

    /// Sends a log line.
    pub fn log(&mut self, message: impl Into<String>) {
        self.emit(TrainEvent::Log(message.into()));
    }

    /// `Err(Error::Cancelled)` once cancellation was requested.
    pub fn check_cancelled(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Documentation of one hyperparameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HyperparameterSpec {
    /// The `--hp` key.
    pub name: &'static str,
    /// The default value, as text.
    pub default: &'static str,
    /// One line of help.
    pub description: &'static str,
}

/// The training target, aligned with the feature rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Real values.
    Regression(Vec<f64>),
    /// Indices into `classes` (the sorted class labels).
    Classification {
        classes: Vec<String>,
        labels: Vec<usize>,
    },
    /// No target (unsupervised algorithms): only the number of rows.
    Unsupervised { rows: usize },
}

impl Target {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Target::Regression(values) => values.len(),
            Target::Classification { labels, .. } => labels.len(),
            Target::Unsupervised { rows } => *rows,
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `indices` (which must be in range).
    pub fn take(&self, indices: &[usize]) -> Target {
        match self {
            Target::Regression(values) => Target::Regression(
                indices
                    .iter()
                    .filter_map(|&i| values.get(i).copied())
                    .collect(),
            ),
            Target::Classification { classes, labels } => Target::Classification {
                classes: classes.clone(),
                labels: indices
                    .iter()
                    .filter_map(|&i| labels.get(i).copied())
                    .collect(),
            },
            Target::Unsupervised { rows } => Target::Unsupervised {
                rows: indices.iter().filter(|&&i| i < *rows).count(),
            },
        }
    }
}

/// Features (input columns only) and the aligned target.
#[derive(Debug, Clone)]
pub struct TrainingData {
    /// One column per model input, canonical Arrow types.
    pub features: RecordBatch,
    /// One target value per row.
    pub target: Target,
}

/// A learning algorithm: fits estimators and revives them from model files.
pub trait Algorithm: Send + Sync {
    /// Registry name, e.g. `linear-learner`.
    fn name(&self) -> &'static str;
    /// One line for listings.
    fn description(&self) -> &'static str;
    /// The hyperparameters it accepts.
    fn hyperparameters(&self) -> &'static [HyperparameterSpec];
    /// Version of the payload this build writes (and the newest it reads).
    fn version(&self) -> u32 {
        1
    }
    /// `Some(task)` for unsupervised algorithms, which train without a target column and
    /// always solve that task; `None` (the default) for supervised ones.
    fn unsupervised_task(&self) -> Option<ingot_core::Task> {
        None
    }
    /// Whether the algorithm can be trained for `task` (used by the conformance suite to pick
    /// its fixtures). Default: the unsupervised task if any, else every supervised task;
    /// override when only some apply (e.g. no multiclass).
    fn supports(&self, task: ingot_core::Task) -> bool {
        match self.unsupervised_task() {
            Some(own) => own == task,
            None => task.is_supervised(),
        }
    }
    /// Fits an estimator.
    fn fit(
        &self,
        train: &TrainingData,
        validation: Option<&TrainingData>,
        params: &Hyperparameters,
        ctx: &mut FitContext,
    ) -> Result<Box<dyn Estimator>>;
    /// Revives an estimator from a model file's manifest and payload.
    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>>;
}

/// A fitted model.
pub trait Estimator: Send + Sync {
    /// Predicts for a batch whose columns conform to the model's input schema.
    fn predict(&self, features: &RecordBatch) -> Result<Predictions>;
    /// The fitted preprocessing, human-readable.
    fn preprocessing(&self) -> serde_json::Value;
    /// Every parameter with defaults filled in.
    fn resolved_parameters(&self) -> serde_json::Value;
    /// The bytes [`Algorithm::load`] accepts.
    fn payload(&self) -> Vec<u8>;
    /// Metrics measured on the training data while fitting (e.g. k-means inertia, PCA
    /// explained variance); recorded in the manifest beside the validation metrics.
    fn training_metrics(&self) -> ingot_core::Metrics {
        ingot_core::Metrics::default()
    }
    /// Per-input-feature importance, for models that measure it (trees); `None` otherwise.
    fn feature_importance(&self) -> Option<Vec<crate::FeatureImportance>> {
        None
    }
    /// Per-feature attributions (SHAP values) of the raw scores for a batch conformed to the
    /// model's input schema; `None` when the model cannot explain itself (the default).
    fn shap_values(&self, features: &RecordBatch) -> Option<Result<crate::Attributions>> {
        let _ = features;
        None
    }
    /// Whether [`Estimator::predict_dense`] answers: the model reads its input columns as raw
    /// numbers in schema order (imported tree models), so callers may skip building a batch.
    fn reads_dense_rows(&self) -> bool {
        false
    }
    /// Predicts for `rows` rows of raw input values, row-major in input-schema order with NaN
    /// for missing values; the same predictions as [`Estimator::predict`] on a batch holding
    /// those values. `None` (the default) when the model needs a batch.
    fn predict_dense(&self, values: &[f64], rows: usize) -> Option<Result<Predictions>> {
        let _ = (values, rows);
        None
    }
}

/// Rejects model files written by a newer version of `algorithm` than this build reads.
pub fn check_version(manifest: &Manifest, algorithm: &str, supported: u32) -> Result<()> {
    if manifest.algorithm_version > supported {
        return Err(Error::UnsupportedAlgorithmVersion {
            algorithm: algorithm.to_string(),
            found: manifest.algorithm_version,
            supported,
        });
    }
    Ok(())
}

/// Rejects hyperparameter keys neither the algorithm nor the pipeline knows.
pub fn check_hyperparameter_keys(
    algorithm: &dyn Algorithm,
    params: &Hyperparameters,
) -> Result<()> {
    let valid: Vec<&str> = algorithm
        .hyperparameters()
        .iter()
        .chain(PIPELINE_HYPERPARAMETERS)
        .map(|spec| spec.name)
        .collect();
    if let Some(key) = params.unknown_keys(&valid).next() {
        return Err(Error::UnknownHyperparameter {
            key: key.to_string(),
            algorithm: algorithm.name().to_string(),
            valid: valid.join(", "),
        });
    }
    Ok(())
}
