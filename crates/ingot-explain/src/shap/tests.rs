//! KernelSHAP against closed forms: the linear model's exact SHAP values, exact Shapley values by
//! full subset enumeration, efficiency, and determinism across seeds and thread counts.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn random_matrix(rows: usize, cols: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows * cols).map(|_| rng.gen_range(-2.0..2.0)).collect()
}

/// A model from a per-row function.
fn rowwise(
    f: impl Fn(&[f64]) -> f64 + Sync,
    m: usize,
) -> impl Fn(&[f64], usize) -> Vec<f64> + Sync {
    move |data: &[f64], rows: usize| (0..rows).map(|r| f(&data[r * m..(r + 1) * m])).collect()
}

fn nonlinear(x: &[f64]) -> f64 {
    x[0] * x[1] + (x[2]).sin() * x[3] + x[4].max(0.0) * x[0] - 0.5 * x[5] * x[5]
        + x[1] * x[4] * x[5]
}

/// Exact interventional Shapley values by enumerating every subset:
/// `φ_j = Σ_{S ⊆ N∖{j}} |S|! (M−|S|−1)! / M! · (v(S ∪ {j}) − v(S))`, with
/// `v(S) = Σ_b w_b f(x_S, background_b)`.
fn exact_shapley(f: &dyn Fn(&[f64]) -> f64, bg: &Background, x: &[f64]) -> Vec<f64> {
    let m = x.len();
    let value = |set: usize| -> f64 {
        (0..bg.rows())
            .map(|b| {
                let mut z = bg.data()[b * m..(b + 1) * m].to_vec();
                for j in 0..m {
                    if set & (1 << j) != 0 {
                        z[j] = x[j];
                    }
                }
                bg.weights()[b] * f(&z)
            })
            .sum()
    };
    let values: Vec<f64> = (0..1usize << m).map(value).collect();
    let factorial = |n: usize| (1..=n).map(|i| i as f64).product::<f64>();
    (0..m)
        .map(|j| {
            (0..1usize << m)
                .filter(|s| s & (1 << j) == 0)
                .map(|s| {
                    let size = s.count_ones() as usize;
                    let weight = factorial(size) * factorial(m - size - 1) / factorial(m);
                    weight * (values[s | (1 << j)] - values[s])
                })
                .sum()
        })
        .collect()
}

#[test]
fn linear_model_gets_its_exact_shap_values() {
    // f(x) = w·x + b: φ_j = w_j (x_j − E_bg[x_j]), whatever the other features do.
    let m = 5;
    let w = [1.5, -2.0, 0.25, 3.0, -0.75];
    let b = 0.3;
    let model = rowwise(|x| b + x.iter().zip(&w).map(|(x, w)| x * w).sum::<f64>(), m);
    let bg = Background::new(random_matrix(7, m, 1), m).unwrap();
    let x = random_matrix(4, m, 2);
    let e = kernel_shap(&model, &bg, &x, &KernelShapConfig::default()).unwrap();
    let means: Vec<f64> = (0..m)
        .map(|j| (0..7).map(|r| bg.data()[r * m + j]).sum::<f64>() / 7.0)
        .collect();
    for r in 0..4 {
        for j in 0..m {
            let expected = w[j] * (x[r * m + j] - means[j]);
            let got = e.value(r, j, 0);
            assert!(
                (got - expected).abs() < 1e-9,
                "row {r} feature {j}: {got} vs {expected}"
            );
        }
    }
    // A weighted background moves the expectation to the weighted mean.
    let weights = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    let weighted = Background::weighted(bg.data().to_vec(), m, weights.clone()).unwrap();
    let e = kernel_shap(&model, &weighted, &x[..m], &KernelShapConfig::default()).unwrap();
    for j in 0..m {
        let mean: f64 = (0..7)
            .map(|r| weights[r] * bg.data()[r * m + j])
            .sum::<f64>()
            / weights.iter().sum::<f64>();
        let expected = w[j] * (x[j] - mean);
        assert!((e.value(0, j, 0) - expected).abs() < 1e-9);
    }
}

