//! TreeSHAP against a brute-force Shapley computation (every feature subset, path-dependent
//! conditional expectations by cover-weighted traversal) on random small trees.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use ingot_algo::{Estimator, FitContext, Target, TrainingData};
use ingot_core::Hyperparameters;

use super::*;
use crate::tree::Node;

const FEATURES: usize = 5;

/// A random tree over `FEATURES` features (repeated features, categorical and zero-missing
/// nodes, both default directions) with consistent covers (a node's cover is its children's).
fn random_tree(rng: &mut ChaCha8Rng, max_depth: usize) -> Tree {
    let mut nodes: Vec<Node> = Vec::new();
    let mut leaves: Vec<(f64, u64, f64)> = Vec::new();
    // Returns the child reference and its (count, hessian).
    fn grow(
        rng: &mut ChaCha8Rng,
        depth: usize,
        max_depth: usize,
        nodes: &mut Vec<Node>,
        leaves: &mut Vec<(f64, u64, f64)>,
    ) -> (i32, u64, f64) {
        if depth == max_depth || (depth > 0 && rng.gen_bool(0.25)) {
            let count = rng.gen_range(1..50u64);
            let hessian = rng.gen_range(0.1..10.0);
            leaves.push((rng.gen_range(-2.0..2.0), count, hessian));
            return (!(leaves.len() as i32 - 1), count, hessian);
        }
        let index = nodes.len();
        let categorical = rng.gen_bool(0.2);
        nodes.push(Node {
            feature: rng.gen_range(0..FEATURES as u32),
            threshold: rng.gen_range(-1.0..1.0),
            categories: if categorical { vec![0, 2] } else { Vec::new() },
            default_left: rng.gen_bool(0.5),
            zero_missing: !categorical && rng.gen_bool(0.2),
            unknown_right: categorical && rng.gen_bool(0.5),
            left: 0,
            right: 0,
            gain: 1.0,
            count: 0,
            hessian: 0.0,
            value: 0.0,
        });
        let (left, lc, lh) = grow(rng, depth + 1, max_depth, nodes, leaves);
        let (right, rc, rh) = grow(rng, depth + 1, max_depth, nodes, leaves);
        let node = &mut nodes[index];
        node.left = left;
        node.right = right;
        node.count = lc + rc;
        node.hessian = lh + rh;
        (index as i32, lc + rc, lh + rh)
    }
    grow(rng, 0, max_depth, &mut nodes, &mut leaves);
    Tree::new(
        nodes,
        leaves.iter().map(|l| l.0).collect(),
        leaves.iter().map(|l| l.1).collect(),
        leaves.iter().map(|l| l.2).collect(),
    )
}

fn cover(tree: &Tree, c: i32, kind: Cover) -> f64 {
    match (c >= 0, kind) {
        (true, Cover::Hessian) => tree.nodes[c as usize].hessian,
        (true, Cover::Count) => tree.nodes[c as usize].count as f64,
        (false, Cover::Hessian) => tree.leaf_hessians[(!c) as usize],
        (false, Cover::Count) => tree.leaf_counts[(!c) as usize] as f64,
    }
}

/// E[f(x) | x_S] by the path-dependent rule, straight from its definition.
fn conditional(tree: &Tree, c: i32, x: &[f64], known: u32, kind: Cover) -> f64 {
    if c < 0 {
        return tree.leaf_values[(!c) as usize];
    }
    let node = &tree.nodes[c as usize];
    if known >> node.feature & 1 == 1 {
        let next = if tree.goes_left(c as usize, x[node.feature as usize]) {
            node.left
        } else {
            node.right
        };
        conditional(tree, next, x, known, kind)
    } else {
        let own = cover(tree, c, kind);
        (cover(tree, node.left, kind) * conditional(tree, node.left, x, known, kind)
            + cover(tree, node.right, kind) * conditional(tree, node.right, x, known, kind))
            / own
    }
}

fn factorial(n: usize) -> f64 {
    (1..=n).map(|i| i as f64).product()
}

/// Exact Shapley values over `m` features by enumerating every subset.
fn brute_force(tree: &Tree, x: &[f64], kind: Cover, m: usize) -> Vec<f64> {
    let root = if tree.nodes.is_empty() { -1 } else { 0 };
    let mut phi = vec![0.0; m];
    for (i, p) in phi.iter_mut().enumerate() {
        for subset in 0u32..(1 << m) {
            if subset >> i & 1 == 1 {
                continue;
            }
            let size = subset.count_ones() as usize;
            let weight = factorial(size) * factorial(m - size - 1) / factorial(m);
            let with = conditional(tree, root, x, subset | 1 << i, kind);
            let without = conditional(tree, root, x, subset, kind);
            *p += weight * (with - without);
        }
    }
    phi
}

fn random_row(rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..FEATURES)
        .map(|_| match rng.gen_range(0..10) {
            0 => f64::NAN,
            1 => 0.0,
            2 => -1.0,
            3..=5 => rng.gen_range(0..4) as f64,
            _ => rng.gen_range(-1.5..1.5),
        })
        .collect()
}

