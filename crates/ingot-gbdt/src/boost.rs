//! The boosting loop: binning, per-round gradients, bagging and feature sampling, one tree per
//! output per round, leaf renewal for L1/quantile, score updates, per-round metrics and
//! progress, cancellation, and early stopping on the validation set.

use ingot_algo::preprocess::Matrix;
use ingot_algo::{Error, FitContext, Result, TrainEvent};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::binning::BinnedData;
use crate::grow::{GrowParams, Learner};
use crate::objective::{quantile, Objective};
use crate::params::GbdtParams;
use crate::split::{leaf_output, SplitParams};
use crate::tree::Tree;

/// Rows per parallel chunk when applying trees to raw rows.
const ROW_CHUNK: usize = 1024;

/// The result of boosting.
#[derive(Debug, Clone)]
pub struct Boosted {
    /// Initial raw score per output.
    pub base_score: Vec<f64>,
    /// Trees, round-major: tree `t` belongs to output `t % outputs`.
    pub trees: Vec<Tree>,
    /// Rounds kept.
    pub rounds: usize,
}

fn rng_for(seed: u64, stream: u64, round: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng.set_word_pos(u128::from(round) << 20);
    rng
}

/// Adds `tree`'s output to `scores[i]` for every row `i` of `x`.
fn apply_tree(tree: &Tree, x: &Matrix, scores: &mut [f64]) {
    let cols = x.cols;
    scores
        .par_chunks_mut(ROW_CHUNK)
        .enumerate()
        .for_each(|(c, out)| {
            let base = c * ROW_CHUNK;
            for (j, s) in out.iter_mut().enumerate() {
                let i = base + j;
                *s += tree.predict(&x.data[i * cols..(i + 1) * cols]);
            }
        });
}

/// A validation set: raw rows and labels.
pub struct Validation<'v> {
    /// Raw features (native preprocessing).
    pub x: &'v Matrix,
    /// Labels.
    pub y: &'v [f64],
}

