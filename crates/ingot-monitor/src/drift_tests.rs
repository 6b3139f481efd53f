//! Tests of the drift selection and decisions.

use super::*;
use crate::stats::StatsOptions;
use ingot_data::{read_table, DataFormat};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn stats(rows: usize, shift: f64, seed: u64) -> DatasetStats {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::from("num,few,cat,binary\n");
    for _ in 0..rows {
        let cat = ["a", "b", "c", "d"][(rng.gen::<f64>() * (4.0 - 3.0 * shift)) as usize % 4];
        s.push_str(&format!(
            "{},{},{cat},{}\n",
            rng.gen::<f64>() + shift,
            rng.gen_range(0..4),
            rng.gen_bool(0.5 - 0.4 * shift)
        ));
    }
    let t = read_table(s.as_bytes(), DataFormat::Csv).unwrap();
    DatasetStats::of_table(&t, &StatsOptions::default()).unwrap()
}

fn tests_of(d: &DatasetDrift) -> Vec<(String, StatTest)> {
    d.columns
        .iter()
        .map(|c| (c.column.clone(), c.stattest))
        .collect()
}

#[test]
fn small_references_use_ks_chi_square_and_z() {
    let d = dataset_drift(
        &stats(500, 0.0, 1),
        &stats(500, 0.0, 2),
        &DriftOptions::default(),
    )
    .unwrap();
    assert_eq!(
        tests_of(&d),
        vec![
            ("num".into(), StatTest::Ks),
            ("few".into(), StatTest::Chisquare),
            ("cat".into(), StatTest::Chisquare),
            ("binary".into(), StatTest::Z),
        ]
    );
    assert!(d.columns.iter().all(|c| c.method == "exact"));
    assert!(!d.dataset_drift, "{:?}", d.columns);
}

#[test]
fn large_references_use_wasserstein_and_jensen_shannon() {
    let d = dataset_drift(
        &stats(5000, 0.0, 1),
        &stats(5000, 0.0, 2),
        &DriftOptions::default(),
    )
    .unwrap();
    assert_eq!(
        tests_of(&d),
        vec![
            ("num".into(), StatTest::Wasserstein),
            ("few".into(), StatTest::JensenShannon),
            ("cat".into(), StatTest::JensenShannon),
            ("binary".into(), StatTest::JensenShannon),
        ]
    );
    assert!(!d.dataset_drift);
    let shifted = dataset_drift(
        &stats(5000, 0.0, 1),
        &stats(5000, 0.5, 2),
        &DriftOptions::default(),
    )
    .unwrap();
    let drifted: Vec<&str> = shifted
        .columns
        .iter()
        .filter(|c| c.drifted)
        .map(|c| c.column.as_str())
        .collect();
    assert_eq!(drifted, vec!["num", "cat", "binary"]);
    assert!(shifted.dataset_drift);
    assert_eq!(shifted.number_of_drifted_columns, 3);
}

#[test]
fn overrides_choose_the_test_and_threshold() {
    let mut options = DriftOptions {
        stattest: Some(StatTest::Psi),
        ..DriftOptions::default()
    };
    options.per_column.insert(
        "num".into(),
        ColumnOverride {
            stattest: Some(StatTest::Ks),
            threshold: Some(0.2),
        },
    );
    let d = dataset_drift(&stats(3000, 0.0, 1), &stats(3000, 0.0, 2), &options).unwrap();
    let num = &d.columns[0];
    assert_eq!((num.stattest, num.threshold), (StatTest::Ks, 0.2));
    assert!(d.columns[1..].iter().all(|c| c.stattest == StatTest::Psi));
    // KS cannot test strings: reported as skipped, not a failure.
    let all_ks = DriftOptions {
        stattest: Some(StatTest::Ks),
        ..DriftOptions::default()
    };
    let d = dataset_drift(&stats(300, 0.0, 1), &stats(300, 0.0, 2), &all_ks).unwrap();
    assert_eq!(d.skipped.len(), 2, "{:?}", d.skipped);
    assert!(StatTest::parse("KS").is_ok());
    assert!(StatTest::parse("anderson")
        .unwrap_err()
        .to_string()
        .contains("jensenshannon"));
}

#[test]
fn decision_rules_follow_evidently() {
    assert!(StatTest::Ks.drifted(0.05, 0.05));
    assert!(!StatTest::Chisquare.drifted(0.05, 0.05));
    assert!(StatTest::Wasserstein.drifted(0.1, 0.1));
    assert!(!StatTest::LInfinity.drifted(0.1, 0.1));
}