#[test]
fn matches_brute_force_shapley_values_on_random_trees() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for case in 0..60 {
        let tree = random_tree(&mut rng, 1 + case % 6);
        let kind = if case % 2 == 0 {
            Cover::Hessian
        } else {
            Cover::Count
        };
        let trees = [tree];
        let shap = TreeShap::new(&trees, 1, 1.0, kind);
        let expected = shap.expected_values(&[0.0])[0];
        let root = if trees[0].nodes.is_empty() { -1 } else { 0 };
        let empty = conditional(&trees[0], root, &[], 0, kind);
        assert!(
            (expected - empty).abs() < 1e-12,
            "case {case}: {expected} vs {empty}"
        );
        for _ in 0..5 {
            let x = random_row(&mut rng);
            let mut phi = vec![0.0; FEATURES];
            shap.explain_row(&x, &mut phi);
            let truth = brute_force(&trees[0], &x, kind, FEATURES);
            for f in 0..FEATURES {
                assert!(
                    (phi[f] - truth[f]).abs() < 1e-10,
                    "case {case} feature {f}: treeshap {phi:?} vs brute force {truth:?} at {x:?}"
                );
            }
            let total: f64 = phi.iter().sum::<f64>() + expected;
            assert!((total - trees[0].predict(&x)).abs() < 1e-10);
        }
    }
}

