//! Peer comparisons of the linear learner's L1, elastic-net and L2 penalties against
//! scikit-learn (`LogisticRegression(solver="saga", l1_ratio=...)`, `ElasticNet`, and for pure L2
//! `Ridge` and the default `LogisticRegression`) on its shipped datasets (iris, wine,
//! breast_cancer, digits, diabetes), fitted through the real CLI; and `ingot evaluate` against scikit-learn's
//! metrics of the same predictions. Runs when `INGOT_PEER_PYTHON` names a Python with
//! scikit-learn, numpy and pandas (`.ci/run` sets one up); otherwise each test says it skipped.
//!
//! Both sides minimize the same objective on the same standardized features: with `n` training
//! rows, `C` and `l1_ratio = ρ` map to `l1 = ρ / (C n)`, `l2 = (1 − ρ) / (C n)`; `ElasticNet`'s
//! `alpha` maps to `l1 = alpha ρ`, `l2 = alpha (1 − ρ)`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ingot");

/// Held-out accuracy and R² may be at most this much below scikit-learn's.
const QUALITY_TOLERANCE: f64 = 0.02;
/// Held-out log loss may be at most this much above scikit-learn's.
const LOG_LOSS_TOLERANCE: f64 = 0.01;
/// Largest allowed difference between the two models' predicted probabilities (regression:
/// in target standard deviations). Both solve the same convex problem to tight tolerances.
const PREDICTION_TOLERANCE: f64 = 1e-4;
/// `ingot evaluate` must reproduce scikit-learn's metrics of the same predictions this closely.
const METRIC_TOLERANCE: f64 = 1e-9;

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

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/linear_penalties.py")
}

/// Trains Ingot with the mapped penalties, asks scikit-learn, checks quality and agreement.
fn compare(dataset: &str, strength: f64, l1_ratio: f64) {
    let Some(python) = peer_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    run(Command::new(&python)
        .arg(script())
        .args(["data", dataset, &d]));
    let train = dir.path().join("train.csv");
    let rows = std::fs::read_to_string(&train).unwrap().lines().count() - 1;
    let n = rows as f64;
    let regression = dataset == "diabetes";
    let (l1, l2) = if regression {
        (strength * l1_ratio, strength * (1.0 - l1_ratio))
    } else {
        (l1_ratio / (strength * n), (1.0 - l1_ratio) / (strength * n))
    };
    let model = dir.path().join("model.ingot");
    let predictor = match dataset {
        "diabetes" => "regressor",
        "breast_cancer" => "binary_classifier",
        _ => "multiclass_classifier",
    };
    run(Command::new(BIN)
        .args([
            "train",
            "--local",
            "--algorithm",
            "linear-learner",
            "--target",
            "y",
        ])
        .arg("--file")
        .arg(&train)
        .arg("--validation-file")
        .arg(dir.path().join("test.csv"))
        .arg("--out")
        .arg(&model)
        .args(["--hp", &format!("l1={l1}"), "--hp", &format!("l2={l2}")])
        .args(["--hp", "tol=1e-10", "--hp", "max_iter=20000"])
        .args(["--hp", &format!("predictor_type={predictor}")]));
    let predictions = dir.path().join("predictions.csv");
    let csv = run(Command::new(BIN)
        .args(["predict", "--local", "--model"])
        .arg(&model)
        .arg("--file")
        .arg(dir.path().join("test.csv")));
    std::fs::write(&predictions, csv).unwrap();
    let peer: Value = serde_json::from_str(&run(Command::new(&python)
        .arg(script())
        .args(["compare", dataset, &d])
        .args([strength.to_string(), l1_ratio.to_string()])
        .arg(&predictions)))
    .unwrap();
    eprintln!("{dataset}: {peer}");
    let ours = &peer["ingot_quality"];
    let theirs = &peer["peer_quality"];
    for name in ["accuracy", "r2"] {
        if let (Some(a), Some(b)) = (ours[name].as_f64(), theirs[name].as_f64()) {
            assert!(
                a >= b - QUALITY_TOLERANCE,
                "{dataset} {name}: ingot {a} vs scikit-learn {b}"
            );
        }
    }
    if let (Some(a), Some(b)) = (ours["log_loss"].as_f64(), theirs["log_loss"].as_f64()) {
        assert!(
            a <= b + LOG_LOSS_TOLERANCE,
            "{dataset} log loss: ingot {a} vs scikit-learn {b}"
        );
    }
    let diff = peer["max_abs_diff"].as_f64().unwrap();
    assert!(
        diff < PREDICTION_TOLERANCE,
        "{dataset}: predictions differ from scikit-learn's by up to {diff}"
    );
    check_evaluate(dir.path(), regression, &peer["sklearn_metrics_of_ingot"]);
}

/// `ingot evaluate` on the held-out labels and Ingot's predictions equals scikit-learn.
fn check_evaluate(dir: &Path, regression: bool, expected: &Value) {
    let mut command = Command::new(BIN);
    command
        .args([
            "evaluate",
            "--local",
            "--label-column",
            "label",
            "--output",
            "json",
        ])
        .arg("--file")
        .arg(dir.join("joined.csv"));
    if regression {
        command.args(["--prediction-column", "predicted", "--task", "regression"]);
    }
    let report: Value = serde_json::from_str(&run(&mut command)).unwrap();
    let expected = expected.as_object().unwrap();
    assert!(!expected.is_empty());
    for (name, value) in expected {
        let want = value.as_f64().unwrap();
        let got = report["metrics"][name]
            .as_f64()
            .unwrap_or_else(|| panic!("ingot evaluate reports no {name}: {report}"));
        assert!(
            (got - want).abs() <= METRIC_TOLERANCE * want.abs().max(1.0),
            "ingot evaluate {name}: {got} vs scikit-learn {want}"
        );
    }
}

#[test]
fn l1_logistic_regression_on_iris() {
    compare("iris", 1.0, 1.0);
}

#[test]
fn elastic_net_logistic_regression_on_wine() {
    compare("wine", 0.5, 0.5);
}

#[test]
fn l1_logistic_regression_on_breast_cancer() {
    compare("breast_cancer", 0.1, 1.0);
}

#[test]
fn elastic_net_regression_on_diabetes() {
    compare("diabetes", 0.1, 0.5);
}

#[test]
fn lasso_regression_on_diabetes() {
    compare("diabetes", 0.5, 1.0);
}

#[test]
fn ridge_regression_on_diabetes() {
    compare("diabetes", 0.1, 0.0);
}

#[test]
fn l2_logistic_regression_on_digits() {
    compare("digits", 1.0, 0.0);
}
