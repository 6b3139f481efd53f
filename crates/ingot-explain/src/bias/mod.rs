//! SageMaker Clarify's bias analysis over column slices: turns the label, facet, group and
//! prediction columns into Clarify's boolean indices (facet *d*, positive label, positive
//! predicted label) and computes every pre-training and post-training metric into a
//! [`BiasReport`].
//!
//! Selections follow Clarify's `BiasConfig`:
//! * **facet**: [`Selection::Values`] makes the rows holding any of the values the
//!   disadvantaged facet *d*; [`Selection::Threshold`] `t` selects the rows with a value above
//!   `t` (Clarify applies the threshold as the interval's open lower bound, reported as
//!   `(t, max]`); no selection computes every distinct value against the rest, in order of
//!   first appearance.
//! * **positive label**: the same two forms; predicted labels are compared with the same
//!   selection, predicted scores are positive when `score ≥ threshold`.
//! * values are matched as text first; when no row matches, as numbers ("1" matches 1.0), as
//!   Clarify retries with the column's type.
//!
//! Rows with missing values should be dropped by the caller first (Clarify's job drops them).
//! Where Clarify refuses a post-training analysis whose predictions are all negative, this
//! module still computes each metric (with Clarify's per-metric rules).

pub mod metrics;
mod report;
#[cfg(test)]
mod tests;

pub use metrics::Features;
pub use report::{BiasReport, BiasSection, FacetReport, MetricResult};

use crate::{Error, Result};

