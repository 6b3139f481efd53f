//! Label-based classification metrics: accuracy, precision, recall and F1 with binary, micro,
//! macro and weighted averaging, the confusion matrix, and log loss.
//!
//! Zero division follows scikit-learn's default (`zero_division="warn"`): a precision, recall
//! or F1 whose denominator is zero counts as 0 (scikit-learn also warns; we do not).

use crate::{check_finite, check_pair, Error, Result};

/// How per-class scores are combined, as scikit-learn's `average` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    /// The score of one class (`pos_label`). Like scikit-learn, an error when the labels
    /// present in `y_true` and `y_pred` are more than two, or are two without `positive`.
    Binary { positive: usize },
    /// Global counts: total true positives, false positives and false negatives over the
    /// labels present in `y_true` or `y_pred`. Micro precision = recall = F1 = accuracy then.
    Micro,
    /// Unweighted mean of the per-class scores over the labels present in either slice.
    Macro,
    /// Mean of the per-class scores weighted by each class's support (count in `y_true`).
    Weighted,
}

/// Precision, recall and F1 computed together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionRecallF1 {
    /// tp / (tp + fp).
    pub precision: f64,
    /// tp / (tp + fn).
    pub recall: f64,
    /// 2 tp / (2 tp + fp + fn).
    pub f1: f64,
}

/// Fraction of predictions equal to the true label.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    let correct = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    Ok(correct as f64 / y_true.len() as f64)
}

/// Per-class counts: true positives, false positives, false negatives.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn of(y_true: &[usize], y_pred: &[usize], class: usize) -> Counts {
        let mut c = Counts::default();
        for (&t, &p) in y_true.iter().zip(y_pred) {
            match (t == class, p == class) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (true, false) => c.fn_ += 1,
                (false, false) => {}
            }
        }
        c
    }

    fn scores(self) -> PrecisionRecallF1 {
        PrecisionRecallF1 {
            precision: ratio(self.tp, self.tp + self.fp),
            recall: ratio(self.tp, self.tp + self.fn_),
            f1: ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_),
        }
    }

    fn support(self) -> usize {
        self.tp + self.fn_
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Sorted distinct labels present in either slice (scikit-learn's default label set).
fn present_labels(y_true: &[usize], y_pred: &[usize]) -> Vec<usize> {
    let mut labels: Vec<usize> = y_true.iter().chain(y_pred).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    labels
}

/// Precision, recall and F1 of `y_pred` against `y_true` under one averaging mode.
pub fn precision_recall_f1(
    y_true: &[usize],
    y_pred: &[usize],
    average: Average,
) -> Result<PrecisionRecallF1> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    let labels = present_labels(y_true, y_pred);
    let per_class: Vec<Counts> = labels
        .iter()
        .map(|&c| Counts::of(y_true, y_pred, c))
        .collect();
    Ok(match average {
        Average::Binary { positive } => {
            let binary = labels.len() <= 2 && (labels.len() < 2 || labels.contains(&positive));
            if !binary {
                return Err(Error::NotBinary { positive, labels });
            }
            Counts::of(y_true, y_pred, positive).scores()
        }
        Average::Micro => {
            let total = per_class.iter().fold(Counts::default(), |a, c| Counts {
                tp: a.tp + c.tp,
                fp: a.fp + c.fp,
                fn_: a.fn_ + c.fn_,
            });
            total.scores()
        }
        Average::Macro | Average::Weighted => {
            let weights: Vec<f64> = per_class
                .iter()
                .map(|c| match average {
                    Average::Weighted => c.support() as f64,
                    _ => 1.0,
                })
                .collect();
            let total: f64 = weights.iter().sum();
            let mut sums = [0.0; 3];
            for (c, w) in per_class.iter().zip(&weights) {
                let s = c.scores();
                sums[0] += w * s.precision;
                sums[1] += w * s.recall;
                sums[2] += w * s.f1;
            }
            let mean = |s: f64| if total == 0.0 { 0.0 } else { s / total };
            PrecisionRecallF1 {
                precision: mean(sums[0]),
                recall: mean(sums[1]),
                f1: mean(sums[2]),
            }
        }
    })
}

/// Averaged precision, as scikit-learn's `precision_score(average=...)`.
pub fn precision_score(y_true: &[usize], y_pred: &[usize], average: Average) -> Result<f64> {
    precision_recall_f1(y_true, y_pred, average).map(|s| s.precision)
}

/// Averaged recall, as scikit-learn's `recall_score(average=...)`.
pub fn recall_score(y_true: &[usize], y_pred: &[usize], average: Average) -> Result<f64> {
    precision_recall_f1(y_true, y_pred, average).map(|s| s.recall)
}

/// Averaged F1, as scikit-learn's `f1_score(average=...)`. Macro and weighted F1 average the
/// per-class F1 scores (not the F1 of averaged precision and recall).
pub fn f1_score(y_true: &[usize], y_pred: &[usize], average: Average) -> Result<f64> {
    precision_recall_f1(y_true, y_pred, average).map(|s| s.f1)
}

/// Precision of the `positive` class: tp / (tp + fp), 0 when nothing was predicted positive.
/// Unlike [`Average::Binary`] it accepts any number of labels (one class against the rest).
pub fn precision(y_true: &[usize], y_pred: &[usize], positive: usize) -> Result<f64> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    Ok(Counts::of(y_true, y_pred, positive).scores().precision)
}

/// Recall of the `positive` class: tp / (tp + fn), 0 when the class never occurs.
pub fn recall(y_true: &[usize], y_pred: &[usize], positive: usize) -> Result<f64> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    Ok(Counts::of(y_true, y_pred, positive).scores().recall)
}

