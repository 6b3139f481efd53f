//! KernelSHAP (`ingot_explain`) converges to TreeSHAP on an imported XGBoost model as its
//! coalition budget grows.
//!
//! Why this comparison is exact: KernelSHAP values a coalition by the *interventional*
//! expectation (absent features take each background row's values, rows weighted equally), so
//! with a budget of `2^M − 2` it enumerates every coalition and returns the exact Shapley values
//! of that game. `shap.TreeExplainer(model, data=background,
//! feature_perturbation="interventional")` computes exactly the same game's Shapley values from
//! the trees (not the path-dependent, cover-weighted expectation Ingot's own TreeSHAP and
//! shap's default use, which is a different game). Feature values lie on a quarter grid, exact
//! in XGBoost's float32, so both sides see the same splits; the remaining difference is
//! float32 leaf arithmetic. Smaller budgets sample coalitions and are only approximately right:
//! the error must shrink from the smallest budget to the full one. Runs when
//! `INGOT_PEER_PYTHON` names a Python with xgboost and shap; otherwise it says it skipped.

mod support;

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use ingot_algo::{ImportOptions, Predictions};
use ingot_explain::shap::{kernel_shap, Background, KernelShapConfig};
use serde_json::Value;

fn rows(v: &Value) -> Vec<f64> {
    support::flat(v)
}

#[test]
fn kernel_shap_converges_to_interventional_tree_shap() {
    let Some(python) = support::peer_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cases = support::run_cases(&python, "kernel_vs_tree.py", dir.path());
    let case = &cases[0];
    let names = support::strings(&case["features"]);
    let m = names.len();
    let model = support::import(
        "xgboost",
        std::path::Path::new(case["path"].as_str().unwrap()),
        &ImportOptions::default(),
    );
    let predict = |data: &[f64], n: usize| -> Vec<f64> {
        let columns: Vec<(String, ArrayRef)> = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let column: Float64Array = (0..n).map(|r| Some(data[r * m + j])).collect();
                (name.clone(), Arc::new(column) as ArrayRef)
            })
            .collect();
        match model
            .predict(&RecordBatch::try_from_iter(columns).unwrap())
            .unwrap()
        {
            Predictions::Regression { values } => values,
            other => panic!("expected a regression, got {other:?}"),
        }
    };
    let background = Background::new(rows(&case["background"]), m).unwrap();
    let x = rows(&case["x"]);
    let tree = rows(&case["shap_values"]);
    let scale = tree.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    assert!(scale > 0.1, "the model should use its features: {scale}");
    let full = (1usize << m) - 2;
    let mut errors = Vec::new();
    for nsamples in [12, 24, full] {
        let config = KernelShapConfig {
            nsamples: Some(nsamples),
            seed: 3,
        };
        let e = kernel_shap(predict, &background, &x, &config).unwrap();
        assert_eq!(e.outputs, 1);
        // Efficiency holds at every budget: Σφ = f(x) − φ₀.
        for r in 0..e.rows {
            let sum: f64 = (0..m).map(|j| e.value(r, j, 0)).sum();
            assert!((sum - (e.predictions[r] - e.expected_value[0])).abs() < 1e-9 * scale.max(1.0));
        }
        let worst = e
            .values
            .iter()
            .zip(&tree)
            .map(|(k, t)| (k - t).abs())
            .fold(0.0f64, f64::max);
        eprintln!("nsamples {nsamples}: max |kernel − tree| = {worst:e} (scale {scale})");
        errors.push(worst);
        if nsamples == full {
            let base = case["expected_value"].as_f64().unwrap();
            assert!(
                (e.expected_value[0] - base).abs() < 1e-5 * scale,
                "φ₀ {} vs shap's expected value {base}",
                e.expected_value[0]
            );
        }
    }
    let (first, last) = (errors[0], errors[errors.len() - 1]);
    assert!(last < first, "the error must shrink: {errors:?}");
    // Full enumeration: exact up to float32 leaf arithmetic, far below the 0.05·scale bound.
    assert!(
        last < 1e-5 * scale,
        "full enumeration: {last:e} vs scale {scale}"
    );
    assert!(last < 0.05 * scale);
}
