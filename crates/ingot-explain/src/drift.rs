//! Feature-attribution drift as SageMaker Clarify's model monitor scores it: the normalized
//! discounted cumulative gain (NDCG) of the current attribution ranking against the baseline's.
//!
//! With `a(f)` the **baseline** global attribution of feature `f`, `F = [f_1 … f_m]` the
//! features sorted by baseline attribution (descending) and `F′ = [f′_1 … f′_m]` sorted by
//! current attribution (descending):
//!
//! ```text
//! DCG  = Σ_{i=1..m} a(f′_i) / log2(i + 1)
//! iDCG = Σ_{i=1..m} a(f_i)  / log2(i + 1)
//! NDCG = DCG / iDCG
//! ```
//!
//! NDCG is 1 when the current ranking equals the baseline's and drops as features with large
//! baseline attributions fall down the ranking; the monitor reports drift below the threshold
//! (SageMaker's default 0.90). Attributions are compared by magnitude (global SHAP values are
//! mean |SHAP|); ties in a ranking keep the features' input order.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// SageMaker's default alert threshold.
pub const DEFAULT_NDCG_THRESHOLD: f64 = 0.90;

/// The outcome of comparing two attribution vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionDrift {
    /// NDCG of the current ranking against the baseline's, in [0, 1].
    pub ndcg: f64,
    /// The threshold used.
    pub threshold: f64,
    /// Whether `ndcg < threshold`.
    pub drifted: bool,
}

/// Feature indices sorted by descending magnitude, ties by index.
fn ranking(attributions: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..attributions.len()).collect();
    order.sort_by(|&i, &j| {
        attributions[j]
            .abs()
            .total_cmp(&attributions[i].abs())
            .then(i.cmp(&j))
    });
    order
}

/// NDCG of `current`'s ranking against `baseline`'s (same features, same order).
/// When every baseline attribution is 0 the rankings carry no information and NDCG is 1.
pub fn attribution_ndcg(baseline: &[f64], current: &[f64]) -> Result<f64> {
    if baseline.len() != current.len() {
        return Err(Error::LengthMismatch {
            what: "current attributions",
            expected: baseline.len(),
            actual: current.len(),
        });
    }
    if baseline.is_empty() {
        return Err(Error::Empty("the attributions"));
    }
    if let Some(bad) = baseline.iter().chain(current).find(|v| !v.is_finite()) {
        return Err(Error::Invalid {
            what: "attributions",
            message: format!("{bad} is not finite"),
        });
    }
    let gain = |order: &[usize]| -> f64 {
        order
            .iter()
            .enumerate()
            .map(|(i, &f)| baseline[f].abs() / ((i + 2) as f64).log2())
            .sum()
    };
    let ideal = gain(&ranking(baseline));
    if ideal == 0.0 {
        return Ok(1.0);
    }
    Ok(gain(&ranking(current)) / ideal)
}

/// NDCG and whether it falls below `threshold`.
pub fn attribution_drift(
    baseline: &[f64],
    current: &[f64],
    threshold: f64,
) -> Result<AttributionDrift> {
    let ndcg = attribution_ndcg(baseline, current)?;
    Ok(AttributionDrift {
        ndcg,
        threshold,
        drifted: ndcg < threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_rankings_score_one() {
        let baseline = [0.7, 0.5, 0.05];
        assert_eq!(attribution_ndcg(&baseline, &baseline).unwrap(), 1.0);
        // Same order, different magnitudes: still 1.
        assert_eq!(attribution_ndcg(&baseline, &[0.3, 0.2, 0.1]).unwrap(), 1.0);
    }

    #[test]
    fn swapping_top_features_lowers_the_score() {
        // SageMaker's college-admission example: baseline (SAT 0.70, GPA 0.50, rank 0.05),
        // live (0.10, 0.20, 0.70), so F′ = [rank, GPA, SAT].
        // iDCG = 0.70/log2 2 + 0.50/log2 3 + 0.05/log2 4 = 0.70 + 0.50/1.5849625 + 0.025.
        // DCG  = 0.05/log2 2 + 0.50/log2 3 + 0.70/log2 4 = 0.05 + 0.50/1.5849625 + 0.35.
        let baseline = [0.70, 0.50, 0.05];
        let live = [0.10, 0.20, 0.70];
        let l3 = 3f64.log2();
        let expected = (0.05 + 0.50 / l3 + 0.35) / (0.70 + 0.50 / l3 + 0.025);
        let ndcg = attribution_ndcg(&baseline, &live).unwrap();
        assert!((ndcg - expected).abs() < 1e-15, "{ndcg} vs {expected}");
        let drift = attribution_drift(&baseline, &live, DEFAULT_NDCG_THRESHOLD).unwrap();
        assert!(drift.drifted);
        // Swapping only the two lowest features costs less than swapping the two highest.
        // Low swap: DCG = 0.70 + 0.05/log2 3 + 0.50/2.
        let low = attribution_ndcg(&baseline, &[0.70, 0.05, 0.50]).unwrap();
        let expected_low = (0.70 + 0.05 / l3 + 0.25) / (0.70 + 0.50 / l3 + 0.025);
        assert!((low - expected_low).abs() < 1e-15);
        // High swap: DCG = 0.50 + 0.70/log2 3 + 0.025.
        let high = attribution_ndcg(&baseline, &[0.50, 0.70, 0.05]).unwrap();
        let expected_high = (0.50 + 0.70 / l3 + 0.025) / (0.70 + 0.50 / l3 + 0.025);
        assert!((high - expected_high).abs() < 1e-15);
        assert!(1.0 > low && low > high && high > ndcg);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(attribution_ndcg(&[1.0], &[1.0, 2.0]).is_err());
        assert!(attribution_ndcg(&[], &[]).is_err());
        assert!(attribution_ndcg(&[f64::NAN], &[1.0]).is_err());
        assert_eq!(attribution_ndcg(&[0.0, 0.0], &[1.0, 2.0]).unwrap(), 1.0);
    }
}
