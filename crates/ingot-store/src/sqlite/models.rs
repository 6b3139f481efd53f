//! Registered models and their immutable, numbered versions.

use ingot_core::records::{ModelSummary, ModelVersion, NewModelVersion};
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::registry_mirror;
use super::rows::{self, MODEL_VERSION_COLUMNS};
use crate::{now_millis, Error, Result};

/// Inserts the next version of `new.model` (creating the model on its first version). The caller
/// owns the surrounding write transaction.
pub(crate) async fn insert_version(
    conn: &mut SqliteConnection,
    new: NewModelVersion,
) -> Result<ModelVersion> {
    // One number space with the MLflow registry, so the mirror gets the same number.
    let version = registry_mirror::next_version(conn, &new.model).await?;
    let created = insert_row(conn, new, version).await?;
    registry_mirror::mirror_native(conn, &created).await?;
    Ok(created)
}

/// Gives a version registered through MLflow its native row (an Ingot model file made from its
/// files), under the same number, and links the two. `NotFound` without that registry version,
/// `AlreadyExists` if it already has a native version.
pub(crate) async fn adopt_version(
    conn: &mut SqliteConnection,
    new: NewModelVersion,
    version: i64,
) -> Result<ModelVersion> {
    let exists: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM registered_model_versions WHERE name = ? AND version = ?",
    )
    .bind(&new.model)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?;
    if exists.is_none() {
        return Err(Error::version_not_found(
            "registered model version",
            &new.model,
            version,
        ));
    }
    let native = match version_in(conn, &new.model, version).await {
        Ok(_) => true,
        Err(Error::NotFound { .. }) => false,
        Err(e) => return Err(e),
    };
    if native
        || registry_mirror::native_of(conn, &new.model, version)
            .await?
            .is_some()
    {
        return Err(Error::AlreadyExists {
            kind: "model version",
            name: format!("{}:{version}", new.model),
        });
    }
    let created = insert_row(conn, new, version).await?;
    registry_mirror::link_adopted(conn, &created).await?;
    Ok(created)
}

/// Writes the native row of version `version`.
async fn insert_row(
    conn: &mut SqliteConnection,
    new: NewModelVersion,
    version: i64,
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

/// The newest version number of `model` in either registry: native versions, and registry
/// versions that mirror none (registered through MLflow). `NotFound` without any version.
pub(crate) async fn newest_number(pool: &SqlitePool, model: &str) -> Result<i64> {
    let newest: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(v) FROM (SELECT MAX(version) AS v FROM model_versions WHERE model = ? \
         UNION ALL SELECT MAX(r.version) AS v FROM registered_model_versions r WHERE r.name = ? \
         AND NOT EXISTS (SELECT 1 FROM model_version_tags t WHERE t.name = r.name \
         AND t.version = r.version AND t.key = ?)) t",
    )
    .bind(model)
    .bind(model)
    .bind(crate::tracking::NATIVE_VERSION_TAG)
    .fetch_one(pool)
    .await?;
    newest.ok_or_else(|| Error::not_found("model", model))
}

/// One native version, read inside the caller's transaction.
pub(crate) async fn version_in(
    conn: &mut SqliteConnection,
    model: &str,
    version: i64,
) -> Result<ModelVersion> {
    let row = sqlx::query(&format!(
        "SELECT {MODEL_VERSION_COLUMNS} FROM model_versions WHERE model = ? AND version = ?"
    ))
    .bind(model)
    .bind(version)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::version_not_found("model version", model, version))?;
    rows::model_version(&row)
}

/// Every model of either registry: native versions, plus registry versions that mirror none
/// (registered through MLflow). A registered model without versions is listed with none.
pub(crate) async fn list(pool: &SqlitePool) -> Result<Vec<ModelSummary>> {
    let found = sqlx::query(
        "SELECT name, MIN(created_at) AS created_at, COALESCE(MAX(version), 0) AS latest_version, \
         COUNT(version) AS version_count, SUM(native) AS native_count FROM ( \
           SELECT model AS name, version, created_at, 1 AS native FROM model_versions \
           UNION ALL \
           SELECT v.name, v.version, v.creation_timestamp, 0 FROM registered_model_versions v \
           WHERE NOT EXISTS (SELECT 1 FROM model_version_tags t WHERE t.name = v.name \
             AND t.version = v.version AND t.key = ?) \
           UNION ALL \
           SELECT m.name, NULL, m.creation_timestamp, 0 FROM registered_models m \
         ) all_versions GROUP BY name ORDER BY name",
    )
    .bind(crate::tracking::NATIVE_VERSION_TAG)
    .fetch_all(pool)
    .await?;
    found
        .iter()
        .map(|row| {
            Ok(ModelSummary {
                name: row.try_get("name")?,
                latest_version: row.try_get("latest_version")?,
                version_count: row.try_get("version_count")?,
                native_version_count: row.try_get("native_count")?,
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
