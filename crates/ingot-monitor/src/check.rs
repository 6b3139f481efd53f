//! The monitoring check: current statistics against a baseline's constraints, producing
//! SageMaker's `constraint_violations.json` (six violation types) together with the
//! Evidently-style drift table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::drift::{self, ColumnOverride, DatasetDrift, DriftOptions, StatTest};
use crate::error::Result;
use crate::kll::rank_error_bound;
use crate::sagemaker::{
    Baseline, CategoricalDriftMethod, ComparisonMethod, FeatureConstraints, Toggle,
};
use crate::stats::{ColumnStats, DatasetStats, InferredType};
use crate::stattests as t;

/// SageMaker's violation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationType {
    DataTypeCheck,
    CompletenessCheck,
    BaselineDriftCheck,
    MissingColumnCheck,
    ExtraColumnCheck,
    CategoricalValuesCheck,
}

/// One entry of `constraint_violations.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub feature_name: String,
    pub constraint_check_type: ViolationType,
    pub description: String,
}

/// `constraint_violations.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstraintViolations {
    pub violations: Vec<Violation>,
}

/// Everything a check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub reference_rows: u64,
    pub current_rows: u64,
    pub violations: Vec<Violation>,
    pub drift: DatasetDrift,
}

impl CheckReport {
    /// The `constraint_violations.json` document.
    pub fn constraint_violations(&self) -> ConstraintViolations {
        ConstraintViolations {
            violations: self.violations.clone(),
        }
    }
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// Checks current statistics against a baseline. Drift options from the constraints'
/// `monitoringConfigOverrides` (`drift_stattest`, `drift_threshold`) apply unless `options`
/// names the column itself.
pub fn check(
    baseline: &Baseline,
    current: &DatasetStats,
    options: &DriftOptions,
) -> Result<CheckReport> {
    let reference = baseline.statistics.to_stats();
    let constraints = &baseline.constraints;
    let config = &constraints.monitoring_config;
    let mut violations = Vec::new();
    let by_name: BTreeMap<&str, &FeatureConstraints> = constraints
        .features
        .iter()
        .map(|f| (f.name.as_str(), f))
        .collect();

    let missing: Vec<&str> = constraints
        .features
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| current.column(n).is_none())
        .collect();
    let extra: Vec<&str> = current
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| !by_name.contains_key(n))
        .collect();
    for name in &missing {
        violations.push(Violation {
            feature_name: name.to_string(),
            constraint_check_type: ViolationType::MissingColumnCheck,
            description: format!(
                "There are missing columns in current dataset. Number of columns in current dataset: {}, Number of columns in baseline constraints: {}",
                current.columns.len(),
                constraints.features.len()
            ),
        });
    }
    for name in &extra {
        violations.push(Violation {
            feature_name: name.to_string(),
            constraint_check_type: ViolationType::ExtraColumnCheck,
            description: format!(
                "There are extra columns in current dataset. Number of columns in current dataset: {}, Number of columns in baseline constraints: {}",
                current.columns.len(),
                constraints.features.len()
            ),
        });
    }

    if config.evaluate_constraints == Toggle::Enabled {
        for f in &constraints.features {
            let Some(cur) = current.column(&f.name) else {
                continue;
            };
            let reference_column = reference.column(&f.name);
            violations.extend(feature_violations(
                f,
                reference_column,
                cur,
                current.rows,
                baseline,
            ));
        }
    }

    let mut options = options.clone();
    for f in &constraints.features {
        if let Some(o) = &f.monitoring_config_overrides {
            if o.drift_stattest.is_none() && o.drift_threshold.is_none() {
                continue;
            }
            let stattest = o
                .drift_stattest
                .as_deref()
                .map(StatTest::parse)
                .transpose()?;
            options
                .per_column
                .entry(f.name.clone())
                .or_insert(ColumnOverride {
                    stattest,
                    threshold: o.drift_threshold,
                });
        }
    }
    let drift = drift::dataset_drift(&reference, current, &options)?;
    Ok(CheckReport {
        reference_rows: reference.rows,
        current_rows: current.rows,
        violations,
        drift,
    })
}

/// Share of present values of `c` that fit the expected type.
fn type_match(expected: InferredType, c: &ColumnStats) -> f64 {
    if c.present == 0 {
        return 1.0;
    }
    let tc = c.types();
    let fitting = match expected {
        InferredType::Integral => tc.integral,
        InferredType::Fractional => tc.integral + tc.fractional,
        InferredType::String | InferredType::Unknown => c.present,
    };
    fitting as f64 / c.present as f64
}

