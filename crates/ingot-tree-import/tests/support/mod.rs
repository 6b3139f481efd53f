//! What the peer tests share: finding the peer Python, running a case script, importing a
//! model file through the catalogue into an `INGOTMDL` file and loading it back, and
//! comparing Ingot's predictions and SHAP values with the peer's.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use ingot_algo::{Attributions, ImportOptions, Predictions};
use ingot_catalog::LoadedModel;
use serde_json::Value;

/// The peer Python, or `None` (after saying the test is skipped).
pub fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("INGOT_PEER_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!(
                "skipped: INGOT_PEER_PYTHON is not set (xgboost / lightgbm peer unavailable)"
            );
            None
        }
    }
}

/// Runs `tests/peers/<script>` with an output directory; returns its JSON cases.
pub fn run_cases(python: &Path, script: &str, dir: &Path) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(script);
    let output = Command::new(python)
        .arg(&script)
        .arg(dir)
        .output()
        .expect("peer python starts");
    assert!(
        output.status.success(),
        "peer {} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("peer prints JSON")
}

/// Float columns named `names` from rows where `null` is missing.
pub fn batch(names: &[String], rows: &[Value]) -> RecordBatch {
    let columns: Vec<(String, ArrayRef)> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let values: Vec<Option<f64>> = rows.iter().map(|r| r[j].as_f64()).collect();
            (
                name.clone(),
                Arc::new(Float64Array::from(values)) as ArrayRef,
            )
        })
        .collect();
    RecordBatch::try_from_iter(columns).unwrap()
}

/// Imports a model file through `ingot_catalog::import_model`, encodes the `INGOTMDL` file
/// and loads it back as serving would.
pub fn import(format: &str, path: &Path, options: &ImportOptions) -> LoadedModel {
    let bytes = std::fs::read(path).unwrap();
    let file = ingot_catalog::import_model(format, &bytes, options)
        .unwrap_or_else(|e| panic!("import {}: {e}", path.display()));
    LoadedModel::from_bytes(&file.encode()).unwrap()
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// A nested JSON array of numbers, flattened row-major.
pub fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        other => vec![other.as_f64().unwrap_or(f64::NAN)],
    }
}

/// Largest `|a - b| / max(|b|, floor)` over two equally long lists, with its index.
pub fn worst(ours: &[f64], theirs: &[f64], floor: f64) -> (f64, usize) {
    assert_eq!(ours.len(), theirs.len(), "length");
    let mut worst = (0.0, 0);
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let err = (a - b).abs() / b.abs().max(floor);
        assert!(!err.is_nan(), "NaN at {i}: {a} vs {b}");
        if err > worst.0 {
            worst = (err, i);
        }
    }
    worst
}

/// Asserts `ours ≈ theirs` within `tolerance` relative to `max(|theirs[i]|, scale)`. The
/// peers may sum in float32, whose rounding error is relative to the largest partial sums, so
/// values much smaller than the data's scale are compared at that scale.
pub fn assert_close(what: &str, ours: &[f64], theirs: &[f64], tolerance: f64, scale: f64) -> f64 {
    let (err, i) = worst(ours, theirs, scale.max(f64::MIN_POSITIVE));
    assert!(
        err <= tolerance,
        "{what}: relative error {err:e} at {i}: ingot {} vs peer {}",
        ours[i],
        theirs[i]
    );
    err
}

