//! GBDT hyperparameters: LightGBM names and defaults, parsing and validation.

use ingot_algo::{Error, HyperparameterSpec, Result};
use ingot_core::Hyperparameters;
use serde::{Deserialize, Serialize};

/// Documentation of every `gbdt` hyperparameter (shown by `ingot train --help`).
pub const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "objective",
        default: "auto",
        description: "auto (by task), binary, multiclass, regression (l2), regression_l1 (l1), huber, poisson or quantile",
    },
    HyperparameterSpec {
        name: "num_trees",
        default: "100",
        description: "boosting rounds (alias num_iterations); multiclass grows one tree per class per round",
    },
    HyperparameterSpec {
        name: "num_iterations",
        default: "100",
        description: "alias of num_trees",
    },
    HyperparameterSpec {
        name: "learning_rate",
        default: "0.1",
        description: "shrinkage applied to every tree's outputs, > 0",
    },
    HyperparameterSpec {
        name: "num_leaves",
        default: "31",
        description: "maximum leaves per tree (>= 2)",
    },
    HyperparameterSpec {
        name: "max_depth",
        default: "-1",
        description: "maximum tree depth, -1 for no limit",
    },
    HyperparameterSpec {
        name: "grow_policy",
        default: "leafwise",
        description: "leafwise (best-first by gain, like LightGBM) or depthwise (level by level, like XGBoost)",
    },
    HyperparameterSpec {
        name: "min_data_in_leaf",
        default: "20",
        description: "minimum rows in a leaf",
    },
    HyperparameterSpec {
        name: "min_sum_hessian_in_leaf",
        default: "0.001",
        description: "minimum sum of hessians in a leaf",
    },
    HyperparameterSpec {
        name: "lambda_l1",
        default: "0",
        description: "L1 regularization of leaf values",
    },
    HyperparameterSpec {
        name: "lambda_l2",
        default: "0",
        description: "L2 regularization of leaf values",
    },
    HyperparameterSpec {
        name: "min_gain_to_split",
        default: "0",
        description: "minimum loss reduction to make a split",
    },
    HyperparameterSpec {
        name: "bagging_fraction",
        default: "1",
        description: "fraction of rows sampled (without replacement) for each bagging round, in (0, 1]",
    },
    HyperparameterSpec {
        name: "bagging_freq",
        default: "0",
        description: "resample rows every k rounds; 0 disables bagging",
    },
    HyperparameterSpec {
        name: "feature_fraction",
        default: "1",
        description: "fraction of features considered by each tree, in (0, 1]",
    },
    HyperparameterSpec {
        name: "early_stopping_rounds",
        default: "0",
        description: "stop when the validation metric has not improved for k rounds (0: off); keeps the best round",
    },
    HyperparameterSpec {
        name: "max_bin",
        default: "255",
        description: "maximum histogram bins per feature (2..=65535)",
    },
    HyperparameterSpec {
        name: "min_data_in_bin",
        default: "3",
        description: "minimum rows per histogram bin",
    },
    HyperparameterSpec {
        name: "alpha",
        default: "0.9",
        description: "huber delta, or the quantile level for objective=quantile",
    },
    HyperparameterSpec {
        name: "max_cat_to_onehot",
        default: "4",
        description: "categorical features with at most this many categories use one-vs-rest splits",
    },
    HyperparameterSpec {
        name: "max_cat_threshold",
        default: "32",
        description: "most categories on one side of a many-vs-many categorical split",
    },
    HyperparameterSpec {
        name: "cat_smooth",
        default: "10",
        description: "smoothing of the gradient/hessian ratio that orders categories",
    },
    HyperparameterSpec {
        name: "cat_l2",
        default: "10",
        description: "extra L2 regularization of categorical splits",
    },
    HyperparameterSpec {
        name: "max_categories",
        default: "254",
        description: "most frequent categories kept per string column; the rest count as missing",
    },
    HyperparameterSpec {
        name: "seed",
        default: "job seed",
        description: "seed of bagging and feature sampling (defaults to the training seed)",
    },
];

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveKind {
    /// Binary log loss (sigmoid).
    Binary,
    /// Multiclass softmax.
    Multiclass,
    /// Squared error.
    L2,
    /// Absolute error.
    L1,
    /// Huber loss with delta `alpha`.
    Huber,
    /// Poisson deviance (log link).
    Poisson,
    /// Pinball loss at level `alpha`.
    Quantile,
}

