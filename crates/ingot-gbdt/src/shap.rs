//! Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent individualized
//! feature attribution for tree ensembles", Algorithm 2) over [`Tree`]s: per row, per output,
//! per feature Shapley values of the tree's conditional expectation, plus the expected value.
//!
//! The value of a feature subset `S` for a row `x` is the path-dependent expectation: walk the
//! tree; at a node splitting on a feature in `S` follow `x`, otherwise average both children
//! weighted by their share of the node's cover. Algorithm 2 computes the exact Shapley values
//! of that game in `O(leaves · depth²)` per tree by carrying, along the root-to-leaf path, the
//! distinct features met so far with
//! * `zero`: the fraction of cover that flows down this path when the feature is *not* in `S`
//!   (the product of the cover ratios of its nodes on the path),
//! * `one`: 1 when `x` itself follows this path at every node of the feature (it is "hot"),
//!   else 0,
//! * `weight[i]`: the summed Shapley permutation weights of the subsets of size `i` of the path
//!   features, each multiplied by the `one`s of its members and the `zero`s of the others.
//!
//! A feature met twice on one path is first removed ("unwound") and re-added with the products
//! of its fractions, so every path holds each feature once. The attributions of every output
//! sum with its expected value to the raw score (margin) the ensemble predicts.

use rayon::prelude::*;

use crate::tree::Tree;

/// The node statistic TreeSHAP weighs children by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// Sum of hessians (Ingot's own trees, XGBoost's `sum_hessian`).
    Hessian,
    /// Training rows (LightGBM's `internal_count` / `leaf_count`, as LightGBM's own TreeSHAP).
    Count,
}

/// One distinct feature on the current root-to-leaf path.
#[derive(Debug, Clone, Copy, Default)]
struct Step {
    feature: usize,
    zero: f64,
    one: f64,
    weight: f64,
}

/// Marks the path's first step, which stands for "no feature".
const NO_FEATURE: usize = usize::MAX;

/// Appends a feature with fractions `zero` / `one` to the first `len` steps of `path` (which
/// has room for one more) and updates the subset-size weights; returns the new length.
///
/// With `n = len` steps before (the first is the empty placeholder), a subset of size `i` of
/// the new path either lacks the feature (weight scaled by `zero · (n - i) / (n + 1)`: the
/// share of orderings where the new feature comes after the subset) or contains it (the size
/// `i - 1` weight scaled by `one · i / (n + 1)`).
fn extend(path: &mut [Step], len: usize, zero: f64, one: f64, feature: usize) -> usize {
    path[len] = Step {
        feature,
        zero,
        one,
        weight: if len == 0 { 1.0 } else { 0.0 },
    };
    let n = (len + 1) as f64;
    for i in (0..len).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 / n;
        path[i].weight = zero * path[i].weight * (len - i) as f64 / n;
    }
    len + 1
}

/// The subset-size weights the path would have without step `k` (the inverse of [`extend`]),
/// written into `out[..len - 1]` when given, and their sum returned.
///
/// Inverting runs from the largest subset down: with `one != 0` the top weight only came from
/// the "contains" branch, which determines it, and each lower one follows by subtracting the
/// "contains" part; with `one == 0` every weight came from the "lacks" branch alone.
fn unwind_weights(path: &[Step], len: usize, k: usize, mut out: Option<&mut [f64]>) -> f64 {
    let (zero, one) = (path[k].zero, path[k].one);
    let top = len - 1;
    let n = len as f64;
    let mut carry = path[top].weight;
    let mut total = 0.0;
    for i in (0..top).rev() {
        let w = if one != 0.0 {
            let w = carry * n / ((i + 1) as f64 * one);
            carry = path[i].weight - w * zero * (top - i) as f64 / n;
            w
        } else if zero != 0.0 {
            path[i].weight * n / (zero * (top - i) as f64)
        } else {
            0.0
        };
        total += w;
        if let Some(out) = out.as_deref_mut() {
            out[i] = w;
        }
    }
    total
}

