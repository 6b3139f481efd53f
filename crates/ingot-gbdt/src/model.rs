//! The fitted GBDT model: batch prediction (row blocks in parallel, trees applied block by
//! block), an allocation-free single-row path, feature importance, and its JSON payload.

use arrow_array::RecordBatch;
use ingot_algo::preprocess::Preprocessor;
use ingot_algo::{Attributions, Error, Estimator, FeatureImportance, Predictions, Result};
use serde::{Deserialize, Serialize};

use crate::objective::Objective;
use crate::packed::PackedCache;
use crate::params::{GbdtParams, ObjectiveKind};
use crate::tree::Tree;
use crate::NAME;

/// A fitted gradient-boosted tree ensemble, also its payload (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtModel {
    /// Resolved parameters.
    pub params: GbdtParams,
    /// The objective trained.
    pub objective: Objective,
    /// Class labels (classification).
    pub classes: Option<Vec<String>>,
    /// The native preprocessing (raw numbers with NaN, category codes).
    pub preprocessor: Preprocessor,
    /// Initial raw score per output.
    pub base_score: Vec<f64>,
    /// Trees, round-major: tree `t` adds to output `t % outputs`.
    pub trees: Vec<Tree>,
    /// The trees packed for few-row scoring, on first use.
    #[serde(skip)]
    pub(crate) packed: PackedCache,
}

impl GbdtModel {
    /// Parses and validates a payload.
    pub fn from_payload(payload: &[u8]) -> Result<GbdtModel> {
        let invalid = |reason: String| Error::InvalidPayload {
            algorithm: NAME,
            reason,
        };
        let mut model: GbdtModel =
            serde_json::from_slice(payload).map_err(|e| invalid(e.to_string()))?;
        model.preprocessor.validate().map_err(invalid)?;
        let outputs = model.objective.outputs;
        let classes = model.classes.as_ref().map(Vec::len);
        let consistent = match model.objective.kind {
            ObjectiveKind::Binary => outputs == 1 && classes == Some(2),
            ObjectiveKind::Multiclass => outputs > 2 && classes == Some(outputs),
            _ => outputs == 1 && classes.is_none(),
        };
        if !consistent || model.base_score.len() != outputs {
            return Err(invalid(
                "objective, classes and outputs disagree".to_string(),
            ));
        }
        let n_features = model.preprocessor.n_features();
        for (i, tree) in model.trees.iter_mut().enumerate() {
            tree.validate(n_features)
                .map_err(|e| invalid(format!("tree {i}: {e}")))?;
            tree.rebuild();
        }
        Ok(model)
    }

    /// Number of raw score outputs.
    pub fn outputs(&self) -> usize {
        self.objective.outputs
    }

    /// Values per predicted row: class probabilities, or 1 for regression.
    pub fn prediction_width(&self) -> usize {
        self.classes.as_ref().map_or(1, Vec::len)
    }

    /// Predicts one raw feature row (native preprocessing, `preprocessor.n_features()` values)
    /// into `out` (`prediction_width()` values) without allocating: the serving hot path.
    pub fn predict_row(&self, row: &[f64], out: &mut [f64]) {
        let k = self.outputs();
        let raw = &mut out[..k];
        raw.copy_from_slice(&self.base_score);
        for (t, tree) in self.trees.iter().enumerate() {
            raw[t % k] += tree.predict(row);
        }
        self.link_in_place(out);
    }

    /// Applies the link to a row whose first `outputs()` values hold raw scores.
    fn link_in_place(&self, out: &mut [f64]) {
        let k = self.outputs();
        if k == 1 {
            let raw = [out[0]];
            self.objective.link(&raw, out);
        } else {
            let max = out[..k].iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for v in &mut out[..k] {
                *v = (*v - max).exp();
                sum += *v;
            }
            for v in &mut out[..k] {
                *v /= sum;
            }
        }
    }

    /// The single-row serving path: the row is encoded into a per-thread scratch buffer and
    /// scored by [`GbdtModel::predict_row`]; only the returned predictions are allocated.
    pub fn predict_one(&self, features: &RecordBatch) -> Result<Predictions> {
        thread_local! {
            static SCRATCH: std::cell::RefCell<(Vec<f64>, Vec<f64>)> =
                const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
        }
        SCRATCH.with(|scratch| {
            let (row, out) = &mut *scratch.borrow_mut();
            row.resize(self.preprocessor.n_features(), 0.0);
            out.resize(self.prediction_width().max(self.outputs()), 0.0);
            self.preprocessor.transform_row_into(features, 0, row)?;
            self.predict_row(row, out);
            Ok(Predictions::supervised(
                self.classes.as_deref(),
                out[..self.prediction_width()].to_vec(),
            ))
        })
    }

    /// Predicts a row-major raw matrix (`rows × n_features`) into row-major outputs.
    pub fn predict_matrix(&self, data: &[f64], rows: usize) -> Vec<f64> {
        let k = self.outputs();
        crate::ensemble::score_matrix(
            (&self.trees, self.packed.forest(&self.trees)),
            data,
            rows,
            self.preprocessor.n_features(),
            (self.prediction_width(), k),
            |row| row[..k].copy_from_slice(&self.base_score),
            |row| self.link_in_place(row),
        )
    }

    /// Split counts and total gain per input feature, in input order.
    pub fn importance(&self) -> Vec<FeatureImportance> {
        crate::ensemble::feature_importance(&self.preprocessor.feature_names, &self.trees)
    }

    /// Exact TreeSHAP attributions of the raw scores, one feature per input column (the
    /// native preprocessing keeps one feature per column).
    pub fn explain(&self, features: &RecordBatch) -> Result<Attributions> {
        let x = self.preprocessor.transform(features)?;
        Ok(crate::shap::attributions(
            &self.trees,
            (self.outputs(), 1.0, crate::shap::Cover::Hessian),
            &self.base_score,
            self.classes.as_deref(),
            &self.preprocessor.feature_names,
            &x.data,
            x.rows,
        ))
    }
}

impl Estimator for GbdtModel {
    fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        if features.num_rows() == 1 {
            return self.predict_one(features);
        }
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
            object.insert(
                "objective".into(),
                serde_json::to_value(self.objective.kind).unwrap_or_default(),
            );
            object.insert(
                "trees_kept".into(),
                serde_json::Value::from(self.trees.len()),
            );
        }
        value
    }

    fn payload(&self) -> Vec<u8> {
        // Plain structs of finite numbers and strings always serialize.
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn feature_importance(&self) -> Option<Vec<FeatureImportance>> {
        Some(self.importance())
    }

    fn shap_values(&self, features: &RecordBatch) -> Option<Result<Attributions>> {
        Some(self.explain(features))
    }
}
