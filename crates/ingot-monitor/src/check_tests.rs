//! Tests of the check: each of SageMaker's six violation types from a crafted dataset, and
//! none on the baseline's own data.

use super::*;
use crate::stats::StatsOptions;
use ingot_data::{read_table, DataFormat};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Reference: id (int), amount (float), color (3 values), flag (bool), all complete.
fn reference_csv(rows: usize, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::from("id,amount,color,flag\n");
    for i in 0..rows {
        let color = ["red", "green", "blue"][rng.gen_range(0..3)];
        s.push_str(&format!(
            "{i},{:.4},{color},{}\n",
            rng.gen::<f64>() * 100.0,
            rng.gen_bool(0.5)
        ));
    }
    s
}

fn stats(csv: &str) -> DatasetStats {
    let t = read_table(csv.as_bytes(), DataFormat::Csv).unwrap();
    DatasetStats::of_table(&t, &StatsOptions::default()).unwrap()
}

fn kinds(r: &CheckReport) -> Vec<(String, ViolationType)> {
    r.violations
        .iter()
        .map(|v| (v.feature_name.clone(), v.constraint_check_type))
        .collect()
}

#[test]
fn identical_data_has_no_violations_and_no_drift() {
    let csv = reference_csv(3000, 1);
    let baseline = Baseline::from_stats(&stats(&csv));
    // Through the files, as the CLI does.
    let baseline = Baseline {
        statistics: crate::Statistics::parse(&baseline.statistics.to_json()).unwrap(),
        constraints: crate::Constraints::parse(&baseline.constraints.to_json()).unwrap(),
    };
    let r = check(&baseline, &stats(&csv), &DriftOptions::default()).unwrap();
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert!(!r.drift.dataset_drift);
    assert_eq!(r.drift.number_of_columns, 4);
    assert_eq!(r.drift.number_of_drifted_columns, 0);
}

#[test]
fn same_distribution_has_no_violations() {
    let baseline = Baseline::from_stats(&stats(&reference_csv(5000, 1)));
    let r = check(
        &baseline,
        &stats(&reference_csv(5000, 2)),
        &DriftOptions::default(),
    )
    .unwrap();
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert!(!r.drift.dataset_drift, "{:?}", r.drift.columns);
}

#[test]
fn each_violation_type_is_found() {
    let baseline = Baseline::from_stats(&stats(&reference_csv(3000, 1)));
    // Crafted current data: no `flag` (missing column), a new `extra` column, `id` with text in
    // 30% of rows (data type), `amount` shifted and 20% empty (drift, completeness), `color`
    // with 40% unknown values (categorical values).
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut csv = String::from("id,amount,color,extra\n");
    for i in 0..2000 {
        let id = if i % 10 < 3 {
            format!("x{i}")
        } else {
            i.to_string()
        };
        let amount = if i % 5 == 0 {
            String::new()
        } else {
            format!("{:.4}", 60.0 + rng.gen::<f64>() * 100.0)
        };
        let color = if i % 5 < 2 {
            "purple"
        } else {
            ["red", "green", "blue"][rng.gen_range(0..3)]
        };
        csv.push_str(&format!("{id},{amount},{color},{}\n", rng.gen::<u8>()));
    }
    let r = check(&baseline, &stats(&csv), &DriftOptions::default()).unwrap();
    let found = kinds(&r);
    for expected in [
        ("flag", ViolationType::MissingColumnCheck),
        ("extra", ViolationType::ExtraColumnCheck),
        ("id", ViolationType::DataTypeCheck),
        ("amount", ViolationType::CompletenessCheck),
        ("amount", ViolationType::BaselineDriftCheck),
        ("color", ViolationType::CategoricalValuesCheck),
        ("color", ViolationType::BaselineDriftCheck),
    ] {
        assert!(
            found.contains(&(expected.0.to_string(), expected.1)),
            "{expected:?} not in {found:?}"
        );
    }
    let descriptions: Vec<&str> = r
        .violations
        .iter()
        .map(|v| v.description.as_str())
        .collect();
    assert!(descriptions
        .iter()
        .any(|d| d
            .starts_with("Data type match requirement is not met. Expected data type: Integral")));
    assert!(descriptions
        .iter()
        .any(|d| d.contains("Observed: Only 80.0% of data is complete")));
    assert!(descriptions.iter().any(|d| d.contains("\"purple\"")));
    // The JSON document has SageMaker's shape.
    let v = serde_json::to_value(r.constraint_violations()).unwrap();
    let first = &v["violations"][0];
    assert!(first["feature_name"].is_string());
    assert!(first["constraint_check_type"].is_string());
    assert!(first["description"].is_string());
    let types: std::collections::BTreeSet<&str> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["constraint_check_type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 6, "{types:?}");
    // The drift table flags the shifted column.
    let amount = r
        .drift
        .columns
        .iter()
        .find(|c| c.column == "amount")
        .unwrap();
    assert!(amount.drifted);
    assert_eq!(amount.stattest, StatTest::Wasserstein);
}

#[test]
fn thresholds_from_the_constraints_are_honoured() {
    let baseline = Baseline::from_stats(&stats(&reference_csv(3000, 1)));
    let mut relaxed = baseline.clone();
    relaxed
        .constraints
        .monitoring_config
        .distribution_constraints
        .comparison_threshold = 0.9;
    relaxed
        .constraints
        .monitoring_config
        .distribution_constraints
        .categorical_comparison_threshold = 0.9;
    relaxed
        .constraints
        .monitoring_config
        .domain_content_threshold = 0.5;
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut csv = String::from("id,amount,color,flag\n");
    for i in 0..2000 {
        let color = if i % 5 == 0 { "purple" } else { "red" };
        csv.push_str(&format!(
            "{i},{:.4},{color},true\n",
            30.0 + rng.gen::<f64>() * 100.0
        ));
    }
    let strict = check(&baseline, &stats(&csv), &DriftOptions::default()).unwrap();
    assert!(kinds(&strict).contains(&("amount".into(), ViolationType::BaselineDriftCheck)));
    let r = check(&relaxed, &stats(&csv), &DriftOptions::default()).unwrap();
    assert!(r.violations.is_empty(), "{:?}", r.violations);
}
