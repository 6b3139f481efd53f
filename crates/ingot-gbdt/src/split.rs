//! Best-split search on one feature's histogram: numeric thresholds with a learned direction for
//! missing values, and categorical splits (one-vs-rest for few categories, otherwise
//! LightGBM-style many-vs-many: categories ordered by smoothed gradient/hessian ratio, the best
//! prefix from either end goes left).
//!
//! Gain of a leaf is `T(G)² / (H + λ2)` with `T` the L1 soft threshold; a split's gain is the
//! children's minus the parent's and must exceed `min_gain_to_split`.

use crate::binning::BinMapper;
use crate::histogram::Bin;

/// The split constraints and penalties.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitParams {
    /// Minimum rows per child.
    pub min_data_in_leaf: u64,
    /// Minimum hessian sum per child.
    pub min_sum_hessian_in_leaf: f64,
    /// L1 penalty.
    pub lambda_l1: f64,
    /// L2 penalty.
    pub lambda_l2: f64,
    /// Minimum gain.
    pub min_gain_to_split: f64,
    /// One-vs-rest up to this many categories.
    pub max_cat_to_onehot: usize,
    /// Most categories sent left in a many-vs-many split.
    pub max_cat_threshold: usize,
    /// Ratio smoothing.
    pub cat_smooth: f64,
    /// Extra L2 for categorical splits.
    pub cat_l2: f64,
}

/// How rows are routed by a split.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitRule {
    /// Value bins `<= bin` go left.
    Numeric { bin: usize },
    /// These value bins (= category codes, sorted) go left.
    Categorical { left: Vec<u32> },
}

/// The best split found for one feature of one leaf.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Feature index.
    pub feature: usize,
    /// Gain over not splitting.
    pub gain: f64,
    /// Routing.
    pub rule: SplitRule,
    /// Whether missing values go left.
    pub default_left: bool,
    /// Left child sums.
    pub left: Bin,
    /// Right child sums.
    pub right: Bin,
}

#[inline]
fn soft_threshold(g: f64, l1: f64) -> f64 {
    if g > l1 {
        g - l1
    } else if g < -l1 {
        g + l1
    } else {
        0.0
    }
}

/// `T(G)² / (H + λ2)`.
#[inline]
pub fn leaf_gain(g: f64, h: f64, l1: f64, l2: f64) -> f64 {
    let t = soft_threshold(g, l1);
    t * t / (h + l2)
}

/// The optimal leaf output `-T(G) / (H + λ2)`.
#[inline]
pub fn leaf_output(g: f64, h: f64, l1: f64, l2: f64) -> f64 {
    let denom = h + l2;
    if denom <= 0.0 {
        0.0
    } else {
        -soft_threshold(g, l1) / denom
    }
}

impl SplitParams {
    #[inline]
    fn feasible(&self, b: &Bin) -> bool {
        b.n >= self.min_data_in_leaf && b.h >= self.min_sum_hessian_in_leaf
    }
}

/// Keeps the better of two candidates (higher gain; on ties the earlier one).
fn consider(best: &mut Option<Split>, candidate: Split) {
    if best.as_ref().is_none_or(|b| candidate.gain > b.gain) {
        *best = Some(candidate);
    }
}

/// The best split of one feature, or `None` when no split beats `min_gain_to_split`.
pub fn best_split(
    feature: usize,
    hist: &[Bin],
    mapper: &BinMapper,
    total: &Bin,
    p: &SplitParams,
) -> Option<Split> {
    let values = mapper.values();
    let missing = hist[values];
    let parent = leaf_gain(total.g, total.h, p.lambda_l1, p.lambda_l2);
    let mut best: Option<Split> = None;
    match mapper {
        BinMapper::Numeric { .. } => {
            let directions: &[bool] = if missing.n > 0 {
                &[false, true]
            } else {
                &[false]
            };
            for &missing_left in directions {
                let mut left = if missing_left {
                    missing
                } else {
                    Bin::default()
                };
                for (t, bin) in hist[..values.saturating_sub(1)].iter().enumerate() {
                    left.add(bin);
                    if bin.n == 0 || !p.feasible(&left) {
                        continue;
                    }
                    let mut right = *total;
                    right.sub(&left);
                    if !p.feasible(&right) {
                        break;
                    }
                    let gain = leaf_gain(left.g, left.h, p.lambda_l1, p.lambda_l2)
                        + leaf_gain(right.g, right.h, p.lambda_l1, p.lambda_l2)
                        - parent;
                    if gain > p.min_gain_to_split {
                        let default_left = if missing.n > 0 {
                            missing_left
                        } else {
                            left.n >= right.n
                        };
                        consider(
                            &mut best,
                            Split {
                                feature,
                                gain,
                                rule: SplitRule::Numeric { bin: t },
                                default_left,
                                left,
                                right,
                            },
                        );
                    }
                }
            }
        }
        BinMapper::Categorical { .. } => {
            let used: Vec<usize> = (0..values).filter(|&c| hist[c].n > 0).collect();
            let try_left = |set: &[usize], l2: f64, best: &mut Option<Split>| {
                let mut left = Bin::default();
                for &c in set {
                    left.add(&hist[c]);
                }
                let mut right = *total;
                right.sub(&left);
                if !p.feasible(&left) || !p.feasible(&right) {
                    return;
                }
                let gain = leaf_gain(left.g, left.h, p.lambda_l1, l2)
                    + leaf_gain(right.g, right.h, p.lambda_l1, l2)
                    - parent;
                if gain > p.min_gain_to_split {
                    let mut codes: Vec<u32> = set.iter().map(|&c| c as u32).collect();
                    codes.sort_unstable();
                    consider(
                        best,
                        Split {
                            feature,
                            gain,
                            rule: SplitRule::Categorical { left: codes },
                            default_left: false,
                            left,
                            right,
                        },
                    );
                }
            };
            if used.len() <= p.max_cat_to_onehot {
                for &c in &used {
                    try_left(&[c], p.lambda_l2, &mut best);
                }
            } else {
                let mut ordered: Vec<usize> = used
                    .iter()
                    .copied()
                    .filter(|&c| hist[c].n as f64 >= p.cat_smooth.max(1.0))
                    .collect();
                let ratio = |c: usize| hist[c].g / (hist[c].h + p.cat_smooth);
                ordered.sort_by(|&a, &b| ratio(a).total_cmp(&ratio(b)).then(a.cmp(&b)));
                let limit = p.max_cat_threshold.min(ordered.len().div_ceil(2));
                let l2 = p.lambda_l2 + p.cat_l2;
                for reverse in [false, true] {
                    let mut set = Vec::with_capacity(limit);
                    for i in 0..limit {
                        let c = if reverse {
                            ordered[ordered.len() - 1 - i]
                        } else {
                            ordered[i]
                        };
                        set.push(c);
                        if set.len() < ordered.len() {
                            try_left(&set, l2, &mut best);
                        }
                    }
                }
            }
        }
    }
    best
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
