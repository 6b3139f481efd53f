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
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
