//! KernelSHAP against the `shap` library's `KernelExplainer` on the same models, backgrounds and
//! rows, with budgets that enumerate every coalition (`2^M − 2`), where both answers are the
//! exact Shapley values and must agree to 1e-8. `l1_reg=False` on the peer's side, as this crate
//! does no L1 feature selection. Smaller budgets are checked to enumerate the same coalitions
//! with the same weights before drawing the rest. Runs when `INGOT_PEER_PYTHON` names a Python
//! with `shap` and numpy; otherwise it says it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use ingot_explain::shap::{coalition_plan, kernel_shap, Background, KernelShapConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

const TOLERANCE: f64 = 1e-8;

fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("INGOT_PEER_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!("skipped: INGOT_PEER_PYTHON is not set (shap peer unavailable)");
            None
        }
    }
}

/// Runs the peer script on the cases and returns its answers, one per case.
fn ask_peer(python: &Path, cases: &[Value]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(cases).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/kernel_shap.py");
    let output = Command::new(python)
        .arg(script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(results.len(), cases.len());
    results
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn nonlinear(x: &[f64]) -> f64 {
    x[0] * x[1] + x[2].sin() * x[3] + x[4].max(0.0) * x[0] - 0.5 * x[5] * x[5] + x[1] * x[4] * x[5]
}

fn model(name: &str, x: &[f64]) -> f64 {
    match name {
        "nonlinear" => nonlinear(x),
        "nonlinear7" => nonlinear(x) + (x[6] * x[0]).tanh(),
        "linear" => {
            0.3 + [1.5, -2.0, 0.25, 3.0, -0.75]
                .iter()
                .zip(x)
                .map(|(w, x)| w * x)
                .sum::<f64>()
        }
        other => panic!("unknown model {other}"),
    }
}

fn matrix(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    // Quarter steps, so some explained values coincide with background values.
    (0..rows * cols)
        .map(|_| f64::from(rng.gen_range(-8..=8)) / 4.0)
        .collect()
}

#[test]
fn full_enumeration_matches_shap_kernel_explainer() {
    let Some(python) = peer_python() else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(2017);
    let specs = [
        ("linear", 5, 6, 3),
        ("nonlinear", 6, 5, 4),
        ("nonlinear", 6, 12, 2),
        ("nonlinear7", 7, 8, 3),
    ];
    let mut cases = Vec::new();
    for (name, m, bg_rows, rows) in specs {
        let mut background = matrix(bg_rows, m, &mut rng);
        let mut x = matrix(rows, m, &mut rng);
        // Feature 2 is constant in the background and takes that value in the first explained
        // row, where it cannot vary (both sides give it 0 and leave it out of the coalitions).
        for r in 0..bg_rows {
            background[r * m + 2] = 0.5;
        }
        x[2] = 0.5;
        cases.push(json!({
            "model": name,
            "features": m,
            "background": background,
            "x": x,
            "nsamples": (1usize << m) - 2,
        }));
    }
    let results = ask_peer(&python, &cases);
    for (case, theirs) in cases.iter().zip(&results) {
        let name = case["model"].as_str().unwrap().to_string();
        let m = case["features"].as_u64().unwrap() as usize;
        let background = Background::new(numbers(&case["background"]), m).unwrap();
        let x = numbers(&case["x"]);
        let f = |data: &[f64], rows: usize| -> Vec<f64> {
            (0..rows)
                .map(|r| model(&name, &data[r * m..(r + 1) * m]))
                .collect()
        };
        let config = KernelShapConfig {
            nsamples: Some((1 << m) - 2),
            seed: 0,
        };
        let ours = kernel_shap(f, &background, &x, &config).unwrap();
        let expected = theirs["expected_value"].as_f64().unwrap();
        assert!(
            (ours.expected_value[0] - expected).abs() <= TOLERANCE,
            "{name}: φ₀ {} vs shap {expected}",
            ours.expected_value[0]
        );
        let theirs = numbers(&theirs["values"]);
        assert_eq!(ours.values.len(), theirs.len(), "{name}");
        for (i, (a, b)) in ours.values.iter().zip(&theirs).enumerate() {
            assert!(
                (a - b).abs() <= TOLERANCE * b.abs().max(1.0),
                "{name} row {} feature {}: ingot {a} vs shap {b}",
                i / m,
                i % m
            );
        }
    }
}

#[test]
fn partial_budgets_enumerate_the_same_coalitions_as_shap() {
    let Some(python) = peer_python() else {
        return;
    };
    // Budgets below 2^M − 2: the enumerated coalition sizes (and their order and weights) must
    // be shap's; the drawn remainder uses a different generator, so only its size is compared.
    let specs = [(12usize, 2 * 12 + 2048), (9, 100), (11, 300), (16, 400)];
    let cases: Vec<Value> = specs
        .iter()
        .map(|&(m, n)| json!({"plan": true, "features": m, "nsamples": n}))
        .collect();
    let results = ask_peer(&python, &cases);
    for (&(m, n), theirs) in specs.iter().zip(&results) {
        let plan = coalition_plan(m, n, 0).unwrap();
        let masks: Vec<f64> = numbers(&theirs["masks"]);
        let weights: Vec<f64> = numbers(&theirs["weights"]);
        assert_eq!(plan.len(), weights.len(), "m {m} n {n}: coalition count");
        assert!(plan.enumerated > 0, "m {m} n {n}");
        for i in 0..plan.enumerated {
            let ours: Vec<f64> = plan
                .mask(i)
                .iter()
                .map(|&b| f64::from(u8::from(b)))
                .collect();
            assert_eq!(
                ours,
                masks[i * m..(i + 1) * m],
                "m {m} n {n}: coalition {i}"
            );
            let (a, b) = (plan.weights[i], weights[i]);
            assert!(
                (a - b).abs() <= 1e-14 * b,
                "m {m} n {n}: weight {i}: {a} vs {b}"
            );
        }
        let drawn: f64 = plan.weights[plan.enumerated..].iter().sum();
        let theirs_drawn: f64 = weights[plan.enumerated..].iter().sum();
        assert!((drawn - theirs_drawn).abs() < 1e-12, "m {m} n {n}");
    }
}
