//! The `random-cut-forest` algorithm: `num_trees` random cut trees, each built by streaming
//! insertion of a seeded sample of `sample_size` training rows. A point's score is
//! `2^(-E / c(sample_size))`, where `E` is its expected insertion depth averaged over the
//! trees and `c` the average depth of a random tree: in (0, 1], higher is more anomalous.
//! Rows scoring above the training mean + `threshold_sigmas` (default 3) standard deviations
//! are flagged. [`RcfModel::update`] keeps the trees current on a stream (reservoir sampling
//! with insertion and deletion).

mod tree;

use arrow_array::RecordBatch;
use ingot_algo::preprocess::Preprocessor;
use ingot_algo::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Predictions, Result, TrainingData,
};
use ingot_core::{Hyperparameters, Metrics, Task};
use ingot_model_format::Manifest;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::common::{self, Pool, Preprocessing};
pub use tree::{average_depth, Node, ScoringTree, Tree, NONE};

/// Rows scored together, tree by tree (a fixed size: the output does not depend on it).
const SCORE_BLOCK: usize = 512;

/// Registry name.
pub const NAME: &str = "random-cut-forest";
const VERSION: u32 = 1;

const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "num_trees",
        default: "100",
        description: "trees in the forest",
    },
    HyperparameterSpec {
        name: "sample_size",
        default: "256",
        description: "training rows sampled into each tree",
    },
    HyperparameterSpec {
        name: "threshold_sigmas",
        default: "3",
        description: "anomaly when the score exceeds the training mean + this many standard \
                      deviations",
    },
    HyperparameterSpec {
        name: "standardize",
        default: "false",
        description: "standardize every feature with the training mean and deviation",
    },
    common::ENCODING,
    common::MAX_CATEGORIES,
];

/// Resolved forest parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RcfParams {
    pub num_trees: usize,
    pub sample_size: usize,
    pub threshold_sigmas: f64,
    pub preprocessing: Preprocessing,
}

/// The `random-cut-forest` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomCutForest;

/// The payload's JSON header (the trees travel as raw arrays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    params: RcfParams,
    preprocessor: Preprocessor,
    /// `(root, nodes, free slots)` per tree.
    trees: Vec<(usize, usize, Vec<usize>)>,
    score_mean: f64,
    score_std: f64,
    threshold: f64,
    /// Points seen (for the streaming reservoir).
    seen: u64,
}

/// A fitted forest.
#[derive(Debug, Clone, PartialEq)]
pub struct RcfModel {
    pub params: RcfParams,
    pub preprocessor: Preprocessor,
    pub trees: Vec<Tree>,
    pub score_mean: f64,
    pub score_std: f64,
    pub threshold: f64,
    pub seen: u64,
}

