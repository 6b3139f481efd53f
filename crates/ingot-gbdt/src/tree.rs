//! One regression tree as plain data: flattened node arrays (serde), plus traversal of a raw
//! feature row. Read by prediction here and, later, by TreeSHAP and model import.
//!
//! Node `i` is internal; a child reference `c >= 0` is another internal node, `c < 0` is leaf
//! `!c` (`-1` is leaf 0). A tree with no internal nodes is the single leaf 0.
//! A numeric node sends a row left when `x <= threshold`; a categorical node sends it left when
//! the category code `x` is in its `categories` (sorted codes). Missing values (NaN, and for
//! categorical nodes any code that is negative or not an integer the node knows) go left exactly
//! when `default_left`. Two flags express imported trees (XGBoost, LightGBM): `zero_missing`
//! (a numeric value within ±1e-35 counts as missing too, LightGBM's "zero as missing") and
//! `unknown_right` (a categorical code that is not NaN is truncated, and any code outside the
//! node's set, negative or unknown ones included, goes right; only NaN takes `default_left`).

use serde::{Deserialize, Serialize};

use crate::perfect::{PerfectTree, RowBlock};

/// An internal (split) node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Feature index (column of the native preprocessing).
    pub feature: u32,
    /// Numeric split point: left when `x <= threshold` (unused for categorical nodes).
    pub threshold: f64,
    /// Category codes sent left (categorical nodes only; empty means numeric).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<u32>,
    /// Where missing values go.
    pub default_left: bool,
    /// Numeric nodes: values within ±[`ZERO_THRESHOLD`] are missing too (LightGBM).
    #[serde(default, skip_serializing_if = "is_false")]
    pub zero_missing: bool,
    /// Categorical nodes: non-NaN codes are truncated, and every code outside `categories`
    /// (negative and unknown ones included) goes right; only NaN follows `default_left`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unknown_right: bool,
    /// Left child (`< 0`: leaf `!left`).
    pub left: i32,
    /// Right child (`< 0`: leaf `!right`).
    pub right: i32,
    /// Loss reduction of the split.
    pub gain: f64,
    /// Training rows reaching the node.
    pub count: u64,
    /// Sum of hessians of the training rows reaching the node (TreeSHAP cover).
    pub hessian: f64,
    /// The node's own output (shrunk), as if it were a leaf.
    pub value: f64,
}

/// LightGBM's `kZeroThreshold` (a float literal widened to f64): `|x| <= ZERO_THRESHOLD` is
/// zero for nodes with `zero_missing`.
pub const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;

fn is_false(b: &bool) -> bool {
    !*b
}

impl Node {
    /// Whether the node is a categorical split.
    pub fn is_categorical(&self) -> bool {
        !self.categories.is_empty()
    }
}

/// A fitted tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Internal nodes, root first.
    pub nodes: Vec<Node>,
    /// Leaf outputs, learning rate already applied.
    pub leaf_values: Vec<f64>,
    /// Training rows per leaf.
    pub leaf_counts: Vec<u64>,
    /// Hessian sum per leaf.
    pub leaf_hessians: Vec<f64>,
    /// Per categorical node, a bitset of its categories (derived; rebuilt after loading).
    #[serde(skip)]
    bitsets: Vec<Vec<u64>>,
    /// Compact copy of the nodes for traversal (derived; rebuilt after loading).
    #[serde(skip)]
    compact: Vec<CompactNode>,
    /// Fixed-depth layout for block scoring, when the tree is shallow and numeric (derived).
    #[serde(skip)]
    perfect: Option<PerfectTree>,
}

/// The 24 bytes of a node that traversal reads.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CompactNode {
    threshold: f64,
    feature: u32,
    left: i32,
    right: i32,
    /// Bit 0: missing goes left; bit 1: categorical; bit 2: zero is missing; bit 3: unknown
    /// categorical codes go right.
    flags: u32,
}