impl ObjectiveKind {
    fn parse(text: &str) -> Result<Option<ObjectiveKind>> {
        Ok(Some(match text {
            "auto" => return Ok(None),
            "binary" | "binary_logloss" | "logistic" => ObjectiveKind::Binary,
            "multiclass" | "softmax" | "multi_logloss" => ObjectiveKind::Multiclass,
            "regression" | "regression_l2" | "l2" | "mse" | "mean_squared_error" => {
                ObjectiveKind::L2
            }
            "regression_l1" | "l1" | "mae" | "mean_absolute_error" => ObjectiveKind::L1,
            "huber" => ObjectiveKind::Huber,
            "poisson" => ObjectiveKind::Poisson,
            "quantile" => ObjectiveKind::Quantile,
            other => {
                return Err(invalid(
                    "objective",
                    format!(
                        "unknown objective {other:?}; expected auto, binary, multiclass, \
                         regression, regression_l1, huber, poisson or quantile"
                    ),
                ))
            }
        }))
    }
}

/// How trees grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrowPolicy {
    /// Split the leaf with the largest gain next.
    Leafwise,
    /// Split every leaf of a level before going deeper.
    Depthwise,
    /// Finish the newest leaf's subtree first (random forests: fully grown trees keep only
    /// O(depth) open histograms, and picking the next leaf is O(1)). Not a `gbdt` option.
    DepthFirst,
}

/// Every `gbdt` parameter with defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtParams {
    /// The objective; `None` means chosen from the task.
    pub objective: Option<ObjectiveKind>,
    /// Boosting rounds.
    pub num_trees: usize,
    /// Shrinkage.
    pub learning_rate: f64,
    /// Maximum leaves per tree.
    pub num_leaves: usize,
    /// Maximum depth, -1 for none.
    pub max_depth: i64,
    /// Growth order.
    pub grow_policy: GrowPolicy,
    /// Minimum rows per leaf.
    pub min_data_in_leaf: usize,
    /// Minimum hessian sum per leaf.
    pub min_sum_hessian_in_leaf: f64,
    /// L1 penalty on leaf values.
    pub lambda_l1: f64,
    /// L2 penalty on leaf values.
    pub lambda_l2: f64,
    /// Minimum split gain.
    pub min_gain_to_split: f64,
    /// Row sampling fraction.
    pub bagging_fraction: f64,
    /// Row resampling period (0: off).
    pub bagging_freq: usize,
    /// Column sampling fraction per tree.
    pub feature_fraction: f64,
    /// Early stopping patience (0: off).
    pub early_stopping_rounds: usize,
    /// Maximum bins per feature.
    pub max_bin: usize,
    /// Minimum rows per bin.
    pub min_data_in_bin: usize,
    /// Huber delta / quantile level.
    pub alpha: f64,
    /// One-vs-rest categorical splits up to this many categories.
    pub max_cat_to_onehot: usize,
    /// Most categories on the left of a categorical split.
    pub max_cat_threshold: usize,
    /// Category ordering smoothing.
    pub cat_smooth: f64,
    /// Categorical split L2.
    pub cat_l2: f64,
    /// Categories kept per string column.
    pub max_categories: usize,
    /// Seed of the sampling.
    pub seed: u64,
}

fn invalid(name: &str, reason: String) -> Error {
    Error::InvalidHyperparameter {
        name: name.to_string(),
        reason,
    }
}

fn non_negative(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(invalid(
            name,
            format!("must be a finite number >= 0, got {value}"),
        ))
    }
}

fn fraction(name: &str, value: f64) -> Result<f64> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(invalid(name, format!("must be in (0, 1], got {value}")))
    }
}

