//! Evaluation metrics for classification, regression, ranking and clustering, as pure
//! functions over slices.
//!
//! Definitions follow scikit-learn so that numbers reported by Ingot can be checked against it
//! (they are, to 1e-9, by `crates/ingot/tests/metrics_peers.rs`):
//! * classification: [`accuracy`]; precision, recall and F1 with [`Average`] binary, micro,
//!   macro or weighted; a zero denominator gives 0 (scikit-learn's default `zero_division`);
//!   [`confusion_matrix`]; [`log_loss`] with probabilities clipped to `[ε, 1 − ε]`;
//! * scores: [`roc_auc`] (ties get average ranks, which equals scikit-learn's trapezoidal
//!   area), [`roc_auc_ovr_macro`], [`roc_curve`], [`precision_recall_curve`],
//!   [`average_precision`] and [`pr_auc`]; where scikit-learn returns NaN because only one
//!   class is present, the AUCs return `None`;
//! * regression: [`mse`], [`rmse`], [`mae`], [`mape`], [`r2`] (a constant target gives 1.0 for
//!   perfect predictions and 0.0 otherwise);
//! * ranking: [`precision_at_k`], [`mrr_at_k`], [`ndcg_at_k`];
//! * clustering: [`inertia`], [`silhouette_score`], [`silhouette_samples`];
//! * reports: [`classification_metrics`] and [`regression_metrics`], every metric of a task
//!   by name (what `ingot evaluate` prints).
//!
//! Every function validates its inputs (lengths, NaN, ranges) and returns an [`Error`] naming
//! the offending row instead of panicking.

mod classification;
mod clustering;
mod curves;
mod error;
mod ranking;
mod regression;
mod report;
mod retrieval;

pub use classification::{
    accuracy, confusion_matrix, f1, f1_macro, f1_score, log_loss, precision, precision_macro,
    precision_recall_f1, precision_score, recall, recall_macro, recall_score, Average,
    PrecisionRecallF1,
};
pub use clustering::{inertia, silhouette_samples, silhouette_score};
pub use curves::{average_precision, pr_auc, precision_recall_curve, roc_curve, PrCurve, RocCurve};
pub use error::{Error, Result};
pub use ranking::{roc_auc, roc_auc_ovr_macro};
pub use regression::{mae, mape, mse, r2, rmse};
pub use report::{classification_metrics, regression_metrics, Named, Scores};
pub use retrieval::{mrr_at_k, ndcg_at_k, precision_at_k};

/// Checks two slices have the same, non-zero length.
pub(crate) fn check_pair(expected: usize, actual: usize, what: &'static str) -> Result<()> {
    if expected != actual {
        return Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        });
    }
    if expected == 0 {
        return Err(Error::Empty);
    }
    Ok(())
}

/// Checks every value is finite; `per_row` values make one row (for the error's row number).
pub(crate) fn check_finite(values: &[f64], per_row: usize, what: &'static str) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(Error::NonFinite {
            what,
            row: i / per_row.max(1),
        }),
        None => Ok(()),
    }
}
