//! Responsible-ML analyses as pure functions: SageMaker Clarify's bias metrics, model-agnostic
//! KernelSHAP, and feature-attribution drift.
//!
//! * [`bias`]: the 8 pre-training and 13 post-training bias metrics of SageMaker Clarify, with
//!   Clarify's names, definitions and edge cases, gathered into a [`bias::BiasReport`] shaped
//!   like the `pre_training_bias_metrics` / `post_training_bias_metrics` sections of Clarify's
//!   `analysis.json`. Inputs are column slices, so a caller can feed a file or a stored dataset.
//! * [`shap`]: KernelSHAP (Lundberg & Lee 2017) for any model given as a closure over row-major
//!   `f64` rows, with the `shap` library's sampling scheme (complete enumeration of the small
//!   coalition sizes the budget allows, paired complementary samples) and the efficiency
//!   constraint; seeded, parallel over explained rows, and independent of the thread count.
//!   [`shap::tabular`] applies it to Arrow batches of any column types by masking whole columns.
//! * [`table`]: Arrow columns as the slices these analyses take.
//! * [`drift`]: Clarify's feature-attribution drift score, NDCG of the current ranking against
//!   the baseline's.
//! * [`report`]: self-contained HTML pages (inline SVG bar charts) for bias reports and SHAP
//!   summaries.
//!
//! **Invariant:** no I/O and no async; the only randomness is seeded.

pub mod bias;
pub mod drift;
pub mod report;
pub mod shap;
pub mod table;

/// What can go wrong in this crate. A metric that cannot be computed on the given data (an
/// empty facet, one class only) is not an error: the report carries the reason instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two inputs that must be parallel have different lengths.
    #[error("length mismatch for {what}: expected {expected} values, got {actual}")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        actual: usize,
    },
    /// An input is empty where at least one value is needed.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// An argument is out of range or inconsistent.
    #[error("invalid {what}: {message}")]
    Invalid { what: &'static str, message: String },
    /// A numeric threshold was applied to a value that is not a number.
    #[error("row {row}: {column} holds {value:?}, which is not a number")]
    NotNumeric {
        column: String,
        row: usize,
        value: String,
    },
    /// The explained model failed or answered with the wrong number of values.
    #[error("model: {0}")]
    Model(String),
    /// A table could not be taken apart or put back together.
    #[error("table: {0}")]
    Table(String),
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl From<arrow_schema::ArrowError> for Error {
    fn from(error: arrow_schema::ArrowError) -> Self {
        Error::Table(error.to_string())
    }
}
