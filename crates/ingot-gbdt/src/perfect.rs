//! Branch-free block scoring of shallow numeric trees: the fixed-depth ("perfect") tree
//! layout and the row block it reads.
//!
//! A tree of depth `D` is padded to a complete binary tree of `2^D - 1` internal nodes in heap
//! order (children of `i` at `2i + 1` and `2i + 2`). A leaf above the bottom level becomes
//! padding nodes that send every row left, so each row takes exactly `D` steps and lands on one
//! of `2^D` bottom slots holding leaf values. Every row of a block then runs the same number of
//! steps with no data-dependent branch, and the next node index is computed from one comparison
//! instead of loaded, which lets the rows of a block overlap their memory loads.
//!
//! Missing values cost no test per step: a [`RowBlock`] keeps each value twice, with missing
//! values replaced by `-inf` (read by nodes that send them left) and by `+inf` (read by nodes
//! that send them right), and twice more with values within `ZERO_THRESHOLD` of zero treated as
//! missing too, when some tree has zero-as-missing nodes. A step is then `x > threshold` on the
//! copy its node reads. This routes exactly as [`crate::tree::Tree`]'s numeric nodes do
//! (`x <= threshold` left; missing values follow the default direction) for every threshold
//! other than NaN and `+inf`; trees with such thresholds keep the node walk.

use crate::tree::{Node, Tree, ZERO_THRESHOLD};

/// The deepest tree laid out this way (`2^10 - 1` nodes, 16 KB).
const MAX_DEPTH: usize = 10;
/// Padding may multiply the node count by at most this factor.
const MAX_BLOWUP: usize = 4;
/// Rows walked together.
pub(crate) const LANES: usize = 8;

/// Rows of a raw feature matrix prepared for block scoring (see the module docs).
#[derive(Debug)]
pub struct RowBlock<'a> {
    raw: &'a [f64],
    cols: usize,
    /// Per row, per feature, `copies` values: missing as `-inf`, missing as `+inf`, then (when
    /// `copies == 4`) the same with near-zero values missing too; stored by groups of
    /// [`LANES`] rows, value-major within a group. Empty when no tree needs it.
    pub(crate) sides: Sides,
    pub(crate) copies: usize,
}

/// The prepared values of a [`RowBlock`]: exact, or rounded to float32.
#[derive(Debug)]
pub(crate) enum Sides {
    Exact(Vec<f64>),
    Float32(Vec<f32>),
}

/// A value type of prepared rows, and the thresholds a [`PerfectTree`] compares it with.
pub(crate) trait Lane: Copy + PartialOrd {
    const NEG_INFINITY: Self;
    const INFINITY: Self;
    const ZERO: Self;
    /// `x` in this type (rounded to nearest).
    fn of(x: f64) -> Self;
    /// The value back in f64 (exact).
    fn wide(self) -> f64;
    /// The thresholds of `tree` this type is compared with.
    fn thresholds(tree: &PerfectTree) -> &[Self];
}

impl Lane for f64 {
    const NEG_INFINITY: f64 = f64::NEG_INFINITY;
    const INFINITY: f64 = f64::INFINITY;
    const ZERO: f64 = 0.0;
    fn of(x: f64) -> f64 {
        x
    }
    fn wide(self) -> f64 {
        self
    }
    fn thresholds(tree: &PerfectTree) -> &[f64] {
        &tree.thresholds
    }
}

impl Lane for f32 {
    const NEG_INFINITY: f32 = f32::NEG_INFINITY;
    const INFINITY: f32 = f32::INFINITY;
    const ZERO: f32 = 0.0;
    fn of(x: f64) -> f32 {
        x as f32
    }
    fn wide(self) -> f64 {
        f64::from(self)
    }
    fn thresholds(tree: &PerfectTree) -> &[f32] {
        &tree.thresholds32
    }
}

/// The largest f32 at or below `t` (`-inf` below the f32 range): for every f32 `x`,
/// `x > below_f32(t)` exactly when `f64::from(x) > t`.
fn below_f32(t: f64) -> f32 {
    let r = t as f32;
    if f64::from(r) > t {
        r.next_down()
    } else {
        r
    }
}

