//! Bad files and options through the catalogue's `import_model`: every refusal names the
//! format and what is wrong (no peer needed).

use ingot_algo::ImportOptions;
use ingot_core::{ColumnType, Field, Schema};

const XGB: &str = r#"{"learner":{"feature_names":[],"feature_types":[],
"learner_model_param":{"base_score":"[5E-1]","num_class":"0","num_feature":"2","num_target":"1"},
"objective":{"name":"binary:logistic"},
"gradient_booster":{"name":"gbtree","model":{"tree_info":[0],"trees":[{
"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],
"split_conditions":[0.5,-0.4,0.6],"default_left":[1,0,0],"split_type":[0,0,0],
"sum_hessian":[10.0,4.0,6.0],"loss_changes":[3.0,0.0,0.0],"base_weights":[0.0,-0.4,0.6]}]}}},
"version":[3,2,0]}"#;

fn import_error(format: &str, bytes: &[u8], options: &ImportOptions) -> String {
    ingot_catalog::import_model(format, bytes, options)
        .unwrap_err()
        .to_string()
}

#[test]
fn garbage_and_truncated_files_are_refused_by_name() {
    for (format, bytes) in [
        ("xgboost", &b"PK\x03\x04 not json"[..]),
        ("xgboost", &XGB.as_bytes()[..XGB.len() - 20]),
        ("lightgbm", &b"\x89PNG garbage"[..]),
        ("lightgbm", &b"tree\nversion=v4\nnum_class=1\n"[..]),
    ] {
        let e = import_error(format, bytes, &ImportOptions::default());
        assert!(
            e.starts_with(&format!("cannot import {format} model")),
            "{e}"
        );
    }
    let e = import_error(
        "xgboost",
        XGB.replace("binary:logistic", "survival:cox").as_bytes(),
        &ImportOptions::default(),
    );
    assert!(
        e.contains("learner.objective.name") && e.contains("survival:cox"),
        "{e}"
    );
}

#[test]
fn options_must_fit_the_model() {
    let one_column = ImportOptions {
        schema: Some(Schema::new(vec![Field::new("a", ColumnType::Float, true)])),
        classes: None,
    };
    let e = import_error("xgboost", XGB.as_bytes(), &one_column);
    assert!(e.contains("1 columns but the model uses 2 features"), "{e}");
    let strings = ImportOptions {
        schema: Some(Schema::new(vec![
            Field::new("a", ColumnType::Float, true),
            Field::new("b", ColumnType::String, true),
        ])),
        classes: None,
    };
    let e = import_error("xgboost", XGB.as_bytes(), &strings);
    assert!(e.contains("column \"b\" is a string"), "{e}");
    let regressor = XGB.replace("binary:logistic", "reg:squarederror");
    let labelled = ImportOptions {
        schema: None,
        classes: Some(vec!["x".into(), "y".into()]),
    };
    let e = import_error("xgboost", regressor.as_bytes(), &labelled);
    assert!(e.contains("regressor"), "{e}");
    // A valid import keeps the original bytes as the payload and names the runtime.
    let named = ImportOptions {
        schema: Some(Schema::new(vec![
            Field::new("age", ColumnType::Integer, true),
            Field::new("income", ColumnType::Float, true),
        ])),
        classes: Some(vec!["stay".into(), "churn".into()]),
    };
    let file = ingot_catalog::import_model("xgboost", XGB.as_bytes(), &named).unwrap();
    assert_eq!(file.payload, XGB.as_bytes());
    assert_eq!(file.manifest.algorithm, "xgboost");
    assert_eq!(file.manifest.classes.as_deref().unwrap()[1], "churn");
    assert_eq!(file.manifest.input_schema.fields[0].name, "age");
}
