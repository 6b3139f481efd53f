//! One random cut tree: an arena of nodes with bounding boxes that supports streaming
//! insertion and deletion of points (the robust random cut tree of Guha et al.), and the
//! expected depth at which a new point would be inserted, which scores anomalies.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// "No node".
pub const NONE: usize = usize::MAX;

/// A node: internal (a cut) or a leaf (a point, with its multiplicity).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub leaf: bool,
    pub dim: usize,
    pub cut: f64,
    pub left: usize,
    pub right: usize,
    pub parent: usize,
    /// Points below (a leaf's multiplicity).
    pub mass: usize,
    /// Bounding box of the points below (a leaf: the point itself).
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

/// A random cut tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub root: usize,
    /// Arena slots released by deletions, reused by insertions.
    pub free: Vec<usize>,
}

fn union(lo: &[f64], hi: &[f64], p: &[f64]) -> (Vec<f64>, Vec<f64>) {
    (
        lo.iter().zip(p).map(|(a, b)| a.min(*b)).collect(),
        hi.iter().zip(p).map(|(a, b)| a.max(*b)).collect(),
    )
}

/// A cut through the box: dimension with probability proportional to its side, position
/// uniform along it.
fn random_cut(lo: &[f64], hi: &[f64], rng: &mut ChaCha8Rng) -> (usize, f64) {
    let total: f64 = lo.iter().zip(hi).map(|(a, b)| b - a).sum();
    let mut r = rng.gen::<f64>() * total;
    for (d, (a, b)) in lo.iter().zip(hi).enumerate() {
        let side = b - a;
        if r < side {
            return (d, a + r);
        }
        r -= side;
    }
    // Rounding left r at the very end: cut inside the last non-empty side.
    let d = (0..lo.len()).rev().find(|&d| hi[d] > lo[d]).unwrap_or(0);
    (d, lo[d])
}

/// Average path length of an unsuccessful search in a binary search tree of `n` points (the
/// isolation-forest normalizer).
pub fn average_depth(n: usize) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let m = (n - 1) as f64;
    2.0 * (m.ln() + 0.577_215_664_901_532_9) - 2.0 * m / n as f64
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree {
            nodes: Vec::new(),
            root: NONE,
            free: Vec::new(),
        }
    }

    fn alloc(&mut self, node: Node) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    fn leaf(&mut self, p: &[f64], parent: usize) -> usize {
        self.alloc(Node {
            leaf: true,
            dim: 0,
            cut: 0.0,
            left: NONE,
            right: NONE,
            parent,
            mass: 1,
            lo: p.to_vec(),
            hi: p.to_vec(),
        })
    }

    fn replace_child(&mut self, parent: usize, old: usize, new: usize) {
        if parent == NONE {
            self.root = new;
        } else if self.nodes[parent].left == old {
            self.nodes[parent].left = new;
        } else {
            self.nodes[parent].right = new;
        }
    }

    /// Number of points (with multiplicity).
    pub fn mass(&self) -> usize {
        if self.root == NONE {
            0
        } else {
            self.nodes[self.root].mass
        }
    }

    /// Inserts a point: walking down, a random cut of the node's box grown by the point either
    /// separates the point (a new internal node takes the node's place, the point its own
    /// leaf) or not (the box grows and the walk continues).
    pub fn insert(&mut self, p: &[f64], rng: &mut ChaCha8Rng) {
        if self.root == NONE {
            self.root = self.leaf(p, NONE);
            return;
        }
        let mut node = self.root;
        loop {
            let (lo, hi) = union(&self.nodes[node].lo, &self.nodes[node].hi, p);
            let n = &self.nodes[node];
            if n.leaf && n.lo == p {
                self.nodes[node].mass += 1;
                return;
            }
            let (dim, cut) = random_cut(&lo, &hi, rng);
            let separates = n.leaf || cut < n.lo[dim] || cut >= n.hi[dim];
            if separates {
                let parent = n.parent;
                let mass = n.mass + 1;
                let joint = self.alloc(Node {
                    leaf: false,
                    dim,
                    cut,
                    left: NONE,
                    right: NONE,
                    parent,
                    mass,
                    lo,
                    hi,
                });
                let new_leaf = self.leaf(p, joint);
                let (left, right) = if p[dim] <= cut {
                    (new_leaf, node)
                } else {
                    (node, new_leaf)
                };
                self.nodes[joint].left = left;
                self.nodes[joint].right = right;
                self.nodes[node].parent = joint;
                self.replace_child(parent, node, joint);
                return;
            }
            let n = &mut self.nodes[node];
            n.lo = lo;
            n.hi = hi;
            n.mass += 1;
            node = if p[n.dim] <= n.cut { n.left } else { n.right };
        }
    }

    /// Deletes one copy of a point previously inserted; `false` when it is not in the tree.
    pub fn delete(&mut self, p: &[f64]) -> bool {
        let mut node = self.root;
        while node != NONE && !self.nodes[node].leaf {
            let n = &self.nodes[node];
            node = if p[n.dim] <= n.cut { n.left } else { n.right };
        }
        if node == NONE || self.nodes[node].lo != p {
            return false;
        }
        let mut up;
        if self.nodes[node].mass > 1 {
            self.nodes[node].mass -= 1;
            up = self.nodes[node].parent;
        } else {
            let parent = self.nodes[node].parent;
            self.free.push(node);
            if parent == NONE {
                self.root = NONE;
                return true;
            }
            let pn = &self.nodes[parent];
            let sibling = if pn.left == node { pn.right } else { pn.left };
            let grand = pn.parent;
            self.nodes[sibling].parent = grand;
            self.replace_child(grand, parent, sibling);
            self.free.push(parent);
            up = grand;
        }
        while up != NONE {
            let (l, r) = (self.nodes[up].left, self.nodes[up].right);
            let lo: Vec<f64> = self.nodes[l]
                .lo
                .iter()
                .zip(&self.nodes[r].lo)
                .map(|(a, b)| a.min(*b))
                .collect();
            let hi: Vec<f64> = self.nodes[l]
                .hi
                .iter()
                .zip(&self.nodes[r].hi)
                .map(|(a, b)| a.max(*b))
                .collect();
            let n = &mut self.nodes[up];
            n.lo = lo;
            n.hi = hi;
            n.mass -= 1;
            up = n.parent;
        }
        true
    }

    /// The expected depth at which `p` would be inserted, over the random cuts insertion
    /// draws: at each node, the chance that a cut of the grown box separates `p` is the share
    /// of the box growth in its total side length. A point equal to a leaf gets the leaf's
    /// depth plus the average depth among its copies.
    /// (One-off: flattens the tree; score many points through a [`ScoringTree`].)
    pub fn expected_depth(&self, p: &[f64]) -> f64 {
        ScoringTree::new(self, p.len()).expected_depth(p)
    }
}