/// F1 of the `positive` class: 2tp / (2tp + fp + fn), 0 when undefined.
pub fn f1(y_true: &[usize], y_pred: &[usize], positive: usize) -> Result<f64> {
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    Ok(Counts::of(y_true, y_pred, positive).scores().f1)
}

/// Macro precision: [`precision_score`] with [`Average::Macro`].
pub fn precision_macro(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    precision_score(y_true, y_pred, Average::Macro)
}

/// Macro recall: [`recall_score`] with [`Average::Macro`].
pub fn recall_macro(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    recall_score(y_true, y_pred, Average::Macro)
}

/// Macro F1: [`f1_score`] with [`Average::Macro`].
pub fn f1_macro(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    f1_score(y_true, y_pred, Average::Macro)
}

/// The `classes × classes` confusion matrix: entry `[t][p]` counts rows with true class `t`
/// predicted as `p` (scikit-learn's `confusion_matrix(labels=range(classes))`).
pub fn confusion_matrix(
    y_true: &[usize],
    y_pred: &[usize],
    classes: usize,
) -> Result<Vec<Vec<u64>>> {
    if classes == 0 {
        return Err(Error::InvalidClassCount { classes });
    }
    check_pair(y_true.len(), y_pred.len(), "predicted labels")?;
    let mut matrix = vec![vec![0u64; classes]; classes];
    for (row, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
        let index = t.max(p);
        if index >= classes {
            return Err(Error::ClassOutOfRange {
                row,
                index,
                classes,
            });
        }
        matrix[t][p] += 1;
    }
    Ok(matrix)
}

/// Mean negative log-likelihood of the true class, as scikit-learn's `log_loss`.
/// `probabilities` is row-major `n × k`; each probability is clipped to `[ε, 1 − ε]` with
/// `ε = f64::EPSILON` first. Rows are not renormalized. Probabilities outside `[0, 1]` or
/// not finite are errors naming the row.
pub fn log_loss(y_true: &[usize], probabilities: &[f64], k: usize) -> Result<f64> {
    if k == 0 {
        return Err(Error::InvalidClassCount { classes: k });
    }
    check_pair(y_true.len() * k, probabilities.len(), "probabilities")?;
    check_finite(probabilities, k, "probability")?;
    const EPS: f64 = f64::EPSILON;
    let mut total = 0.0;
    for (row, (&label, probs)) in y_true.iter().zip(probabilities.chunks_exact(k)).enumerate() {
        if probs.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err(Error::OutOfRange {
                what: "probability",
                row,
                reason: "probabilities must lie in [0, 1]",
            });
        }
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
        let binary = Average::Binary { positive: 1 };
        close(precision_score(&t, &p, binary).unwrap(), 2.0 / 3.0);
        // Only the negative class present: everything is 0/0 -> 0.
        close(f1_score(&[0, 0], &[0, 0], binary).unwrap(), 0.0);
    }

    #[test]
    fn binary_average_rejects_multiclass() {
        let err = f1_score(&[0, 1, 2], &[0, 1, 1], Average::Binary { positive: 1 });
        assert!(matches!(err, Err(Error::NotBinary { positive: 1, .. })));
        let err = f1_score(&[0, 2], &[0, 2], Average::Binary { positive: 1 });
        assert!(matches!(err, Err(Error::NotBinary { .. })));
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
    fn micro_and_weighted() {
        let t = [0, 0, 0, 1, 2, 2];
        let p = [0, 1, 0, 1, 2, 0];
        // Micro over all present labels equals accuracy.
        let micro = precision_recall_f1(&t, &p, Average::Micro).unwrap();
        close(micro.precision, 4.0 / 6.0);
        close(micro.recall, 4.0 / 6.0);
        close(micro.f1, 4.0 / 6.0);
        // class 0: tp2 fp1 fn1 support 3 -> r 2/3; class 1: tp1 fp1 fn0 support 1 -> r 1;
        // class 2: tp1 fp0 fn1 support 2 -> r 1/2.
        let weighted = recall_score(&t, &p, Average::Weighted).unwrap();
        close(weighted, (3.0 * 2.0 / 3.0 + 1.0 + 2.0 * 0.5) / 6.0);
        // A label only predicted has support 0 and drops out of the weighted mean.
        let w = precision_score(&[0, 0], &[0, 1], Average::Weighted).unwrap();
        close(w, 1.0);
    }

    #[test]
    fn confusion_matrix_counts() {
        let m = confusion_matrix(&[0, 1, 2, 2], &[0, 2, 2, 1], 3).unwrap();
        assert_eq!(m, vec![vec![1, 0, 0], vec![0, 0, 1], vec![0, 1, 1]]);
        assert!(matches!(
            confusion_matrix(&[0, 3], &[0, 0], 3),
            Err(Error::ClassOutOfRange {
                row: 1,
                index: 3,
                ..
            })
        ));
    }

    #[test]
    fn log_loss_clips_and_averages() {
        let probs = [0.9, 0.1, 0.2, 0.8, 1.0, 0.0];
        let expected = -(0.9f64.ln() + 0.8f64.ln() + f64::EPSILON.ln()) / 3.0;
        close(log_loss(&[0, 1, 1], &probs, 2).unwrap(), expected);
        assert!(matches!(
            log_loss(&[2], &[0.5, 0.5], 2),
            Err(Error::ClassOutOfRange { index: 2, .. })
        ));
        assert!(log_loss(&[0], &[0.5], 0).is_err());
        assert!(matches!(
            log_loss(&[0, 0], &[0.5, 0.5, 1.5, -0.5], 2),
            Err(Error::OutOfRange { row: 1, .. })
        ));
        assert!(matches!(
            log_loss(&[0], &[f64::NAN, 0.5], 2),
            Err(Error::NonFinite { row: 0, .. })
        ));
    }
}
