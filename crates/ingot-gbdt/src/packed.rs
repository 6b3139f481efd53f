//! The trees of an ensemble packed into one arena at one common depth, for scoring a few rows:
//! a single row walks several trees at once, so their memory loads overlap, where the
//! per-tree block walk ([`crate::perfect`]) overlaps the loads of several rows of one tree.
//!
//! Every tree is laid out as a [`PerfectTree`] of the forest's deepest depth: a shallower
//! tree's bottom slots become padding nodes that send every row left, so leaf `s` of a tree
//! of depth `d` sits in bottom slot `s << (D - d)`. Node records hold the threshold and the
//! value's place in a [`RowBlock`] group side by side, and a tree's nodes and leaves are
//! contiguous, so a step touches one cache line and the whole forest spans few pages.

use crate::perfect::{group_span, Lane, PerfectTree, RowBlock, Sides, LANES};
use crate::tree::Tree;

/// Trees walked together for one row.
const AT_ONCE: usize = 8;
/// The common depth may multiply the steps of a row's walk by at most this factor.
const MAX_STEP_BLOWUP: usize = 2;
/// Largest packed forest, in node and leaf slots (at most 24 bytes each).
const MAX_SLOTS: usize = 1 << 22;
/// The deepest common depth packed.
const MAX_DEPTH: usize = 10;

/// One internal node: the threshold and where its value sits in a row group.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Packed<T> {
    threshold: T,
    column: u32,
}

/// Which values a packed forest's thresholds are compared with: the exact values of
/// [`RowBlock::new`], or the float32 ones of [`RowBlock::float32`]. A model reads its rows one
/// way, so a forest packs only the thresholds that way needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Exact,
    Float32,
}

/// Per tree, `2^depth` node slots (the last unused), heap order, in one precision.
#[derive(Debug, Clone, PartialEq)]
enum Nodes {
    Exact(Vec<Packed<f64>>),
    /// Float32 thresholds: each tree's own (the largest float32 at or below its threshold).
    Float32(Vec<Packed<f32>>),
}

/// An ensemble's trees packed for few-row scoring (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct PackedForest {
    depth: usize,
    trees: usize,
    /// Whether the columns index a four-copy [`RowBlock`] (some node treats zero as missing).
    four: bool,
    nodes: Nodes,
    /// Per tree, `2^depth` bottom slots.
    leaves: Vec<f64>,
}

/// A tree's shape for packing: its fixed-depth layout, or a single leaf.
enum Shape<'a> {
    Laid(&'a PerfectTree),
    Leaf(f64),
}

