//! Model-registry routes: list models, their versions with lineage, and artifact download.

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::Json;
use ingot_protocol::{
    ErrorBody, InputDatasetView, LineageView, ModelSummaryView, ModelVersionView,
};

use crate::extract::ApiPath;
use crate::{ApiError, AppState};

/// Parses a version path segment: a number or `latest`.
fn parse_version(text: &str) -> Result<Option<i64>, ApiError> {
    if text == "latest" {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(v) if v >= 1 => Ok(Some(v)),
        _ => Err(ApiError::bad_request(format!(
            "version {text:?} must be a positive integer or 'latest'"
        ))),
    }
}

/// Every registered model.
#[utoipa::path(get, path = "/models", tag = "models",
    responses((status = 200, body = Vec<ModelSummaryView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<Json<Vec<ModelSummaryView>>, ApiError> {
    let models = state.platform.list_models().await?;
    Ok(Json(models.into_iter().map(Into::into).collect()))
}

/// Every version of a model.
#[utoipa::path(get, path = "/models/{name}/versions", tag = "models",
    params(("name" = String, Path, description = "Model name")),
    responses((status = 200, body = Vec<ModelVersionView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn versions(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<ModelVersionView>>, ApiError> {
    let versions = state.platform.model_details(&name).await?;
    Ok(Json(versions.into_iter().map(detail_view).collect()))
}

/// A version of either registry as the native API shows it.
fn detail_view(detail: ingot_service::ModelDetail) -> ModelVersionView {
    let lineage = detail.lineage;
    let lineage = LineageView {
        job_id: lineage.job_id,
        run_id: lineage.run_id,
        dataset: lineage.dataset,
        dataset_version: lineage.dataset_version,
        metrics: lineage.metrics,
        input_datasets: lineage
            .input_datasets
            .into_iter()
            .map(|d| InputDatasetView {
                name: d.name,
                digest: d.digest,
                source_type: d.source_type,
                source: d.source,
                context: d.context,
            })
            .collect(),
    };
    let created_at = detail.registry.as_ref().map_or(0, |r| r.creation_timestamp);
    let registry = detail.registry.map(super::tracking::registry_version_view);
    let mut view = match detail.native {
        Some(native) => ModelVersionView::from(native),
        None => {
            let registry = registry.as_ref();
            ModelVersionView {
                model: registry.map(|r| r.model.clone()).unwrap_or_default(),
                version: detail.version,
                artifact_hash: String::new(),
                algorithm: String::new(),
                task: String::new(),
                metrics: lineage.metrics.clone(),
                input_schema: Vec::new(),
                lineage: LineageView::default(),
                created_at,
                origin: "mlflow".to_string(),
                registry: None,
            }
        }
    };
    view.lineage = lineage;
    view.registry = registry;
    view
}

/// One model version with its metrics, input schema and lineage.
#[utoipa::path(get, path = "/models/{name}/versions/{version}", tag = "models",
    params(("name" = String, Path, description = "Model name"), ("version" = String, Path, description = "A version number or `latest`")),
    responses((status = 200, body = ModelVersionView), (status = 404, body = ErrorBody)))]
pub(crate) async fn version(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<ModelVersionView>, ApiError> {
    let version = parse_version(&version)?;
    let detail = state.platform.model_detail(&name, version).await?;
    Ok(Json(detail_view(detail)))
}

/// Downloads the model artifact (an Ingot model file).
#[utoipa::path(get, path = "/models/{name}/versions/{version}/artifact", tag = "models",
    params(("name" = String, Path, description = "Model name"), ("version" = String, Path, description = "A version number or `latest`")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub(crate) async fn artifact(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let version = parse_version(&version)?;
    let bytes = state.platform.model_artifact(&name, version).await?;
    let disposition = format!("attachment; filename=\"{name}.ingot\"");
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

/// How an imported model file is described.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct ImportParams {
    /// `onnx`, `xgboost` or `lightgbm`.
    format: String,
    /// Input columns in feature order, `name:type,name:type` (default: from the file).
    schema: Option<String>,
    /// Class labels in output order, comma-separated (default: from the file, or 0..k-1).
    classes: Option<String>,
}

/// Imports a model trained elsewhere (the request body is the model file) as a new version.
#[utoipa::path(post, path = "/models/{name}/import", tag = "models",
    params(("name" = String, Path, description = "Model name"), ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ModelVersionView), (status = 400, body = ErrorBody)))]
pub(crate) async fn import(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    crate::extract::ApiQuery(params): crate::extract::ApiQuery<ImportParams>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(axum::http::StatusCode, Json<ModelVersionView>), ApiError> {
    let body = body?;
    let schema = params
        .schema
        .as_deref()
        .map(ingot_core::Schema::parse_spec)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let classes = params.classes.map(|c| {
        c.split(',')
            .map(|s| s.trim().to_string())
            .collect::<Vec<_>>()
    });
    let version = state
        .platform
        .import_model(&name, &params.format, body, schema, classes)
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(version.into())))
}
