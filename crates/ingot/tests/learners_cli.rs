//! `ingot train --local` / `ingot predict --local` with the learners of `ingot-learners`:
//! unsupervised algorithms train without `--target`, and the CLI says clearly when a target
//! is missing or not wanted.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ingot");

fn ingot(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("spawn")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn sample(dir: &Path) {
    ok(ingot(
        &[
            "sample",
            "churn",
            "--rows",
            "600",
            "--seed",
            "3",
            "--out",
            "churn.csv",
        ],
        dir,
    ));
}

const IDS: [&str; 8] = [
    "--drop",
    "RowNumber",
    "--drop",
    "CustomerId",
    "--drop",
    "Surname",
    "--drop",
    "Exited",
];

#[test]
fn unsupervised_algorithms_train_and_predict_locally_without_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sample(d);
    let cases = [
        (
            "kmeans",
            vec!["--hp", "k=4"],
            "cluster,distance_0,distance_1,distance_2,distance_3",
        ),
        (
            "pca",
            vec!["--hp", "num_components=3"],
            "component_0,component_1,component_2",
        ),
        (
            "random-cut-forest",
            vec!["--hp", "num_trees=20"],
            "score,anomaly",
        ),
    ];
    for (algorithm, hps, header) in cases {
        let mut args = vec![
            "train",
            "--local",
            "--file",
            "churn.csv",
            "--algorithm",
            algorithm,
        ];
        args.extend(IDS);
        args.extend(hps);
        args.extend(["--out", "m.ingot", "--output", "json"]);
        let summary: serde_json::Value = serde_json::from_str(&ok(ingot(&args, d))).unwrap();
        assert_eq!(summary["training_rows"], 480, "{summary}");
        assert!(
            !summary["metrics"].as_object().unwrap().is_empty(),
            "{summary}"
        );
        let csv = ok(ingot(
            &[
                "predict",
                "--local",
                "--model",
                "m.ingot",
                "--file",
                "churn.csv",
            ],
            d,
        ));
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(header), "{algorithm}");
        assert_eq!(lines.count(), 600, "{algorithm}");
    }
}

#[test]
fn missing_or_unwanted_targets_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sample(d);
    let out = ingot(
        &[
            "train",
            "--local",
            "--file",
            "churn.csv",
            "--algorithm",
            "knn",
            "--out",
            "m.ingot",
        ],
        d,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("supervised") && err.contains("--target"),
        "{err}"
    );
    let out = ingot(
        &[
            "train",
            "--local",
            "--file",
            "churn.csv",
            "--algorithm",
            "pca",
            "--target",
            "Exited",
            "--out",
            "m.ingot",
        ],
        d,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unsupervised") && err.contains("--drop Exited"),
        "{err}"
    );
    assert!(!d.join("m.ingot").exists());
}

#[test]
fn supervised_learners_train_and_predict_locally() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sample(d);
    let cases = [
        ("knn", vec!["--hp", "k=15"]),
        ("factorization-machines", vec!["--hp", "epochs=5"]),
        ("text-classifier", vec!["--hp", "text_column=Geography"]),
    ];
    for (algorithm, hps) in cases {
        let mut args = vec![
            "train",
            "--local",
            "--file",
            "churn.csv",
            "--algorithm",
            algorithm,
            "--target",
            "Exited",
        ];
        args.extend(&IDS[..6]);
        args.extend(hps);
        args.extend(["--out", "m.ingot", "--output", "json"]);
        let summary: serde_json::Value = serde_json::from_str(&ok(ingot(&args, d))).unwrap();
        assert_eq!(summary["task"], "binary_classification", "{summary}");
        let accuracy = summary["metrics"]["accuracy"].as_f64().unwrap();
        assert!(accuracy > 0.6, "{algorithm}: {summary}");
        let csv = ok(ingot(
            &[
                "predict",
                "--local",
                "--model",
                "m.ingot",
                "--file",
                "churn.csv",
            ],
            d,
        ));
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("0,1"), "{algorithm}");
        assert_eq!(lines.count(), 600, "{algorithm}");
    }
}