const DEFAULT_LEFT: u32 = 1;
const CATEGORICAL: u32 = 2;
const ZERO_MISSING: u32 = 4;
const UNKNOWN_RIGHT: u32 = 8;

impl CompactNode {
    /// Whether a numeric node sends `x` left.
    #[inline]
    fn numeric_left(self, x: f64) -> bool {
        let zero = (self.flags & ZERO_MISSING != 0) & (x.abs() <= ZERO_THRESHOLD);
        if x.is_nan() | zero {
            self.flags & DEFAULT_LEFT != 0
        } else {
            x <= self.threshold
        }
    }
}

impl Tree {
    /// A tree made of the given parts (bitsets derived).
    pub fn new(
        nodes: Vec<Node>,
        leaf_values: Vec<f64>,
        leaf_counts: Vec<u64>,
        leaf_hessians: Vec<f64>,
    ) -> Tree {
        let mut tree = Tree {
            nodes,
            leaf_values,
            leaf_counts,
            leaf_hessians,
            bitsets: Vec::new(),
            compact: Vec::new(),
            perfect: None,
        };
        tree.rebuild();
        tree
    }

    /// Recomputes derived data after deserializing.
    pub fn rebuild(&mut self) {
        self.compact = self
            .nodes
            .iter()
            .map(|n| CompactNode {
                threshold: n.threshold,
                feature: n.feature,
                left: n.left,
                right: n.right,
                flags: [
                    (n.default_left, DEFAULT_LEFT),
                    (n.is_categorical(), CATEGORICAL),
                    (n.zero_missing, ZERO_MISSING),
                    (n.unknown_right, UNKNOWN_RIGHT),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .fold(0, |flags, (_, bit)| flags | bit),
            })
            .collect();
        self.bitsets = self
            .nodes
            .iter()
            .map(|node| {
                let max = node.categories.iter().copied().max().map_or(0, |m| m + 1);
                let mut bits = vec![0u64; (max as usize).div_ceil(64)];
                for &c in &node.categories {
                    bits[c as usize / 64] |= 1 << (c % 64);
                }
                bits
            })
            .collect();
        self.perfect = PerfectTree::build(&self.nodes, &self.leaf_values);
    }

    /// Checks structural validity against `n_features` inputs.
    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        let leaves = self.leaf_values.len();
        if leaves != self.nodes.len() + 1 {
            return Err(format!(
                "{} internal nodes need {} leaves, got {leaves}",
                self.nodes.len(),
                self.nodes.len() + 1
            ));
        }
        if self.leaf_counts.len() != leaves || self.leaf_hessians.len() != leaves {
            return Err("leaf statistics do not match the leaves".to_string());
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if node.feature as usize >= n_features {
                return Err(format!(
                    "node {i} splits on unknown feature {}",
                    node.feature
                ));
            }
            for child in [node.left, node.right] {
                let ok = if child >= 0 {
                    (child as usize) > i && (child as usize) < self.nodes.len()
                } else {
                    ((!child) as usize) < leaves
                };
                if !ok {
                    return Err(format!("node {i} has invalid child {child}"));
                }
            }
        }
        if !self.leaf_values.iter().all(|v| v.is_finite()) {
            return Err("non-finite leaf value".to_string());
        }
        Ok(())
    }

    /// The leaf index reached by a raw feature row.
    #[inline]
    pub fn leaf(&self, row: &[f64]) -> usize {
        let nodes = &self.compact[..];
        if nodes.is_empty() {
            return 0;
        }
        let mut i = 0usize;
        loop {
            let node = nodes[i];
            let left = self.goes_left_compact(i, node, row[node.feature as usize]);
            let next = if left { node.left } else { node.right };
            if next < 0 {
                return (!next) as usize;
            }
            i = next as usize;
        }
    }

