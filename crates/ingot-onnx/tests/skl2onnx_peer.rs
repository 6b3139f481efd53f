//! scikit-learn models exported by skl2onnx, imported through `ingot_catalog::import_model`,
//! re-read from the encoded model file and scored by Ingot, against onnxruntime's outputs
//! (1e-6) and scikit-learn's predict / predict_proba (1e-5, as ONNX runs in float32); plus the
//! refusals (garbage bytes, unsupported operators, a schema of the wrong width). Runs when
//! `INGOT_PEER_PYTHON` names a Python with scikit-learn, skl2onnx, onnx and onnxruntime.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema};
use ingot_catalog::{import_model, ImportOptions, LoadedModel, Predictions};
use ingot_core::{ColumnType, Field, Schema, Task};
use serde_json::Value;

fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("INGOT_PEER_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!(
                "skipped: INGOT_PEER_PYTHON is not set (skl2onnx/onnxruntime peer unavailable)"
            );
            None
        }
    }
}

/// Runs the peer script once; returns its cases and keeps the directory with the models alive.
fn cases(python: &Path) -> (tempfile::TempDir, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/onnx_models.py");
    let output = Command::new(python)
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cases: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    (dir, cases)
}

/// Checks `|a − b| ≤ tolerance · max(|b|, 1)` everywhere; returns the largest `|a − b| / max(|b|, 1)`.
fn close(what: &str, ours: &[f64], theirs: &[f64], tolerance: f64) -> f64 {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths differ");
    let mut worst = 0f64;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let deviation = (a - b).abs() / b.abs().max(1.0);
        assert!(
            deviation <= tolerance,
            "{what}[{i}]: ingot {a} vs {b} (tolerance {tolerance})"
        );
        worst = worst.max(deviation);
    }
    worst
}

/// The peer's rows as a batch with the model's input columns.
fn batch(schema: &Schema, rows: &[Value]) -> RecordBatch {
    let value = |r: &Value, j: usize| r[j].as_f64().unwrap_or(f64::NAN);
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (j, field) in schema.fields.iter().enumerate() {
        match field.column_type {
            ColumnType::String => {
                fields.push(ArrowField::new(&field.name, DataType::Utf8, true));
                columns.push(Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r[j].as_str().unwrap().to_string()),
                )));
            }
            ColumnType::Integer => {
                fields.push(ArrowField::new(&field.name, DataType::Int64, true));
                columns.push(Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| value(r, j) as i64),
                )));
            }
            _ => {
                fields.push(ArrowField::new(&field.name, DataType::Float64, true));
                columns.push(Arc::new(Float64Array::from_iter_values(
                    rows.iter().map(|r| value(r, j)),
                )));
            }
        }
    }
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns).unwrap()
}

fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        other => vec![other.as_f64().unwrap()],
    }
}

#[test]
fn skl2onnx_models_match_onnxruntime_and_scikit_learn() {
    let Some(python) = peer_python() else { return };
    let (_dir, cases) = cases(&python);
    let mut checked = 0;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let bytes = std::fs::read(case["file"].as_str().unwrap()).unwrap();
        if let Some(expected) = case["error"].as_str() {
            let err = import_model("onnx", &bytes, &ImportOptions::default())
                .expect_err(name)
                .to_string();
            assert!(err.contains(expected), "{name}: {err}");
            assert!(err.contains("not supported"), "{name}: {err}");
            continue;
        }
        let file = import_model("onnx", &bytes, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let model = LoadedModel::from_bytes(&file.encode()).unwrap();
        let manifest = &model.manifest;
        assert_eq!(manifest.algorithm, "onnx");
        if let Some(columns) = case["columns"].as_array() {
            let names: Vec<&str> = manifest
                .input_schema
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect();
            let peer: Vec<&str> = columns.iter().map(|c| c[0].as_str().unwrap()).collect();
            assert_eq!(
                names, peer,
                "{name}: per-column inputs become columns in order"
            );
        }
        let rows = case["rows"].as_array().unwrap();
        let predictions = model.predict(&batch(&manifest.input_schema, rows)).unwrap();
        let ours = match &predictions {
            Predictions::Regression { values } => {
                assert!(!case["classifier"].as_bool().unwrap(), "{name}");
                assert_eq!(manifest.task, Task::Regression);
                values.clone()
            }
            Predictions::Classification {
                classes,
                probabilities,
            } => {
                let peer: Vec<String> = case["classes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(classes, &peer, "{name}: class labels");
                let task = if peer.len() == 2 {
                    Task::BinaryClassification
                } else {
                    Task::MulticlassClassification
                };
                assert_eq!(manifest.task, task, "{name}");
                probabilities.clone()
            }
            other => panic!("{name}: unexpected {other:?}"),
        };
        let ort = close(
            &format!("{name} vs onnxruntime"),
            &ours,
            &flat(&case["onnxruntime"]),
            1e-6,
        );
        let skl = close(
            &format!("{name} vs scikit-learn"),
            &ours,
            &flat(&case["sklearn"]),
            1e-5,
        );
        eprintln!(
            "{name}: {} rows, engine {}, worst deviation {ort:.1e} from onnxruntime, {skl:.1e} from scikit-learn",
            rows.len(),
            manifest.resolved_parameters["engine"]
        );
        checked += 1;
    }
    assert!(checked >= 13, "only {checked} models were compared");
}

#[test]
fn bad_inputs_are_refused_by_name() {
    let err = import_model(
        "onnx",
        b"\x08\x07garbage, not a protobuf \xff\xff",
        &ImportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not an ONNX model"), "{err}");

    let Some(python) = peer_python() else { return };
    let (_dir, cases) = cases(&python);
    let linear = cases
        .iter()
        .find(|c| c["name"] == "linear_regression_house")
        .unwrap();
    let bytes = std::fs::read(linear["file"].as_str().unwrap()).unwrap();
    let three = Schema::new(
        ["a", "b", "c"]
            .iter()
            .map(|n| Field::new(*n, ColumnType::Float, true))
            .collect(),
    );
    let options = ImportOptions {
        schema: Some(three),
        classes: None,
    };
    let err = import_model("onnx", &bytes, &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("takes 8 input columns") && err.contains("has 3"),
        "{err}"
    );

    let churn = cases
        .iter()
        .find(|c| c["name"] == "logistic_binary_churn")
        .unwrap();
    let bytes = std::fs::read(churn["file"].as_str().unwrap()).unwrap();
    let options = ImportOptions {
        schema: None,
        classes: Some(vec!["a".into(), "b".into(), "c".into()]),
    };
    let err = import_model("onnx", &bytes, &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 class probabilities but 3 classes"), "{err}");
}
