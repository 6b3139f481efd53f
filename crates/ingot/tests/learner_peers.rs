//! Peer comparisons of the learners in `ingot-learners` against scikit-learn on its shipped
//! datasets: k-NN held-out quality, k-means inertia, PCA explained variance (to 1e-6), and the
//! random cut forest's anomaly AUC against IsolationForest. Each test trains with the real
//! `ingot train --local`; the tolerances live here. Runs when `INGOT_PEER_PYTHON` names a
//! Python with scikit-learn (`.ci/run` sets one up); otherwise each test says it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ingot");

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

/// The peer script with `args`, parsed.
fn peer(python: &Path, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/learners.py");
    serde_json::from_str(&run(Command::new(python).arg(script).args(args))).unwrap()
}

/// A directory with the exported datasets.
fn datasets(python: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    peer(python, &["export", dir.path().to_str().unwrap()]);
    dir
}

/// `ingot train --local --output json` with extra arguments; returns the JSON summary.
fn train(dir: &Path, file: &str, algorithm: &str, extra: &[&str]) -> Value {
    let out = dir.join(format!("{algorithm}-{file}.ingot"));
    let stdout = run(Command::new(BIN)
        .args(["train", "--local", "--algorithm", algorithm, "--file"])
        .arg(dir.join(file))
        .arg("--out")
        .arg(&out)
        .args(["--output", "json"])
        .args(extra));
    serde_json::from_str(&stdout).unwrap()
}

