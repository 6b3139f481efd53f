//! Registered models and their immutable, numbered versions.

use ingot_core::records::{ModelSummary, ModelVersion, NewModelVersion};
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::rows::{self, MODEL_VERSION_COLUMNS};
use crate::{now_millis, Error, Result};

/// Inserts the next version of `new.model` (creating the model on its first version). The caller
/// owns the surrounding write transaction.
pub(crate) async fn insert_version(
    conn: &mut SqliteConnection,
    new: NewModelVersion,
) -> Result<ModelVersion> {
    let metrics_json = rows::to_json(&new.metrics, "model metrics")?;
    let schema_json = rows::to_json(&new.input_schema, "model input schema")?;
    if let Some(job_id) = &new.job_id {
        let job: Option<String> = sqlx::query_scalar("SELECT id FROM jobs WHERE id = ?")
            .bind(job_id)
            .fetch_optional(&mut *conn)
            .await?;
        if job.is_none() {
            return Err(Error::not_found("job", job_id.as_str()));
        }
    }
    let now = now_millis();
    sqlx::query(
        "INSERT INTO models (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&new.model)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model = ?",
    )
    .bind(&new.model)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO model_versions ({MODEL_VERSION_COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&new.model)
    .bind(version)
    .bind(&new.artifact_hash)
    .bind(&new.algorithm)
    .bind(new.task.as_str())
    .bind(&metrics_json)
    .bind(&schema_json)
    .bind(&new.job_id)
    .bind(&new.dataset)
    .bind(new.dataset_version)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(ModelVersion {
        model: new.model,
        version,
        artifact_hash: new.artifact_hash,
        algorithm: new.algorithm,
        task: new.task,
        metrics: new.metrics,
        input_schema: new.input_schema,
        job_id: new.job_id,
        dataset: new.dataset,
        dataset_version: new.dataset_version,
        created_at: now,
    })
}

pub(crate) async fn list(pool: &SqlitePool) -> Result<Vec<ModelSummary>> {
    let found = sqlx::query(
        "SELECT m.name, m.created_at, MAX(v.version) AS latest_version, \
         COUNT(v.version) AS version_count \
         FROM models m JOIN model_versions v ON v.model = m.name \
         GROUP BY m.name, m.created_at ORDER BY m.name",
    )
    .fetch_all(pool)
    .await?;
    found
        .iter()
        .map(|row| {
            Ok(ModelSummary {
                name: row.try_get("name")?,
                latest_version: row.try_get("latest_version")?,
                version_count: row.try_get("version_count")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

pub(crate) async fn version(
    pool: &SqlitePool,
    model: &str,
    version: Option<i64>,
) -> Result<ModelVersion> {
    let found = match version {
        Some(version) => {
            sqlx::query(&format!(
                "SELECT {MODEL_VERSION_COLUMNS} FROM model_versions \
                 WHERE model = ? AND version = ?"
            ))
            .bind(model)
            .bind(version)
            .fetch_optional(pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {MODEL_VERSION_COLUMNS} FROM model_versions \
                 WHERE model = ? ORDER BY version DESC LIMIT 1"
            ))
            .bind(model)
            .fetch_optional(pool)
            .await?
        }
    };
    match (found, version) {
        (Some(row), _) => rows::model_version(&row),
        (None, Some(version)) => Err(Error::version_not_found("model version", model, version)),
        (None, None) => Err(Error::not_found("model", model)),
    }
}

pub(crate) async fn list_versions(pool: &SqlitePool, model: &str) -> Result<Vec<ModelVersion>> {
    let found = sqlx::query(&format!(
        "SELECT {MODEL_VERSION_COLUMNS} FROM model_versions WHERE model = ? ORDER BY version"
    ))
    .bind(model)
    .fetch_all(pool)
    .await?;
    if found.is_empty() {
        return Err(Error::not_found("model", model));
    }
    rows::all(&found, rows::model_version)
}
