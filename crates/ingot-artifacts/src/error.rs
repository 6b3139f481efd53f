//! The error type of the artifact store.

/// Errors raised by the artifact store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A user-supplied path or digest is not acceptable.
    #[error("invalid artifact path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    /// No artifact has this digest.
    #[error("artifact {digest} not found")]
    NotFound { digest: String },
    /// The stored bytes no longer hash to their digest.
    #[error("artifact {digest} is corrupt: its content does not match its sha256")]
    Corrupt { digest: String },
    /// No object is stored under this named path.
    #[error("artifact path {path:?} not found")]
    PathNotFound { path: String },
    /// A named object is larger than the caller reads into memory.
    #[error("artifact {path:?} is {size} bytes, more than the {limit} read here")]
    TooLarge { path: String, size: u64, limit: u64 },
    /// The bytes being streamed in could not be read (e.g. the client disconnected).
    #[error("artifact upload of {path:?} failed: {reason}")]
    Upload { path: String, reason: String },
    /// The store location cannot be used.
    #[error("invalid artifact store location {location:?}: {reason}")]
    InvalidLocation { location: String, reason: String },
    /// The underlying object store failed.
    #[error("object store error: {0}")]
    Store(#[from] object_store::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
