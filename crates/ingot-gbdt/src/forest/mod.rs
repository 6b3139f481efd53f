//! The `random-forest` algorithm: bagged, fully grown trees on the GBDT's binning, histogram
//! and split machinery.
//!
//! Regression trees minimise squared error (gradient `-y·w`, hessian `w` with `w` the bootstrap
//! count of a row: variance-reduction splits, weighted-mean leaves). Classification grows, per
//! forest member, one tree on the class-1 indicator (binary) or one tree per class on its
//! one-hot indicator (multiclass; Gini reduction equals variance reduction on indicators), so
//! leaves hold class probabilities; the forest averages them. Features are sampled per split
//! (scikit-learn's `max_features`) or per tree. Trees are independent and grown in parallel;
//! every tree has its own seed derived from the forest seed, and results are gathered in tree
//! order, so the model bytes do not depend on the thread count.

mod model;
mod params;

use ingot_algo::preprocess::{ColumnEncoder, Matrix, Preprocessor};
use ingot_algo::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Result, Target, TrainEvent,
    TrainingData,
};
use ingot_core::Hyperparameters;
use ingot_model_format::Manifest;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::binning::BinnedData;
use crate::grow::{GrowParams, Learner, NodeSampling};
use crate::params::GrowPolicy;
use crate::split::{leaf_output, SplitParams};
use crate::tree::Tree;

pub use model::ForestModel;
pub use params::{ForestParams, MaxFeatures, HYPERPARAMETERS};

/// Registry name.
pub const NAME: &str = "random-forest";
/// Payload version written by this build.
pub const VERSION: u32 = 1;

/// The `random-forest` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomForest;

impl Algorithm for RandomForest {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "random forest: bootstrap-bagged, fully grown histogram trees with per-split feature sampling and an out-of-bag score"
    }

    fn hyperparameters(&self) -> &'static [HyperparameterSpec] {
        HYPERPARAMETERS
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn fit(
        &self,
        train: &TrainingData,
        _validation: Option<&TrainingData>,
        params: &Hyperparameters,
        ctx: &mut FitContext,
    ) -> Result<Box<dyn Estimator>> {
        let params = ForestParams::from_hyperparameters(params, ctx.seed)?;
        Ok(Box::new(fit_forest(train, &params, ctx)?))
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        ingot_algo::check_version(manifest, NAME, VERSION)?;
        Ok(Box::new(ForestModel::from_payload(payload)?))
    }
}

/// The labels of a target: per output, the value each row regresses on.
struct Labels {
    classes: Option<Vec<String>>,
    /// Class index per row (classification) or the value (regression).
    y: Vec<f64>,
    /// Trees per forest member: 1 (regression, binary) or the class count.
    outputs: usize,
}

fn labels(target: &Target) -> Result<Labels> {
    match target {
        Target::Classification { classes, labels } => {
            if classes.len() < 2 {
                return Err(Error::InvalidTarget {
                    column: "target".to_string(),
                    reason: format!(
                        "classification needs at least 2 classes, got {}",
                        classes.len()
                    ),
                });
            }
            if let Some(bad) = labels.iter().find(|&&l| l >= classes.len()) {
                return Err(Error::InvalidTarget {
                    column: "target".to_string(),
                    reason: format!("label index {bad} out of range"),
                });
            }
            Ok(Labels {
                outputs: if classes.len() == 2 { 1 } else { classes.len() },
                classes: Some(classes.clone()),
                y: labels.iter().map(|&l| l as f64).collect(),
            })
        }
        Target::Regression(values) => {
            if let Some(row) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidTarget {
                    column: "target".to_string(),
                    reason: format!("training row {} is not a finite number", row + 1),
                });
            }
            Ok(Labels {
                classes: None,
                y: values.clone(),
                outputs: 1,
            })
        }
        Target::Unsupervised { .. } => Err(Error::InvalidTarget {
            column: "target".to_string(),
            reason: "random-forest is supervised: give a target column".to_string(),
        }),
    }
}

/// The value output `k` of a forest member regresses on for label `y`.
#[inline]
fn indicator(labels: &Labels, y: f64, k: usize) -> f64 {
    match (&labels.classes, labels.outputs) {
        (None, _) => y,
        (Some(_), 1) => f64::from(u8::from(y == 1.0)),
        (Some(_), _) => f64::from(u8::from(y == k as f64)),
    }
}

/// The seed of forest member `tree`, stream `stream` (0: rows, 1..: features of output k-1).
fn tree_rng(seed: u64, tree: usize, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7266_6f72_6573_7400);
    rng.set_stream(tree as u64);
    rng.set_word_pos(u128::from(stream) << 40);
    rng
}

