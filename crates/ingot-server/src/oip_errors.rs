//! Open Inference Protocol error bodies: the protocol answers a failure with
//! `{"error": "<message>"}`, a string, where the rest of the API sends `{"error": {"code",
//! "message"}}`. OIP clients (`tritonclient`, KServe's) read the string.

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::Response;
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
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string));
    match message {
        // The other headers (`Retry-After`, `WWW-Authenticate`) stay.
        Some(message) => {
            parts.headers.remove(CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(json!({ "error": message }).to_string()))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    #[tokio::test]
    async fn api_errors_become_the_protocols_string_and_keep_their_headers() {
        let throttled = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", "too many");
        let response = error_as_text(throttled.into_response()).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "1");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"error": "too many"})
        );
        // Answers that are not API errors pass as they are.
        let fine = (StatusCode::OK, "ok").into_response();
        let body = axum::body::to_bytes(error_as_text(fine).await.into_body(), 64).await;
        assert_eq!(body.unwrap(), "ok");
    }
}
