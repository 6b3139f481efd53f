//! Every metric against scikit-learn on the same seeded random inputs, to 1e-9, including the
//! edge cases (one class present, ties, zero division, constant targets, a label only
//! predicted). Runs when `INGOT_PEER_PYTHON` names a Python with scikit-learn and numpy
//! (`.ci/run` sets one up); otherwise it says it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use ingot_metrics as m;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

const TOLERANCE: f64 = 1e-9;

fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("INGOT_PEER_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!("skipped: INGOT_PEER_PYTHON is not set (scikit-learn peer unavailable)");
            None
        }
    }
}

/// A float from the peer's JSON, where non-finite values are strings.
fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "nan" => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        other => other
            .as_f64()
            .unwrap_or_else(|| panic!("not a number: {other}")),
    }
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(number)
        .collect()
}

fn same(what: &str, ours: f64, theirs: f64) {
    let ok = (ours.is_nan() && theirs.is_nan())
        || ours == theirs
        || (ours - theirs).abs() <= TOLERANCE * theirs.abs().max(1.0);
    assert!(ok, "{what}: ingot {ours} vs scikit-learn {theirs}");
}

fn same_all(what: &str, ours: &[f64], theirs: &[f64]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: {ours:?} vs {theirs:?}");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        same(&format!("{what}[{i}]"), *a, *b);
    }
}

