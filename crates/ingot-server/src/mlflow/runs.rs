//! Experiments, runs and logging: the tracking half of MLflow's REST API.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use ingot_protocol_mlflow::filter::Context;
use ingot_protocol_mlflow::types::{Request as WireRequest, SearchRunsResponse};
use ingot_service::tracking_types::{
    DatasetInput, KeyValue, MetricPoint, ModelOutput, NewRun, RunUpdate, TrackedDataset, ACTIVE,
    DELETED,
};
use serde_json::{json, Value};

use super::{convert, empty, experiment_id, required, search_request, MlResult, MlflowError, Msg};
use crate::AppState;

const MAX_METRICS_PER_BATCH: usize = 1000;
const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
const MAX_ENTITIES_PER_BATCH: usize = 1000;
const MAX_KEY_LENGTH: usize = 250;
const MAX_PARAM_VALUE_LENGTH: usize = 6000;
const MAX_TAG_VALUE_LENGTH: usize = 8000;
const SEARCH_MAX_RESULTS_DEFAULT: i64 = 1000;
const SEARCH_MAX_RESULTS_LIMIT: i64 = 50_000;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/experiments/create", post(create_experiment))
        .route("/experiments/get", get(get_experiment))
        .route("/experiments/get-by-name", get(get_experiment_by_name))
        .route(
            "/experiments/search",
            post(search_experiments).get(search_experiments),
        )
        .route("/experiments/update", post(update_experiment))
        .route("/experiments/delete", post(delete_experiment))
        .route("/experiments/restore", post(restore_experiment))
        .route("/experiments/set-experiment-tag", post(set_experiment_tag))
        .route(
            "/experiments/delete-experiment-tag",
            post(delete_experiment_tag),
        )
        .route("/runs/create", post(create_run))
        .route("/runs/get", get(get_run))
        .route("/runs/update", post(update_run))
        .route("/runs/delete", post(delete_run))
        .route("/runs/restore", post(restore_run))
        .route("/runs/search", post(search_runs))
        .route("/runs/log-metric", post(log_metric))
        .route("/runs/log-parameter", post(log_param))
        .route("/runs/set-tag", post(set_tag))
        .route("/runs/delete-tag", post(delete_tag))
        .route("/runs/log-batch", post(log_batch))
        .route("/runs/log-inputs", post(log_inputs))
        .route("/runs/outputs", post(log_outputs))
        .route("/runs/log-model", post(log_model))
        .route("/metrics/get-history", get(metric_history))
}

fn now() -> i64 {
    ingot_store::now_millis()
}

fn validate_key(kind: &str, key: &str) -> MlResult<()> {
    if key.is_empty() {
        return Err(MlflowError::missing("key"));
    }
    if key.len() > MAX_KEY_LENGTH {
        return Err(MlflowError::invalid(format!(
            "{kind} '{key}' had length {}, which exceeded length limit of {MAX_KEY_LENGTH}",
            key.len()
        )));
    }
    if key.starts_with('/') || key.split('/').any(|s| s == ".." || s == ".") {
        return Err(MlflowError::invalid(format!(
            "Invalid {kind} name: '{key}'. Names may not be absolute paths or contain '.' or \
             '..' path segments."
        )));
    }
    Ok(())
}

fn validate_value(kind: &str, key: &str, value: &str, limit: usize) -> MlResult<()> {
    if value.len() > limit {
        return Err(MlflowError::invalid(format!(
            "{kind} '{key}' had value length {}, which exceeded length limit of {limit}",
            value.len()
        )));
    }
    Ok(())
}

async fn experiment_json(state: &AppState, id: i64) -> MlResult<Value> {
    let experiment = state
        .platform
        .tracking()
        .experiment(id)
        .await
        .map_err(|e| {
            if matches!(e, ingot_store::Error::NotFound { .. }) {
                MlflowError::not_found(format!("No Experiment with id={id} exists"))
            } else {
                e.into()
            }
        })?;
    Ok(json!({ "experiment": convert::experiment(&experiment) }))
}