#[test]
fn full_enumeration_equals_exact_shapley_values() {
    let m = 6;
    let model = rowwise(nonlinear, m);
    let bg = Background::new(random_matrix(5, m, 3), m).unwrap();
    let x = random_matrix(3, m, 4);
    let e = kernel_shap(&model, &bg, &x, &KernelShapConfig::default()).unwrap();
    for r in 0..3 {
        let exact = exact_shapley(&nonlinear, &bg, &x[r * m..(r + 1) * m]);
        for (j, want) in exact.iter().enumerate() {
            let got = e.value(r, j, 0);
            assert!(
                (got - want).abs() < 1e-9,
                "row {r} feature {j}: {got} vs {want}"
            );
        }
    }
    // 8 features, one of which equals the background everywhere (its Shapley value is 0).
    let m = 8;
    let f = |x: &[f64]| nonlinear(&x[..6]) + x[6] * x[7] - x[7];
    let mut data = random_matrix(4, m, 5);
    for r in 0..4 {
        data[r * m + 6] = 1.0;
    }
    let bg = Background::new(data, m).unwrap();
    let mut x = random_matrix(1, m, 6);
    x[6] = 1.0;
    let e = kernel_shap(rowwise(f, m), &bg, &x, &KernelShapConfig::default()).unwrap();
    let exact = exact_shapley(&f, &bg, &x);
    assert_eq!(e.value(0, 6, 0), 0.0);
    for (j, want) in exact.iter().enumerate() {
        assert!((e.value(0, j, 0) - want).abs() < 1e-9, "feature {j}");
    }
}

#[test]
fn sampled_values_are_efficient_and_multi_output() {
    // 12 features and a budget far below 2^12 − 2: values still sum to f(x) − E[f(bg)].
    let m = 12;
    let model = |data: &[f64], rows: usize| -> Vec<f64> {
        (0..rows)
            .flat_map(|r| {
                let x = &data[r * m..(r + 1) * m];
                let a = nonlinear(&x[..6]) + x[6..].iter().map(|v| v * v).sum::<f64>();
                [a, (x[0] + x[11]).tanh()]
            })
            .collect()
    };
    let bg = Background::new(random_matrix(6, m, 7), m).unwrap();
    let x = random_matrix(3, m, 8);
    let config = KernelShapConfig {
        nsamples: Some(300),
        seed: 11,
    };
    let e = kernel_shap(model, &bg, &x, &config).unwrap();
    assert_eq!(e.outputs, 2);
    for r in 0..3 {
        for d in 0..2 {
            let sum: f64 = (0..m).map(|j| e.value(r, j, d)).sum();
            let target = e.predictions[r * 2 + d] - e.expected_value[d];
            assert!(
                (sum - target).abs() < 1e-9,
                "row {r} output {d}: {sum} vs {target}"
            );
        }
    }
    // φ₀ is the background mean of the model.
    let out = model(bg.data(), 6);
    let mean0 = (0..6).map(|b| out[b * 2]).sum::<f64>() / 6.0;
    assert!((e.expected_value[0] - mean0).abs() < 1e-12);
    // Global importance is the mean |φ|.
    let global = e.global_importance();
    let expected = (0..3).map(|r| e.value(r, 4, 1).abs()).sum::<f64>() / 3.0;
    assert!((global[4 * 2 + 1] - expected).abs() < 1e-15);
}

#[test]
fn results_depend_on_the_seed_but_not_the_thread_count() {
    let m = 10;
    let model = rowwise(|x| nonlinear(&x[..6]) * x[8] + x[9], m);
    let bg = Background::new(random_matrix(4, m, 9), m).unwrap();
    let x = random_matrix(6, m, 10);
    let config = KernelShapConfig {
        nsamples: Some(120),
        seed: 5,
    };
    let run = |threads: usize, config: &KernelShapConfig| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| kernel_shap(&model, &bg, &x, config).unwrap())
    };
    let one = run(1, &config);
    assert_eq!(one, run(4, &config));
    let other = run(2, &KernelShapConfig { seed: 6, ..config });
    assert_ne!(one.values, other.values);
}

#[test]
fn degenerate_inputs() {
    let m = 3;
    let model = rowwise(|x| x[0] + 2.0 * x[1] * x[2], m);
    let bg = Background::new(vec![1.0, 2.0, 3.0], m).unwrap();
    // Nothing varies: all zero. Only feature 1 varies: it gets f(x) − f(bg) = 2·(5 − 2)·3.
    let e = kernel_shap(
        &model,
        &bg,
        &[1.0, 2.0, 3.0, 1.0, 5.0, 3.0],
        &KernelShapConfig::default(),
    )
    .unwrap();
    assert_eq!(&e.values[..3], &[0.0, 0.0, 0.0]);
    assert_eq!(&e.values[3..], &[0.0, 18.0, 0.0]);
    assert!(kernel_shap(&model, &bg, &[1.0, 2.0], &KernelShapConfig::default()).is_err());
    // Three outputs for the one background row, but three values for two explained rows too.
    let bad = |_: &[f64], _: usize| vec![0.0; 3];
    assert!(matches!(
        kernel_shap(
            bad,
            &bg,
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            &KernelShapConfig::default()
        ),
        Err(Error::Model(_))
    ));
}
