//! Tests of the `pca` algorithm through the trait.

use ingot_algo::Predictions;

use super::*;
use crate::testing::{fit_with, floats, gaussian, none, reload};

/// Three features: a strong axis along (1, 1, 0)/√2, a weak one along z, little else.
fn correlated(n: usize) -> arrow_array::RecordBatch {
    let g = gaussian(n, 3, 5);
    let a: Vec<f64> = (0..n).map(|i| 3.0 * g[0][i] + 0.1 * g[1][i]).collect();
    let b: Vec<f64> = (0..n).map(|i| 3.0 * g[0][i] - 0.1 * g[1][i]).collect();
    let c: Vec<f64> = (0..n).map(|i| g[2][i] + 10.0).collect();
    floats(&[("a", a), ("b", b), ("c", c)])
}

#[test]
fn exact_pca_finds_the_axes() {
    let x = correlated(2000);
    let model = fit_with(&Pca, &x, none(&x), &["num_components=2"], 0).unwrap();
    let m = model.training_metrics();
    let r0 = m.get("explained_variance_ratio_0").unwrap();
    let r1 = m.get("explained_variance_ratio_1").unwrap();
    // Variances 18, 1 and 0.02 (each ±sampling noise): ratios ≈ 0.946, 0.053.
    assert!((r0 - 18.0 / 19.02).abs() < 0.02, "{r0}");
    assert!((r1 - 1.0 / 19.02).abs() < 0.01, "{r1}");
    assert!(m.get("explained_variance_ratio").unwrap() < 1.0);
    let Predictions::Projection { components, values } = model.predict(&x).unwrap() else {
        panic!("not a projection")
    };
    assert_eq!(components, 2);
    // First coordinate ≈ (a + b)/√2 - mean, up to sign.
    let sum_sq: f64 = values.chunks(2).map(|r| r[0] * r[0]).sum::<f64>() / 1999.0;
    assert!((sum_sq - m.get("explained_variance_0").unwrap()).abs() < 1e-9);
    let reloaded = reload(&Pca, model.as_ref());
    assert_eq!(reloaded.predict(&x).unwrap(), model.predict(&x).unwrap());
}

#[test]
fn randomized_matches_exact() {
    let x = correlated(3000);
    let exact = fit_with(&Pca, &x, none(&x), &[], 0).unwrap();
    let randomized =
        fit_with(&Pca, &x, none(&x), &["mode=randomized", "oversamples=0"], 3).unwrap();
    let (e, r) = (exact.training_metrics(), randomized.training_metrics());
    for i in 0..3 {
        let key = format!("explained_variance_{i}");
        let (a, b) = (e.get(&key).unwrap(), r.get(&key).unwrap());
        assert!((a - b).abs() < 1e-8 * a.max(1.0), "{key}: {a} vs {b}");
    }
    let total = e.get("explained_variance_ratio").unwrap();
    assert!(
        (total - 1.0).abs() < 1e-12,
        "all components explain everything: {total}"
    );
}

#[test]
fn deterministic_and_validates() {
    let x = correlated(500);
    let p = ["mode=randomized", "num_components=1"];
    let a = fit_with(&Pca, &x, none(&x), &p, 9).unwrap();
    let b = fit_with(&Pca, &x, none(&x), &p, 9).unwrap();
    assert_eq!(a.payload(), b.payload());
    for (params, name) in [
        (vec!["num_components=4"], "num_components"),
        (vec!["mode=svd"], "mode"),
    ] {
        let err = fit_with(&Pca, &x, none(&x), &params, 0)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(name), "{err}");
    }
}
