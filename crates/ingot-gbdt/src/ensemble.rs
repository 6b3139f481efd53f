//! What every tree ensemble shares at prediction time: block-parallel scoring of a row-major
//! matrix through a list of trees, and split-count / gain feature importance.

use std::cell::Cell;

use ingot_algo::FeatureImportance;

use crate::packed::PackedForest;
use crate::perfect::RowBlock;
use crate::tree::Tree;

/// Rows scored together at most, so one tree's nodes stay in cache across the block and the
/// block's values stay in the L1 cache. Small enough that a 100-row request spans two cores.
pub const BLOCK: usize = 64;

/// Rows per block for a matrix of `rows` rows: blocks of at most [`BLOCK`] rows, as even as
/// whole groups of eight rows (the block walk's lanes) allow. 100 rows are 56 + 44, not 64 + 36.
pub fn block_rows(rows: usize) -> usize {
    let blocks = rows.div_ceil(BLOCK).max(1);
    rows.div_ceil(blocks).next_multiple_of(8).clamp(1, BLOCK)
}

thread_local! {
    /// Set while [`on_this_thread`] runs: blocks are scored here, one after another.
    static ONE_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with every block [`for_each_block`] scores on this thread scored on this thread,
/// in order. For callers that already score other requests in parallel (a busy replica),
/// where handing half a request to the rayon pool only adds thread hand-offs.
pub fn on_this_thread<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the previous setting, also when `f` panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ONE_THREAD.set(self.0);
        }
    }
    let _restore = Restore(ONE_THREAD.replace(true));
    f()
}

/// Calls `score(first, block)` for each block of [`block_rows`] rows of `out` (`width` values
/// per row; `first` is the block's first row). The first block is scored on the calling
/// thread while the rayon pool scores the others, so a request of two blocks never waits for
/// a pool thread to wake up before its scoring starts; under [`on_this_thread`] the calling
/// thread scores them all.
pub fn for_each_block(out: &mut [f64], width: usize, score: impl Fn(usize, &mut [f64]) + Sync) {
    let width = width.max(1);
    let size = block_rows(out.len() / width);
    if out.len() <= size * width {
        // One block (single rows among them): no scope to set up.
        score(0, out);
        return;
    }
    if ONE_THREAD.get() {
        for (b, block) in out.chunks_mut(size * width).enumerate() {
            score(b * size, block);
        }
        return;
    }
    let mut blocks = out.chunks_mut(size * width).enumerate();
    let Some((_, first)) = blocks.next() else {
        return;
    };
    let score = &score;
    rayon::in_place_scope(|scope| {
        for (b, block) in blocks {
            scope.spawn(move |_| score(b * size, block));
        }
        score(0, first);
    });
}

/// Blocks of fewer rows than this walk the trees of a [`PackedForest`] (when there is one) row
/// by row: the per-tree block walk overlaps memory loads only across rows.
pub const FEW_ROWS: usize = 4;

/// Scores a row-major matrix (`rows × cols`) into row-major outputs of `width` values per row.
/// Tree `t` adds to output `t % k`. `init` fills a row before the trees are added and `finish`
/// maps it afterwards (link function, averaging). Blocks run in parallel ([`for_each_block`]);
/// each row's sum is taken in tree order, so results do not depend on the thread count, nor on
/// whether `packed` (the same trees packed) scores the few-row blocks.
pub fn score_matrix(
    (trees, packed): (&[Tree], Option<&PackedForest>),
    data: &[f64],
    rows: usize,
    cols: usize,
    (width, k): (usize, usize),
    init: impl Fn(&mut [f64]) + Sync,
    finish: impl Fn(&mut [f64]) + Sync,
) -> Vec<f64> {
    let mut out = vec![0.0; rows * width];
    for_each_block(&mut out, width, |first, block| {
        let count = block.len() / width;
        for row in block.chunks_exact_mut(width) {
            init(row);
        }
        let rows = RowBlock::new(&data[first * cols..(first + count) * cols], cols, trees);
        let by_row = count < FEW_ROWS
            && packed.is_some_and(|forest| {
                forest.add_leaves(&rows, k, |j, output, leaf| {
                    block[j * width + output] += leaf;
                })
            });
        if !by_row {
            for (t, tree) in trees.iter().enumerate() {
                tree.add_to_block(&rows, &mut block[t % k..], width);
            }
        }
        for row in block.chunks_exact_mut(width) {
            finish(row);
        }
    });
    out
}

/// Split counts and total gain per input feature, summed over `trees`, in input order.
pub fn feature_importance(feature_names: &[String], trees: &[Tree]) -> Vec<FeatureImportance> {
    let mut out: Vec<FeatureImportance> = feature_names
        .iter()
        .map(|name| FeatureImportance {
            feature: name.clone(),
            splits: 0,
            gain: 0.0,
        })
        .collect();
    for tree in trees {
        for node in &tree.nodes {
            if let Some(entry) = out.get_mut(node.feature as usize) {
                entry.splits += 1;
                entry.gain += node.gain;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_even_whole_lane_groups() {
        assert_eq!(block_rows(100), 56);
        assert_eq!(block_rows(64), 64);
        assert_eq!(block_rows(65), 40);
        assert_eq!(block_rows(1000), 64);
        assert_eq!(block_rows(3), 8);
        assert_eq!(block_rows(0), 1);
    }

    #[test]
    fn on_this_thread_scores_every_block_here_in_order() {
        let here = std::thread::current().id();
        let mut out = vec![0.0; 1000];
        let seen = std::sync::Mutex::new(Vec::new());
        on_this_thread(|| {
            for_each_block(&mut out, 1, |first, block| {
                seen.lock()
                    .unwrap()
                    .push((first, std::thread::current().id()));
                block.fill(first as f64);
            })
        });
        let seen = seen.into_inner().unwrap();
        let firsts: Vec<usize> = seen.iter().map(|(first, _)| *first).collect();
        assert_eq!(firsts, (0..1000).step_by(64).collect::<Vec<_>>());
        assert!(seen.iter().all(|(_, thread)| *thread == here));
        assert_eq!(out[999], 960.0);
        // The setting ends with the call, also when it panics.
        assert!(!ONE_THREAD.get());
        let _ = std::panic::catch_unwind(|| on_this_thread(|| panic!("scoring failed")));
        assert!(!ONE_THREAD.get());
    }

    #[test]
    fn every_row_is_scored_once_with_its_index() {
        for rows in [0, 1, 7, 64, 100, 129, 1000] {
            for width in [1, 3] {
                let mut out = vec![0.0; rows * width];
                for_each_block(&mut out, width, |first, block| {
                    for (j, row) in block.chunks_exact_mut(width).enumerate() {
                        for v in row {
                            *v += (first + j) as f64;
                        }
                    }
                });
                let want: Vec<f64> = (0..rows)
                    .flat_map(|j| std::iter::repeat_n(j as f64, width))
                    .collect();
                assert_eq!(out, want, "{rows} rows of {width}");
            }
        }
    }
}
