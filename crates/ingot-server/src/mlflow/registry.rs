//! The MLflow model registry: registered models, versions, stages, tags, aliases and download
//! URIs.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use ingot_protocol_mlflow::filter::Context;
use ingot_protocol_mlflow::types::Request as WireRequest;
use ingot_protocol_mlflow::ErrorCode;
use ingot_service::tracking_types::{
    KeyValue, NewRegistryVersion, NATIVE_VERSION_TAG, RESERVED_TAG_PREFIX,
};
use serde_json::json;

use super::runs::page_json;
use super::{convert, empty, required, search_request, MlResult, MlflowError, Msg};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/registered-models/create", post(create_model))
        .route("/registered-models/rename", post(rename_model))
        .route(
            "/registered-models/update",
            axum::routing::patch(update_model).post(update_model),
        )
        .route(
            "/registered-models/delete",
            axum::routing::delete(delete_model).post(delete_model),
        )
        .route("/registered-models/get", get(get_model))
        .route(
            "/registered-models/search",
            get(search_models).post(search_models),
        )
        .route(
            "/registered-models/get-latest-versions",
            post(latest_versions).get(latest_versions),
        )
        .route("/registered-models/set-tag", post(set_model_tag))
        .route(
            "/registered-models/delete-tag",
            axum::routing::delete(delete_model_tag).post(delete_model_tag),
        )
        .route(
            "/registered-models/alias",
            post(set_alias).delete(delete_alias).get(version_by_alias),
        )
        .route("/model-versions/create", post(create_version))
        .route(
            "/model-versions/update",
            axum::routing::patch(update_version).post(update_version),
        )
        .route("/model-versions/transition-stage", post(transition_stage))
        .route(
            "/model-versions/delete",
            axum::routing::delete(delete_version).post(delete_version),
        )
        .route("/model-versions/get", get(get_version))
        .route(
            "/model-versions/search",
            get(search_versions).post(search_versions),
        )
        .route("/model-versions/get-download-uri", get(download_uri))
        .route("/model-versions/set-tag", post(set_version_tag))
        .route(
            "/model-versions/delete-tag",
            axum::routing::delete(delete_version_tag).post(delete_version_tag),
        )
}

/// Maps store `NotFound`s to MLflow's registry messages.
fn registry_error(e: ingot_store::Error) -> MlflowError {
    match e {
        ingot_store::Error::NotFound {
            kind: "registered model",
            name,
        } => MlflowError::not_found(format!("Registered Model with name={name} not found")),
        ingot_store::Error::NotFound {
            kind: "model version",
            name,
        } => {
            let (model, version) = name.rsplit_once(':').unwrap_or((&name, "?"));
            MlflowError::not_found(format!(
                "Model Version (name={model}, version={version}) not found"
            ))
        }
        ingot_store::Error::NotFound {
            kind: "alias",
            name,
        } => {
            let (model, alias) = name.split_once('@').unwrap_or((&name, "?"));
            MlflowError::invalid(format!(
                "Registered model alias {alias} not found on model {model}."
            ))
        }
        ingot_store::Error::AlreadyExists {
            kind: "registered model",
            name,
        } => MlflowError::new(
            ErrorCode::ResourceAlreadyExists,
            format!("Registered Model (name={name}) already exists."),
        ),
        other => other.into(),
    }
}

fn name(msg: &WireRequest) -> MlResult<&str> {
    required(msg.name.as_deref(), "name")
}

fn version(msg: &WireRequest) -> MlResult<i64> {
    match msg.version_number() {
        Some(Ok(v)) if v > 0 => Ok(v),
        Some(Ok(v)) => Err(MlflowError::invalid(format!(
            "Parameter 'version' must be a positive integer, got {v}"
        ))),
        Some(Err(v)) => Err(MlflowError::invalid(format!(
            "Parameter 'version' must be an integer, got {v}"
        ))),
        None => Err(MlflowError::missing("version")),
    }
}