/// The values a group of [`LANES`] rows spans: a power of two, so a masked index into a
/// group needs no bounds check.
pub(crate) fn group_span(cols: usize, copies: usize) -> usize {
    // `1 << bits` rather than `next_power_of_two`, so the compiler knows it is one.
    let bits = (LANES * cols * copies).next_power_of_two().trailing_zeros();
    1 << bits
}

/// Rows laid out in groups of [`LANES`] (see [`RowBlock::sides`]), each value converted by
/// [`Lane::of`] first.
fn lay_out<T: Lane>(raw: &[f64], cols: usize, copies: usize) -> Vec<T> {
    if copies == 0 {
        return Vec::new();
    }
    let rows = raw.len() / cols.max(1);
    let span = group_span(cols, copies);
    // Groups of LANES rows, each stored value-major: value `v` of lane `l` at `v * LANES +
    // l`, then zeros up to `span`. The last group is padded with zeros, whose results are
    // never read.
    let mut sides = vec![T::ZERO; rows.div_ceil(LANES) * span];
    for (j, row) in raw.chunks_exact(cols).enumerate() {
        let group = &mut sides[(j / LANES) * span..][..span];
        let lane = j % LANES;
        for (f, &x) in row.iter().enumerate() {
            let at = f * copies * LANES + lane;
            let x = T::of(x);
            let missing = x.wide().is_nan();
            let (lo, hi) = if missing {
                (T::NEG_INFINITY, T::INFINITY)
            } else {
                (x, x)
            };
            group[at] = lo;
            group[at + LANES] = hi;
            if copies == 4 {
                let zero = missing || x.wide().abs() <= ZERO_THRESHOLD;
                group[at + 2 * LANES] = if zero { T::NEG_INFINITY } else { x };
                group[at + 3 * LANES] = if zero { T::INFINITY } else { x };
            }
        }
    }
    sides
}

impl<'a> RowBlock<'a> {
    /// Prepares the row-major rows `raw` (`cols` values each) for scoring by `trees`.
    pub fn new(raw: &'a [f64], cols: usize, trees: &[Tree]) -> RowBlock<'a> {
        Self::prepared(raw, cols, trees, |copies| {
            Sides::Exact(lay_out(raw, cols, copies))
        })
    }

    /// Like [`RowBlock::new`], but the fixed-depth walk reads the values rounded to float32
    /// (half the memory): a tree scores the block as it scores the rounded rows. That is the
    /// score of [`RowBlock::new`] whenever rounding to float32 never moves a value across a
    /// threshold, as with thresholds between two adjacent float32 values (XGBoost's, which
    /// compares float32 features with float32 split conditions). Trees without the layout walk
    /// the raw rows.
    pub fn float32(raw: &'a [f64], cols: usize, trees: &[Tree]) -> RowBlock<'a> {
        Self::prepared(raw, cols, trees, |copies| {
            Sides::Float32(lay_out(raw, cols, copies))
        })
    }

    /// A block whose values `lay` prepares, given the copies per value the trees read.
    fn prepared(
        raw: &'a [f64],
        cols: usize,
        trees: &[Tree],
        lay: impl FnOnce(usize) -> Sides,
    ) -> RowBlock<'a> {
        let copies = Self::copies(trees);
        RowBlock {
            raw,
            cols,
            sides: lay(copies),
            copies,
        }
    }

    /// Copies per value the laid-out trees read: 4 with zero-as-missing nodes, 2 with other
    /// laid-out trees, 0 with none.
    fn copies(trees: &[Tree]) -> usize {
        let laid_out = || trees.iter().filter_map(Tree::perfect);
        if laid_out().any(|p| p.zero_missing) {
            4
        } else if laid_out().next().is_some() {
            2
        } else {
            0
        }
    }

    /// The raw rows, row-major.
    pub fn raw(&self) -> &'a [f64] {
        self.raw
    }

    /// Values per raw row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.raw.len() / self.cols.max(1)
    }
}