/// A read-only copy of a [`Tree`] laid out for scoring: nodes in depth-first order (a
/// left child right after its parent) with every node's box in one contiguous slice, so a
/// walk touches one small cache-friendly block per node instead of three heap allocations.
/// It computes [`Tree::expected_depth`].
#[derive(Debug, Clone, Default)]
pub struct ScoringTree {
    /// Per node: `(dim, right child)`; the right child is `LEAF` for a leaf.
    links: Vec<(u32, u32)>,
    /// Per node: its cut (internal) or `average_depth(mass + 1)` (leaf).
    cuts: Vec<f64>,
    /// Per node, `2 * d` values: internal nodes `lo` then `hi`; leaves the point then unused.
    boxes: Vec<f64>,
    /// Per node: the total side length of its box.
    sides: Vec<f64>,
    d: usize,
}

const LEAF: u32 = u32::MAX;

impl ScoringTree {
    /// Flattens `tree` for points of `d` features.
    pub fn new(tree: &Tree, d: usize) -> ScoringTree {
        let mut flat = ScoringTree {
            d,
            ..ScoringTree::default()
        };
        if tree.root == NONE {
            return flat;
        }
        let live = tree.nodes.len() - tree.free.len();
        flat.links.reserve(live);
        flat.cuts.reserve(live);
        flat.boxes.reserve(live * 2 * d);
        flat.sides.reserve(live);
        // Explicit stack: (original node, flat slot of the parent whose right link it fills).
        let mut stack = vec![(tree.root, usize::MAX)];
        while let Some((node, parent)) = stack.pop() {
            let slot = flat.links.len();
            if parent != usize::MAX {
                flat.links[parent].1 = slot as u32;
            }
            let n = &tree.nodes[node];
            flat.sides.push(side(&n.lo[..d], &n.hi[..d]));
            flat.boxes.extend_from_slice(&n.lo[..d]);
            if n.leaf {
                flat.boxes.extend_from_slice(&n.lo[..d]);
                flat.links.push((0, LEAF));
                flat.cuts.push(average_depth(n.mass + 1));
            } else {
                flat.boxes.extend_from_slice(&n.hi[..d]);
                flat.links.push((n.dim as u32, 0));
                flat.cuts.push(n.cut);
                // The left child is popped next (slot + 1); the right one later.
                stack.push((n.right, slot));
                stack.push((n.left, usize::MAX));
            }
        }
        flat
    }

    /// [`Tree::expected_depth`] of `p`.
    pub fn expected_depth(&self, p: &[f64]) -> f64 {
        let mut walk = Walk::START;
        if self.links.is_empty() {
            return 0.0;
        }
        while !self.step(&mut walk, &p[..self.d]) {}
        walk.expected
    }

    /// Adds [`Tree::expected_depth`] of each row of the row-major `rows` (`d` values each,
    /// `d ≥ 1`) to its entry of `out`.
    pub fn add_expected_depths(&self, rows: &[f64], out: &mut [f64]) {
        for (o, p) in out.iter_mut().zip(rows.chunks_exact(self.d)) {
            *o += self.expected_depth(p);
        }
    }