impl GbdtParams {
    /// Reads and validates the parameters; unknown keys are rejected. `default_seed` is the
    /// training seed, used when `seed` is not given.
    pub fn from_hyperparameters(params: &Hyperparameters, default_seed: u64) -> Result<Self> {
        ingot_algo::check_hyperparameter_keys(&crate::Gbdt, params)?;
        if params.get("num_trees").is_some() && params.get("num_iterations").is_some() {
            return Err(invalid(
                "num_iterations",
                "give either num_trees or its alias num_iterations, not both".to_string(),
            ));
        }
        let num_trees = match params.get("num_iterations") {
            Some(_) => params.usize_or("num_iterations", 100)?,
            None => params.usize_or("num_trees", 100)?,
        };
        if num_trees == 0 {
            return Err(invalid("num_trees", "must be at least 1".to_string()));
        }
        let learning_rate = params.f64_or("learning_rate", 0.1)?;
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(invalid(
                "learning_rate",
                format!("must be a finite number > 0, got {learning_rate}"),
            ));
        }
        let num_leaves = params.usize_or("num_leaves", 31)?;
        if !(2..=131_072).contains(&num_leaves) {
            return Err(invalid(
                "num_leaves",
                format!("must be in 2..=131072, got {num_leaves}"),
            ));
        }
        let max_depth = match params.get("max_depth") {
            None => -1,
            Some(text) => text.trim().parse::<i64>().map_err(|_| {
                invalid(
                    "max_depth",
                    format!("expected an integer (-1 for no limit), got {text:?}"),
                )
            })?,
        };
        if max_depth == 0 || max_depth < -1 {
            return Err(invalid(
                "max_depth",
                format!("must be -1 or >= 1, got {max_depth}"),
            ));
        }
        let grow_policy = match params.get("grow_policy").unwrap_or("leafwise") {
            "leafwise" | "lossguide" | "leaf-wise" => GrowPolicy::Leafwise,
            "depthwise" | "depth-wise" => GrowPolicy::Depthwise,
            other => {
                return Err(invalid(
                    "grow_policy",
                    format!("expected leafwise or depthwise, got {other:?}"),
                ))
            }
        };
        let max_bin = params.usize_or("max_bin", 255)?;
        if !(2..=65_535).contains(&max_bin) {
            return Err(invalid(
                "max_bin",
                format!("must be in 2..=65535, got {max_bin}"),
            ));
        }
        let alpha = params.f64_or("alpha", 0.9)?;
        let objective = ObjectiveKind::parse(params.get("objective").unwrap_or("auto"))?;
        if objective == Some(ObjectiveKind::Quantile) && !(alpha > 0.0 && alpha < 1.0) {
            return Err(invalid(
                "alpha",
                format!("the quantile level must be in (0, 1), got {alpha}"),
            ));
        }
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(invalid("alpha", format!("must be > 0, got {alpha}")));
        }
        let max_categories = params.usize_or("max_categories", 254)?;
        if max_categories == 0 || max_categories >= 65_535 {
            return Err(invalid(
                "max_categories",
                format!("must be in 1..65535, got {max_categories}"),
            ));
        }
        let max_cat_threshold = params.usize_or("max_cat_threshold", 32)?;
        if max_cat_threshold == 0 {
            return Err(invalid(
                "max_cat_threshold",
                "must be at least 1".to_string(),
            ));
        }
        Ok(GbdtParams {
            objective,
            num_trees,
            learning_rate,
            num_leaves,
            max_depth,
            grow_policy,
            min_data_in_leaf: params.usize_or("min_data_in_leaf", 20)?,
            min_sum_hessian_in_leaf: non_negative(
                "min_sum_hessian_in_leaf",
                params.f64_or("min_sum_hessian_in_leaf", 1e-3)?,
            )?,
            lambda_l1: non_negative("lambda_l1", params.f64_or("lambda_l1", 0.0)?)?,
            lambda_l2: non_negative("lambda_l2", params.f64_or("lambda_l2", 0.0)?)?,
            min_gain_to_split: non_negative(
                "min_gain_to_split",
                params.f64_or("min_gain_to_split", 0.0)?,
            )?,
            bagging_fraction: fraction(
                "bagging_fraction",
                params.f64_or("bagging_fraction", 1.0)?,
            )?,
            bagging_freq: params.usize_or("bagging_freq", 0)?,
            feature_fraction: fraction(
                "feature_fraction",
                params.f64_or("feature_fraction", 1.0)?,
            )?,
            early_stopping_rounds: params.usize_or("early_stopping_rounds", 0)?,
            max_bin,
            min_data_in_bin: params.usize_or("min_data_in_bin", 3)?.max(1),
            alpha,
            max_cat_to_onehot: params.usize_or("max_cat_to_onehot", 4)?,
            max_cat_threshold,
            cat_smooth: non_negative("cat_smooth", params.f64_or("cat_smooth", 10.0)?)?,
            cat_l2: non_negative("cat_l2", params.f64_or("cat_l2", 10.0)?)?,
            max_categories,
            seed: params.u64_or("seed", default_seed)?,
        })
    }
}
