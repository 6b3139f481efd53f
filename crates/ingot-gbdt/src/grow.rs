//! Growing one tree on binned data: leaf-wise (best gain first) or depth-wise order, rows kept
//! in one index array partitioned in place per leaf, histograms built for the smaller child and
//! subtracted from the parent for the larger one, split search parallel over features.

use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::binning::{BinColumn, BinMapper, BinnedData};
use crate::histogram::{self, Bin};
use crate::params::GrowPolicy;
use crate::split::{best_split, leaf_output, Split, SplitParams, SplitRule};
use crate::tree::Node;

/// Growth limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrowParams {
    /// Maximum leaves.
    pub num_leaves: usize,
    /// Maximum depth (-1: none).
    pub max_depth: i64,
    /// Order of expansion.
    pub policy: GrowPolicy,
    /// Split constraints.
    pub split: SplitParams,
}

struct Leaf {
    start: usize,
    len: usize,
    sum: Bin,
    depth: i64,
    /// Index of the node pointing at this leaf, and whether as its left child.
    parent: Option<(usize, bool)>,
    hist: Option<Vec<Bin>>,
    best: Option<Split>,
}

/// A grown tree before shrinkage: split nodes (with unshrunk `value`s), and per leaf its row
/// range in [`Learner::rows`] and its gradient sums.
#[derive(Debug, Clone)]
pub struct Grown {
    /// Internal nodes.
    pub nodes: Vec<Node>,
    /// Per leaf, `(start, len)` in the learner's row array.
    pub ranges: Vec<(usize, usize)>,
    /// Per leaf gradient sums.
    pub sums: Vec<Bin>,
}

/// Reusable buffers for growing trees on one binned data set.
pub struct Learner<'a> {
    data: &'a BinnedData,
    params: GrowParams,
    /// Row indices, partitioned by leaf after [`Learner::grow`].
    pub rows: Vec<u32>,
    scratch: Vec<u32>,
    ordered: Vec<[f32; 2]>,
    pool: Vec<Vec<Bin>>,
    /// Random-forest feature sampling at every split (`None`: every used feature).
    pub node_sampling: Option<NodeSampling>,
}

/// Feature sampling per split: `take` of the used features, drawn from `rng` in the (fixed)
/// order nodes are evaluated, so trees stay deterministic.
pub struct NodeSampling {
    /// Features considered per split.
    pub take: usize,
    /// The sampling stream.
    pub rng: ChaCha8Rng,
}

/// Segments at least this long are partitioned in parallel chunks.
const PARALLEL_PARTITION: usize = 1 << 16;

/// Stable partition of one chunk without branches: left rows are compacted to the front of
/// `seg`, right rows to the front of `right` (same length as `seg`). Returns the left count.
fn partition_chunk<T: Copy + Into<usize>>(
    codes: &[T],
    seg: &mut [u32],
    right: &mut [u32],
    goes_left: &[bool],
) -> usize {
    let (mut w, mut s) = (0usize, 0usize);
    for i in 0..seg.len() {
        let r = seg[i];
        let left = usize::from(goes_left[codes[r as usize].into()]);
        seg[w] = r;
        right[s] = r;
        w += left;
        s += 1 - left;
    }
    w
}

/// Stable partition of `seg` (lefts first, each side in its original order); the result does
/// not depend on how the work is chunked. Returns the left count.
fn partition_column<T: Copy + Into<usize> + Sync>(
    codes: &[T],
    seg: &mut [u32],
    scratch: &mut Vec<u32>,
    goes_left: &[bool],
) -> usize {
    let len = seg.len();
    scratch.resize(len, 0);
    let right = &mut scratch[..len];
    let chunk = if len >= PARALLEL_PARTITION {
        len.div_ceil(4 * rayon::current_num_threads().max(1))
            .max(PARALLEL_PARTITION / 4)
    } else {
        len.max(1)
    };
    let lefts: Vec<usize> = seg
        .par_chunks_mut(chunk)
        .zip(right.par_chunks_mut(chunk))
        .map(|(s, r)| partition_chunk(codes, s, r, goes_left))
        .collect();
    // Compact the left runs to the front (moving down, in order), then append the rights.
    let mut w = 0;
    for (j, &l) in lefts.iter().enumerate() {
        let start = j * chunk;
        seg.copy_within(start..start + l, w);
        w += l;
    }
    let mut at = w;
    for (j, &l) in lefts.iter().enumerate() {
        let start = j * chunk;
        let end = (start + chunk).min(len);
        let rights = end - start - l;
        seg[at..at + rights].copy_from_slice(&right[start..start + rights]);
        at += rights;
    }
    w
}