fn tags(msg: &WireRequest) -> Vec<KeyValue> {
    msg.tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

async fn model_json(state: &AppState, name: &str) -> MlResult {
    let model = state
        .platform
        .tracking()
        .registered_model(name)
        .await
        .map_err(registry_error)?;
    Ok(Json(
        json!({ "registered_model": convert::registered_model(&model) }),
    ))
}

async fn version_json(state: &AppState, name: &str, version: i64) -> MlResult {
    let v = state
        .platform
        .tracking()
        .registry_version(name, version)
        .await
        .map_err(registry_error)?;
    Ok(Json(json!({ "model_version": convert::model_version(&v) })))
}

async fn create_model(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let name = name(&msg)?;
    let model = state
        .platform
        .tracking()
        .create_registered_model(name, msg.description.as_deref().unwrap_or(""), &tags(&msg))
        .await
        .map_err(registry_error)?;
    Ok(Json(
        json!({ "registered_model": convert::registered_model(&model) }),
    ))
}

/// Refuses to rename or delete a registered model holding Ingot model versions: the native
/// registry keys them by name, and the two must keep agreeing.
async fn not_native(state: &AppState, name: &str, what: &str) -> MlResult<()> {
    match state.platform.list_model_versions(name).await {
        Ok(versions) if !versions.is_empty() => Err(MlflowError::invalid(format!(
            "Registered model '{name}' holds Ingot model versions (trained or imported in \
             Ingot) and cannot be {what} through MLflow"
        ))),
        _ => Ok(()),
    }
}

async fn rename_model(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let name = name(&msg)?;
    let new_name = required(msg.new_name.as_deref(), "new_name")?;
    not_native(&state, name, "renamed").await?;
    state
        .platform
        .tracking()
        .rename_registered_model(name, new_name)
        .await
        .map_err(registry_error)?;
    model_json(&state, new_name).await
}

async fn update_model(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let name = name(&msg)?;
    state
        .platform
        .tracking()
        .update_registered_model(name, msg.description.as_deref(), None)
        .await
        .map_err(registry_error)?;
    model_json(&state, name).await
}

async fn delete_model(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    not_native(&state, name(&msg)?, "deleted").await?;
    state
        .platform
        .tracking()
        .delete_registered_model(name(&msg)?)
        .await
        .map_err(registry_error)?;
    Ok(empty())
}

async fn get_model(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    model_json(&state, name(&msg)?).await
}

async fn search_models(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let request = search_request(&msg, Context::RegisteredModels, None, 100, 1000)?;
    let page = state
        .platform
        .tracking()
        .search_registered_models(&request)
        .await
        .map_err(registry_error)?;
    let models: Vec<_> = page.items.iter().map(convert::registered_model).collect();
    Ok(Json(page_json(
        "registered_models",
        json!(models),
        page.next_page_token,
    )))
}

async fn latest_versions(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let model = state
        .platform
        .tracking()
        .registered_model(name(&msg)?)
        .await
        .map_err(registry_error)?;
    let stages: Vec<String> = msg.stages.iter().map(|s| s.to_ascii_lowercase()).collect();
    let versions: Vec<_> = model
        .latest_versions
        .iter()
        .filter(|v| stages.is_empty() || stages.contains(&v.current_stage.to_ascii_lowercase()))
        .map(convert::model_version)
        .collect();
    Ok(Json(json!({ "model_versions": versions })))
}

async fn set_model_tag(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let key = required(msg.key.as_deref(), "key")?;
    state
        .platform
        .tracking()
        .set_registered_model_tag(name(&msg)?, key, &msg.value_text().unwrap_or_default())
        .await
        .map_err(registry_error)?;
    Ok(empty())
}

async fn delete_model_tag(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let key = required(msg.key.as_deref(), "key")?;
    state
        .platform
        .tracking()
        .delete_registered_model_tag(name(&msg)?, key)
        .await
        .map_err(registry_error)?;
    Ok(empty())
}

fn alias_name(msg: &WireRequest) -> MlResult<&str> {
    let alias = required(msg.alias.as_deref(), "alias")?;
    let reserved = alias.eq_ignore_ascii_case("latest")
        || (alias.len() > 1
            && alias.starts_with(['v', 'V'])
            && alias[1..].bytes().all(|b| b.is_ascii_digit()));
    if reserved || alias.len() > 255 {
        return Err(MlflowError::invalid(format!(
            "'{alias}' alias name (case insensitive) is reserved or too long."
        )));
    }
    Ok(alias)
}

async fn set_alias(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let alias = alias_name(&msg)?;
    state
        .platform
        .tracking()
        .set_registry_alias(name(&msg)?, alias, version(&msg)?)
        .await
        .map_err(registry_error)?;
    Ok(empty())
}

async fn delete_alias(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let alias = required(msg.alias.as_deref(), "alias")?;
    state
        .platform
        .tracking()
        .delete_registry_alias(name(&msg)?, alias)
        .await
        .map_err(registry_error)?;
    Ok(empty())
}

async fn version_by_alias(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let alias = required(msg.alias.as_deref(), "alias")?;
    let v = state
        .platform
        .tracking()
        .registry_version_by_alias(name(&msg)?, alias)
        .await
        .map_err(registry_error)?;
    Ok(Json(json!({ "model_version": convert::model_version(&v) })))
}

async fn create_version(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let name = name(&msg)?;
    let source = required(msg.source.as_deref(), "source")?;
    let tags = tags(&msg);
    for (key, _) in &tags {
        unreserved(key)?;
    }
    let mut run_id = msg.run().unwrap_or("").to_string();
    let mut model_id = msg.model_id.clone().unwrap_or_default();
    // A `models:/<logged model id>` source carries its run: fill what the client left out.
    if let Some(id) = source
        .strip_prefix("models:/")
        .filter(|id| id.starts_with("m-"))
    {
        let logged = state
            .platform
            .tracking()
            .logged_model(id.trim_end_matches('/'))
            .await?;
        if model_id.is_empty() {
            model_id = logged.model_id.clone();
        }
        if run_id.is_empty() {
            run_id = logged.source_run_id.clone().unwrap_or_default();
        }
    }
    let v = state
        .platform
        .tracking()
        .create_registry_version(NewRegistryVersion {
            name: name.to_string(),
            source: source.to_string(),
            run_id,
            run_link: msg.run_link.clone().unwrap_or_default(),
            model_id,
            description: msg.description.clone().unwrap_or_default(),
            user_id: msg.user_id.clone().unwrap_or_default(),
            tags,
        })
        .await
        .map_err(registry_error)?;
    Ok(Json(json!({ "model_version": convert::model_version(&v) })))
}

async fn update_version(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let v = state
        .platform
        .tracking()
        .update_registry_version(name(&msg)?, version(&msg)?, msg.description.as_deref())
        .await
        .map_err(registry_error)?;
    Ok(Json(json!({ "model_version": convert::model_version(&v) })))
}

async fn transition_stage(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let requested = required(msg.stage.as_deref(), "stage")?;
    let stage = ["None", "Staging", "Production", "Archived"]
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(requested))
        .ok_or_else(|| {
            MlflowError::invalid(format!(
                "Invalid Model Version stage: {requested}. Value must be one of None, Staging, \
                 Production, Archived."
            ))
        })?;
    let v = state
        .platform
        .tracking()
        .transition_registry_version(
            name(&msg)?,
            version(&msg)?,
            stage,
            msg.archive_existing_versions.unwrap_or(false),
        )
        .await
        .map_err(registry_error)?;
    Ok(Json(json!({ "model_version": convert::model_version(&v) })))
}

