//! Open Inference Protocol error bodies: the protocol answers a failure with
//! `{"error": "<message>"}`, a string, where the rest of the API sends `{"error": {"code",
//! "message"}}`. OIP clients (`tritonclient`, KServe's) read the string.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Error answers are at most this big; anything larger is left as it is.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Rewrites an API error body on an OIP route into the protocol's shape (status unchanged).
pub(crate) async fn error_as_text(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status().is_success() || !is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string));
    match message {
        Some(message) => (parts.status, Json(json!({ "error": message }))).into_response(),
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}
