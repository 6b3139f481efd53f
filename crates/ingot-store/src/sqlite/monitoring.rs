//! Monitoring records: schedules per endpoint (settings as JSON text) and their executions.

use ingot_core::records::{MonitoringExecution, MonitoringSchedule};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::{Error, Result};

const SCHEDULE_COLUMNS: &str = "endpoint, name, schedule_type, config, created_at";

const EXECUTION_COLUMNS: &str = "id, endpoint, schedule, status, window_start, window_end, \
     violations, failure_reason, webhook_status, summary, created_at";

fn json(what: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

fn schedule(row: &SqliteRow) -> Result<MonitoringSchedule> {
    let config: String = row.try_get("config")?;
    Ok(MonitoringSchedule {
        endpoint: row.try_get("endpoint")?,
        name: row.try_get("name")?,
        schedule_type: row.try_get("schedule_type")?,
        config: json("monitoring schedule config", &config)?,
        created_at: row.try_get("created_at")?,
    })
}

fn execution(row: &SqliteRow) -> Result<MonitoringExecution> {
    let summary: String = row.try_get("summary")?;
    Ok(MonitoringExecution {
        id: row.try_get("id")?,
        endpoint: row.try_get("endpoint")?,
        schedule: row.try_get("schedule")?,
        status: row.try_get("status")?,
        window_start: row.try_get("window_start")?,
        window_end: row.try_get("window_end")?,
        violations: row.try_get("violations")?,
        failure_reason: row.try_get("failure_reason")?,
        webhook_status: row.try_get("webhook_status")?,
        summary: json("monitoring execution summary", &summary)?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) async fn create_schedule(pool: &SqlitePool, new: &MonitoringSchedule) -> Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    super::endpoints::require(&mut *tx, &new.endpoint).await?;
    let taken: Option<String> =
        sqlx::query_scalar("SELECT name FROM monitoring_schedules WHERE endpoint = ? AND name = ?")
            .bind(&new.endpoint)
            .bind(&new.name)
            .fetch_optional(&mut *tx)
            .await?;
    if taken.is_some() {
        return Err(Error::AlreadyExists {
            kind: "monitoring schedule",
            name: format!("{}/{}", new.endpoint, new.name),
        });
    }
    sqlx::query(&format!(
        "INSERT INTO monitoring_schedules ({SCHEDULE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
    ))
    .bind(&new.endpoint)
    .bind(&new.name)
    .bind(&new.schedule_type)
    .bind(new.config.to_string())
    .bind(new.created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn get_schedule(
    pool: &SqlitePool,
    endpoint: &str,
    name: &str,
) -> Result<MonitoringSchedule> {
    let row = sqlx::query(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM monitoring_schedules WHERE endpoint = ? AND name = ?"
    ))
    .bind(endpoint)
    .bind(name)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => schedule(&row),
        None => Err(Error::not_found(
            "monitoring schedule",
            format!("{endpoint}/{name}"),
        )),
    }
}

pub(crate) async fn list_schedules(
    pool: &SqlitePool,
    endpoint: Option<&str>,
) -> Result<Vec<MonitoringSchedule>> {
    let rows = match endpoint {
        Some(endpoint) => {
            sqlx::query(&format!(
                "SELECT {SCHEDULE_COLUMNS} FROM monitoring_schedules WHERE endpoint = ? \
                 ORDER BY name"
            ))
            .bind(endpoint)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {SCHEDULE_COLUMNS} FROM monitoring_schedules ORDER BY endpoint, name"
            ))
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(schedule).collect()
}

pub(crate) async fn delete_schedule(pool: &SqlitePool, endpoint: &str, name: &str) -> Result<()> {
    let changed = sqlx::query("DELETE FROM monitoring_schedules WHERE endpoint = ? AND name = ?")
        .bind(endpoint)
        .bind(name)
        .execute(pool)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(Error::not_found(
            "monitoring schedule",
            format!("{endpoint}/{name}"),
        ));
    }
    Ok(())
}

pub(crate) async fn put_execution(pool: &SqlitePool, e: &MonitoringExecution) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO monitoring_executions ({EXECUTION_COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
         window_start = excluded.window_start, window_end = excluded.window_end, \
         violations = excluded.violations, failure_reason = excluded.failure_reason, \
         webhook_status = excluded.webhook_status, summary = excluded.summary"
    ))
    .bind(&e.id)
    .bind(&e.endpoint)
    .bind(&e.schedule)
    .bind(&e.status)
    .bind(e.window_start)
    .bind(e.window_end)
    .bind(e.violations)
    .bind(&e.failure_reason)
    .bind(&e.webhook_status)
    .bind(e.summary.to_string())
    .bind(e.created_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn get_execution(
    pool: &SqlitePool,
    endpoint: &str,
    id: &str,
) -> Result<MonitoringExecution> {
    let row = sqlx::query(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM monitoring_executions WHERE endpoint = ? AND id = ?"
    ))
    .bind(endpoint)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => execution(&row),
        None => Err(Error::not_found("monitoring execution", id)),
    }
}

pub(crate) async fn list_executions(
    pool: &SqlitePool,
    endpoint: &str,
    schedule: Option<&str>,
) -> Result<Vec<MonitoringExecution>> {
    let rows = sqlx::query(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM monitoring_executions WHERE endpoint = ? \
         AND (? IS NULL OR schedule = ?) ORDER BY window_end DESC, created_at DESC, id"
    ))
    .bind(endpoint)
    .bind(schedule)
    .bind(schedule)
    .fetch_all(pool)
    .await?;
    rows.iter().map(execution).collect()
}
