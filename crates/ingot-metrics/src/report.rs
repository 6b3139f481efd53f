//! Every metric of a task at once, by name: what `ingot evaluate` prints.

use crate::{
    accuracy, average_precision, confusion_matrix, log_loss, mae, mape, mse, pr_auc,
    precision_recall_f1, r2, rmse, roc_auc, roc_auc_ovr_macro, Average, Error, Result,
};

/// Named metric values in a fixed order.
pub type Named = Vec<(String, f64)>;

/// Scores that come with classification predictions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scores<'a> {
    /// No scores: only label-based metrics.
    None,
    /// One score per row for the positive class (binary only); used as a probability for log
    /// loss when every score lies in `[0, 1]`.
    Positive(&'a [f64]),
    /// Row-major `n × classes` class probabilities.
    Probabilities(&'a [f64]),
}

/// Classification metrics: `accuracy`; `precision`, `recall`, `f1` with `_micro`, `_macro`
/// and `_weighted` suffixes; with two classes also the unsuffixed binary scores of `positive`;
/// with scores, `roc_auc` (one-vs-rest macro for more than two classes), and for two classes
/// `average_precision` and `pr_auc`; with probabilities (or `[0, 1]` positive scores)
/// `log_loss`. Metrics undefined on the data (e.g. AUC with one class present) are left out.
pub fn classification_metrics(
    y_true: &[usize],
    y_pred: &[usize],
    classes: usize,
    positive: usize,
    scores: Scores,
) -> Result<Named> {
    if classes == 0 {
        return Err(Error::InvalidClassCount { classes });
    }
    confusion_matrix(y_true, y_pred, classes)?;
    let mut out: Named = vec![("accuracy".into(), accuracy(y_true, y_pred)?)];
    if classes == 2 {
        let s = precision_recall_f1(y_true, y_pred, Average::Binary { positive })?;
        out.push(("precision".into(), s.precision));
        out.push(("recall".into(), s.recall));
        out.push(("f1".into(), s.f1));
    }
    for (suffix, average) in [
        ("micro", Average::Micro),
        ("macro", Average::Macro),
        ("weighted", Average::Weighted),
    ] {
        let s = precision_recall_f1(y_true, y_pred, average)?;
        out.push((format!("precision_{suffix}"), s.precision));
        out.push((format!("recall_{suffix}"), s.recall));
        out.push((format!("f1_{suffix}"), s.f1));
    }
    let positive_scores: Option<Vec<f64>> = match scores {
        Scores::None => None,
        Scores::Positive(s) => Some(s.to_vec()),
        Scores::Probabilities(p) if classes == 2 => {
            crate::check_pair(y_true.len() * 2, p.len(), "probabilities")?;
            Some(p.chunks_exact(2).map(|r| r[positive]).collect())
        }
        Scores::Probabilities(_) => None,
    };
    if let Some(s) = &positive_scores {
        if classes != 2 {
            return Err(Error::InvalidParameter {
                name: "scores",
                reason: format!("a single score column needs 2 classes, found {classes}"),
            });
        }
        let truth: Vec<bool> = y_true.iter().map(|&l| l == positive).collect();
        if let Some(auc) = roc_auc(&truth, s)? {
            out.push(("roc_auc".into(), auc));
        }
        out.push(("average_precision".into(), average_precision(&truth, s)?));
        out.push(("pr_auc".into(), pr_auc(&truth, s)?));
    }
    match scores {
        Scores::Probabilities(p) => {
            if classes > 2 {
                if let Some(auc) = roc_auc_ovr_macro(y_true, p, classes)? {
                    out.push(("roc_auc".into(), auc));
                }
            }
            out.push(("log_loss".into(), log_loss(y_true, p, classes)?));
        }
        Scores::Positive(s) if s.iter().all(|v| (0.0..=1.0).contains(v)) => {
            let probabilities: Vec<f64> = s
                .iter()
                .flat_map(|&v| {
                    if positive == 1 {
                        [1.0 - v, v]
                    } else {
                        [v, 1.0 - v]
                    }
                })
                .collect();
            out.push(("log_loss".into(), log_loss(y_true, &probabilities, 2)?));
        }
        _ => {}
    }
    Ok(out)
}

/// Regression metrics: `mse`, `rmse`, `mae`, `mape`, `r2`.
pub fn regression_metrics(y_true: &[f64], y_pred: &[f64]) -> Result<Named> {
    Ok(vec![
        ("mse".into(), mse(y_true, y_pred)?),
        ("rmse".into(), rmse(y_true, y_pred)?),
        ("mae".into(), mae(y_true, y_pred)?),
        ("mape".into(), mape(y_true, y_pred)?),
        ("r2".into(), r2(y_true, y_pred)?),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(named: &Named, name: &str) -> Option<f64> {
        named.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    #[test]
    fn binary_report_with_scores() {
        let y = [0, 0, 1, 1];
        let pred = [0, 1, 1, 1];
        let s = [0.1, 0.4, 0.35, 0.8];
        let r = classification_metrics(&y, &pred, 2, 1, Scores::Positive(&s)).unwrap();
        assert_eq!(get(&r, "accuracy"), Some(0.75));
        assert_eq!(get(&r, "roc_auc"), Some(0.75));
        assert_eq!(get(&r, "precision"), Some(2.0 / 3.0));
        assert!(get(&r, "log_loss").is_some() && get(&r, "pr_auc").is_some());
        // Without scores, no score metrics.
        let r = classification_metrics(&y, &pred, 2, 1, Scores::None).unwrap();
        assert_eq!(get(&r, "roc_auc"), None);
        assert!(get(&r, "f1_weighted").is_some());
    }

    #[test]
    fn multiclass_report_with_probabilities() {
        let y = [0, 1, 2, 2];
        #[rustfmt::skip]
        let p = [0.8, 0.1, 0.1, 0.3, 0.4, 0.3, 0.1, 0.5, 0.4, 0.2, 0.2, 0.6];
        let pred = [0, 1, 1, 2];
        let r = classification_metrics(&y, &pred, 3, 1, Scores::Probabilities(&p)).unwrap();
        let auc = get(&r, "roc_auc").unwrap();
        assert!((auc - (1.0 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
        assert_eq!(get(&r, "precision"), None);
        assert!(classification_metrics(&y, &pred, 3, 1, Scores::Positive(&[0.5; 4])).is_err());
        assert!(classification_metrics(&[0, 3], &[0, 0], 3, 1, Scores::None).is_err());
    }

    #[test]
    fn regression_report() {
        let r = regression_metrics(&[3.0, -0.5, 2.0, 7.0], &[2.5, 0.0, 2.0, 8.0]).unwrap();
        assert_eq!(get(&r, "mse"), Some(0.375));
        assert_eq!(r.len(), 5);
    }
}
