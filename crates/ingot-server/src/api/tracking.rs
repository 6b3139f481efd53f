//! Native experiment tracking (`/experiments`, `/runs`, run comparison) and the registry's
//! approval workflow (`/registry/models`). Filters use the same grammar as the MLflow API.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use ingot_protocol::{
    ApprovalRequest, CreateExperimentRequest, CreateRunRequest, ErrorBody, ExperimentView,
    HistoryPoint, LogRequest, MetricHistoryView, RegistryModelSettings, RegistryModelView,
    RegistryVersionView, RunComparisonView, RunPage, RunView, UpdateRunRequest,
};
use ingot_protocol_mlflow::filter::{parse_search, Context};
use ingot_service::tracking_types::{self as domain, NewRun, RunUpdate, SearchRequest, ViewType};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{ApiError, AppState};

fn map(pairs: &[domain::KeyValue]) -> BTreeMap<String, String> {
    pairs.iter().cloned().collect()
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

fn experiment_view(e: domain::Experiment) -> ExperimentView {
    ExperimentView {
        id: e.experiment_id.to_string(),
        name: e.name,
        lifecycle_stage: e.lifecycle_stage,
        artifact_location: e.artifact_location,
        created_at: e.creation_time,
        updated_at: e.last_update_time,
        tags: map(&e.tags),
    }
}

fn run_view(r: domain::Run) -> RunView {
    let tags = map(&r.tags);
    RunView {
        id: r.info.run_id,
        experiment_id: r.info.experiment_id.to_string(),
        name: r.info.run_name,
        status: r.info.status,
        lifecycle_stage: r.info.lifecycle_stage,
        user: r.info.user_id,
        start_time: r.info.start_time,
        end_time: r.info.end_time,
        artifact_uri: r.info.artifact_uri,
        params: map(&r.params),
        metrics: r
            .metrics
            .iter()
            .map(|m| (m.key.clone(), finite(m.value)))
            .collect(),
        notes: tags.get("mlflow.note.content").cloned(),
        tags,
    }
}

fn history(run_id: &str, key: &str, points: &[domain::MetricPoint]) -> MetricHistoryView {
    MetricHistoryView {
        run_id: run_id.to_string(),
        key: key.to_string(),
        points: points
            .iter()
            .map(|p| HistoryPoint {
                step: p.step,
                value: finite(p.value),
                timestamp: p.timestamp,
            })
            .collect(),
    }
}

pub(crate) fn registry_version_view(v: domain::RegistryVersion) -> RegistryVersionView {
    let tags = map(&v.tags);
    RegistryVersionView {
        native_version: tags
            .get(ingot_service::NATIVE_VERSION_TAG)
            .and_then(|t| t.parse().ok()),
        model: v.name,
        version: v.version,
        stage: v.current_stage,
        source: v.source,
        run_id: v.run_id,
        approval_status: v.approval_status,
        approved_by: v.approved_by,
        approved_at: v.approved_at,
        tags,
        aliases: v.aliases,
    }
}

fn experiment_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("experiment id {text:?} must be an integer")))
}

fn search_request(
    context: Context,
    filter: Option<&str>,
    order_by: Option<&str>,
    max_results: Option<i64>,
    page_token: Option<String>,
) -> Result<SearchRequest, ApiError> {
    let order: Vec<String> = order_by
        .map(|o| o.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let search =
        parse_search(context, filter, &order).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let max_results = max_results.unwrap_or(100);
    if !(1..=10_000).contains(&max_results) {
        return Err(ApiError::bad_request(
            "max_results must be between 1 and 10000",
        ));
    }
    Ok(SearchRequest {
        search,
        view: ViewType::ActiveOnly,
        max_results,
        page_token,
    })
}

/// Query of the list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SearchQuery {
    /// MLflow filter grammar, e.g. `metrics.auc > 0.8 AND params.l2 = '0.01'`.
    filter: Option<String>,
    /// Comma-separated keys, e.g. `metrics.auc DESC`.
    order_by: Option<String>,
    max_results: Option<i64>,
    page_token: Option<String>,
}

