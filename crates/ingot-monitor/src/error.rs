//! The monitoring crate's one error type.

/// Everything that can go wrong building statistics, reading baseline files or checking.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// A column's Arrow type does not match its declared type.
    #[error("column {column}: expected {expected} data, found {found}")]
    ColumnType {
        column: String,
        expected: String,
        found: String,
    },
    /// Batches or statistics that do not line up.
    #[error("schema mismatch: {0}")]
    Schema(String),
    /// A baseline file that does not parse; the message names the field, line and column.
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    /// A file that parses but says something impossible (e.g. a negative count).
    #[error("{file}: feature {feature}: {message}")]
    Invalid {
        file: String,
        feature: String,
        message: String,
    },
    /// An unknown drift test name or a bad threshold.
    #[error("{0}")]
    Options(String),
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