/// A numeric tree padded to a complete binary tree (see the module docs).
///
/// The internal nodes are stored as parallel arrays in heap order (`2^depth - 1` nodes, plus
/// one unused slot), so a step indexes each with the node number directly.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerfectTree {
    pub(crate) depth: usize,
    /// Threshold per internal node (`+inf` for padding: nothing is above it).
    pub(crate) thresholds: Vec<f64>,
    /// The same as float32 values, for float32 blocks: the largest float32 at or below each.
    pub(crate) thresholds32: Vec<f32>,
    /// Per internal node, where its value sits in a group of a two-copy [`RowBlock`]: `(2 *
    /// feature + side) * LANES`, `side` 0 for missing-goes-left and 1 for missing-goes-right
    /// (0 for padding).
    pub(crate) in_two: Vec<u32>,
    /// The same within a four-copy block: `(4 * feature + 2 * zero_missing + side) * LANES`.
    pub(crate) in_four: Vec<u32>,
    /// Leaf value per bottom slot (`2^depth` of them).
    pub(crate) bottom: Vec<f64>,
    /// The largest feature index any node reads.
    pub(crate) max_feature: usize,
    /// Whether some node treats zero as missing (it needs a four-copy [`RowBlock`]).
    pub(crate) zero_missing: bool,
}

impl PerfectTree {
    /// The layout of a tree, or `None` when it has categorical splits or a NaN or `+inf`
    /// threshold, is deeper than [`MAX_DEPTH`], padding would blow it up more than
    /// [`MAX_BLOWUP`] times, or it is not a well-formed tree (such trees keep the node walk).
    pub(crate) fn build(nodes: &[Node], leaf_values: &[f64]) -> Option<PerfectTree> {
        let plain = |n: &Node| !n.is_categorical() && n.threshold < f64::INFINITY;
        if nodes.is_empty() || !nodes.iter().all(plain) {
            return None;
        }
        let depth = depth_of(nodes, 0, 1)?;
        let internal = (1usize << depth) - 1;
        if internal > MAX_BLOWUP * nodes.len() + 8 {
            return None;
        }
        let max_feature = nodes.iter().map(|n| n.feature as usize).max().unwrap_or(0);
        u32::try_from((4 * max_feature + 3) * LANES).ok()?;
        let mut tree = PerfectTree {
            depth,
            // Padding: every row goes left (nothing is above `+inf`, and `-inf` stands for
            // missing).
            thresholds: vec![f64::INFINITY; internal + 1],
            thresholds32: Vec::new(),
            in_two: vec![0; internal + 1],
            in_four: vec![0; internal + 1],
            bottom: vec![0.0; internal + 1],
            max_feature,
            zero_missing: nodes.iter().any(|n| n.zero_missing),
        };
        tree.fill(nodes, leaf_values, 0, 0, 0)?;
        tree.thresholds32 = tree.thresholds.iter().map(|&t| below_f32(t)).collect();
        Some(tree)
    }

    /// Lays out the subtree `child` (a node index, or `!leaf`) at heap position `at`, `level`
    /// steps below the root.
    fn fill(
        &mut self,
        nodes: &[Node],
        leaf_values: &[f64],
        child: i32,
        at: usize,
        level: usize,
    ) -> Option<()> {
        if level == self.depth {
            let leaf = usize::try_from(!child).ok()?;
            let slots = self.bottom.len();
            self.bottom[at + 1 - slots] = *leaf_values.get(leaf)?;
            return Some(());
        }
        let (left, right) = if child < 0 {
            // Padding: the default slot already sends every row left.
            (child, child)
        } else {
            let node = nodes.get(child as usize)?;
            let side = u32::from(!node.default_left);
            let lanes = LANES as u32;
            self.thresholds[at] = node.threshold;
            self.in_two[at] = (2 * node.feature + side) * lanes;
            self.in_four[at] = (4 * node.feature + 2 * u32::from(node.zero_missing) + side) * lanes;
            (node.left, node.right)
        };
        self.fill(nodes, leaf_values, left, 2 * at + 1, level + 1)?;
        self.fill(nodes, leaf_values, right, 2 * at + 2, level + 1)
    }