#[test]
fn ensembles_split_outputs_scale_and_sum_to_the_margin() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let trees: Vec<Tree> = (0..6).map(|_| random_tree(&mut rng, 4)).collect();
    let (outputs, scale, base) = (3, 0.5, [0.25, -1.0, 2.0]);
    let shap = TreeShap::new(&trees, outputs, scale, Cover::Hessian);
    let expected = shap.expected_values(&base);
    let rows: Vec<Vec<f64>> = (0..9).map(|_| random_row(&mut rng)).collect();
    let data: Vec<f64> = rows.concat();
    let phi = shap.explain_matrix(&data, rows.len(), FEATURES);
    assert_eq!(phi.len(), rows.len() * outputs * FEATURES);
    for (r, x) in rows.iter().enumerate() {
        for k in 0..outputs {
            let margin = base[k]
                + scale
                    * trees
                        .iter()
                        .enumerate()
                        .filter(|(t, _)| t % outputs == k)
                        .map(|(_, t)| t.predict(x))
                        .sum::<f64>();
            let start = (r * outputs + k) * FEATURES;
            let total: f64 = phi[start..start + FEATURES].iter().sum::<f64>() + expected[k];
            assert!((total - margin).abs() < 1e-10, "row {r} output {k}");
            // Each output's values are those of its own trees alone.
            let own: Vec<Tree> = trees
                .iter()
                .enumerate()
                .filter(|(t, _)| t % outputs == k)
                .map(|(_, t)| t.clone())
                .collect();
            let mut alone = vec![0.0; FEATURES];
            TreeShap::new(&own, 1, scale, Cover::Hessian).explain_row(x, &mut alone);
            for f in 0..FEATURES {
                assert!((alone[f] - phi[start + f]).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn a_single_leaf_tree_attributes_nothing() {
    let trees = [Tree::new(Vec::new(), vec![1.5], vec![4], vec![2.0])];
    let shap = TreeShap::new(&trees, 1, 1.0, Cover::Count);
    assert_eq!(shap.expected_values(&[1.0]), vec![2.5]);
    let mut phi = vec![0.0; 3];
    shap.explain_row(&[1.0, 2.0, 3.0], &mut phi);
    assert_eq!(phi, vec![0.0; 3]);
}

/// Four numeric columns (some missing) and a string column; `y` mixes all of them.
fn table(rows: usize) -> (RecordBatch, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); 4];
    let (mut city, mut y) = (Vec::new(), Vec::new());
    for _ in 0..rows {
        let v: Vec<f64> = (0..4).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let c = rng.gen_range(0..4);
        y.push(v[0] * v[1] + v[2].abs() - v[3] + c as f64 * 0.5 + rng.gen_range(-0.2..0.2));
        for (j, col) in cols.iter_mut().enumerate() {
            col.push((!rng.gen_bool(0.1)).then_some(v[j]));
        }
        city.push(["a", "b", "c", "d"][c]);
    }
    let mut columns: Vec<(String, ArrayRef)> = cols
        .into_iter()
        .enumerate()
        .map(|(j, c)| (format!("x{j}"), Arc::new(Float64Array::from(c)) as ArrayRef))
        .collect();
    columns.push(("city".into(), Arc::new(StringArray::from(city)) as ArrayRef));
    (RecordBatch::try_from_iter(columns).unwrap(), y)
}

fn ctx_run<T>(f: impl FnOnce(&mut FitContext) -> T) -> T {
    let cancel = AtomicBool::new(false);
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 1,
        seed: 3,
        events: &mut |_| {},
    };
    f(&mut ctx)
}

/// Checks a fitted ensemble's attributions against brute force, tree by tree, and that they
/// sum to `margin(row, output)`.
fn check_model(
    explained: &ingot_algo::Attributions,
    trees: &[Tree],
    outputs: usize,
    scale: f64,
    x: &ingot_algo::preprocess::Matrix,
    margin: impl Fn(usize, usize) -> f64,
) {
    let m = x.cols;
    assert_eq!(explained.features.len(), m);
    assert_eq!(explained.outputs.len(), outputs);
    for row in 0..x.rows.min(12) {
        for k in 0..outputs {
            let mut truth = vec![0.0; m];
            for (t, tree) in trees.iter().enumerate().filter(|(t, _)| t % outputs == k) {
                let _ = t;
                for (f, v) in brute_force(tree, x.row(row), Cover::Hessian, m)
                    .into_iter()
                    .enumerate()
                {
                    truth[f] += scale * v;
                }
            }
            for (f, want) in truth.iter().enumerate() {
                let got = explained.value(row, k, f);
                assert!(
                    (got - want).abs() < 1e-9,
                    "row {row} output {k} feature {f}: {got} vs {want}"
                );
            }
            let want = margin(row, k);
            let got = explained.margin(row, k);
            assert!(
                (got - want).abs() < 1e-9,
                "row {row} output {k}: {got} vs margin {want}"
            );
        }
    }
    for row in 0..x.rows {
        for k in 0..outputs {
            assert!((explained.margin(row, k) - margin(row, k)).abs() < 1e-9);
        }
    }
}

#[test]
fn gbdt_attributions_match_brute_force_and_sum_to_the_margin() {
    let (features, y) = table(400);
    for (target, params) in [
        (Target::Regression(y.clone()), "objective=regression"),
        (
            Target::Classification {
                classes: vec!["lo".into(), "hi".into()],
                labels: y.iter().map(|&v| usize::from(v > 0.5)).collect(),
            },
            "num_leaves=8",
        ),
        (
            Target::Classification {
                classes: vec!["a".into(), "b".into(), "c".into()],
                labels: y
                    .iter()
                    .map(|&v| (v > 0.0) as usize + (v > 1.5) as usize)
                    .collect(),
            },
            "num_leaves=6",
        ),
    ] {
        let train = TrainingData {
            features: features.clone(),
            target,
        };
        let params = crate::GbdtParams::from_hyperparameters(
            &Hyperparameters::parse_pairs(["num_trees=15", params]).unwrap(),
            0,
        )
        .unwrap();
        let model = ctx_run(|ctx| crate::fit_gbdt(&train, None, &params, ctx)).unwrap();
        let explained = model.shap_values(&features).unwrap().unwrap();
        let x = model.preprocessor.transform(&features).unwrap();
        assert_eq!(explained.features, ["x0", "x1", "x2", "x3", "city"]);
        let k = model.outputs();
        check_model(&explained, &model.trees, k, 1.0, &x, |row, out| {
            model.base_score[out]
                + model
                    .trees
                    .iter()
                    .enumerate()
                    .filter(|(t, _)| t % k == out)
                    .map(|(_, t)| t.predict(x.row(row)))
                    .sum::<f64>()
        });
        // The margin's link gives the model's predictions.
        let p = model.predict_matrix(&x.data, x.rows);
        if k == 1 && model.classes.is_some() {
            for row in 0..x.rows {
                let s = 1.0 / (1.0 + (-explained.margin(row, 0)).exp());
                assert!((s - p[row * 2 + 1]).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn forest_attributions_match_brute_force_and_sum_to_the_averaged_output() {
    let (features, y) = table(300);
    for (target, outputs) in [
        (Target::Regression(y.clone()), 1),
        (
            Target::Classification {
                classes: vec!["a".into(), "b".into(), "c".into()],
                labels: y
                    .iter()
                    .map(|&v| (v > 0.0) as usize + (v > 1.5) as usize)
                    .collect(),
            },
            3,
        ),
    ] {
        let train = TrainingData {
            features: features.clone(),
            target,
        };
        let params = crate::forest::ForestParams::from_hyperparameters(
            &Hyperparameters::parse_pairs(["num_trees=6", "max_depth=5"]).unwrap(),
            0,
        )
        .unwrap();
        let model = ctx_run(|ctx| crate::forest::fit_forest(&train, &params, ctx)).unwrap();
        let explained = model.shap_values(&features).unwrap().unwrap();
        let x = model.preprocessor.transform(&features).unwrap();
        let members = (model.trees.len() / outputs) as f64;
        let raw = |row: usize, out: usize| {
            model
                .trees
                .iter()
                .enumerate()
                .filter(|(t, _)| t % outputs == out)
                .map(|(_, t)| t.predict(x.row(row)))
                .sum::<f64>()
                / members
        };
        check_model(&explained, &model.trees, outputs, 1.0 / members, &x, raw);
        if outputs == 1 {
            let p = model.predict_matrix(&x.data, x.rows);
            for (row, value) in p.iter().enumerate() {
                assert!((explained.margin(row, 0) - value).abs() < 1e-9);
            }
        }
    }
}
