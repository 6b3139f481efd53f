//! Evaluation metrics for classification and regression, as pure functions over slices.
//!
//! Definitions follow scikit-learn so that numbers reported by Ingot can be checked against it:
//! ties in ROC AUC get average ranks, `log_loss` clips probabilities to `[1e-15, 1 - 1e-15]`,
//! precision/recall/F1 with a zero denominator are 0, and `r2` of a constant target is 1.0 when
//! the predictions are perfect and 0.0 otherwise. Every function validates its inputs and
//! returns an [`Error`] instead of panicking.

mod classification;
mod error;
mod ranking;
mod regression;

pub use classification::{
    accuracy, f1, f1_macro, log_loss, precision, precision_macro, recall, recall_macro,
};
pub use error::{Error, Result};
pub use ranking::{roc_auc, roc_auc_ovr_macro};
pub use regression::{mae, mse, r2, rmse};

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
