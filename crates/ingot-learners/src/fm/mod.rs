//! The `factorization-machines` algorithm: `ŷ = w₀ + Σ wᵢxᵢ + Σ_{i<j} ⟨vᵢ, vⱼ⟩ xᵢxⱼ` on sparse
//! one-hot input (user × item interactions need no crossed columns: the factors learn them),
//! fitted by per-row SGD or (lazy, sparse) Adam in a seeded order. Binary classification uses
//! the logistic loss, regression the squared loss on the standardized target.

mod sparse;

use arrow_array::RecordBatch;
use ingot_algo::preprocess::Preprocessor;
use ingot_algo::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Predictions, Result, Target,
    TrainEvent, TrainingData,
};
use ingot_core::{Hyperparameters, Task};
use ingot_model_format::Manifest;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::common::standard_normal as normal;
use crate::common::{self, invalid};
pub use sparse::Csr;

/// Registry name.
pub const NAME: &str = "factorization-machines";
const VERSION: u32 = 1;

const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "num_factors",
        default: "8",
        description: "dimension of the factor vectors modelling pairwise interactions",
    },
    HyperparameterSpec {
        name: "epochs",
        default: "20",
        description: "passes over the training rows",
    },
    HyperparameterSpec {
        name: "optimizer",
        default: "adam",
        description: "adam or sgd",
    },
    HyperparameterSpec {
        name: "learning_rate",
        default: "0.01",
        description: "step size (sgd: decays as 1/sqrt(epoch))",
    },
    HyperparameterSpec {
        name: "l2_linear",
        default: "1e-6",
        description: "L2 penalty on the linear weights",
    },
    HyperparameterSpec {
        name: "l2_factors",
        default: "1e-5",
        description: "L2 penalty on the factors",
    },
    HyperparameterSpec {
        name: "init_std",
        default: "0.01",
        description: "standard deviation of the initial factors",
    },
    HyperparameterSpec {
        name: "max_categories",
        default: "10000",
        description: "most frequent categories kept (one-hot) per string column",
    },
];

/// Resolved parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FmParams {
    pub num_factors: usize,
    pub epochs: usize,
    pub optimizer: String,
    pub learning_rate: f64,
    pub l2_linear: f64,
    pub l2_factors: f64,
    pub init_std: f64,
    pub max_categories: usize,
}

/// The `factorization-machines` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct FactorizationMachines;

/// A fitted model (also its JSON payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FmModel {
    pub params: FmParams,
    pub preprocessor: Preprocessor,
    /// Per-feature divisor (largest training magnitude; 1 for one-hot features).
    pub scale: Vec<f64>,
    /// Class labels (binary classification) or `None` (regression).
    pub classes: Option<Vec<String>>,
    /// Regression: the target's training mean and deviation (predictions are mapped back).
    pub target_mean: f64,
    pub target_scale: f64,
    pub bias: f64,
    pub weights: Vec<f64>,
    /// `features × num_factors`, row-major.
    pub factors: Vec<f64>,
}

impl FmModel {
    /// The raw model output for one sparse row.
    fn raw(&self, indices: &[u32], values: &[f64], sums: &mut [f64]) -> f64 {
        let k = self.params.num_factors;
        let mut out = self.bias;
        sums.iter_mut().for_each(|s| *s = 0.0);
        let mut squares = 0.0;
        for (&j, &x) in indices.iter().zip(values) {
            let j = j as usize;
            out += self.weights[j] * x;
            for (f, s) in sums.iter_mut().enumerate() {
                let v = self.factors[j * k + f] * x;
                *s += v;
                squares += v * v;
            }
        }
        out + 0.5 * (sums.iter().map(|s| s * s).sum::<f64>() - squares)
    }
}

struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Algorithm for FactorizationMachines {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "factorization machines for binary classification and regression on sparse one-hot data"
    }

    fn hyperparameters(&self) -> &'static [HyperparameterSpec] {
        HYPERPARAMETERS
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn supports(&self, task: Task) -> bool {
        matches!(task, Task::Regression | Task::BinaryClassification)
    }

    fn fit(
        &self,
        train: &TrainingData,
        _validation: Option<&TrainingData>,
        params: &Hyperparameters,
        ctx: &mut FitContext,
    ) -> Result<Box<dyn Estimator>> {
        ingot_algo::check_hyperparameter_keys(self, params)?;
        let params = FmParams {
            num_factors: common::positive(params, "num_factors", 8)?,
            epochs: common::positive(params, "epochs", 20)?,
            optimizer: common::choice(params, "optimizer", "adam", &["adam", "sgd"])?.into(),
            learning_rate: common::nonnegative(params, "learning_rate", 0.01, false)?,
            l2_linear: common::nonnegative(params, "l2_linear", 1e-6, true)?,
            l2_factors: common::nonnegative(params, "l2_factors", 1e-5, true)?,
            init_std: common::nonnegative(params, "init_std", 0.01, true)?,
            max_categories: common::positive(params, "max_categories", 10_000)?,
        };
        Ok(Box::new(fit_fm(train, params, ctx)?))
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        common::check_version(manifest, NAME, VERSION)?;
        let model: FmModel = common::from_json(NAME, payload)?;
        common::check_preprocessor(NAME, &model.preprocessor)?;
        let p = model.preprocessor.n_features();
        let k = model.params.num_factors;
        let classes_ok = model.classes.as_ref().is_none_or(|c| c.len() == 2);
        if model.weights.len() != p
            || model.factors.len() != p * k
            || model.scale.len() != p
            || !classes_ok
        {
            return Err(Error::InvalidPayload {
                algorithm: NAME,
                reason: format!("expected {p} weights, {p} x {k} factors and 2 classes at most"),
            });
        }
        Ok(Box::new(model))
    }
}

