//! Endpoint routes: deploy a model version or a full serving configuration, update it (weights,
//! models, shadow, capture...), list, show with live numbers, delete; data-plane keys; batch
//! transform jobs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ingot_core::EndpointConfig;
use ingot_protocol::{
    CreateEndpoint, CreateEndpointKey, CreateTransformJob, EndpointKeyView, EndpointView,
    ErrorBody, TransformJobView,
};
use ingot_service::{TransformRequest, TransformStatus};

use crate::extract::{ApiJson, ApiPath};
use crate::{ApiError, AppState};

fn parse_config(value: serde_json::Value) -> Result<EndpointConfig, ApiError> {
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid endpoint configuration: {e}")))
}

fn view(state: &AppState, endpoint: ingot_core::records::Endpoint) -> EndpointView {
    let stats = state.platform.endpoint_stats(&endpoint.name);
    let mut view: EndpointView = endpoint.into();
    view.variants = stats
        .into_iter()
        .filter_map(|s| serde_json::to_value(s).ok())
        .collect();
    view
}

/// Deploys a model version, or a whole configuration, as an endpoint (status `Creating`
/// until every variant is ready).
#[utoipa::path(post, path = "/endpoints", tag = "endpoints",
    request_body = CreateEndpoint,
    responses((status = 201, body = EndpointView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateEndpoint>,
) -> Result<(StatusCode, Json<EndpointView>), ApiError> {
    let endpoint = match (request.config, request.model) {
        (Some(config), None) => {
            state
                .platform
                .deploy_config(&request.name, parse_config(config)?)
                .await?
        }
        (None, Some(model)) => {
            state
                .platform
                .deploy(&request.name, &model, request.version)
                .await?
        }
        _ => {
            return Err(ApiError::bad_request(
                "give either \"model\" (and optionally \"version\") or \"config\"",
            ))
        }
    };
    Ok((StatusCode::CREATED, Json(view(&state, endpoint))))
}

/// Replaces an endpoint's configuration without dropping requests: new variants start and
/// become ready before traffic moves to them.
#[utoipa::path(put, path = "/endpoints/{name}", tag = "endpoints",
    params(("name" = String, Path, description = "Endpoint name")),
    request_body(content = Object, description = "The new EndpointConfig"),
    responses((status = 200, body = EndpointView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(config): ApiJson<serde_json::Value>,
) -> Result<Json<EndpointView>, ApiError> {
    let endpoint = state
        .platform
        .update_endpoint(&name, parse_config(config)?)
        .await?;
    Ok(Json(view(&state, endpoint)))
}

/// Every endpoint.
#[utoipa::path(get, path = "/endpoints", tag = "endpoints",
    responses((status = 200, body = Vec<EndpointView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<Json<Vec<EndpointView>>, ApiError> {
    let endpoints = state.platform.list_endpoints().await?;
    Ok(Json(
        endpoints.into_iter().map(|e| view(&state, e)).collect(),
    ))
}

/// One endpoint, with live numbers per variant.
#[utoipa::path(get, path = "/endpoints/{name}", tag = "endpoints",
    params(("name" = String, Path, description = "Endpoint name")),
    responses((status = 200, body = EndpointView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<EndpointView>, ApiError> {
    let endpoint = state.platform.endpoint(&name).await?;
    Ok(Json(view(&state, endpoint)))
}

/// Deletes an endpoint and stops its replicas.
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

/// Creates a data-plane key for one endpoint; the key is shown only in this answer.
#[utoipa::path(post, path = "/endpoints/{name}/keys", tag = "endpoints",
    params(("name" = String, Path, description = "Endpoint name")),
    request_body = CreateEndpointKey,
    responses((status = 201, body = EndpointKeyView), (status = 404, body = ErrorBody)))]
pub(crate) async fn create_key(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<CreateEndpointKey>,
) -> Result<(StatusCode, Json<EndpointKeyView>), ApiError> {
    let (key, secret) = state
        .platform
        .create_endpoint_key(&name, &request.name)
        .await?;
    let mut view: EndpointKeyView = key.into();
    view.key = Some(secret);
    Ok((StatusCode::CREATED, Json(view)))
}

/// An endpoint's keys (never the secrets).
#[utoipa::path(get, path = "/endpoints/{name}/keys", tag = "endpoints",
    params(("name" = String, Path, description = "Endpoint name")),
    responses((status = 200, body = Vec<EndpointKeyView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_keys(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<EndpointKeyView>>, ApiError> {
    let keys = state.platform.list_endpoint_keys(&name).await?;
    Ok(Json(keys.into_iter().map(Into::into).collect()))
}

/// Revokes a key.
#[utoipa::path(delete, path = "/endpoints/{name}/keys/{id}", tag = "endpoints",
    params(("name" = String, Path, description = "Endpoint name"), ("id" = String, Path, description = "Key id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_key(
    State(state): State<AppState>,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.platform.revoke_endpoint_key(&name, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a batch transform job: a dataset version scored into a new dataset version.
#[utoipa::path(post, path = "/transform-jobs", tag = "transform",
    request_body = CreateTransformJob,
    responses((status = 201, body = TransformJobView), (status = 404, body = ErrorBody)))]
pub(crate) async fn create_transform(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateTransformJob>,
) -> Result<(StatusCode, Json<TransformJobView>), ApiError> {
    let job = state
        .platform
        .submit_transform(TransformRequest {
            model: request.model,
            model_version: request.model_version,
            dataset: request.dataset,
            dataset_version: request.dataset_version,
            output_dataset: request.output_dataset,
            join_input: request.join_input,
            workers: request.workers,
            memory_limit_mib: request.memory_limit_mib,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(transform_view(job))))
}

fn transform_view(status: TransformStatus) -> TransformJobView {
    let mut view = TransformJobView::from(status.job);
    view.progress = status.progress.map(super::jobs::progress_view);
    view
}

/// Every transform job, newest first.
#[utoipa::path(get, path = "/transform-jobs", tag = "transform",
    responses((status = 200, body = Vec<TransformJobView>)))]
pub(crate) async fn list_transforms(
    State(state): State<AppState>,
) -> Result<Json<Vec<TransformJobView>>, ApiError> {
    let jobs = state.platform.list_transform_jobs().await?;
    Ok(Json(jobs.into_iter().map(transform_view).collect()))
}

/// One transform job.
#[utoipa::path(get, path = "/transform-jobs/{id}", tag = "transform",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = TransformJobView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show_transform(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TransformJobView>, ApiError> {
    Ok(Json(transform_view(
        state.platform.transform_job(&id).await?,
    )))
}

/// Stops a running transform job; answers once it has ended (`Stopped`, nothing written).
#[utoipa::path(post, path = "/transform-jobs/{id}/stop", tag = "transform",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = TransformJobView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The job has already ended")))]
pub(crate) async fn stop_transform(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TransformJobView>, ApiError> {
    Ok(Json(transform_view(
        state.platform.stop_transform(&id).await?,
    )))
}