/// One grown forest member: its trees and, per out-of-bag row, its raw outputs.
struct Member {
    trees: Vec<Tree>,
    oob_rows: Vec<u32>,
    /// `oob_rows.len() × outputs`, row-major.
    oob_values: Vec<f64>,
}

struct Shared<'a> {
    x: &'a Matrix,
    binned: &'a BinnedData,
    labels: &'a Labels,
    params: &'a ForestParams,
    grow: GrowParams,
    take: usize,
    cancel: &'a AtomicBool,
}

fn grow_member(s: &Shared, index: usize) -> Result<Member> {
    if s.cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let n = s.x.rows;
    let features = s.binned.features();
    let mut weights = vec![0u32; n];
    if s.params.bootstrap {
        let mut rng = tree_rng(s.params.seed, index, 0);
        for _ in 0..n {
            weights[rng.gen_range(0..n)] += 1;
        }
    } else {
        weights.fill(1);
    }
    let bag: Vec<u32> = (0..n as u32).filter(|&r| weights[r as usize] > 0).collect();
    let mut used = vec![true; features];
    if s.params.per_tree_features && s.take < features {
        used.fill(false);
        let mut rng = tree_rng(s.params.seed, index, u64::from(u32::MAX));
        for f in sample(&mut rng, features, s.take) {
            used[f] = true;
        }
    }
    let mut learner = Learner::new(s.binned, s.grow);
    let mut gh = vec![[0f32; 2]; n];
    let mut trees = Vec::with_capacity(s.labels.outputs);
    for k in 0..s.labels.outputs {
        for &r in &bag {
            let w = weights[r as usize] as f64;
            let y = indicator(s.labels, s.labels.y[r as usize], k);
            gh[r as usize] = [(-y * w) as f32, w as f32];
        }
        learner.node_sampling =
            (!s.params.per_tree_features && s.take < features).then(|| NodeSampling {
                take: s.take,
                rng: tree_rng(s.params.seed, index, k as u64 + 1),
            });
        let grown = learner.grow(&bag, &gh, &used);
        let leaf_values: Vec<f64> = grown
            .sums
            .iter()
            .map(|b| leaf_output(b.g, b.h, 0.0, 0.0))
            .collect();
        trees.push(Tree::new(
            grown.nodes,
            leaf_values,
            grown.sums.iter().map(|b| b.n).collect(),
            grown.sums.iter().map(|b| b.h).collect(),
        ));
    }
    let (mut oob_rows, mut oob_values) = (Vec::new(), Vec::new());
    if s.params.bootstrap && s.params.oob_score {
        let cols = s.x.cols;
        for r in (0..n).filter(|&r| weights[r] == 0) {
            oob_rows.push(r as u32);
            let row = &s.x.data[r * cols..(r + 1) * cols];
            oob_values.extend(trees.iter().map(|t| t.predict(row)));
        }
    }
    Ok(Member {
        trees,
        oob_rows,
        oob_values,
    })
}

/// Runs `work` on a pool of `threads` threads (0: the current pool).
fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> Result<T> {
    if threads == 0 {
        return Ok(work());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::InvalidOption {
            name: "threads",
            reason: e.to_string(),
        })?;
    Ok(pool.install(work))
}

/// The out-of-bag score: accuracy (classification) or R² (regression) over the rows left out
/// of at least one tree; `None` when there are none.
fn oob_score(labels: &Labels, sums: &[f64], votes: &[u32]) -> Option<f64> {
    let k = labels.outputs;
    let rows: Vec<usize> = (0..votes.len()).filter(|&r| votes[r] > 0).collect();
    if rows.is_empty() {
        return None;
    }
    match &labels.classes {
        Some(_) => {
            let correct = rows
                .iter()
                .filter(|&&r| {
                    let out = &sums[r * k..(r + 1) * k];
                    let predicted = if k == 1 {
                        f64::from(u8::from(out[0] / f64::from(votes[r]) > 0.5))
                    } else {
                        model::argmax(out) as f64
                    };
                    predicted == labels.y[r]
                })
                .count();
            Some(correct as f64 / rows.len() as f64)
        }
        None => {
            let mean = rows.iter().map(|&r| labels.y[r]).sum::<f64>() / rows.len() as f64;
            let (mut ss_res, mut ss_tot) = (0.0, 0.0);
            for &r in &rows {
                let p = sums[r] / f64::from(votes[r]);
                ss_res += (labels.y[r] - p).powi(2);
                ss_tot += (labels.y[r] - mean).powi(2);
            }
            Some(if ss_tot > 0.0 {
                1.0 - ss_res / ss_tot
            } else if ss_res == 0.0 {
                1.0
            } else {
                0.0
            })
        }
    }
}

