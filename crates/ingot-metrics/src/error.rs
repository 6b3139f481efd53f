//! The error type of the metrics crate.

/// Invalid metric inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Two inputs that must be parallel have different lengths.
    #[error("length mismatch for {what}: expected {expected} values, got {actual}")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        actual: usize,
    },
    /// No samples were given.
    #[error("no samples to evaluate")]
    Empty,
    /// A class index is outside `0..classes`.
    #[error("class index {index} at row {row} is out of range for {classes} classes")]
    ClassOutOfRange {
        row: usize,
        index: usize,
        classes: usize,
    },
    /// The number of classes is unusable (zero).
    #[error("invalid number of classes: {classes}")]
    InvalidClassCount { classes: usize },
    /// A value is NaN or infinite where a finite number is required.
    #[error("{what} at row {row} is not a finite number")]
    NonFinite { what: &'static str, row: usize },
    /// A value is outside the range the metric accepts.
    #[error("{what} at row {row} is out of range: {reason}")]
    OutOfRange {
        what: &'static str,
        row: usize,
        reason: &'static str,
    },
    /// Binary averaging was asked for labels that are not binary.
    #[error(
        "binary averaging needs at most 2 labels including the positive label {positive}; \
         found labels {labels:?} (use micro, macro or weighted averaging)"
    )]
    NotBinary { positive: usize, labels: Vec<usize> },
    /// A parameter such as `k` or a dimension is unusable.
    #[error("invalid {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
