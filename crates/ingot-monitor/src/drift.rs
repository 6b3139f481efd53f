//! Per-column drift between reference and current statistics, with Evidently's default test
//! selection, and dataset drift (share of drifted columns ≥ `drift_share`, 0.5 by default).
//!
//! Defaults (Evidently's `_get_default_stattest`; n_unique over reference ∪ current; the
//! reference size counts non-missing values):
//! - reference ≤ 1000: numeric with n_unique > 5 → KS (p ≤ 0.05); otherwise chi-squared
//!   (n_unique > 2) or Z-test for proportions (n_unique ≤ 2), p < 0.05.
//! - reference > 1000: numeric with n_unique > 5 → Wasserstein / reference std (≥ 0.1);
//!   otherwise Jensen–Shannon distance (≥ 0.1).
//!
//! Exact or sketch-based: numeric tests run on the KLL sketches' weighted items. A sketch is
//! exact until it holds more than k + 1 = 2049 values, so with up to 2049 rows on each side every
//! test equals SciPy's on the full samples (`method: "exact"`). Beyond that (`"sketch"`), CDF-based
//! scores (KS statistic, Wasserstein, binned JS/PSI) carry the sketch's rank error (≤ 0.25% of n
//! per CDF point) and KS p-values use the true sample sizes. Categorical tests use exact
//! category counts (below 10 000 distinct values; beyond, new values are pooled as "other").

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::{ColumnStats, DatasetStats, InferredType};
use crate::stattests::{self as t, KsMethod, Weighted};

/// A drift test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatTest {
    /// Two-sample Kolmogorov–Smirnov p-value (numeric).
    Ks,
    /// Chi-squared test of the 2×k contingency table, p-value.
    Chisquare,
    /// Z-test for two proportions (binary columns), p-value.
    Z,
    /// Wasserstein distance divided by the reference standard deviation (numeric).
    Wasserstein,
    /// Jensen–Shannon distance of binned shares.
    JensenShannon,
    /// Population stability index of binned shares.
    Psi,
    /// L∞ distance: of category shares, or of CDFs for numeric columns.
    LInfinity,
}

impl StatTest {
    pub const ALL: [StatTest; 7] = [
        StatTest::Ks,
        StatTest::Chisquare,
        StatTest::Z,
        StatTest::Wasserstein,
        StatTest::JensenShannon,
        StatTest::Psi,
        StatTest::LInfinity,
    ];

    /// The short name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            StatTest::Ks => "ks",
            StatTest::Chisquare => "chisquare",
            StatTest::Z => "z",
            StatTest::Wasserstein => "wasserstein",
            StatTest::JensenShannon => "jensenshannon",
            StatTest::Psi => "psi",
            StatTest::LInfinity => "linf",
        }
    }

    /// Parses a short name (`ks`, `chisquare`, `z`, `wasserstein`, `jensenshannon`, `psi`, `linf`).
    pub fn parse(name: &str) -> Result<StatTest> {
        let n = name.trim().to_ascii_lowercase();
        StatTest::ALL
            .into_iter()
            .find(|t| t.name() == n)
            .ok_or_else(|| {
                Error::Options(format!(
                    "unknown drift test {name:?}; expected one of: {}",
                    StatTest::ALL.map(StatTest::name).join(", ")
                ))
            })
    }

    /// Human-readable name.
    pub fn title(self) -> &'static str {
        match self {
            StatTest::Ks => "K-S p-value",
            StatTest::Chisquare => "chi-square p-value",
            StatTest::Z => "Z-test p-value",
            StatTest::Wasserstein => "Wasserstein distance (normed)",
            StatTest::JensenShannon => "Jensen-Shannon distance",
            StatTest::Psi => "PSI",
            StatTest::LInfinity => "L-infinity distance",
        }
    }

    pub fn default_threshold(self) -> f64 {
        match self {
            StatTest::Ks | StatTest::Chisquare | StatTest::Z => 0.05,
            _ => 0.1,
        }
    }

    /// Whether the score is a p-value (drift when small) rather than a distance.
    pub fn is_p_value(self) -> bool {
        matches!(self, StatTest::Ks | StatTest::Chisquare | StatTest::Z)
    }

    /// Evidently's decision rule for each test.
    pub fn drifted(self, score: f64, threshold: f64) -> bool {
        match self {
            StatTest::Ks => score <= threshold,
            StatTest::Chisquare | StatTest::Z => score < threshold,
            StatTest::Wasserstein | StatTest::JensenShannon | StatTest::Psi => score >= threshold,
            StatTest::LInfinity => score > threshold,
        }
    }
}

