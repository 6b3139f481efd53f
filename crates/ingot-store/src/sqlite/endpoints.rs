//! Real-time endpoints serving a pinned model version.

use ingot_core::records::Endpoint;
use ingot_core::EndpointStatus;
use sqlx::SqlitePool;

use super::begin_write;
use super::rows::{self, ENDPOINT_COLUMNS};
use crate::{now_millis, Error, Result};

pub(crate) async fn create(
    pool: &SqlitePool,
    name: &str,
    model: &str,
    version: i64,
) -> Result<Endpoint> {
    let mut tx = begin_write(pool).await?;
    let taken: Option<String> = sqlx::query_scalar("SELECT name FROM endpoints WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(Error::AlreadyExists {
            kind: "endpoint",
            name: name.to_string(),
        });
    }
    let model_exists: Option<i64> =
        sqlx::query_scalar("SELECT version FROM model_versions WHERE model = ? AND version = ?")
            .bind(model)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
    if model_exists.is_none() {
        return Err(Error::version_not_found("model version", model, version));
    }
    let now = now_millis();
    sqlx::query(&format!(
        "INSERT INTO endpoints ({ENDPOINT_COLUMNS}) VALUES (?, ?, ?, ?, NULL, ?, ?)"
    ))
    .bind(name)
    .bind(model)
    .bind(version)
    .bind(EndpointStatus::Creating.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Endpoint {
        name: name.to_string(),
        model: model.to_string(),
        model_version: version,
        status: EndpointStatus::Creating,
        failure_reason: None,
        created_at: now,
        updated_at: now,
    })
}

pub(crate) async fn get(pool: &SqlitePool, name: &str) -> Result<Endpoint> {
    let found = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE name = ?"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await?;
    match found {
        Some(row) => rows::endpoint(&row),
        None => Err(Error::not_found("endpoint", name)),
    }
}

pub(crate) async fn list(pool: &SqlitePool) -> Result<Vec<Endpoint>> {
    let found = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM endpoints ORDER BY name"
    ))
    .fetch_all(pool)
    .await?;
    rows::all(&found, rows::endpoint)
}

pub(crate) async fn set_status(
    pool: &SqlitePool,
    name: &str,
    status: EndpointStatus,
    failure_reason: Option<&str>,
) -> Result<Endpoint> {
    let mut tx = begin_write(pool).await?;
    let changed = sqlx::query(
        "UPDATE endpoints SET status = ?, failure_reason = ?, updated_at = ? WHERE name = ?",
    )
    .bind(status.as_str())
    .bind(failure_reason)
    .bind(now_millis())
    .bind(name)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::not_found("endpoint", name));
    }
    let row = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE name = ?"
    ))
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    rows::endpoint(&row)
}

pub(crate) async fn delete(pool: &SqlitePool, name: &str) -> Result<()> {
    let changed = sqlx::query("DELETE FROM endpoints WHERE name = ?")
        .bind(name)
        .execute(pool)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(Error::not_found("endpoint", name));
    }
    Ok(())
}
