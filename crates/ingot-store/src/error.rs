//! The error type of the metadata store.

/// Errors raised by a [`MetadataStore`](crate::MetadataStore).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named record does not exist.
    #[error("{kind} {name:?} not found")]
    NotFound { kind: &'static str, name: String },
    /// A record with that name already exists.
    #[error("{kind} {name:?} already exists")]
    AlreadyExists { kind: &'static str, name: String },
    /// The request contradicts the current state, e.g. an illegal state transition.
    #[error("conflict: {message}")]
    Conflict { message: String },
    /// A value cannot be stored, e.g. a metric that is not a finite number.
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored row could not be decoded.
    #[error("corrupt {what}: {reason}")]
    Corrupt { what: String, reason: String },
    /// A schema migration could not be applied.
    #[error("migration {version} ({name}) failed: {reason}")]
    Migration {
        version: i64,
        name: String,
        reason: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            name: name.into(),
        }
    }

    pub(crate) fn version_not_found(kind: &'static str, name: &str, version: i64) -> Self {
        Error::NotFound {
            kind,
            name: format!("{name}:{version}"),
        }
    }
}