    /// Adds this tree's output to `out[j * stride]` for every row `j` of `block`, or returns
    /// `false` (adding nothing) when the block lacks the copies this tree reads.
    ///
    /// # Panics
    /// When a node reads a feature at or past the block's `cols`, or `out` is too short.
    pub(crate) fn add_to_block(&self, block: &RowBlock, out: &mut [f64], stride: usize) -> bool {
        assert!(
            self.max_feature < block.cols,
            "tree reads feature {}",
            self.max_feature
        );
        let four = match block.copies {
            4 => true,
            2 if !self.zero_missing => false,
            _ => return false,
        };
        if block.rows() == 0 {
            return true;
        }
        match &block.sides {
            Sides::Exact(sides) => self.walk_depth(sides, block, four, out, stride),
            Sides::Float32(sides) => self.walk_depth(sides, block, four, out, stride),
        }
        true
    }

    /// [`PerfectTree::walk`] for this tree's depth.
    fn walk_depth<T: Lane>(
        &self,
        sides: &[T],
        block: &RowBlock,
        four: bool,
        out: &mut [f64],
        stride: usize,
    ) {
        macro_rules! by_depth {
            ($($d:literal => $n:literal),*) => {
                match (self.depth, four) {
                    $(($d, false) => self.walk::<T, $d, $n, false>(sides, block, out, stride),
                      ($d, true) => self.walk::<T, $d, $n, true>(sides, block, out, stride),)*
                    _ => unreachable!("trees are at most {MAX_DEPTH} deep"),
                }
            };
        }
        by_depth!(1 => 2, 2 => 4, 3 => 8, 4 => 16, 5 => 32, 6 => 64, 7 => 128, 8 => 256,
            9 => 512, 10 => 1024);
    }

    /// The block walk of a tree of depth `D` (`N = 2^D` node and bottom slots) over a block of
    /// four copies (`FOUR`) or two.
    #[inline(always)]
    fn walk<T: Lane, const D: usize, const N: usize, const FOUR: bool>(
        &self,
        sides: &[T],
        block: &RowBlock,
        out: &mut [f64],
        stride: usize,
    ) {
        let columns = if FOUR { &self.in_four } else { &self.in_two };
        let (Ok(thresholds), Ok(columns), Ok(bottom)) = (
            <&[T; N]>::try_from(T::thresholds(self)),
            <&[u32; N]>::try_from(&columns[..]),
            <&[f64; N]>::try_from(&self.bottom[..]),
        ) else {
            unreachable!("a tree of depth {D} is laid out in {N} slots");
        };
        let span = group_span(block.cols, block.copies);
        let rows = block.rows();
        // `i < N - 1` before each of the `D` steps, so the mask changes no index; it lets the
        // compiler drop the bounds checks on the node arrays. Likewise every node reads a
        // value of its row (checked by the caller), below `span`, a power of two.
        let step = |group: &[T], i: usize, lane: usize| {
            let i = i & (N - 1);
            let x = group[(columns[i] as usize + lane) & (span - 1)];
            2 * i + 1 + usize::from(x > thresholds[i])
        };
        // After `D` steps `i` is in `N - 1 ..= 2N - 2`: bottom slot `i + 1 - N`.
        let leaf = |i: usize| bottom[(i + 1) & (N - 1)];
        let groups = rows.div_ceil(LANES);
        let mut g = 0;
        while g < groups {
            let first = g * LANES;
            let group = &sides[g * span..][..span];
            let valid = (rows - first).min(LANES);
            // Rows in the group after this one, if any.
            let next_valid = (rows - first - valid).min(LANES);
            if valid == LANES && 2 * next_valid >= LANES {
                // Two groups walk together: sixteen independent chains of loads. A partial
                // second group walks its padding lanes too (on zeros); only real rows take
                // their leaves.
                let other = &sides[(g + 1) * span..][..span];
                let (mut at, mut on) = ([0usize; LANES], [0usize; LANES]);
                for _ in 0..D {
                    for (lane, (i, j)) in at.iter_mut().zip(&mut on).enumerate() {
                        *i = step(group, *i, lane);
                        *j = step(other, *j, lane);
                    }
                }
                for (lane, i) in at.iter().enumerate() {
                    out[(first + lane) * stride] += leaf(*i);
                }
                for (lane, j) in on.iter().enumerate().take(next_valid) {
                    out[(first + LANES + lane) * stride] += leaf(*j);
                }
                g += 2;
                continue;
            }
            if 2 * valid >= LANES {
                // A group walked alone (full, before a small last group; or a last group at
                // least half full, whose padding lanes walk on zeros): only real rows take
                // their leaves.
                let mut at = [0usize; LANES];
                for _ in 0..D {
                    for (lane, i) in at.iter_mut().enumerate() {
                        *i = step(group, *i, lane);
                    }
                }
                for (lane, i) in at.iter().enumerate().take(valid) {
                    out[(first + lane) * stride] += leaf(*i);
                }
            } else {
                // A smaller one (a single row, say): only its real rows, one at a time.
                for lane in 0..valid {
                    let mut i = 0;
                    for _ in 0..D {
                        i = step(group, i, lane);
                    }
                    out[(first + lane) * stride] += leaf(i);
                }
            }
            g += 1;
        }
    }
}

