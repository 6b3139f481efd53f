//! Endpoints, their serving configurations and their variants' scaling history.

use ingot_core::endpoint_config::ModelStep;
use ingot_core::records::{Endpoint, ScalingEvent};
use ingot_core::{EndpointConfig, EndpointStatus};
use sqlx::{Row, SqliteExecutor, SqlitePool};

use super::begin_write;
use super::rows::{self, ENDPOINT_COLUMNS};
use crate::{now_millis, Error, Result};

/// The model an endpoint lists (and pins by foreign key): the first production variant's
/// answering step; none for multi-model endpoints.
fn listed_model(config: &EndpointConfig) -> Option<&ModelStep> {
    config.variants.first().and_then(|v| v.steps.last())
}

/// `NotFound` unless endpoint `name` exists (for records that belong to an endpoint).
pub(crate) async fn require(conn: impl SqliteExecutor<'_>, name: &str) -> Result<()> {
    let exists: Option<String> = sqlx::query_scalar("SELECT name FROM endpoints WHERE name = ?")
        .bind(name)
        .fetch_optional(conn)
        .await?;
    match exists {
        Some(_) => Ok(()),
        None => Err(Error::not_found("endpoint", name)),
    }
}

/// Checks that every model version the configuration serves exists.
async fn check_versions(tx: &mut sqlx::SqliteConnection, config: &EndpointConfig) -> Result<()> {
    for step in config.steps() {
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM model_versions WHERE model = ? AND version = ?",
        )
        .bind(&step.model)
        .bind(step.version)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Err(Error::version_not_found(
                "model version",
                &step.model,
                step.version,
            ));
        }
    }
    Ok(())
}

pub(crate) async fn create(
    pool: &SqlitePool,
    name: &str,
    config: &EndpointConfig,
) -> Result<Endpoint> {
    let config_json = rows::to_json(config, "endpoint configuration")?;
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
    check_versions(&mut tx, config).await?;
    let listed = listed_model(config);
    let now = now_millis();
    sqlx::query(&format!(
        "INSERT INTO endpoints ({ENDPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)"
    ))
    .bind(name)
    .bind(listed.map(|s| s.model.as_str()))
    .bind(listed.map(|s| s.version))
    .bind(&config_json)
    .bind(EndpointStatus::Creating.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE name = ?"
    ))
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    rows::endpoint(&row)
}

/// Replaces an endpoint's configuration (status unchanged).
pub(crate) async fn set_config(
    pool: &SqlitePool,
    name: &str,
    config: &EndpointConfig,
) -> Result<Endpoint> {
    let config_json = rows::to_json(config, "endpoint configuration")?;
    let mut tx = begin_write(pool).await?;
    check_versions(&mut tx, config).await?;
    let listed = listed_model(config);
    let changed = sqlx::query(
        "UPDATE endpoints SET model = ?, model_version = ?, config = ?, updated_at = ? \
         WHERE name = ?",
    )
    .bind(listed.map(|s| s.model.as_str()))
    .bind(listed.map(|s| s.version))
    .bind(&config_json)
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

pub(crate) async fn record_scaling(
    pool: &SqlitePool,
    endpoint: &str,
    variant: &str,
    events: &[ScalingEvent],
    keep: usize,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = begin_write(pool).await?;
    require(&mut *tx, endpoint).await?;
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(seq) FROM scaling_events WHERE endpoint = ? AND variant = ?",
    )
    .bind(endpoint)
    .bind(variant)
    .fetch_one(&mut *tx)
    .await?;
    let mut seq = last.unwrap_or(0);
    for event in events {
        seq += 1;
        sqlx::query(
            "INSERT INTO scaling_events (endpoint, variant, seq, at_millis, from_replicas, \
             to_replicas, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(endpoint)
        .bind(variant)
        .bind(seq)
        .bind(event.at)
        .bind(i64::from(event.from))
        .bind(i64::from(event.to))
        .bind(&event.reason)
        .execute(&mut *tx)
        .await?;
    }
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    sqlx::query("DELETE FROM scaling_events WHERE endpoint = ? AND variant = ? AND seq <= ?")
        .bind(endpoint)
        .bind(variant)
        .bind(seq.saturating_sub(keep))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn scaling_events(
    pool: &SqlitePool,
    endpoint: &str,
    variant: &str,
) -> Result<Vec<ScalingEvent>> {
    let rows = sqlx::query(
        "SELECT at_millis, from_replicas, to_replicas, reason FROM scaling_events \
         WHERE endpoint = ? AND variant = ? ORDER BY seq",
    )
    .bind(endpoint)
    .bind(variant)
    .fetch_all(pool)
    .await?;
    let count = |row: &sqlx::sqlite::SqliteRow, column: &str| -> Result<u32> {
        let value: i64 = row.try_get(column)?;
        u32::try_from(value).map_err(|_| Error::Corrupt {
            what: format!("scaling event of {endpoint}/{variant}"),
            reason: format!("{column} {value} is not a replica count"),
        })
    };
    rows.iter()
        .map(|row| {
            Ok(ScalingEvent {
                at: row.try_get("at_millis")?,
                from: count(row, "from_replicas")?,
                to: count(row, "to_replicas")?,
                reason: row.try_get("reason")?,
            })
        })
        .collect()
}
