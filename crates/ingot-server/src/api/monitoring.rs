//! Model-monitoring routes: baselines (computed from a dataset version, uploaded, read),
//! monitoring schedules per endpoint (create, list, show, delete, run now), executions and
//! their stored reports, and ground-truth uploads.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ingot_protocol::{
    BaselineView, CreateBaseline, CreateMonitoringSchedule, ErrorBody, GroundTruthAccepted,
    MonitoringExecutionView, MonitoringScheduleView,
};
use ingot_service::monitoring::{BaselineFiles, ScheduleSettings};

use crate::extract::{ApiJson, ApiPath};
use crate::{ApiError, AppState};

fn baseline_view(name: &str, files: BaselineFiles) -> BaselineView {
    BaselineView {
        name: Some(name.to_string()),
        statistics: files.statistics,
        constraints: files.constraints,
        model_quality: files.model_quality,
        attributions: files.attributions,
        bias: files.bias,
    }
}

/// Computes statistics.json and suggested constraints.json of a dataset version and stores
/// them as a baseline.
#[utoipa::path(post, path = "/monitoring/baselines", tag = "monitoring",
    request_body = CreateBaseline,
    responses((status = 201, body = BaselineView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn create_baseline(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateBaseline>,
) -> Result<(StatusCode, Json<BaselineView>), ApiError> {
    let bias = request
        .bias
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("invalid bias settings: {e}")))?;
    let files = state
        .platform
        .create_baseline(
            &request.name,
            &request.dataset,
            request.dataset_version,
            request.model.as_deref(),
            bias,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(baseline_view(&request.name, files)),
    ))
}

