//! Peer comparisons: Ingot's linear learner and metrics against scikit-learn, fitted on the
//! same files with the same objective. Runs when `INGOT_PEER_PYTHON` names a Python with
//! scikit-learn, numpy and pandas (`.ci/run` sets one up); otherwise each test says it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ingot");
const L2: &str = "0.001";

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

fn churn(dir: &Path, name: &str, rows: usize, seed: u64) -> PathBuf {
    let path = dir.join(name);
    run(Command::new(BIN)
        .args([
            "sample",
            "churn",
            "--rows",
            &rows.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(&path));
    path
}

/// Trains locally on `train`, validates and predicts on `test`, and asks scikit-learn.
fn compare(task: &str, target: &str, drop: &[&str], extra_hp: &[&str]) -> (Value, Value) {
    let python = peer_python().expect("checked by caller");
    let dir = tempfile::tempdir().unwrap();
    let train = churn(dir.path(), "train.csv", 3000, 11);
    let test = churn(dir.path(), "test.csv", 1000, 12);
    let model = dir.path().join("model.ingot");
    let mut args: Vec<String> = [
        "train",
        "--local",
        "--algorithm",
        "linear-learner",
        "--target",
        target,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend([
        "--file".into(),
        train.display().to_string(),
        "--validation-file".into(),
        test.display().to_string(),
    ]);
    args.extend([
        "--out".into(),
        model.display().to_string(),
        "--output".into(),
        "json".into(),
    ]);
    for hp in [
        format!("l2={L2}"),
        "tol=1e-10".to_string(),
        "max_iter=2000".to_string(),
    ] {
        args.extend(["--hp".into(), hp]);
    }
    for hp in extra_hp {
        args.extend(["--hp".into(), hp.to_string()]);
    }
    for column in drop {
        args.extend(["--drop".into(), column.to_string()]);
    }
    let ours: Value = serde_json::from_str(&run(Command::new(BIN).args(&args))).unwrap();
    let predictions = dir.path().join("predictions.csv");
    let csv = run(Command::new(BIN)
        .args(["predict", "--local", "--model"])
        .arg(&model)
        .arg("--file")
        .arg(&test));
    std::fs::write(&predictions, csv).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/linear_learner.py");
    let peer: Value = serde_json::from_str(&run(Command::new(python)
        .arg(script)
        .args([
            task,
            &train.display().to_string(),
            &test.display().to_string(),
            target,
            L2,
            &predictions.display().to_string(),
        ])
        .args(drop)))
    .unwrap();
    (ours, peer)
}

fn assert_metrics_agree(ours: &Value, peer: &Value) {
    let peer_metrics = peer["metrics"].as_object().unwrap();
    assert!(!peer_metrics.is_empty());
    for (name, expected) in peer_metrics {
        let expected = expected.as_f64().unwrap();
        let actual = ours["metrics"][name]
            .as_f64()
            .unwrap_or_else(|| panic!("we report no {name}: {ours}"));
        assert!(
            (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{name}: ingot {actual} vs scikit-learn {expected}"
        );
    }
}

const IDS: [&str; 3] = ["RowNumber", "CustomerId", "Surname"];

/// Trains, asks scikit-learn, and checks predictions (relative to the peer's scale) and every
/// metric we report.
fn check(task: &str, target: &str, extra_hp: &[&str], tolerance: f64) {
    if peer_python().is_none() {
        return;
    }
    let (ours, peer) = compare(task, target, &IDS, extra_hp);
    let diff = peer["max_abs_diff"].as_f64().unwrap() / peer["scale"].as_f64().unwrap();
    assert!(
        diff < tolerance,
        "{task}: predictions differ from scikit-learn by up to {diff} (scaled)"
    );
    assert_metrics_agree(&ours, &peer);
}

#[test]
fn binary_logistic_regression_matches_scikit_learn() {
    check("binary", "Exited", &[], 1e-4);
}

#[test]
fn multiclass_logistic_regression_matches_scikit_learn() {
    check("multiclass", "Geography", &[], 1e-4);
}

#[test]
fn ridge_regression_matches_scikit_learn() {
    check("regression", "Exited", &["predictor_type=regressor"], 1e-5);
}
