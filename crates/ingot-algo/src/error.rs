//! The single error type of the algorithm crate.

/// Everything that can go wrong while training, loading or applying a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Training was stopped through [`crate::FitContext::cancel`].
    #[error("training was cancelled")]
    Cancelled,
    /// No algorithm has this name.
    #[error("unknown algorithm {name:?}; available algorithms: {available}")]
    UnknownAlgorithm { name: String, available: String },
    /// A hyperparameter key the algorithm does not know.
    #[error("unknown hyperparameter {key:?} for {algorithm}; valid hyperparameters: {valid}")]
    UnknownHyperparameter {
        key: String,
        algorithm: String,
        valid: String,
    },
    /// A hyperparameter value that is well-formed but unusable.
    #[error("hyperparameter {name}: {reason}")]
    InvalidHyperparameter { name: String, reason: String },
    /// A malformed hyperparameter value (from the typed getters).
    #[error(transparent)]
    Core(#[from] ingot_core::Error),
    /// A training option outside its domain.
    #[error("invalid {name}: {reason}")]
    InvalidOption { name: &'static str, reason: String },
    /// A supervised algorithm was given no target column.
    #[error("algorithm {algorithm} is supervised and needs a target column (--target)")]
    TargetRequired { algorithm: String },
    /// An unsupervised algorithm was given a target column.
    #[error(
        "algorithm {algorithm} is unsupervised and takes no target column; drop {column:?} \
         instead (--drop) if it should not be a feature"
    )]
    TargetNotAllowed { algorithm: String, column: String },
    /// The target column is not in the data.
    #[error("target column {column:?} not found; columns are: {available}")]
    TargetNotFound { column: String, available: String },
    /// A column to drop is not in the data.
    #[error("drop column {column:?} not found in the data")]
    DropColumnNotFound { column: String },
    /// The target was also listed as a column to drop.
    #[error("target column {column:?} cannot also be dropped")]
    TargetDropped { column: String },
    /// An input column is absent from a batch.
    #[error("column {column:?} not found in the input")]
    MissingColumn { column: String },
    /// A column's Arrow type cannot be used.
    #[error("column {column:?} has unsupported type {data_type}")]
    UnsupportedColumnType { column: String, data_type: String },
    /// A row lacks a target value.
    #[error(
        "target column {column:?} is missing a value in data row {row}; \
         set drop_missing_target=true to skip such rows"
    )]
    MissingTarget { column: String, row: usize },
    /// The target cannot serve the requested task.
    #[error("target column {column:?}: {reason}")]
    InvalidTarget { column: String, reason: String },
    /// A validation row has a class never seen in training.
    #[error("validation target column {column:?} has class {value:?} in data row {row} that does not occur in the training data")]
    UnknownClass {
        column: String,
        value: String,
        row: usize,
    },
    /// Only the target and dropped columns are left.
    #[error("no feature columns remain after removing the target and dropped columns")]
    NoFeatures,
    /// No rows left to fit.
    #[error("no training rows")]
    EmptyTrainingData,
    /// Features and target disagree on the number of rows.
    #[error("features have {features} rows but the target has {target} values")]
    LengthMismatch { features: usize, target: usize },
    /// The optimizer produced non-finite values.
    #[error("training diverged: {reason}")]
    Diverged { reason: String },
    /// A model payload that cannot be interpreted.
    #[error("invalid {algorithm} model payload: {reason}")]
    InvalidPayload {
        algorithm: &'static str,
        reason: String,
    },
    /// A model file of another library that cannot be imported.
    #[error("cannot import {format} model: {reason}")]
    InvalidImport {
        format: &'static str,
        reason: String,
    },
    /// No imported-model runtime has this name.
    #[error("unknown model format {name:?}; supported formats: {available}")]
    UnknownFormat { name: String, available: String },
    /// A model written by a newer version of an algorithm.
    #[error("unsupported {algorithm} model version {found}; this build reads versions up to {supported}")]
    UnsupportedAlgorithmVersion {
        algorithm: String,
        found: u32,
        supported: u32,
    },
    /// An error from the data layer (conforming a batch to a schema, taking rows).
    #[error(transparent)]
    Data(#[from] ingot_data::Error),
    /// A model file that cannot be decoded.
    #[error(transparent)]
    Format(#[from] ingot_model_format::Error),
    /// An Arrow error while assembling batches.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
