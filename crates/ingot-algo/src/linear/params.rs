//! The linear learner's hyperparameters: their documentation, parsing and validation, the
//! solver choice and class weights.

use ingot_core::Hyperparameters;
use serde::{Deserialize, Serialize};

use super::LinearLearner;
use crate::preprocess::Encoding;
use crate::{Error, HyperparameterSpec, Result};

pub(super) const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "l2",
        default: "0.0001",
        description: "L2 penalty strength on the weights (objective: mean loss + l1*|w|_1 + \
                      l2/2*|w|^2; scikit-learn's C = 1/(l2*n))",
    },
    HyperparameterSpec {
        name: "l1",
        default: "0",
        description: "L1 penalty strength on the weights; > 0 gives a sparse model (lasso), \
                      with l2 > 0 an elastic net (l1 = alpha*l1_ratio, l2 = alpha*(1-l1_ratio))",
    },
    HyperparameterSpec {
        name: "solver",
        default: "auto",
        description: "auto (owlqn when l1 > 0; exact normal equations for regression with \
                      at most 512 features; else lbfgs), lbfgs (smooth penalties only), owlqn \
                      (L-BFGS for L1/elastic net) or sgd (mini-batch Adam, large data)",
    },
    HyperparameterSpec {
        name: "class_weights",
        default: "none",
        description: "classification loss weight per class: none, balanced \
                      (n / (classes * class count)) or LABEL:WEIGHT,... (unlisted classes 1)",
    },
    HyperparameterSpec {
        name: "max_iter",
        default: "200",
        description: "maximum number of L-BFGS / OWL-QN iterations",
    },
    HyperparameterSpec {
        name: "tol",
        default: "1e-7",
        description: "L-BFGS / OWL-QN: stop when the (pseudo-)gradient's largest absolute \
                      component is at most this",
    },
    HyperparameterSpec {
        name: "epochs",
        default: "10",
        description: "sgd: passes over the training data",
    },
    HyperparameterSpec {
        name: "batch_size",
        default: "256",
        description: "sgd: rows per mini-batch",
    },
    HyperparameterSpec {
        name: "learning_rate",
        default: "0.01",
        description: "sgd: initial Adam step size, decayed as learning_rate/sqrt(epoch)",
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

/// Which optimizer fits the coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    /// OWL-QN when `l1 > 0`; the normal equations for least squares with at most
    /// [`super::normal::MAX_FEATURES`] features; L-BFGS otherwise.
    #[default]
    Auto,
    /// Full-batch L-BFGS (no L1 term).
    Lbfgs,
    /// Full-batch OWL-QN (L1 or elastic net).
    Owlqn,
    /// Mini-batch SGD with Adam steps.
    Sgd,
}

impl Solver {
    fn parse(text: &str) -> Result<Solver> {
        match text {
            "auto" => Ok(Solver::Auto),
            "lbfgs" => Ok(Solver::Lbfgs),
            "owlqn" => Ok(Solver::Owlqn),
            "sgd" => Ok(Solver::Sgd),
            other => Err(invalid(
                "solver",
                format!("expected auto, lbfgs, owlqn or sgd, got {other:?}"),
            )),
        }
    }

    /// The solver actually run for an L1 strength.
    pub fn resolve(self, l1: f64) -> Solver {
        match self {
            Solver::Auto if l1 > 0.0 => Solver::Owlqn,
            Solver::Auto => Solver::Lbfgs,
            other => other,
        }
    }
}

/// Per-class loss weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeights {
    /// Every row weighs 1.
    #[default]
    None,
    /// `n / (classes · count(class))`, as scikit-learn's `class_weight="balanced"`.
    Balanced,
    /// Listed labels and their weights; other classes weigh 1.
    Explicit(Vec<(String, f64)>),
}

impl ClassWeights {
    fn parse(text: &str) -> Result<ClassWeights> {
        match text.trim() {
            "none" | "" => return Ok(ClassWeights::None),
            "balanced" => return Ok(ClassWeights::Balanced),
            _ => {}
        }
        let mut pairs = Vec::new();
        for item in text.split(',') {
            let Some((label, weight)) = item.rsplit_once(':') else {
                return Err(invalid(
                    "class_weights",
                    format!("expected none, balanced or LABEL:WEIGHT,..., got {item:?}"),
                ));
            };
            let value: f64 = weight.trim().parse().map_err(|_| {
                invalid(
                    "class_weights",
                    format!("weight {weight:?} of class {label:?} is not a number"),
                )
            })?;
            if !(value.is_finite() && value >= 0.0) {
                return Err(invalid(
                    "class_weights",
                    format!("weight of class {label:?} must be a finite number >= 0"),
                ));
            }
            pairs.push((label.trim().to_string(), value));
        }
        Ok(ClassWeights::Explicit(pairs))
    }

