//! The fitted random forest: averaged tree outputs (class probabilities or values), feature
//! importance, the out-of-bag score as a training metric, and its JSON payload.

use arrow_array::RecordBatch;
use ingot_algo::preprocess::Preprocessor;
use ingot_algo::{Attributions, Error, Estimator, FeatureImportance, Predictions, Result};
use serde::{Deserialize, Serialize};

use super::params::ForestParams;
use super::NAME;
use crate::packed::PackedCache;
use crate::tree::Tree;

/// Index of the largest value (the first on ties).
pub(super) fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// A fitted random forest, also its payload (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestModel {
    /// Resolved parameters.
    pub params: ForestParams,
    /// Class labels (classification).
    pub classes: Option<Vec<String>>,
    /// Trees per forest member: 1 for regression and binary classification (class-1
    /// probability), else one per class.
    pub outputs: usize,
    /// The native preprocessing (raw numbers with NaN, category codes).
    pub preprocessor: Preprocessor,
    /// Trees, member-major: tree `t` is output `t % outputs`.
    pub trees: Vec<Tree>,
    /// Out-of-bag accuracy or R², when measured.
    pub oob_score: Option<f64>,
    /// The trees packed for few-row scoring, on first use.
    #[serde(skip)]
    pub(crate) packed: PackedCache,
}

impl ForestModel {
    /// Parses and validates a payload.
    pub fn from_payload(payload: &[u8]) -> Result<ForestModel> {
        let invalid = |reason: String| Error::InvalidPayload {
            algorithm: NAME,
            reason,
        };
        let mut model: ForestModel =
            serde_json::from_slice(payload).map_err(|e| invalid(e.to_string()))?;
        model.preprocessor.validate().map_err(invalid)?;
        let consistent = match &model.classes {
            None => model.outputs == 1,
            Some(c) if c.len() == 2 => model.outputs == 1,
            Some(c) => c.len() > 2 && model.outputs == c.len(),
        };
        if !consistent || model.trees.is_empty() || !model.trees.len().is_multiple_of(model.outputs)
        {
            return Err(invalid("classes, outputs and trees disagree".to_string()));
        }
        let n_features = model.preprocessor.n_features();
        for (i, tree) in model.trees.iter_mut().enumerate() {
            tree.validate(n_features)
                .map_err(|e| invalid(format!("tree {i}: {e}")))?;
            tree.rebuild();
        }
        Ok(model)
    }

    /// Values per predicted row: class probabilities, or 1 for regression.
    pub fn prediction_width(&self) -> usize {
        self.classes.as_ref().map_or(1, Vec::len)
    }

    /// Turns a row whose first `outputs` values hold summed tree outputs into its prediction.
    fn finish(&self, row: &mut [f64]) {
        let members = (self.trees.len() / self.outputs) as f64;
        match (&self.classes, self.outputs) {
            (None, _) => row[0] /= members,
            (Some(_), 1) => {
                let p = (row[0] / members).clamp(0.0, 1.0);
                row[0] = 1.0 - p;
                row[1] = p;
            }
            (Some(_), k) => {
                let mut sum = 0.0;
                for v in &mut row[..k] {
                    *v = v.max(0.0);
                    sum += *v;
                }
                for v in &mut row[..k] {
                    *v = if sum > 0.0 { *v / sum } else { 1.0 / k as f64 };
                }
            }
        }
    }

    /// Predicts a row-major raw matrix (`rows × n_features`) into row-major outputs.
    pub fn predict_matrix(&self, data: &[f64], rows: usize) -> Vec<f64> {
        crate::ensemble::score_matrix(
            (&self.trees, self.packed.forest(&self.trees)),
            data,
            rows,
            self.preprocessor.n_features(),
            (self.prediction_width(), self.outputs),
            |_| {},
            |row| self.finish(row),
        )
    }

    /// Split counts and total gain (weighted squared-error reduction) per input feature.
    pub fn importance(&self) -> Vec<FeatureImportance> {
        crate::ensemble::feature_importance(&self.preprocessor.feature_names, &self.trees)
    }

    /// Exact TreeSHAP attributions of the averaged tree outputs (before clamping and
    /// normalization), covers being the bootstrap weights.
    pub fn explain(&self, features: &RecordBatch) -> Result<Attributions> {
        let x = self.preprocessor.transform(features)?;
        let members = (self.trees.len() / self.outputs) as f64;
        Ok(crate::shap::attributions(
            &self.trees,
            (self.outputs, 1.0 / members, crate::shap::Cover::Hessian),
            &[],
            self.classes.as_deref(),
            &self.preprocessor.feature_names,
            &x.data,
            x.rows,
        ))
    }
}

impl Estimator for ForestModel {
    fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let x = self.preprocessor.transform(features)?;
        let values = self.predict_matrix(&x.data, x.rows);
        Ok(Predictions::supervised(self.classes.as_deref(), values))
    }

    fn preprocessing(&self) -> serde_json::Value {
        serde_json::to_value(&self.preprocessor).unwrap_or_default()
    }

    fn resolved_parameters(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.params).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("trees".into(), serde_json::Value::from(self.trees.len()));
        }
        value
    }

    fn payload(&self) -> Vec<u8> {
        // Plain structs of finite numbers and strings always serialize.
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn training_metrics(&self) -> ingot_core::Metrics {
        let mut metrics = ingot_core::Metrics::default();
        if let Some(score) = self.oob_score {
            metrics.insert("oob_score", score);
        }
        metrics
    }

    fn feature_importance(&self) -> Option<Vec<FeatureImportance>> {
        Some(self.importance())
    }

    fn shap_values(&self, features: &RecordBatch) -> Option<Result<Attributions>> {
        Some(self.explain(features))
    }
}