impl<'a> Learner<'a> {
    /// A learner over `data`.
    pub fn new(data: &'a BinnedData, params: GrowParams) -> Learner<'a> {
        Learner {
            data,
            params,
            rows: Vec::with_capacity(data.rows),
            scratch: Vec::new(),
            ordered: Vec::new(),
            pool: Vec::new(),
            node_sampling: None,
        }
    }

    /// The best split of a leaf over the used features, or a per-split sample of them.
    fn choose(&mut self, leaf: &Leaf, used: &[bool]) -> Option<Split> {
        let mask = match self.node_sampling.as_mut() {
            None => return self.find_best(leaf, used),
            Some(s) => {
                let candidates: Vec<usize> = (0..used.len()).filter(|&f| used[f]).collect();
                if s.take >= candidates.len() {
                    return self.find_best(leaf, used);
                }
                let mut mask = vec![false; used.len()];
                for i in sample(&mut s.rng, candidates.len(), s.take) {
                    mask[candidates[i]] = true;
                }
                mask
            }
        };
        self.find_best(leaf, &mask)
    }

    fn buffer(&mut self) -> Vec<Bin> {
        self.pool
            .pop()
            .unwrap_or_else(|| vec![Bin::default(); self.data.total_bins()])
    }

    fn splittable(&self, leaf: &Leaf) -> bool {
        let p = &self.params;
        (p.max_depth < 0 || leaf.depth < p.max_depth)
            && leaf.len as u64 >= 2 * p.split.min_data_in_leaf.max(1)
            && leaf.sum.h >= 2.0 * p.split.min_sum_hessian_in_leaf
    }

    /// Builds the histogram of a leaf's rows.
    fn histogram(&mut self, start: usize, len: usize, gh: &[[f32; 2]], used: &[bool]) -> Vec<Bin> {
        let mut hist = self.buffer();
        let rows = &self.rows[start..start + len];
        if len == self.data.rows
            && start == 0
            && rows.iter().enumerate().all(|(i, &r)| i == r as usize)
        {
            histogram::build(self.data, rows, gh, true, used, &mut hist);
        } else {
            self.ordered.clear();
            self.ordered.extend(rows.iter().map(|&r| gh[r as usize]));
            histogram::build(self.data, rows, &self.ordered, false, used, &mut hist);
        }
        hist
    }

    fn find_best(&self, leaf: &Leaf, used: &[bool]) -> Option<Split> {
        let hist = leaf.hist.as_ref()?;
        let data = self.data;
        let p = self.params.split;
        (0..data.features())
            .into_par_iter()
            .filter(|&f| used[f] && data.mappers[f].bins() > 2)
            .filter_map(|f| {
                let h = &hist[data.offsets[f]..data.offsets[f + 1]];
                best_split(f, h, &data.mappers[f], &leaf.sum, &p)
            })
            .reduce_with(|a, b| {
                if b.gain > a.gain || (b.gain == a.gain && b.feature < a.feature) {
                    b
                } else {
                    a
                }
            })
    }

    /// Grows one tree on the rows `bag` with gradient pairs `gh` (indexed by row), considering
    /// the features flagged in `used`.
    pub fn grow(&mut self, bag: &[u32], gh: &[[f32; 2]], used: &[bool]) -> Grown {
        self.rows.clear();
        self.rows.extend_from_slice(bag);
        let mut sum = Bin::default();
        for &r in bag {
            let pair = gh[r as usize];
            sum.g += f64::from(pair[0]);
            sum.h += f64::from(pair[1]);
        }
        sum.n = bag.len() as u64;
        let mut leaves = vec![Leaf {
            start: 0,
            len: bag.len(),
            sum,
            depth: 0,
            parent: None,
            hist: None,
            best: None,
        }];
        let mut nodes: Vec<Node> = Vec::new();
        // Open leaves, newest last (depth-first policy only).
        let mut stack: Vec<usize> = Vec::new();
        if self.params.num_leaves > 1 && self.splittable(&leaves[0]) {
            let hist = self.histogram(0, bag.len(), gh, used);
            leaves[0].hist = Some(hist);
            let best = self.choose(&leaves[0], used);
            leaves[0].best = best;
            stack.push(0);
        }
        while leaves.len() < self.params.num_leaves {
            let pick = match self.params.policy {
                GrowPolicy::Leafwise => leaves
                    .iter()
                    .enumerate()
                    .filter_map(|(i, l)| l.best.as_ref().map(|b| (i, b.gain)))
                    .fold(None, |acc: Option<(usize, f64)>, (i, g)| match acc {
                        Some((_, best)) if best >= g => acc,
                        _ => Some((i, g)),
                    })
                    .map(|(i, _)| i),
                GrowPolicy::Depthwise => leaves
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.best.is_some())
                    .min_by_key(|(i, l)| (l.depth, *i))
                    .map(|(i, _)| i),
                GrowPolicy::DepthFirst => loop {
                    match stack.pop() {
                        Some(i) if leaves[i].best.is_some() => break Some(i),
                        Some(_) => {}
                        None => break None,
                    }
                },
            };
            let Some(li) = pick else { break };
            let split = leaves[li].best.take().expect("picked leaves have a split");
            let (start, len) = (leaves[li].start, leaves[li].len);
            let mapper = &self.data.mappers[split.feature];
            let mut goes_left = vec![false; mapper.bins()];
            goes_left[mapper.values()] = split.default_left;
            let (threshold, categories) = match (&split.rule, mapper) {
                (SplitRule::Numeric { bin }, BinMapper::Numeric { upper }) => {
                    goes_left[..=*bin].fill(true);
                    (upper[*bin], Vec::new())
                }
                (SplitRule::Categorical { left }, _) => {
                    for &c in left {
                        goes_left[c as usize] = true;
                    }
                    (0.0, left.clone())
                }
                (SplitRule::Numeric { .. }, BinMapper::Categorical { .. }) => {
                    unreachable!("numeric rules come from numeric features")
                }
            };
            let seg = &mut self.rows[start..start + len];
            let left_len = match &self.data.columns[split.feature] {
                BinColumn::U8(c) => partition_column(c, seg, &mut self.scratch, &goes_left),
                BinColumn::U16(c) => partition_column(c, seg, &mut self.scratch, &goes_left),
            };
            debug_assert_eq!(left_len as u64, split.left.n);
            let p = &self.params.split;
            let node_index = nodes.len();
            let right_leaf = leaves.len();
            nodes.push(Node {
                feature: split.feature as u32,
                threshold,
                categories,
                default_left: split.default_left,
                zero_missing: false,
                unknown_right: false,
                left: !(li as i32),
                right: !(right_leaf as i32),
                gain: split.gain,
                count: leaves[li].sum.n,
                hessian: leaves[li].sum.h,
                value: leaf_output(leaves[li].sum.g, leaves[li].sum.h, p.lambda_l1, p.lambda_l2),
            });
            if let Some((parent, is_left)) = leaves[li].parent {
                if is_left {
                    nodes[parent].left = node_index as i32;
                } else {
                    nodes[parent].right = node_index as i32;
                }
            }
            let depth = leaves[li].depth + 1;
            let parent_hist = leaves[li].hist.take();
            leaves[li] = Leaf {
                start,
                len: left_len,
                sum: split.left,
                depth,
                parent: Some((node_index, true)),
                hist: None,
                best: None,
            };
            leaves.push(Leaf {
                start: start + left_len,
                len: len - left_len,
                sum: split.right,
                depth,
                parent: Some((node_index, false)),
                hist: None,
                best: None,
            });
            let more = leaves.len() < self.params.num_leaves;
            let want = [
                more && self.splittable(&leaves[li]),
                more && self.splittable(&leaves[right_leaf]),
            ];
            match parent_hist {
                Some(mut parent) if want[0] || want[1] => {
                    let (small, large) = if left_len <= len - left_len {
                        (li, right_leaf)
                    } else {
                        (right_leaf, li)
                    };
                    let small_hist =
                        self.histogram(leaves[small].start, leaves[small].len, gh, used);
                    histogram::subtract(self.data, &mut parent, &small_hist, used);
                    leaves[small].hist = Some(small_hist);
                    leaves[large].hist = Some(parent);
                    for (leaf, wanted) in [(right_leaf, want[1]), (li, want[0])] {
                        if wanted {
                            let best = self.choose(&leaves[leaf], used);
                            leaves[leaf].best = best;
                            stack.push(leaf);
                        }
                        if leaves[leaf].best.is_none() {
                            if let Some(h) = leaves[leaf].hist.take() {
                                self.pool.push(h);
                            }
                        }
                    }
                }
                Some(parent) => self.pool.push(parent),
                None => {}
            }
        }
        for leaf in &mut leaves {
            if let Some(h) = leaf.hist.take() {
                self.pool.push(h);
            }
        }
        Grown {
            nodes,
            ranges: leaves.iter().map(|l| (l.start, l.len)).collect(),
            sums: leaves.iter().map(|l| l.sum).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_partition_is_the_stable_partition() {
        let rows = 3 * PARALLEL_PARTITION + 17;
        let codes: Vec<u8> = (0..rows).map(|i| ((i * 7919) % 251) as u8).collect();
        let goes_left: Vec<bool> = (0..256).map(|b| b % 3 == 1).collect();
        // A shuffled subset of rows, as inside a leaf.
        let mut seg: Vec<u32> = (0..rows as u32).rev().filter(|r| r % 5 != 0).collect();
        let expected: Vec<u32> = seg
            .iter()
            .copied()
            .filter(|&r| goes_left[codes[r as usize] as usize])
            .chain(
                seg.iter()
                    .copied()
                    .filter(|&r| !goes_left[codes[r as usize] as usize]),
            )
            .collect();
        let lefts = expected
            .iter()
            .filter(|&&r| goes_left[codes[r as usize] as usize])
            .count();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let mut scratch = Vec::new();
        let w = pool.install(|| partition_column(&codes, &mut seg, &mut scratch, &goes_left));
        assert_eq!(w, lefts);
        assert_eq!(seg, expected);
    }
}