async fn create_experiment(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let name = required(msg.name.as_deref(), "name")?;
    for tag in &msg.tags {
        validate_key("tag", &tag.key)?;
    }
    let tags: Vec<KeyValue> = msg
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    let location = msg.artifact_location.as_deref().unwrap_or("");
    let created = state
        .platform
        .tracking()
        .create_experiment(name, location, &tags)
        .await
        .map_err(|e| match e {
            ingot_store::Error::AlreadyExists { .. } => MlflowError::new(
                ingot_protocol_mlflow::ErrorCode::ResourceAlreadyExists,
                format!("Experiment(name={name}) already exists."),
            ),
            other => other.into(),
        })?;
    Ok(Json(
        json!({ "experiment_id": created.experiment_id.to_string() }),
    ))
}

async fn get_experiment(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let id = experiment_id(required(msg.experiment_id.as_deref(), "experiment_id")?)?;
    Ok(Json(experiment_json(&state, id).await?))
}

async fn get_experiment_by_name(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let name = required(msg.experiment_name.as_deref(), "experiment_name")?;
    let experiment = state
        .platform
        .tracking()
        .experiment_by_name(name)
        .await
        .map_err(|e| match e {
            ingot_store::Error::NotFound { .. } => {
                MlflowError::not_found(format!("Could not find experiment with name '{name}'"))
            }
            other => other.into(),
        })?;
    Ok(Json(
        json!({ "experiment": convert::experiment(&experiment) }),
    ))
}

async fn search_experiments(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let request = search_request(
        &msg,
        Context::Experiments,
        msg.view_type.as_deref(),
        SEARCH_MAX_RESULTS_DEFAULT,
        SEARCH_MAX_RESULTS_LIMIT,
    )?;
    let page = state
        .platform
        .tracking()
        .search_experiments(&request)
        .await?;
    let experiments: Vec<_> = page.items.iter().map(convert::experiment).collect();
    Ok(Json(page_json(
        "experiments",
        json!(experiments),
        page.next_page_token,
    )))
}

pub(super) fn page_json(field: &str, items: Value, next: Option<String>) -> Value {
    let mut body = serde_json::Map::new();
    body.insert(field.to_string(), items);
    if let Some(token) = next {
        body.insert("next_page_token".to_string(), Value::String(token));
    }
    Value::Object(body)
}

async fn update_experiment(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let id = experiment_id(required(msg.experiment_id.as_deref(), "experiment_id")?)?;
    if let Some(name) = msg.new_name.as_deref().filter(|n| !n.is_empty()) {
        state
            .platform
            .tracking()
            .rename_experiment(id, name)
            .await?;
    }
    Ok(empty())
}

async fn set_experiment_stage(state: &AppState, msg: &WireRequest, stage: &str) -> MlResult {
    let id = experiment_id(required(msg.experiment_id.as_deref(), "experiment_id")?)?;
    if id == 0 && stage == DELETED {
        return Err(MlflowError::invalid(
            "Cannot delete the default experiment '0'.",
        ));
    }
    state
        .platform
        .tracking()
        .set_experiment_stage(id, stage)
        .await?;
    Ok(empty())
}

async fn delete_experiment(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    set_experiment_stage(&state, &msg, DELETED).await
}

async fn restore_experiment(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    set_experiment_stage(&state, &msg, ACTIVE).await
}

async fn set_experiment_tag(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let id = experiment_id(required(msg.experiment_id.as_deref(), "experiment_id")?)?;
    let key = required(msg.key.as_deref(), "key")?;
    validate_key("tag", key)?;
    let value = msg.value_text().unwrap_or_default();
    validate_value("tag", key, &value, MAX_TAG_VALUE_LENGTH)?;
    state
        .platform
        .tracking()
        .set_experiment_tag(id, key, &value)
        .await?;
    Ok(empty())
}

async fn delete_experiment_tag(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let id = experiment_id(required(msg.experiment_id.as_deref(), "experiment_id")?)?;
    let key = required(msg.key.as_deref(), "key")?;
    state
        .platform
        .tracking()
        .delete_experiment_tag(id, key)
        .await?;
    Ok(empty())
}

/// Maps a store `NotFound` for a run to MLflow's message.
fn run_error(run_id: &str) -> impl Fn(ingot_store::Error) -> MlflowError + '_ {
    move |e| match e {
        ingot_store::Error::NotFound { kind: "run", .. } => {
            MlflowError::not_found(format!("Run with id={run_id} not found"))
        }
        other => other.into(),
    }
}

