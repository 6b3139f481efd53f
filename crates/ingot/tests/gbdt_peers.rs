//! Peer comparison: Ingot's `gbdt` against LightGBM with the same parameters on scikit-learn's
//! shipped data sets (breast_cancer, digits) and a generated california-housing-like regression.
//! Runs when `INGOT_PEER_PYTHON` names a Python with lightgbm and scikit-learn (`.ci/run` sets
//! one up); otherwise each test says it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ingot");

fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("INGOT_PEER_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!("skipped: INGOT_PEER_PYTHON is not set (LightGBM peer unavailable)");
            None
        }
    }
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("spawn");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Writes the split, trains LightGBM and Ingot with the same parameters, and returns both
/// metric sets (Ingot's are computed on the same held-out file).
fn compare(dataset: &str, predictor_type: &str) -> Option<(Value, Value)> {
    let python = peer_python()?;
    let dir = tempfile::tempdir().unwrap();
    let (trees, rate, leaves, min_data) = ("100", "0.1", "31", "20");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/gbdt.py");
    let peer: Value = serde_json::from_str(&run(Command::new(python)
        .arg(script)
        .arg(dataset)
        .arg(dir.path())
        .args([trees, rate, leaves, min_data])))
    .unwrap();
    let model = dir.path().join("model.ingot");
    let ours: Value = serde_json::from_str(&run(Command::new(BIN)
        .args([
            "train",
            "--local",
            "--algorithm",
            "gbdt",
            "--target",
            "target",
        ])
        .arg("--file")
        .arg(dir.path().join("train.csv"))
        .arg("--validation-file")
        .arg(dir.path().join("test.csv"))
        .arg("--out")
        .arg(&model)
        .args(["--output", "json"])
        .args(["--hp", &format!("predictor_type={predictor_type}")])
        .args(["--hp", &format!("num_trees={trees}")])
        .args(["--hp", &format!("learning_rate={rate}")])
        .args(["--hp", &format!("num_leaves={leaves}")])
        .args(["--hp", &format!("min_data_in_leaf={min_data}")])))
    .unwrap();
    Some((ours, peer))
}

fn metric(report: &Value, name: &str) -> f64 {
    report["metrics"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn breast_cancer_auc_is_close_to_lightgbm() {
    let Some((ours, peer)) = compare("breast_cancer", "binary_classifier") else {
        return;
    };
    let (a, b) = (metric(&ours, "auc"), metric(&peer, "auc"));
    assert!(a >= b - 0.01, "AUC: ingot {a} vs LightGBM {b}");
    let (a, b) = (metric(&ours, "accuracy"), metric(&peer, "accuracy"));
    assert!(a >= b - 0.025, "accuracy: ingot {a} vs LightGBM {b}");
}

#[test]
fn digits_accuracy_is_close_to_lightgbm() {
    let Some((ours, peer)) = compare("digits", "multiclass_classifier") else {
        return;
    };
    let (a, b) = (metric(&ours, "accuracy"), metric(&peer, "accuracy"));
    assert!(a >= b - 0.02, "accuracy: ingot {a} vs LightGBM {b}");
    let (a, b) = (metric(&ours, "log_loss"), metric(&peer, "log_loss"));
    assert!(a <= b * 1.5 + 0.02, "log loss: ingot {a} vs LightGBM {b}");
}

#[test]
fn housing_rmse_is_close_to_lightgbm() {
    let Some((ours, peer)) = compare("housing", "regressor") else {
        return;
    };
    let (a, b) = (metric(&ours, "rmse"), metric(&peer, "rmse"));
    assert!(a <= b * 1.03, "RMSE: ingot {a} vs LightGBM {b}");
}
