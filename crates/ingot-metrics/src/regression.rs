//! Regression metrics: mean squared error, its root, mean absolute error, mean absolute
//! percentage error and R².

use crate::{check_finite, check_pair, Result};

fn check(y_true: &[f64], y_pred: &[f64]) -> Result<()> {
    check_pair(y_true.len(), y_pred.len(), "predictions")?;
    check_finite(y_true, 1, "true value")?;
    check_finite(y_pred, 1, "prediction")
}

/// Mean squared error.
pub fn mse(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check(y_true, y_pred)?;
    let sum: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p) * (t - p))
        .sum();
    Ok(sum / y_true.len() as f64)
}

/// Root mean squared error.
pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    mse(y_true, y_pred).map(f64::sqrt)
}

/// Mean absolute error.
pub fn mae(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check(y_true, y_pred)?;
    let sum: f64 = y_true.iter().zip(y_pred).map(|(t, p)| (t - p).abs()).sum();
    Ok(sum / y_true.len() as f64)
}

/// Mean absolute percentage error as a fraction (not ×100), as scikit-learn's
/// `mean_absolute_percentage_error`: `mean(|y − ŷ| / max(|y|, ε))` with `ε = f64::EPSILON`,
/// so a zero target gives a huge but finite term rather than a division by zero.
pub fn mape(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check(y_true, y_pred)?;
    let sum: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).abs() / t.abs().max(f64::EPSILON))
        .sum();
    Ok(sum / y_true.len() as f64)
}

/// Coefficient of determination, 1 - SS_res / SS_tot. For a constant target (SS_tot = 0) it is
/// 1.0 when the predictions are perfect and 0.0 otherwise, as in scikit-learn.
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check(y_true, y_pred)?;
    let mean = y_true.iter().sum::<f64>() / y_true.len() as f64;
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p) * (t - p))
        .sum();
    let ss_tot: f64 = y_true.iter().map(|t| (t - mean) * (t - mean)).sum();
    if ss_tot == 0.0 {
        return Ok(if ss_res == 0.0 { 1.0 } else { 0.0 });
    }
    Ok(1.0 - ss_res / ss_tot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn errors_by_hand() {
        let t = [3.0, -0.5, 2.0, 7.0];
        let p = [2.5, 0.0, 2.0, 8.0];
        close(mse(&t, &p).unwrap(), 0.375);
        close(rmse(&t, &p).unwrap(), 0.375f64.sqrt());
        close(mae(&t, &p).unwrap(), 0.5);
        // sklearn docs: r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) == 0.948...
        close(r2(&t, &p).unwrap(), 1.0 - 1.5 / 29.1875);
        // sklearn docs: mean_absolute_percentage_error(same) == 0.3273...
        close(
            mape(&t, &p).unwrap(),
            (0.5 / 3.0 + 0.5 / 0.5 + 0.0 + 1.0 / 7.0) / 4.0,
        );
    }

    #[test]
    fn edge_cases() {
        close(r2(&[2.0, 2.0], &[2.0, 2.0]).unwrap(), 1.0);
        close(r2(&[2.0, 2.0], &[2.0, 3.0]).unwrap(), 0.0);
        assert!(r2(&[], &[]).is_err());
        close(mape(&[0.0], &[1.0]).unwrap(), 1.0 / f64::EPSILON);
        assert!(matches!(
            mse(&[1.0, f64::NAN], &[1.0, 1.0]),
            Err(crate::Error::NonFinite { row: 1, .. })
        ));
    }
}
