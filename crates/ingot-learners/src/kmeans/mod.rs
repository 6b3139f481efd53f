//! The `kmeans` algorithm: k-means++ (greedy) initialisation, Lloyd or mini-batch
//! iterations, the best of `n_init` runs by inertia, and an optional elbow curve (inertia
//! for every k of `k_range`). Predictions are the nearest cluster and the Euclidean
//! distances to every centroid, in the preprocessed feature space.

pub mod core;

use arrow_array::RecordBatch;
use ingot_algo::preprocess::{Matrix, Preprocessor};
use ingot_algo::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Predictions, Result, TrainEvent,
    TrainingData,
};
use ingot_core::{Hyperparameters, Metrics, Task};
use ingot_model_format::Manifest;
use serde::{Deserialize, Serialize};

use self::core::{kmeans_plus_plus, lloyd, mean_variance, minibatch, random_rows, Clustering};
use crate::common::{self, invalid, Pool, Preprocessing};

/// Registry name.
pub const NAME: &str = "kmeans";
const VERSION: u32 = 1;

const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "k",
        default: "8",
        description: "number of clusters",
    },
    HyperparameterSpec {
        name: "k_range",
        default: "",
        description: "elbow curve: also fit every k in A..B (inclusive) and record its inertia \
                      as training metric inertia_kN (the model keeps k)",
    },
    HyperparameterSpec {
        name: "init",
        default: "kmeans++",
        description: "initialisation: kmeans++ or random",
    },
    HyperparameterSpec {
        name: "mode",
        default: "lloyd",
        description: "lloyd (full batch) or minibatch",
    },
    HyperparameterSpec {
        name: "max_iter",
        default: "300",
        description: "Lloyd iterations, or mini-batch steps",
    },
    HyperparameterSpec {
        name: "tol",
        default: "1e-4",
        description: "stop when the squared centre shift is at most tol x the mean feature \
                      variance",
    },
    HyperparameterSpec {
        name: "batch_size",
        default: "1024",
        description: "rows per mini-batch step",
    },
    HyperparameterSpec {
        name: "n_init",
        default: "1",
        description: "independent initialisations; the lowest inertia wins",
    },
    HyperparameterSpec {
        name: "standardize",
        default: "true",
        description: "standardize every feature with the training mean and deviation",
    },
    common::ENCODING,
    common::MAX_CATEGORIES,
];

/// Resolved k-means parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams {
    pub k: usize,
    pub k_range: Option<(usize, usize)>,
    pub init: String,
    pub mode: String,
    pub max_iter: usize,
    pub tol: f64,
    pub batch_size: usize,
    pub n_init: usize,
    pub preprocessing: Preprocessing,
}

impl KMeansParams {
    /// Reads and validates the hyperparameters.
    pub fn from_hyperparameters(params: &Hyperparameters) -> Result<KMeansParams> {
        let k_range = match params.get("k_range").filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => {
                let parsed = text.split_once("..").and_then(|(a, b)| {
                    Some((
                        a.trim().parse::<usize>().ok()?,
                        b.trim().parse::<usize>().ok()?,
                    ))
                });
                match parsed {
                    Some((a, b)) if a >= 1 && a <= b => Some((a, b)),
                    _ => {
                        return Err(invalid(
                            "k_range",
                            format!("expected A..B with 1 <= A <= B, got {text:?}"),
                        ))
                    }
                }
            }
        };
        Ok(KMeansParams {
            k: common::positive(params, "k", 8)?,
            k_range,
            init: common::choice(params, "init", "kmeans++", &["kmeans++", "random"])?.into(),
            mode: common::choice(params, "mode", "lloyd", &["lloyd", "minibatch"])?.into(),
            max_iter: common::positive(params, "max_iter", 300)?,
            tol: common::nonnegative(params, "tol", 1e-4, true)?,
            batch_size: common::positive(params, "batch_size", 1024)?,
            n_init: common::positive(params, "n_init", 1)?,
            preprocessing: Preprocessing::from_hyperparameters(params, true)?,
        })
    }
}

/// The `kmeans` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct KMeans;

/// A fitted k-means model (also its JSON payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansModel {
    pub params: KMeansParams,
    pub preprocessor: Preprocessor,
    /// `k × features`, row-major, in the preprocessed space.
    pub centroids: Vec<f64>,
    /// Training inertia of these centroids.
    pub inertia: f64,
    /// `(k, inertia)` for every k of `k_range`.
    pub elbow: Vec<(usize, f64)>,
}

impl Algorithm for KMeans {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "k-means clustering (k-means++ init, Lloyd or mini-batch, elbow curve over a k range)"
    }

    fn hyperparameters(&self) -> &'static [HyperparameterSpec] {
        HYPERPARAMETERS
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn unsupervised_task(&self) -> Option<Task> {
        Some(Task::Clustering)
    }

    fn fit(
        &self,
        train: &TrainingData,
        _validation: Option<&TrainingData>,
        params: &Hyperparameters,
        ctx: &mut FitContext,
    ) -> Result<Box<dyn Estimator>> {
        ingot_algo::check_hyperparameter_keys(self, params)?;
        let params = KMeansParams::from_hyperparameters(params)?;
        Ok(Box::new(fit_kmeans(&train.features, params, ctx)?))
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        common::check_version(manifest, NAME, VERSION)?;
        let model: KMeansModel = common::from_json(NAME, payload)?;
        common::check_preprocessor(NAME, &model.preprocessor)?;
        let d = model.preprocessor.n_features();
        if model.params.k == 0 || model.centroids.len() != model.params.k * d {
            return Err(Error::InvalidPayload {
                algorithm: NAME,
                reason: format!("expected {} x {d} centroids", model.params.k),
            });
        }
        Ok(Box::new(model))
    }
}