fn feature_violations(
    f: &FeatureConstraints,
    reference: Option<&ColumnStats>,
    cur: &ColumnStats,
    rows: u64,
    baseline: &Baseline,
) -> Vec<Violation> {
    let config = &baseline.constraints.monitoring_config;
    let o = f.monitoring_config_overrides.clone().unwrap_or_default();
    let mut out = Vec::new();
    let mut push = |kind, description: String| {
        out.push(Violation {
            feature_name: f.name.clone(),
            constraint_check_type: kind,
            description,
        })
    };

    let matched = type_match(f.inferred_type, cur);
    let datatype_threshold = o
        .datatype_check_threshold
        .unwrap_or(config.datatype_check_threshold);
    let type_ok = 1.0 - matched <= datatype_threshold;
    if !type_ok {
        push(
            ViolationType::DataTypeCheck,
            format!(
                "Data type match requirement is not met. Expected data type: {}, Expected match: {}. Observed: Only {} of data is {}.",
                f.inferred_type.as_str(),
                pct(1.0 - datatype_threshold),
                pct(matched),
                f.inferred_type.as_str()
            ),
        );
    }

    if let Some(expected) = f.completeness {
        let observed = if rows == 0 {
            1.0
        } else {
            cur.present as f64 / rows as f64
        };
        if observed + 1e-12 < expected {
            push(
                ViolationType::CompletenessCheck,
                format!(
                    "Data completeness requirement is not met. Expected completeness: {}. Observed: Only {} of data is complete.",
                    pct(expected),
                    pct(observed)
                ),
            );
        }
    }

    if let (Some(domain), Some(cats)) = (&f.string_constraints, &cur.categories) {
        let threshold = o
            .domain_content_threshold
            .unwrap_or(config.domain_content_threshold);
        let mut unknown: Vec<(&String, u64)> = cats
            .counts
            .iter()
            .filter(|(k, _)| !domain.domains.contains(k))
            .map(|(k, v)| (k, *v))
            .collect();
        unknown.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let n_unknown: u64 = unknown.iter().map(|(_, v)| v).sum::<u64>() + cats.other;
        let share = if cur.present == 0 {
            0.0
        } else {
            n_unknown as f64 / cur.present as f64
        };
        if share > threshold {
            let examples: Vec<String> = unknown
                .iter()
                .take(5)
                .map(|(k, _)| format!("{k:?}"))
                .collect();
            push(
                ViolationType::CategoricalValuesCheck,
                format!(
                    "Categorical values requirement is not met. Expected: at most {} of values outside the baseline domain. Observed: {} of values are unknown (e.g. {}).",
                    pct(threshold),
                    pct(share),
                    examples.join(", ")
                ),
            );
        }
    }

    let dc = &config.distribution_constraints;
    if let (Toggle::Enabled, Some(r), true) = (dc.perform_comparison, reference, type_ok) {
        if r.present > 0 && cur.present > 0 {
            if let Some((distance, threshold, method)) = baseline_distance(r, cur, &o, baseline) {
                let exceeded = if method == "ChiSquared" {
                    distance < threshold
                } else {
                    distance > threshold
                };
                if exceeded {
                    let what = if method == "ChiSquared" {
                        format!("Baseline drift p-value (ChiSquared): {distance:.6} is below threshold: {threshold}")
                    } else {
                        format!("Baseline drift distance ({method}): {distance:.6} exceeds threshold: {threshold}")
                    };
                    push(ViolationType::BaselineDriftCheck, what);
                }
            }
        }
    }
    out
}

/// SageMaker's distribution distance: for numeric columns the largest CDF gap of the two
/// sketches (less the sketches' error bounds for `Robust`); for categorical columns L∞ of the
/// category shares, or the chi-squared p-value.
fn baseline_distance(
    r: &ColumnStats,
    cur: &ColumnStats,
    o: &crate::sagemaker::ConfigOverrides,
    baseline: &Baseline,
) -> Option<(f64, f64, &'static str)> {
    let dc = &baseline
        .constraints
        .monitoring_config
        .distribution_constraints;
    match (&r.kll, &cur.kll, &r.categories, &cur.categories) {
        (Some(a), Some(b), _, _) => {
            let mut d = t::ks_statistic(&a.weighted(), &b.weighted());
            let method = match dc.comparison_method {
                ComparisonMethod::Simple => "Simple",
                ComparisonMethod::Robust => {
                    let slack = |k: &crate::kll::Kll| {
                        if k.is_exact() {
                            0.0
                        } else {
                            rank_error_bound(k.k())
                        }
                    };
                    d = (d - slack(a) - slack(b)).max(0.0);
                    "Robust"
                }
            };
            Some((
                d,
                o.comparison_threshold.unwrap_or(dc.comparison_threshold),
                method,
            ))
        }
        (_, _, Some(a), Some(b)) => {
            let threshold = o
                .categorical_comparison_threshold
                .unwrap_or(dc.categorical_comparison_threshold);
            let keys: Vec<&String> = a
                .counts
                .keys()
                .chain(b.counts.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let counts = |c: &crate::stats::Categories| -> Vec<f64> {
                let mut v: Vec<f64> = keys
                    .iter()
                    .map(|k| c.counts.get(*k).copied().unwrap_or(0) as f64)
                    .collect();
                v.push(c.other as f64);
                v
            };
            let (mut ca, mut cb) = (counts(a), counts(b));
            if ca.last() == Some(&0.0) && cb.last() == Some(&0.0) {
                ca.pop();
                cb.pop();
            }
            match dc.categorical_drift_method {
                CategoricalDriftMethod::LInfinity => {
                    let (ta, tb): (f64, f64) = (ca.iter().sum(), cb.iter().sum());
                    let sa: Vec<f64> = ca.iter().map(|v| v / ta).collect();
                    let sb: Vec<f64> = cb.iter().map(|v| v / tb).collect();
                    Some((t::l_infinity(&sa, &sb), threshold, "LInfinity"))
                }
                CategoricalDriftMethod::ChiSquared => Some((
                    t::chi2_contingency(&ca, &cb).p_value,
                    threshold,
                    "ChiSquared",
                )),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
