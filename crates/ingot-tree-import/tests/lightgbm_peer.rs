//! LightGBM models trained by the real library (seeded, in a temp dir) imported through the
//! catalogue, loaded from their `INGOTMDL` bytes, and compared with LightGBM: predictions in
//! output space, raw scores, LightGBM's own `pred_contrib` and `shap.TreeExplainer` values
//! and expected values. Covers every supported objective, NaN / zero / no-missing handling,
//! random-forest mode and categorical features with unseen, negative and missing codes.
//! Runs when `INGOT_PEER_PYTHON` names a Python with lightgbm and shap; otherwise skips.

mod support;

use ingot_algo::ImportOptions;
use ingot_core::{ColumnType, Task};
use support::*;

/// LightGBM scores in f64 like Ingot; only summation order differs.
const TOLERANCE: f64 = 1e-9;

#[test]
fn lightgbm_models_agree_with_lightgbm_and_shap() {
    let Some(python) = peer_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cases = run_cases(&python, "lightgbm_cases.py", dir.path());
    assert!(cases.len() >= 15);
    for case in &cases {
        check_case("lightgbm", case, TOLERANCE);
    }
    let categorical = cases.iter().find(|c| c["name"] == "categorical").unwrap();
    let model = import(
        "lightgbm",
        std::path::Path::new(categorical["path"].as_str().unwrap()),
        &ImportOptions::default(),
    );
    let types: Vec<ColumnType> = model
        .manifest
        .input_schema
        .fields
        .iter()
        .map(|f| f.column_type)
        .collect();
    assert_eq!(
        types,
        [ColumnType::Integer, ColumnType::Float, ColumnType::Integer]
    );
    assert_eq!(model.manifest.task, Task::Regression);
}
