//! The error type of the core crate: invalid names, references and parameter values.

/// Errors raised while validating domain values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A user-supplied name breaks the naming rules.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    /// A `NAME[:VERSION]` reference could not be parsed.
    #[error("invalid model reference {reference:?}: expected NAME or NAME:VERSION")]
    InvalidReference { reference: String },
    /// A hyperparameter has a value of the wrong shape.
    #[error("hyperparameter {name}: {reason}")]
    InvalidHyperparameter { name: String, reason: String },
    /// An enum value was not recognised.
    #[error("unknown {kind} {value:?}")]
    UnknownValue { kind: &'static str, value: String },
    /// A configuration field has an unusable value.
    #[error("invalid {field}: {reason}")]
    InvalidConfig { field: String, reason: String },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
