//! SageMaker Model Monitor's baseline files as serde types: `statistics.json` (with the KLL
//! sketch and its 10 buckets) and `constraints.json` (with `monitoring_config`), the
//! conversion from and to [`DatasetStats`], and the suggested constraints.
//!
//! Field names follow the Model Monitor documentation. Unknown fields are ignored and missing
//! optional ones take SageMaker's defaults, so hand-edited files parse back; parse errors name
//! the field with its line and column. One Ingot extension: `numerical_statistics.distinct_count`
//! (optional; used to pick the Evidently test for low-cardinality numeric columns).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kll::{Kll, DEFAULT_C, DEFAULT_K};
use crate::stats::{Categories, ColumnStats, DatasetStats, InferredType, Moments, TypeCounts};

/// Domains are suggested for string columns with at most this many distinct values.
pub const DOMAIN_MAX_VALUES: u64 = 32;

/// `statistics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    #[serde(default)]
    pub version: f64,
    pub dataset: DatasetInfo,
    pub features: Vec<FeatureStatistics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub item_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStatistics {
    pub name: String,
    pub inferred_type: InferredType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical_statistics: Option<NumericalStatistics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_statistics: Option<StringStatistics>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Common {
    pub num_present: u64,
    pub num_missing: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericalStatistics {
    pub common: Common,
    pub mean: f64,
    pub sum: f64,
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    pub distribution: NumericDistribution,
    /// Ingot extension (not written by SageMaker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericDistribution {
    pub kll: KllDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KllDistribution {
    pub buckets: Vec<KllBucket>,
    pub sketch: KllSketch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KllBucket {
    pub lower_bound: f64,
    pub upper_bound: f64,
    pub count: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KllSketch {
    pub parameters: KllParameters,
    pub data: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KllParameters {
    pub c: f64,
    pub k: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StringStatistics {
    pub common: Common,
    pub distinct_count: u64,
    pub distribution: CategoricalDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalDistribution {
    pub categorical: CategoricalBuckets,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalBuckets {
    pub buckets: Vec<CategoricalBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalBucket {
    pub value: String,
    pub count: f64,
}

/// `constraints.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    #[serde(default)]
    pub version: f64,
    pub features: Vec<FeatureConstraints>,
    #[serde(default)]
    pub monitoring_config: MonitoringConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConstraints {
    pub name: String,
    pub inferred_type: InferredType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_constraints: Option<NumConstraints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_constraints: Option<StringConstraints>,
    #[serde(
        rename = "monitoringConfigOverrides",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub monitoring_config_overrides: Option<ConfigOverrides>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NumConstraints {
    pub is_non_negative: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StringConstraints {
    pub domains: Vec<String>,
}

/// Per-feature overrides of `monitoring_config` (and of the drift test, an Ingot extension).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datatype_check_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_content_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categorical_comparison_threshold: Option<f64>,
    /// Ingot: the drift test for this column (`ks`, `chisquare`, `z`, `wasserstein`,
    /// `jensenshannon`, `psi`, `linf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_stattest: Option<String>,
    /// Ingot: the drift test's threshold for this column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_threshold: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Toggle {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComparisonMethod {
    /// Distance against the threshold as measured.
    Simple,
    /// Distance less the sketches' rank-error bound (drift beyond sketch uncertainty).
    Robust,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CategoricalDriftMethod {
    LInfinity,
    ChiSquared,
}

fn enabled() -> Toggle {
    Toggle::Enabled
}
fn point_one() -> f64 {
    0.1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitoringConfig {
    #[serde(default = "enabled")]
    pub evaluate_constraints: Toggle,
    #[serde(default = "enabled")]
    pub emit_metrics: Toggle,
    #[serde(default = "point_one")]
    pub datatype_check_threshold: f64,
    #[serde(default = "point_one")]
    pub domain_content_threshold: f64,
    #[serde(default)]
    pub distribution_constraints: DistributionConstraints,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            evaluate_constraints: Toggle::Enabled,
            emit_metrics: Toggle::Enabled,
            datatype_check_threshold: 0.1,
            domain_content_threshold: 0.1,
            distribution_constraints: DistributionConstraints::default(),
        }
    }
}

fn simple() -> ComparisonMethod {
    ComparisonMethod::Simple
}
fn linf() -> CategoricalDriftMethod {
    CategoricalDriftMethod::LInfinity
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributionConstraints {
    #[serde(default = "enabled")]
    pub perform_comparison: Toggle,
    #[serde(default = "point_one")]
    pub comparison_threshold: f64,
    #[serde(default = "simple")]
    pub comparison_method: ComparisonMethod,
    #[serde(default = "point_one")]
    pub categorical_comparison_threshold: f64,
    #[serde(default = "linf")]
    pub categorical_drift_method: CategoricalDriftMethod,
}

impl Default for DistributionConstraints {
    fn default() -> Self {
        DistributionConstraints {
            perform_comparison: Toggle::Enabled,
            comparison_threshold: 0.1,
            comparison_method: ComparisonMethod::Simple,
            categorical_comparison_threshold: 0.1,
            categorical_drift_method: CategoricalDriftMethod::LInfinity,
        }
    }
}

/// A baseline: the reference statistics and the constraints checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub statistics: Statistics,
    pub constraints: Constraints,
}

impl Baseline {
    /// Statistics of the reference data and the constraints suggested from them.
    pub fn from_stats(stats: &DatasetStats) -> Baseline {
        let statistics = Statistics::from_stats(stats);
        let constraints = suggest_constraints(&statistics);
        Baseline {
            statistics,
            constraints,
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Parse {
        file: file.to_string(),
        message: e.to_string(),
    })
}

impl Statistics {
    /// Parses `statistics.json`.
    pub fn parse(text: &str) -> Result<Statistics> {
        let s: Statistics = parse("statistics.json", text)?;
        for f in &s.features {
            if f.inferred_type.is_numeric() && f.numerical_statistics.is_none() {
                return Err(invalid(&f.name, "numerical_statistics is missing"));
            }
            if f.inferred_type == InferredType::String && f.string_statistics.is_none() {
                return Err(invalid(&f.name, "string_statistics is missing"));
            }
        }
        Ok(s)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("statistics serialize")
    }

    /// The SageMaker view of computed statistics.
    pub fn from_stats(stats: &DatasetStats) -> Statistics {
        Statistics {
            version: 0.0,
            dataset: DatasetInfo {
                item_count: stats.rows,
            },
            features: stats.columns.iter().map(feature_statistics).collect(),
        }
    }

    /// Back to mergeable statistics (sketches rebuilt from their levels).
    pub fn to_stats(&self) -> DatasetStats {
        DatasetStats {
            rows: self.dataset.item_count,
            columns: self
                .features
                .iter()
                .enumerate()
                .map(|(i, f)| column_from_feature(f, i as u64))
                .collect(),
        }
    }
}

fn invalid(feature: &str, message: &str) -> Error {
    Error::Invalid {
        file: "statistics.json".into(),
        feature: feature.into(),
        message: message.into(),
    }
}

impl Constraints {
    /// Parses `constraints.json`.
    pub fn parse(text: &str) -> Result<Constraints> {
        parse("constraints.json", text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("constraints serialize")
    }
}

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// Ten equal-width buckets between min and max, counted from the sketch.
pub fn kll_buckets(kll: &Kll, min: f64, max: f64) -> Vec<KllBucket> {
    if kll.count() == 0 || !min.is_finite() || !max.is_finite() {
        return Vec::new();
    }
    let w = kll.weighted();
    let width = (max - min) / 10.0;
    let mut counts = [0.0f64; 10];
    for (v, wt) in w.values.iter().zip(&w.weights) {
        let b = if width > 0.0 {
            (((v - min) / width).floor() as usize).min(9)
        } else {
            0
        };
        counts[b] += wt;
    }
    (0..10)
        .map(|i| KllBucket {
            lower_bound: min + width * i as f64,
            upper_bound: if i == 9 {
                max
            } else {
                min + width * (i + 1) as f64
            },
            count: counts[i],
        })
        .collect()
}

fn feature_statistics(c: &ColumnStats) -> FeatureStatistics {
    let common = Common {
        num_present: c.present,
        num_missing: c.missing,
    };
    let numerical_statistics = c.kll.as_ref().map(|kll| {
        let m = &c.moments;
        NumericalStatistics {
            common,
            mean: finite_or_zero(m.mean),
            sum: m.sum,
            std_dev: m.std(),
            min: finite_or_zero(m.min),
            max: finite_or_zero(m.max),
            distribution: NumericDistribution {
                kll: KllDistribution {
                    buckets: kll_buckets(kll, m.min, m.max),
                    sketch: KllSketch {
                        parameters: KllParameters {
                            c: kll.c(),
                            k: f64::from(kll.k()),
                        },
                        data: kll.levels().to_vec(),
                    },
                },
            },
            distinct_count: Some(c.distinct_count()),
        }
    });
    let string_statistics = c.categories.as_ref().map(|cats| StringStatistics {
        common,
        distinct_count: c.distinct_count(),
        distribution: CategoricalDistribution {
            categorical: CategoricalBuckets {
                buckets: cats
                    .sorted()
                    .into_iter()
                    .map(|(value, count)| CategoricalBucket {
                        value,
                        count: count as f64,
                    })
                    .collect(),
            },
        },
    });
    FeatureStatistics {
        name: c.name.clone(),
        inferred_type: c.inferred_type,
        numerical_statistics,
        string_statistics,
    }
}

fn column_from_feature(f: &FeatureStatistics, seed: u64) -> ColumnStats {
    let mut c = ColumnStats {
        name: f.name.clone(),
        inferred_type: f.inferred_type,
        present: 0,
        missing: 0,
        moments: Moments::default(),
        kll: None,
        categories: None,
        distinct: Default::default(),
        type_counts: TypeCounts::default(),
        distinct_from_file: None,
    };
    if let Some(n) = &f.numerical_statistics {
        c.present = n.common.num_present;
        c.missing = n.common.num_missing;
        let count = n.common.num_present;
        c.moments = Moments {
            n: count,
            mean: n.mean,
            m2: n.std_dev * n.std_dev * count as f64,
            sum: n.sum,
            min: if count == 0 { f64::INFINITY } else { n.min },
            max: if count == 0 { f64::NEG_INFINITY } else { n.max },
        };
        let p = n.distribution.kll.sketch.parameters;
        let k = if p.k >= 8.0 { p.k as u32 } else { DEFAULT_K };
        let cc = if p.c > 0.0 && p.c < 1.0 {
            p.c
        } else {
            DEFAULT_C
        };
        c.kll = Some(Kll::from_levels(
            k,
            cc,
            n.distribution.kll.sketch.data.clone(),
            seed,
        ));
        c.type_counts.integral = count;
        c.distinct_from_file = Some(n.distinct_count.unwrap_or_else(|| {
            c.kll
                .as_ref()
                .map_or(0, |k| k.weighted().values.len() as u64)
        }));
    }
    if let Some(s) = &f.string_statistics {
        c.present = s.common.num_present;
        c.missing = s.common.num_missing;
        let mut cats = Categories::default();
        // Pooled values beyond the listed buckets: their types are unknown, count them as text.
        c.type_counts.non_numeric = c.present.saturating_sub(
            s.distribution
                .categorical
                .buckets
                .iter()
                .map(|b| b.count.max(0.0).round() as u64)
                .sum(),
        );
        let mut listed = 0u64;
        for b in &s.distribution.categorical.buckets {
            let n = b.count.max(0.0).round() as u64;
            *cats.counts.entry(b.value.clone()).or_insert(0) += n;
            listed += n;
        }
        cats.other = c.present.saturating_sub(listed);
        c.categories = Some(cats);
        c.distinct_from_file = Some(s.distinct_count);
    }
    c
}

/// SageMaker-style suggestions: observed completeness, non-negativity of numeric columns,
/// and the observed domain of string columns with few distinct values.
pub fn suggest_constraints(stats: &Statistics) -> Constraints {
    let item_count = stats.dataset.item_count;
    let features = stats
        .features
        .iter()
        .map(|f| {
            let common = f
                .numerical_statistics
                .as_ref()
                .map(|n| n.common)
                .or_else(|| f.string_statistics.as_ref().map(|s| s.common));
            let completeness = common.map(|c| {
                if item_count == 0 {
                    1.0
                } else {
                    c.num_present as f64 / item_count as f64
                }
            });
            let num_constraints = f.numerical_statistics.as_ref().map(|n| NumConstraints {
                is_non_negative: n.common.num_present == 0 || n.min >= 0.0,
            });
            let string_constraints = f.string_statistics.as_ref().and_then(|s| {
                let listed: f64 = s
                    .distribution
                    .categorical
                    .buckets
                    .iter()
                    .map(|b| b.count)
                    .sum();
                let complete = listed.round() as u64 == s.common.num_present;
                (complete && s.distinct_count <= DOMAIN_MAX_VALUES && s.distinct_count > 0).then(
                    || {
                        let mut domains: Vec<String> = s
                            .distribution
                            .categorical
                            .buckets
                            .iter()
                            .map(|b| b.value.clone())
                            .collect();
                        domains.sort();
                        StringConstraints { domains }
                    },
                )
            });
            FeatureConstraints {
                name: f.name.clone(),
                inferred_type: f.inferred_type,
                completeness,
                num_constraints,
                string_constraints,
                monitoring_config_overrides: None,
            }
        })
        .collect();
    Constraints {
        version: 0.0,
        features,
        monitoring_config: MonitoringConfig::default(),
    }
}

#[cfg(test)]
#[path = "sagemaker_tests.rs"]
mod tests;