impl Algorithm for RandomCutForest {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "random cut forest anomaly scores (streaming trees), flagged above mean + 3 sigma"
    }

    fn hyperparameters(&self) -> &'static [HyperparameterSpec] {
        HYPERPARAMETERS
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn unsupervised_task(&self) -> Option<Task> {
        Some(Task::AnomalyDetection)
    }

    fn fit(
        &self,
        train: &TrainingData,
        _validation: Option<&TrainingData>,
        params: &Hyperparameters,
        ctx: &mut FitContext,
    ) -> Result<Box<dyn Estimator>> {
        ingot_algo::check_hyperparameter_keys(self, params)?;
        let params = RcfParams {
            num_trees: common::positive(params, "num_trees", 100)?,
            sample_size: common::positive(params, "sample_size", 256)?,
            threshold_sigmas: common::nonnegative(params, "threshold_sigmas", 3.0, true)?,
            preprocessing: Preprocessing::from_hyperparameters(params, false)?,
        };
        Ok(Box::new(fit_forest(&train.features, params, ctx)?))
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        common::check_version(manifest, NAME, VERSION)?;
        let (header, arrays): (Header, _) = common::unpack(NAME, payload)?;
        common::check_preprocessor(NAME, &header.preprocessor)?;
        let d = header.preprocessor.n_features();
        let bad = |reason: &str| Error::InvalidPayload {
            algorithm: NAME,
            reason: reason.to_string(),
        };
        let [meta, boxes]: [Vec<f64>; 2] = arrays.try_into().map_err(|_| bad("2 arrays"))?;
        let total: usize = header.trees.iter().map(|t| t.1).sum();
        if meta.len() != total * 7 || boxes.len() != total * 2 * d {
            return Err(bad("node arrays do not match the tree sizes"));
        }
        let mut trees = Vec::with_capacity(header.trees.len());
        let mut at = 0;
        for (root, count, free) in header.trees {
            let mut nodes = Vec::with_capacity(count);
            for i in at..at + count {
                let m = &meta[i * 7..i * 7 + 7];
                let b = &boxes[i * 2 * d..(i + 1) * 2 * d];
                let link = |v: f64| if v < 0.0 { NONE } else { v as usize };
                nodes.push(Node {
                    leaf: m[0] != 0.0,
                    dim: m[1] as usize,
                    cut: m[2],
                    left: link(m[3]),
                    right: link(m[4]),
                    parent: link(m[5]),
                    mass: m[6] as usize,
                    lo: b[..d].to_vec(),
                    hi: b[d..].to_vec(),
                });
            }
            at += count;
            let in_range = |v: usize| v == NONE || v < count;
            let valid = in_range(root)
                && nodes.iter().all(|n| {
                    n.dim < d.max(1)
                        && in_range(n.parent)
                        && (n.leaf || (n.left < count && n.right < count))
                });
            if !valid {
                return Err(bad("node links out of range"));
            }
            trees.push(Tree { nodes, root, free });
        }
        Ok(Box::new(RcfModel {
            params: header.params,
            preprocessor: header.preprocessor,
            trees,
            score_mean: header.score_mean,
            score_std: header.score_std,
            threshold: header.threshold,
            seen: header.seen,
        }))
    }
}

/// Fits the forest (the typed entry point behind [`Algorithm::fit`]).
pub fn fit_forest(
    features: &RecordBatch,
    params: RcfParams,
    ctx: &mut FitContext,
) -> Result<RcfModel> {
    ctx.check_cancelled()?;
    let (preprocessor, x) = params.preprocessing.fit(features)?;
    let (n, d) = (x.rows, x.cols);
    let sample = params.sample_size.min(n);
    ctx.log(format!(
        "{NAME}: {} trees of {sample} sampled rows, {n} rows x {d} features",
        params.num_trees
    ));
    let pool = Pool::new(ctx.threads);
    let seed = ctx.seed;
    let cancel = ctx.cancel;
    let trees: Vec<Tree> = pool.run(|| {
        (0..params.num_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = common::rng(seed, t as u64);
                let mut rows = rand::seq::index::sample(&mut rng, n, sample).into_vec();
                rows.sort_unstable();
                let mut tree = Tree::new();
                if !cancel.load(std::sync::atomic::Ordering::Relaxed) {
                    for i in rows {
                        tree.insert(x.row(i), &mut rng);
                    }
                }
                tree
            })
            .collect()
    });
    ctx.check_cancelled()?;
    let mut model = RcfModel {
        params,
        preprocessor,
        trees,
        score_mean: 0.0,
        score_std: 0.0,
        threshold: 0.0,
        seen: n as u64,
    };
    let scores = pool.run(|| model.scores(&x.data, d));
    let mean = scores.iter().sum::<f64>() / n as f64;
    let var = scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n as f64;
    model.score_mean = mean;
    model.score_std = var.sqrt();
    model.threshold = mean + model.params.threshold_sigmas * model.score_std;
    let flagged = scores.iter().filter(|s| **s > model.threshold).count();
    ctx.log(format!(
        "{NAME}: training scores mean {mean:.4}, std {:.4}; threshold {:.4} flags {flagged} rows",
        model.score_std, model.threshold
    ));
    Ok(model)
}