/// A tenth of the largest magnitude: the scale of [`assert_close`].
fn scale_of(values: &[f64]) -> f64 {
    0.1 * values.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// The probability / value matrix of predictions, row-major, in the peer's layout: binary
/// classifiers as the positive-class probability (checking the two columns sum to 1).
pub fn peer_layout(predictions: &Predictions, peer_width: usize) -> Vec<f64> {
    match predictions {
        Predictions::Regression { values } => values.clone(),
        Predictions::Classification {
            classes,
            probabilities,
        } if classes.len() == 2 && peer_width == 1 => probabilities
            .chunks(2)
            .map(|p| {
                // Both computed in float32 by XGBoost's arithmetic.
                assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
                p[1]
            })
            .collect(),
        Predictions::Classification { probabilities, .. } => probabilities.clone(),
        other => panic!("unexpected predictions {other:?}"),
    }
}

/// SHAP values of a loaded model for a batch.
pub fn explain(model: &LoadedModel, batch: &RecordBatch) -> Attributions {
    let conformed = ingot_data::conform_batch(batch, &model.manifest.input_schema).unwrap();
    model
        .estimator()
        .shap_values(&conformed)
        .expect("imported trees explain themselves")
        .unwrap()
}

/// Imports one peer case, predicts and explains its rows, and compares everything with the
/// peer within `tolerance` (relative, see [`assert_close`]).
pub fn check_case(format: &str, case: &Value, tolerance: f64) {
    let name = case["name"].as_str().unwrap();
    let path = std::path::Path::new(case["path"].as_str().unwrap());
    let model = import(format, path, &ImportOptions::default());
    let features = strings(&case["features"]);
    let schema_names: Vec<&str> = model
        .manifest
        .input_schema
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(schema_names, features, "{name}: schema from the file");
    let rows = case["x"].as_array().unwrap();
    let batch = batch(&features, rows);
    let predictions = model.predict(&batch).unwrap();
    // Serving's dense path (CSV read straight into rows) predicts what the batch path does.
    assert!(
        model.reads_dense_rows(),
        "{name}: imported trees read dense rows"
    );
    let dense: Vec<f64> = rows
        .iter()
        .flat_map(|r| (0..features.len()).map(|j| r[j].as_f64().unwrap_or(f64::NAN)))
        .collect();
    assert_eq!(
        model.predict_dense(&dense, rows.len()).unwrap().unwrap(),
        predictions,
        "{name}: dense rows"
    );
    let expected = flat(&case["expected"]);
    let width = expected.len() / rows.len();
    let ours = peer_layout(&predictions, width);
    // One to three rows at a time (the packed forest's row walk) score what the batch does.
    let cols = features.len();
    let (mut few, mut start) = (Vec::new(), 0);
    for size in [1, 2, 3].into_iter().cycle() {
        if start == rows.len() {
            break;
        }
        let n = size.min(rows.len() - start);
        let part = &dense[start * cols..(start + n) * cols];
        let scored = model.predict_dense(part, n).unwrap().unwrap();
        few.extend(peer_layout(&scored, width));
        start += n;
    }
    assert_eq!(few, ours, "{name}: one to three rows at a time");
    let pred_err = assert_close(
        &format!("{name} predictions"),
        &ours,
        &expected,
        tolerance,
        scale_of(&expected),
    );

    let attributions = explain(&model, &batch);
    // Peers that report raw scores and contributions of an averaging model un-averaged.
    let divisor = case
        .get("raw_divisor")
        .and_then(Value::as_f64)
        .unwrap_or(1.0);
    let flat = |v: &Value| -> Vec<f64> { flat(v).into_iter().map(|x| x / divisor).collect() };
    let outputs = attributions.outputs.len();
    let margins = flat(&case["margin"]);
    let margin_scale = scale_of(&margins);
    let ours_margin: Vec<f64> = (0..rows.len())
        .flat_map(|r| (0..outputs).map(move |k| (r, k)))
        .map(|(r, k)| attributions.margin(r, k))
        .collect();
    let margin_err = assert_close(
        &format!("{name} SHAP sum vs margin"),
        &ours_margin,
        &margins,
        tolerance,
        margin_scale,
    );
    let bias: Vec<f64> = flat(&case["bias"]);
    let contribs = flat(&case["contribs"]);
    // The peer's own attributions miss its own margin by float32 rounding (XGBoost computes
    // TreeSHAP in float32); that per-row slack is allowed on top of the tolerance.
    let m = features.len();
    let slack: Vec<f64> = (0..rows.len() * outputs)
        .map(|i| {
            let sum: f64 = contribs[i * m..(i + 1) * m].iter().sum();
            (sum + bias[i] - margins[i]).abs()
        })
        .collect();
    let compare_shap = |what: &str, theirs: &[f64]| -> f64 {
        let mut worst = 0.0f64;
        for (i, (a, b)) in attributions.values.iter().zip(theirs).enumerate() {
            let allowed = tolerance * b.abs().max(margin_scale) + slack[i / m];
            assert!(
                (a - b).abs() <= allowed,
                "{name} {what}: value {i}: ingot {a} vs peer {b} (allowed {allowed:e})"
            );
            worst = worst.max((a - b).abs() / b.abs().max(margin_scale));
        }
        assert_eq!(attributions.values.len(), theirs.len());
        worst
    };
    let contrib_err = compare_shap("SHAP vs pred_contribs", &contribs);
    let peer_slack = slack
        .iter()
        .zip(&margins)
        .fold(0.0f64, |w, (s, m)| w.max(s / m.abs().max(margin_scale)));
    let ours_bias: Vec<f64> = (0..rows.len())
        .flat_map(|_| attributions.base_values.iter().copied())
        .collect();
    assert_close(
        &format!("{name} expected value vs bias"),
        &ours_bias,
        &bias,
        tolerance,
        margin_scale,
    );
    let shap_err = compare_shap("SHAP vs shap.TreeExplainer", &flat(&case["shap"]));
    assert_close(
        &format!("{name} expected value vs shap"),
        &attributions.base_values,
        &flat(&case["shap_expected"]),
        tolerance,
        margin_scale,
    );
    eprintln!(
        "{name}: {} rows, worst relative error: predictions {pred_err:.1e}, margin {margin_err:.1e}, \
         pred_contribs {contrib_err:.1e}, shap {shap_err:.1e}; the peer's own SHAP sum misses its \
         margin by {peer_slack:.1e}",
        rows.len()
    );
}
