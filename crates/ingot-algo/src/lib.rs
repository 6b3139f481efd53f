//! Ingot's learning algorithms and the pure training pipeline.
//!
//! * [`Algorithm`] / [`Estimator`]: the contract every learner implements; [`algorithms`] and
//!   [`algorithm`] form the registry.
//! * [`preprocess`]: the shared, serializable feature preprocessing (imputation, one-hot or
//!   ordinal encoding, standardization) producing a dense row-major [`preprocess::Matrix`].
//! * [`linear`]: the `linear-learner` (L2-regularized linear / logistic / softmax regression
//!   fitted by full-batch L-BFGS, see [`optim`]).
//! * [`train`], [`evaluate`] and [`LoadedModel`]: the end-to-end pipeline shared by the server's
//!   job runner and `ingot train --local`.
//!
//! Everything here is deterministic and free of I/O: data arrives as Arrow batches, models
//! leave as bytes, randomness comes only from explicit seeds.

mod algorithm;
mod error;
pub mod linear;
pub mod optim;
mod pipeline;
mod predictions;
pub mod preprocess;

pub use algorithm::{
    algorithm, algorithms, Algorithm, Estimator, FitContext, HyperparameterSpec, Target,
    TrainEvent, TrainingData, PIPELINE_HYPERPARAMETERS,
};
pub use error::{Error, Result};
pub use pipeline::{evaluate, train, LoadedModel, TrainOutcome, TrainRequest};
pub use predictions::Predictions;
