//! The fitted linear model: prediction, and its JSON payload (exact f64 round trip).

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

use super::objective::sigmoid;
use super::{LinearParams, NAME};
use crate::preprocess::Preprocessor;
use crate::{Error, Estimator, Predictions, Result};

/// How linear outputs become predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// Regression: the output itself.
    Identity,
    /// Binary classification: P(classes[1]) = sigmoid(z).
    Sigmoid,
    /// Multiclass: softmax over one output per class.
    Softmax,
}

impl Link {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Link::Identity => "linear regression",
            Link::Sigmoid => "binary logistic regression",
            Link::Softmax => "multinomial logistic regression",
        }
    }
}

/// A fitted linear model, also its payload (serialized as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// Resolved parameters.
    pub params: LinearParams,
    /// Output link.
    pub link: Link,
    /// Class labels (classification).
    pub classes: Option<Vec<String>>,
    /// Fitted preprocessing.
    pub preprocessor: Preprocessor,
    /// Coefficients, `outputs × features` row-major, on the preprocessed features.
    pub weights: Vec<f64>,
    /// One intercept per output.
    pub intercepts: Vec<f64>,
}

impl LinearModel {
    /// Parses and validates a payload.
    pub fn from_payload(payload: &[u8]) -> Result<LinearModel> {
        let invalid = |reason: String| Error::InvalidPayload {
            algorithm: NAME,
            reason,
        };
        let model: LinearModel =
            serde_json::from_slice(payload).map_err(|e| invalid(e.to_string()))?;
        model.preprocessor.validate().map_err(invalid)?;
        let outputs = match (model.link, &model.classes) {
            (Link::Identity, None) => 1,
            (Link::Sigmoid, Some(c)) if c.len() == 2 => 1,
            (Link::Softmax, Some(c)) if c.len() > 2 => c.len(),
            _ => return Err(invalid("link and classes disagree".to_string())),
        };
        let d = model.preprocessor.n_features();
        if model.intercepts.len() != outputs || model.weights.len() != outputs * d {
            return Err(invalid(format!(
                "expected {outputs} x {d} weights and {outputs} intercepts, got {} and {}",
                model.weights.len(),
                model.intercepts.len()
            )));
        }
        Ok(model)
    }

    fn outputs(&self) -> usize {
        self.intercepts.len()
    }
}

impl Estimator for LinearModel {
    fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let x = self.preprocessor.transform(features)?;
        let d = x.cols;
        let m = self.outputs();
        let mut z = vec![0.0; m];
        let mut out = Vec::with_capacity(x.rows * m.max(2));
        for i in 0..x.rows {
            let row = x.row(i);
            for (c, zc) in z.iter_mut().enumerate() {
                let w = &self.weights[c * d..(c + 1) * d];
                *zc = self.intercepts[c] + w.iter().zip(row).map(|(a, b)| a * b).sum::<f64>();
            }
            match self.link {
                Link::Identity => out.push(z[0]),
                Link::Sigmoid => {
                    let p = sigmoid(z[0]);
                    out.push(1.0 - p);
                    out.push(p);
                }
                Link::Softmax => {
                    let max = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                    let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
                    out.extend(z.iter().map(|v| (v - max).exp() / sum));
                }
            }
        }
        Ok(Predictions::supervised(self.classes.as_deref(), out))
    }

    fn preprocessing(&self) -> serde_json::Value {
        serde_json::to_value(&self.preprocessor).unwrap_or_default()
    }

    fn resolved_parameters(&self) -> serde_json::Value {
        serde_json::to_value(&self.params).unwrap_or_default()
    }

    fn payload(&self) -> Vec<u8> {
        // Plain structs of finite numbers and strings always serialize.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
