//! The serializable bias report, shaped like the bias sections of SageMaker Clarify's
//! `analysis.json`: per stage, the label, the positive label value(s) or threshold, and per
//! facet column a list of facet values, each with every metric's name, description, value
//! (`null` with an `error` when it cannot be computed; ±∞ written as `"Infinity"` /
//! `"-Infinity"`, as Clarify writes them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole bias analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasReport {
    /// Clarify's analysis format version, "1.0".
    pub version: String,
    /// The 8 pre-training metrics (always computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_training_bias_metrics: Option<BiasSection>,
    /// The 13 post-training metrics (only with predictions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_training_bias_metrics: Option<BiasSection>,
}

/// One stage's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasSection {
    /// The label column's name.
    pub label: String,
    /// Facet column name → one entry per analysed facet value (or threshold).
    pub facets: BTreeMap<String, Vec<FacetReport>>,
    /// The positive label value(s), comma-separated, or the threshold interval `(t, max]`.
    pub label_value_or_threshold: String,
}

/// The metrics of one facet selection (the rows that have it are the disadvantaged facet *d*).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacetReport {
    /// The selected value(s), comma-separated, or the threshold interval `(t, max]`.
    pub value_or_threshold: String,
    /// Every metric of the stage, sorted by name as Clarify sorts them.
    pub metrics: Vec<MetricResult>,
}

/// One metric's value, or why it has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    /// Clarify's short name, e.g. `DPL`.
    pub name: String,
    /// Clarify's description, e.g. `Difference in Positive Proportions in Labels (DPL)`.
    pub description: String,
    /// The value; `None` when the metric cannot be computed on this data.
    #[serde(with = "value_serde")]
    pub value: Option<f64>,
    /// Why there is no value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl MetricResult {
    /// Builds a result from a metric's outcome.
    pub fn new(name: &str, description: &str, outcome: super::metrics::Outcome) -> MetricResult {
        let (value, error) = match outcome {
            Ok(v) if v.is_nan() => (None, Some("the metric is undefined (NaN)".to_string())),
            Ok(v) => (Some(v), None),
            Err(reason) => (None, Some(reason)),
        };
        MetricResult {
            name: name.to_string(),
            description: description.to_string(),
            value,
            error,
        }
    }
}

impl BiasReport {
    /// A metric's value by stage section, facet column, facet value and metric name.
    pub fn value(
        &self,
        post_training: bool,
        facet: &str,
        facet_value: &str,
        name: &str,
    ) -> Option<f64> {
        self.metric(post_training, facet, facet_value, name)?.value
    }

    /// A metric's entry by stage section, facet column, facet value and metric name.
    pub fn metric(
        &self,
        post_training: bool,
        facet: &str,
        facet_value: &str,
        name: &str,
    ) -> Option<&MetricResult> {
        let section = if post_training {
            self.post_training_bias_metrics.as_ref()
        } else {
            self.pre_training_bias_metrics.as_ref()
        }?;
        section
            .facets
            .get(facet)?
            .iter()
            .find(|f| f.value_or_threshold == facet_value)?
            .metrics
            .iter()
            .find(|m| m.name == name)
    }

    /// A fixed-width text table: stage, facet, value, metric, value or error.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let sections = [
            ("pre-training", &self.pre_training_bias_metrics),
            ("post-training", &self.post_training_bias_metrics),
        ];
        for (stage, section) in sections {
            let Some(section) = section else { continue };
            out.push_str(&format!(
                "{stage} bias metrics (label {:?}, positive {})\n",
                section.label, section.label_value_or_threshold
            ));
            for (facet, reports) in &section.facets {
                for report in reports {
                    out.push_str(&format!(
                        "  facet {facet:?} = {}\n",
                        report.value_or_threshold
                    ));
                    for m in &report.metrics {
                        let value = match (m.value, &m.error) {
                            (Some(v), _) => format!("{v:>12.6}"),
                            (None, Some(e)) => format!("{:>12}  ({e})", "n/a"),
                            (None, None) => format!("{:>12}", "n/a"),
                        };
                        out.push_str(&format!("    {:<6} {value}  {}\n", m.name, m.description));
                    }
                }
            }
        }
        out
    }
}

/// `Option<f64>` as Clarify writes it: a number, `null`, or `"Infinity"` / `"-Infinity"`.
mod value_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            None => s.serialize_none(),
            Some(v) if v.is_nan() => s.serialize_none(),
            Some(v) if *v == f64::INFINITY => s.serialize_str("Infinity"),
            Some(v) if *v == f64::NEG_INFINITY => s.serialize_str("-Infinity"),
            Some(v) => s.serialize_f64(*v),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let value = Option::<serde_json::Value>::deserialize(d)?;
        Ok(match value {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s == "Infinity" => Some(f64::INFINITY),
            Some(serde_json::Value::String(s)) if s == "-Infinity" => Some(f64::NEG_INFINITY),
            Some(v) => Some(
                v.as_f64()
                    .ok_or_else(|| serde::de::Error::custom(format!("not a metric value: {v}")))?,
            ),
        })
    }
}