async fn create_run(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let experiment = experiment_id(msg.experiment_id.as_deref().unwrap_or("0"))?;
    let mut tags: Vec<KeyValue> = Vec::new();
    for tag in &msg.tags {
        validate_key("tag", &tag.key)?;
        validate_value("tag", &tag.key, &tag.value, MAX_TAG_VALUE_LENGTH)?;
        tags.push((tag.key.clone(), tag.value.clone()));
    }
    let user_id = msg
        .user_id
        .clone()
        .or_else(|| {
            tags.iter()
                .find(|(k, _)| k == "mlflow.user")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default();
    let run = state
        .platform
        .tracking()
        .create_run(NewRun {
            run_id: None,
            experiment_id: experiment,
            user_id,
            run_name: msg.run_name.clone(),
            start_time: msg.start_time.unwrap_or_else(now),
            tags,
        })
        .await
        .map_err(|e| match e {
            ingot_store::Error::NotFound { .. } => {
                MlflowError::not_found(format!("Could not find experiment with ID {experiment}"))
            }
            other => other.into(),
        })?;
    Ok(Json(json!({ "run": convert::run(&run) })))
}

async fn get_run(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let run = state
        .platform
        .tracking()
        .run(run_id)
        .await
        .map_err(run_error(run_id))?;
    Ok(Json(json!({ "run": convert::run(&run) })))
}

async fn update_run(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    if let Some(status) = msg.status.as_deref() {
        if !matches!(
            status,
            "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED"
        ) {
            return Err(MlflowError::invalid(format!(
                "Invalid run status {status:?}"
            )));
        }
    }
    let info = state
        .platform
        .tracking()
        .update_run(
            run_id,
            RunUpdate {
                status: msg.status.clone(),
                end_time: msg.end_time,
                run_name: msg.run_name.clone(),
            },
        )
        .await
        .map_err(run_error(run_id))?;
    Ok(Json(json!({ "run_info": convert::run_info(&info) })))
}

async fn delete_run(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    state
        .platform
        .tracking()
        .set_run_stage(run_id, DELETED)
        .await
        .map_err(run_error(run_id))?;
    Ok(empty())
}

async fn restore_run(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    state
        .platform
        .tracking()
        .set_run_stage(run_id, ACTIVE)
        .await
        .map_err(run_error(run_id))?;
    Ok(empty())
}

async fn search_runs(
    State(state): State<AppState>,
    Msg(msg): Msg,
) -> MlResult<Json<SearchRunsResponse>> {
    let request = search_request(
        &msg,
        Context::Runs,
        msg.run_view_type.as_deref(),
        SEARCH_MAX_RESULTS_DEFAULT,
        SEARCH_MAX_RESULTS_LIMIT,
    )?;
    let ids = msg
        .experiment_ids
        .iter()
        .map(|id| experiment_id(id))
        .collect::<MlResult<Vec<i64>>>()?;
    let page = state
        .platform
        .tracking()
        .search_runs(&ids, &request)
        .await?;
    Ok(Json(SearchRunsResponse {
        runs: page.items.iter().map(convert::run).collect(),
        next_page_token: page.next_page_token,
    }))
}

async fn log(
    state: &AppState,
    run_id: &str,
    metrics: &[MetricPoint],
    params: &[KeyValue],
    tags: &[KeyValue],
) -> MlResult {
    state
        .platform
        .tracking()
        .log_batch(run_id, metrics, params, tags)
        .await
        .map_err(run_error(run_id))?;
    Ok(empty())
}

async fn log_metric(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let key = required(msg.key.as_deref(), "key")?;
    validate_key("metric", key)?;
    let value = match msg.value_number() {
        Some(Ok(v)) => v,
        Some(Err(v)) => {
            return Err(MlflowError::invalid(format!(
                "Got invalid value {v} for metric '{key}'"
            )))
        }
        None => return Err(MlflowError::missing("value")),
    };
    let timestamp = msg
        .timestamp
        .ok_or_else(|| MlflowError::missing("timestamp"))?;
    let point = MetricPoint {
        key: key.to_string(),
        value,
        timestamp,
        step: msg.step.unwrap_or(0),
    };
    let model = msg.model_id.as_deref().filter(|id| !id.is_empty());
    let linked: Vec<(&str, MetricPoint)> =
        model.map(|id| (id, point.clone())).into_iter().collect();
    log_with_models(&state, run_id, &[point], &[], &[], &linked).await
}

/// Logs to the run, then records the points that name a `model_id` against their logged
/// models (each of which must exist, checked before anything is written).
async fn log_with_models(
    state: &AppState,
    run_id: &str,
    metrics: &[MetricPoint],
    params: &[KeyValue],
    tags: &[KeyValue],
    linked: &[(&str, MetricPoint)],
) -> MlResult {
    let mut models: Vec<&str> = linked.iter().map(|(id, _)| *id).collect();
    models.sort_unstable();
    models.dedup();
    for id in &models {
        state
            .platform
            .tracking()
            .logged_model(id)
            .await
            .map_err(|_| {
                MlflowError::not_found(format!("Logged model with ID '{id}' not found."))
            })?;
    }
    let answer = log(state, run_id, metrics, params, tags).await?;
    for id in models {
        let points: Vec<MetricPoint> = linked
            .iter()
            .filter(|(model, _)| *model == id)
            .map(|(_, point)| point.clone())
            .collect();
        state
            .platform
            .tracking()
            .log_logged_model_metrics(id, run_id, &points)
            .await?;
    }
    Ok(answer)
}

async fn log_param(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let key = required(msg.key.as_deref(), "key")?;
    validate_key("param", key)?;
    let value = msg
        .value_text()
        .ok_or_else(|| MlflowError::missing("value"))?;
    validate_value("param", key, &value, MAX_PARAM_VALUE_LENGTH)?;
    log(&state, run_id, &[], &[(key.to_string(), value)], &[]).await
}

async fn set_tag(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let key = required(msg.key.as_deref(), "key")?;
    validate_key("tag", key)?;
    let value = msg.value_text().unwrap_or_default();
    validate_value("tag", key, &value, MAX_TAG_VALUE_LENGTH)?;
    log(&state, run_id, &[], &[], &[(key.to_string(), value)]).await
}

async fn delete_tag(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let key = required(msg.key.as_deref(), "key")?;
    state
        .platform
        .tracking()
        .delete_run_tag(run_id, key)
        .await
        .map_err(|e| match e {
            ingot_store::Error::NotFound {
                kind: "run tag", ..
            } => MlflowError::not_found(format!("No tag with name: {key} in run with id {run_id}")),
            other => run_error(run_id)(other),
        })?;
    Ok(empty())
}

async fn log_batch(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    if msg.metrics.len() > MAX_METRICS_PER_BATCH {
        return Err(MlflowError::invalid(format!(
            "A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics. Got {} metrics.",
            msg.metrics.len()
        )));
    }
    if msg.params.len() > MAX_PARAMS_TAGS_PER_BATCH || msg.tags.len() > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(MlflowError::invalid(format!(
            "A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} params and \
             {MAX_PARAMS_TAGS_PER_BATCH} tags. Got {} params and {} tags.",
            msg.params.len(),
            msg.tags.len()
        )));
    }
    let total = msg.metrics.len() + msg.params.len() + msg.tags.len();
    if total > MAX_ENTITIES_PER_BATCH {
        return Err(MlflowError::invalid(format!(
            "A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} metrics, params \
             and tags in total. Got {total}."
        )));
    }
    let mut metrics = Vec::with_capacity(msg.metrics.len());
    let mut linked = Vec::new();
    for m in &msg.metrics {
        validate_key("metric", &m.key)?;
        let value = m
            .value
            .ok_or_else(|| MlflowError::invalid(format!("Missing value for metric '{}'", m.key)))?;
        let timestamp = m.timestamp.ok_or_else(|| {
            MlflowError::invalid(format!("Missing timestamp for metric '{}'", m.key))
        })?;
        let point = MetricPoint {
            key: m.key.clone(),
            value,
            timestamp,
            step: m.step.unwrap_or(0),
        };
        if let Some(model) = m.model_id.as_deref().filter(|id| !id.is_empty()) {
            linked.push((model, point.clone()));
        }
        metrics.push(point);
    }
    let mut params: Vec<KeyValue> = Vec::with_capacity(msg.params.len());
    for p in &msg.params {
        validate_key("param", &p.key)?;
        validate_value("param", &p.key, &p.value, MAX_PARAM_VALUE_LENGTH)?;
        if let Some((_, earlier)) = params.iter().find(|(k, _)| k == &p.key) {
            if earlier != &p.value {
                return Err(MlflowError::invalid(format!(
                    "Duplicate parameter keys have been submitted: ['{}']. Please ensure the \
                     request contains only one param value per param key.",
                    p.key
                )));
            }
            continue;
        }
        params.push((p.key.clone(), p.value.clone()));
    }
    let mut tags = Vec::with_capacity(msg.tags.len());
    for t in &msg.tags {
        validate_key("tag", &t.key)?;
        validate_value("tag", &t.key, &t.value, MAX_TAG_VALUE_LENGTH)?;
        tags.push((t.key.clone(), t.value.clone()));
    }
    log_with_models(&state, run_id, &metrics, &params, &tags, &linked).await
}

async fn log_inputs(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let inputs: Vec<DatasetInput> = msg
        .datasets
        .iter()
        .map(|input| DatasetInput {
            dataset: TrackedDataset {
                name: input.dataset.name.clone(),
                digest: input.dataset.digest.clone(),
                source_type: input.dataset.source_type.clone(),
                source: input.dataset.source.clone(),
                schema: input.dataset.schema.clone(),
                profile: input.dataset.profile.clone(),
            },
            tags: input
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
        })
        .collect();
    for input in &inputs {
        if input.dataset.name.is_empty() || input.dataset.digest.is_empty() {
            return Err(MlflowError::invalid(
                "every dataset needs a name and a digest",
            ));
        }
    }
    state
        .platform
        .tracking()
        .log_inputs(run_id, &inputs)
        .await
        .map_err(run_error(run_id))?;
    Ok(empty())
}

/// `runs/outputs`: records the logged models a run produced (`models: [{model_id, step}]`).
async fn log_outputs(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let mut outputs = Vec::with_capacity(msg.models.len());
    for (i, model) in msg.models.iter().enumerate() {
        let model_id = model
            .get("model_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                MlflowError::invalid(format!("Missing value for models[{i}].model_id"))
            })?;
        let step = match model.get("step") {
            None | Some(Value::Null) => 0,
            Some(step) => step
                .as_i64()
                .or_else(|| step.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| {
                    MlflowError::invalid(format!("models[{i}].step must be an integer, got {step}"))
                })?,
        };
        outputs.push(ModelOutput {
            model_id: model_id.to_string(),
            step,
        });
    }
    state
        .platform
        .tracking()
        .log_outputs(run_id, &outputs)
        .await
        .map_err(run_error(run_id))?;
    Ok(empty())
}

/// `runs/log-model`: appends the model's metadata to the run's `mlflow.log-model.history` tag.
async fn log_model(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let run = state
        .platform
        .tracking()
        .run(run_id)
        .await
        .map_err(run_error(run_id))?;
    let model_json = msg.model_json.clone().unwrap_or_default();
    let entry: Value = serde_json::from_str(&model_json)
        .map_err(|e| MlflowError::invalid(format!("model_json is not JSON: {e}")))?;
    let mut history: Vec<Value> = run
        .tags
        .iter()
        .find(|(k, _)| k == "mlflow.log-model.history")
        .and_then(|(_, v)| serde_json::from_str(v).ok())
        .unwrap_or_default();
    history.push(entry);
    let value = Value::Array(history).to_string();
    log(
        &state,
        run_id,
        &[],
        &[],
        &[("mlflow.log-model.history".to_string(), value)],
    )
    .await
}

async fn metric_history(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let key = required(msg.metric_key.as_deref(), "metric_key")?;
    let points = state
        .platform
        .tracking()
        .metric_history(run_id, key)
        .await
        .map_err(run_error(run_id))?;
    let metrics: Vec<_> = points.iter().map(convert::metric).collect();
    Ok(Json(json!({ "metrics": metrics })))
}