fn ask_peer(python: &Path, cases: &[Value]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(cases).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/metrics.py");
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

/// Random labels, predictions and probabilities built from small integers (so rows sum to 1
/// and scores tie often).
fn classification_case(rng: &mut ChaCha8Rng, n: usize, k: usize) -> Value {
    let y_true: Vec<usize> = (0..n).map(|_| rng.gen_range(0..k)).collect();
    let y_pred: Vec<usize> = (0..n).map(|_| rng.gen_range(0..k)).collect();
    let mut probabilities = Vec::new();
    for _ in 0..n {
        let raw: Vec<f64> = (0..k).map(|_| f64::from(rng.gen_range(0..5u8))).collect();
        let sum: f64 = raw.iter().sum();
        if sum == 0.0 {
            probabilities.extend(std::iter::repeat_n(1.0 / k as f64, k));
        } else {
            probabilities.extend(raw.iter().map(|v| v / sum));
        }
    }
    json!({"kind": "classification", "y_true": y_true, "y_pred": y_pred, "classes": k,
           "probabilities": probabilities})
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn check_classification(case: &Value, peer: &Value) {
    let (y, p, k) = (
        usizes(&case["y_true"]),
        usizes(&case["y_pred"]),
        case["classes"].as_u64().unwrap() as usize,
    );
    same(
        "accuracy",
        m::accuracy(&y, &p).unwrap(),
        number(&peer["accuracy"]),
    );
    let mut averages = vec![
        ("micro", m::Average::Micro),
        ("macro", m::Average::Macro),
        ("weighted", m::Average::Weighted),
    ];
    if k == 2 {
        averages.push(("binary", m::Average::Binary { positive: 1 }));
    }
    for (name, average) in averages {
        let s = m::precision_recall_f1(&y, &p, average).unwrap();
        same(
            &format!("precision_{name}"),
            s.precision,
            number(&peer[format!("precision_{name}")]),
        );
        same(
            &format!("recall_{name}"),
            s.recall,
            number(&peer[format!("recall_{name}")]),
        );
        same(
            &format!("f1_{name}"),
            s.f1,
            number(&peer[format!("f1_{name}")]),
        );
    }
    let matrix = m::confusion_matrix(&y, &p, k).unwrap();
    assert_eq!(json!(matrix), peer["confusion_matrix"], "confusion matrix");
    let probabilities = numbers(&case["probabilities"]);
    same(
        "log_loss",
        m::log_loss(&y, &probabilities, k).unwrap(),
        number(&peer["log_loss"]),
    );
    if let Some(expected) = peer.get("roc_auc_ovr_macro") {
        let ours = m::roc_auc_ovr_macro(&y, &probabilities, k)
            .unwrap()
            .unwrap();
        same("roc_auc_ovr_macro", ours, number(expected));
    }
}

fn check_scores(case: &Value, peer: &Value) {
    let y: Vec<bool> = case["y_true"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let s = numbers(&case["scores"]);
    let auc = m::roc_auc(&y, &s).unwrap().unwrap_or(f64::NAN);
    same("roc_auc", auc, number(&peer["roc_auc"]));
    same(
        "average_precision",
        m::average_precision(&y, &s).unwrap(),
        number(&peer["average_precision"]),
    );
    same(
        "pr_auc",
        m::pr_auc(&y, &s).unwrap(),
        number(&peer["pr_auc"]),
    );
    let pr = m::precision_recall_curve(&y, &s).unwrap();
    same_all(
        "pr precision",
        &pr.precision,
        &numbers(&peer["pr_precision"]),
    );
    same_all("pr recall", &pr.recall, &numbers(&peer["pr_recall"]));
    same_all(
        "pr thresholds",
        &pr.thresholds,
        &numbers(&peer["pr_thresholds"]),
    );
    let roc = m::roc_curve(&y, &s).unwrap();
    same_all("roc fpr", &roc.fpr, &numbers(&peer["roc_fpr"]));
    same_all("roc tpr", &roc.tpr, &numbers(&peer["roc_tpr"]));
    same_all(
        "roc thresholds",
        &roc.thresholds,
        &numbers(&peer["roc_thresholds"]),
    );
}

fn check_regression(case: &Value, peer: &Value) {
    let (y, p) = (numbers(&case["y_true"]), numbers(&case["y_pred"]));
    same("mse", m::mse(&y, &p).unwrap(), number(&peer["mse"]));
    same("rmse", m::rmse(&y, &p).unwrap(), number(&peer["rmse"]));
    same("mae", m::mae(&y, &p).unwrap(), number(&peer["mae"]));
    same("mape", m::mape(&y, &p).unwrap(), number(&peer["mape"]));
    same("r2", m::r2(&y, &p).unwrap(), number(&peer["r2"]));
}

fn check_ranking(case: &Value, peer: &Value) {
    let (rel, sc) = (numbers(&case["relevance"]), numbers(&case["scores"]));
    let items = case["items"].as_u64().unwrap() as usize;
    let k = case["k"].as_u64().unwrap() as usize;
    same(
        "ndcg@k",
        m::ndcg_at_k(&rel, &sc, items, Some(k)).unwrap(),
        number(&peer["ndcg"]),
    );
    same(
        "ndcg",
        m::ndcg_at_k(&rel, &sc, items, None).unwrap(),
        number(&peer["ndcg_all"]),
    );
    same(
        "precision@k",
        m::precision_at_k(&rel, &sc, items, k).unwrap(),
        number(&peer["precision_at_k"]),
    );
    same(
        "mrr@k",
        m::mrr_at_k(&rel, &sc, items, k).unwrap(),
        number(&peer["mrr_at_k"]),
    );
}

fn check_clustering(case: &Value, peer: &Value) {
    let points = numbers(&case["points"]);
    let dims = case["dims"].as_u64().unwrap() as usize;
    let labels = usizes(&case["labels"]);
    let km_labels = usizes(&peer["kmeans_labels"]);
    let centers = numbers(&peer["kmeans_centers"]);
    let inertia = m::inertia(&points, dims, &km_labels, &centers).unwrap();
    same("inertia", inertia, number(&peer["kmeans_inertia"]));
    let silhouette = m::silhouette_score(&points, dims, &labels).unwrap();
    same("silhouette", silhouette, number(&peer["silhouette"]));
    let samples = m::silhouette_samples(&points, dims, &labels).unwrap();
    same_all(
        "silhouette samples",
        &samples,
        &numbers(&peer["silhouette_samples"]),
    );
}

fn cases() -> Vec<Value> {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut cases = Vec::new();
    for (n, k) in [(50, 2), (200, 2), (120, 3), (300, 5), (7, 4)] {
        cases.push(classification_case(&mut rng, n, k));
    }
    // Edge cases: one class present, zero division (nothing predicted positive), a label only
    // predicted, a class never predicted.
    let uniform = |n: usize, k: usize| vec![1.0 / k as f64; n * k];
    for (y, p) in [
        (vec![0, 0, 0, 0], vec![0, 0, 0, 0]),
        (vec![1, 1, 1], vec![0, 0, 0]),
        (vec![0, 1, 0, 1], vec![0, 0, 0, 0]),
        (vec![0, 0, 1, 1], vec![2, 0, 1, 1]),
        (vec![0, 1, 2, 2], vec![0, 1, 1, 1]),
    ] {
        let k = y.iter().chain(&p).max().unwrap() + 1;
        let k = k.max(2);
        cases.push(
            json!({"kind": "classification", "y_true": y, "y_pred": p, "classes": k,
                          "probabilities": uniform(y.len(), k)}),
        );
    }
    for n in [30, 200, 1000] {
        let y: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.3)).collect();
        // Rounded scores: many ties.
        let s: Vec<f64> = (0..n)
            .map(|_| (rng.gen_range(0.0..1.0f64) * 10.0).round() / 10.0)
            .collect();
        cases.push(json!({"kind": "scores", "y_true": y, "scores": s}));
        let s: Vec<f64> = (0..n).map(|_| rng.gen_range(-3.0..3.0)).collect();
        cases.push(json!({"kind": "scores", "y_true": y, "scores": s}));
    }
    for (y, s) in [
        (vec![false, false, false], vec![0.1, 0.5, 0.5]),
        (vec![true, true], vec![0.3, 0.3]),
        (vec![true, false, true, false], vec![0.5, 0.5, 0.5, 0.5]),
    ] {
        cases.push(json!({"kind": "scores", "y_true": y, "scores": s}));
    }
    for n in [10, 500] {
        let y: Vec<f64> = (0..n).map(|_| rng.gen_range(-5.0..5.0)).collect();
        let p: Vec<f64> = y.iter().map(|v| v + rng.gen_range(-1.0..1.0)).collect();
        cases.push(json!({"kind": "regression", "y_true": y, "y_pred": p}));
    }
    for (y, p) in [
        (vec![2.0, 2.0, 2.0], vec![2.0, 2.0, 2.0]),
        (vec![2.0, 2.0, 2.0], vec![1.0, 2.0, 3.0]),
        (vec![0.0, 1.0, -2.0], vec![0.5, 1.0, -1.0]),
    ] {
        cases.push(json!({"kind": "regression", "y_true": y, "y_pred": p}));
    }
    for (queries, items, k) in [(20, 8, 3), (5, 12, 5), (10, 4, 10)] {
        let rel: Vec<f64> = (0..queries * items)
            .map(|_| f64::from(rng.gen_range(0..4u8).saturating_sub(1)))
            .collect();
        let sc: Vec<f64> = (0..queries * items)
            .map(|_| f64::from(rng.gen_range(0..6u8)))
            .collect();
        cases.push(
            json!({"kind": "ranking", "relevance": rel, "scores": sc, "items": items, "k": k}),
        );
    }
    for (n, dims, clusters) in [(60, 2, 3), (150, 4, 4)] {
        let points: Vec<f64> = (0..n * dims)
            .map(|i| rng.gen_range(-1.0..1.0) + 4.0 * ((i / dims) % clusters) as f64)
            .collect();
        // Labels with a singleton cluster to exercise the zero-silhouette rule.
        let mut labels: Vec<usize> = (0..n).map(|i| i % clusters).collect();
        labels[0] = clusters;
        cases.push(json!({"kind": "clustering", "points": points, "dims": dims,
                          "clusters": clusters, "labels": labels}));
    }
    cases
}

#[test]
fn every_metric_matches_scikit_learn() {
    let Some(python) = peer_python() else {
        return;
    };
    let cases = cases();
    let results = ask_peer(&python, &cases);
    for (i, (case, peer)) in cases.iter().zip(&results).enumerate() {
        let kind = case["kind"].as_str().unwrap();
        eprintln!("case {i}: {kind}");
        match kind {
            "classification" => check_classification(case, peer),
            "scores" => check_scores(case, peer),
            "regression" => check_regression(case, peer),
            "ranking" => check_ranking(case, peer),
            "clustering" => check_clustering(case, peer),
            other => panic!("unknown case kind {other}"),
        }
    }
}
