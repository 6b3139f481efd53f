//! Tests of `factorization-machines` through the trait.

use ingot_algo::{Predictions, Target};

use super::*;
use crate::testing::{fit_with, hp, reload, strings};

/// Users × items where the outcome is a pure interaction: users and items each have a hidden
/// side (±1) and the outcome is their product; no user or item alone predicts anything.
fn interactions(pairs: &[(usize, usize)]) -> (RecordBatch, Vec<f64>) {
    let users: Vec<String> = pairs.iter().map(|(u, _)| format!("u{u}")).collect();
    let items: Vec<String> = pairs.iter().map(|(_, i)| format!("i{i}")).collect();
    let side = |k: usize| if (k * 7).is_multiple_of(3) { 1.0 } else { -1.0 };
    let y = pairs.iter().map(|&(u, i)| side(u) * side(i)).collect();
    let batch = strings(&[
        ("user", users.iter().map(|s| Some(s.as_str())).collect()),
        ("item", items.iter().map(|s| Some(s.as_str())).collect()),
    ]);
    (batch, y)
}

type Pairs = Vec<(usize, usize)>;

fn split() -> (Pairs, Pairs) {
    let mut train = Vec::new();
    let mut test = Vec::new();
    for u in 0..40usize {
        for i in 0..30 {
            if (u * 31 + i * 17).is_multiple_of(5) {
                test.push((u, i));
            } else {
                train.push((u, i));
            }
        }
    }
    (train, test)
}

#[test]
fn learns_user_item_interactions_for_classification_and_regression() {
    let (train, test) = split();
    let (x, y) = interactions(&train);
    let (tx, ty) = interactions(&test);
    let labels: Vec<usize> = y.iter().map(|v| usize::from(*v > 0.0)).collect();
    let target = Target::Classification {
        classes: vec!["no".into(), "yes".into()],
        labels,
    };
    let params = ["num_factors=4", "epochs=30", "learning_rate=0.05"];
    let model = fit_with(&FactorizationMachines, &x, target, &params, 1).unwrap();
    let predicted = model
        .predict(&tx)
        .unwrap()
        .predicted_labels()
        .unwrap()
        .iter()
        .map(|l| *l == "yes")
        .collect::<Vec<_>>();
    let correct = predicted
        .iter()
        .zip(&ty)
        .filter(|(p, y)| **p == (**y > 0.0))
        .count();
    assert!(
        correct as f64 > 0.9 * ty.len() as f64,
        "{correct}/{}",
        ty.len()
    );

    let model = fit_with(
        &FactorizationMachines,
        &x,
        Target::Regression(y),
        &params,
        1,
    )
    .unwrap();
    let Predictions::Regression { values } = model.predict(&tx).unwrap() else {
        panic!()
    };
    let mse = values
        .iter()
        .zip(&ty)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / ty.len() as f64;
    assert!(mse < 0.2, "held-out MSE {mse} (predicting 0 gives 1)");
    let reloaded = reload(&FactorizationMachines, model.as_ref());
    assert_eq!(reloaded.predict(&tx).unwrap(), model.predict(&tx).unwrap());
}

#[test]
fn sgd_deterministic_and_unseen_categories() {
    let (train, _) = split();
    let (x, y) = interactions(&train);
    let params = ["optimizer=sgd", "epochs=3", "learning_rate=0.05"];
    let a = fit_with(
        &FactorizationMachines,
        &x,
        Target::Regression(y.clone()),
        &params,
        5,
    )
    .unwrap();
    let b = fit_with(
        &FactorizationMachines,
        &x,
        Target::Regression(y),
        &params,
        5,
    )
    .unwrap();
    assert_eq!(a.payload(), b.payload());
    let unseen = strings(&[
        ("user", vec![Some("nobody"), None]),
        ("item", vec![Some("i1"), Some("zzz")]),
    ]);
    let Predictions::Regression { values } = a.predict(&unseen).unwrap() else {
        panic!()
    };
    assert!(values.iter().all(|v| v.is_finite()));
}

#[test]
fn rejects_multiclass_and_bad_hyperparameters() {
    let (train, _) = split();
    let (x, _) = interactions(&train);
    let three = Target::Classification {
        classes: vec!["a".into(), "b".into(), "c".into()],
        labels: (0..train.len()).map(|i| i % 3).collect(),
    };
    let err = fit_with(&FactorizationMachines, &x, three, &[], 0)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("3 classes"), "{err}");
    let y = Target::Regression(vec![0.0; train.len()]);
    for (p, name) in [
        ("num_factors=0", "num_factors"),
        ("optimizer=lbfgs", "optimizer"),
        ("learning_rate=0", "learning_rate"),
    ] {
        let err = fit_with(&FactorizationMachines, &x, y.clone(), &[p], 0)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(name), "{err}");
    }
    assert!(hp(&["epochs=2"]).get("epochs").is_some());
}