impl RcfModel {
    /// Scores of the rows of a row-major `? × d` matrix (in the preprocessed space).
    ///
    /// The trees are first flattened for scoring ([`ScoringTree`]); rows are then scored in
    /// fixed blocks, each block walking every tree in turn so one tree stays in cache while
    /// the block's rows go through it. Each row still sums its trees' depths in tree order, so
    /// the scores are identical to a row-by-row walk and independent of the thread count.
    pub fn scores(&self, data: &[f64], d: usize) -> Vec<f64> {
        let c = average_depth(self.params.sample_size.max(2));
        let trees = self.trees.len().max(1) as f64;
        let width = d.max(1);
        let flat: Vec<ScoringTree> = self
            .trees
            .par_iter()
            .map(|t| ScoringTree::new(t, d))
            .collect();
        let mut out = vec![0.0f64; data.len() / width];
        out.par_chunks_mut(SCORE_BLOCK)
            .zip(data.par_chunks(SCORE_BLOCK * width))
            .for_each(|(out, rows)| {
                if d > 0 {
                    for tree in &flat {
                        tree.add_expected_depths(rows, out);
                    }
                }
                for o in out.iter_mut() {
                    *o = 2f64.powf(-(*o / trees) / c);
                }
            });
        out
    }

    /// Streams one preprocessed row into the forest: with probability
    /// `sample_size / points seen` each tree swaps a random sampled point for it (reservoir
    /// sampling), so the trees follow a changing stream.
    pub fn update(&mut self, row: &[f64], rng: &mut ChaCha8Rng) {
        self.seen += 1;
        let keep = self.params.sample_size as f64 / self.seen as f64;
        for tree in &mut self.trees {
            if tree.mass() < self.params.sample_size {
                tree.insert(row, rng);
            } else if rng.gen::<f64>() < keep {
                let leaves: Vec<usize> = (0..tree.nodes.len())
                    .filter(|i| !tree.free.contains(i) && tree.nodes[*i].leaf)
                    .collect();
                let victim = tree.nodes[leaves[rng.gen_range(0..leaves.len())]]
                    .lo
                    .clone();
                tree.delete(&victim);
                tree.insert(row, rng);
            }
        }
    }
}

impl Estimator for RcfModel {
    fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let x = self.preprocessor.transform(features)?;
        Ok(Predictions::Anomaly {
            scores: self.scores(&x.data, x.cols),
            threshold: self.threshold,
        })
    }

    fn preprocessing(&self) -> serde_json::Value {
        serde_json::to_value(&self.preprocessor).unwrap_or_default()
    }

    fn resolved_parameters(&self) -> serde_json::Value {
        serde_json::to_value(&self.params).unwrap_or_default()
    }

    fn payload(&self) -> Vec<u8> {
        let d = self.preprocessor.n_features();
        let link = |v: usize| if v == NONE { -1.0 } else { v as f64 };
        let mut meta = Vec::new();
        let mut boxes = Vec::new();
        for tree in &self.trees {
            for n in &tree.nodes {
                meta.extend([
                    f64::from(u8::from(n.leaf)),
                    n.dim as f64,
                    n.cut,
                    link(n.left),
                    link(n.right),
                    link(n.parent),
                    n.mass as f64,
                ]);
                boxes.extend_from_slice(&n.lo[..d]);
                boxes.extend_from_slice(&n.hi[..d]);
            }
        }
        let header = Header {
            params: self.params.clone(),
            preprocessor: self.preprocessor.clone(),
            trees: self
                .trees
                .iter()
                .map(|t| (t.root, t.nodes.len(), t.free.clone()))
                .collect(),
            score_mean: self.score_mean,
            score_std: self.score_std,
            threshold: self.threshold,
            seen: self.seen,
        };
        common::pack(&header, &[&meta, &boxes])
    }

    fn training_metrics(&self) -> Metrics {
        let mut metrics = Metrics::default();
        metrics.insert("score_mean", self.score_mean);
        metrics.insert("score_std", self.score_std);
        metrics.insert("threshold", self.threshold);
        metrics
    }
}

#[cfg(test)]
mod tests;