/// Fits a random forest (the typed entry point behind [`Algorithm::fit`]).
pub fn fit_forest(
    train: &TrainingData,
    params: &ForestParams,
    ctx: &mut FitContext,
) -> Result<ForestModel> {
    ctx.check_cancelled()?;
    let n = train.features.num_rows();
    if train.target.len() != n {
        return Err(Error::LengthMismatch {
            features: n,
            target: train.target.len(),
        });
    }
    if n == 0 {
        return Err(Error::EmptyTrainingData);
    }
    if n > u32::MAX as usize {
        return Err(Error::InvalidTarget {
            column: "target".to_string(),
            reason: format!("random-forest trains on at most {} rows", u32::MAX),
        });
    }
    let labels = labels(&train.target)?;
    let (preprocessor, x) =
        Preprocessor::fit_transform_native(&train.features, params.max_categories)?;
    let categorical: Vec<Option<usize>> = preprocessor
        .columns
        .iter()
        .map(|c| match c {
            ColumnEncoder::Ordinal { categories, .. } => Some(categories.len()),
            _ => None,
        })
        .collect();
    let threads = ctx.threads;
    let binned = in_pool(threads, || {
        BinnedData::build(&x.data, n, &categorical, params.max_bin, 1, params.seed)
    })?;
    let features = binned.features();
    let take = params
        .max_features
        .count(features, labels.classes.is_some());
    let shared = Shared {
        x: &x,
        binned: &binned,
        labels: &labels,
        params,
        grow: GrowParams {
            num_leaves: usize::MAX,
            max_depth: params.max_depth,
            policy: GrowPolicy::DepthFirst,
            split: SplitParams {
                min_data_in_leaf: params.min_data_in_leaf as u64,
                min_sum_hessian_in_leaf: 0.0,
                lambda_l1: 0.0,
                lambda_l2: 0.0,
                min_gain_to_split: params.min_gain_to_split,
                max_cat_to_onehot: 4,
                max_cat_threshold: 32,
                cat_smooth: 0.0,
                cat_l2: 0.0,
            },
        },
        take,
        cancel: ctx.cancel,
    };
    ctx.log(format!(
        "{NAME}: {n} rows x {features} features, {} trees, {take} features per {}, bootstrap {}",
        params.num_trees,
        if params.per_tree_features {
            "tree"
        } else {
            "split"
        },
        params.bootstrap
    ));
    let k = labels.outputs;
    let mut oob_sums = vec![0.0; n * k];
    let mut oob_votes = vec![0u32; n];
    let mut trees: Vec<Tree> = Vec::with_capacity(params.num_trees * k);
    let batch = 2 * rayon::current_num_threads().max(threads).max(1);
    let total = params.num_trees as u64;
    let mut done = 0usize;
    while done < params.num_trees {
        ctx.check_cancelled()?;
        let end = (done + batch).min(params.num_trees);
        let members: Vec<Result<Member>> = in_pool(threads, || {
            (done..end)
                .into_par_iter()
                .map(|i| grow_member(&shared, i))
                .collect()
        })?;
        for member in members {
            let member = member?;
            for (j, &r) in member.oob_rows.iter().enumerate() {
                let r = r as usize;
                oob_votes[r] += 1;
                for (sum, v) in oob_sums[r * k..(r + 1) * k]
                    .iter_mut()
                    .zip(&member.oob_values[j * k..(j + 1) * k])
                {
                    *sum += v;
                }
            }
            trees.extend(member.trees);
            done += 1;
            ctx.check_cancelled()?;
            ctx.emit(TrainEvent::Progress {
                done: done as u64,
                total,
            });
        }
    }
    let oob = if params.bootstrap && params.oob_score {
        oob_score(&labels, &oob_sums, &oob_votes)
    } else {
        None
    };
    if let Some(score) = oob {
        ctx.log(format!("{NAME}: out-of-bag score {score:.6}"));
        ctx.emit(TrainEvent::Metric {
            name: "oob_score".to_string(),
            step: total,
            value: score,
        });
    }
    Ok(ForestModel {
        params: params.clone(),
        classes: labels.classes,
        outputs: k,
        preprocessor,
        trees,
        oob_score: oob,
        packed: Default::default(),
    })
}

#[cfg(test)]
mod tests;
