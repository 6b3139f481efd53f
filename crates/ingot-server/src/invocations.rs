//! The data plane: `GET /endpoints/{name}/ping` and `POST /endpoints/{name}/invocations`,
//! the SageMaker-style hosting contract served from the in-memory model cache.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::extract::ApiPath;
use crate::{ApiError, AppState};

/// Largest invocation body.
pub(crate) const MAX_INVOCATION_BYTES: usize = 64 * 1024 * 1024;

pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/endpoints/{name}/ping", get(ping))
        .route(
            "/endpoints/{name}/invocations",
            post(invoke).layer(DefaultBodyLimit::max(MAX_INVOCATION_BYTES)),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            crate::auth::require_token,
        ))
}

async fn ping(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<&'static str, ApiError> {
    state.platform.ping(&name).await?;
    Ok("")
}

async fn invoke(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let body = body?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "missing Content-Type: send text/csv, application/json or application/jsonlines",
            )
        })?;
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    let (media_type, answer) = state
        .platform
        .invoke(&name, body, content_type, accept)
        .await?;
    Ok(([(CONTENT_TYPE, media_type)], answer))
}
