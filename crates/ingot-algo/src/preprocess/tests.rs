//! Tests of the shared preprocessing.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};

use super::*;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn raw() -> PreprocessOptions {
    PreprocessOptions {
        standardize: false,
        ..PreprocessOptions::default()
    }
}

#[test]
fn numeric_boolean_timestamp_and_imputation() {
    let b = batch(vec![
        (
            "x",
            Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])) as ArrayRef,
        ),
        (
            "n",
            Arc::new(Int64Array::from(vec![Some(4), Some(6), None])) as ArrayRef,
        ),
        (
            "b",
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])) as ArrayRef,
        ),
        (
            "t",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(2_000_000),
                Some(0),
                None,
            ])) as ArrayRef,
        ),
    ]);
    let (p, m) = Preprocessor::fit_transform(&b, &raw()).unwrap();
    assert_eq!(p.feature_names, vec!["x", "n", "b", "t"]);
    assert_eq!((m.rows, m.cols), (3, 4));
    assert_eq!(m.row(0), &[1.0, 4.0, 1.0, 2.0]);
    assert_eq!(m.row(1), &[2.0, 6.0, 0.0, 0.0]);
    assert_eq!(m.row(2), &[3.0, 5.0, 0.5, 1.0]);
}

#[test]
fn one_hot_caps_categories_and_ignores_unseen() {
    let train = batch(vec![(
        "c",
        Arc::new(StringArray::from(vec![
            Some("b"),
            Some("a"),
            Some("b"),
            Some("c"),
            None,
            Some("a"),
        ])) as ArrayRef,
    )]);
    let options = PreprocessOptions {
        max_categories: 2,
        ..raw()
    };
    let (p, m) = Preprocessor::fit_transform(&train, &options).unwrap();
    assert_eq!(p.feature_names, vec!["c=a", "c=b"]);
    assert_eq!(m.row(0), &[0.0, 1.0]);
    assert_eq!(m.row(3), &[0.0, 0.0]);
    let test = batch(vec![(
        "c",
        Arc::new(StringArray::from(vec![Some("zzz"), Some("a"), None])) as ArrayRef,
    )]);
    let m = p.transform(&test).unwrap();
    assert_eq!(m.data, vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn ordinal_maps_unseen_to_minus_one() {
    let train = batch(vec![(
        "c",
        Arc::new(StringArray::from(vec!["y", "x", "z"])) as ArrayRef,
    )]);
    let options = PreprocessOptions {
        encoding: Encoding::Ordinal,
        ..raw()
    };
    let (p, m) = Preprocessor::fit_transform(&train, &options).unwrap();
    assert_eq!(m.data, vec![1.0, 0.0, 2.0]);
    let test = batch(vec![(
        "c",
        Arc::new(StringArray::from(vec![Some("new"), None, Some("z")])) as ArrayRef,
    )]);
    assert_eq!(p.transform(&test).unwrap().data, vec![-1.0, -1.0, 2.0]);
}

#[test]
fn standardization_uses_training_statistics() {
    let b = batch(vec![
        (
            "x",
            Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0])) as ArrayRef,
        ),
        (
            "k",
            Arc::new(Float64Array::from(vec![0.1, 0.1, 0.1, 0.1])) as ArrayRef,
        ),
    ]);
    let (p, m) = Preprocessor::fit_transform(&b, &PreprocessOptions::default()).unwrap();
    let s = p.standardization.as_ref().unwrap();
    assert_eq!(s.mean[0], 2.5);
    assert!((s.scale[0] - 1.25f64.sqrt()).abs() < 1e-15);
    assert_eq!(s.scale[1], 1.0);
    let col0: Vec<f64> = (0..4).map(|i| m.row(i)[0]).collect();
    assert!((col0.iter().sum::<f64>()).abs() < 1e-12);
    // Serializes to JSON and back unchanged.
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(serde_json::from_value::<Preprocessor>(json).unwrap(), p);
}

#[test]
fn missing_column_is_named() {
    let b = batch(vec![(
        "x",
        Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
    )]);
    let (p, _) = Preprocessor::fit_transform(&b, &raw()).unwrap();
    let other = batch(vec![(
        "y",
        Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
    )]);
    let err = p.transform(&other).unwrap_err();
    assert!(err.to_string().contains("\"x\""), "{err}");
}

#[test]
fn native_keeps_missing_as_nan_and_codes_categories() {
    let b = batch(vec![
        (
            "x",
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(f64::NAN)])) as ArrayRef,
        ),
        (
            "c",
            Arc::new(StringArray::from(vec![Some("b"), Some("a"), None])) as ArrayRef,
        ),
    ]);
    let (p, m) = Preprocessor::fit_transform_native(&b, 10).unwrap();
    assert_eq!(m.row(0), &[1.5, 1.0]);
    assert!(m.row(1)[0].is_nan());
    assert_eq!(m.row(1)[1], 0.0);
    assert!(m.row(2)[0].is_nan());
    assert_eq!(m.row(2)[1], -1.0);
    let unseen = batch(vec![
        ("x", Arc::new(Float64Array::from(vec![2.0])) as ArrayRef),
        ("c", Arc::new(StringArray::from(vec!["zzz"])) as ArrayRef),
    ]);
    assert_eq!(p.transform(&unseen).unwrap().row(0), &[2.0, -1.0]);
    // The option survives JSON, and older files without it still impute.
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["columns"][0]["keep_missing"], true);
    assert_eq!(serde_json::from_value::<Preprocessor>(json).unwrap(), p);
    let (imputing, _) = Preprocessor::fit_transform(&b, &raw()).unwrap();
    let json = serde_json::to_value(&imputing).unwrap();
    assert!(json["columns"][0].get("keep_missing").is_none());
}
