//! MLflow's error codes, the HTTP status each one travels with, and this crate's error type.

use serde::{Deserialize, Serialize};

/// The `error_code` values Ingot sends, as the MLflow client interprets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidParameterValue,
    ResourceDoesNotExist,
    ResourceAlreadyExists,
    BadRequest,
    Unauthenticated,
    PermissionDenied,
    NotImplemented,
    InternalError,
    TemporarilyUnavailable,
    EndpointNotFound,
}

impl ErrorCode {
    /// The wire name, e.g. `RESOURCE_DOES_NOT_EXIST`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
        }
    }

    /// The HTTP status MLflow pairs with the code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidParameterValue
            | ErrorCode::ResourceAlreadyExists
            | ErrorCode::BadRequest => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => 404,
            ErrorCode::NotImplemented => 501,
            ErrorCode::InternalError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
        }
    }
}

/// The JSON body of every MLflow error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error_code: String,
    pub message: String,
}

impl ErrorResponse {
    /// Builds the body for a code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorResponse {
            error_code: code.as_str().to_string(),
            message: message.into(),
        }
    }
}

/// A filter or `order_by` string that does not parse; always `INVALID_PARAMETER_VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The filter string is malformed at the given byte offset.
    #[error("invalid filter {filter:?} at position {position}: {reason}")]
    Filter {
        filter: String,
        position: usize,
        reason: String,
    },
    /// An `order_by` entry is malformed.
    #[error("invalid order_by clause {clause:?}: {reason}")]
    OrderBy { clause: String, reason: String },
    /// A well-formed clause MLflow refuses, e.g. `params.x IN (...)`; the text is MLflow's.
    #[error("{0}")]
    Unsupported(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_travel_with_mlflow_statuses() {
        assert_eq!(ErrorCode::ResourceDoesNotExist.http_status(), 404);
        assert_eq!(ErrorCode::ResourceAlreadyExists.http_status(), 400);
        assert_eq!(ErrorCode::InvalidParameterValue.http_status(), 400);
        let body = serde_json::to_value(ErrorResponse::new(ErrorCode::BadRequest, "x")).unwrap();
        assert_eq!(body["error_code"], "BAD_REQUEST");
    }
}
