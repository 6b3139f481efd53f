//! `ingot monitor baseline` / `ingot monitor check` through the real binary: files written in
//! SageMaker's formats, violations and drift on shifted data with exit status 3, none and
//! exit status 0 on data from the same distribution, JSON output, and the HTML report.

use std::path::Path;
use std::process::{Command, Output};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ingot");

fn ingot(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("spawn")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Customers: age (int), balance (float), country (3 values), active (bool).
fn write_csv(path: &Path, rows: usize, seed: u64, shifted: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::from("age,balance,country,active\n");
    for _ in 0..rows {
        let age = rng.gen_range(18..80) + if shifted { 25 } else { 0 };
        let balance = rng.gen::<f64>() * 1000.0 * if shifted { 3.0 } else { 1.0 };
        let country = if shifted && rng.gen_bool(0.3) {
            "Atlantis"
        } else {
            ["France", "Spain", "Germany"][rng.gen_range(0..3)]
        };
        s.push_str(&format!(
            "{age},{balance:.3},{country},{}\n",
            rng.gen_bool(0.5)
        ));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn baseline_then_check_reports_violations_only_on_shifted_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_csv(&d.join("reference.csv"), 4000, 1, false);
    write_csv(&d.join("same.csv"), 4000, 2, false);
    write_csv(&d.join("shifted.csv"), 4000, 3, true);

    let out = ingot(
        &[
            "monitor",
            "baseline",
            "--file",
            "reference.csv",
            "--out",
            "base",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let stats: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("base/statistics.json")).unwrap())
            .unwrap();
    assert_eq!(stats["dataset"]["item_count"], 4000);
    assert_eq!(stats["features"][0]["inferred_type"], "Integral");
    let constraints: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("base/constraints.json")).unwrap())
            .unwrap();
    assert_eq!(
        constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"],
        0.1
    );

    // Same distribution: no violations, exit 0.
    let out = ingot(
        &[
            "monitor",
            "check",
            "--baseline",
            "base",
            "--file",
            "same.csv",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("constraint violations: 0"), "{stdout}");
    assert!(stdout.contains("no dataset drift"), "{stdout}");

    // Shifted: violations, distinct exit status, report and violations file written.
    let out = ingot(
        &[
            "monitor",
            "check",
            "--baseline",
            "base",
            "--file",
            "shifted.csv",
            "--report",
            "report.html",
            "--out",
            "result",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("baseline_drift_check"), "{stdout}");
    assert!(stdout.contains("categorical_values_check"), "{stdout}");
    assert!(stdout.contains("DATASET DRIFT"), "{stdout}");
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Dataset drift detected"));
    let violations: Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("result/constraint_violations.json")).unwrap(),
    )
    .unwrap();
    let kinds: Vec<&str> = violations["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["constraint_check_type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"baseline_drift_check"), "{kinds:?}");

    // JSON output with a per-column override.
    let out = ingot(
        &[
            "--output",
            "json",
            "monitor",
            "check",
            "--baseline",
            "base",
            "--file",
            "shifted.csv",
            "--column-stattest",
            "age=psi:0.2",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let age = &v["drift"]["columns"][0];
    assert_eq!(age["column"], "age");
    assert_eq!(age["stattest"], "psi");
    assert_eq!(age["threshold"], 0.2);
    assert_eq!(age["drifted"], true);
    assert_eq!(v["drift"]["dataset_drift"], true);

    // A bad test name is a usage-level error (exit 1) naming the choices.
    let out = ingot(
        &[
            "monitor",
            "check",
            "--baseline",
            "base",
            "--file",
            "same.csv",
            "--stattest",
            "foo",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("jensenshannon"));
}

#[test]
fn a_parquet_file_streamed_by_batches_gives_the_csv_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ref.csv");
    write_csv(&csv, 150_000, 9, false);
    let table =
        ingot_data::read_table(&std::fs::read(&csv).unwrap(), ingot_data::DataFormat::Csv).unwrap();
    let parquet = dir.path().join("ref.parquet");
    std::fs::write(&parquet, ingot_data::write_parquet(&table.batch).unwrap()).unwrap();
    for (file, out) in [("ref.csv", "from-csv"), ("ref.parquet", "from-parquet")] {
        let o = ingot(
            &["monitor", "baseline", "--file", file, "--out", out],
            dir.path(),
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let read = |out: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(out).join("statistics.json")).unwrap(),
        )
        .unwrap()
    };
    let (csv_stats, parquet_stats) = (read("from-csv"), read("from-parquet"));
    let features = csv_stats["features"].as_array().unwrap();
    assert_eq!(features.len(), 4);
    let mut numeric = 0;
    for (a, b) in features
        .iter()
        .zip(parquet_stats["features"].as_array().unwrap())
    {
        assert_eq!(a["name"], b["name"]);
        assert_eq!(a["inferred_type"], b["inferred_type"]);
        let (na, nb) = (&a["numerical_statistics"], &b["numerical_statistics"]);
        if na.is_object() {
            numeric += 1;
            assert_eq!(
                na["common"]["num_present"], nb["common"]["num_present"],
                "{}",
                a["name"]
            );
            let (ma, mb) = (na["mean"].as_f64().unwrap(), nb["mean"].as_f64().unwrap());
            assert!(
                (ma - mb).abs() <= 1e-9 * ma.abs().max(1.0),
                "{}: {ma} vs {mb}",
                a["name"]
            );
            assert_eq!(na["min"], nb["min"]);
            assert_eq!(na["max"], nb["max"]);
        }
    }
    assert_eq!(numeric, 2, "age and balance carry numerical statistics");
}