fn metric(summary: &Value, name: &str) -> f64 {
    summary["metrics"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no metric {name}: {summary}"))
}

#[test]
fn knn_matches_kneighbors_on_shipped_datasets() {
    let Some(python) = peer_python() else { return };
    let dir = datasets(&python);
    let d = dir.path();
    let cases = [
        (
            "iris",
            "classification",
            "multiclass_classifier",
            "euclidean",
            0.03,
        ),
        (
            "wine",
            "classification",
            "multiclass_classifier",
            "manhattan",
            0.03,
        ),
        (
            "breast_cancer",
            "classification",
            "binary_classifier",
            "euclidean",
            0.02,
        ),
        (
            "digits",
            "classification",
            "multiclass_classifier",
            "euclidean",
            0.01,
        ),
        ("diabetes", "regression", "regressor", "euclidean", 0.02),
    ];
    for (name, task, predictor, distance, tolerance) in cases {
        let validation = d.join(format!("{name}_test.csv"));
        let summary = train(
            d,
            &format!("{name}_train.csv"),
            "knn",
            &[
                "--target",
                "target",
                "--validation-file",
                validation.to_str().unwrap(),
                "--hp",
                "k=5",
                "--hp",
                &format!("metric={distance}"),
                "--hp",
                &format!("predictor_type={predictor}"),
            ],
        );
        let reference = peer(
            &python,
            &["knn", d.to_str().unwrap(), name, task, "5", distance],
        );
        let key = if task == "regression" {
            "r2"
        } else {
            "accuracy"
        };
        let (ours, theirs) = (metric(&summary, key), reference[key].as_f64().unwrap());
        eprintln!("knn {name}: {key} ingot {ours} scikit-learn {theirs}");
        assert!(
            (ours - theirs).abs() <= tolerance,
            "{name}: ingot {key} {ours} vs scikit-learn {theirs} (tolerance {tolerance})"
        );
    }
}

#[test]
fn kmeans_inertia_matches_scikit_learn() {
    let Some(python) = peer_python() else { return };
    let dir = datasets(&python);
    let d = dir.path();
    for (name, k, tolerance) in [
        ("iris", "3", 0.005),
        ("wine", "3", 0.005),
        ("breast_cancer", "2", 0.005),
        ("digits", "10", 0.02),
    ] {
        let summary = train(
            d,
            &format!("{name}.csv"),
            "kmeans",
            &[
                "--drop",
                "target",
                "--validation-fraction",
                "0",
                "--hp",
                &format!("k={k}"),
                "--hp",
                "n_init=10",
                "--hp",
                "standardize=false",
            ],
        );
        let ours = metric(&summary, "training_inertia");
        let theirs = peer(&python, &["kmeans", d.to_str().unwrap(), name, k])["inertia"]
            .as_f64()
            .unwrap();
        eprintln!("kmeans {name}: inertia ingot {ours} scikit-learn {theirs}");
        assert!(
            ours <= theirs * (1.0 + tolerance) && ours >= theirs * (1.0 - tolerance),
            "{name}: ingot inertia {ours} vs scikit-learn {theirs} (relative tolerance {tolerance})"
        );
    }
}

#[test]
fn pca_explained_variance_matches_scikit_learn() {
    let Some(python) = peer_python() else { return };
    let dir = datasets(&python);
    let d = dir.path();
    for name in ["iris", "wine", "breast_cancer", "digits", "diabetes"] {
        let reference = peer(&python, &["pca", d.to_str().unwrap(), name]);
        let expected = reference["explained_variance_ratio"].as_array().unwrap();
        for mode in ["exact", "randomized"] {
            let mut args = vec!["--drop", "target", "--validation-fraction", "0"];
            let components = format!(
                "num_components={}",
                if mode == "exact" { expected.len() } else { 3 }
            );
            args.extend(["--hp", &components, "--hp"]);
            let mode_hp = format!("mode={mode}");
            args.push(&mode_hp);
            if mode == "randomized" {
                args.extend(["--hp", "power_iterations=7"]);
            }
            let summary = train(d, &format!("{name}.csv"), "pca", &args);
            let checked = if mode == "exact" { expected.len() } else { 3 };
            let tolerance = if mode == "exact" { 1e-6 } else { 1e-4 };
            for (i, value) in expected.iter().take(checked).enumerate() {
                let theirs = value.as_f64().unwrap();
                let ours = metric(&summary, &format!("training_explained_variance_ratio_{i}"));
                assert!(
                    (ours - theirs).abs() <= tolerance,
                    "{name} {mode} component {i}: ingot {ours} vs scikit-learn {theirs}"
                );
            }
        }
    }
}

#[test]
fn random_cut_forest_finds_anomalies_like_isolation_forest() {
    let Some(python) = peer_python() else { return };
    let dir = datasets(&python);
    let d = dir.path();
    let summary = train(
        d,
        "anomalies.csv",
        "random-cut-forest",
        &["--drop", "is_anomaly", "--validation-fraction", "0"],
    );
    assert!(metric(&summary, "training_threshold") > metric(&summary, "training_score_mean"));
    let model = d.join("random-cut-forest-anomalies.csv.ingot");
    let csv = run(Command::new(BIN)
        .args(["predict", "--local", "--model"])
        .arg(&model)
        .arg("--file")
        .arg(d.join("anomalies.csv")));
    assert!(
        csv.starts_with("score,anomaly\n"),
        "{}",
        &csv[..40.min(csv.len())]
    );
    let predictions = d.join("rcf-predictions.csv");
    std::fs::write(&predictions, &csv).unwrap();
    let result = peer(
        &python,
        &[
            "anomalies",
            d.to_str().unwrap(),
            predictions.to_str().unwrap(),
        ],
    );
    let ours = result["ingot_auc"].as_f64().unwrap();
    let theirs = result["isolation_forest_auc"].as_f64().unwrap();
    eprintln!("anomaly AUC: ingot random-cut-forest {ours}, IsolationForest {theirs}");
    assert!(
        ours >= theirs - 0.02,
        "ingot AUC {ours} vs IsolationForest {theirs}"
    );
    // The mean + 3σ threshold flags the clear anomalies (some fall inside the inlier blobs)
    // and few inliers.
    let flagged: Vec<bool> = csv.lines().skip(1).map(|l| l.ends_with("true")).collect();
    let true_positives = flagged[2000..].iter().filter(|f| **f).count();
    let false_positives = flagged[..2000].iter().filter(|f| **f).count();
    assert!(
        true_positives >= 20 && false_positives <= 10,
        "{true_positives} / {false_positives}"
    );
}
