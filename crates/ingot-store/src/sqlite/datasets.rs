//! Datasets and their immutable, numbered versions.

use ingot_core::records::{DatasetSummary, DatasetVersion, NewDatasetVersion};
use sqlx::{Row, SqlitePool};

use super::begin_write;
use super::rows::{self, DATASET_VERSION_COLUMNS};
use crate::{now_millis, Error, Result};

pub(crate) async fn create_version(
    pool: &SqlitePool,
    new: NewDatasetVersion,
) -> Result<(DatasetVersion, bool)> {
    let schema_json = rows::to_json(&new.schema, "dataset schema")?;
    let profile_json = rows::to_json(&new.profile, "dataset profile")?;
    let mut tx = begin_write(pool).await?;
    let existing = sqlx::query(&format!(
        "SELECT {DATASET_VERSION_COLUMNS} FROM dataset_versions \
         WHERE dataset = ? AND content_hash = ?"
    ))
    .bind(&new.dataset)
    .bind(&new.content_hash)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = existing {
        return Ok((rows::dataset_version(&row)?, false));
    }
    let now = now_millis();
    sqlx::query(
        "INSERT INTO datasets (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&new.dataset)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM dataset_versions WHERE dataset = ?",
    )
    .bind(&new.dataset)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO dataset_versions ({DATASET_VERSION_COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&new.dataset)
    .bind(version)
    .bind(&new.content_hash)
    .bind(&new.format)
    .bind(new.size_bytes)
    .bind(new.row_count)
    .bind(&schema_json)
    .bind(&profile_json)
    .bind(&new.source)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let created = DatasetVersion {
        dataset: new.dataset,
        version,
        content_hash: new.content_hash,
        format: new.format,
        size_bytes: new.size_bytes,
        row_count: new.row_count,
        schema: new.schema,
        profile: new.profile,
        source: new.source,
        created_at: now,
    };
    Ok((created, true))
}

pub(crate) async fn list(pool: &SqlitePool) -> Result<Vec<DatasetSummary>> {
    let found = sqlx::query(
        "SELECT d.name, d.created_at, MAX(v.version) AS latest_version, \
         COUNT(v.version) AS version_count \
         FROM datasets d JOIN dataset_versions v ON v.dataset = d.name \
         GROUP BY d.name, d.created_at ORDER BY d.name",
    )
    .fetch_all(pool)
    .await?;
    found
        .iter()
        .map(|row| {
            Ok(DatasetSummary {
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
    dataset: &str,
    version: Option<i64>,
) -> Result<DatasetVersion> {
    let found = match version {
        Some(version) => {
            sqlx::query(&format!(
                "SELECT {DATASET_VERSION_COLUMNS} FROM dataset_versions \
                 WHERE dataset = ? AND version = ?"
            ))
            .bind(dataset)
            .bind(version)
            .fetch_optional(pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {DATASET_VERSION_COLUMNS} FROM dataset_versions \
                 WHERE dataset = ? ORDER BY version DESC LIMIT 1"
            ))
            .bind(dataset)
            .fetch_optional(pool)
            .await?
        }
    };
    match (found, version) {
        (Some(row), _) => rows::dataset_version(&row),
        (None, Some(version)) => Err(Error::version_not_found(
            "dataset version",
            dataset,
            version,
        )),
        (None, None) => Err(Error::not_found("dataset", dataset)),
    }
}

pub(crate) async fn list_versions(pool: &SqlitePool, dataset: &str) -> Result<Vec<DatasetVersion>> {
    let found = sqlx::query(&format!(
        "SELECT {DATASET_VERSION_COLUMNS} FROM dataset_versions \
         WHERE dataset = ? ORDER BY version"
    ))
    .bind(dataset)
    .fetch_all(pool)
    .await?;
    if found.is_empty() {
        return Err(Error::not_found("dataset", dataset));
    }
    rows::all(&found, rows::dataset_version)
}