/// A column of values, one per row.
#[derive(Debug, Clone, Copy)]
pub enum Column<'a> {
    /// Numbers (integers, floats, timestamps).
    Numeric(&'a [f64]),
    /// Text (strings, booleans, categories).
    Text(&'a [String]),
}

impl Column<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` as text (integral numbers without a fraction, like the CSV they came from).
    pub fn text(&self, i: usize) -> String {
        match self {
            Column::Numeric(v) => format_number(v[i]),
            Column::Text(v) => v[i].clone(),
        }
    }
}

/// Which rows a facet or label selection picks.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Rows holding any of these values.
    Values(Vec<String>),
    /// Rows whose numeric value is above this threshold.
    Threshold(f64),
}

/// Clarify's default probability threshold for turning scores into predicted labels.
pub const DEFAULT_PROBABILITY_THRESHOLD: f64 = 0.5;

/// The model's output for post-training metrics.
#[derive(Debug, Clone, Copy)]
pub enum Predicted<'a> {
    /// Predicted labels, compared with the positive-label selection like the labels.
    Labels(Column<'a>),
    /// Predicted scores (probability of the positive label), positive when `≥ threshold`.
    Scores { scores: &'a [f64], threshold: f64 },
}

/// Everything a bias analysis needs, as column slices of equal length.
#[derive(Debug, Clone, Copy)]
pub struct BiasInput<'a> {
    pub label_name: &'a str,
    pub label: Column<'a>,
    /// The positive label value(s) or threshold.
    pub positive: &'a Selection,
    pub facet_name: &'a str,
    pub facet: Column<'a>,
    /// The disadvantaged facet value(s) or threshold; `None` for every value against the rest.
    pub facet_selection: Option<&'a Selection>,
    /// The group variable of CDDL and CDDPL.
    pub group: Option<Column<'a>>,
    /// Predictions; without them only the pre-training section is computed.
    pub predicted: Option<Predicted<'a>>,
    /// Numeric features for the flip test (facet, label and prediction columns excluded).
    pub features: Option<Features<'a>>,
}

const PRE_TRAINING: [(&str, &str); 8] = [
    ("CDDL", "Conditional Demographic Disparity in Labels (CDDL)"),
    ("CI", "Class Imbalance (CI)"),
    ("DPL", "Difference in Positive Proportions in Labels (DPL)"),
    ("JS", "Jensen-Shannon Divergence (JS)"),
    // Clarify's own spelling.
    ("KL", "Kullback-Liebler Divergence (KL)"),
    ("KS", "Kolmogorov-Smirnov Distance (KS)"),
    ("LP", "L-p Norm (LP)"),
    ("TVD", "Total Variation Distance (TVD)"),
];

const POST_TRAINING: [(&str, &str); 13] = [
    ("AD", "Accuracy Difference (AD)"),
    (
        "CDDPL",
        "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    ),
    ("DAR", "Difference in Acceptance Rates (DAR)"),
    ("DCA", "Difference in Conditional Acceptance (DCA)"),
    ("DCR", "Difference in Conditional Rejection (DCR)"),
    ("DI", "Disparate Impact (DI)"),
    (
        "DPPL",
        "Difference in Positive Proportions in Predicted Labels (DPPL)",
    ),
    ("DRR", "Difference in Rejection Rates (DRR)"),
    ("FT", "Flip Test (FT)"),
    ("GE", "Generalized Entropy (GE)"),
    ("RD", "Recall Difference (RD)"),
    ("SD", "Specificity Difference (SD)"),
    ("TE", "Treatment Equality (TE)"),
];

/// Names of the pre-training metrics, in report order.
pub fn pre_training_metric_names() -> Vec<&'static str> {
    PRE_TRAINING.iter().map(|(n, _)| *n).collect()
}

/// Names of the post-training metrics, in report order.
pub fn post_training_metric_names() -> Vec<&'static str> {
    POST_TRAINING.iter().map(|(n, _)| *n).collect()
}

/// Python's `str(float)` for the numbers Clarify prints in interval labels.
fn python_float(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// A number as a CSV would show it: integers without a fraction.
fn format_number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

fn numbers_equal(text: &str, value: &str) -> bool {
    match (text.trim().parse::<f64>(), value.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The boolean index of a selection over a column, and Clarify's label for it.
fn select(column: Column<'_>, selection: &Selection, what: &str) -> Result<(Vec<bool>, String)> {
    match selection {
        Selection::Values(values) => {
            if values.is_empty() {
                return Err(Error::Invalid {
                    what: "selection",
                    message: format!("no values given for {what}"),
                });
            }
            let mask: Vec<bool> = match column {
                Column::Text(cells) => {
                    let exact: Vec<bool> = cells.iter().map(|c| values.contains(c)).collect();
                    if exact.iter().any(|&m| m) {
                        exact
                    } else {
                        cells
                            .iter()
                            .map(|c| values.iter().any(|v| numbers_equal(c, v)))
                            .collect()
                    }
                }
                Column::Numeric(cells) => {
                    let parsed: Vec<f64> = values
                        .iter()
                        .map(|v| {
                            v.trim().parse::<f64>().map_err(|_| Error::Invalid {
                                what: "selection",
                                message: format!("{what} is numeric but {v:?} is not a number"),
                            })
                        })
                        .collect::<Result<_>>()?;
                    cells.iter().map(|c| parsed.contains(c)).collect()
                }
            };
            Ok((mask, values.join(",")))
        }
        Selection::Threshold(t) => {
            let numbers: Vec<f64> = match column {
                Column::Numeric(cells) => cells.to_vec(),
                Column::Text(cells) => cells
                    .iter()
                    .enumerate()
                    .map(|(row, c)| {
                        c.trim().parse::<f64>().map_err(|_| Error::NotNumeric {
                            column: what.to_string(),
                            row,
                            value: c.clone(),
                        })
                    })
                    .collect::<Result<_>>()?,
            };
            let max = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mask = numbers.iter().map(|&x| x > *t).collect();
            Ok((
                mask,
                format!("({}, {}]", python_float(*t), python_float(max)),
            ))
        }
    }
}

/// Group codes: one per distinct value, in order of first appearance.
fn group_codes(column: Column<'_>) -> Vec<usize> {
    let mut seen: Vec<String> = Vec::new();
    (0..column.len())
        .map(|i| {
            let text = column.text(i);
            match seen.iter().position(|s| *s == text) {
                Some(code) => code,
                None => {
                    seen.push(text);
                    seen.len() - 1
                }
            }
        })
        .collect()
}

fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected != actual {
        return Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        });
    }
    Ok(())
}

/// Computes the full bias report.
pub fn bias_report(input: &BiasInput<'_>) -> Result<BiasReport> {
    let n = input.label.len();
    if n == 0 {
        return Err(Error::Empty("the label column"));
    }
    check_len("the facet column", n, input.facet.len())?;
    if let Some(group) = input.group {
        check_len("the group column", n, group.len())?;
    }
    if let Some(features) = input.features {
        if features.columns == 0 || features.values.len() != n * features.columns {
            return Err(Error::Invalid {
                what: "features",
                message: format!(
                    "{} values do not make {n} rows of {} columns",
                    features.values.len(),
                    features.columns
                ),
            });
        }
    }
    let (label, label_text) = select(input.label, input.positive, input.label_name)?;
    let predicted = match input.predicted {
        None => None,
        Some(Predicted::Labels(column)) => {
            check_len("the predicted labels", n, column.len())?;
            Some(select(column, input.positive, "the predicted label")?.0)
        }
        Some(Predicted::Scores { scores, threshold }) => {
            check_len("the predicted scores", n, scores.len())?;
            Some(scores.iter().map(|&s| s >= threshold).collect())
        }
    };
    let groups = input.group.map(group_codes);
    let selections: Vec<(Vec<bool>, String)> = match input.facet_selection {
        Some(selection) => vec![select(input.facet, selection, input.facet_name)?],
        None => {
            let mut values: Vec<String> = Vec::new();
            for i in 0..n {
                let text = input.facet.text(i);
                if !values.contains(&text) {
                    values.push(text);
                }
            }
            values
                .into_iter()
                .map(|v| select(input.facet, &Selection::Values(vec![v]), input.facet_name))
                .collect::<Result<_>>()?
        }
    };
    let mut pre = Vec::new();
    let mut post = Vec::new();
    for (facet, value_or_threshold) in &selections {
        pre.push(FacetReport {
            value_or_threshold: value_or_threshold.clone(),
            metrics: pre_training(facet, &label, groups.as_deref()),
        });
        if let Some(predicted) = &predicted {
            post.push(FacetReport {
                value_or_threshold: value_or_threshold.clone(),
                metrics: post_training(facet, &label, predicted, groups.as_deref(), input.features),
            });
        }
    }
    let section = |facets: Vec<FacetReport>| BiasSection {
        label: input.label_name.to_string(),
        facets: [(input.facet_name.to_string(), facets)]
            .into_iter()
            .collect(),
        label_value_or_threshold: label_text.clone(),
    };
    Ok(BiasReport {
        version: "1.0".to_string(),
        pre_training_bias_metrics: Some(section(pre)),
        post_training_bias_metrics: predicted.is_some().then(|| section(post)),
    })
}

fn pre_training(facet: &[bool], label: &[bool], groups: Option<&[usize]>) -> Vec<MetricResult> {
    PRE_TRAINING
        .iter()
        .map(|&(name, description)| {
            let outcome = match name {
                "CDDL" => metrics::cdd(facet, label, groups),
                "CI" => metrics::ci(facet),
                "DPL" => metrics::dpl(facet, label),
                "JS" => metrics::js(facet, label),
                "KL" => metrics::kl(facet, label),
                "KS" => metrics::ks(facet, label),
                "LP" => metrics::lp(facet, label),
                _ => metrics::tvd(facet, label),
            };
            MetricResult::new(name, description, outcome)
        })
        .collect()
}

fn post_training(
    facet: &[bool],
    label: &[bool],
    predicted: &[bool],
    groups: Option<&[usize]>,
    features: Option<Features<'_>>,
) -> Vec<MetricResult> {
    POST_TRAINING
        .iter()
        .map(|&(name, description)| {
            let outcome = match name {
                "AD" => metrics::ad(facet, label, predicted),
                "CDDPL" => metrics::cdd(facet, predicted, groups),
                "DAR" => metrics::dar(facet, label, predicted),
                "DCA" => metrics::dca(facet, label, predicted),
                "DCR" => metrics::dcr(facet, label, predicted),
                "DI" => metrics::di(facet, predicted),
                "DPPL" => metrics::dpl(facet, predicted),
                "DRR" => metrics::drr(facet, label, predicted),
                "FT" => metrics::ft(facet, predicted, features),
                "GE" => metrics::ge(label, predicted),
                "RD" => metrics::rd(facet, label, predicted),
                "SD" => metrics::sd(facet, label, predicted),
                _ => metrics::te(facet, label, predicted),
            };
            MetricResult::new(name, description, outcome)
        })
        .collect()
}