impl PackedForest {
    /// Packs `trees` for rows read at `precision`, or `None` when some tree has no fixed-depth
    /// layout (and is not a single leaf), when the common depth would more than double the
    /// steps of a row's walk (one deep tree among stumps), or when the forest would take more
    /// than [`MAX_SLOTS`].
    pub fn build(trees: &[Tree], precision: Precision) -> Option<PackedForest> {
        let shapes: Vec<Shape> = trees
            .iter()
            .map(|tree| match (tree.perfect(), &tree.leaf_values[..]) {
                (Some(perfect), _) => Some(Shape::Laid(perfect)),
                (None, [leaf]) if tree.nodes.is_empty() => Some(Shape::Leaf(*leaf)),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let own_depth = |shape: &Shape| match shape {
            Shape::Laid(p) => p.depth,
            Shape::Leaf(_) => 1,
        };
        let depth = shapes.iter().map(own_depth).max().unwrap_or(1);
        let own_steps: usize = shapes.iter().map(own_depth).sum();
        if depth > MAX_DEPTH
            || trees.len() * depth > MAX_STEP_BLOWUP * own_steps
            || trees.len() << depth > MAX_SLOTS
        {
            return None;
        }
        let four = shapes
            .iter()
            .any(|s| matches!(s, Shape::Laid(p) if p.zero_missing));
        let slots = 1usize << depth;
        let mut leaves = vec![0.0; trees.len() * slots];
        for (shape, leaves) in shapes.iter().zip(leaves.chunks_mut(slots)) {
            match shape {
                Shape::Leaf(value) => leaves.fill(*value),
                Shape::Laid(p) => {
                    // Leaf `s` fills the `2^(depth - d)` slots below its padding subtree;
                    // the walk reaches the first of them.
                    let spread = 1usize << (depth - p.depth);
                    for (slot, value) in leaves.iter_mut().enumerate() {
                        *value = p.bottom[slot / spread];
                    }
                }
            }
        }
        let nodes = match precision {
            Precision::Exact => Nodes::Exact(pack_nodes(&shapes, slots, four)),
            Precision::Float32 => Nodes::Float32(pack_nodes(&shapes, slots, four)),
        };
        Some(PackedForest {
            depth,
            trees: trees.len(),
            four,
            nodes,
            leaves,
        })
    }

    /// The values this forest's thresholds are compared with.
    pub fn precision(&self) -> Precision {
        match self.nodes {
            Nodes::Exact(_) => Precision::Exact,
            Nodes::Float32(_) => Precision::Float32,
        }
    }

    /// Calls `add(row, output, leaf)` for every row of `block` and every tree in tree order,
    /// tree `t` adding to output `t % outputs`; returns `false` (calling nothing) when the
    /// block was not prepared for these trees.
    pub fn add_leaves(
        &self,
        block: &RowBlock,
        outputs: usize,
        mut add: impl FnMut(usize, usize, f64),
    ) -> bool {
        let outputs = outputs.max(1);
        let mut leaves = vec![0.0; self.trees];
        for row in 0..block.rows() {
            if !self.row_leaves(block, row, &mut leaves) {
                return false;
            }
            // `t % outputs` counted, not divided, per tree.
            let mut output = 0;
            for &leaf in &leaves {
                add(row, output, leaf);
                output += 1;
                if output == outputs {
                    output = 0;
                }
            }
        }
        true
    }

    /// Writes each tree's leaf for row `row` of `block` into `leaves` (one per tree, in tree
    /// order), or returns `false` (writing nothing) when the block was not prepared for these
    /// trees or reads its values at another precision than the forest was packed for.
    ///
    /// # Panics
    /// When `row` is past the block's rows or `leaves` is not one per tree.
    pub fn row_leaves(&self, block: &RowBlock, row: usize, leaves: &mut [f64]) -> bool {
        assert!(row < block.rows(), "row {row} of {}", block.rows());
        assert_eq!(leaves.len(), self.trees, "one leaf per tree");
        if block.copies != if self.four { 4 } else { 2 } {
            return false;
        }
        match (&block.sides, &self.nodes) {
            (Sides::Exact(sides), Nodes::Exact(nodes)) => {
                self.row_depth(nodes, sides, block, row, leaves)
            }
            (Sides::Float32(sides), Nodes::Float32(nodes)) => {
                self.row_depth(nodes, sides, block, row, leaves)
            }
            _ => return false,
        }
        true
    }

    /// [`PackedForest::walk_row`] for this forest's depth.
    fn row_depth<T: Lane>(
        &self,
        nodes: &[Packed<T>],
        sides: &[T],
        block: &RowBlock,
        row: usize,
        leaves: &mut [f64],
    ) {
        let span = group_span(block.cols(), block.copies);
        let group = &sides[(row / LANES) * span..][..span];
        let lane = row % LANES;
        macro_rules! by_depth {
            ($($d:literal => $n:literal),*) => {
                match self.depth {
                    $($d => self.walk_row::<T, $d, $n>(nodes, group, lane, leaves),)*
                    _ => unreachable!("packed forests are at most {MAX_DEPTH} deep"),
                }
            };
        }
        by_depth!(1 => 2, 2 => 4, 3 => 8, 4 => 16, 5 => 32, 6 => 64, 7 => 128, 8 => 256,
            9 => 512, 10 => 1024);
    }

    /// Walks [`AT_ONCE`] trees of depth `D` (`N = 2^D` slots each) at a time for one row.
    #[inline(always)]
    fn walk_row<T: Lane, const D: usize, const N: usize>(
        &self,
        nodes: &[Packed<T>],
        group: &[T],
        lane: usize,
        leaves: &mut [f64],
    ) {
        let span = group.len();
        for (c, chunk) in leaves.chunks_mut(AT_ONCE).enumerate() {
            let first = c * AT_ONCE;
            // A short last chunk walks its last tree again in the spare places.
            let bases: [usize; AT_ONCE] =
                std::array::from_fn(|k| (first + k.min(chunk.len() - 1)) * N);
            let mut at = [0usize; AT_ONCE];
            for _ in 0..D {
                for (i, base) in at.iter_mut().zip(&bases) {
                    // `i < N - 1` before each step: the mask changes nothing.
                    let node = nodes[base + (*i & (N - 1))];
                    let x = group[(node.column as usize + lane) & (span - 1)];
                    *i = 2 * *i + 1 + usize::from(x > node.threshold);
                }
            }
            for ((leaf, i), base) in chunk.iter_mut().zip(&at).zip(&bases) {
                // After `D` steps `i` is in `N - 1 ..= 2N - 2`: bottom slot `i + 1 - N`.
                *leaf = self.leaves[base + ((i + 1) & (N - 1))];
            }
        }
    }
}

/// The node slots of every tree, `slots` per tree, with the thresholds type `T` is compared
/// with; slots below a shallower tree's bottom are padding that sends every row left.
fn pack_nodes<T: Lane>(shapes: &[Shape], slots: usize, four: bool) -> Vec<Packed<T>> {
    let padding = Packed {
        threshold: T::INFINITY,
        column: 0,
    };
    let mut nodes = vec![padding; shapes.len() * slots];
    for (shape, nodes) in shapes.iter().zip(nodes.chunks_mut(slots)) {
        if let Shape::Laid(p) = shape {
            let columns = if four { &p.in_four } else { &p.in_two };
            let internal = (1usize << p.depth) - 1;
            let laid = columns.iter().zip(T::thresholds(p)).take(internal);
            for (node, (&column, &threshold)) in nodes.iter_mut().zip(laid) {
                *node = Packed { threshold, column };
            }
        }
    }
    nodes
}

/// A native model's trees packed on first use ([`PackedForest::build`], exact precision):
/// derived data, so it is not serialized and any two caches compare equal.
#[derive(Debug, Clone, Default)]
pub struct PackedCache(std::sync::OnceLock<Option<PackedForest>>);

impl PartialEq for PackedCache {
    fn eq(&self, _: &PackedCache) -> bool {
        true
    }
}

impl PackedCache {
    /// The packed forest of `trees`, built by the first call; `None` when they cannot be
    /// packed, or when `trees` is not the list the cache was built from (another count).
    pub fn forest(&self, trees: &[Tree]) -> Option<&PackedForest> {
        self.0
            .get_or_init(|| PackedForest::build(trees, Precision::Exact))
            .as_ref()
            .filter(|forest| forest.trees == trees.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::score_matrix;
    use crate::perfect::tests::{numeric_node, random_tree};
    use crate::tree::Node;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Laid-out trees of depths 4 to 6, one in eight a single leaf instead.
    fn laid_out_trees(rng: &mut StdRng, count: usize, cols: usize) -> Vec<Tree> {
        (0..count)
            .map(|_| loop {
                if rng.gen_ratio(1, 8) {
                    let leaf = rng.gen_range(-1.0..1.0);
                    break Tree::new(Vec::new(), vec![leaf], vec![0], vec![0.0]);
                }
                let tree = random_tree(rng, cols as u32, 6);
                if tree.perfect().is_some_and(|p| p.depth >= 4) {
                    break tree;
                }
            })
            .collect()
    }

    /// Rows mixing missing, near-zero, infinite and threshold-like values.
    fn rows(rng: &mut StdRng, rows: usize, cols: usize) -> Vec<f64> {
        let specials = [f64::NAN, 0.0, -0.0, 1e-40, f64::INFINITY, f64::NEG_INFINITY];
        (0..rows * cols)
            .map(|_| {
                if rng.gen_bool(0.25) {
                    specials[rng.gen_range(0..specials.len())]
                } else {
                    f64::from(rng.gen_range(-5i8..5)) / 2.0
                }
            })
            .collect()
    }

    /// Checks that every row's packed leaf of each tree is the one that tree's own walk of
    /// `block` reaches.
    fn assert_leaves_as_walked(forest: &PackedForest, trees: &[Tree], block: &RowBlock, seed: u64) {
        let walked: Vec<Vec<f64>> = trees
            .iter()
            .map(|tree| {
                let mut leaves = vec![0.0; block.rows()];
                tree.add_to_block(block, &mut leaves, 1);
                leaves
            })
            .collect();
        let mut leaves = vec![0.0; trees.len()];
        for row in 0..block.rows() {
            assert!(forest.row_leaves(block, row, &mut leaves));
            for (t, walked) in walked.iter().enumerate() {
                assert_eq!(leaves[t], walked[row], "seed {seed}, row {row}, tree {t}");
            }
        }
    }

    #[test]
    fn few_rows_score_as_the_per_tree_walk_does() {
        let cols = 5;
        let mut single_leaves = 0;
        for seed in 0..30 {
            let mut rng = StdRng::seed_from_u64(seed);
            let trees = laid_out_trees(&mut rng, 37, cols);
            single_leaves += trees.iter().filter(|t| t.nodes.is_empty()).count();
            let forest = PackedForest::build(&trees, Precision::Exact).expect("trees pack");
            let forest32 = PackedForest::build(&trees, Precision::Float32).expect("trees pack");
            let data = rows(&mut rng, 3, cols);
            for k in [1, 3] {
                for n in 1..=3 {
                    let score = |packed| {
                        score_matrix((&trees, packed), &data, n, cols, (k, k), |_| {}, |_| {})
                    };
                    let (packed, walked) = (score(Some(&forest)), score(None));
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&packed), bits(&walked), "seed {seed}, {n} rows, k {k}");
                }
            }
            // Float32 blocks: each tree's leaf is the one its own walk reaches. A forest packed
            // for the other precision declines.
            let block = RowBlock::float32(&data, cols, &trees);
            let mut leaves = vec![0.0; trees.len()];
            assert!(!forest.row_leaves(&block, 0, &mut leaves));
            let exact = RowBlock::new(&data, cols, &trees);
            assert!(!forest32.row_leaves(&exact, 0, &mut leaves));
            assert_leaves_as_walked(&forest32, &trees, &block, seed);
        }
        assert!(single_leaves > 0, "no single-leaf tree was packed");
    }

    #[test]
    fn float32_rows_compare_with_the_trees_float32_thresholds() {
        let cols = 4;
        for seed in 0..10 {
            let mut rng = StdRng::seed_from_u64(seed);
            // Thresholds no float32 holds, and values close enough that rounding matters.
            let mut trees = laid_out_trees(&mut rng, 21, cols);
            for tree in &mut trees {
                for node in &mut tree.nodes {
                    node.threshold += rng.gen_range(-1e-7..1e-7);
                }
                tree.rebuild();
            }
            let thresholds: Vec<f64> = trees
                .iter()
                .flat_map(|t| t.nodes.iter().map(|n| n.threshold))
                .collect();
            let data: Vec<f64> = (0..3 * cols)
                .map(|_| {
                    thresholds[rng.gen_range(0..thresholds.len())] + rng.gen_range(-1e-7..1e-7)
                })
                .collect();
            let forest = PackedForest::build(&trees, Precision::Float32).expect("trees pack");
            let block = RowBlock::float32(&data, cols, &trees);
            assert_leaves_as_walked(&forest, &trees, &block, seed);
        }
    }

    #[test]
    fn declines_trees_without_the_layout_and_deep_outliers() {
        let node = numeric_node;
        let stump = || {
            Tree::new(
                vec![node(0.5, -1, -2)],
                vec![1.0, 2.0],
                vec![0; 2],
                vec![0.0; 2],
            )
        };
        assert!(PackedForest::build(&[stump(), stump()], Precision::Exact).is_some());
        // A categorical split has no fixed-depth layout.
        let mut categorical = node(0.0, -1, -2);
        categorical.categories = vec![1];
        let categorical = Tree::new(vec![categorical], vec![1.0, 2.0], vec![0; 2], vec![0.0; 2]);
        assert!(PackedForest::build(&[stump(), categorical], Precision::Exact).is_none());
        // A complete tree seven levels deep: among 20 stumps it would make every stump walk
        // seven steps; among other deep trees it packs.
        let internal = 127;
        let heap = |i: usize| {
            if i < internal {
                i as i32
            } else {
                !((i - internal) as i32)
            }
        };
        let nodes: Vec<Node> = (0..internal)
            .map(|i| node(i as f64, heap(2 * i + 1), heap(2 * i + 2)))
            .collect();
        let deep = Tree::new(nodes, vec![0.5; 128], vec![0; 128], vec![0.0; 128]);
        assert!(deep.perfect().is_some());
        let mut trees = vec![deep.clone()];
        trees.extend((0..20).map(|_| stump()));
        assert!(PackedForest::build(&trees, Precision::Exact).is_none());
        assert!(PackedForest::build(&[deep.clone(), deep, stump()], Precision::Exact).is_some());
        // A cache answers only for the tree list it was built from.
        let cache = PackedCache::default();
        let two = [stump(), stump()];
        assert!(cache.forest(&two).is_some());
        assert!(cache.forest(&two[..1]).is_none());
    }
}