/// Fits the model (the typed entry point behind [`Algorithm::fit`]).
pub fn fit_fm(train: &TrainingData, params: FmParams, ctx: &mut FitContext) -> Result<FmModel> {
    ctx.check_cancelled()?;
    let (classes, y) = match &train.target {
        Target::Regression(y) => (None, y.clone()),
        Target::Classification { classes, labels } if classes.len() == 2 => (
            Some(classes.clone()),
            labels.iter().map(|&l| l as f64).collect(),
        ),
        Target::Classification { classes, .. } => {
            return Err(Error::InvalidTarget {
                column: "target".to_string(),
                reason: format!(
                    "{NAME} does binary classification and regression; got {} classes",
                    classes.len()
                ),
            })
        }
        Target::Unsupervised { .. } => {
            return Err(Error::TargetRequired {
                algorithm: NAME.to_string(),
            })
        }
    };
    let (preprocessor, scale) = sparse::fit(&train.features, params.max_categories)?;
    let x = sparse::transform(&preprocessor, &scale, &train.features)?;
    let n = x.rows();
    if n == 0 {
        return Err(Error::EmptyTrainingData);
    }
    let (target_mean, target_scale) = if classes.is_none() {
        let mean = y.iter().sum::<f64>() / n as f64;
        let var = y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
    } else {
        (0.0, 1.0)
    };
    let y: Vec<f64> = y.iter().map(|v| (v - target_mean) / target_scale).collect();
    let p = preprocessor.n_features();
    let k = params.num_factors;
    let mut rng = common::rng(ctx.seed, 21);
    let factors = (0..p * k)
        .map(|_| normal(&mut rng) * params.init_std)
        .collect();
    let mut model = FmModel {
        params: params.clone(),
        preprocessor,
        scale,
        classes,
        target_mean,
        target_scale,
        bias: 0.0,
        weights: vec![0.0; p],
        factors,
    };
    ctx.log(format!(
        "{NAME}: {n} rows, {p} sparse features ({:.1} per row), {k} factors, {}",
        x.indices.len() as f64 / n as f64,
        params.optimizer
    ));
    let classify = model.classes.is_some();
    // Parameter layout for the optimizer state: bias, weights, factors.
    let mut adam = Adam {
        m: vec![0.0; 1 + p + p * k],
        v: vec![0.0; 1 + p + p * k],
    };
    let (b1, b2, eps): (f64, f64, f64) = (0.9, 0.999, 1e-8);
    let mut order: Vec<usize> = (0..n).collect();
    let mut sums = vec![0.0; k];
    let mut step = 0u64;
    for epoch in 0..params.epochs {
        ctx.check_cancelled()?;
        order.shuffle(&mut rng);
        let lr = match params.optimizer.as_str() {
            "sgd" => params.learning_rate / ((epoch + 1) as f64).sqrt(),
            _ => params.learning_rate,
        };
        let mut loss = 0.0;
        for &i in &order {
            let (indices, values) = x.row(i);
            let raw = model.raw(indices, values, &mut sums);
            let g = if classify {
                let prob = 1.0 / (1.0 + (-raw).exp());
                loss -= if y[i] > 0.5 {
                    prob.max(1e-15).ln()
                } else {
                    (1.0 - prob).max(1e-15).ln()
                };
                prob - y[i]
            } else {
                loss += 0.5 * (raw - y[i]).powi(2);
                raw - y[i]
            };
            if !g.is_finite() {
                return Err(Error::Diverged {
                    reason: "non-finite gradient; try a smaller learning_rate".to_string(),
                });
            }
            step += 1;
            let correction = (
                1.0 - b1.powi(step.min(1 << 20) as i32),
                1.0 - b2.powi(step.min(1 << 20) as i32),
            );
            let mut update = |slot: usize, param: &mut f64, grad: f64| {
                if params.optimizer == "sgd" {
                    *param -= lr * grad;
                } else {
                    let m = &mut adam.m[slot];
                    let v = &mut adam.v[slot];
                    *m = b1 * *m + (1.0 - b1) * grad;
                    *v = b2 * *v + (1.0 - b2) * grad * grad;
                    *param -= lr * (*m / correction.0) / ((*v / correction.1).sqrt() + eps);
                }
            };
            update(0, &mut model.bias, g);
            for (&j, &xj) in indices.iter().zip(values) {
                let j = j as usize;
                let grad = g * xj + params.l2_linear * model.weights[j];
                update(1 + j, &mut model.weights[j], grad);
                for (f, s) in sums.iter().enumerate() {
                    let slot = j * k + f;
                    let v = model.factors[slot];
                    let grad = g * xj * (s - v * xj) + params.l2_factors * v;
                    update(1 + p + slot, &mut model.factors[slot], grad);
                }
            }
        }
        let mean_loss = loss / n as f64;
        ctx.emit(TrainEvent::Progress {
            done: epoch as u64 + 1,
            total: params.epochs as u64,
        });
        ctx.emit(TrainEvent::Metric {
            name: "training_loss".to_string(),
            step: epoch as u64 + 1,
            value: mean_loss,
        });
    }
    if !model.bias.is_finite()
        || !model
            .factors
            .iter()
            .chain(&model.weights)
            .all(|v| v.is_finite())
    {
        return Err(invalid(
            "learning_rate",
            "training diverged; try a smaller value",
        ));
    }
    Ok(model)
}

impl Estimator for FmModel {
    fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let x = sparse::transform(&self.preprocessor, &self.scale, features)?;
        let mut sums = vec![0.0; self.params.num_factors];
        let raw: Vec<f64> = (0..x.rows())
            .map(|i| {
                let (indices, values) = x.row(i);
                self.raw(indices, values, &mut sums)
            })
            .collect();
        Ok(match &self.classes {
            None => Predictions::Regression {
                values: raw
                    .iter()
                    .map(|r| r * self.target_scale + self.target_mean)
                    .collect(),
            },
            Some(classes) => Predictions::Classification {
                classes: classes.clone(),
                probabilities: raw
                    .iter()
                    .flat_map(|r| {
                        let p = 1.0 / (1.0 + (-r).exp());
                        [1.0 - p, p]
                    })
                    .collect(),
            },
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
}

#[cfg(test)]
mod tests;
