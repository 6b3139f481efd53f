//! Peer comparison: Ingot's `random-forest` against scikit-learn's `RandomForestClassifier` /
//! `RandomForestRegressor` with matching parameters (50 trees, bootstrap, `max_features` sqrt
//! for classification and all features for regression, `min_samples_leaf` 1, unlimited depth)
//! on scikit-learn's shipped data sets. Runs when `INGOT_PEER_PYTHON` names a Python with
//! scikit-learn (`.ci/run` sets one up); otherwise each test says it skipped.
//!
//! The held-out sets are small (45 to 171 rows), so one row is worth 0.6 to 2.2 accuracy
//! points; the tolerances below allow about two rows on the smallest sets.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ingot");
const TREES: &str = "50";
const MIN_LEAF: &str = "1";

fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("INGOT_PEER_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!("skipped: INGOT_PEER_PYTHON is not set (scikit-learn peer unavailable)");
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

/// Writes the split, trains scikit-learn and Ingot with the same parameters, and returns both
/// metric sets (Ingot's are computed on the same held-out file).
fn compare(dataset: &str, predictor_type: &str) -> Option<(Value, Value)> {
    let python = peer_python()?;
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/forest.py");
    let peer: Value = serde_json::from_str(&run(Command::new(python)
        .arg(script)
        .arg(dataset)
        .arg(dir.path())
        .args([TREES, MIN_LEAF])))
    .unwrap();
    let model = dir.path().join("model.ingot");
    let ours: Value = serde_json::from_str(&run(Command::new(BIN)
        .args([
            "train",
            "--local",
            "--algorithm",
            "random-forest",
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
        .args(["--hp", &format!("num_trees={TREES}")])
        .args(["--hp", &format!("min_data_in_leaf={MIN_LEAF}")])))
    .unwrap();
    eprintln!("{dataset}: ingot {ours}\nscikit-learn {peer}");
    Some((ours, peer))
}

fn metric(report: &Value, name: &str) -> f64 {
    report["metrics"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

fn accuracy_is_close(dataset: &str, predictor_type: &str, tolerance: f64) {
    let Some((ours, peer)) = compare(dataset, predictor_type) else {
        return;
    };
    let (a, b) = (metric(&ours, "accuracy"), metric(&peer, "accuracy"));
    assert!(
        a >= b - tolerance,
        "{dataset} accuracy: ingot {a} vs scikit-learn {b}"
    );
}

#[test]
fn iris_accuracy_is_close_to_scikit_learn() {
    accuracy_is_close("iris", "multiclass_classifier", 0.05);
}

#[test]
fn wine_accuracy_is_close_to_scikit_learn() {
    accuracy_is_close("wine", "multiclass_classifier", 0.04);
}

#[test]
fn breast_cancer_accuracy_is_close_to_scikit_learn() {
    accuracy_is_close("breast_cancer", "binary_classifier", 0.03);
}

#[test]
fn diabetes_r2_is_close_to_scikit_learn() {
    let Some((ours, peer)) = compare("diabetes", "regressor") else {
        return;
    };
    let (a, b) = (metric(&ours, "r2"), metric(&peer, "r2"));
    assert!(a >= b - 0.05, "diabetes R²: ingot {a} vs scikit-learn {b}");
}
