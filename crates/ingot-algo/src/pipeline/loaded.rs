//! Loading model files for prediction, and computing validation metrics.

use arrow_array::RecordBatch;
use ingot_core::Metrics;
use ingot_model_format::{Manifest, ModelFile};

use crate::{algorithm, Error, Estimator, Predictions, Result, Target};

/// A decoded model ready to predict.
pub struct LoadedModel {
    /// The model's manifest.
    pub manifest: Manifest,
    estimator: Box<dyn Estimator>,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

impl LoadedModel {
    /// Decodes and verifies a model file and revives its estimator.
    pub fn from_bytes(bytes: &[u8]) -> Result<LoadedModel> {
        let file = ModelFile::decode(bytes)?;
        let manifest = file.manifest;
        let algo = algorithm(&manifest.algorithm).ok_or_else(|| Error::UnknownAlgorithm {
            name: manifest.algorithm.clone(),
            available: crate::algorithms()
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        if manifest.algorithm_version > algo.version() {
            return Err(Error::UnsupportedAlgorithmVersion {
                algorithm: manifest.algorithm.clone(),
                found: manifest.algorithm_version,
                supported: algo.version(),
            });
        }
        let estimator = algo.load(&manifest, &file.payload)?;
        Ok(LoadedModel {
            manifest,
            estimator,
        })
    }

    /// The revived estimator (for callers that conform batches themselves).
    pub fn estimator(&self) -> &dyn Estimator {
        self.estimator.as_ref()
    }

    /// Predicts for a batch. Columns are selected by name and converted to the input schema's
    /// types first, so extra columns are ignored and a missing one is an error naming it.
    pub fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let conformed = ingot_data::conform_batch(features, &self.manifest.input_schema)?;
        self.estimator.predict(&conformed)
    }
}

/// Validation metrics of `predictions` against `target`. Classification: `accuracy`, `auc`
/// (ROC AUC of `classes[1]` for two classes, one-vs-rest macro otherwise), `log_loss`, `f1`
/// (of `classes[1]` for two classes, macro otherwise). Regression: `rmse`, `mae`, `r2`.
/// Metrics that are undefined (e.g. AUC with a single class present) are left out.
pub fn evaluate(target: &Target, predictions: &Predictions) -> Metrics {
    let mut metrics = Metrics::default();
    let mut put = |name: &str, value: Option<f64>| {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            metrics.insert(name, v);
        }
    };
    match (target, predictions) {
        (Target::Regression(y), Predictions::Regression { values }) => {
            put("rmse", ingot_metrics::rmse(y, values).ok());
            put("mae", ingot_metrics::mae(y, values).ok());
            put("r2", ingot_metrics::r2(y, values).ok());
        }
        (
            Target::Classification { classes, labels },
            Predictions::Classification { probabilities, .. },
        ) => {
            let k = classes.len();
            let predicted = predictions.predicted_indices().unwrap_or_default();
            put("accuracy", ingot_metrics::accuracy(labels, &predicted).ok());
            put(
                "log_loss",
                ingot_metrics::log_loss(labels, probabilities, k).ok(),
            );
            if k == 2 {
                let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
                let scores: Vec<f64> = probabilities.chunks_exact(2).map(|r| r[1]).collect();
                put(
                    "auc",
                    ingot_metrics::roc_auc(&positive, &scores).ok().flatten(),
                );
                put("f1", ingot_metrics::f1(labels, &predicted, 1).ok());
            } else {
                let auc = ingot_metrics::roc_auc_ovr_macro(labels, probabilities, k);
                put("auc", auc.ok().flatten());
                put("f1", ingot_metrics::f1_macro(labels, &predicted).ok());
            }
        }
        _ => {}
    }
    metrics
}
