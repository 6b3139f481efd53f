//! XGBoost models trained by the real library (seeded, in a temp dir) imported through the
//! catalogue, loaded from their `INGOTMDL` bytes, and compared with XGBoost: predictions in
//! output space, margins, XGBoost's own `pred_contribs` and `shap.TreeExplainer` values and
//! expected values. Covers every supported objective, dart, parallel trees, split thresholds
//! hit exactly (float32 rounding), named/typed features and categorical splits, each saved
//! both as JSON and as UBJSON.
//! Runs when `INGOT_PEER_PYTHON` names a Python with xgboost and shap; otherwise skips.

mod support;

use ingot_algo::ImportOptions;
use ingot_core::{ColumnType, Task};
use serde_json::Value;
use support::*;

/// Relative tolerance of predictions and attributions. XGBoost sums in float32, so values
/// below a tenth of the largest one are compared at that scale.
const TOLERANCE: f64 = 1e-6;

#[test]
fn xgboost_models_agree_with_xgboost_and_shap() {
    let Some(python) = peer_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cases = run_cases(&python, "xgboost_cases.py", dir.path());
    assert!(cases.len() >= 15);
    for case in &cases {
        check_case("xgboost", case, TOLERANCE);
        // The same booster saved as UBJSON (`m.ubj`, what `mlflow.xgboost` logs) reads alike.
        let mut binary = case.clone();
        binary["path"] = case["ubj_path"].clone();
        assert!(binary["path"].is_string(), "{}", case["name"]);
        check_case("xgboost", &binary, TOLERANCE);
    }
    typed_features_and_tasks_reach_the_manifest(&cases);
}

fn typed_features_and_tasks_reach_the_manifest(cases: &[Value]) {
    let by_name = |n: &str| {
        let case = cases.iter().find(|c| c["name"] == n).unwrap();
        import(
            "xgboost",
            std::path::Path::new(case["path"].as_str().unwrap()),
            &ImportOptions::default(),
        )
    };
    let churn = by_name("churn");
    assert_eq!(churn.manifest.task, Task::BinaryClassification);
    assert_eq!(
        churn.manifest.classes.as_deref(),
        Some(&["0".to_string(), "1".to_string()][..])
    );
    assert_eq!(
        churn.manifest.input_schema.fields[0].column_type,
        ColumnType::Integer
    );
    assert_eq!(
        churn.manifest.input_schema.fields[1].column_type,
        ColumnType::Float
    );
    let importance = churn.manifest.feature_importance.as_ref().unwrap();
    assert_eq!(importance.len(), 8);
    assert!(importance.iter().any(|f| f.splits > 0 && f.gain > 0.0));
    let multi = by_name("multi_softprob");
    assert_eq!(multi.manifest.task, Task::MulticlassClassification);
    assert_eq!(by_name("count_poisson").manifest.task, Task::Regression);
    // Class labels given at import replace 0..k-1; a wrong count is refused.
    let case = cases
        .iter()
        .find(|c| c["name"] == "multi_softprob")
        .unwrap();
    let bytes = std::fs::read(case["path"].as_str().unwrap()).unwrap();
    let labelled = ingot_catalog::import_model(
        "xgboost",
        &bytes,
        &ImportOptions {
            schema: None,
            classes: Some(vec!["low".into(), "mid".into(), "high".into()]),
        },
    )
    .unwrap();
    assert_eq!(labelled.manifest.classes.unwrap()[2], "high");
    let err = ingot_catalog::import_model(
        "xgboost",
        &bytes,
        &ImportOptions {
            schema: None,
            classes: Some(vec!["a".into(), "b".into()]),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("2 class labels"), "{err}");
}
