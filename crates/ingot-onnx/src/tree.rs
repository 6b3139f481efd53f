//! Native evaluation of the ai.onnx.ml `TreeEnsembleRegressor` and `TreeEnsembleClassifier`
//! operators (which tract does not run), with onnxruntime's semantics: float32 accumulation in
//! tree order, base values, aggregate functions, post transforms and its binary-class rules.

use std::collections::HashMap;

use tract_onnx::pb::NodeProto;

use crate::proto;
use crate::{Error, Result};

const LEAF: u8 = 0;
const LEQ: u8 = 1;
const LT: u8 = 2;
const GTE: u8 = 3;
const GT: u8 = 4;
const EQ: u8 = 5;
const NEQ: u8 = 6;

/// How scores become outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostTransform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
    Probit,
}

impl PostTransform {
    /// Parses the `post_transform` attribute (absent means NONE).
    pub fn parse(node: &NodeProto) -> Result<PostTransform> {
        Ok(
            match proto::string(node, "post_transform")
                .as_deref()
                .unwrap_or("NONE")
            {
                "NONE" => PostTransform::None,
                "LOGISTIC" => PostTransform::Logistic,
                "SOFTMAX" => PostTransform::Softmax,
                "SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
                "PROBIT" => PostTransform::Probit,
                other => {
                    return Err(Error::attribute(
                        node,
                        "post_transform",
                        format!("unknown value {other:?}"),
                    ))
                }
            },
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Regressor(Aggregate),
    Classifier {
        /// Two classes, weights for only one of them.
        binary_case: bool,
        weights_all_positive: bool,
    },
}

/// One flattened tree node. For a leaf, `yes..no` is its range in `TreeEnsemble::weights`.
#[derive(Debug, Clone, Copy)]
struct Node {
    threshold: f64,
    feature: u32,
    yes: u32,
    no: u32,
    mode: u8,
    missing_true: bool,
}

/// A parsed tree ensemble, ready to score rows.
#[derive(Debug, Clone)]
pub struct TreeEnsemble {
    kind: Kind,
    outputs: usize,
    nodes: Vec<Node>,
    roots: Vec<u32>,
    weights: Vec<(u32, f32)>,
    base_values: Vec<f32>,
    post: PostTransform,
    features: usize,
}

impl TreeEnsemble {
    /// Parses a `TreeEnsembleRegressor` or `TreeEnsembleClassifier` node.
    pub fn parse(node: &NodeProto) -> Result<TreeEnsemble> {
        let classifier = node.op_type == "TreeEnsembleClassifier";
        let (prefix, outputs) = if classifier {
            let labels = proto::ints(node, "classlabels_int64s").len()
                + proto::strings(node, "classlabels_strings").len();
            ("class", labels)
        } else {
            let n = proto::int(node, "n_targets").unwrap_or(1);
            ("target", usize::try_from(n).unwrap_or(0))
        };
        if classifier && outputs < 2 {
            return Err(Error::attribute(
                node,
                "classlabels_int64s/strings",
                format!("{outputs} class labels; a classifier needs two or more"),
            ));
        }
        if outputs == 0 {
            return Err(Error::attribute(node, "n_targets", "must be positive"));
        }
        let tree_ids = proto::ints(node, "nodes_treeids");
        let node_ids = proto::ints(node, "nodes_nodeids");
        let features = proto::ints(node, "nodes_featureids");
        let modes = proto::strings(node, "nodes_modes");
        let values = proto::reals(node, "nodes_values")?;
        let true_ids = proto::ints(node, "nodes_truenodeids");
        let false_ids = proto::ints(node, "nodes_falsenodeids");
        let missing = proto::ints(node, "nodes_missing_value_tracks_true");
        let n = tree_ids.len();
        for (name, len) in [
            ("nodes_nodeids", node_ids.len()),
            ("nodes_featureids", features.len()),
            ("nodes_modes", modes.len()),
            ("nodes_values", values.len()),
            ("nodes_truenodeids", true_ids.len()),
            ("nodes_falsenodeids", false_ids.len()),
        ] {
            if len != n {
                return Err(Error::attribute(
                    node,
                    name,
                    format!("has {len} entries but nodes_treeids has {n}"),
                ));
            }
        }
        if n == 0 {
            return Err(Error::attribute(
                node,
                "nodes_treeids",
                "the ensemble has no nodes",
            ));
        }
        let mut index: HashMap<(i64, i64), u32> = HashMap::with_capacity(n);
        let mut roots = Vec::new();
        for i in 0..n {
            if index.insert((tree_ids[i], node_ids[i]), i as u32).is_some() {
                return Err(Error::attribute(
                    node,
                    "nodes_nodeids",
                    format!("node {} of tree {} appears twice", node_ids[i], tree_ids[i]),
                ));
            }
            if i == 0 || tree_ids[i] != tree_ids[i - 1] {
                roots.push(i as u32);
            }
        }
        let mut nodes = Vec::with_capacity(n);
        let mut width = 0usize;
        for i in 0..n {
            let mode = match modes[i].as_str() {
                "LEAF" => LEAF,
                "BRANCH_LEQ" => LEQ,
                "BRANCH_LT" => LT,
                "BRANCH_GTE" => GTE,
                "BRANCH_GT" => GT,
                "BRANCH_EQ" => EQ,
                "BRANCH_NEQ" => NEQ,
                other => {
                    return Err(Error::attribute(
                        node,
                        "nodes_modes",
                        format!("unknown mode {other:?}"),
                    ))
                }
            };
            let child = |ids: &[i64], which: &str| -> Result<u32> {
                index.get(&(tree_ids[i], ids[i])).copied().ok_or_else(|| {
                    Error::attribute(
                        node,
                        which,
                        format!(
                            "node {} of tree {} points to missing node {}",
                            node_ids[i], tree_ids[i], ids[i]
                        ),
                    )
                })
            };
            let (yes, no, feature) = if mode == LEAF {
                (0, 0, 0)
            } else {
                let feature = u32::try_from(features[i]).map_err(|_| {
                    Error::attribute(node, "nodes_featureids", "negative feature id")
                })?;
                width = width.max(feature as usize + 1);
                (
                    child(&true_ids, "nodes_truenodeids")?,
                    child(&false_ids, "nodes_falsenodeids")?,
                    feature,
                )
            };
            nodes.push(Node {
                threshold: values[i],
                feature,
                yes,
                no,
                mode,
                missing_true: missing.get(i).copied() == Some(1),
            });
        }
        // Leaf weights, grouped per leaf in attribute order.
        let w_tree = proto::ints(node, &format!("{prefix}_treeids"));
        let w_node = proto::ints(node, &format!("{prefix}_nodeids"));
        let w_id = proto::ints(node, &format!("{prefix}_ids"));
        let w_value = proto::reals(node, &format!("{prefix}_weights"))?;
        if [w_node.len(), w_id.len(), w_value.len()] != [w_tree.len(); 3] {
            return Err(Error::attribute(
                node,
                &format!("{prefix}_weights"),
                format!("{prefix}_treeids, _nodeids, _ids and _weights differ in length"),
            ));
        }
        let mut per_leaf: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
        let mut classes_seen = Vec::new();
        let mut all_positive = true;
        for k in 0..w_tree.len() {
            let Some(&at) = index.get(&(w_tree[k], w_node[k])) else {
                return Err(Error::attribute(
                    node,
                    &format!("{prefix}_nodeids"),
                    format!(
                        "weight for missing node {} of tree {}",
                        w_node[k], w_tree[k]
                    ),
                ));
            };
            let id = usize::try_from(w_id[k])
                .ok()
                .filter(|&id| id < outputs)
                .ok_or_else(|| {
                    Error::attribute(
                        node,
                        &format!("{prefix}_ids"),
                        format!("id {} outside 0..{outputs}", w_id[k]),
                    )
                })?;
            if !classes_seen.contains(&id) {
                classes_seen.push(id);
            }
            let w = w_value[k] as f32;
            all_positive &= w >= 0.0;
            per_leaf[at as usize].push((id as u32, w));
        }
        let mut weights = Vec::with_capacity(w_tree.len());
        for (node, leaf) in nodes.iter_mut().zip(per_leaf) {
            if node.mode == LEAF {
                node.yes = weights.len() as u32;
                weights.extend(leaf);
                node.no = weights.len() as u32;
            }
        }
        let kind = if classifier {
            Kind::Classifier {
                binary_case: outputs == 2 && classes_seen.len() == 1,
                weights_all_positive: all_positive,
            }
        } else {
            Kind::Regressor(
                match proto::string(node, "aggregate_function")
                    .as_deref()
                    .unwrap_or("SUM")
                {
                    "SUM" => Aggregate::Sum,
                    "AVERAGE" => Aggregate::Average,
                    "MIN" => Aggregate::Min,
                    "MAX" => Aggregate::Max,
                    other => {
                        return Err(Error::attribute(
                            node,
                            "aggregate_function",
                            format!("unknown value {other:?}"),
                        ))
                    }
                },
            )
        };
        let ensemble = TreeEnsemble {
            kind,
            outputs,
            nodes,
            roots,
            weights,
            base_values: proto::reals(node, "base_values")?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            post: PostTransform::parse(node)?,
            features: width,
        };
        ensemble
            .check_acyclic()
            .map_err(|reason| Error::attribute(node, "nodes_truenodeids", reason))?;
        Ok(ensemble)
    }

    /// Walks every tree once so that scoring can never loop.
    fn check_acyclic(&self) -> Result<(), String> {
        // 0 = unseen, 1 = on the current path, 2 = done.
        let mut state = vec![0u8; self.nodes.len()];
        for &root in &self.roots {
            let mut stack = vec![(root, false)];
            while let Some((at, leaving)) = stack.pop() {
                let i = at as usize;
                if leaving {
                    state[i] = 2;
                    continue;
                }
                match state[i] {
                    1 => return Err(format!("the trees contain a cycle through node index {i}")),
                    2 => continue,
                    _ => {}
                }
                state[i] = 1;
                stack.push((at, true));
                let node = self.nodes[i];
                if node.mode != LEAF {
                    for child in [node.yes, node.no] {
                        if state[child as usize] == 1 {
                            return Err(format!(
                                "the trees contain a cycle through node index {i}"
                            ));
                        }
                        stack.push((child, false));
                    }
                }
            }
        }
        Ok(())
    }

    /// Number of input features the trees read (largest feature id + 1).
    pub fn features(&self) -> usize {
        self.features
    }

    /// Number of output columns (targets, or classes).
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Number of trees.
    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    /// Scores `rows` rows of the row-major matrix `x` (`stride` values per row) into
    /// `out` (`outputs()` values per row).
    pub fn predict(&self, x: &[f64], stride: usize, out: &mut [f32]) {
        let k = self.outputs;
        let mut scores = vec![0f32; k];
        let mut has = vec![false; k];
        for (row, dest) in x.chunks_exact(stride).zip(out.chunks_exact_mut(k)) {
            scores.fill(0.0);
            has.fill(false);
            for &root in &self.roots {
                let (start, end) = self.leaf(root, row);
                for &(id, w) in &self.weights[start..end] {
                    let (s, h) = (&mut scores[id as usize], &mut has[id as usize]);
                    *s = match self.kind {
                        Kind::Regressor(Aggregate::Min) if *h => s.min(w),
                        Kind::Regressor(Aggregate::Max) if *h => s.max(w),
                        Kind::Regressor(Aggregate::Min | Aggregate::Max) => w,
                        _ => *s + w,
                    };
                    *h = true;
                }
            }
            self.finalize(&mut scores, &has, dest);
        }
    }

    /// The weight range of the leaf `row` reaches from `root`.
    #[inline]
    fn leaf(&self, root: u32, row: &[f64]) -> (usize, usize) {
        let mut node = self.nodes[root as usize];
        while node.mode != LEAF {
            let v = row[node.feature as usize];
            let t = node.threshold;
            let go = match node.mode {
                LEQ => v <= t,
                LT => v < t,
                GTE => v >= t,
                GT => v > t,
                EQ => v == t,
                _ => v != t,
            } || (node.missing_true && v.is_nan());
            node = self.nodes[if go { node.yes } else { node.no } as usize];
        }
        (node.yes as usize, node.no as usize)
    }

    fn finalize(&self, scores: &mut [f32], has: &[bool], out: &mut [f32]) {
        let base = &self.base_values;
        let n_trees = self.roots.len() as f32;
        match self.kind {
            Kind::Regressor(aggregate) if self.outputs == 1 => {
                let origin = if base.len() == 1 { base[0] } else { 0.0 };
                let s = match aggregate {
                    Aggregate::Sum => scores[0] + origin,
                    Aggregate::Average => scores[0] / n_trees + origin,
                    _ if has[0] => scores[0] + origin,
                    _ => origin,
                };
                out[0] = if self.post == PostTransform::Probit {
                    probit(s)
                } else {
                    s
                };
            }
            Kind::Regressor(aggregate) => {
                let with_base = base.len() == self.outputs;
                for (j, s) in scores.iter_mut().enumerate() {
                    let b = if with_base { base[j] } else { 0.0 };
                    *s = match aggregate {
                        Aggregate::Sum => *s + b,
                        Aggregate::Average => *s / n_trees + b,
                        _ if has[j] => b + *s,
                        _ => b,
                    };
                }
                transform(self.post, scores);
                out.copy_from_slice(scores);
            }
            Kind::Classifier { .. } if self.outputs > 2 => {
                for (j, &b) in base.iter().enumerate().take(self.outputs) {
                    scores[j] = if has[j] { scores[j] + b } else { b };
                }
                transform(self.post, scores);
                out.copy_from_slice(scores);
            }
            Kind::Classifier {
                binary_case,
                weights_all_positive,
            } => self.finalize_binary(
                [scores[0], scores[1]],
                [has[0], has[1]],
                binary_case,
                weights_all_positive,
                out,
            ),
        }
    }

    /// onnxruntime's two-class rules (TreeAggregatorClassifier::FinalizeScores).
    fn finalize_binary(
        &self,
        [mut s0, mut s1]: [f32; 2],
        [has0, mut has1]: [bool; 2],
        binary_case: bool,
        all_positive: bool,
        out: &mut [f32],
    ) {
        let base = &self.base_values;
        let mut two = true;
        let mut add = -1;
        match base.len() {
            2 if has1 => {
                s1 = base[1] + s0;
                s0 = -s1;
                has1 = true;
            }
            2 => {
                s1 += base[1];
                s0 += base[0];
            }
            1 => {
                s0 += base[0];
                two = has1;
            }
            0 => {
                add = 3;
                two = has1;
            }
            _ => {}
        }
        let positive = if two && has1 {
            s1
        } else if has0 {
            s0
        } else {
            0.0
        };
        if binary_case {
            add = match (all_positive, positive) {
                (true, p) if p > 0.5 => 0,
                (true, _) => 1,
                (false, p) if p > 0.0 => 2,
                (false, _) => 3,
            };
        }
        if two {
            let mut pair = [s0, s1];
            transform(self.post, &mut pair);
            out.copy_from_slice(&pair);
            return;
        }
        let pair = match (self.post, add) {
            (PostTransform::Probit, _) => [probit(s0), 0.0],
            (_, 0 | 1) => [1.0 - s0, s0],
            (PostTransform::Logistic, 2 | 3) => [logistic(-s0), logistic(s0)],
            (_, 2 | 3) => [-s0, s0],
            _ => [s0, 0.0],
        };
        out.copy_from_slice(&pair);
    }
}

/// Applies a post transform to a row of two or more scores, as onnxruntime does.
fn transform(post: PostTransform, scores: &mut [f32]) {
    match post {
        PostTransform::None => {}
        PostTransform::Logistic => scores.iter_mut().for_each(|s| *s = logistic(*s)),
        PostTransform::Probit => scores.iter_mut().for_each(|s| *s = probit(*s)),
        PostTransform::Softmax => {
            let max = scores
                .iter()
                .fold(-f32::MAX, |m, &v| if v > m { v } else { m });
            let mut sum = 0f32;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            scores.iter_mut().for_each(|s| *s /= sum);
        }
        PostTransform::SoftmaxZero => {
            let max = scores
                .iter()
                .fold(-f32::MAX, |m, &v| if v > m { v } else { m });
            let exp_neg_max = (-max).exp();
            let mut sum = 0f32;
            for s in scores.iter_mut() {
                if *s > 0.000_000_1 || *s < -0.000_000_1 {
                    *s = (*s - max).exp();
                    sum += *s;
                } else {
                    *s *= exp_neg_max;
                }
            }
            scores.iter_mut().for_each(|s| *s /= sum);
        }
    }
}

fn logistic(v: f32) -> f32 {
    let p = 1.0 / (1.0 + (-v.abs()).exp());
    if v < 0.0 {
        1.0 - p
    } else {
        p
    }
}

/// onnxruntime's probit: √2 · erfinv(2v − 1) with its closed-form erfinv approximation.
fn probit(v: f32) -> f32 {
    let x = 2.0 * v - 1.0;
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = (1.0 - x) * (1.0 + x);
    let log = x.ln();
    let a = 2.0 / (std::f32::consts::PI * 0.147) + 0.5 * log;
    let b = 1.0 / 0.147 * log;
    std::f32::consts::SQRT_2 * sign * (-a + (a * a - b).sqrt()).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::AttributeProto;

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        proto::ints_attr(name, v.to_vec())
    }
    fn floats(name: &str, v: &[f32]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: 6,
            floats: v.to_vec(),
            ..Default::default()
        }
    }
    fn strings(name: &str, v: &[&str]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: 8,
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }
    fn string(name: &str, v: &str) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: 3,
            s: v.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    /// One stump per tree on feature 0 (`x <= t` goes to node 1), leaves 1 and 2.
    fn stumps(op: &str, thresholds: &[f32], extra: Vec<AttributeProto>) -> NodeProto {
        let trees = thresholds.len() as i64;
        let per = |v: [i64; 3]| -> Vec<i64> { (0..trees).flat_map(|_| v).collect() };
        let mut attribute = vec![
            ints(
                "nodes_treeids",
                &(0..trees).flat_map(|t| [t; 3]).collect::<Vec<_>>(),
            ),
            ints("nodes_nodeids", &per([0, 1, 2])),
            ints("nodes_featureids", &per([0, 0, 0])),
            strings(
                "nodes_modes",
                &(0..trees)
                    .flat_map(|_| ["BRANCH_LEQ", "LEAF", "LEAF"])
                    .collect::<Vec<_>>(),
            ),
            floats(
                "nodes_values",
                &thresholds
                    .iter()
                    .flat_map(|&t| [t, 0.0, 0.0])
                    .collect::<Vec<_>>(),
            ),
            ints("nodes_truenodeids", &per([1, 0, 0])),
            ints("nodes_falsenodeids", &per([2, 0, 0])),
            ints("nodes_missing_value_tracks_true", &per([1, 0, 0])),
        ];
        attribute.extend(extra);
        NodeProto {
            op_type: op.into(),
            attribute,
            ..Default::default()
        }
    }