/// A per-column choice of test and threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnOverride {
    pub stattest: Option<StatTest>,
    pub threshold: Option<f64>,
}

/// Which tests to run: Evidently's defaults unless overridden globally or per column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftOptions {
    pub stattest: Option<StatTest>,
    pub threshold: Option<f64>,
    pub per_column: BTreeMap<String, ColumnOverride>,
    /// Dataset drift when at least this share of columns drift.
    pub drift_share: f64,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            stattest: None,
            threshold: None,
            per_column: BTreeMap::new(),
            drift_share: 0.5,
        }
    }
}

/// What the report draws for a column: shares of reference and current per bin or category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Plot {
    Histogram {
        edges: Vec<f64>,
        reference: Vec<f64>,
        current: Vec<f64>,
    },
    Categories {
        labels: Vec<String>,
        reference: Vec<f64>,
        current: Vec<f64>,
    },
}

/// The drift result of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    pub column: String,
    /// `num` or `cat`, as Evidently says.
    pub column_type: String,
    pub stattest: StatTest,
    pub score: f64,
    pub threshold: f64,
    pub drifted: bool,
    /// `exact` (full samples) or `sketch` (KLL-based, approximate).
    pub method: String,
    pub reference_rows: u64,
    pub current_rows: u64,
    pub n_unique: u64,
    pub plot: Plot,
}

/// Dataset-level drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetDrift {
    pub drift_share: f64,
    pub number_of_columns: usize,
    pub number_of_drifted_columns: usize,
    pub share_of_drifted_columns: f64,
    pub dataset_drift: bool,
    pub columns: Vec<ColumnDrift>,
    /// Columns in both datasets whose drift could not be tested, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Drift of every column present in both datasets (in reference order).
pub fn dataset_drift(
    reference: &DatasetStats,
    current: &DatasetStats,
    options: &DriftOptions,
) -> Result<DatasetDrift> {
    let mut columns = Vec::new();
    let mut skipped = Vec::new();
    for r in &reference.columns {
        let Some(c) = current.column(&r.name) else {
            continue;
        };
        let o = options.per_column.get(&r.name).copied().unwrap_or_default();
        let test = o.stattest.or(options.stattest);
        let threshold = o.threshold.or(options.threshold);
        match column_drift(r, c, test, threshold) {
            Ok(Some(d)) => columns.push(d),
            Ok(None) => skipped.push((r.name.clone(), "no values to compare".to_string())),
            Err(e) => skipped.push((r.name.clone(), e.to_string())),
        }
    }
    let drifted = columns.iter().filter(|c| c.drifted).count();
    let share = if columns.is_empty() {
        0.0
    } else {
        drifted as f64 / columns.len() as f64
    };
    Ok(DatasetDrift {
        drift_share: options.drift_share,
        number_of_columns: columns.len(),
        number_of_drifted_columns: drifted,
        share_of_drifted_columns: share,
        dataset_drift: !columns.is_empty() && share >= options.drift_share,
        columns,
        skipped,
    })
}

