//! Threshold curves of binary scores: the ROC curve, the precision-recall curve, average
//! precision and the trapezoidal PR AUC, with scikit-learn's conventions.

use crate::{check_finite, check_pair, Result};

/// Points of a ROC curve, by decreasing threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct RocCurve {
    /// False positive rate at each threshold (all NaN when `y_true` has no negatives).
    pub fpr: Vec<f64>,
    /// True positive rate at each threshold (all NaN when `y_true` has no positives).
    pub tpr: Vec<f64>,
    /// Decreasing thresholds; the first is `+inf` (nothing predicted positive).
    pub thresholds: Vec<f64>,
}

/// Points of a precision-recall curve, by increasing threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct PrCurve {
    /// Precision at each threshold, then a final 1.
    pub precision: Vec<f64>,
    /// Recall at each threshold, then a final 0 (all ones when `y_true` has no positives).
    pub recall: Vec<f64>,
    /// Increasing distinct scores (one fewer than `precision` and `recall`).
    pub thresholds: Vec<f64>,
}

/// Cumulative false and true positives when predicting positive at and above each distinct
/// score, by decreasing score (scikit-learn's `_binary_clf_curve`).
fn clf_curve(y_true: &[bool], scores: &[f64]) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    check_pair(y_true.len(), scores.len(), "scores")?;
    check_finite(scores, 1, "score")?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut fps, mut tps, mut thresholds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0u64, 0u64);
    for (i, &row) in order.iter().enumerate() {
        if y_true[row] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_value = order
            .get(i + 1)
            .is_none_or(|&next| scores[next] != scores[row]);
        if last_of_value {
            fps.push(fp as f64);
            tps.push(tp as f64);
            thresholds.push(scores[row]);
        }
    }
    Ok((fps, tps, thresholds))
}

/// The ROC curve, as scikit-learn's `roc_curve(drop_intermediate=True)`: collinear points are
/// dropped, and a first point `(0, 0)` at threshold `+inf` is added.
pub fn roc_curve(y_true: &[bool], scores: &[f64]) -> Result<RocCurve> {
    let (mut fps, mut tps, mut thresholds) = clf_curve(y_true, scores)?;
    if fps.len() > 2 {
        let last = fps.len() - 1;
        let keep: Vec<usize> = (0..fps.len())
            .filter(|&i| {
                i == 0
                    || i == last
                    || fps[i + 1] - 2.0 * fps[i] + fps[i - 1] != 0.0
                    || tps[i + 1] - 2.0 * tps[i] + tps[i - 1] != 0.0
            })
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thresholds = keep.iter().map(|&i| thresholds[i]).collect();
    }
    fps.insert(0, 0.0);
    tps.insert(0, 0.0);
    thresholds.insert(0, f64::INFINITY);
    let rate = |counts: &[f64]| -> Vec<f64> {
        let total = counts.last().copied().unwrap_or(0.0);
        if total <= 0.0 {
            vec![f64::NAN; counts.len()]
        } else {
            counts.iter().map(|c| c / total).collect()
        }
    };
    Ok(RocCurve {
        fpr: rate(&fps),
        tpr: rate(&tps),
        thresholds,
    })
}

/// The precision-recall curve, as scikit-learn's `precision_recall_curve` (all thresholds
/// kept). Without positives in `y_true`, recall is 1 at every threshold, as in scikit-learn.
pub fn precision_recall_curve(y_true: &[bool], scores: &[f64]) -> Result<PrCurve> {
    let (fps, tps, thresholds) = clf_curve(y_true, scores)?;
    let total = tps.last().copied().unwrap_or(0.0);
    let mut precision: Vec<f64> = fps
        .iter()
        .zip(&tps)
        .map(|(f, t)| if t + f == 0.0 { 0.0 } else { t / (t + f) })
        .rev()
        .collect();
    let mut recall: Vec<f64> = tps
        .iter()
        .map(|t| if total == 0.0 { 1.0 } else { t / total })
        .rev()
        .collect();
    precision.push(1.0);
    recall.push(0.0);
    Ok(PrCurve {
        precision,
        recall,
        thresholds: thresholds.into_iter().rev().collect(),
    })
}