    /// Adds this tree's output to `out[j * stride]` for every row `j` of `block`. Shallow
    /// numeric trees take the fixed-depth walk ([`crate::perfect`]); others walk their nodes,
    /// eight rows at a time, one level per step, so the rows' node loads overlap.
    pub fn add_to_block(&self, block: &RowBlock, out: &mut [f64], stride: usize) {
        if let Some(perfect) = &self.perfect {
            if perfect.add_to_block(block, out, stride) {
                return;
            }
        }
        const LANES: usize = 8;
        let (data, cols) = (block.raw(), block.cols());
        let rows = block.rows();
        let nodes = &self.compact[..];
        if nodes.is_empty() {
            for j in 0..rows {
                out[j * stride] += self.leaf_values[0];
            }
            return;
        }
        let mut first = 0;
        while first + LANES <= rows {
            let mut at = [0i32; LANES];
            loop {
                let mut active = false;
                for (lane, i) in at.iter_mut().enumerate() {
                    if *i < 0 {
                        continue;
                    }
                    active = true;
                    let node = nodes[*i as usize];
                    let x = data[(first + lane) * cols + node.feature as usize];
                    let left = self.goes_left_compact(*i as usize, node, x);
                    *i = if left { node.left } else { node.right };
                }
                if !active {
                    break;
                }
            }
            for (lane, i) in at.iter().enumerate() {
                out[(first + lane) * stride] += self.leaf_values[(!*i) as usize];
            }
            first += LANES;
        }
        for j in first..rows {
            out[j * stride] += self.predict(&data[j * cols..(j + 1) * cols]);
        }
    }

    /// The fixed-depth layout, when this tree has one.
    pub(crate) fn perfect(&self) -> Option<&PerfectTree> {
        self.perfect.as_ref()
    }

    /// Whether internal node `node` sends a row whose split feature is `x` to its left child.
    #[inline]
    pub fn goes_left(&self, node: usize, x: f64) -> bool {
        self.goes_left_compact(node, self.compact[node], x)
    }

    #[inline]
    fn goes_left_compact(&self, i: usize, node: CompactNode, x: f64) -> bool {
        if node.flags & CATEGORICAL == 0 {
            node.numeric_left(x)
        } else {
            self.categorical_left(i, x, node.flags)
        }
    }

    #[inline]
    fn categorical_left(&self, node: usize, x: f64, flags: u32) -> bool {
        let bits = &self.bitsets[node];
        let default_left = flags & DEFAULT_LEFT != 0;
        let code = if flags & UNKNOWN_RIGHT != 0 {
            if x.is_nan() {
                return default_left;
            }
            x.trunc()
        } else {
            x
        };
        if code >= 0.0 && code < (bits.len() * 64) as f64 && code.fract() == 0.0 {
            let c = code as usize;
            bits[c / 64] >> (c % 64) & 1 == 1
        } else if flags & UNKNOWN_RIGHT != 0 {
            false
        } else {
            default_left
        }
    }

