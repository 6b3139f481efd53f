//! MLflow 3 logged models: what `mlflow.<flavor>.log_model` creates, finalizes and tags
//! before the model files are uploaded through the artifact routes.

use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use ingot_core::search::Entity;
use ingot_protocol_mlflow::filter::Context;
use ingot_protocol_mlflow::types::LoggedModel as LoggedModelWire;
use ingot_service::tracking_types::{KeyValue, LoggedModel, ACTIVE};
use serde_json::json;

use super::runs::page_json;
use super::{
    artifacts, convert, empty, experiment_id, required, search_request, MlResult, MlflowError, Msg,
};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/logged-models", post(create))
        .route("/logged-models/search", post(search))
        .route(
            "/logged-models/{model_id}",
            get(get_model).patch(finalize).delete(delete_model),
        )
        .route(
            "/logged-models/{model_id}/tags",
            axum::routing::patch(set_tags),
        )
        .route("/logged-models/{model_id}/tags/{key}", delete(delete_tag))
        .route("/logged-models/{model_id}/params", post(log_params))
        .route(
            "/logged-models/{model_id}/artifacts/directories",
            get(list_artifacts),
        )
}

fn model_error(model_id: &str) -> impl Fn(ingot_store::Error) -> MlflowError + '_ {
    move |e| match e {
        ingot_store::Error::NotFound {
            kind: "logged model",
            ..
        } => MlflowError::not_found(format!("Logged model with ID '{model_id}' not found.")),
        other => other.into(),
    }
}

fn pairs(items: &[ingot_protocol_mlflow::types::KeyValue]) -> Vec<KeyValue> {
    items
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect()
}

async fn create(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let experiment = experiment_id(required(msg.experiment_id.as_deref(), "experiment_id")?)?;
    let location = state
        .platform
        .tracking()
        .experiment(experiment)
        .await
        .map_err(|_| MlflowError::not_found(format!("No Experiment with id={experiment} exists")))?
        .artifact_location;
    let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
    let now = ingot_store::now_millis();
    let name = msg
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("model-{}", &model_id[2..10]));
    let model = LoggedModel {
        artifact_location: format!(
            "{}/models/{model_id}/artifacts",
            location.trim_end_matches('/')
        ),
        model_id,
        experiment_id: experiment,
        name,
        creation_timestamp: now,
        last_updated_timestamp: now,
        status: "LOGGED_MODEL_PENDING".to_string(),
        lifecycle_stage: ACTIVE.to_string(),
        model_type: msg.model_type.clone().filter(|t| !t.is_empty()),
        source_run_id: msg.source_run_id.clone().filter(|r| !r.is_empty()),
        params: pairs(&msg.params),
        tags: pairs(&msg.tags),
    };
    state
        .platform
        .tracking()
        .create_logged_model(&model)
        .await?;
    Ok(Json(
        json!({ "model": with_metrics(&state, &model).await? }),
    ))
}

async fn get_model(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    Msg(msg): Msg,
) -> MlResult {
    let model = state
        .platform
        .tracking()
        .logged_model(&model_id)
        .await
        .map_err(model_error(&model_id))?;
    if model.lifecycle_stage != ACTIVE && msg.allow_deleted != Some(true) {
        return Err(MlflowError::not_found(format!(
            "Logged model with ID '{model_id}' not found."
        )));
    }
    Ok(Json(
        json!({ "model": with_metrics(&state, &model).await? }),
    ))
}

async fn finalize(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    Msg(msg): Msg,
) -> MlResult {
    let status = match msg.status.as_deref() {
        Some("LOGGED_MODEL_READY" | "2") => "LOGGED_MODEL_READY",
        Some("LOGGED_MODEL_UPLOAD_FAILED" | "3") => "LOGGED_MODEL_UPLOAD_FAILED",
        Some("LOGGED_MODEL_PENDING" | "1") => "LOGGED_MODEL_PENDING",
        Some(other) => {
            return Err(MlflowError::invalid(format!(
                "Invalid model status {other:?}"
            )))
        }
        None => return Err(MlflowError::missing("status")),
    };
    let model = state
        .platform
        .tracking()
        .update_logged_model(&model_id, Some(status), &[], &[])
        .await
        .map_err(model_error(&model_id))?;
    Ok(Json(
        json!({ "model": with_metrics(&state, &model).await? }),
    ))
}

async fn delete_model(State(state): State<AppState>, Path(model_id): Path<String>) -> MlResult {
    state
        .platform
        .tracking()
        .update_logged_model(
            &model_id,
            None,
            &[],
            &[("mlflow.deleted".to_string(), "true".to_string())],
        )
        .await
        .map_err(model_error(&model_id))?;
    Ok(empty())
}

async fn set_tags(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    Msg(msg): Msg,
) -> MlResult {
    let model = state
        .platform
        .tracking()
        .update_logged_model(&model_id, None, &[], &pairs(&msg.tags))
        .await
        .map_err(model_error(&model_id))?;
    Ok(Json(
        json!({ "model": with_metrics(&state, &model).await? }),
    ))
}

async fn delete_tag(
    State(state): State<AppState>,
    Path((model_id, key)): Path<(String, String)>,
) -> MlResult {
    state
        .platform
        .tracking()
        .delete_logged_model_tag(&model_id, &key)
        .await
        .map_err(model_error(&model_id))?;
    Ok(empty())
}

async fn log_params(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    Msg(msg): Msg,
) -> MlResult {
    state
        .platform
        .tracking()
        .update_logged_model(&model_id, None, &pairs(&msg.params), &[])
        .await
        .map_err(model_error(&model_id))?;
    Ok(empty())
}

/// A logged model in MLflow's shape, with the metric points logged against it.
async fn with_metrics(state: &AppState, model: &LoggedModel) -> MlResult<LoggedModelWire> {
    let metrics = state
        .platform
        .tracking()
        .logged_model_metrics(&model.model_id)
        .await?;
    Ok(convert::logged_model(model, &metrics))
}

async fn search(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let request = search_request(&msg, Context::LoggedModels, None, 100, 10_000)?;
    // MLflow orders logged models by attributes and metrics only.
    if let Some(key) = request
        .search
        .order
        .iter()
        .find(|k| matches!(k.entity, Entity::Param | Entity::Tag))
    {
        let prefix = if key.entity == Entity::Param {
            "params"
        } else {
            "tags"
        };
        return Err(MlflowError::invalid(format!(
            "Invalid order by field name: {prefix}.{}. Only metrics are supported.",
            key.key
        )));
    }
    let ids = msg
        .experiment_ids
        .iter()
        .map(|id| experiment_id(id))
        .collect::<MlResult<Vec<i64>>>()?;
    let page = state
        .platform
        .tracking()
        .search_logged_models(&ids, &request)
        .await?;
    let mut models = Vec::with_capacity(page.items.len());
    for model in &page.items {
        models.push(with_metrics(&state, model).await?);
    }
    Ok(Json(page_json(
        "models",
        json!(models),
        page.next_page_token,
    )))
}

/// Lists a directory of a logged model's artifacts (`artifact_directory_path` below its root).
async fn list_artifacts(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> MlResult {
    let model = state
        .platform
        .tracking()
        .logged_model(&model_id)
        .await
        .map_err(model_error(&model_id))?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let sub = pairs
        .iter()
        .find(|(k, _)| k == "artifact_directory_path")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (root_uri, files) = artifacts::list_below(&state, &model.artifact_location, &sub).await?;
    Ok(Json(json!({ "root_uri": root_uri, "files": files })))
}
