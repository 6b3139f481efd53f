//! Tests of the linear learner: gradient correctness, optimality, and learning behaviour.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::objective::{Objective, Parallelism, Response};
use super::*;
use crate::preprocess::Matrix;
use crate::Predictions;

fn random_matrix(rows: usize, cols: usize, seed: u64) -> Matrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Matrix {
        rows,
        cols,
        data: (0..rows * cols).map(|_| rng.gen_range(-2.0..2.0)).collect(),
    }
}

fn check_gradient(objective: &Objective, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let theta: Vec<f64> = (0..objective.dimension())
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let mut grad = vec![0.0; theta.len()];
    objective.value_and_gradient(&theta, &mut grad);
    let mut scratch = vec![0.0; theta.len()];
    for i in 0..theta.len() {
        let h = 1e-6;
        let mut plus = theta.clone();
        plus[i] += h;
        let mut minus = theta.clone();
        minus[i] -= h;
        let numeric = (objective.value_and_gradient(&plus, &mut scratch)
            - objective.value_and_gradient(&minus, &mut scratch))
            / (2.0 * h);
        assert!(
            (numeric - grad[i]).abs() < 1e-6 * (1.0 + numeric.abs()),
            "component {i}: analytic {} vs numeric {numeric}",
            grad[i]
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    let x = random_matrix(40, 3, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let real: Vec<f64> = (0..40).map(|_| rng.gen_range(-3.0..3.0)).collect();
    let binary: Vec<f64> = (0..40).map(|_| f64::from(rng.gen_range(0..2u8))).collect();
    let labels: Vec<usize> = (0..40).map(|_| rng.gen_range(0..4)).collect();
    let responses = [
        Response::Squared(&real),
        Response::Logistic(&binary),
        Response::Softmax {
            labels: &labels,
            classes: 4,
        },
    ];
    for (i, response) in responses.into_iter().enumerate() {
        let objective = Objective {
            x: &x,
            response,
            l2: 0.3,
            sample_weights: None,
            parallelism: Parallelism::Sequential,
        };
        check_gradient(&objective, 10 + i as u64);
    }
}

fn ctx_run<T>(f: impl FnOnce(&mut FitContext) -> T) -> T {
    let cancel = AtomicBool::new(false);
    let mut sink = |_e: TrainEvent| {};
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 1,
        seed: 0,
        events: &mut sink,
    };
    f(&mut ctx)
}

fn params(pairs: &[&str]) -> LinearParams {
    let hp = Hyperparameters::parse_pairs(pairs.iter().copied()).unwrap();
    LinearParams::from_hyperparameters(&hp).unwrap()
}

fn float_batch(columns: Vec<(&str, Vec<f64>)>) -> RecordBatch {
    RecordBatch::try_from_iter(
        columns
            .into_iter()
            .map(|(n, v)| (n, Arc::new(Float64Array::from(v)) as ArrayRef)),
    )
    .unwrap()
}

/// Two Gaussian-ish blobs in 2-D with some overlap.
fn blobs(n: usize, seed: u64) -> (RecordBatch, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut a, mut b, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let label = i % 2;
        let shift = if label == 1 { 1.5 } else { -1.5 };
        a.push(shift + rng.gen_range(-1.5..1.5));
        b.push(0.5 * shift + rng.gen_range(-2.0..2.0));
        labels.push(label);
    }
    (float_batch(vec![("a", a), ("b", b)]), labels)
}

fn classification(labels: Vec<usize>, k: usize) -> Target {
    Target::Classification {
        classes: (0..k).map(|c| c.to_string()).collect(),
        labels,
    }
}

#[test]
fn solution_has_near_zero_gradient() {
    let (features, labels) = blobs(300, 3);
    let data = TrainingData {
        features,
        target: classification(labels.clone(), 2),
    };
    let p = params(&["l2=0.01", "tol=1e-10", "max_iter=500"]);
    let model = ctx_run(|ctx| fit_linear(&data, &p, ctx)).unwrap();
    let x = model.preprocessor.transform(&data.features).unwrap();
    let y: Vec<f64> = labels.iter().map(|&l| l as f64).collect();
    let objective = Objective {
        x: &x,
        response: Response::Logistic(&y),
        l2: 0.01,
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
    let norm = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    assert!(norm < 1e-6, "gradient norm {norm}");
}

#[test]
fn learns_a_line() {
    let xs: Vec<f64> = (0..50).map(|i| i as f64 / 5.0).collect();
    let ys: Vec<f64> = xs.iter().map(|x| 2.0 * x + 1.0).collect();
    let data = TrainingData {
        features: float_batch(vec![("x", xs)]),
        target: Target::Regression(ys),
    };
    for standardize in ["true", "false"] {
        let p = params(&["l2=0", &format!("standardize={standardize}")]);
        let model = ctx_run(|ctx| fit_linear(&data, &p, ctx)).unwrap();
        let probe = float_batch(vec![("x", vec![0.0, 10.0, -3.0])]);
        let Predictions::Regression { values } = model.predict(&probe).unwrap() else {
            panic!("expected regression");
        };
        for (v, e) in values.iter().zip([1.0, 21.0, -5.0]) {
            assert!(
                (v - e).abs() < 1e-6,
                "{v} vs {e} (standardize={standardize})"
            );
        }
    }
}

#[test]
fn separates_binary_blobs() {
    let (features, labels) = blobs(400, 4);
    let data = TrainingData {
        features: features.clone(),
        target: classification(labels.clone(), 2),
    };
    let model = ctx_run(|ctx| fit_linear(&data, &params(&[]), ctx)).unwrap();
    let predictions = model.predict(&features).unwrap();
    let metrics = crate::evaluate(&data.target, &predictions);
    assert!(metrics.get("auc").unwrap() > 0.95, "{metrics:?}");
    assert!(metrics.get("accuracy").unwrap() > 0.85, "{metrics:?}");
}

#[test]
fn three_classes() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut a, mut b, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    let centers = [(0.0, 3.0), (-3.0, -2.0), (3.0, -2.0)];
    for i in 0..300 {
        let c = i % 3;
        a.push(centers[c].0 + rng.gen_range(-1.0..1.0));
        b.push(centers[c].1 + rng.gen_range(-1.0..1.0));
        labels.push(c);
    }
    let data = TrainingData {
        features: float_batch(vec![("a", a), ("b", b)]),
        target: classification(labels, 3),
    };
    let model = ctx_run(|ctx| fit_linear(&data, &params(&[]), ctx)).unwrap();
    assert_eq!(model.link, Link::Softmax);
    let predictions = model.predict(&data.features).unwrap();
    let metrics = crate::evaluate(&data.target, &predictions);
    assert!(metrics.get("accuracy").unwrap() > 0.97, "{metrics:?}");
    let Predictions::Classification { probabilities, .. } = &predictions else {
        panic!("expected classification");
    };
    for row in probabilities.chunks_exact(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}

#[test]
fn payload_round_trip_predicts_identically() {
    let (features, labels) = blobs(100, 6);
    let data = TrainingData {
        features: features.clone(),
        target: classification(labels, 2),
    };
    let model = ctx_run(|ctx| fit_linear(&data, &params(&[]), ctx)).unwrap();
    let revived = LinearModel::from_payload(&model.payload()).unwrap();
    assert_eq!(revived, model);
    assert_eq!(
        revived.predict(&features).unwrap(),
        model.predict(&features).unwrap()
    );
    assert!(LinearModel::from_payload(b"{\"nope\":1}").is_err());
}

#[test]
fn cancellation_returns_cancelled() {
    let (features, labels) = blobs(100, 7);
    let data = TrainingData {
        features,
        target: classification(labels, 2),
    };
    let cancel = AtomicBool::new(false);
    let mut seen = 0;
    let flag = &cancel;
    let mut sink = |e: TrainEvent| {
        if let TrainEvent::Progress { .. } = e {
            seen += 1;
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 1,
        seed: 0,
        events: &mut sink,
    };
    let result = LinearLearner.fit(&data, None, &Hyperparameters::new(), &mut ctx);
    assert!(matches!(result, Err(Error::Cancelled)));
    assert_eq!(seen, 1);
}

#[test]
fn unseen_categories_do_not_error() {
    let colors = [
        "red", "green", "blue", "red", "green", "blue", "red", "green",
    ];
    let labels: Vec<usize> = colors.iter().map(|c| usize::from(*c == "red")).collect();
    let features = RecordBatch::try_from_iter([
        (
            "color",
            Arc::new(StringArray::from(colors.to_vec())) as ArrayRef,
        ),
        ("x", Arc::new(Float64Array::from(vec![1.0; 8])) as ArrayRef),
    ])
    .unwrap();
    let data = TrainingData {
        features,
        target: classification(labels, 2),
    };
    for encoding in ["onehot", "ordinal"] {
        let p = params(&[&format!("encoding={encoding}")]);
        let model = ctx_run(|ctx| fit_linear(&data, &p, ctx)).unwrap();
        let probe = RecordBatch::try_from_iter([
            (
                "color",
                Arc::new(StringArray::from(vec![Some("purple"), None, Some("red")])) as ArrayRef,
            ),
            (
                "x",
                Arc::new(Float64Array::from(vec![1.0, 1.0, 1.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let predictions = model.predict(&probe).unwrap();
        assert_eq!(predictions.len(), 3);
        if encoding == "onehot" {
            assert_eq!(predictions.predicted_labels().unwrap()[2], "1");
        }
    }
}

#[test]
fn parallel_chunks_are_deterministic() {
    let n = 9000;
    let x = random_matrix(n, 4, 8);
    let y: Vec<f64> = (0..n)
        .map(|i| f64::from(u8::from(x.data[i * 4] > 0.0)))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let theta = vec![0.1, -0.2, 0.3, 0.05, 0.01];
    let run = |pool: Option<&rayon::ThreadPool>| {
        let objective = Objective {
            x: &x,
            response: Response::Logistic(&y),
            l2: 1e-3,
            sample_weights: None,
            parallelism: pool.map_or(Parallelism::Sequential, Parallelism::Pool),
        };
        let mut grad = vec![0.0; 5];
        let value = objective.value_and_gradient(&theta, &mut grad);
        (
            value.to_bits(),
            grad.iter().map(|g| g.to_bits()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(run(None), run(Some(&pool)));
    let objective = Objective {
        x: &x,
        response: Response::Logistic(&y),
        l2: 1e-3,
        sample_weights: None,
        parallelism: Parallelism::Global,
    };
    let mut grad = vec![0.0; 5];
    let value = objective.value_and_gradient(&theta, &mut grad);
    assert_eq!(run(None).0, value.to_bits());
}

#[test]
fn rejects_bad_hyperparameters() {
    let hp = Hyperparameters::parse_pairs(["l2=-1"]).unwrap();
    let err = LinearParams::from_hyperparameters(&hp).unwrap_err();
    assert!(err.to_string().contains("l2"), "{err}");
    let hp = Hyperparameters::parse_pairs(["momentum=1"]).unwrap();
    let err = LinearParams::from_hyperparameters(&hp)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("momentum") && err.contains("max_iter"),
        "{err}"
    );
    let hp = Hyperparameters::parse_pairs(["encoding=hash"]).unwrap();
    assert!(LinearParams::from_hyperparameters(&hp).is_err());
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting (small dense systems).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            let pivot_row = a[col].clone();
            for (v, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x
}

/// With default settings, the L-BFGS solution matches an independent Newton solve of the same
/// objective (what scikit-learn's LogisticRegression(C = 1 / (l2 n)) minimizes) to 1e-6.
#[test]
fn binary_solution_matches_newton_reference() {
    let (features, labels) = blobs(500, 9);
    let data = TrainingData {
        features,
        target: classification(labels.clone(), 2),
    };
    let l2 = 1e-3;
    let model = ctx_run(|ctx| fit_linear(&data, &params(&["l2=0.001"]), ctx)).unwrap();
    let x = model.preprocessor.transform(&data.features).unwrap();
    let (n, d) = (x.rows, x.cols);
    let y: Vec<f64> = labels.iter().map(|&l| l as f64).collect();
    let objective = Objective {
        x: &x,
        response: Response::Logistic(&y),
        l2,
        sample_weights: None,
        parallelism: Parallelism::Sequential,
    };
    let mut theta = vec![0.0; d + 1];
    let mut grad = vec![0.0; d + 1];
    for _ in 0..50 {
        objective.value_and_gradient(&theta, &mut grad);
        let mut hessian = vec![vec![0.0; d + 1]; d + 1];
        for i in 0..n {
            let row: Vec<f64> = x.row(i).iter().copied().chain([1.0]).collect();
            let z: f64 = row.iter().zip(&theta).map(|(a, b)| a * b).sum();
            let p = super::objective::sigmoid(z);
            let w = p * (1.0 - p) / n as f64;
            for a in 0..=d {
                for b in 0..=d {
                    hessian[a][b] += w * row[a] * row[b];
                }
            }
        }
        for (a, h) in hessian.iter_mut().enumerate().take(d) {
            h[a] += l2;
        }
        let step = solve(hessian, grad.clone());
        for (t, s) in theta.iter_mut().zip(step) {
            *t -= s;
        }
    }
    let fitted: Vec<f64> = model
        .weights
        .iter()
        .chain(&model.intercepts)
        .copied()
        .collect();
    for (a, b) in fitted.iter().zip(&theta) {
        assert!((a - b).abs() < 1e-6, "lbfgs {fitted:?} vs newton {theta:?}");
    }
}
