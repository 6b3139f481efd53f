//! MLflow 3 logged models: the record `log_model` creates before uploading the model files.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::begin_write;
use super::experiments::stage_condition;
use super::keyset;
use super::logged_model_index;
use super::search::{self, Kind, Target};
use crate::tracking::{KeyValue, LoggedModel, Page, SearchRequest};
use crate::{now_millis, Error, Result};

const COLUMNS: &str = "l.model_id, l.experiment_id, l.name, l.artifact_location, \
     l.creation_timestamp, l.last_updated_timestamp, l.status, l.lifecycle_stage, l.model_type, \
     l.source_run_id, l.params_json, l.tags_json";

const TARGET: Target = Target {
    id: "l.model_id",
    attributes: &[
        ("model_id", "l.model_id", Kind::Text),
        ("name", "l.name", Kind::Text),
        ("status", "l.status", Kind::Text),
        ("model_type", "l.model_type", Kind::Text),
        ("source_run_id", "l.source_run_id", Kind::Text),
        ("creation_timestamp", "l.creation_timestamp", Kind::Int),
        (
            "last_updated_timestamp",
            "l.last_updated_timestamp",
            Kind::Int,
        ),
    ],
    tags: Some(("logged_model_tags", "c.model_id = l.model_id")),
    params: Some(("logged_model_params", "c.model_id = l.model_id")),
    metrics: Some((
        logged_model_index::LATEST_METRICS,
        "c.model_id = l.model_id",
    )),
    datasets: false,
    tag_ne_matches_missing: false,
};

fn pairs(text: &str) -> Result<Vec<KeyValue>> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt {
        what: "logged model".to_string(),
        reason: e.to_string(),
    })
}

fn to_text(pairs: &[KeyValue]) -> Result<String> {
    serde_json::to_string(pairs).map_err(|e| Error::Invalid {
        what: "logged model".to_string(),
        reason: e.to_string(),
    })
}

fn decode(row: &SqliteRow) -> Result<LoggedModel> {
    Ok(LoggedModel {
        model_id: row.try_get("model_id")?,
        experiment_id: row.try_get("experiment_id")?,
        name: row.try_get("name")?,
        artifact_location: row.try_get("artifact_location")?,
        creation_timestamp: row.try_get("creation_timestamp")?,
        last_updated_timestamp: row.try_get("last_updated_timestamp")?,
        status: row.try_get("status")?,
        lifecycle_stage: row.try_get("lifecycle_stage")?,
        model_type: row.try_get("model_type")?,
        source_run_id: row.try_get("source_run_id")?,
        params: pairs(&row.try_get::<String, _>("params_json")?)?,
        tags: pairs(&row.try_get::<String, _>("tags_json")?)?,
    })
}

pub(crate) async fn create(pool: &SqlitePool, model: &LoggedModel) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    super::experiments::require_active(&mut tx, model.experiment_id).await?;
    sqlx::query(&format!(
        "INSERT INTO logged_models ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        COLUMNS.replace("l.", "")
    ))
    .bind(&model.model_id)
    .bind(model.experiment_id)
    .bind(&model.name)
    .bind(&model.artifact_location)
    .bind(model.creation_timestamp)
    .bind(model.last_updated_timestamp)
    .bind(&model.status)
    .bind(&model.lifecycle_stage)
    .bind(&model.model_type)
    .bind(&model.source_run_id)
    .bind(to_text(&model.params)?)
    .bind(to_text(&model.tags)?)
    .execute(&mut *tx)
    .await?;
    logged_model_index::write(&mut tx, &model.model_id, &model.params, &model.tags).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn get(pool: &SqlitePool, model_id: &str) -> Result<LoggedModel> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM logged_models l WHERE l.model_id = ?"
    ))
    .bind(model_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("logged model", model_id))?;
    decode(&row)
}

fn merge(into: &mut Vec<KeyValue>, more: &[KeyValue]) {
    for (key, value) in more {
        match into.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value.clone(),
            None => into.push((key.clone(), value.clone())),
        }
    }
}

pub(crate) async fn update(
    pool: &SqlitePool,
    model_id: &str,
    status: Option<&str>,
    params: &[KeyValue],
    tags: &[KeyValue],
    remove_tag: Option<&str>,
) -> Result<LoggedModel> {
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM logged_models l WHERE l.model_id = ?"
    ))
    .bind(model_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("logged model", model_id))?;
    let mut model = decode(&row)?;
    if let Some(status) = status {
        model.status = status.to_string();
    }
    merge(&mut model.params, params);
    merge(&mut model.tags, tags);
    if let Some(key) = remove_tag {
        model.tags.retain(|(k, _)| k != key);
    }
    model.last_updated_timestamp = now_millis();
    sqlx::query(
        "UPDATE logged_models SET status = ?, params_json = ?, tags_json = ?, \
         last_updated_timestamp = ? WHERE model_id = ?",
    )
    .bind(&model.status)
    .bind(to_text(&model.params)?)
    .bind(to_text(&model.tags)?)
    .bind(model.last_updated_timestamp)
    .bind(model_id)
    .execute(&mut *tx)
    .await?;
    logged_model_index::write(&mut tx, model_id, &model.params, &model.tags).await?;
    tx.commit().await?;
    Ok(model)
}

pub(crate) async fn search(
    pool: &SqlitePool,
    experiment_ids: &[i64],
    request: &SearchRequest,
) -> Result<Page<LoggedModel>> {
    if experiment_ids.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_page_token: None,
        });
    }
    let filter = search::compile_where(&TARGET, &request.search)?;
    let order = search::compile_order(
        &TARGET,
        &request.search.order,
        &[("l.creation_timestamp", false), ("l.model_id", true)],
    )?;
    let marks = vec!["?"; experiment_ids.len()].join(", ");
    let (rows, next_page_token) = keyset::PageQuery {
        columns: COLUMNS,
        from: "logged_models l",
        condition: format!(
            "l.experiment_id IN ({marks}){}",
            stage_condition("l.lifecycle_stage", request.view)
        ),
        ids: experiment_ids,
        filter: &filter,
        order: &order,
        fingerprint: keyset::fingerprint(&(
            "logged_models",
            experiment_ids,
            request.view,
            &request.search,
        )),
        page_token: request.page_token.as_deref(),
        max_results: request.max_results,
    }
    .fetch(pool)
    .await?;
    let items = rows.iter().map(decode).collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next_page_token,
    })
}