/// Average precision, as scikit-learn's `average_precision_score`: the step-function integral
/// `Σ (R_n − R_{n−1}) P_n` of the PR curve (no interpolation). 0 when `y_true` has no
/// positives (scikit-learn warns and returns 0 too).
pub fn average_precision(y_true: &[bool], scores: &[f64]) -> Result<f64> {
    let curve = precision_recall_curve(y_true, scores)?;
    let sum: f64 = curve
        .recall
        .windows(2)
        .zip(&curve.precision)
        .map(|(r, p)| (r[1] - r[0]) * p)
        .sum();
    Ok((-sum).max(0.0))
}

/// Area under the PR curve by the trapezoidal rule, as scikit-learn's
/// `auc(recall, precision)` over [`precision_recall_curve`]. Prefer [`average_precision`],
/// which does not interpolate linearly between points.
pub fn pr_auc(y_true: &[bool], scores: &[f64]) -> Result<f64> {
    let curve = precision_recall_curve(y_true, scores)?;
    Ok(trapezoid(&curve.recall, &curve.precision).abs())
}

/// Trapezoidal area under `(x, y)` in the given order (negative for decreasing `x`).
fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close_all(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x - y).abs() < 1e-12 || (x.is_nan() && y.is_nan()) || x == y,
                "{a:?} vs {b:?}"
            );
        }
    }

    #[test]
    fn roc_curve_of_docs_example() {
        // roc_curve([1, 1, 2, 2] as 0/1, [0.1, 0.4, 0.35, 0.8]) from scikit-learn's docs.
        let c = roc_curve(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8]).unwrap();
        close_all(&c.fpr, &[0.0, 0.0, 0.5, 0.5, 1.0]);
        close_all(&c.tpr, &[0.0, 0.5, 0.5, 1.0, 1.0]);
        close_all(&c.thresholds, &[f64::INFINITY, 0.8, 0.4, 0.35, 0.1]);
    }

    #[test]
    fn roc_curve_drops_collinear_points() {
        // Three negatives in a row below every positive: the middle ones are collinear.
        let y = [true, true, false, false, false];
        let c = roc_curve(&y, &[0.9, 0.8, 0.3, 0.2, 0.1]).unwrap();
        close_all(&c.fpr, &[0.0, 0.0, 0.0, 1.0]);
        close_all(&c.tpr, &[0.0, 0.5, 1.0, 1.0]);
        let only_positive = roc_curve(&[true, true], &[0.2, 0.3]).unwrap();
        assert!(only_positive.fpr.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn pr_curve_and_average_precision_of_docs_example() {
        let y = [false, false, true, true];
        let s = [0.1, 0.4, 0.35, 0.8];
        let c = precision_recall_curve(&y, &s).unwrap();
        close_all(&c.precision, &[0.5, 2.0 / 3.0, 0.5, 1.0, 1.0]);
        close_all(&c.recall, &[1.0, 1.0, 0.5, 0.5, 0.0]);
        close_all(&c.thresholds, &[0.1, 0.35, 0.4, 0.8]);
        // scikit-learn's docs: average_precision_score(...) == 0.83...
        let ap = average_precision(&y, &s).unwrap();
        assert!((ap - (0.5 * 1.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-12, "{ap}");
        let area = pr_auc(&y, &s).unwrap();
        let expected = 0.5 * (1.0 + 1.0) / 2.0 + 0.5 * (2.0 / 3.0 + 0.5) / 2.0;
        assert!((area - expected).abs() < 1e-12, "{area}");
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(
            average_precision(&[false, false], &[0.3, 0.4]).unwrap(),
            0.0
        );
        assert_eq!(average_precision(&[true, true], &[0.3, 0.4]).unwrap(), 1.0);
        assert!(average_precision(&[true], &[f64::NAN]).is_err());
        assert!(roc_curve(&[], &[]).is_err());
    }
}