    /// Per-row weights for `labels` (indices into `classes`), or `None` when all are 1.
    pub fn row_weights(&self, classes: &[String], labels: &[usize]) -> Result<Option<Vec<f64>>> {
        let per_class: Vec<f64> = match self {
            ClassWeights::None => return Ok(None),
            ClassWeights::Balanced => {
                let mut counts = vec![0usize; classes.len()];
                for &l in labels {
                    counts[l] += 1;
                }
                let present = counts.iter().filter(|&&c| c > 0).count().max(1);
                counts
                    .iter()
                    .map(|&c| {
                        if c == 0 {
                            1.0
                        } else {
                            labels.len() as f64 / (present * c) as f64
                        }
                    })
                    .collect()
            }
            ClassWeights::Explicit(pairs) => {
                let mut weights = vec![1.0; classes.len()];
                for (label, weight) in pairs {
                    let Some(index) = classes.iter().position(|c| c == label) else {
                        return Err(invalid(
                            "class_weights",
                            format!(
                                "class {label:?} does not occur in the target; classes are: {}",
                                classes.join(", ")
                            ),
                        ));
                    };
                    weights[index] = *weight;
                }
                weights
            }
        };
        Ok(Some(labels.iter().map(|&l| per_class[l]).collect()))
    }
}

/// Every linear-learner parameter, defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearParams {
    /// L2 penalty.
    pub l2: f64,
    /// L1 penalty.
    #[serde(default)]
    pub l1: f64,
    /// Requested solver.
    #[serde(default)]
    pub solver: Solver,
    /// Class weights.
    #[serde(default)]
    pub class_weights: ClassWeights,
    /// Iteration cap.
    pub max_iter: usize,
    /// Gradient tolerance.
    pub tol: f64,
    /// SGD epochs.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// SGD mini-batch rows.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// SGD initial step size.
    #[serde(default = "default_learning_rate")]
    pub learning_rate: f64,
    /// String encoding.
    pub encoding: Encoding,
    /// Standardization switch.
    pub standardize: bool,
    /// Category cap.
    pub max_categories: usize,
}

fn default_epochs() -> usize {
    10
}

fn default_batch_size() -> usize {
    256
}

fn default_learning_rate() -> f64 {
    0.01
}

fn invalid(name: &str, reason: String) -> Error {
    Error::InvalidHyperparameter {
        name: name.to_string(),
        reason,
    }
}

impl LinearParams {
    /// Reads and validates the parameters (keys the algorithm does not know are rejected).
    pub fn from_hyperparameters(params: &Hyperparameters) -> Result<LinearParams> {
        crate::algorithm::check_hyperparameter_keys(&LinearLearner, params)?;
        let l2 = params.f64_or("l2", 1e-4)?;
        let l1 = params.f64_or("l1", 0.0)?;
        let tol = params.f64_or("tol", 1e-7)?;
        for (name, value) in [("l2", l2), ("l1", l1), ("tol", tol)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(invalid(
                    name,
                    format!("must be a finite number >= 0, got {value}"),
                ));
            }
        }
        let learning_rate = params.f64_or("learning_rate", default_learning_rate())?;
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(invalid(
                "learning_rate",
                format!("must be a finite number > 0, got {learning_rate}"),
            ));
        }
        let epochs = params.usize_or("epochs", default_epochs())?;
        let batch_size = params.usize_or("batch_size", default_batch_size())?;
        for (name, value) in [("epochs", epochs), ("batch_size", batch_size)] {
            if value == 0 {
                return Err(invalid(name, "must be at least 1".to_string()));
            }
        }
        let solver = Solver::parse(params.get("solver").unwrap_or("auto"))?;
        if solver == Solver::Lbfgs && l1 > 0.0 {
            return Err(invalid(
                "solver",
                "lbfgs cannot optimize an L1 penalty; use owlqn, sgd or auto".to_string(),
            ));
        }
        Ok(LinearParams {
            l2,
            l1,
            solver,
            class_weights: ClassWeights::parse(params.get("class_weights").unwrap_or("none"))?,
            max_iter: params.usize_or("max_iter", 200)?,
            tol,
            epochs,
            batch_size,
            learning_rate,
            encoding: Encoding::parse(params.get("encoding").unwrap_or("onehot"))?,
            standardize: params.bool_or("standardize", true)?,
            max_categories: params.usize_or("max_categories", 100)?,
        })
    }
}
