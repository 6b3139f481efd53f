//! The `pca` algorithm: principal components of the centred, preprocessed features, either
//! exactly (eigendecomposition of the `d × d` covariance by cyclic Jacobi) or by the
//! randomized range finder (Gaussian sketch, power iterations, then the small exact
//! problem). Records the explained variance and its ratio; predicts projected coordinates.

use arrow_array::RecordBatch;
use ingot_algo::preprocess::Preprocessor;
use ingot_algo::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Predictions, Result, TrainingData,
};
use ingot_core::{Hyperparameters, Metrics, Task};
use ingot_model_format::Manifest;
use serde::{Deserialize, Serialize};

use crate::common::{self, invalid, standard_normal, Pool, Preprocessing};
use crate::linalg::{orthonormalize_columns, symmetric_eigen, times, transpose_times};

/// Registry name.
pub const NAME: &str = "pca";
const VERSION: u32 = 1;

const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "num_components",
        default: "0",
        description: "principal components kept (0: all features)",
    },
    HyperparameterSpec {
        name: "mode",
        default: "exact",
        description: "exact (covariance eigendecomposition) or randomized (sketch, for many \
                      features)",
    },
    HyperparameterSpec {
        name: "oversamples",
        default: "10",
        description: "randomized: extra sketch columns beyond num_components",
    },
    HyperparameterSpec {
        name: "power_iterations",
        default: "4",
        description: "randomized: power iterations sharpening the sketch",
    },
    HyperparameterSpec {
        name: "standardize",
        default: "false",
        description: "also scale every feature to unit variance (it is always centred)",
    },
    common::ENCODING,
    common::MAX_CATEGORIES,
];

/// Resolved PCA parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaParams {
    pub num_components: usize,
    pub mode: String,
    pub oversamples: usize,
    pub power_iterations: usize,
    pub preprocessing: Preprocessing,
}

/// The `pca` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pca;

/// A fitted PCA (also its JSON payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaModel {
    pub params: PcaParams,
    pub preprocessor: Preprocessor,
    /// Training mean of every preprocessed feature.
    pub mean: Vec<f64>,
    /// `components × features`, row-major: the principal axes.
    pub components: Vec<f64>,
    /// Variance along each axis (divided by n - 1).
    pub explained_variance: Vec<f64>,
    /// Share of the total variance along each axis.
    pub explained_variance_ratio: Vec<f64>,
}

impl Algorithm for Pca {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "principal component analysis (exact or randomized) with explained variance ratios"
    }

    fn hyperparameters(&self) -> &'static [HyperparameterSpec] {
        HYPERPARAMETERS
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn unsupervised_task(&self) -> Option<Task> {
        Some(Task::DimensionalityReduction)
    }

    fn fit(
        &self,
        train: &TrainingData,
        _validation: Option<&TrainingData>,
        params: &Hyperparameters,
        ctx: &mut FitContext,
    ) -> Result<Box<dyn Estimator>> {
        ingot_algo::check_hyperparameter_keys(self, params)?;
        let params = PcaParams {
            num_components: params.usize_or("num_components", 0)?,
            mode: common::choice(params, "mode", "exact", &["exact", "randomized"])?.into(),
            oversamples: params.usize_or("oversamples", 10)?,
            power_iterations: params.usize_or("power_iterations", 4)?,
            preprocessing: Preprocessing::from_hyperparameters(params, false)?,
        };
        Ok(Box::new(fit_pca(&train.features, params, ctx)?))
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        common::check_version(manifest, NAME, VERSION)?;
        let model: PcaModel = common::from_json(NAME, payload)?;
        common::check_preprocessor(NAME, &model.preprocessor)?;
        let d = model.preprocessor.n_features();
        let k = model.explained_variance.len();
        if model.mean.len() != d || model.components.len() != k * d || k == 0 {
            return Err(Error::InvalidPayload {
                algorithm: NAME,
                reason: format!("expected a mean of {d} and {k} x {d} components"),
            });
        }
        Ok(Box::new(model))
    }
}

