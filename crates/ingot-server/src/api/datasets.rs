//! Dataset routes: upload or point at a file to create a version, list, and show profiles.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ingot_protocol::{CreateDatasetFromPath, DatasetSummaryView, DatasetVersionView, ErrorBody};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// Options of an upload.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct UploadQuery {
    /// `csv`, `parquet` or `jsonl`; inferred from `source`'s extension or the bytes otherwise.
    format: Option<String>,
    /// The original file name, recorded for humans.
    source: Option<String>,
}

fn created(
    view: (ingot_core::records::DatasetVersion, bool),
) -> (StatusCode, Json<DatasetVersionView>) {
    let (version, is_new) = view;
    let mut view = DatasetVersionView::from(version);
    view.created = is_new;
    let status = if is_new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(view))
}

/// Creates a dataset version from the request body (CSV, Parquet or JSON Lines).
#[utoipa::path(post, path = "/datasets/{name}/versions", tag = "datasets",
    params(("name" = String, Path, description = "Dataset name"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(
        (status = 201, description = "A new version", body = DatasetVersionView),
        (status = 200, description = "Identical content already existed", body = DatasetVersionView),
        (status = 400, description = "Unreadable data; the message names the line and column", body = ErrorBody)))]
pub(crate) async fn create_version(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<DatasetVersionView>), ApiError> {
    let body = body?;
    let source = query.source.unwrap_or_else(|| "upload".to_string());
    let result = state
        .platform
        .create_dataset(&name, body, query.format.as_deref(), &source)
        .await?;
    Ok(created(result))
}

/// Creates a dataset version from a file on the server's machine.
#[utoipa::path(post, path = "/datasets/{name}/versions/from-path", tag = "datasets",
    params(("name" = String, Path, description = "Dataset name")),
    request_body = CreateDatasetFromPath,
    responses(
        (status = 201, body = DatasetVersionView),
        (status = 400, body = ErrorBody)))]
pub(crate) async fn create_from_path(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<CreateDatasetFromPath>,
) -> Result<(StatusCode, Json<DatasetVersionView>), ApiError> {
    let result = state
        .platform
        .create_dataset_from_path(&name, &request.path, request.format.as_deref())
        .await?;
    Ok(created(result))
}

/// Every dataset with its latest version.
#[utoipa::path(get, path = "/datasets", tag = "datasets",
    responses((status = 200, body = Vec<DatasetSummaryView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<Json<Vec<DatasetSummaryView>>, ApiError> {
    let datasets = state.platform.list_datasets().await?;
    Ok(Json(datasets.into_iter().map(Into::into).collect()))
}

/// The latest version of a dataset, with its profile.
#[utoipa::path(get, path = "/datasets/{name}", tag = "datasets",
    params(("name" = String, Path, description = "Dataset name")),
    responses((status = 200, body = DatasetVersionView), (status = 404, body = ErrorBody)))]
pub(crate) async fn latest(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<DatasetVersionView>, ApiError> {
    Ok(Json(
        state.platform.dataset_version(&name, None).await?.into(),
    ))
}

/// Every version of a dataset.
#[utoipa::path(get, path = "/datasets/{name}/versions", tag = "datasets",
    params(("name" = String, Path, description = "Dataset name")),
    responses((status = 200, body = Vec<DatasetVersionView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn versions(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<DatasetVersionView>>, ApiError> {
    let versions = state.platform.list_dataset_versions(&name).await?;
    Ok(Json(versions.into_iter().map(Into::into).collect()))
}

/// One version of a dataset.
#[utoipa::path(get, path = "/datasets/{name}/versions/{version}", tag = "datasets",
    params(("name" = String, Path, description = "Dataset name"), ("version" = i64, Path, description = "Version number")),
    responses((status = 200, body = DatasetVersionView), (status = 404, body = ErrorBody)))]
pub(crate) async fn version(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, i64)>,
) -> Result<Json<DatasetVersionView>, ApiError> {
    Ok(Json(
        state
            .platform
            .dataset_version(&name, Some(version))
            .await?
            .into(),
    ))
}