/// Counts per category key, for categorical tests.
fn category_counts(c: &ColumnStats) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if let Some(cats) = &c.categories {
        for (k, v) in &cats.counts {
            out.insert(k.clone(), *v as f64);
        }
        if cats.other > 0 {
            *out.entry("(other)".to_string()).or_insert(0.0) += cats.other as f64;
        }
    } else if let Some(k) = &c.kll {
        let w = k.weighted();
        for (v, wt) in w.values.iter().zip(&w.weights) {
            *out.entry(format_value(*v)).or_insert(0.0) += wt;
        }
    }
    out
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The drift of one column; `None` when either side has no values.
pub fn column_drift(
    reference: &ColumnStats,
    current: &ColumnStats,
    test: Option<StatTest>,
    threshold: Option<f64>,
) -> Result<Option<ColumnDrift>> {
    let numeric = reference.inferred_type.is_numeric();
    if reference.inferred_type == InferredType::Unknown {
        return Err(Error::Options("column type is not monitored".into()));
    }
    if numeric != current.inferred_type.is_numeric() {
        return Err(Error::Options(format!(
            "type changed from {} to {}",
            reference.inferred_type.as_str(),
            current.inferred_type.as_str()
        )));
    }
    if reference.present == 0 || current.present == 0 {
        return Ok(None);
    }
    let (ref_w, cur_w) = if numeric {
        let (Some(a), Some(b)) = (&reference.kll, &current.kll) else {
            return Ok(None);
        };
        (a.weighted(), b.weighted())
    } else {
        (Weighted::default(), Weighted::default())
    };
    let exact = match (&reference.kll, &current.kll) {
        (Some(a), Some(b)) => a.is_exact() && b.is_exact(),
        _ => true,
    };
    let (ref_counts, cur_counts) = (category_counts(reference), category_counts(current));
    let n_unique = if numeric {
        let (dr, dc) = (reference.distinct_count(), current.distinct_count());
        if dr.max(dc) > 5 {
            dr.max(dc)
        } else {
            ref_w
                .values
                .iter()
                .chain(&cur_w.values)
                .map(|v| v.to_bits())
                .collect::<BTreeSet<_>>()
                .len() as u64
        }
    } else {
        ref_counts
            .keys()
            .chain(cur_counts.keys())
            .collect::<BTreeSet<_>>()
            .len() as u64
    };
    let (n1, n2) = (reference.present, current.present);
    let default = if n1 <= 1000 {
        if numeric && n_unique > 5 {
            StatTest::Ks
        } else if n_unique > 2 {
            StatTest::Chisquare
        } else {
            StatTest::Z
        }
    } else if numeric && n_unique > 5 {
        StatTest::Wasserstein
    } else {
        StatTest::JensenShannon
    };
    let test = test.unwrap_or(default);
    let threshold = threshold.unwrap_or_else(|| test.default_threshold());
    // Categorical view: numeric columns with few values, or string columns.
    let as_categories = !numeric || n_unique <= 5;
    let keys: Vec<&String> = ref_counts
        .keys()
        .chain(cur_counts.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let shares = |m: &BTreeMap<String, f64>| -> Vec<f64> {
        let total: f64 = m.values().sum();
        keys.iter()
            .map(|k| m.get(*k).copied().unwrap_or(0.0) / total)
            .collect()
    };
    let counts = |m: &BTreeMap<String, f64>| -> Vec<f64> {
        keys.iter()
            .map(|k| m.get(*k).copied().unwrap_or(0.0))
            .collect()
    };
    let score = match test {
        StatTest::Ks | StatTest::Wasserstein if !numeric => {
            return Err(Error::Options(format!(
                "{} applies to numeric columns only",
                test.name()
            )))
        }
        StatTest::Ks => t::ks_2samp(&ref_w, &cur_w, n1, n2, KsMethod::Auto).p_value,
        StatTest::Wasserstein => {
            t::wasserstein(&ref_w, &cur_w) / reference.moments.std().max(0.001)
        }
        StatTest::Chisquare => {
            t::chi2_contingency(&counts(&ref_counts), &counts(&cur_counts)).p_value
        }
        StatTest::Z => {
            if keys.len() > 2 {
                return Err(Error::Options(format!(
                    "the Z-test needs a binary column; this one has {} values",
                    keys.len()
                )));
            }
            let key = keys[0];
            let x1 = ref_counts.get(key).copied().unwrap_or(0.0);
            let x2 = cur_counts.get(key).copied().unwrap_or(0.0);
            let (t1, t2): (f64, f64) = (ref_counts.values().sum(), cur_counts.values().sum());
            t::z_test_proportions(x1, t1, x2, t2).p_value
        }
        StatTest::JensenShannon | StatTest::Psi => {
            let (mut r, mut c) = if numeric && reference.distinct_count() > 30 {
                sturges_shares(reference, current, &ref_w, &cur_w)
            } else {
                (shares(&ref_counts), shares(&cur_counts))
            };
            if test == StatTest::Psi {
                t::fill_zeroes(&mut r);
                t::fill_zeroes(&mut c);
                t::psi(&r, &c)
            } else {
                t::jensen_shannon(&r, &c)
            }
        }
        StatTest::LInfinity => {
            if as_categories {
                t::l_infinity(&shares(&ref_counts), &shares(&cur_counts))
            } else {
                t::ks_statistic(&ref_w, &cur_w)
            }
        }
    };
    let plot = if as_categories {
        category_plot(&ref_counts, &cur_counts)
    } else {
        histogram_plot(reference, current, &ref_w, &cur_w)
    };
    Ok(Some(ColumnDrift {
        column: reference.name.clone(),
        column_type: if numeric { "num" } else { "cat" }.to_string(),
        stattest: test,
        score,
        threshold,
        drifted: test.drifted(score, threshold),
        method: if exact { "exact" } else { "sketch" }.to_string(),
        reference_rows: n1,
        current_rows: n2,
        n_unique,
        plot,
    }))
}

/// Shares of equal-width bins over [lo, hi] (the last bin closed), from weighted samples.
pub fn binned_shares(w: &Weighted, lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let mut out = vec![0.0; bins];
    let width = (hi - lo) / bins as f64;
    for (v, wt) in w.values.iter().zip(&w.weights) {
        let b = if width > 0.0 {
            (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1)
        } else {
            0
        };
        out[b] += wt;
    }
    let total = w.total();
    out.iter_mut().for_each(|v| *v /= total);
    out
}

/// Evidently's numeric binning: `np.histogram_bin_edges(ref ∪ cur, bins="sturges")`.
fn sturges_shares(
    r: &ColumnStats,
    c: &ColumnStats,
    rw: &Weighted,
    cw: &Weighted,
) -> (Vec<f64>, Vec<f64>) {
    let n = (r.present + c.present) as f64;
    let (lo, hi) = (
        r.moments.min.min(c.moments.min),
        r.moments.max.max(c.moments.max),
    );
    let bins = if hi > lo {
        (n.log2() + 1.0).ceil().max(1.0) as usize
    } else {
        1
    };
    (
        binned_shares(rw, lo, hi, bins),
        binned_shares(cw, lo, hi, bins),
    )
}

const PLOT_BINS: usize = 20;
const PLOT_CATEGORIES: usize = 20;

fn histogram_plot(r: &ColumnStats, c: &ColumnStats, rw: &Weighted, cw: &Weighted) -> Plot {
    let (lo, hi) = (
        r.moments.min.min(c.moments.min),
        r.moments.max.max(c.moments.max),
    );
    let edges = (0..=PLOT_BINS)
        .map(|i| lo + (hi - lo) * i as f64 / PLOT_BINS as f64)
        .collect();
    Plot::Histogram {
        edges,
        reference: binned_shares(rw, lo, hi, PLOT_BINS),
        current: binned_shares(cw, lo, hi, PLOT_BINS),
    }
}

fn category_plot(r: &BTreeMap<String, f64>, c: &BTreeMap<String, f64>) -> Plot {
    let (tr, tc): (f64, f64) = (r.values().sum(), c.values().sum());
    let mut keys: Vec<(&String, f64)> = r
        .keys()
        .chain(c.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|k| {
            let s = r.get(k).copied().unwrap_or(0.0) / tr.max(1.0)
                + c.get(k).copied().unwrap_or(0.0) / tc.max(1.0);
            (k, s)
        })
        .collect();
    keys.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    keys.truncate(PLOT_CATEGORIES);
    Plot::Categories {
        labels: keys.iter().map(|(k, _)| (*k).clone()).collect(),
        reference: keys
            .iter()
            .map(|(k, _)| r.get(*k).copied().unwrap_or(0.0) / tr.max(1.0))
            .collect(),
        current: keys
            .iter()
            .map(|(k, _)| c.get(*k).copied().unwrap_or(0.0) / tc.max(1.0))
            .collect(),
    }
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