/// Depth (in internal levels) of the subtree at node `i`, which sits at `level`; `None` past
/// [`MAX_DEPTH`] or on a child that does not point forward.
fn depth_of(nodes: &[Node], i: usize, level: usize) -> Option<usize> {
    if level > MAX_DEPTH {
        return None;
    }
    let node = nodes.get(i)?;
    let mut deepest = level;
    for child in [node.left, node.right] {
        if child >= 0 {
            if child as usize <= i {
                return None;
            }
            deepest = deepest.max(depth_of(nodes, child as usize, level + 1)?);
        }
    }
    Some(deepest)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tree::Tree;
    use rand::{Rng, SeedableRng};

    /// A random tree of at most `max_depth` levels over `features` inputs.
    pub(crate) fn random_tree(
        rng: &mut rand::rngs::StdRng,
        features: u32,
        max_depth: usize,
    ) -> Tree {
        fn grow(
            rng: &mut rand::rngs::StdRng,
            nodes: &mut Vec<Node>,
            leaves: &mut Vec<f64>,
            features: u32,
            depth_left: usize,
        ) -> i32 {
            if depth_left == 0 || rng.gen_bool(0.25) {
                leaves.push(rng.gen_range(-1.0..1.0));
                return !((leaves.len() - 1) as i32);
            }
            let at = nodes.len();
            nodes.push(Node {
                feature: rng.gen_range(0..features),
                threshold: f64::from(rng.gen_range(-4i8..4)) / 2.0,
                categories: Vec::new(),
                default_left: rng.gen_bool(0.5),
                zero_missing: rng.gen_bool(0.2),
                unknown_right: false,
                left: 0,
                right: 0,
                gain: 0.0,
                count: 0,
                hessian: 0.0,
                value: 0.0,
            });
            let left = grow(rng, nodes, leaves, features, depth_left - 1);
            let right = grow(rng, nodes, leaves, features, depth_left - 1);
            nodes[at].left = left;
            nodes[at].right = right;
            at as i32
        }
        let (mut nodes, mut leaves) = (Vec::new(), Vec::new());
        let root = grow(rng, &mut nodes, &mut leaves, features, max_depth);
        if root < 0 {
            return Tree::new(Vec::new(), leaves, vec![0], vec![0.0]);
        }
        let n = leaves.len();
        Tree::new(nodes, leaves, vec![0; n], vec![0.0; n])
    }

    #[test]
    fn matches_the_node_walk_on_random_trees_and_rows() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let cols = 5;
        let specials = [f64::NAN, 0.0, -0.0, 1e-40, f64::INFINITY, f64::NEG_INFINITY];
        let rows = 37;
        let data: Vec<f64> = (0..rows * cols)
            .map(|_| {
                if rng.gen_bool(0.2) {
                    specials[rng.gen_range(0..specials.len())]
                } else {
                    f64::from(rng.gen_range(-5i8..5)) / 2.0
                }
            })
            .collect();
        let mut laid_out = 0;
        for _ in 0..300 {
            let tree = random_tree(&mut rng, cols as u32, 7);
            if tree.perfect().is_none() {
                continue;
            }
            laid_out += 1;
            let mut got = vec![0.5; rows];
            tree.add_to_block(
                &RowBlock::new(&data, cols, std::slice::from_ref(&tree)),
                &mut got,
                1,
            );
            for (j, g) in got.iter().enumerate() {
                let want = 0.5 + tree.predict(&data[j * cols..(j + 1) * cols]);
                assert_eq!(g.to_bits(), want.to_bits(), "row {j}");
            }
        }
        assert!(laid_out > 100, "only {laid_out} trees laid out");
    }

    #[test]
    fn float32_blocks_score_the_rows_rounded_to_float32() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let cols = 4;
        let rows = 29;
        let mut compared = 0;
        for _ in 0..200 {
            let mut tree = random_tree(&mut rng, cols as u32, 6);
            // Thresholds no float32 holds, and values close enough to them that rounding to
            // float32 moves some across.
            for node in &mut tree.nodes {
                node.threshold += rng.gen_range(-1e-7..1e-7);
            }
            tree.rebuild();
            if tree.perfect().is_none() || tree.nodes.is_empty() {
                continue;
            }
            let data: Vec<f64> = (0..rows * cols)
                .map(|_| match rng.gen_range(0..10) {
                    0 => f64::NAN,
                    1 => 1e-40,
                    2 => 1e300,
                    _ => {
                        let node = &tree.nodes[rng.gen_range(0..tree.nodes.len())];
                        node.threshold + rng.gen_range(-1e-7..1e-7)
                    }
                })
                .collect();
            let mut got = vec![0.25; rows];
            tree.add_to_block(
                &RowBlock::float32(&data, cols, std::slice::from_ref(&tree)),
                &mut got,
                1,
            );
            for (j, g) in got.iter().enumerate() {
                let rounded: Vec<f64> = data[j * cols..(j + 1) * cols]
                    .iter()
                    .map(|&x| f64::from(x as f32))
                    .collect();
                let want = 0.25 + tree.predict(&rounded);
                assert_eq!(g.to_bits(), want.to_bits(), "row {j}");
            }
            compared += 1;
        }
        assert!(compared > 50, "only {compared} trees compared");
    }

    #[test]
    fn float32_thresholds_are_the_largest_float32_at_or_below() {
        for t in [0.1, -0.1, 1.0, 1e300, -1e300, 1e-50, -1e-50, 0.0] {
            let below = below_f32(t);
            assert!(f64::from(below) <= t, "{t}");
            assert!(f64::from(below.next_up()) > t, "{t}");
        }
        assert_eq!(below_f32(f64::INFINITY), f32::INFINITY);
        assert_eq!(below_f32(f64::NEG_INFINITY), f32::NEG_INFINITY);
    }

    /// A numeric node on feature 0 sending missing values left.
    pub(crate) fn numeric_node(threshold: f64, left: i32, right: i32) -> Node {
        Node {
            feature: 0,
            threshold,
            categories: Vec::new(),
            default_left: true,
            zero_missing: false,
            unknown_right: false,
            left,
            right,
            gain: 0.0,
            count: 0,
            hessian: 0.0,
            value: 0.0,
        }
    }

    #[test]
    fn declines_categorical_deep_and_malformed_trees() {
        let node = |left: i32, right: i32| numeric_node(0.0, left, right);
        // A chain 12 levels deep.
        let chain: Vec<Node> = (0..12)
            .map(|i| node(if i < 11 { i + 1 } else { -1 }, !(i + 1)))
            .collect();
        assert!(PerfectTree::build(&chain, &[0.0; 13]).is_none());
        let mut categorical = node(-1, -2);
        categorical.categories = vec![1];
        assert!(PerfectTree::build(&[categorical], &[0.0, 1.0]).is_none());
        // A child pointing backwards (a cycle).
        assert!(PerfectTree::build(&[node(0, -1)], &[0.0, 1.0]).is_none());
        // A leaf index past the leaf values.
        assert!(PerfectTree::build(&[node(-1, -5)], &[0.0, 1.0]).is_none());
        assert!(PerfectTree::build(&[node(-1, -2)], &[0.0, 1.0]).is_some());
    }
}