/// Removes step `k` from the first `len` steps of `path`; returns the new length.
fn unwind(path: &mut [Step], len: usize, k: usize, scratch: &mut [f64]) -> usize {
    unwind_weights(path, len, k, Some(scratch));
    for (step, &w) in path.iter_mut().zip(&scratch[..len - 1]) {
        step.weight = w;
    }
    for i in k..len - 1 {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
    len - 1
}

/// TreeSHAP over an ensemble whose tree `t` adds `scale ×` its output to output `t % outputs`
/// (`scale` is 1 for boosting, `1 / members` for averaged forests).
#[derive(Debug, Clone, Copy)]
pub struct TreeShap<'a> {
    trees: &'a [Tree],
    outputs: usize,
    scale: f64,
    cover: Cover,
    depth: usize,
}

/// What one tree walk needs besides the path.
struct Walk<'a> {
    tree: &'a Tree,
    row: &'a [f64],
    phi: &'a mut [f64],
    value_scale: f64,
    cover: Cover,
}

impl Walk<'_> {
    fn cover_of(&self, child: i32) -> f64 {
        let t = self.tree;
        match (child >= 0, self.cover) {
            (true, Cover::Hessian) => t.nodes[child as usize].hessian,
            (true, Cover::Count) => t.nodes[child as usize].count as f64,
            (false, Cover::Hessian) => t.leaf_hessians[(!child) as usize],
            (false, Cover::Count) => t.leaf_counts[(!child) as usize] as f64,
        }
    }

    /// Visits `child` reached with the given fractions for `feature`; `parent` is the path
    /// above it and `buf` the room for this call's path and everything below.
    #[allow(clippy::too_many_arguments)]
    fn recurse(
        &mut self,
        child: i32,
        parent: &[Step],
        buf: &mut [Step],
        weights: &mut [f64],
        zero: f64,
        one: f64,
        feature: usize,
    ) {
        let (path, rest) = buf.split_at_mut(parent.len() + 1);
        path[..parent.len()].copy_from_slice(parent);
        let mut len = extend(path, parent.len(), zero, one, feature);
        if child < 0 {
            let value = self.tree.leaf_values[(!child) as usize] * self.value_scale;
            for k in 1..len {
                let w = unwind_weights(path, len, k, None);
                self.phi[path[k].feature] += w * (path[k].one - path[k].zero) * value;
            }
            return;
        }
        let index = child as usize;
        let node = &self.tree.nodes[index];
        let split = node.feature as usize;
        let (hot, cold) = if self.tree.goes_left(index, self.row[split]) {
            (node.left, node.right)
        } else {
            (node.right, node.left)
        };
        let (mut zero_in, mut one_in) = (1.0, 1.0);
        if let Some(k) = (1..len).find(|&k| path[k].feature == split) {
            zero_in = path[k].zero;
            one_in = path[k].one;
            len = unwind(path, len, k, weights);
        }
        let node_cover = self.cover_of(child);
        let share = |c: f64| {
            if node_cover > 0.0 {
                c / node_cover
            } else {
                0.0
            }
        };
        let (hot_share, cold_share) = (share(self.cover_of(hot)), share(self.cover_of(cold)));
        let path = &path[..len];
        self.recurse(hot, path, rest, weights, zero_in * hot_share, one_in, split);
        self.recurse(cold, path, rest, weights, zero_in * cold_share, 0.0, split);
    }
}

