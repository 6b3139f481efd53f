//! What every tree ensemble shares at prediction time: block-parallel scoring of a row-major
//! matrix through a list of trees, and split-count / gain feature importance.

use ingot_algo::FeatureImportance;
use rayon::prelude::*;

use crate::perfect::RowBlock;
use crate::tree::Tree;

/// Rows scored together, so one tree's nodes stay in cache across the block and the block's
/// values stay in the L1 cache. Small enough that a 100-row request spans both cores.
pub const BLOCK: usize = 64;

/// Scores a row-major matrix (`rows × cols`) into row-major outputs of `width` values per row.
/// Tree `t` adds to output `t % k`. `init` fills a row before the trees are added and `finish`
/// maps it afterwards (link function, averaging). Blocks run in parallel; each row's sum is
/// taken in tree order, so results do not depend on the thread count.
pub fn score_matrix(
    trees: &[Tree],
    data: &[f64],
    rows: usize,
    cols: usize,
    (width, k): (usize, usize),
    init: impl Fn(&mut [f64]) + Sync,
    finish: impl Fn(&mut [f64]) + Sync,
) -> Vec<f64> {
    let mut out = vec![0.0; rows * width];
    out.par_chunks_mut(BLOCK * width)
        .enumerate()
        .for_each(|(b, block)| {
            let first = b * BLOCK;
            let count = block.len() / width;
            for row in block.chunks_exact_mut(width) {
                init(row);
            }
            let rows = RowBlock::new(&data[first * cols..(first + count) * cols], cols, trees);
            for (t, tree) in trees.iter().enumerate() {
                tree.add_to_block(&rows, &mut block[t % k..], width);
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
