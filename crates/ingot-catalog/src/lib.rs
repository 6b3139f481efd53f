//! The catalogue of Ingot's built-in algorithms and the pure end-to-end training pipeline.
//!
//! * [`algorithms`] / [`algorithm`]: the registry of every algorithm family, whichever crate
//!   implements it.
//! * [`runtimes`] / [`import_model`]: runtimes for models trained elsewhere (XGBoost JSON,
//!   LightGBM text, ONNX), wrapped into `INGOTMDL` files on import.
//! * [`read_mlmodel`]: which flavor of an MLflow model directory those runtimes can serve.
//! * [`train`], [`evaluate`] and [`LoadedModel`]: the pipeline shared by the server's job
//!   runner and `ingot train --local` (validate the request, resolve the task and classes,
//!   split, fit, evaluate, package the model file), and model loading for prediction.
//!
//! Pure like the crates below it: no I/O, no async, randomness only from explicit seeds.
//! Services depend on this crate rather than on individual algorithm crates.

mod mlflow_model;
mod pipeline;
mod registry;
mod runtimes;

pub use ingot_algo::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, ImportOptions, Imported,
    ImportedRuntime, Predictions, Result, Target, TrainEvent, TrainingData,
};
pub use mlflow_model::{read_mlmodel, MlflowModel};
pub use pipeline::{evaluate, train, LoadedModel, TrainOutcome, TrainRequest};
pub use registry::{algorithm, algorithms};
pub use runtimes::{import_model, runtime, runtimes};
