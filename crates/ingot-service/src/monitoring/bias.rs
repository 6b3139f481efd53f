//! Bias drift: Clarify's post-training bias metrics (DPPL and DI from predictions; DCA, DCR,
//! RD, SD, DAR, DRR, AD and TE when ground truth is known) over captured traffic, compared with
//! a baseline's `bias.json`: the facet, the positive label and per metric
//! `{"value", "threshold"}`; a metric further than its threshold from the baseline value is a
//! violation.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use ingot_explain::bias::metrics as m;
use ingot_explain::table::OwnedColumn;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Default allowed change of a metric from its baseline value.
pub(crate) const DEFAULT_THRESHOLD: f64 = 0.1;

/// Which rows form the disadvantaged facet *d*, and what a positive outcome is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasConfig {
    /// The facet column (a model input).
    pub facet: String,
    /// Rows whose facet value is one of these are in *d*.
    #[serde(default)]
    pub facet_values: Vec<String>,
    /// Or, for a numeric facet: rows above this value are in *d*.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facet_threshold: Option<f64>,
    /// The positive (favourable) class.
    pub positive_label: String,
    /// Allowed change of every metric from the baseline value (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// `bias.json`: the configuration plus the baseline metric values and thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasBaseline {
    #[serde(flatten)]
    pub config: BiasConfig,
    pub metrics: BTreeMap<String, MetricBound>,
}

/// A baseline metric value and how far it may move.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricBound {
    pub value: f64,
    pub threshold: f64,
}

pub(crate) fn same_label(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
}

impl BiasConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.facet_values.is_empty() && self.facet_threshold.is_none() {
            return Err("bias: give facet_values or facet_threshold".to_string());
        }
        Ok(())
    }

    /// Facet membership of each row of a batch (missing values are not in *d*).
    pub(crate) fn facet_mask(&self, batch: &RecordBatch) -> Result<Vec<bool>, String> {
        let (column, valid) =
            ingot_explain::table::column(batch, &self.facet).map_err(|e| e.to_string())?;
        Ok(match column {
            OwnedColumn::Numeric(values) => values
                .iter()
                .zip(&valid)
                .map(|(v, ok)| {
                    *ok && match self.facet_threshold {
                        Some(t) => *v > t,
                        None => self
                            .facet_values
                            .iter()
                            .any(|f| f.parse::<f64>().is_ok_and(|f| f == *v)),
                    }
                })
                .collect(),
            OwnedColumn::Text(values) => values
                .iter()
                .zip(&valid)
                .map(|(v, ok)| *ok && self.facet_values.iter().any(|f| f == v))
                .collect(),
        })
    }
}

/// The post-training metrics computable on the rows: `facet`, `predicted` positive, and for
/// the labelled rows (`labels[i]` is `Some(positive)`) the label-based ones.
pub(crate) fn metrics(
    facet: &[bool],
    predicted: &[bool],
    labels: &[Option<bool>],
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut put = |name: &str, outcome: m::Outcome| {
        if let Ok(v) = outcome {
            out.insert(name.to_string(), v);
        }
    };
    put("DPPL", m::dpl(facet, predicted));
    put("DI", m::di(facet, predicted));
    let (mut f, mut p, mut l) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..facet.len() {
        if let Some(label) = labels[i] {
            f.push(facet[i]);
            p.push(predicted[i]);
            l.push(label);
        }
    }
    if !f.is_empty() {
        put("DCA", m::dca(&f, &l, &p));
        put("DCR", m::dcr(&f, &l, &p));
        put("RD", m::rd(&f, &l, &p));
        put("SD", m::sd(&f, &l, &p));
        put("DAR", m::dar(&f, &l, &p));
        put("DRR", m::drr(&f, &l, &p));
        put("AD", m::ad(&f, &l, &p));
        put("TE", m::te(&f, &l, &p));
    }
    out
}

/// The metrics on reference data: the model's predictions of `batch` against its target
/// column.
pub(crate) fn reference_metrics(
    model: &ingot_catalog::LoadedModel,
    batch: &RecordBatch,
    config: &BiasConfig,
) -> Result<BTreeMap<String, f64>, String> {
    let facet = config.facet_mask(batch)?;
    let predictions = model.predict(batch).map_err(|e| e.to_string())?;
    let predicted: Vec<bool> = predictions
        .predicted_labels()
        .ok_or("bias metrics need a classification model")?
        .iter()
        .map(|l| same_label(l, &config.positive_label))
        .collect();
    let labels: Vec<Option<bool>> = match &model.manifest.target {
        Some(target) => {
            let (column, valid) =
                ingot_explain::table::column(batch, target).map_err(|e| e.to_string())?;
            (0..batch.num_rows())
                .map(|i| {
                    valid[i].then(|| match &column {
                        OwnedColumn::Numeric(v) => {
                            same_label(&v[i].to_string(), &config.positive_label)
                        }
                        OwnedColumn::Text(v) => same_label(&v[i], &config.positive_label),
                    })
                })
                .collect()
        }
        None => vec![None; batch.num_rows()],
    };
    Ok(metrics(&facet, &predicted, &labels))
}

