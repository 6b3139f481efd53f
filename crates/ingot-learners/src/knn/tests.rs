//! Tests of the `knn` algorithm through the trait.

use ingot_algo::{Predictions, Target};

use super::*;
use crate::testing::{fit_with, floats, gaussian, reload};

/// Two classes: the sign of x + y, on a grid.
fn grid() -> (arrow_array::RecordBatch, Target) {
    let (mut xs, mut ys, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..20 {
        for j in 0..20 {
            let (x, y) = (i as f64 - 9.5, j as f64 - 9.5);
            xs.push(x);
            ys.push(y);
            labels.push(usize::from(x + y > 0.0));
        }
    }
    let target = Target::Classification {
        classes: vec!["neg".into(), "pos".into()],
        labels,
    };
    (floats(&[("x", xs), ("y", ys)]), target)
}

#[test]
fn votes_and_shares() {
    let (x, target) = grid();
    let model = fit_with(&Knn, &x, target, &["k=4", "standardize=false"], 0).unwrap();
    let probe = floats(&[("x", vec![5.0, -5.0, 0.4]), ("y", vec![5.0, -5.0, 0.1])]);
    let predictions = model.predict(&probe).unwrap();
    assert_eq!(predictions.predicted_labels().unwrap()[..2], ["pos", "neg"]);
    let Predictions::Classification { probabilities, .. } = predictions else {
        panic!()
    };
    assert_eq!(&probabilities[..4], &[0.0, 1.0, 1.0, 0.0]);
    // (0.4, 0.1): the 4 nearest grid points are (±0.5, ±0.5); only (0.5, 0.5) has x + y > 0.
    assert_eq!(&probabilities[4..], &[0.75, 0.25]);
}

#[test]
fn regression_is_the_neighbour_mean_under_every_metric() {
    let xs: Vec<f64> = (0..50).map(f64::from).collect();
    let target = Target::Regression(xs.iter().map(|v| v * 2.0).collect());
    let x = floats(&[("x", xs.clone()), ("one", vec![1.0; 50])]);
    let probe = floats(&[("x", vec![10.2]), ("one", vec![1.0])]);
    for metric in ["euclidean", "manhattan"] {
        let p = [&format!("metric={metric}"), "k=3", "standardize=false"];
        let model = fit_with(&Knn, &x, target.clone(), &p, 0).unwrap();
        let Predictions::Regression { values } = model.predict(&probe).unwrap() else {
            panic!()
        };
        assert!((values[0] - 20.0).abs() < 1e-12, "{metric}: {values:?}");
    }
    // Cosine ignores length: (1, 1) is nearest to the rows on the diagonal direction.
    let x = floats(&[
        ("a", vec![1.0, 10.0, 0.0, 3.0]),
        ("b", vec![0.0, 10.0, 5.0, 3.1]),
    ]);
    let target = Target::Regression(vec![0.0, 1.0, 2.0, 3.0]);
    let p = ["metric=cosine", "k=2", "standardize=false"];
    let model = fit_with(&Knn, &x, target, &p, 0).unwrap();
    let probe = floats(&[("a", vec![0.5]), ("b", vec![0.5])]);
    let Predictions::Regression { values } = model.predict(&probe).unwrap() else {
        panic!()
    };
    assert!((values[0] - 2.0).abs() < 1e-12, "{values:?}");
}

#[test]
fn ivf_agrees_with_exact_when_probing_enough_lists() {
    let n = 3000;
    let g = gaussian(n, 4, 3);
    let x = floats(&[
        ("a", g[0].clone()),
        ("b", g[1].clone()),
        ("c", g[2].clone()),
        ("d", g[3].clone()),
    ]);
    let target = Target::Regression(g[0].iter().zip(&g[1]).map(|(a, b)| a * b).collect());
    let exact = fit_with(&Knn, &x, target.clone(), &["index_type=exact"], 1).unwrap();
    let all = ["index_type=ivf", "nlist=20", "nprobe=20"];
    let ivf_all = fit_with(&Knn, &x, target.clone(), &all, 1).unwrap();
    let probe = floats(&[
        ("a", g[3][..200].to_vec()),
        ("b", g[2][..200].to_vec()),
        ("c", g[1][..200].to_vec()),
        ("d", g[0][..200].to_vec()),
    ]);
    assert_eq!(
        exact.predict(&probe).unwrap(),
        ivf_all.predict(&probe).unwrap()
    );
    let few = ["index_type=ivf", "nlist=20", "nprobe=3"];
    let ivf_few = fit_with(&Knn, &x, target, &few, 1).unwrap();
    let (Predictions::Regression { values: e }, Predictions::Regression { values: f }) = (
        exact.predict(&probe).unwrap(),
        ivf_few.predict(&probe).unwrap(),
    ) else {
        panic!()
    };
    let same = e.iter().zip(&f).filter(|(a, b)| a == b).count();
    assert!(
        same > 120,
        "approximate search should mostly agree: {same}/200"
    );
    let reloaded = reload(&Knn, ivf_few.as_ref());
    assert_eq!(
        reloaded.predict(&probe).unwrap(),
        ivf_few.predict(&probe).unwrap()
    );
    assert_eq!(reloaded.payload(), ivf_few.payload());
}

#[test]
fn needs_a_target_and_valid_hyperparameters() {
    let (x, target) = grid();
    let none = Target::Unsupervised { rows: 400 };
    let err = fit_with(&Knn, &x, none, &[], 0).err().unwrap().to_string();
    assert!(err.contains("target"), "{err}");
    for (p, name) in [
        ("k=0", "k"),
        ("metric=hamming", "metric"),
        ("index_type=hnsw", "index_type"),
        ("nlist=1000", "nlist"),
    ] {
        let params = [p, "index_type=ivf"];
        let params: &[&str] = if name == "index_type" { &[p] } else { &params };
        let err = fit_with(&Knn, &x, target.clone(), params, 0)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(name), "{p}: {err}");
    }
}
