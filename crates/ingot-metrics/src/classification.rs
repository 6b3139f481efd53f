//! Label-based classification metrics (accuracy, precision, recall, F1) and log loss.

use crate::{check_pair, Error, Result};

/// Fraction of predictions equal to the true label.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    let correct = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    Ok(correct as f64 / y_true.len() as f64)
}

/// True positives, false positives and false negatives for one class.
fn confusion(y_true: &[usize], y_pred: &[usize], class: usize) -> (usize, usize, usize) {
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (&t, &p) in y_true.iter().zip(y_pred) {
        match (t == class, p == class) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => {}
        }
    }
    (tp, fp, fn_)
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn precision_of(y_true: &[usize], y_pred: &[usize], class: usize) -> f64 {
    let (tp, fp, _) = confusion(y_true, y_pred, class);
    ratio(tp, tp + fp)
}

fn recall_of(y_true: &[usize], y_pred: &[usize], class: usize) -> f64 {
    let (tp, _, fn_) = confusion(y_true, y_pred, class);
    ratio(tp, tp + fn_)
}

fn f1_of(y_true: &[usize], y_pred: &[usize], class: usize) -> f64 {
    let (tp, fp, fn_) = confusion(y_true, y_pred, class);
    ratio(2 * tp, 2 * tp + fp + fn_)
}

/// Sorted distinct labels present in either slice (scikit-learn's default label set).
fn present_labels(y_true: &[usize], y_pred: &[usize]) -> Vec<usize> {
    let mut labels: Vec<usize> = y_true.iter().chain(y_pred).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    labels
}

fn macro_average(
    y_true: &[usize],
    y_pred: &[usize],
    per_class: fn(&[usize], &[usize], usize) -> f64,
) -> Result<f64> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    let labels = present_labels(y_true, y_pred);
    let sum: f64 = labels.iter().map(|&c| per_class(y_true, y_pred, c)).sum();
    Ok(sum / labels.len() as f64)
}

/// Binary precision of the `positive` class: tp / (tp + fp), 0 when nothing was predicted positive.
pub fn precision(y_true: &[usize], y_pred: &[usize], positive: usize) -> Result<f64> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    Ok(precision_of(y_true, y_pred, positive))
}

/// Binary recall of the `positive` class: tp / (tp + fn), 0 when the class never occurs.
pub fn recall(y_true: &[usize], y_pred: &[usize], positive: usize) -> Result<f64> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    Ok(recall_of(y_true, y_pred, positive))
}

/// Binary F1 of the `positive` class: 2tp / (2tp + fp + fn), 0 when undefined.
pub fn f1(y_true: &[usize], y_pred: &[usize], positive: usize) -> Result<f64> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    Ok(f1_of(y_true, y_pred, positive))
}

/// Unweighted mean of per-class precision over the labels present in `y_true` or `y_pred`.
pub fn precision_macro(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    macro_average(y_true, y_pred, precision_of)
}

/// Unweighted mean of per-class recall over the labels present in `y_true` or `y_pred`.
pub fn recall_macro(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    macro_average(y_true, y_pred, recall_of)
}

/// Unweighted mean of per-class F1 over the labels present in `y_true` or `y_pred`.
pub fn f1_macro(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    macro_average(y_true, y_pred, f1_of)
}

/// Mean negative log-likelihood of the true class. `probabilities` is row-major `n × k`; each
/// probability is clipped to `[1e-15, 1 - 1e-15]` first.
pub fn log_loss(y_true: &[usize], probabilities: &[f64], k: usize) -> Result<f64> {
    if k == 0 {
        return Err(Error::InvalidClassCount { classes: k });
    }
    check_pair(y_true.len() * k, probabilities.len(), "probabilities")?;
    const EPS: f64 = 1e-15;
    let mut total = 0.0;
    for (row, (&label, probs)) in y_true.iter().zip(probabilities.chunks_exact(k)).enumerate() {
        let p = probs.get(label).ok_or(Error::ClassOutOfRange {
            row,
            index: label,
            classes: k,
        })?;
        total -= p.clamp(EPS, 1.0 - EPS).ln();
    }
    Ok(total / y_true.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn accuracy_counts_matches() {
        close(accuracy(&[0, 1, 1, 0], &[0, 1, 0, 0]).unwrap(), 0.75);
        assert_eq!(accuracy(&[], &[]), Err(Error::Empty));
        assert!(matches!(
            accuracy(&[0], &[0, 1]),
            Err(Error::LengthMismatch { .. })
        ));
    }

    #[test]
    fn binary_precision_recall_f1() {
        // tp = 2, fp = 1, fn = 1
        let t = [1, 1, 1, 0, 0, 0];
        let p = [1, 1, 0, 1, 0, 0];
        close(precision(&t, &p, 1).unwrap(), 2.0 / 3.0);
        close(recall(&t, &p, 1).unwrap(), 2.0 / 3.0);
        close(f1(&t, &p, 1).unwrap(), 2.0 / 3.0);
        // Nothing predicted positive: zero division gives 0.
        close(precision(&[1, 0], &[0, 0], 1).unwrap(), 0.0);
        close(f1(&[0, 0], &[0, 0], 1).unwrap(), 0.0);
    }

    #[test]
    fn macro_scores_average_present_labels() {
        let t = [0, 0, 1, 1, 2, 2];
        let p = [0, 1, 1, 1, 2, 0];
        // class 0: tp1 fp1 fn1 -> p .5 r .5 f1 .5
        // class 1: tp2 fp1 fn0 -> p 2/3 r 1 f1 .8
        // class 2: tp1 fp0 fn1 -> p 1 r .5 f1 2/3
        close(
            precision_macro(&t, &p).unwrap(),
            (0.5 + 2.0 / 3.0 + 1.0) / 3.0,
        );
        close(recall_macro(&t, &p).unwrap(), (0.5 + 1.0 + 0.5) / 3.0);
        close(f1_macro(&t, &p).unwrap(), (0.5 + 0.8 + 2.0 / 3.0) / 3.0);
    }

    #[test]
    fn log_loss_clips_and_averages() {
        let probs = [0.9, 0.1, 0.2, 0.8, 1.0, 0.0];
        let expected = -(0.9f64.ln() + 0.8f64.ln() + 1e-15f64.ln()) / 3.0;
        close(log_loss(&[0, 1, 1], &probs, 2).unwrap(), expected);
        assert!(matches!(
            log_loss(&[2], &[0.5, 0.5], 2),
            Err(Error::ClassOutOfRange { index: 2, .. })
        ));
        assert!(log_loss(&[0], &[0.5], 0).is_err());
    }
}