/// The baseline file for metric values computed on reference data.
pub(crate) fn baseline(config: BiasConfig, values: &BTreeMap<String, f64>) -> BiasBaseline {
    let threshold = config.threshold.unwrap_or(DEFAULT_THRESHOLD);
    let metrics = values
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, v)| {
            (
                k.clone(),
                MetricBound {
                    value: *v,
                    threshold,
                },
            )
        })
        .collect();
    BiasBaseline { config, metrics }
}

/// Violations of the current values against the baseline bounds.
pub(crate) fn violations(baseline: &BiasBaseline, current: &BTreeMap<String, f64>) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, bound) in &baseline.metrics {
        let Some(&value) = current.get(name) else {
            continue;
        };
        let change = (value - bound.value).abs();
        if change.is_nan() || change > bound.threshold {
            out.push(json!({
                "metric_name": name,
                "facet": baseline.config.facet,
                "constraint_check_type": "bias_drift_check",
                "description": format!(
                    "Bias metric {name} is {value}, more than {} from the baseline value {}",
                    bound.threshold, bound.value
                ),
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{Float64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    fn config(values: &[&str], threshold: Option<f64>) -> BiasConfig {
        BiasConfig {
            facet: "f".into(),
            facet_values: values.iter().map(|v| v.to_string()).collect(),
            facet_threshold: threshold,
            positive_label: "1".into(),
            threshold: None,
        }
    }

    #[test]
    fn facet_masks_by_value_or_threshold() {
        let text = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("f", DataType::Utf8, true)])),
            vec![Arc::new(StringArray::from(vec![
                Some("a"),
                Some("b"),
                None,
            ]))],
        )
        .unwrap();
        assert_eq!(
            config(&["b"], None).facet_mask(&text).unwrap(),
            [false, true, false]
        );
        let numbers = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("f", DataType::Float64, true)])),
            vec![Arc::new(Float64Array::from(vec![1.0, 5.0, 30.0]))],
        )
        .unwrap();
        assert_eq!(
            config(&[], Some(4.0)).facet_mask(&numbers).unwrap(),
            [false, true, true]
        );
        assert_eq!(
            config(&["5"], None).facet_mask(&numbers).unwrap(),
            [false, true, false]
        );
        assert!(config(&[], None).validate().is_err());
        let mut missing = config(&["a"], None);
        missing.facet = "nope".into();
        assert!(missing.facet_mask(&text).is_err());
    }

    #[test]
    fn metrics_follow_clarify_and_drift_is_bounded() {
        // d = rows 0..2, a = rows 2..6. Predicted positive: d 1 of 2, a 3 of 4.
        let facet = [true, true, false, false, false, false];
        let predicted = [true, false, true, true, true, false];
        let values = metrics(&facet, &predicted, &[None; 6]);
        // DPPL = q_a - q_d = 3/4 - 1/2; DI = q_d / q_a = (1/2) / (3/4).
        assert!((values["DPPL"] - 0.25).abs() < 1e-12);
        assert!((values["DI"] - 2.0 / 3.0).abs() < 1e-12);
        assert!(!values.contains_key("AD"));
        // With labels: accuracy a = 3/4 (row 5 right, one wrong), d = 1/2.
        let labels = [
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(false),
            Some(false),
        ];
        let labelled = metrics(&facet, &predicted, &labels);
        assert!((labelled["AD"] - 0.25).abs() < 1e-12);
        let base = baseline(config(&["x"], None), &values);
        assert_eq!(base.metrics["DPPL"].threshold, DEFAULT_THRESHOLD);
        assert!(violations(&base, &values).is_empty());
        let mut shifted = values.clone();
        shifted.insert("DPPL".into(), 0.5);
        let found = violations(&base, &shifted);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["metric_name"], "DPPL");
        // The file round-trips with the configuration flattened in.
        let text = serde_json::to_string(&base).unwrap();
        assert!(text.contains("\"facet\":\"f\""));
        assert_eq!(serde_json::from_str::<BiasBaseline>(&text).unwrap(), base);
    }
}
