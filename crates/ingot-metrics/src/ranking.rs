//! Score ranking metrics: binary ROC AUC with average ranks for ties, and one-vs-rest macro AUC.

use crate::{check_finite, check_pair, Error, Result};

/// Area under the ROC curve. Tied scores receive their average rank (equivalent to the
/// trapezoidal rule scikit-learn uses). `Ok(None)` when only one class is present.
pub fn roc_auc(y_true: &[bool], scores: &[f64]) -> Result<Option<f64>> {
    check_pair(y_true.len(), scores.len(), "scores")?;
    check_finite(scores, 1, "score")?;
    Ok(auc_unchecked(y_true.iter().copied(), scores))
}

fn auc_unchecked(labels: impl Iterator<Item = bool>, scores: &[f64]) -> Option<f64> {
    let labels: Vec<bool> = labels.collect();
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of (1-based, tie-averaged) ranks of the positive samples.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&i| labels[i]).count();
        rank_sum += average_rank * tied_positives as f64;
        start = end;
    }
    let p = positives as f64;
    let n = negatives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Macro-averaged one-vs-rest ROC AUC. `probabilities` is row-major `n × k`. Each class's AUC
/// uses its probability column as the score; classes absent from `y_true` (or present in every
/// row) have no defined AUC and are left out of the mean. `Ok(None)` when no class has one.
pub fn roc_auc_ovr_macro(y_true: &[usize], probabilities: &[f64], k: usize) -> Result<Option<f64>> {
    if k == 0 {
        return Err(Error::InvalidClassCount { classes: k });
    }
    check_pair(y_true.len() * k, probabilities.len(), "probabilities")?;
    check_finite(probabilities, k, "probability")?;
    if let Some((row, &index)) = y_true.iter().enumerate().find(|(_, &l)| l >= k) {
        return Err(Error::ClassOutOfRange {
            row,
            index,
            classes: k,
        });
    }
    let mut sum = 0.0;
    let mut defined = 0usize;
    for class in 0..k {
        let column: Vec<f64> = probabilities.chunks_exact(k).map(|r| r[class]).collect();
        if let Some(auc) = auc_unchecked(y_true.iter().map(|&l| l == class), &column) {
            sum += auc;
            defined += 1;
        }
    }
    Ok((defined > 0).then(|| sum / defined as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn auc_of_classic_example() {
        // sklearn docs example: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        let auc = roc_auc(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8]).unwrap();
        close(auc.unwrap(), 0.75);
    }

    #[test]
    fn auc_ties_count_half() {
        // One positive and one negative tied: 0.5; plus a clearly ordered pair.
        let auc = roc_auc(&[false, true], &[0.5, 0.5]).unwrap().unwrap();
        close(auc, 0.5);
        // pairs (pos, neg): (0.5 vs 0.5) tie -> .5, (0.5 vs 0.1) -> 1, (0.9 vs 0.5) -> 1, (0.9 vs 0.1) -> 1
        let auc = roc_auc(&[false, true, false, true], &[0.5, 0.5, 0.1, 0.9])
            .unwrap()
            .unwrap();
        close(auc, 3.5 / 4.0);
    }

    #[test]
    fn auc_needs_both_classes() {
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]).unwrap(), None);
        assert!(roc_auc(&[true], &[0.1, 0.2]).is_err());
    }

    #[test]
    fn ovr_macro_averages_columns() {
        let y = [0, 1, 2, 2];
        #[rustfmt::skip]
        let probs = [
            0.8, 0.1, 0.1,
            0.3, 0.4, 0.3,
            0.1, 0.5, 0.4,
            0.2, 0.2, 0.6,
        ];
        // class 0: pos score .8 vs negs .3 .1 .2 -> 1
        // class 1: pos .4 vs negs .1 .5 .2 -> 2/3
        // class 2: pos .4 .6 vs negs .1 .3 -> 1
        let auc = roc_auc_ovr_macro(&y, &probs, 3).unwrap().unwrap();
        close(auc, (1.0 + 2.0 / 3.0 + 1.0) / 3.0);
        assert!(roc_auc_ovr_macro(&[3], &[0.2, 0.3, 0.5], 3).is_err());
        assert_eq!(
            roc_auc_ovr_macro(&[0, 0], &[1.0, 0.0, 1.0, 0.0], 2).unwrap(),
            None
        );
    }
}
