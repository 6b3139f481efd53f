//! The drift tests against SciPy/NumPy on seeded random inputs of several sizes (ties and
//! small samples included), to 1e-9: `ks_2samp` (auto, exact and asymptotic p-values and
//! `kstwo.sf` directly), `chi2_contingency` (Yates for 2×2), `wasserstein_distance` (with and
//! without weights), `jensenshannon`, PSI against the NumPy formula with Evidently's zero
//! filling, and the Z-test against its formula with `norm.cdf`. Runs when `INGOT_PEER_PYTHON`
//! names a Python with numpy and scipy; otherwise it says it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use ingot_monitor::stattests::{self as t, KsMethod, Weighted};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

const TOLERANCE: f64 = 1e-9;

fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("INGOT_PEER_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!("skipped: INGOT_PEER_PYTHON is not set (SciPy peer unavailable)");
            None
        }
    }
}

fn ask_peer(python: &Path, cases: &[Value]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(cases).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/drift.py");
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

fn same(what: &str, ours: f64, theirs: f64) {
    let ok = ours == theirs || (ours - theirs).abs() <= TOLERANCE * theirs.abs().max(1.0);
    assert!(
        ok,
        "{what}: ingot {ours} vs scipy {theirs} (diff {:e})",
        ours - theirs
    );
}

/// Samples of several shapes; `ties` rounds to few distinct values.
fn sample(rng: &mut ChaCha8Rng, n: usize, shift: f64, ties: bool) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let v: f64 = rng.gen::<f64>() + rng.gen::<f64>() + shift;
            if ties {
                (v * 4.0).round() / 4.0
            } else {
                v
            }
        })
        .collect()
}

#[test]
fn ks_2samp_matches_scipy() {
    let Some(python) = peer_python() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    let sizes: &[(usize, usize, f64, bool, &str)] = &[
        (3, 4, 0.0, false, "auto"),
        (5, 7, 0.3, false, "auto"),
        (8, 8, 0.5, false, "auto"),
        (30, 30, 0.1, true, "auto"),
        (50, 80, 0.2, true, "auto"),
        (200, 300, 0.05, false, "auto"),
        (1000, 1000, 0.0, false, "auto"),
        (999, 1000, 0.1, true, "auto"),
        (3000, 2000, 0.02, false, "auto"),
        (10_000, 9_000, 0.0, false, "auto"),
        (20_000, 15_000, 0.0, false, "auto"),
        (20_000, 15_000, 0.03, false, "auto"),
        (20_000, 15_000, 0.2, false, "auto"),
        (12_000, 100, 0.0, false, "auto"),
        (12_000, 100, 0.3, false, "auto"),
        (15_000, 60, 0.1, true, "auto"),
        (300_000, 200_000, 0.005, false, "auto"),
        (400, 500, 0.1, false, "asymp"),
        (2_000, 150, 0.05, false, "asymp"),
        (40, 60, 0.4, false, "exact"),
    ];
    for &(n1, n2, shift, ties, method) in sizes {
        let a = sample(&mut rng, n1, 0.0, ties);
        let b = sample(&mut rng, n2, shift, ties);
        let m = match method {
            "exact" => KsMethod::Exact,
            "asymp" => KsMethod::Asymp,
            _ => KsMethod::Auto,
        };
        ours.push(t::ks_2samp(
            &Weighted::from_values(&a),
            &Weighted::from_values(&b),
            n1 as u64,
            n2 as u64,
            m,
        ));
        cases.push(json!({"kind": "ks", "a": a, "b": b, "method": method}));
    }
    let theirs = ask_peer(&python, &cases);
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        let what = format!("ks case {i} {:?}", sizes[i]);
        same(
            &format!("{what} statistic"),
            o.statistic,
            t["statistic"].as_f64().unwrap(),
        );
        same(
            &format!("{what} p-value"),
            o.p_value,
            t["p_value"].as_f64().unwrap(),
        );
    }
}

#[test]
fn kstwo_sf_matches_scipy_across_its_algorithms() {
    let Some(python) = peer_python() else { return };
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for &n in &[
        1u64, 2, 5, 20, 100, 140, 141, 1000, 50_000, 100_001, 2_000_000,
    ] {
        for &x in &[
            0.001, 0.004, 0.01, 0.03, 0.06, 0.1, 0.2, 0.35, 0.5, 0.7, 0.95,
        ] {
            cases.push(json!({"kind": "kstwo", "n": n, "x": x}));
            ours.push(t::TestResult {
                statistic: x,
                p_value: kstwo(n, x),
            });
        }
    }
    let theirs = ask_peer(&python, &cases);
    for ((o, t), c) in ours.iter().zip(&theirs).zip(&cases) {
        same(
            &format!("kstwo.sf {c}"),
            o.p_value,
            t["value"].as_f64().unwrap(),
        );
    }
}