/// Fits PCA (the typed entry point behind [`Algorithm::fit`]).
pub fn fit_pca(
    features: &RecordBatch,
    mut params: PcaParams,
    ctx: &mut FitContext,
) -> Result<PcaModel> {
    ctx.check_cancelled()?;
    let (preprocessor, mut x) = params.preprocessing.fit(features)?;
    let (n, d) = (x.rows, x.cols);
    if n < 2 {
        return Err(invalid("rows", "PCA needs at least 2 training rows"));
    }
    if params.num_components == 0 {
        params.num_components = d;
    }
    let k = params.num_components;
    if k > d {
        return Err(invalid(
            "num_components",
            format!("at most the {d} preprocessed features, got {k}"),
        ));
    }
    let pool = Pool::new(ctx.threads);
    let mut mean = vec![0.0; d];
    for row in x.data.chunks_exact(d) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    for row in x.data.chunks_exact_mut(d) {
        for (v, m) in row.iter_mut().zip(&mean) {
            *v -= m;
        }
    }
    let total_variance: f64 = x.data.iter().map(|v| v * v).sum::<f64>() / (n - 1) as f64;
    ctx.log(format!(
        "{NAME}: {n} rows x {d} features, {k} components, {} mode",
        params.mode
    ));
    ctx.check_cancelled()?;
    let (values, vectors, width) = if params.mode == "randomized" {
        let l = (k + params.oversamples).min(d);
        let mut rng = common::rng(ctx.seed, 7);
        let omega: Vec<f64> = (0..d * l).map(|_| standard_normal(&mut rng)).collect();
        let data = &x.data;
        let mut q = pool.run(|| times(data, d, &omega, l));
        orthonormalize_columns(&mut q, n, l);
        for _ in 0..params.power_iterations {
            ctx.check_cancelled()?;
            let mut z = pool.run(|| transpose_times(data, d, &q, l));
            orthonormalize_columns(&mut z, d, l);
            q = pool.run(|| times(data, d, &z, l));
            orthonormalize_columns(&mut q, n, l);
        }
        // B = Qᵀ X (l × d); BᵀB = Xᵀ Q Qᵀ X; its eigenpairs are the sketch's s² and V.
        let b = pool.run(|| transpose_times(&q, l, data, d));
        let mut btb = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                btb[i * d + j] = (0..l).map(|r| b[r * d + i] * b[r * d + j]).sum();
            }
        }
        let (values, vectors) = symmetric_eigen(&btb, d);
        (values, vectors, d)
    } else {
        let data = &x.data;
        let covariance = pool.run(|| transpose_times(data, d, data, d));
        let (values, vectors) = symmetric_eigen(&covariance, d);
        (values, vectors, d)
    };
    let explained_variance: Vec<f64> = values[..k]
        .iter()
        .map(|v| v.max(0.0) / (n - 1) as f64)
        .collect();
    let explained_variance_ratio: Vec<f64> = explained_variance
        .iter()
        .map(|v| {
            if total_variance > 0.0 {
                v / total_variance
            } else {
                0.0
            }
        })
        .collect();
    let mut components = vec![0.0; k * d];
    for c in 0..k {
        for f in 0..d {
            components[c * d + f] = vectors[f * width + c];
        }
    }
    ctx.log(format!(
        "{NAME}: the {k} components explain {:.4} of the variance",
        explained_variance_ratio.iter().sum::<f64>()
    ));
    Ok(PcaModel {
        params,
        preprocessor,
        mean,
        components,
        explained_variance,
        explained_variance_ratio,
    })
}

impl Estimator for PcaModel {
    fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let x = self.preprocessor.transform(features)?;
        let d = x.cols;
        let k = self.explained_variance.len();
        let mut values = Vec::with_capacity(x.rows * k);
        let mut centred = vec![0.0; d];
        for i in 0..x.rows {
            for ((c, v), m) in centred.iter_mut().zip(x.row(i)).zip(&self.mean) {
                *c = v - m;
            }
            for axis in self.components.chunks_exact(d.max(1)) {
                values.push(axis.iter().zip(&centred).map(|(a, b)| a * b).sum());
            }
        }
        Ok(Predictions::Projection {
            components: k,
            values,
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
        metrics.insert(
            "explained_variance_ratio",
            self.explained_variance_ratio.iter().sum(),
        );
        for (i, (v, r)) in self
            .explained_variance
            .iter()
            .zip(&self.explained_variance_ratio)
            .enumerate()
        {
            metrics.insert(format!("explained_variance_{i}"), *v);
            metrics.insert(format!("explained_variance_ratio_{i}"), *r);
        }
        metrics
    }
}

#[cfg(test)]
#[path = "pca_tests.rs"]
mod tests;
