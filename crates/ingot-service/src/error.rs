//! The service error: a small classification every protocol maps to its own status codes.

/// What kind of failure happened, independent of any protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller sent something invalid.
    BadInput,
    /// No or an unknown credential.
    Unauthenticated,
    /// The named thing does not exist.
    NotFound,
    /// The name is taken.
    AlreadyExists,
    /// The thing exists but is in the wrong state for this request.
    Conflict,
    /// The body's media type is not one we read.
    UnsupportedMediaType,
    /// The requested answer type is not one we write.
    NotAcceptable,
    /// The thing is not ready yet (e.g. an endpoint still loading).
    Unavailable,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// A model took longer than the endpoint allows.
    Timeout,
    /// The endpoint is answering as many requests as it may (`max_concurrency`).
    Throttled,
    /// Our fault; details are logged, not returned.
    Internal,
}

/// A classified service error with a message fit for the caller.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The classification.
    pub kind: ErrorKind,
    /// What went wrong, naming the field, row or column where there is one.
    pub message: String,
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an error of a kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// A bad-input error.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadInput, message)
    }

    /// An internal error; the message is for logs.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl From<ingot_core::Error> for Error {
    fn from(e: ingot_core::Error) -> Self {
        Error::bad_input(e.to_string())
    }
}

impl From<ingot_data::Error> for Error {
    fn from(e: ingot_data::Error) -> Self {
        Error::bad_input(e.to_string())
    }
}

impl From<ingot_catalog::Error> for Error {
    fn from(e: ingot_catalog::Error) -> Self {
        Error::bad_input(e.to_string())
    }
}

impl From<ingot_store::Error> for Error {
    fn from(e: ingot_store::Error) -> Self {
        let kind = match &e {
            ingot_store::Error::NotFound { .. } => ErrorKind::NotFound,
            ingot_store::Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            ingot_store::Error::Conflict { .. } => ErrorKind::Conflict,
            ingot_store::Error::Invalid { .. } => ErrorKind::BadInput,
            _ => ErrorKind::Internal,
        };
        Error::new(kind, e.to_string())
    }
}

impl From<ingot_artifacts::Error> for Error {
    fn from(e: ingot_artifacts::Error) -> Self {
        let kind = match &e {
            ingot_artifacts::Error::InvalidPath { .. } | ingot_artifacts::Error::Upload { .. } => {
                ErrorKind::BadInput
            }
            ingot_artifacts::Error::PathNotFound { .. } => ErrorKind::NotFound,
            ingot_artifacts::Error::TooLarge { .. } => ErrorKind::PayloadTooLarge,
            _ => ErrorKind::Internal,
        };
        Error::new(kind, e.to_string())
    }
}

impl From<ingot_serve::Error> for Error {
    fn from(e: ingot_serve::Error) -> Self {
        let kind = match e.status() {
            415 => ErrorKind::UnsupportedMediaType,
            406 => ErrorKind::NotAcceptable,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            503 => ErrorKind::Unavailable,
            413 => ErrorKind::PayloadTooLarge,
            504 => ErrorKind::Timeout,
            status if (400..500).contains(&status) => ErrorKind::BadInput,
            _ => ErrorKind::Internal,
        };
        Error::new(kind, e.to_string())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::internal(format!("background task failed: {e}"))
    }
}