/// Boosts trees on raw features `x` (native preprocessing; `categorical[f]` gives the number of
/// categories of categorical features) against labels `y`.
pub fn boost(
    x: &Matrix,
    categorical: &[Option<usize>],
    y: &[f64],
    validation: Option<Validation>,
    params: &GbdtParams,
    objective: Objective,
    ctx: &mut FitContext,
) -> Result<Boosted> {
    let n = x.rows;
    let k_out = objective.outputs;
    let binned = BinnedData::build(
        &x.data,
        n,
        categorical,
        params.max_bin,
        params.min_data_in_bin,
        params.seed,
    );
    ctx.log(format!(
        "gbdt: {n} rows x {} features binned into {} histogram bins",
        binned.features(),
        binned.total_bins()
    ));
    let grow_params = GrowParams {
        num_leaves: params.num_leaves,
        max_depth: params.max_depth,
        policy: params.grow_policy,
        split: SplitParams {
            min_data_in_leaf: params.min_data_in_leaf as u64,
            min_sum_hessian_in_leaf: params.min_sum_hessian_in_leaf,
            lambda_l1: params.lambda_l1,
            lambda_l2: params.lambda_l2,
            min_gain_to_split: params.min_gain_to_split,
            max_cat_to_onehot: params.max_cat_to_onehot,
            max_cat_threshold: params.max_cat_threshold,
            cat_smooth: params.cat_smooth,
            cat_l2: params.cat_l2,
        },
    };
    let mut learner = Learner::new(&binned, grow_params);
    let base_score = objective.init_scores(y);
    let mut scores: Vec<f64> = base_score
        .iter()
        .flat_map(|&b| std::iter::repeat_n(b, n))
        .collect();
    let mut valid_scores: Vec<f64> = validation
        .as_ref()
        .map(|v| {
            base_score
                .iter()
                .flat_map(|&b| std::iter::repeat_n(b, v.x.rows))
                .collect()
        })
        .unwrap_or_default();
    let mut gh = vec![[0f32; 2]; n * k_out];
    let all_rows: Vec<u32> = (0..n as u32).collect();
    let mut bag: Vec<u32> = all_rows.clone();
    let bagging = params.bagging_freq > 0 && params.bagging_fraction < 1.0;
    let features = binned.features();
    let take_features =
        ((features as f64 * params.feature_fraction).round() as usize).clamp(1, features.max(1));
    let metric = objective.metric_name();
    let total = params.num_trees as u64;
    let mut trees: Vec<Tree> = Vec::new();
    let mut best: Option<(f64, usize)> = None;
    let mut residuals: Vec<f64> = Vec::new();
    let mut pending: Option<u64> = None;
    for round in 0..params.num_trees {
        ctx.check_cancelled()?;
        if bagging && round.is_multiple_of(params.bagging_freq) {
            let mut rng = rng_for(params.seed, 1, round as u64);
            bag.clear();
            bag.extend((0..n as u32).filter(|_| rng.gen::<f64>() < params.bagging_fraction));
            if bag.is_empty() {
                bag.push(rng.gen_range(0..n as u32));
            }
        }
        // The gradient pass also yields the loss after the previous round.
        let loss = objective.gradients(y, &scores, &mut gh);
        if let Some(step) = pending.take() {
            ctx.emit(TrainEvent::Metric {
                name: format!("training_{metric}"),
                step,
                value: loss,
            });
        }
        let mut any_split = false;
        for k in 0..k_out {
            let mut used = vec![true; features];
            if take_features < features {
                used.fill(false);
                let mut rng = rng_for(params.seed, 2, (round * k_out + k) as u64);
                for f in sample(&mut rng, features, take_features) {
                    used[f] = true;
                }
            }
            let gh_k = &gh[k * n..(k + 1) * n];
            let grown = learner.grow(&bag, gh_k, &used);
            any_split |= !grown.nodes.is_empty();
            let lr = params.learning_rate;
            let (l1, l2) = (params.lambda_l1, params.lambda_l2);
            let mut leaf_values: Vec<f64> = grown
                .sums
                .iter()
                .map(|s| leaf_output(s.g, s.h, l1, l2))
                .collect();
            if let Some(q) = objective.renews_leaves() {
                for (value, &(start, len)) in leaf_values.iter_mut().zip(&grown.ranges) {
                    residuals.clear();
                    residuals.extend(
                        learner.rows[start..start + len]
                            .iter()
                            .map(|&r| y[r as usize] - scores[k * n + r as usize]),
                    );
                    *value = quantile(&mut residuals, q);
                }
            }
            for v in &mut leaf_values {
                *v *= lr;
            }
            if !leaf_values.iter().all(|v| v.is_finite()) {
                return Err(Error::Diverged {
                    reason: format!(
                        "round {}: a leaf value is not finite; lower learning_rate or raise \
                         lambda_l2 / min_sum_hessian_in_leaf",
                        round + 1
                    ),
                });
            }
            let mut nodes = grown.nodes;
            for node in &mut nodes {
                node.value *= lr;
            }
            let tree = Tree::new(
                nodes,
                leaf_values,
                grown.sums.iter().map(|s| s.n).collect(),
                grown.sums.iter().map(|s| s.h).collect(),
            );
            let out = &mut scores[k * n..(k + 1) * n];
            if bagging {
                apply_tree(&tree, x, out);
            } else {
                for (&(start, len), &v) in grown.ranges.iter().zip(&tree.leaf_values) {
                    for &r in &learner.rows[start..start + len] {
                        out[r as usize] += v;
                    }
                }
            }
            if let Some(v) = &validation {
                let m = v.x.rows;
                apply_tree(&tree, v.x, &mut valid_scores[k * m..(k + 1) * m]);
            }
            trees.push(tree);
        }
        let step = round as u64 + 1;
        if !any_split {
            trees.truncate(round * k_out);
            ctx.log(format!(
                "gbdt: stopped after {round} rounds: no leaf meets the split requirements"
            ));
            break;
        }
        pending = Some(step);
        if let Some(v) = &validation {
            let loss = objective.loss(v.y, &valid_scores);
            ctx.emit(TrainEvent::Metric {
                name: format!("validation_{metric}"),
                step,
                value: loss,
            });
            if best.is_none_or(|(b, _)| loss < b) {
                best = Some((loss, round));
            }
            if let Some((best_loss, best_round)) = best {
                if params.early_stopping_rounds > 0
                    && round - best_round >= params.early_stopping_rounds
                {
                    trees.truncate((best_round + 1) * k_out);
                    ctx.log(format!(
                        "gbdt: early stopping at round {step}; best round {} with validation \
                         {metric} {best_loss:.6}",
                        best_round + 1
                    ));
                    ctx.emit(TrainEvent::Progress { done: total, total });
                    break;
                }
            }
        }
        ctx.emit(TrainEvent::Progress { done: step, total });
    }
    if let Some(step) = pending {
        ctx.emit(TrainEvent::Metric {
            name: format!("training_{metric}"),
            step,
            value: objective.loss(y, &scores),
        });
    }
    if params.early_stopping_rounds > 0 {
        if let Some((_, best_round)) = best {
            trees.truncate((best_round + 1) * k_out);
        }
    }
    Ok(Boosted {
        base_score,
        rounds: trees.len() / k_out.max(1),
        trees,
    })
}