    #[test]
    fn regressor_sums_and_averages_leaves_with_missing_tracks() {
        // Tree t: leaf 1 weighs 1 + t, leaf 2 weighs 10 + t.
        let weights = vec![
            ints("target_treeids", &[0, 0, 1, 1]),
            ints("target_nodeids", &[1, 2, 1, 2]),
            ints("target_ids", &[0, 0, 0, 0]),
            floats("target_weights", &[1.0, 10.0, 2.0, 11.0]),
        ];
        let mut sum_attrs = weights.clone();
        sum_attrs.push(floats("base_values", &[0.5]));
        let sum =
            TreeEnsemble::parse(&stumps("TreeEnsembleRegressor", &[0.0, 1.0], sum_attrs)).unwrap();
        let mut out = [0f32; 4];
        sum.predict(&[-1.0, 0.5, 2.0, f64::NAN], 1, &mut out);
        // -1: both left; 0.5: right then left; 2: both right; NaN: tracks true → both left.
        assert_eq!(out, [3.5, 12.5, 21.5, 3.5]);
        let mut avg_attrs = weights;
        avg_attrs.push(string("aggregate_function", "AVERAGE"));
        let avg =
            TreeEnsemble::parse(&stumps("TreeEnsembleRegressor", &[0.0, 1.0], avg_attrs)).unwrap();
        let mut out = [0f32; 1];
        avg.predict(&[2.0], 1, &mut out);
        assert_eq!(out, [10.5]);
    }

