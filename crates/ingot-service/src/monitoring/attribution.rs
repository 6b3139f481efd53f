//! Feature-attribution drift: mean |SHAP| per feature of captured inputs (TreeSHAP, for models
//! that support it) against a baseline's `attributions.json` (`{"features": {name: value}}`),
//! scored by `ingot_explain::drift::attribution_drift` (NDCG below the threshold, 0.90 by
//! default, is a violation).

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use ingot_catalog::LoadedModel;
use serde_json::{json, Value};

/// Running sums of |SHAP| per feature.
#[derive(Debug, Default)]
pub(crate) struct MeanAbs {
    features: Vec<String>,
    sums: Vec<f64>,
    rows: usize,
}

impl MeanAbs {
    /// Adds the attributions of one batch of model inputs.
    pub fn add(&mut self, model: &LoadedModel, batch: &RecordBatch) -> Result<(), String> {
        let conformed = ingot_data::conform_batch(batch, &model.manifest.input_schema)
            .map_err(|e| e.to_string())?;
        let attributions = model
            .estimator()
            .shap_values(&conformed)
            .ok_or_else(|| {
                format!(
                    "model algorithm {} has no TreeSHAP; feature attribution drift needs a tree \
                     model (gbdt, random-forest, XGBoost, LightGBM)",
                    model.manifest.algorithm
                )
            })?
            .map_err(|e| e.to_string())?;
        if self.features.is_empty() {
            self.sums = vec![0.0; attributions.features.len()];
            self.features = attributions.features.clone();
        }
        let outputs = attributions.outputs.len().max(1);
        for row in 0..attributions.rows() {
            for output in 0..attributions.outputs.len() {
                for (f, sum) in self.sums.iter_mut().enumerate() {
                    *sum += attributions.value(row, output, f).abs() / outputs as f64;
                }
            }
        }
        self.rows += attributions.rows();
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Mean |SHAP| per feature, as `attributions.json`.
    pub fn to_json(&self) -> Value {
        let n = self.rows.max(1) as f64;
        let features: serde_json::Map<String, Value> = self
            .features
            .iter()
            .zip(&self.sums)
            .map(|(f, s)| (f.clone(), json!(s / n)))
            .collect();
        json!({ "features": features, "rows": self.rows })
    }
}

/// The feature → attribution map of an `attributions.json` (also a bare map).
pub(crate) fn parse(value: &Value) -> Result<BTreeMap<String, f64>, String> {
    let map = value["features"]
        .as_object()
        .or_else(|| value.as_object().filter(|m| !m.contains_key("features")))
        .ok_or("attributions must be {\"features\": {name: mean |SHAP|}}")?;
    let mut out = BTreeMap::new();
    for (name, v) in map {
        let v = v
            .as_f64()
            .ok_or_else(|| format!("attribution of {name:?} is not a number"))?;
        out.insert(name.clone(), v);
    }
    if out.is_empty() {
        return Err("attributions name no feature".to_string());
    }
    Ok(out)
}

/// NDCG of the current attributions against the baseline's (features in the baseline's
/// order; a feature missing from the current ones counts 0), with the violation if drifted.
pub(crate) fn compare(
    baseline: &BTreeMap<String, f64>,
    current: &BTreeMap<String, f64>,
    threshold: f64,
) -> Result<(Value, Option<Value>), String> {
    let names: Vec<&String> = baseline.keys().collect();
    let b: Vec<f64> = names.iter().map(|n| baseline[*n]).collect();
    let c: Vec<f64> = names
        .iter()
        .map(|n| current.get(*n).copied().unwrap_or(0.0))
        .collect();
    let drift =
        ingot_explain::drift::attribution_drift(&b, &c, threshold).map_err(|e| e.to_string())?;
    let violation = drift.drifted.then(|| {
        json!({
            "feature_name": "",
            "constraint_check_type": "feature_attribution_drift_check",
            "description": format!(
                "Feature attribution NDCG {} is below the threshold {}",
                drift.ndcg, drift.threshold
            ),
        })
    });
    let report = json!({
        "ndcg": drift.ndcg,
        "threshold": drift.threshold,
        "drifted": drift.drifted,
        "baseline": baseline,
        "current": current,
    });
    Ok((report, violation))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn same_ranking_passes_and_a_reversed_one_drifts() {
        let baseline = map(&[("a", 0.7), ("b", 0.2), ("c", 0.05)]);
        let (report, violation) =
            compare(&baseline, &map(&[("a", 0.9), ("b", 0.3), ("c", 0.0)]), 0.9).unwrap();
        assert_eq!(report["ndcg"], 1.0);
        assert!(violation.is_none());
        let reversed = map(&[("a", 0.01), ("b", 0.2), ("c", 0.5)]);
        let (report, violation) = compare(&baseline, &reversed, 0.9).unwrap();
        // By hand: DCG = 0.05/log2(2) + 0.2/log2(3) + 0.7/log2(4), iDCG = 0.7 + 0.2/log2(3) + 0.05/2.
        let dcg = 0.05 + 0.2 / 3f64.log2() + 0.7 / 2.0;
        let ideal = 0.7 + 0.2 / 3f64.log2() + 0.05 / 2.0;
        assert!((report["ndcg"].as_f64().unwrap() - dcg / ideal).abs() < 1e-12);
        assert_eq!(
            violation.unwrap()["constraint_check_type"],
            "feature_attribution_drift_check"
        );
        // A feature the current window lacks counts 0.
        let (report, _) = compare(&baseline, &map(&[("b", 1.0)]), 0.9).unwrap();
        assert!(report["ndcg"].as_f64().unwrap() < 1.0);
    }

    #[test]
    fn attributions_files_parse_wrapped_or_bare() {
        let wrapped = parse(&json!({"features": {"x": 0.5, "y": 0.1}, "rows": 10})).unwrap();
        assert_eq!(wrapped, map(&[("x", 0.5), ("y", 0.1)]));
        assert_eq!(parse(&json!({"x": 0.5})).unwrap(), map(&[("x", 0.5)]));
        assert!(parse(&json!({"features": {"x": "big"}})).is_err());
        assert!(parse(&json!({"features": {}})).is_err());
        assert!(parse(&json!([1, 2])).is_err());
    }
}