    /// One node of a walk; `true` when the walk has ended (at a leaf).
    #[inline(always)]
    fn step(&self, walk: &mut Walk, p: &[f64]) -> bool {
        let d = self.d;
        let node = walk.node;
        let (dim, right) = self.links[node];
        let b = &self.boxes[node * 2 * d..(node + 1) * 2 * d];
        let (lo, hi) = b.split_at(d);
        if right == LEAF {
            if lo == p {
                walk.expected += walk.stay * (walk.depth + self.cuts[node]);
            } else {
                walk.expected += walk.stay * (walk.depth + 1.0);
            }
            return true;
        }
        // The chance that the cut of the box grown by `p` separates `p`: the growth over the
        // grown box's total side, `growth / (side + growth)` (`side` precomputed). The growth
        // sums in four fixed lanes, so it vectorizes and is the same on every machine.
        let growth = growth(lo, hi, p);
        if growth > 0.0 {
            let q = growth / (self.sides[node] + growth);
            walk.expected += walk.stay * q * (walk.depth + 1.0);
            walk.stay *= 1.0 - q;
        }
        walk.depth += 1.0;
        walk.node = if p[dim as usize] <= self.cuts[node] {
            node + 1
        } else {
            right as usize
        };
        false
    }
}

/// Total side length of the box `lo..hi`, summed in four fixed lanes.
fn side(lo: &[f64], hi: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (lo4, hi4) = (lo.chunks_exact(4), hi.chunks_exact(4));
    let (lo_rest, hi_rest) = (lo4.remainder(), hi4.remainder());
    for (a, b) in lo4.zip(hi4) {
        for k in 0..4 {
            acc[k] += b[k] - a[k];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (a, b) in lo_rest.iter().zip(hi_rest) {
        sum += b - a;
    }
    sum
}

/// How much the box `lo..hi` grows, in total side length, to take in `p` (0 inside it; NaN
/// coordinates count as inside), summed in four fixed lanes.
#[inline(always)]
fn growth(lo: &[f64], hi: &[f64], p: &[f64]) -> f64 {
    let ext = |a: f64, b: f64, x: f64| (a - x).max(0.0) + (x - b).max(0.0);
    let mut acc = [0.0f64; 4];
    let (lo4, hi4, p4) = (lo.chunks_exact(4), hi.chunks_exact(4), p.chunks_exact(4));
    let (lo_rest, hi_rest, p_rest) = (lo4.remainder(), hi4.remainder(), p4.remainder());
    for ((a, b), x) in lo4.zip(hi4).zip(p4) {
        for k in 0..4 {
            acc[k] += ext(a[k], b[k], x[k]);
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for ((a, b), x) in lo_rest.iter().zip(hi_rest).zip(p_rest) {
        sum += ext(*a, *b, *x);
    }
    sum
}

/// The state of one point's walk down a [`ScoringTree`].
#[derive(Debug, Clone, Copy)]
struct Walk {
    node: usize,
    depth: f64,
    stay: f64,
    expected: f64,
}

impl Walk {
    const START: Walk = Walk {
        node: 0,
        depth: 0.0,
        stay: 1.0,
        expected: 0.0,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::rng;

    fn points() -> Vec<Vec<f64>> {
        (0..40)
            .map(|i| vec![(i % 7) as f64, (i % 5) as f64 * 0.5])
            .collect()
    }

    #[test]
    fn insert_builds_consistent_boxes_and_masses() {
        let mut tree = Tree::new();
        let mut r = rng(1, 0);
        for p in points() {
            tree.insert(&p, &mut r);
        }
        assert_eq!(tree.mass(), 40);
        let root = &tree.nodes[tree.root];
        assert_eq!(
            (root.lo.clone(), root.hi.clone()),
            (vec![0.0, 0.0], vec![6.0, 2.0])
        );
        for (i, n) in tree.nodes.iter().enumerate() {
            if !n.leaf {
                let (l, r) = (&tree.nodes[n.left], &tree.nodes[n.right]);
                assert_eq!(n.mass, l.mass + r.mass, "node {i}");
                assert!(l.hi[n.dim] <= n.cut && r.lo[n.dim] > n.cut, "node {i}");
            }
        }
        // 35 distinct points (7 x 5): duplicates raise a leaf's mass instead.
        assert_eq!(tree.nodes.iter().filter(|n| n.leaf).count(), 35);
    }

    #[test]
    fn outliers_are_isolated_early_and_deletion_undoes_insertion() {
        let mut tree = Tree::new();
        let mut r = rng(2, 0);
        for p in points() {
            tree.insert(&p, &mut r);
        }
        let inside = tree.expected_depth(&[3.0, 1.0]);
        let outside = tree.expected_depth(&[60.0, -40.0]);
        assert!(outside < 1.1 && inside > 3.0, "{outside} vs {inside}");
        let before = tree.nodes[tree.root].clone();
        tree.insert(&[60.0, -40.0], &mut r);
        assert_eq!(tree.mass(), 41);
        assert!(tree.delete(&[60.0, -40.0]));
        assert_eq!(tree.nodes[tree.root], before);
        assert!(!tree.delete(&[0.25, 0.25]));
        for p in points() {
            assert!(tree.delete(&p));
        }
        assert_eq!(tree.mass(), 0);
        assert_eq!(tree.root, NONE);
    }
}