impl<'a> TreeShap<'a> {
    /// An explainer over `trees` (tree `t` feeds output `t % outputs`).
    pub fn new(trees: &'a [Tree], outputs: usize, scale: f64, cover: Cover) -> TreeShap<'a> {
        let depth = trees.iter().map(Tree::depth).max().unwrap_or(0);
        TreeShap {
            trees,
            outputs: outputs.max(1),
            scale,
            cover,
            depth,
        }
    }

    /// One tree's cover-weighted mean output (its expected value under the training cover).
    fn tree_expectation(&self, tree: &Tree) -> f64 {
        let walk = Walk {
            tree,
            row: &[],
            phi: &mut [],
            value_scale: 1.0,
            cover: self.cover,
        };
        // Children come after parents: fill node means backwards.
        let mut mean = vec![0.0; tree.nodes.len()];
        let value = |mean: &[f64], c: i32| {
            if c >= 0 {
                mean[c as usize]
            } else {
                tree.leaf_values[(!c) as usize]
            }
        };
        for i in (0..tree.nodes.len()).rev() {
            let node = &tree.nodes[i];
            let own = walk.cover_of(i as i32);
            let (l, r) = (walk.cover_of(node.left), walk.cover_of(node.right));
            mean[i] = if own > 0.0 {
                (l * value(&mean, node.left) + r * value(&mean, node.right)) / own
            } else {
                0.5 * (value(&mean, node.left) + value(&mean, node.right))
            };
        }
        mean.first().copied().unwrap_or(tree.leaf_values[0])
    }

    /// The expected raw score per output: `base[k]` plus the scaled tree expectations.
    pub fn expected_values(&self, base: &[f64]) -> Vec<f64> {
        let mut out: Vec<f64> = (0..self.outputs)
            .map(|k| base.get(k).copied().unwrap_or(0.0))
            .collect();
        for (t, tree) in self.trees.iter().enumerate() {
            out[t % self.outputs] += self.scale * self.tree_expectation(tree);
        }
        out
    }

    /// Adds the attributions of one raw feature row into `out` (`outputs × row.len()`,
    /// output-major).
    pub fn explain_row(&self, row: &[f64], out: &mut [f64]) {
        let cols = row.len();
        let room = (self.depth + 2) * (self.depth + 3) / 2;
        let mut buf = vec![Step::default(); room];
        let mut weights = vec![0.0; self.depth + 2];
        for (t, tree) in self.trees.iter().enumerate() {
            let k = t % self.outputs;
            let mut walk = Walk {
                tree,
                row,
                phi: &mut out[k * cols..(k + 1) * cols],
                value_scale: self.scale,
                cover: self.cover,
            };
            let root = if tree.nodes.is_empty() { -1 } else { 0 };
            walk.recurse(root, &[], &mut buf, &mut weights, 1.0, 1.0, NO_FEATURE);
        }
    }

    /// Attributions of a row-major matrix (`rows × cols`): row-major `rows × outputs × cols`.
    /// Rows run in parallel; each row's values do not depend on the thread count.
    pub fn explain_matrix(&self, data: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        let width = self.outputs * cols;
        let mut out = vec![0.0; rows * width];
        if width == 0 {
            return out;
        }
        out.par_chunks_mut(width)
            .enumerate()
            .for_each(|(i, phi)| self.explain_row(&data[i * cols..(i + 1) * cols], phi));
        out
    }
}

/// Names of an ensemble's raw score outputs: `value` for regression, the positive class of a
/// single-output classifier, else every class.
pub fn output_names(classes: Option<&[String]>, outputs: usize) -> Vec<String> {
    match classes {
        None => vec!["value".to_string(); outputs.max(1)],
        Some(c) if outputs == 1 && !c.is_empty() => vec![c[c.len() - 1].clone()],
        Some(c) => c.to_vec(),
    }
}

/// Attributions of a row-major raw matrix (`rows × feature_names.len()`) for an ensemble
/// whose tree `t` adds `scale ×` its output to output `t % outputs`, starting from `base`.
#[allow(clippy::too_many_arguments)]
pub fn attributions(
    trees: &[Tree],
    (outputs, scale, cover): (usize, f64, Cover),
    base: &[f64],
    classes: Option<&[String]>,
    feature_names: &[String],
    data: &[f64],
    rows: usize,
) -> ingot_algo::Attributions {
    let shap = TreeShap::new(trees, outputs, scale, cover);
    ingot_algo::Attributions {
        features: feature_names.to_vec(),
        outputs: output_names(classes, outputs),
        base_values: shap.expected_values(base),
        values: shap.explain_matrix(data, rows, feature_names.len()),
    }
}

#[cfg(test)]
#[path = "shap_tests.rs"]
mod tests;