    /// The output for a raw feature row.
    #[inline]
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.leaf_values[self.leaf(row)]
    }

    /// Number of leaves.
    pub fn num_leaves(&self) -> usize {
        self.leaf_values.len()
    }

    /// Number of internal nodes on the longest root-to-leaf path (0 for a single leaf).
    pub fn depth(&self) -> usize {
        // Children always come after their parent, so one backward pass sees them first.
        let mut depth = vec![0usize; self.nodes.len()];
        for i in (0..self.nodes.len()).rev() {
            let below = |c: i32| if c >= 0 { depth[c as usize] } else { 0 };
            depth[i] = 1 + below(self.nodes[i].left).max(below(self.nodes[i].right));
        }
        depth.first().copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stump(categories: Vec<u32>, default_left: bool) -> Tree {
        Tree::new(
            vec![Node {
                feature: 1,
                threshold: 0.5,
                categories,
                default_left,
                zero_missing: false,
                unknown_right: false,
                left: -1,
                right: -2,
                gain: 1.0,
                count: 10,
                hessian: 10.0,
                value: 0.0,
            }],
            vec![-1.0, 1.0],
            vec![5, 5],
            vec![5.0, 5.0],
        )
    }

    #[test]
    fn numeric_and_missing_routing() {
        let t = stump(Vec::new(), true);
        assert_eq!(t.predict(&[9.0, 0.5]), -1.0);
        assert_eq!(t.predict(&[9.0, 0.6]), 1.0);
        assert_eq!(t.predict(&[9.0, f64::NAN]), -1.0);
        let t = stump(Vec::new(), false);
        assert_eq!(t.predict(&[9.0, f64::NAN]), 1.0);
        assert!(t.validate(2).is_ok());
        assert!(t.validate(1).is_err());
    }

    #[test]
    fn zero_as_missing_routing() {
        let mut t = stump(Vec::new(), false);
        t.nodes[0].zero_missing = true;
        t.rebuild();
        // 0 would go left by the threshold, but zero is missing and missing goes right.
        assert_eq!(t.predict(&[9.0, 0.0]), 1.0);
        assert_eq!(t.predict(&[9.0, -0.0]), 1.0);
        assert_eq!(t.predict(&[9.0, 1e-36]), 1.0);
        assert_eq!(t.predict(&[9.0, f64::NAN]), 1.0);
        assert_eq!(t.predict(&[9.0, -1e-30]), -1.0);
        assert_eq!(t.predict(&[9.0, 0.25]), -1.0);
        assert!(!t.goes_left(0, 0.0));
        assert!(t.goes_left(0, 0.5));
    }

    #[test]
    fn unknown_codes_go_right_when_flagged() {
        let mut t = stump(vec![0, 2], true);
        t.nodes[0].unknown_right = true;
        t.rebuild();
        assert_eq!(t.predict(&[0.0, 0.0]), -1.0);
        assert_eq!(t.predict(&[0.0, 2.7]), -1.0, "codes are truncated");
        assert_eq!(t.predict(&[0.0, 1.0]), 1.0);
        assert_eq!(t.predict(&[0.0, -1.0]), 1.0);
        assert_eq!(t.predict(&[0.0, 1e9]), 1.0);
        assert_eq!(t.predict(&[0.0, f64::NAN]), -1.0, "NaN takes the default");
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("unknown_right"));
        let mut back: Tree = serde_json::from_str(&json).unwrap();
        back.rebuild();
        assert_eq!(back.predict(&[0.0, -1.0]), 1.0);
        // Without the flag, the same codes take the default direction.
        let plain = stump(vec![0, 2], true);
        assert_eq!(plain.predict(&[0.0, -1.0]), -1.0);
        assert_eq!(plain.predict(&[0.0, 2.7]), -1.0);
        assert!(!serde_json::to_string(&plain)
            .unwrap()
            .contains("zero_missing"));
        assert_eq!(plain.depth(), 1);
    }

    #[test]
    fn categorical_routing_and_unseen_codes() {
        let t = stump(vec![0, 70], false);
        assert_eq!(t.predict(&[0.0, 0.0]), -1.0);
        assert_eq!(t.predict(&[0.0, 70.0]), -1.0);
        assert_eq!(t.predict(&[0.0, 1.0]), 1.0);
        assert_eq!(t.predict(&[0.0, -1.0]), 1.0);
        assert_eq!(t.predict(&[0.0, 1e9]), 1.0);
        assert_eq!(t.predict(&[0.0, f64::NAN]), 1.0);
        assert_eq!(t.predict(&[0.0, 0.5]), 1.0);
        let json = serde_json::to_vec(&t).unwrap();
        let mut back: Tree = serde_json::from_slice(&json).unwrap();
        back.rebuild();
        assert_eq!(back, t);
        assert_eq!(back.predict(&[0.0, 70.0]), -1.0);
    }
}