/// `kstwo.sf(x, n)` through the public API: the asymptotic p-value of n1 = n2 = 2n has
/// en = n.
fn kstwo(n: u64, x: f64) -> f64 {
    t::ks_p_value(x, 2 * n, 2 * n, KsMethod::Asymp).p_value
}

#[test]
fn chi2_wasserstein_js_psi_z_match_scipy() {
    let Some(python) = peer_python() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut cases = Vec::new();
    let mut ours: Vec<(String, f64, &str)> = Vec::new();
    // chi2_contingency, 2×k incl. 2×2 (Yates) and small counts.
    for (i, &k) in [2usize, 2, 2, 3, 5, 10, 40].iter().enumerate() {
        let scale = [3, 50, 1000, 7, 100, 20, 500][i];
        let a: Vec<f64> = (0..k)
            .map(|_| f64::from(rng.gen_range(1..=scale)))
            .collect();
        let b: Vec<f64> = (0..k)
            .map(|_| f64::from(rng.gen_range(1..=scale)))
            .collect();
        let r = t::chi2_contingency(&a, &b);
        cases.push(json!({"kind": "chi2", "a": a, "b": b}));
        ours.push((format!("chi2 k={k} statistic"), r.statistic, "statistic"));
        cases.push(json!({"kind": "chi2", "a": a, "b": b}));
        ours.push((format!("chi2 k={k} p"), r.p_value, "p_value"));
    }
    // wasserstein_distance, plain (ties included) and weighted.
    for &(n1, n2, ties) in &[
        (5usize, 9usize, false),
        (100, 80, true),
        (5000, 7000, false),
    ] {
        let a = sample(&mut rng, n1, 0.0, ties);
        let b = sample(&mut rng, n2, 0.2, ties);
        let d = t::wasserstein(&Weighted::from_values(&a), &Weighted::from_values(&b));
        ours.push((format!("wasserstein {n1}x{n2}"), d, "value"));
        cases.push(json!({"kind": "wasserstein", "a": a, "b": b}));
        let wa: Vec<f64> = (0..n1).map(|_| f64::from(rng.gen_range(1..9))).collect();
        let wb: Vec<f64> = (0..n2).map(|_| f64::from(rng.gen_range(1..9))).collect();
        let d = t::wasserstein(
            &Weighted::from_pairs(a.iter().copied().zip(wa.iter().copied()).collect()),
            &Weighted::from_pairs(b.iter().copied().zip(wb.iter().copied()).collect()),
        );
        ours.push((format!("weighted wasserstein {n1}x{n2}"), d, "value"));
        cases.push(json!({"kind": "wasserstein", "a": a, "b": b, "wa": wa, "wb": wb}));
    }
    // jensenshannon and PSI on shares, with zeros.
    for &k in &[2usize, 4, 10, 30] {
        let mut a: Vec<f64> = (0..k).map(|_| rng.gen::<f64>()).collect();
        let mut b: Vec<f64> = (0..k).map(|_| rng.gen::<f64>()).collect();
        if k > 2 {
            a[1] = 0.0;
            b[k - 1] = 0.0;
        }
        ours.push((format!("js k={k}"), t::jensen_shannon(&a, &b), "value"));
        cases.push(json!({"kind": "js", "a": a, "b": b}));
        let (sa, sb): (f64, f64) = (a.iter().sum(), b.iter().sum());
        let mut ra: Vec<f64> = a.iter().map(|v| v / sa).collect();
        let mut rb: Vec<f64> = b.iter().map(|v| v / sb).collect();
        cases.push(json!({"kind": "psi", "a": ra, "b": rb}));
        t::fill_zeroes(&mut ra);
        t::fill_zeroes(&mut rb);
        ours.push((format!("psi k={k}"), t::psi(&ra, &rb), "value"));
    }
    // Z-test for proportions.
    for &(x1, n1, x2, n2) in &[
        (10.0, 40.0, 25.0, 50.0),
        (480.0, 1000.0, 520.0, 1000.0),
        (3.0, 9.0, 2.0, 11.0),
    ] {
        let r = t::z_test_proportions(x1, n1, x2, n2);
        ours.push((format!("z {x1}/{n1} vs {x2}/{n2}"), r.p_value, "value"));
        cases.push(json!({"kind": "z", "x1": x1, "n1": n1, "x2": x2, "n2": n2}));
    }
    let theirs = ask_peer(&python, &cases);
    for ((what, o, key), t) in ours.iter().zip(&theirs) {
        same(what, *o, t[*key].as_f64().unwrap());
    }
}
