//! The serving error type: bad media types, undecodable bodies and model failures.

/// Errors raised while decoding a request, scoring it or encoding the answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `Content-Type` is not one we read.
    #[error("unsupported content type {content_type:?}: send text/csv, application/json or application/jsonlines")]
    UnsupportedMediaType { content_type: String },
    /// The `Accept` header names nothing we can write.
    #[error(
        "cannot produce {accept:?}: accept text/csv, application/json or application/jsonlines"
    )]
    NotAcceptable { accept: String },
    /// The body does not fit the media type or the model's input schema.
    #[error("{0}")]
    BadBody(String),
    /// The body parsed but its rows do not fit the model's schema.
    #[error(transparent)]
    Data(#[from] ingot_data::Error),
    /// The model failed while scoring.
    #[error(transparent)]
    Model(#[from] ingot_catalog::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
