//! The serving error type: bad media types, undecodable bodies, unknown targets, model failures
//! and failed replicas, each with the HTTP status class the transports answer with.

/// Errors raised while routing, decoding a request, scoring it or encoding the answer.
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
    /// A request targets a model or variant the endpoint does not serve.
    #[error("{0}")]
    UnknownTarget(String),
    /// A serving configuration that cannot work (a pipeline whose steps do not fit).
    #[error("{0}")]
    BadConfig(String),
    /// No replica can answer right now.
    #[error("{0}")]
    Unavailable(String),
    /// A replica process answered with an error; its status and message are kept.
    #[error("{message}")]
    Remote {
        status: u16,
        code: String,
        message: String,
    },
    /// Something broke inside a replica that is not the request's fault.
    #[error("{0}")]
    Internal(String),
    /// No answer came within the endpoint's invocation timeout.
    #[error("{0}")]
    Timeout(String),
}

impl Error {
    /// The HTTP status transports answer with.
    pub fn status(&self) -> u16 {
        match self {
            Error::UnsupportedMediaType { .. } => 415,
            Error::NotAcceptable { .. } => 406,
            Error::BadBody(_) | Error::Data(_) | Error::Model(_) => 400,
            Error::UnknownTarget(_) => 404,
            Error::BadConfig(_) => 409,
            Error::Unavailable(_) => 503,
            Error::Remote { status, .. } => *status,
            Error::Internal(_) => 500,
            Error::Timeout(_) => 504,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &str {
        match self {
            Error::UnsupportedMediaType { .. } => "unsupported_media_type",
            Error::NotAcceptable { .. } => "not_acceptable",
            Error::BadBody(_) | Error::Data(_) | Error::Model(_) => "bad_request",
            Error::UnknownTarget(_) => "not_found",
            Error::BadConfig(_) => "conflict",
            Error::Unavailable(_) => "unavailable",
            Error::Remote { code, .. } => code,
            Error::Internal(_) => "internal",
            Error::Timeout(_) => "timeout",
        }
    }

    /// A request `what` (e.g. `endpoint/variant`) that got no answer within `timeout`.
    pub fn timed_out(what: &str, timeout: std::time::Duration) -> Error {
        Error::Timeout(format!(
            "{what} did not answer within {} s (the endpoint's invocation_timeout_secs)",
            timeout.as_secs_f64()
        ))
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
