//! The `linear-learner` algorithm: L2-regularized linear regression (squared loss), binary
//! logistic regression (sigmoid) and multinomial logistic regression (softmax), fitted by
//! full-batch L-BFGS on the shared preprocessing's output.
//!
//! The objective is `mean loss + (l2 / 2)·‖w‖²` with the intercept unpenalized, which for
//! binary classification is scikit-learn's `LogisticRegression(C = 1 / (l2 · n_train))`.

mod model;
pub mod objective;

use ingot_core::Hyperparameters;
use ingot_model_format::Manifest;
use serde::{Deserialize, Serialize};

use crate::optim::{self, LbfgsOptions, Termination};
use crate::preprocess::{Encoding, PreprocessOptions, Preprocessor};
use crate::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Result, Target, TrainEvent,
    TrainingData,
};

pub use model::{LinearModel, Link};
use objective::{Objective, Parallelism, Response};

/// Registry name.
pub const NAME: &str = "linear-learner";
/// Payload version written by this build.
pub const VERSION: u32 = 1;

const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "l2",
        default: "0.0001",
        description: "L2 penalty strength on the weights (objective: mean loss + l2/2 * |w|^2)",
    },
    HyperparameterSpec {
        name: "max_iter",
        default: "200",
        description: "maximum number of L-BFGS iterations",
    },
    HyperparameterSpec {
        name: "tol",
        default: "1e-7",
        description: "stop when the gradient's largest absolute component is at most this",
    },
    HyperparameterSpec {
        name: "encoding",
        default: "onehot",
        description: "string column encoding: onehot or ordinal",
    },
    HyperparameterSpec {
        name: "standardize",
        default: "true",
        description: "standardize every feature with the training mean and deviation",
    },
    HyperparameterSpec {
        name: "max_categories",
        default: "100",
        description: "most frequent categories kept per string column (one-hot/ordinal)",
    },
];

/// The `linear-learner` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearLearner;

/// Every linear-learner parameter, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearParams {
    /// L2 penalty.
    pub l2: f64,
    /// Iteration cap.
    pub max_iter: usize,
    /// Gradient tolerance.
    pub tol: f64,
    /// String encoding.
    pub encoding: Encoding,
    /// Standardization switch.
    pub standardize: bool,
    /// Category cap.
    pub max_categories: usize,
}

impl LinearParams {
    /// Reads and validates the parameters (keys the algorithm does not know are rejected).
    pub fn from_hyperparameters(params: &Hyperparameters) -> Result<LinearParams> {
        crate::algorithm::check_hyperparameter_keys(&LinearLearner, params)?;
        let l2 = params.f64_or("l2", 1e-4)?;
        let tol = params.f64_or("tol", 1e-7)?;
        for (name, value) in [("l2", l2), ("tol", tol)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::InvalidHyperparameter {
                    name: name.to_string(),
                    reason: format!("must be a finite number >= 0, got {value}"),
                });
            }
        }
        Ok(LinearParams {
            l2,
            max_iter: params.usize_or("max_iter", 200)?,
            tol,
            encoding: Encoding::parse(params.get("encoding").unwrap_or("onehot"))?,
            standardize: params.bool_or("standardize", true)?,
            max_categories: params.usize_or("max_categories", 100)?,
        })
    }
}

impl Algorithm for LinearLearner {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "L2-regularized linear and logistic (binary or softmax) regression fitted with L-BFGS"
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
        let params = LinearParams::from_hyperparameters(params)?;
        Ok(Box::new(fit_linear(train, &params, ctx)?))
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        if manifest.algorithm_version > VERSION {
            return Err(Error::UnsupportedAlgorithmVersion {
                algorithm: NAME.to_string(),
                found: manifest.algorithm_version,
                supported: VERSION,
            });
        }
        Ok(Box::new(LinearModel::from_payload(payload)?))
    }
}

