//! `random-forest` hyperparameters: scikit-learn-like defaults, parsing and validation.

use ingot_algo::{Error, HyperparameterSpec, Result};
use ingot_core::Hyperparameters;
use serde::{Deserialize, Serialize};

/// Documentation of every `random-forest` hyperparameter.
pub const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "num_trees",
        default: "100",
        description: "trees in the forest (alias n_estimators)",
    },
    HyperparameterSpec {
        name: "n_estimators",
        default: "100",
        description: "alias of num_trees",
    },
    HyperparameterSpec {
        name: "max_depth",
        default: "-1",
        description: "maximum tree depth, -1 for no limit",
    },
    HyperparameterSpec {
        name: "min_data_in_leaf",
        default: "1",
        description: "minimum distinct training rows in a leaf",
    },
    HyperparameterSpec {
        name: "max_features",
        default: "auto",
        description: "features considered: auto (sqrt for classification, all for regression), sqrt, log2, all, a fraction in (0, 1) or a count >= 1",
    },
    HyperparameterSpec {
        name: "feature_sampling",
        default: "split",
        description: "draw max_features at every split (split, like scikit-learn) or once per tree (tree)",
    },
    HyperparameterSpec {
        name: "bootstrap",
        default: "true",
        description: "train each tree on a bootstrap sample (n rows drawn with replacement)",
    },
    HyperparameterSpec {
        name: "oob_score",
        default: "true",
        description: "measure out-of-bag accuracy (classification) or R² (regression) when bootstrapping",
    },
    HyperparameterSpec {
        name: "min_gain_to_split",
        default: "0",
        description: "minimum impurity reduction (weighted sum of squares) to make a split",
    },
    HyperparameterSpec {
        name: "max_bin",
        default: "255",
        description: "maximum histogram bins per feature (2..=65535)",
    },
    HyperparameterSpec {
        name: "max_categories",
        default: "254",
        description: "most frequent categories kept per string column; the rest count as missing",
    },
    HyperparameterSpec {
        name: "seed",
        default: "job seed",
        description: "seed of bootstrap and feature sampling (defaults to the training seed)",
    },
];

/// How many features each split (or tree) considers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxFeatures {
    /// `sqrt` for classification, all for regression.
    Auto,
    /// `max(1, floor(sqrt(features)))`, as scikit-learn.
    Sqrt,
    /// `max(1, floor(log2(features)))`.
    Log2,
    /// Every feature.
    All,
    /// `max(1, floor(fraction * features))`.
    Fraction(f64),
    /// A fixed count (capped at the number of features).
    Count(usize),
}

impl MaxFeatures {
    fn parse(text: &str) -> Result<MaxFeatures> {
        let text = text.trim();
        Ok(match text {
            "auto" => MaxFeatures::Auto,
            "sqrt" => MaxFeatures::Sqrt,
            "log2" => MaxFeatures::Log2,
            "all" | "none" | "None" => MaxFeatures::All,
            _ if !text.contains(['.', 'e', 'E']) => match text.parse::<usize>() {
                Ok(0) | Err(_) => return Err(bad_max_features(text)),
                Ok(n) => MaxFeatures::Count(n),
            },
            _ => match text.parse::<f64>() {
                Ok(f) if f > 0.0 && f < 1.0 => MaxFeatures::Fraction(f),
                Ok(1.0) => MaxFeatures::All,
                _ => return Err(bad_max_features(text)),
            },
        })
    }

    /// Features drawn out of `features`, for a classification task or not.
    pub fn count(self, features: usize, classification: bool) -> usize {
        let f = features as f64;
        let n = match self {
            MaxFeatures::Auto if classification => f.sqrt().floor() as usize,
            MaxFeatures::Auto | MaxFeatures::All => features,
            MaxFeatures::Sqrt => f.sqrt().floor() as usize,
            MaxFeatures::Log2 => f.log2().floor() as usize,
            MaxFeatures::Fraction(x) => (x * f).floor() as usize,
            MaxFeatures::Count(n) => n,
        };
        n.clamp(1, features.max(1))
    }
}

fn bad_max_features(text: &str) -> Error {
    invalid(
        "max_features",
        format!(
            "expected auto, sqrt, log2, all, a fraction in (0, 1] or a count >= 1, got {text:?}"
        ),
    )
}

/// Every `random-forest` parameter with defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Trees.
    pub num_trees: usize,
    /// Maximum depth, -1 for none.
    pub max_depth: i64,
    /// Minimum distinct rows per leaf.
    pub min_data_in_leaf: usize,
    /// Features per split or tree.
    pub max_features: MaxFeatures,
    /// Sample features per tree instead of per split.
    pub per_tree_features: bool,
    /// Bootstrap rows.
    pub bootstrap: bool,
    /// Compute the out-of-bag score.
    pub oob_score: bool,
    /// Minimum split gain.
    pub min_gain_to_split: f64,
    /// Maximum bins per feature.
    pub max_bin: usize,
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

impl ForestParams {
    /// Reads and validates the parameters; unknown keys are rejected.
    pub fn from_hyperparameters(params: &Hyperparameters, default_seed: u64) -> Result<Self> {
        ingot_algo::check_hyperparameter_keys(&super::RandomForest, params)?;
        if params.get("num_trees").is_some() && params.get("n_estimators").is_some() {
            return Err(invalid(
                "n_estimators",
                "give either num_trees or its alias n_estimators, not both".to_string(),
            ));
        }
        let num_trees = match params.get("n_estimators") {
            Some(_) => params.usize_or("n_estimators", 100)?,
            None => params.usize_or("num_trees", 100)?,
        };
        if !(1..=100_000).contains(&num_trees) {
            return Err(invalid(
                "num_trees",
                format!("must be in 1..=100000, got {num_trees}"),
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
        let min_data_in_leaf = params.usize_or("min_data_in_leaf", 1)?;
        if min_data_in_leaf == 0 {
            return Err(invalid(
                "min_data_in_leaf",
                "must be at least 1".to_string(),
            ));
        }
        let max_features = MaxFeatures::parse(params.get("max_features").unwrap_or("auto"))?;
        let per_tree_features = match params.get("feature_sampling").unwrap_or("split") {
            "split" | "node" => false,
            "tree" => true,
            other => {
                return Err(invalid(
                    "feature_sampling",
                    format!("expected split or tree, got {other:?}"),
                ))
            }
        };
        let min_gain_to_split = params.f64_or("min_gain_to_split", 0.0)?;
        if !(min_gain_to_split.is_finite() && min_gain_to_split >= 0.0) {
            return Err(invalid(
                "min_gain_to_split",
                format!("must be a finite number >= 0, got {min_gain_to_split}"),
            ));
        }
        let max_bin = params.usize_or("max_bin", 255)?;
        if !(2..=65_535).contains(&max_bin) {
            return Err(invalid(
                "max_bin",
                format!("must be in 2..=65535, got {max_bin}"),
            ));
        }
        let max_categories = params.usize_or("max_categories", 254)?;
        if max_categories == 0 || max_categories >= 65_535 {
            return Err(invalid(
                "max_categories",
                format!("must be in 1..65535, got {max_categories}"),
            ));
        }
        Ok(ForestParams {
            num_trees,
            max_depth,
            min_data_in_leaf,
            max_features,
            per_tree_features,
            bootstrap: params.bool_or("bootstrap", true)?,
            oob_score: params.bool_or("oob_score", true)?,
            min_gain_to_split,
            max_bin,
            max_categories,
            seed: params.u64_or("seed", default_seed)?,
        })
    }
}
