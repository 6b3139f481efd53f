//! Per-feature attributions of a model's raw scores (SHAP values), the shape every explainer
//! returns: per row, per output, per input feature, plus each output's expected value.

use serde::{Deserialize, Serialize};

/// Additive feature attributions for a batch, in margin (raw score) space: for every row and
/// output, `base_values[output] + Σ_feature value(row, output, feature)` is the model's raw
/// score before its link (sigmoid, softmax, exp).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attributions {
    /// Input feature names, the innermost axis of `values`.
    pub features: Vec<String>,
    /// Raw score outputs: the class of a binary model's positive margin, each class of a
    /// multiclass model, or `value` for regression.
    pub outputs: Vec<String>,
    /// Expected raw score per output (the attributions' starting point).
    pub base_values: Vec<f64>,
    /// Row-major `rows × outputs × features`.
    pub values: Vec<f64>,
}

impl Attributions {
    /// Number of rows explained.
    pub fn rows(&self) -> usize {
        self.values
            .len()
            .checked_div(self.outputs.len() * self.features.len())
            .unwrap_or(0)
    }

    /// The attribution of `feature` to `output` for `row`.
    pub fn value(&self, row: usize, output: usize, feature: usize) -> f64 {
        let (k, m) = (self.outputs.len(), self.features.len());
        self.values[(row * k + output) * m + feature]
    }

    /// The raw score the attributions of `row` and `output` add up to.
    pub fn margin(&self, row: usize, output: usize) -> f64 {
        let m = self.features.len();
        let start = (row * self.outputs.len() + output) * m;
        self.base_values[output] + self.values[start..start + m].iter().sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_rows_outputs_features() {
        let a = Attributions {
            features: vec!["a".into(), "b".into()],
            outputs: vec!["x".into(), "y".into()],
            base_values: vec![1.0, -1.0],
            values: (0..8).map(f64::from).collect(),
        };
        assert_eq!(a.rows(), 2);
        assert_eq!(a.value(1, 0, 1), 5.0);
        assert_eq!(a.margin(1, 1), -1.0 + 6.0 + 7.0);
        assert_eq!(a.margin(0, 0), 1.0 + 0.0 + 1.0);
    }
}