    #[test]
    fn binary_classifier_with_one_weighted_class_follows_onnxruntime() {
        // GradientBoostingClassifier-style: class 0 weights only, one base value, LOGISTIC.
        let node = stumps(
            "TreeEnsembleClassifier",
            &[0.0],
            vec![
                ints("class_treeids", &[0, 0]),
                ints("class_nodeids", &[1, 2]),
                ints("class_ids", &[0, 0]),
                floats("class_weights", &[-1.0, 2.0]),
                ints("classlabels_int64s", &[0, 1]),
                floats("base_values", &[0.25]),
                string("post_transform", "LOGISTIC"),
            ],
        );
        let trees = TreeEnsemble::parse(&node).unwrap();
        let mut out = [0f32; 4];
        trees.predict(&[-1.0, 1.0], 1, &mut out);
        let p = |s: f32| 1.0 / (1.0 + (-s).exp());
        for (got, want) in out
            .iter()
            .zip([1.0 - p(-0.75), p(-0.75), 1.0 - p(2.25), p(2.25)])
        {
            assert!((got - want).abs() < 1e-6, "{out:?}");
        }
    }

    #[test]
    fn multiclass_softmax_rows_sum_to_one() {
        let node = stumps(
            "TreeEnsembleClassifier",
            &[0.0],
            vec![
                ints("class_treeids", &[0, 0, 0, 0, 0, 0]),
                ints("class_nodeids", &[1, 1, 1, 2, 2, 2]),
                ints("class_ids", &[0, 1, 2, 0, 1, 2]),
                floats("class_weights", &[1.0, 2.0, 3.0, 3.0, 2.0, 1.0]),
                strings("classlabels_strings", &["a", "b", "c"]),
                string("post_transform", "SOFTMAX"),
            ],
        );
        let trees = TreeEnsemble::parse(&node).unwrap();
        let mut out = [0f32; 6];
        trees.predict(&[-1.0, 1.0], 1, &mut out);
        assert!(
            out[2] > out[1] && out[1] > out[0] && out[3] > out[5],
            "{out:?}"
        );
        for row in out.chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn malformed_trees_are_refused_by_name() {
        let mut node = stumps("TreeEnsembleRegressor", &[0.0], vec![]);
        node.attribute[5] = ints("nodes_truenodeids", &[7, 0, 0]);
        let err = TreeEnsemble::parse(&node).unwrap_err().to_string();
        assert!(
            err.contains("nodes_truenodeids") && err.contains("missing node 7"),
            "{err}"
        );
        let mut cyclic = stumps("TreeEnsembleRegressor", &[0.0], vec![]);
        cyclic.attribute[5] = ints("nodes_truenodeids", &[0, 0, 0]);
        let err = TreeEnsemble::parse(&cyclic).unwrap_err().to_string();
        assert!(err.contains("cycle"), "{err}");
    }
}
