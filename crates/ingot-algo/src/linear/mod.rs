//! The `linear-learner` algorithm: regularized linear regression (squared loss), binary
//! logistic regression (sigmoid) and multinomial logistic regression (softmax) on the shared
//! preprocessing's output, fitted by full-batch L-BFGS, OWL-QN (L1 / elastic net) or
//! mini-batch SGD.
//!
//! The objective is `(1/n) Σ s_i·loss_i + l1·‖w‖₁ + (l2 / 2)·‖w‖²` with the intercepts
//! unpenalized and `s_i` the row's class weight (1 by default). For binary classification with
//! `l1 = 0` that is scikit-learn's `LogisticRegression(C = 1 / (l2 · n_train))`; with
//! `l1 = ρ/(C n)`, `l2 = (1 − ρ)/(C n)` it is `penalty="elasticnet", l1_ratio=ρ`; for
//! regression, `l1 = α ρ`, `l2 = α (1 − ρ)` is `ElasticNet(alpha=α, l1_ratio=ρ)`.

mod model;
pub mod normal;
pub mod objective;
mod params;
pub mod sgd;
#[cfg(test)]
mod tests_l1;

use ingot_core::Hyperparameters;
use ingot_model_format::Manifest;

use crate::optim::{self, LbfgsOptions, LbfgsResult, Termination};
use crate::preprocess::{PreprocessOptions, Preprocessor};
use crate::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Result, Target, TrainEvent,
    TrainingData,
};

pub use model::{LinearModel, Link};
use objective::{Objective, Parallelism, Response};
use params::HYPERPARAMETERS;
pub use params::{ClassWeights, LinearParams, Solver};

/// Registry name.
pub const NAME: &str = "linear-learner";
/// Payload version written by this build.
pub const VERSION: u32 = 1;

/// The `linear-learner` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearLearner;

impl Algorithm for LinearLearner {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Linear and logistic (binary or softmax) regression with L1/L2/elastic-net penalties \
         and class weights, fitted with L-BFGS, OWL-QN or SGD"
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
        crate::check_version(manifest, NAME, VERSION)?;
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
        Target::Unsupervised { .. } => {
            return Err(Error::TargetRequired {
                algorithm: NAME.to_string(),
            })
        }
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
    let sample_weights = match &train.target {
        Target::Classification { classes, labels } => {
            params.class_weights.row_weights(classes, labels)?
        }
        _ if params.class_weights != ClassWeights::None => {
            return Err(Error::InvalidHyperparameter {
                name: "class_weights".to_string(),
                reason: "class weights apply to classification only".to_string(),
            })
        }
        _ => None,
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
        sample_weights: sample_weights.as_deref(),
        parallelism,
    };
    let outputs = response.outputs();
    let mut theta = vec![0.0; objective.dimension()];
    if let Response::Squared(y) = response {
        // Start the intercept at the target mean; the optimum does not depend on it.
        theta[outputs * x.cols] = y.iter().sum::<f64>() / rows as f64;
    }
    let solver = params.solver.resolve(params.l1);
    ctx.log(format!(
        "{NAME}: fitting {} on {rows} rows x {} features (solver {:?})",
        link.describe(),
        x.cols,
        params.solver
    ));
    let exact = (params.solver == Solver::Auto && params.l1 == 0.0)
        .then(|| normal::solve(&objective))
        .flatten();
    let theta = if let Some(theta) = exact {
        ctx.log(format!("{NAME}: solved the normal equations exactly"));
        let total = params.max_iter as u64;
        ctx.emit(TrainEvent::Progress { done: total, total });
        theta
    } else if solver == Solver::Sgd {
        fit_sgd(&objective, theta, params, ctx)?
    } else {
        ctx.log(format!("{NAME}: running {solver:?}"));
        let result = fit_quasi_newton(&objective, theta, params, solver, ctx)?;
        result.x
    };
    if !theta.iter().all(|v| v.is_finite()) {
        return Err(Error::Diverged {
            reason: "the coefficients are not finite; try a larger l2".to_string(),
        });
    }
    let (weights, intercepts) = theta.split_at(outputs * x.cols);
    Ok(LinearModel {
        params: params.clone(),
        link,
        classes,
        preprocessor,
        weights: weights.to_vec(),
        intercepts: intercepts.to_vec(),
    })
}

/// Full-batch L-BFGS (smooth objective) or OWL-QN (with the L1 term on the weights).
fn fit_quasi_newton(
    objective: &Objective,
    theta: Vec<f64>,
    params: &LinearParams,
    solver: Solver,
    ctx: &mut FitContext,
) -> Result<LbfgsResult> {
    let options = LbfgsOptions {
        max_iter: params.max_iter,
        tol: params.tol,
        memory: 10,
    };
    let total = params.max_iter as u64;
    let mut on_iteration = |iteration: usize, value: f64, _: f64| {
        ctx.check_cancelled()?;
        let step = iteration as u64;
        ctx.emit(TrainEvent::Progress { done: step, total });
        ctx.emit(TrainEvent::Metric {
            name: "training_loss".to_string(),
            step,
            value,
        });
        Ok(())
    };
    let smooth = |t: &[f64], g: &mut [f64]| objective.value_and_gradient(t, g);
    let result = if solver == Solver::Owlqn {
        let penalized = objective.response.outputs() * objective.x.cols;
        let l1: Vec<f64> = (0..theta.len())
            .map(|i| if i < penalized { params.l1 } else { 0.0 })
            .collect();
        optim::minimize_owlqn(theta, smooth, &l1, &options, &mut on_iteration)?
    } else {
        optim::minimize(theta, smooth, &options, &mut on_iteration)?
    };
    if !result.value.is_finite() {
        return Err(Error::Diverged {
            reason: "the objective is not finite; try a larger l2".to_string(),
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
    Ok(result)
}

/// Mini-batch SGD over `epochs` passes.
fn fit_sgd(
    objective: &Objective,
    theta: Vec<f64>,
    params: &LinearParams,
    ctx: &mut FitContext,
) -> Result<Vec<f64>> {
    let options = sgd::SgdOptions {
        epochs: params.epochs,
        batch_size: params.batch_size,
        learning_rate: params.learning_rate,
        l1: params.l1,
        seed: ctx.seed,
    };
    let total = params.epochs as u64;
    let cancel = ctx.cancel;
    let check = || {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    };
    let theta = sgd::minimize_sgd(objective, theta, &options, check, |epoch, loss| {
        let step = epoch as u64;
        ctx.emit(TrainEvent::Progress { done: step, total });
        ctx.emit(TrainEvent::Metric {
            name: "training_loss".to_string(),
            step,
            value: loss,
        });
        Ok(())
    })?;
    ctx.log(format!("{NAME}: sgd finished {} epochs", params.epochs));
    Ok(theta)
}

#[cfg(test)]
mod tests;
