//! Bearer-token authentication middleware for the control and data planes.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use crate::{ApiError, AppState};

/// Rejects requests without a valid `Authorization: Bearer <token>` when auth is on.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !state.auth {
        return Ok(next.run(request).await);
    }
    let token = bearer_token(
        request.headers(),
        "missing Authorization: Bearer <token> header",
    )?;
    if !state.platform.authenticate(token).await? {
        return Err(ApiError::unauthenticated("invalid API token"));
    }
    Ok(next.run(request).await)
}

/// The bearer token of a request: a 401 with `missing` when there is no `Authorization`
/// header, and one naming the expected shape when the header is not `Bearer <token>`.
pub(crate) fn bearer_token<'a>(
    headers: &'a axum::http::HeaderMap,
    missing: &'static str,
) -> Result<&'a str, ApiError> {
    let header = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthenticated(missing))?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthenticated("Authorization header must be 'Bearer <token>'"))
}
