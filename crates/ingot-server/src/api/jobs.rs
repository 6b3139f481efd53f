//! Training-job routes: submit, list, show (with live progress), logs, metrics and stop.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ingot_core::Hyperparameters;
use ingot_protocol::{
    CreateTrainingJob, ErrorBody, JobView, LogLineView, MetricPointView, ProgressView,
};
use ingot_service::TrainingRequest;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{ApiError, AppState};

fn view(state: &AppState, job: ingot_core::records::Job) -> JobView {
    let progress = state.platform.job_progress(&job.id);
    let mut view = JobView::from(job);
    view.progress = progress.map(progress_view);
    view
}

/// A running job's progress (training or transform) as the API shows it.
pub(crate) fn progress_view(progress: ingot_service::JobProgress) -> ProgressView {
    ProgressView {
        done: progress.done,
        total: progress.total,
    }
}

/// Submits a training job; it runs asynchronously.
#[utoipa::path(post, path = "/training-jobs", tag = "training",
    request_body = CreateTrainingJob,
    responses((status = 201, body = JobView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateTrainingJob>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let request = TrainingRequest {
        dataset: request.dataset,
        dataset_version: request.dataset_version,
        validation_dataset: request.validation_dataset,
        target: request.target,
        algorithm: request.algorithm,
        hyperparameters: Hyperparameters(request.hyperparameters),
        drop_columns: request.drop_columns,
        validation_fraction: request.validation_fraction,
        seed: request.seed,
        model_name: request.model_name,
    };
    let job = state.platform.submit_training(request).await?;
    Ok((StatusCode::CREATED, Json(view(&state, job))))
}

/// How many jobs to list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// At most this many, newest first (default 100).
    limit: Option<i64>,
}

/// Recent training jobs, newest first.
#[utoipa::path(get, path = "/training-jobs", tag = "training",
    params(ListQuery),
    responses((status = 200, body = Vec<JobView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 10_000);
    let jobs = state.platform.list_jobs(limit).await?;
    Ok(Json(jobs.into_iter().map(|j| view(&state, j)).collect()))
}

/// One job, with live progress while it runs.
#[utoipa::path(get, path = "/training-jobs/{id}", tag = "training",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = state.platform.job(&id).await?;
    Ok(Json(view(&state, job)))
}

/// Where to resume reading logs.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct LogsQuery {
    /// Only lines with a sequence number above this (default 0: all).
    after: Option<i64>,
}

/// A job's log lines.
#[utoipa::path(get, path = "/training-jobs/{id}/logs", tag = "training",
    params(("id" = String, Path, description = "Job id"), LogsQuery),
    responses((status = 200, body = Vec<LogLineView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn logs(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Json<Vec<LogLineView>>, ApiError> {
    let lines = state
        .platform
        .job_logs(&id, query.after.unwrap_or(0))
        .await?;
    Ok(Json(lines.into_iter().map(Into::into).collect()))
}

/// A job's metric series (e.g. training loss per iteration).
#[utoipa::path(get, path = "/training-jobs/{id}/metrics", tag = "training",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = Vec<MetricPointView>), (status = 404, body = ErrorBody)))]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<MetricPointView>>, ApiError> {
    let points = state.platform.job_metrics(&id).await?;
    Ok(Json(points.into_iter().map(Into::into).collect()))
}

/// Stops a pending or running job.
#[utoipa::path(post, path = "/training-jobs/{id}/stop", tag = "training",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn stop(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = state.platform.stop_job(&id).await?;
    Ok(Json(view(&state, job)))
}
