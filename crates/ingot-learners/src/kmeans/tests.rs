//! Tests of the `kmeans` algorithm through the trait.

use ingot_algo::Predictions;

use super::*;
use crate::testing::{fit_with, floats, hp, none, reload};

fn three_blobs() -> arrow_array::RecordBatch {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..90 {
        let (cx, cy) = [(0.0, 0.0), (20.0, 0.0), (0.0, 20.0)][i % 3];
        let jitter = ((i * 7919) % 13) as f64 / 13.0 - 0.5;
        a.push(cx + jitter);
        b.push(cy - jitter);
    }
    floats(&[("a", a), ("b", b)])
}

#[test]
fn clusters_blobs_and_reports_distances() {
    let x = three_blobs();
    let params = ["k=3", "standardize=false"];
    let model = fit_with(&KMeans, &x, none(&x), &params, 1).unwrap();
    let Predictions::Clustering {
        k,
        clusters,
        distances,
    } = model.predict(&x).unwrap()
    else {
        panic!("not a clustering")
    };
    assert_eq!(k, 3);
    // Rows i, i+3, i+6… share a blob, so they share a cluster; the blobs get different ones.
    for i in 0..90 {
        assert_eq!(clusters[i], clusters[i % 3], "row {i}");
        let row = &distances[i * 3..i * 3 + 3];
        assert!(row[clusters[i]] < 1.0 && row.iter().filter(|d| **d > 10.0).count() == 2);
    }
    assert_ne!(clusters[0], clusters[1]);
    assert_ne!(clusters[1], clusters[2]);
    assert_ne!(clusters[0], clusters[2]);
    let metrics = model.training_metrics();
    assert!(metrics.get("inertia").unwrap() < 90.0 * 0.5);
}

#[test]
fn elbow_curve_decreases_and_same_seed_same_bytes() {
    let x = three_blobs();
    let params = ["k=3", "k_range=1..5", "n_init=3"];
    let a = fit_with(&KMeans, &x, none(&x), &params, 4).unwrap();
    let b = fit_with(&KMeans, &x, none(&x), &params, 4).unwrap();
    assert_eq!(a.payload(), b.payload());
    let m = a.training_metrics();
    let curve: Vec<f64> = (1..=5)
        .map(|k| m.get(&format!("inertia_k{k}")).unwrap())
        .collect();
    assert!(curve.windows(2).all(|w| w[1] <= w[0] * 1.0001), "{curve:?}");
    // The elbow: going from 2 to 3 clusters helps far more than going from 3 to 4.
    assert!(
        curve[1] - curve[2] > 10.0 * (curve[2] - curve[3]),
        "{curve:?}"
    );
    let reloaded = reload(&KMeans, a.as_ref());
    assert_eq!(reloaded.predict(&x).unwrap(), a.predict(&x).unwrap());
}

#[test]
fn minibatch_and_random_init_work() {
    let x = three_blobs();
    for params in [
        ["k=3", "mode=minibatch", "batch_size=30"],
        ["k=3", "init=random", "n_init=5"],
    ] {
        let model = fit_with(&KMeans, &x, none(&x), &params, 2).unwrap();
        let inertia = model.training_metrics().get("inertia").unwrap();
        // Standardized blobs: a good clustering leaves very little within-cluster spread.
        assert!(inertia < 5.0, "{params:?}: {inertia}");
    }
}

#[test]
fn bad_hyperparameters_are_named() {
    let x = three_blobs();
    for (params, name) in [
        (vec!["k=0"], "k"),
        (vec!["k=500"], "k"),
        (vec!["mode=elkan"], "mode"),
        (vec!["k_range=5..2"], "k_range"),
        (vec!["kk=2"], "kk"),
    ] {
        let err = match fit_with(&KMeans, &x, none(&x), &params, 0) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{params:?} accepted"),
        };
        assert!(err.contains(name), "{params:?}: {err}");
    }
    assert!(KMeansParams::from_hyperparameters(&hp(&["k_range=2..x"])).is_err());
}
