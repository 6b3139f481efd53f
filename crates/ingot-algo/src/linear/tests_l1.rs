//! Tests of the linear learner's L1 / elastic-net (OWL-QN), class-weight and SGD extensions:
//! optimality (KKT) conditions of the penalized objective, sparsity, weighting, determinism.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::objective::{Objective, Parallelism, Response};
use super::*;
use crate::Predictions;

fn fit(data: &TrainingData, pairs: &[&str], seed: u64) -> Result<LinearModel> {
    let hp = Hyperparameters::parse_pairs(pairs.iter().copied())?;
    let params = LinearParams::from_hyperparameters(&hp)?;
    let cancel = AtomicBool::new(false);
    let mut sink = |_e: TrainEvent| {};
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 1,
        seed,
        events: &mut sink,
    };
    fit_linear(data, &params, &mut ctx)
}

/// `columns` features of which only the first three matter.
fn features(rows: usize, columns: usize, seed: u64) -> (RecordBatch, Vec<Vec<f64>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cols: Vec<Vec<f64>> = (0..columns)
        .map(|_| (0..rows).map(|_| rng.gen_range(-2.0..2.0)).collect())
        .collect();
    let batch = RecordBatch::try_from_iter(cols.iter().enumerate().map(|(j, v)| {
        (
            format!("x{j}"),
            Arc::new(Float64Array::from(v.clone())) as ArrayRef,
        )
    }))
    .unwrap();
    (batch, cols)
}