/// Fits k-means with `k` clusters on a preprocessed matrix: best of `n_init` runs.
pub fn cluster(
    pool: &Pool,
    x: &Matrix,
    k: usize,
    params: &KMeansParams,
    ctx: &mut FitContext,
) -> Result<Clustering> {
    if k > x.rows {
        return Err(invalid(
            "k",
            format!(
                "{k} clusters need at least {k} training rows, got {}",
                x.rows
            ),
        ));
    }
    let tol_abs = params.tol * mean_variance(x);
    let mut best: Option<Clustering> = None;
    for run in 0..params.n_init {
        let mut rng = common::rng(ctx.seed, (k as u64) << 16 | run as u64);
        let cancel = ctx.cancel;
        let init = match params.init.as_str() {
            "random" => random_rows(x, k, &mut rng),
            _ => pool.run(|| kmeans_plus_plus(x, k, &mut rng, cancel))?,
        };
        let total = params.max_iter as u64;
        let fit = match params.mode.as_str() {
            "minibatch" => pool.run(|| {
                minibatch(
                    x,
                    init,
                    params.max_iter,
                    params.batch_size,
                    tol_abs,
                    &mut rng,
                    cancel,
                )
            })?,
            _ => lloyd(
                pool,
                x,
                init,
                params.max_iter,
                tol_abs,
                cancel,
                |i, inertia| {
                    (ctx.events)(TrainEvent::Progress {
                        done: i as u64,
                        total,
                    });
                    (ctx.events)(TrainEvent::Metric {
                        name: format!("inertia_k{k}"),
                        step: i as u64,
                        value: inertia,
                    });
                },
            )?,
        };
        ctx.log(format!(
            "{NAME}: k={k} run {} stopped after {} iterations, inertia {:.6e}",
            run + 1,
            fit.iterations,
            fit.inertia
        ));
        if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
            best = Some(fit);
        }
    }
    best.ok_or(Error::EmptyTrainingData)
}

/// Fits the model (the typed entry point behind [`Algorithm::fit`]).
pub fn fit_kmeans(
    features: &RecordBatch,
    params: KMeansParams,
    ctx: &mut FitContext,
) -> Result<KMeansModel> {
    ctx.check_cancelled()?;
    let (preprocessor, x) = params.preprocessing.fit(features)?;
    ctx.log(format!(
        "{NAME}: {} rows x {} features, k={}, {} mode",
        x.rows, x.cols, params.k, params.mode
    ));
    let pool = Pool::new(ctx.threads);
    let mut elbow = Vec::new();
    if let Some((a, b)) = params.k_range {
        for k in a..=b.min(x.rows) {
            let fit = cluster(&pool, &x, k, &params, ctx)?;
            ctx.emit(TrainEvent::Metric {
                name: "elbow_inertia".to_string(),
                step: k as u64,
                value: fit.inertia,
            });
            ctx.log(format!("{NAME}: elbow k={k} inertia {:.6e}", fit.inertia));
            elbow.push((k, fit.inertia));
        }
    }
    let fit = cluster(&pool, &x, params.k, &params, ctx)?;
    Ok(KMeansModel {
        params,
        preprocessor,
        centroids: fit.centroids,
        inertia: fit.inertia,
        elbow,
    })
}

impl Estimator for KMeansModel {
    fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let x = self.preprocessor.transform(features)?;
        let k = self.params.k;
        let d = x.cols;
        let mut clusters = Vec::with_capacity(x.rows);
        let mut distances = Vec::with_capacity(x.rows * k);
        for i in 0..x.rows {
            let row = x.row(i);
            let start = distances.len();
            for c in self.centroids.chunks_exact(d.max(1)) {
                distances.push(common::squared_euclidean(row, c).sqrt());
            }
            clusters.push(common::argmin(&distances[start..]));
        }
        Ok(Predictions::Clustering {
            k,
            clusters,
            distances,
        })
    }

    fn preprocessing(&self) -> serde_json::Value {
        serde_json::to_value(&self.preprocessor).unwrap_or_default()
    }

    fn resolved_parameters(&self) -> serde_json::Value {
        serde_json::to_value(&self.params).unwrap_or_default()
    }

    fn payload(&self) -> Vec<u8> {
        common::to_json(self)
    }

    fn training_metrics(&self) -> Metrics {
        let mut metrics = Metrics::default();
        metrics.insert("inertia", self.inertia);
        for (k, inertia) in &self.elbow {
            metrics.insert(format!("inertia_k{k}"), *inertia);
        }
        metrics
    }
}

#[cfg(test)]
mod tests;