/// Fits a linear model (the typed entry point behind [`Algorithm::fit`]).
pub fn fit_linear(
    train: &TrainingData,
    params: &LinearParams,
    ctx: &mut FitContext,
) -> Result<LinearModel> {
    ctx.check_cancelled()?;
    let rows = train.features.num_rows();
    if train.target.len() != rows {
        return Err(Error::LengthMismatch {
            features: rows,
            target: train.target.len(),
        });
    }
    if rows == 0 {
        return Err(Error::EmptyTrainingData);
    }
    let options = PreprocessOptions {
        encoding: params.encoding,
        standardize: params.standardize,
        max_categories: params.max_categories,
    };
    let (preprocessor, x) = Preprocessor::fit_transform(&train.features, &options)?;
    let binary_y: Vec<f64>;
    let (response, link, classes) = match &train.target {
        Target::Regression(y) => (Response::Squared(y), Link::Identity, None),
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
                    reason: format!(
                        "label index {bad} out of range for {} classes",
                        classes.len()
                    ),
                });
            }
            if classes.len() == 2 {
                binary_y = labels.iter().map(|&l| l as f64).collect();
                (
                    Response::Logistic(&binary_y),
                    Link::Sigmoid,
                    Some(classes.clone()),
                )
            } else {
                let response = Response::Softmax {
                    labels,
                    classes: classes.len(),
                };
                (response, Link::Softmax, Some(classes.clone()))
            }
        }
    };
    let pool = match ctx.threads {
        0 | 1 => None,
        n => rayon::ThreadPoolBuilder::new().num_threads(n).build().ok(),
    };
    let parallelism = match (&pool, ctx.threads) {
        (Some(pool), _) => Parallelism::Pool(pool),
        (None, 0) => Parallelism::Global,
        (None, _) => Parallelism::Sequential,
    };
    let objective = Objective {
        x: &x,
        response,
        l2: params.l2,
        parallelism,
    };
    let outputs = response.outputs();
    let mut theta = vec![0.0; objective.dimension()];
    if let Response::Squared(y) = response {
        // Start the intercept at the target mean; the optimum does not depend on it.
        theta[outputs * x.cols] = y.iter().sum::<f64>() / rows as f64;
    }
    ctx.log(format!(
        "{NAME}: fitting {} on {rows} rows x {} features",
        link.describe(),
        x.cols
    ));
    let options = LbfgsOptions {
        max_iter: params.max_iter,
        tol: params.tol,
        memory: 10,
    };
    let total = params.max_iter as u64;
    let result = optim::minimize(
        theta,
        |t, g| objective.value_and_gradient(t, g),
        &options,
        |iteration, value, _| {
            ctx.check_cancelled()?;
            let step = iteration as u64;
            ctx.emit(TrainEvent::Progress { done: step, total });
            ctx.emit(TrainEvent::Metric {
                name: "training_loss".to_string(),
                step,
                value,
            });
            Ok(())
        },
    )?;
    if !result.x.iter().all(|v| v.is_finite()) || !result.value.is_finite() {
        return Err(Error::Diverged {
            reason: "the coefficients are not finite; try a larger l2".to_string(),
        });
    }
    if (result.iterations as u64) < total {
        ctx.emit(TrainEvent::Progress { done: total, total });
    }
    let why = match result.termination {
        Termination::GradientTolerance => "gradient tolerance reached",
        Termination::FunctionTolerance => "objective stopped decreasing",
        Termination::MaxIterations => "max_iter reached",
        Termination::LineSearchFailed => "line search could not improve further",
    };
    ctx.log(format!(
        "{NAME}: stopped after {} iterations ({why}); objective {:.6e}, gradient norm {:.3e}",
        result.iterations, result.value, result.grad_norm
    ));
    let (weights, intercepts) = result.x.split_at(outputs * x.cols);
    Ok(LinearModel {
        params: *params,
        link,
        classes,
        preprocessor,
        weights: weights.to_vec(),
        intercepts: intercepts.to_vec(),
    })
}

#[cfg(test)]
mod tests;
