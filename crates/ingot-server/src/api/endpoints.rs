//! Endpoint routes: deploy a model version, list, show and delete endpoints.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ingot_protocol::{CreateEndpoint, EndpointView, ErrorBody};

use crate::extract::{ApiJson, ApiPath};
use crate::{ApiError, AppState};

/// Deploys a model version as a real-time endpoint (status `Creating` until loaded).
#[utoipa::path(post, path = "/endpoints", tag = "endpoints",
    request_body = CreateEndpoint,
    responses((status = 201, body = EndpointView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateEndpoint>,
) -> Result<(StatusCode, Json<EndpointView>), ApiError> {
    let endpoint = state
        .platform
        .deploy(&request.name, &request.model, request.version)
        .await?;
    Ok((StatusCode::CREATED, Json(endpoint.into())))
}

/// Every endpoint.
#[utoipa::path(get, path = "/endpoints", tag = "endpoints",
    responses((status = 200, body = Vec<EndpointView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<Json<Vec<EndpointView>>, ApiError> {
    let endpoints = state.platform.list_endpoints().await?;
    Ok(Json(endpoints.into_iter().map(Into::into).collect()))
}

/// One endpoint.
#[utoipa::path(get, path = "/endpoints/{name}", tag = "endpoints",
    params(("name" = String, Path, description = "Endpoint name")),
    responses((status = 200, body = EndpointView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<EndpointView>, ApiError> {
    Ok(Json(state.platform.endpoint(&name).await?.into()))
}

/// Deletes an endpoint and unloads its model.
#[utoipa::path(delete, path = "/endpoints/{name}", tag = "endpoints",
    params(("name" = String, Path, description = "Endpoint name")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.platform.delete_endpoint(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
