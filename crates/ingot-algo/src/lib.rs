//! The contract of Ingot's learning algorithms and the pieces they share, plus the linear
//! learner. The registry of every algorithm and the end-to-end training pipeline live one level
//! up, in `ingot-catalog`, so algorithm families can live in crates of their own.
//!
//! * [`Algorithm`] / [`Estimator`]: the contract every learner implements.
//! * [`preprocess`]: the shared, serializable feature preprocessing (imputation, one-hot or
//!   ordinal encoding, standardization) producing a dense row-major [`preprocess::Matrix`].
//! * [`linear`]: the `linear-learner` (L2-regularized linear / logistic / softmax regression
//!   fitted by full-batch L-BFGS, see [`optim`]).
//!
//! Everything here is deterministic and free of I/O: data arrives as Arrow batches, models
//! leave as bytes, randomness comes only from explicit seeds.

mod algorithm;
mod error;
mod evaluate;
mod explain;
pub mod linear;
pub mod optim;
mod predictions;
pub mod preprocess;
mod runtime;

pub use algorithm::{
    check_hyperparameter_keys, check_version, Algorithm, Estimator, FitContext, HyperparameterSpec,
    Target, TrainEvent, TrainingData, PIPELINE_HYPERPARAMETERS,
};
pub use error::{Error, Result};
pub use evaluate::evaluate;
pub use explain::Attributions;
pub use ingot_model_format::FeatureImportance;
pub use predictions::Predictions;
pub use runtime::{ImportOptions, Imported, ImportedRuntime};
