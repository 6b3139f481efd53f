//! Extractors whose rejections use Ingot's JSON error shape instead of axum's plain text.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;

use crate::ApiError;

/// `Json<T>` with JSON errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub T);

/// `Query<T>` with JSON errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub T);

/// `Path<T>` with JSON errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct ApiPath<T>(pub T);