async fn delete_version(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let existing = state
        .platform
        .tracking()
        .registry_version(name(&msg)?, version(&msg)?)
        .await
        .map_err(registry_error)?;
    if existing.tags.iter().any(|(k, _)| k == NATIVE_VERSION_TAG) {
        return Err(MlflowError::invalid(format!(
            "Model version {}:{} mirrors an Ingot model version and cannot be deleted through \
             MLflow",
            existing.name, existing.version
        )));
    }
    state
        .platform
        .tracking()
        .delete_registry_version(name(&msg)?, version(&msg)?)
        .await
        .map_err(registry_error)?;
    Ok(empty())
}

async fn get_version(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    version_json(&state, name(&msg)?, version(&msg)?).await
}

async fn search_versions(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let request = search_request(&msg, Context::ModelVersions, None, 10_000, 200_000)?;
    let page = state
        .platform
        .tracking()
        .search_registry_versions(&request)
        .await
        .map_err(registry_error)?;
    let versions: Vec<_> = page.items.iter().map(convert::model_version).collect();
    Ok(Json(page_json(
        "model_versions",
        json!(versions),
        page.next_page_token,
    )))
}

/// Where a version's files live: a logged model's artifact location for `models:/<id>`
/// sources, the run's artifact directory for `runs:/<id>/<path>`, otherwise the source itself.
async fn download_uri(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let v = state
        .platform
        .tracking()
        .registry_version(name(&msg)?, version(&msg)?)
        .await
        .map_err(registry_error)?;
    let uri = resolve_source(&state, &v.source, &v.model_id).await?;
    Ok(Json(json!({ "artifact_uri": uri })))
}

async fn resolve_source(state: &AppState, source: &str, model_id: &str) -> MlResult<String> {
    if let Some(id) = source
        .strip_prefix("models:/")
        .filter(|id| id.starts_with("m-"))
    {
        let model = state
            .platform
            .tracking()
            .logged_model(id.trim_end_matches('/'))
            .await?;
        return Ok(model.artifact_location);
    }
    if let Some(rest) = source.strip_prefix("runs:/") {
        let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
        let run = state.platform.tracking().run(run_id).await?;
        return Ok(if path.is_empty() {
            run.info.artifact_uri
        } else {
            format!("{}/{}", run.info.artifact_uri, path.trim_matches('/'))
        });
    }
    if source.is_empty() && !model_id.is_empty() {
        let model = state.platform.tracking().logged_model(model_id).await?;
        return Ok(model.artifact_location);
    }
    Ok(source.to_string())
}

/// Refuses model-version tag keys Ingot writes itself (`ingot.*`: the native-version link,
/// lineage and the copy of the approval status), so they cannot drift from what they record.
fn unreserved(key: &str) -> MlResult<&str> {
    if key.starts_with(RESERVED_TAG_PREFIX) {
        return Err(MlflowError::invalid(format!(
            "Model version tag key '{key}' is reserved: tags starting with \
             '{RESERVED_TAG_PREFIX}' are written by Ingot"
        )));
    }
    Ok(key)
}

async fn set_version_tag(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let key = unreserved(required(msg.key.as_deref(), "key")?)?;
    state
        .platform
        .tracking()
        .set_registry_version_tag(
            name(&msg)?,
            version(&msg)?,
            key,
            &msg.value_text().unwrap_or_default(),
        )
        .await
        .map_err(registry_error)?;
    Ok(empty())
}

async fn delete_version_tag(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let key = unreserved(required(msg.key.as_deref(), "key")?)?;
    state
        .platform
        .tracking()
        .delete_registry_version_tag(name(&msg)?, version(&msg)?, key)
        .await
        .map_err(registry_error)?;
    Ok(empty())
}
