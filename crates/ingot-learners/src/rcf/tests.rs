//! Tests of the `random-cut-forest` algorithm through the trait.

use ingot_algo::Predictions;

use super::*;
use crate::testing::{fit_with, floats, gaussian, none, reload};

/// 1000 normal rows then 10 far-away ones.
fn with_outliers() -> arrow_array::RecordBatch {
    let mut g = gaussian(1000, 3, 8);
    for (j, column) in g.iter_mut().enumerate() {
        for i in 0..10 {
            column.push(if (i + j) % 2 == 0 { 9.0 } else { -9.0 } + i as f64 * 0.1);
        }
    }
    floats(&[
        ("a", g[0].clone()),
        ("b", g[1].clone()),
        ("c", g[2].clone()),
    ])
}

fn anomaly(p: Predictions) -> (Vec<f64>, f64) {
    match p {
        Predictions::Anomaly { scores, threshold } => (scores, threshold),
        other => panic!("not anomaly scores: {other:?}"),
    }
}

#[test]
fn outliers_score_highest_and_are_flagged() {
    let x = with_outliers();
    let model = fit_with(&RandomCutForest, &x, none(&x), &["num_trees=50"], 3).unwrap();
    let (scores, threshold) = anomaly(model.predict(&x).unwrap());
    let min_outlier = scores[1000..].iter().cloned().fold(f64::INFINITY, f64::min);
    let mut inliers: Vec<f64> = scores[..1000].to_vec();
    inliers.sort_by(f64::total_cmp);
    assert!(
        min_outlier > inliers[990],
        "{min_outlier} vs {}",
        inliers[990]
    );
    assert!(scores[1000..].iter().all(|s| *s > threshold), "{threshold}");
    let flagged_inliers = scores[..1000].iter().filter(|s| **s > threshold).count();
    assert!(flagged_inliers < 20, "{flagged_inliers}");
    let m = model.training_metrics();
    let expected = m.get("score_mean").unwrap() + 3.0 * m.get("score_std").unwrap();
    assert!((m.get("threshold").unwrap() - expected).abs() < 1e-12);
}

#[test]
fn same_seed_same_bytes_and_reload() {
    let x = with_outliers();
    let p = ["num_trees=10", "sample_size=64"];
    let a = fit_with(&RandomCutForest, &x, none(&x), &p, 1).unwrap();
    let b = fit_with(&RandomCutForest, &x, none(&x), &p, 1).unwrap();
    assert_eq!(a.payload(), b.payload());
    let c = fit_with(&RandomCutForest, &x, none(&x), &p, 2).unwrap();
    assert_ne!(a.payload(), c.payload());
    let reloaded = reload(&RandomCutForest, a.as_ref());
    assert_eq!(reloaded.predict(&x).unwrap(), a.predict(&x).unwrap());
    assert_eq!(reloaded.payload(), a.payload());
}

#[test]
fn streaming_updates_follow_the_data() {
    let x = with_outliers();
    let p = ["num_trees=20", "sample_size=64"];
    let mut model = fit_forest(
        &x,
        RcfParams {
            num_trees: 20,
            sample_size: 64,
            threshold_sigmas: 3.0,
            preprocessing: Preprocessing::from_hyperparameters(&crate::testing::hp(&p[..0]), false)
                .unwrap(),
        },
        &mut ingot_algo::FitContext {
            cancel: &std::sync::atomic::AtomicBool::new(false),
            threads: 1,
            seed: 0,
            events: &mut |_| {},
        },
    )
    .unwrap();
    let far = [50.0, 50.0, 50.0];
    let before = model.scores(&far, 3)[0];
    let mut r = common::rng(0, 1);
    for _ in 0..3000 {
        model.update(&far, &mut r);
    }
    let after = model.scores(&far, 3)[0];
    assert!(
        after < before,
        "a point seen over and over stops being anomalous: {before} -> {after}"
    );
    assert!(model.trees.iter().all(|t| t.mass() == 64));
}

#[test]
fn bad_hyperparameters_are_named() {
    let x = with_outliers();
    for (p, name) in [
        ("num_trees=0", "num_trees"),
        ("threshold_sigmas=-1", "threshold_sigmas"),
    ] {
        let err = fit_with(&RandomCutForest, &x, none(&x), &[p], 0)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(name), "{err}");
    }
}