/// A baseline's files.
#[utoipa::path(get, path = "/monitoring/baselines/{name}", tag = "monitoring",
    params(("name" = String, Path, description = "Baseline name")),
    responses((status = 200, body = BaselineView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show_baseline(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<BaselineView>, ApiError> {
    let files = state.platform.baseline(&name).await?;
    Ok(Json(baseline_view(&name, files)))
}

/// Uploads (edited) baseline files; only the given ones are replaced.
#[utoipa::path(put, path = "/monitoring/baselines/{name}", tag = "monitoring",
    params(("name" = String, Path, description = "Baseline name")),
    request_body = BaselineView,
    responses((status = 200, body = BaselineView), (status = 400, body = ErrorBody)))]
pub(crate) async fn put_baseline(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<BaselineView>,
) -> Result<Json<BaselineView>, ApiError> {
    let files = BaselineFiles {
        statistics: request.statistics,
        constraints: request.constraints,
        model_quality: request.model_quality,
        attributions: request.attributions,
        bias: request.bias,
    };
    let files = state.platform.put_baseline(&name, files).await?;
    Ok(Json(baseline_view(&name, files)))
}

/// Creates a monitoring schedule of an endpoint.
#[utoipa::path(post, path = "/endpoints/{name}/monitoring-schedules", tag = "monitoring",
    params(("name" = String, Path, description = "Endpoint name")),
    request_body = CreateMonitoringSchedule,
    responses((status = 201, body = MonitoringScheduleView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_schedule(
    State(state): State<AppState>,
    ApiPath(endpoint): ApiPath<String>,
    ApiJson(request): ApiJson<CreateMonitoringSchedule>,
) -> Result<(StatusCode, Json<MonitoringScheduleView>), ApiError> {
    let name = request.name.clone();
    let settings: ScheduleSettings = serde_json::to_value(&request)
        .and_then(serde_json::from_value)
        .map_err(|e| ApiError::bad_request(format!("invalid monitoring schedule: {e}")))?;
    let schedule = state
        .platform
        .create_monitoring_schedule(&endpoint, &name, settings)
        .await?;
    Ok((StatusCode::CREATED, Json(schedule.into())))
}

/// An endpoint's monitoring schedules.
#[utoipa::path(get, path = "/endpoints/{name}/monitoring-schedules", tag = "monitoring",
    params(("name" = String, Path, description = "Endpoint name")),
    responses((status = 200, body = Vec<MonitoringScheduleView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_schedules(
    State(state): State<AppState>,
    ApiPath(endpoint): ApiPath<String>,
) -> Result<Json<Vec<MonitoringScheduleView>>, ApiError> {
    let schedules = state.platform.list_monitoring_schedules(&endpoint).await?;
    Ok(Json(schedules.into_iter().map(Into::into).collect()))
}

/// One monitoring schedule.
#[utoipa::path(get, path = "/endpoints/{name}/monitoring-schedules/{schedule}", tag = "monitoring",
    params(("name" = String, Path, description = "Endpoint name"), ("schedule" = String, Path, description = "Schedule name")),
    responses((status = 200, body = MonitoringScheduleView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show_schedule(
    State(state): State<AppState>,
    ApiPath((endpoint, name)): ApiPath<(String, String)>,
) -> Result<Json<MonitoringScheduleView>, ApiError> {
    let schedule = state.platform.monitoring_schedule(&endpoint, &name).await?;
    Ok(Json(schedule.into()))
}

/// Deletes a monitoring schedule and its execution records.
#[utoipa::path(delete, path = "/endpoints/{name}/monitoring-schedules/{schedule}", tag = "monitoring",
    params(("name" = String, Path, description = "Endpoint name"), ("schedule" = String, Path, description = "Schedule name")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_schedule(
    State(state): State<AppState>,
    ApiPath((endpoint, name)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .platform
        .delete_monitoring_schedule(&endpoint, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs one execution of a schedule now, over the data captured since the previous one.
#[utoipa::path(post, path = "/endpoints/{name}/monitoring-schedules/{schedule}/run", tag = "monitoring",
    params(("name" = String, Path, description = "Endpoint name"), ("schedule" = String, Path, description = "Schedule name")),
    responses((status = 200, body = MonitoringExecutionView), (status = 404, body = ErrorBody)))]
pub(crate) async fn run_schedule(
    State(state): State<AppState>,
    ApiPath((endpoint, name)): ApiPath<(String, String)>,
) -> Result<Json<MonitoringExecutionView>, ApiError> {
    let execution = state
        .platform
        .run_monitoring_schedule(&endpoint, &name)
        .await?;
    Ok(Json(execution.into()))
}

/// An endpoint's monitoring executions, newest first.
#[utoipa::path(get, path = "/endpoints/{name}/monitoring-executions", tag = "monitoring",
    params(("name" = String, Path, description = "Endpoint name")),
    responses((status = 200, body = Vec<MonitoringExecutionView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_executions(
    State(state): State<AppState>,
    ApiPath(endpoint): ApiPath<String>,
) -> Result<Json<Vec<MonitoringExecutionView>>, ApiError> {
    let executions = state
        .platform
        .list_monitoring_executions(&endpoint, None)
        .await?;
    Ok(Json(executions.into_iter().map(Into::into).collect()))
}

/// One monitoring execution.
#[utoipa::path(get, path = "/endpoints/{name}/monitoring-executions/{id}", tag = "monitoring",
    params(("name" = String, Path, description = "Endpoint name"), ("id" = String, Path, description = "Execution id")),
    responses((status = 200, body = MonitoringExecutionView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show_execution(
    State(state): State<AppState>,
    ApiPath((endpoint, id)): ApiPath<(String, String)>,
) -> Result<Json<MonitoringExecutionView>, ApiError> {
    let execution = state.platform.monitoring_execution(&endpoint, &id).await?;
    Ok(Json(execution.into()))
}

/// A stored report file of an execution: `report.json`, `report.html` or
/// `constraint_violations.json`.
#[utoipa::path(get, path = "/endpoints/{name}/monitoring-executions/{id}/{file}", tag = "monitoring",
    params(("name" = String, Path, description = "Endpoint name"), ("id" = String, Path, description = "Execution id"), ("file" = String, Path, description = "report.json, report.html or constraint_violations.json")),
    responses((status = 200, description = "The file"), (status = 404, body = ErrorBody)))]
pub(crate) async fn report(
    State(state): State<AppState>,
    ApiPath((endpoint, id, file)): ApiPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let bytes = state
        .platform
        .monitoring_report(&endpoint, &id, &file)
        .await?;
    let content_type = if file.ends_with(".html") {
        "text/html; charset=utf-8"
    } else {
        "application/json"
    };
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// Stores ground-truth labels of captured events: CSV or JSON Lines with `event_id` and
/// `label`.
#[utoipa::path(post, path = "/endpoints/{name}/ground-truth", tag = "monitoring",
    params(("name" = String, Path, description = "Endpoint name")),
    request_body(content = String, content_type = "text/csv", description = "event_id,label rows (or JSON Lines)"),
    responses((status = 201, body = GroundTruthAccepted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn ground_truth(
    State(state): State<AppState>,
    ApiPath(endpoint): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<GroundTruthAccepted>), ApiError> {
    let body = body?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/csv");
    let rows = state
        .platform
        .add_ground_truth(&endpoint, &body, content_type)
        .await?;
    Ok((StatusCode::CREATED, Json(GroundTruthAccepted { rows })))
}