/// Experiments, filtered with the MLflow grammar.
#[utoipa::path(get, path = "/experiments", tag = "tracking", params(SearchQuery),
    responses((status = 200, body = Vec<ExperimentView>), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_experiments(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<ExperimentView>>, ApiError> {
    let request = search_request(
        Context::Experiments,
        query.filter.as_deref(),
        query.order_by.as_deref(),
        query.max_results.or(Some(1000)),
        query.page_token,
    )?;
    let page = state
        .platform
        .tracking()
        .search_experiments(&request)
        .await
        .map_err(ingot_service::Error::from)?;
    Ok(Json(page.items.into_iter().map(experiment_view).collect()))
}

/// Creates an experiment.
#[utoipa::path(post, path = "/experiments", tag = "tracking", request_body = CreateExperimentRequest,
    responses((status = 201, body = ExperimentView), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_experiment(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateExperimentRequest>,
) -> Result<(StatusCode, Json<ExperimentView>), ApiError> {
    if request.name.trim().is_empty() {
        return Err(ApiError::bad_request("name: must not be empty"));
    }
    let tags: Vec<domain::KeyValue> = request.tags.into_iter().collect();
    let created = state
        .platform
        .tracking()
        .create_experiment(&request.name, "", &tags)
        .await
        .map_err(ingot_service::Error::from)?;
    Ok((StatusCode::CREATED, Json(experiment_view(created))))
}

/// One experiment, by id or by name.
#[utoipa::path(get, path = "/experiments/{experiment}", tag = "tracking",
    params(("experiment" = String, Path, description = "Experiment id or name")),
    responses((status = 200, body = ExperimentView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show_experiment(
    State(state): State<AppState>,
    ApiPath(experiment): ApiPath<String>,
) -> Result<Json<ExperimentView>, ApiError> {
    let tracking = state.platform.tracking();
    let found = match experiment.parse::<i64>() {
        Ok(id) => tracking.experiment(id).await,
        Err(_) => tracking.experiment_by_name(&experiment).await,
    }
    .map_err(ingot_service::Error::from)?;
    Ok(Json(experiment_view(found)))
}

/// Runs of an experiment, filtered, ordered and paged.
#[utoipa::path(get, path = "/experiments/{experiment}/runs", tag = "tracking",
    params(("experiment" = String, Path, description = "Experiment id"), SearchQuery),
    responses((status = 200, body = RunPage), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_runs(
    State(state): State<AppState>,
    ApiPath(experiment): ApiPath<String>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<RunPage>, ApiError> {
    let id = experiment_id(&experiment)?;
    let request = search_request(
        Context::Runs,
        query.filter.as_deref(),
        query.order_by.as_deref(),
        query.max_results,
        query.page_token,
    )?;
    let page = state
        .platform
        .tracking()
        .search_runs(&[id], &request)
        .await
        .map_err(ingot_service::Error::from)?;
    Ok(Json(RunPage {
        runs: page.items.into_iter().map(run_view).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// Starts a run in an experiment.
#[utoipa::path(post, path = "/experiments/{experiment}/runs", tag = "tracking",
    params(("experiment" = String, Path, description = "Experiment id")), request_body = CreateRunRequest,
    responses((status = 201, body = RunView), (status = 404, body = ErrorBody)))]
pub(crate) async fn create_run(
    State(state): State<AppState>,
    ApiPath(experiment): ApiPath<String>,
    ApiJson(request): ApiJson<CreateRunRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = state
        .platform
        .tracking()
        .create_run(NewRun {
            run_id: None,
            experiment_id: experiment_id(&experiment)?,
            user_id: String::new(),
            run_name: request.name,
            start_time: ingot_store::now_millis(),
            tags: request.tags.into_iter().collect(),
        })
        .await
        .map_err(ingot_service::Error::from)?;
    Ok((StatusCode::CREATED, Json(run_view(run))))
}

/// One run.
#[utoipa::path(get, path = "/runs/{run}", tag = "tracking",
    params(("run" = String, Path, description = "Run id (a training job's runs use the job id)")),
    responses((status = 200, body = RunView), (status = 404, body = ErrorBody)))]
pub(crate) async fn show_run(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<String>,
) -> Result<Json<RunView>, ApiError> {
    let run = state
        .platform
        .tracking()
        .run(&run)
        .await
        .map_err(ingot_service::Error::from)?;
    Ok(Json(run_view(run)))
}

/// Changes a run's status, name or notes.
#[utoipa::path(patch, path = "/runs/{run}", tag = "tracking",
    params(("run" = String, Path, description = "Run id")), request_body = UpdateRunRequest,
    responses((status = 200, body = RunView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn update_run(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<String>,
    ApiJson(request): ApiJson<UpdateRunRequest>,
) -> Result<Json<RunView>, ApiError> {
    let tracking = state.platform.tracking();
    if let Some(status) = &request.status {
        if !matches!(
            status.as_str(),
            "RUNNING" | "FINISHED" | "FAILED" | "KILLED"
        ) {
            return Err(ApiError::bad_request(format!(
                "status: {status:?} is not one of RUNNING, FINISHED, FAILED, KILLED"
            )));
        }
    }
    let end_time = request
        .status
        .as_deref()
        .filter(|s| *s != "RUNNING")
        .map(|_| ingot_store::now_millis());
    tracking
        .update_run(
            &run,
            RunUpdate {
                status: request.status,
                end_time,
                run_name: request.name,
            },
        )
        .await
        .map_err(ingot_service::Error::from)?;
    if let Some(notes) = request.notes {
        let tag = [("mlflow.note.content".to_string(), notes)];
        tracking
            .log_batch(&run, &[], &[], &tag)
            .await
            .map_err(ingot_service::Error::from)?;
    }
    show_run(State(state), ApiPath(run)).await
}

/// Logs params (write-once), metric points and tags in one transaction.
#[utoipa::path(post, path = "/runs/{run}/log", tag = "tracking",
    params(("run" = String, Path, description = "Run id")), request_body = LogRequest,
    responses((status = 200, body = RunView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn log(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<String>,
    ApiJson(request): ApiJson<LogRequest>,
) -> Result<Json<RunView>, ApiError> {
    if request.metrics.len() > 10_000 || request.params.len() > 1000 || request.tags.len() > 1000 {
        return Err(ApiError::bad_request(
            "a log request holds at most 10000 metric points, 1000 params and 1000 tags",
        ));
    }
    let now = ingot_store::now_millis();
    let metrics: Vec<domain::MetricPoint> = request
        .metrics
        .into_iter()
        .map(|m| domain::MetricPoint {
            key: m.key,
            value: m.value,
            timestamp: m.timestamp.unwrap_or(now),
            step: m.step,
        })
        .collect();
    if let Some(empty) = metrics.iter().find(|m| m.key.is_empty()) {
        return Err(ApiError::bad_request(format!(
            "metrics: a point at step {} has an empty key",
            empty.step
        )));
    }
    let params: Vec<domain::KeyValue> = request.params.into_iter().collect();
    let tags: Vec<domain::KeyValue> = request.tags.into_iter().collect();
    state
        .platform
        .tracking()
        .log_batch(&run, &metrics, &params, &tags)
        .await
        .map_err(ingot_service::Error::from)?;
    show_run(State(state), ApiPath(run)).await
}

/// The full history of one metric of a run.
#[utoipa::path(get, path = "/runs/{run}/metrics/{key}", tag = "tracking",
    params(("run" = String, Path, description = "Run id"), ("key" = String, Path, description = "Metric key")),
    responses((status = 200, body = MetricHistoryView), (status = 404, body = ErrorBody)))]
pub(crate) async fn metric_history(
    State(state): State<AppState>,
    ApiPath((run, key)): ApiPath<(String, String)>,
) -> Result<Json<MetricHistoryView>, ApiError> {
    let points = state
        .platform
        .tracking()
        .metric_history(&run, &key)
        .await
        .map_err(ingot_service::Error::from)?;
    Ok(Json(history(&run, &key, &points)))
}

/// Query of the comparison view.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct CompareQuery {
    /// Comma-separated run ids.
    run_ids: String,
    /// Comma-separated metric keys (every metric of the runs when omitted).
    metrics: Option<String>,
}

/// Runs side by side, with each metric's histories aligned per run.
#[utoipa::path(get, path = "/runs/compare", tag = "tracking", params(CompareQuery),
    responses((status = 200, body = RunComparisonView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn compare(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<CompareQuery>,
) -> Result<Json<RunComparisonView>, ApiError> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let ids = split(&query.run_ids);
    let keys = query.metrics.as_deref().map(split).unwrap_or_default();
    let comparison = state.platform.compare_runs(&ids, &keys).await?;
    let mut metrics: BTreeMap<String, Vec<MetricHistoryView>> = BTreeMap::new();
    for series in comparison.series {
        metrics.entry(series.key.clone()).or_default().push(history(
            &series.run_id,
            &series.key,
            &series.points,
        ));
    }
    Ok(Json(RunComparisonView {
        runs: comparison.runs.into_iter().map(run_view).collect(),
        metrics,
    }))
}

async fn registry_model(state: &AppState, name: &str) -> Result<RegistryModelView, ApiError> {
    let tracking = state.platform.tracking();
    let model = tracking
        .registered_model(name)
        .await
        .map_err(ingot_service::Error::from)?;
    let search = parse_search(
        Context::ModelVersions,
        Some(&format!("name = '{}'", name.replace('\'', "''"))),
        &[],
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let versions = tracking
        .search_registry_versions(&SearchRequest {
            search,
            view: ViewType::All,
            max_results: 10_000,
            page_token: None,
        })
        .await
        .map_err(ingot_service::Error::from)?;
    let mut versions = versions.items;
    versions.sort_by_key(|v| v.version);
    Ok(RegistryModelView {
        name: model.name,
        description: model.description,
        require_approval: model.require_approval,
        tags: map(&model.tags),
        versions: versions.into_iter().map(registry_version_view).collect(),
    })
}

/// Registered models of the MLflow-compatible registry (MLflow-registered and trained here).
#[utoipa::path(get, path = "/registry/models", tag = "models",
    responses((status = 200, body = Vec<RegistryModelView>)))]
pub(crate) async fn registry_models(
    State(state): State<AppState>,
) -> Result<Json<Vec<RegistryModelView>>, ApiError> {
    let request = SearchRequest {
        max_results: 1000,
        ..Default::default()
    };
    let page = state
        .platform
        .tracking()
        .search_registered_models(&request)
        .await
        .map_err(ingot_service::Error::from)?;
    let mut out = Vec::new();
    for model in page.items {
        out.push(registry_model(&state, &model.name).await?);
    }
    Ok(Json(out))
}

/// One registered model with every version, its approval state and lineage.
#[utoipa::path(get, path = "/registry/models/{name}", tag = "models",
    params(("name" = String, Path, description = "Registered model name")),
    responses((status = 200, body = RegistryModelView), (status = 404, body = ErrorBody)))]
pub(crate) async fn registry_model_show(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<RegistryModelView>, ApiError> {
    Ok(Json(registry_model(&state, &name).await?))
}

/// Changes a registered model's settings, e.g. whether deployment requires approval.
#[utoipa::path(patch, path = "/registry/models/{name}", tag = "models",
    params(("name" = String, Path, description = "Registered model name")), request_body = RegistryModelSettings,
    responses((status = 200, body = RegistryModelView), (status = 404, body = ErrorBody)))]
pub(crate) async fn registry_model_update(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(settings): ApiJson<RegistryModelSettings>,
) -> Result<Json<RegistryModelView>, ApiError> {
    let tracking = state.platform.tracking();
    if let Err(ingot_store::Error::NotFound { .. }) = tracking.registered_model(&name).await {
        // A natively trained model that was never mirrored still gets its registry entry.
        state.platform.model_version(&name, None).await?;
        tracking
            .create_registered_model(&name, "", &[])
            .await
            .map_err(ingot_service::Error::from)?;
    }
    tracking
        .update_registered_model(
            &name,
            settings.description.as_deref(),
            settings.require_approval,
        )
        .await
        .map_err(ingot_service::Error::from)?;
    Ok(Json(registry_model(&state, &name).await?))
}

/// Approves or rejects a model version, recording who decided and when.
#[utoipa::path(post, path = "/registry/models/{name}/versions/{version}/approval", tag = "models",
    params(("name" = String, Path, description = "Registered model name"), ("version" = i64, Path, description = "Registry version")),
    request_body = ApprovalRequest,
    responses((status = 200, body = RegistryVersionView), (status = 404, body = ErrorBody)))]
pub(crate) async fn approval(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath((name, version)): ApiPath<(String, i64)>,
    ApiJson(request): ApiJson<ApprovalRequest>,
) -> Result<Json<RegistryVersionView>, ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    let by = match token {
        Some(token) => state
            .platform
            .token_name(token)
            .await?
            .unwrap_or_else(|| "unknown token".to_string()),
        None => "anonymous (auth disabled)".to_string(),
    };
    let decided = state
        .platform
        .decide_approval(&name, version, request.approve, &by)
        .await?;
    Ok(Json(registry_version_view(decided)))
}