fn regression_data(seed: u64) -> TrainingData {
    let (batch, cols) = features(300, 8, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    let y = (0..300)
        .map(|i| 3.0 * cols[0][i] - 2.0 * cols[1][i] + 0.5 * cols[2][i] + rng.gen_range(-0.5..0.5))
        .collect();
    TrainingData {
        features: batch,
        target: Target::Regression(y),
    }
}

fn classification_data(seed: u64, classes: usize, rows: usize) -> TrainingData {
    let (batch, cols) = features(rows, 6, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    let labels = (0..rows)
        .map(|i| {
            let z = 1.5 * cols[0][i] - cols[1][i] + rng.gen_range(-1.0..1.0);
            if classes == 2 {
                usize::from(z > 0.0)
            } else {
                usize::from(z > -1.0) + usize::from(z > 1.0)
            }
        })
        .collect();
    TrainingData {
        features: batch,
        target: Target::Classification {
            classes: (0..classes).map(|c| format!("c{c}")).collect(),
            labels,
        },
    }
}

/// Checks the subgradient optimality conditions of `loss + l1|w| + l2/2 |w|^2` at the model:
/// `|∂_j| <= l1` where `w_j = 0`, `∂_j + l1 sign(w_j) = 0` elsewhere, intercept gradient 0.
fn assert_kkt(model: &LinearModel, data: &TrainingData, l1: f64, l2: f64) {
    let x = model.preprocessor.transform(&data.features).unwrap();
    let binary: Vec<f64>;
    let response = match &data.target {
        Target::Regression(y) => Response::Squared(y),
        Target::Classification { classes, labels } if classes.len() == 2 => {
            binary = labels.iter().map(|&l| l as f64).collect();
            Response::Logistic(&binary)
        }
        Target::Classification { classes, labels } => Response::Softmax {
            labels,
            classes: classes.len(),
        },
        Target::Unsupervised { .. } => unreachable!(),
    };
    let objective = Objective {
        x: &x,
        response,
        l2,
        sample_weights: None,
        parallelism: Parallelism::Sequential,
    };
    let theta: Vec<f64> = model
        .weights
        .iter()
        .chain(&model.intercepts)
        .copied()
        .collect();
    let mut grad = vec![0.0; theta.len()];
    objective.value_and_gradient(&theta, &mut grad);
    let weights = model.weights.len();
    for (j, (&w, &g)) in theta.iter().zip(&grad).enumerate() {
        let violation = if j >= weights {
            g.abs()
        } else if w == 0.0 {
            (g.abs() - l1).max(0.0)
        } else {
            (g + l1 * w.signum()).abs()
        };
        assert!(violation < 1e-6, "coordinate {j}: w {w} gradient {g}");
    }
}

const TIGHT: [&str; 2] = ["tol=1e-10", "max_iter=5000"];

#[test]
fn lasso_regression_is_optimal_and_sparse() {
    let data = regression_data(1);
    let model = fit(&data, &["l1=0.1", "l2=0", TIGHT[0], TIGHT[1]], 0).unwrap();
    assert_kkt(&model, &data, 0.1, 0.0);
    // Five pure-noise features: most are exactly zero; the three real ones are not.
    assert!(
        model.weights[..3].iter().all(|w| w.abs() > 0.1),
        "{model:?}"
    );
    let zeros = model.weights[3..].iter().filter(|w| **w == 0.0).count();
    assert!(zeros >= 4, "{:?}", model.weights);
}

#[test]
fn elastic_net_logistic_is_optimal() {
    for classes in [2, 3] {
        let data = classification_data(2, classes, 400);
        let pairs = ["l1=0.02", "l2=0.01", "solver=owlqn", TIGHT[0], TIGHT[1]];
        let model = fit(&data, &pairs, 0).unwrap();
        assert_kkt(&model, &data, 0.02, 0.01);
        assert!(model.weights.contains(&0.0), "{:?}", model.weights);
    }
}

#[test]
fn owlqn_without_l1_agrees_with_lbfgs() {
    let data = classification_data(3, 2, 300);
    let a = fit(&data, &["solver=lbfgs", TIGHT[0], TIGHT[1]], 0).unwrap();
    let b = fit(&data, &["solver=owlqn", TIGHT[0], TIGHT[1]], 0).unwrap();
    for (p, q) in a.weights.iter().zip(&b.weights) {
        assert!((p - q).abs() < 1e-6, "{p} vs {q}");
    }
}

#[test]
fn balanced_class_weights_equal_their_explicit_values() {
    let mut data = classification_data(4, 2, 400);
    // Make class c1 rare: relabel most of it as c0.
    if let Target::Classification { labels, .. } = &mut data.target {
        for (i, l) in labels.iter_mut().enumerate() {
            if *l == 1 && i % 4 != 0 {
                *l = 0;
            }
        }
    }
    let Target::Classification { labels, .. } = &data.target else {
        unreachable!()
    };
    let n = labels.len() as f64;
    let ones = labels.iter().filter(|&&l| l == 1).count() as f64;
    let explicit = format!(
        "class_weights=c0:{},c1:{}",
        n / (2.0 * (n - ones)),
        n / (2.0 * ones)
    );
    let balanced = fit(&data, &["class_weights=balanced"], 0).unwrap();
    let by_hand = fit(&data, &[explicit.as_str()], 0).unwrap();
    for (p, q) in balanced.weights.iter().zip(&by_hand.weights) {
        assert!((p - q).abs() < 1e-9, "{p} vs {q}");
    }
    // Balancing predicts the rare class more often than the unweighted fit.
    let plain = fit(&data, &[], 0).unwrap();
    let positives = |m: &LinearModel| {
        let p = m.predict(&data.features).unwrap();
        p.predicted_indices()
            .unwrap()
            .iter()
            .filter(|&&i| i == 1)
            .count()
    };
    assert!(positives(&balanced) > positives(&plain));
}

#[test]
fn class_weight_errors_name_the_parameter() {
    let data = classification_data(5, 2, 50);
    let err = fit(&data, &["class_weights=c9:2"], 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("class_weights") && err.contains("c9"), "{err}");
    let err = fit(&data, &["class_weights=c0:abc"], 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("class_weights"), "{err}");
    let err = fit(&regression_data(5), &["class_weights=balanced"], 0).unwrap_err();
    assert!(err.to_string().contains("class_weights"), "{err}");
    for (pair, name) in [
        ("solver=newton", "solver"),
        ("l1=-1", "l1"),
        ("epochs=0", "epochs"),
        ("learning_rate=0", "learning_rate"),
        ("batch_size=x", "batch_size"),
    ] {
        let err = fit(&data, &[pair], 0).unwrap_err().to_string();
        assert!(err.contains(name), "{pair}: {err}");
    }
    let err = fit(&data, &["solver=lbfgs", "l1=0.1"], 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("solver"), "{err}");
}

#[test]
fn sgd_approaches_the_full_batch_optimum_deterministically() {
    let data = classification_data(6, 2, 20_000);
    let exact = fit(&data, &["l2=0.001", TIGHT[0], TIGHT[1]], 0).unwrap();
    let sgd_pairs = ["l2=0.001", "solver=sgd", "epochs=10", "batch_size=64"];
    let sgd = fit(&data, &sgd_pairs, 7).unwrap();
    let probabilities = |m: &LinearModel| match m.predict(&data.features).unwrap() {
        Predictions::Classification { probabilities, .. } => probabilities,
        other => panic!("{other:?}"),
    };
    let (p, q) = (probabilities(&exact), probabilities(&sgd));
    let worst = p
        .iter()
        .zip(&q)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 0.05, "sgd probabilities differ by up to {worst}");
    assert_eq!(fit(&data, &sgd_pairs, 7).unwrap(), sgd);
    assert_ne!(fit(&data, &sgd_pairs, 8).unwrap().weights, sgd.weights);
}

#[test]
fn sgd_with_l1_zeroes_noise_features() {
    let data = regression_data(9);
    let pairs = [
        "l1=0.2",
        "l2=0",
        "solver=sgd",
        "epochs=50",
        "batch_size=32",
        "learning_rate=0.1",
    ];
    let model = fit(&data, &pairs, 0).unwrap();
    assert!(
        model.weights[..2].iter().all(|w| w.abs() > 1.0),
        "{model:?}"
    );
    let zeros = model.weights[3..].iter().filter(|w| **w == 0.0).count();
    assert!(zeros >= 3, "{:?}", model.weights);
}

#[test]
fn payloads_without_the_new_parameters_still_load() {
    let data = classification_data(10, 2, 60);
    let model = fit(&data, &[], 0).unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&model.payload()).unwrap();
    let params = value["params"].as_object_mut().unwrap();
    for key in [
        "l1",
        "solver",
        "class_weights",
        "epochs",
        "batch_size",
        "learning_rate",
    ] {
        assert!(params.remove(key).is_some(), "{key}");
    }
    let old = serde_json::to_vec(&value).unwrap();
    let revived = LinearModel::from_payload(&old).unwrap();
    assert_eq!(revived, model);
}

#[test]
fn ridge_by_normal_equations_is_the_optimum() {
    let data = regression_data(11);
    let exact = fit(&data, &["l2=0.05"], 0).unwrap();
    assert_kkt(&exact, &data, 0.0, 0.05);
    let iterative = fit(&data, &["l2=0.05", "solver=lbfgs", TIGHT[0], TIGHT[1]], 0).unwrap();
    for (p, q) in exact.weights.iter().zip(&iterative.weights) {
        assert!((p - q).abs() < 1e-7, "{p} vs {q}");
    }
    // Collinear columns without a penalty make the system singular: L-BFGS takes over.
    let mut twin = data.clone();
    let column = twin.features.column(0).clone();
    let mut columns = twin.features.columns().to_vec();
    columns.push(column);
    let mut fields: Vec<_> = twin.features.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(arrow_schema::Field::new(
        "twin",
        arrow_schema::DataType::Float64,
        true,
    )));
    twin.features =
        RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), columns).unwrap();
    let model = fit(&twin, &["l2=0", TIGHT[0], TIGHT[1]], 0).unwrap();
    assert!(model.weights.iter().all(|w| w.is_finite()));
}
