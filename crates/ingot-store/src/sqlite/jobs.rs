//! Training jobs: lifecycle transitions, completion with model registration, logs and metric
//! series.

use ingot_core::records::{Job, LogLine, MetricPoint, ModelVersion, NewModelVersion, TrainingSpec};
use ingot_core::{JobStatus, Metrics};
use sqlx::{Row, SqliteConnection, SqliteExecutor, SqlitePool};

use super::rows::{self, JOB_COLUMNS};
use super::{begin_write, models};
use crate::{now_millis, Error, Result};

/// Whether the job exists.
async fn exists<'c>(executor: impl SqliteExecutor<'c>, id: &str) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM jobs WHERE id = ?")
        .bind(id)
        .fetch_optional(executor)
        .await?;
    Ok(found.is_some())
}

/// `NotFound` unless the job exists.
async fn ensure_exists<'c>(executor: impl SqliteExecutor<'c>, id: &str) -> Result<()> {
    if exists(executor, id).await? {
        Ok(())
    } else {
        Err(Error::not_found("job", id))
    }
}

pub(crate) async fn create(pool: &SqlitePool, id: &str, spec: &TrainingSpec) -> Result<Job> {
    let spec_json = rows::to_json(spec, "training spec")?;
    let metrics = Metrics::default();
    let metrics_json = rows::to_json(&metrics, "job metrics")?;
    let mut tx = begin_write(pool).await?;
    if exists(&mut *tx, id).await? {
        return Err(Error::AlreadyExists {
            kind: "job",
            name: id.to_string(),
        });
    }
    let ordinal: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(ordinal), 0) + 1 FROM jobs")
        .fetch_one(&mut *tx)
        .await?;
    let now = now_millis();
    sqlx::query(
        "INSERT INTO jobs (id, ordinal, status, spec_json, metrics_json, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(ordinal)
    .bind(JobStatus::Pending.as_str())
    .bind(&spec_json)
    .bind(&metrics_json)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Job {
        id: id.to_string(),
        status: JobStatus::Pending,
        spec: spec.clone(),
        failure_reason: None,
        metrics,
        model_name: None,
        model_version: None,
        created_at: now,
        started_at: None,
        ended_at: None,
    })
}

pub(crate) async fn get(pool: &SqlitePool, id: &str) -> Result<Job> {
    let found = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    match found {
        Some(row) => rows::job(&row),
        None => Err(Error::not_found("job", id)),
    }
}

pub(crate) async fn list(pool: &SqlitePool, limit: i64) -> Result<Vec<Job>> {
    let found = sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs ORDER BY ordinal DESC LIMIT ?"
    ))
    .bind(limit.max(0))
    .fetch_all(pool)
    .await?;
    rows::all(&found, rows::job)
}

pub(crate) async fn transition(
    pool: &SqlitePool,
    id: &str,
    from: &[JobStatus],
    to: JobStatus,
    failure_reason: Option<&str>,
) -> Result<bool> {
    if from.is_empty() {
        ensure_exists(pool, id).await?;
        return Ok(false);
    }
    let now = now_millis();
    let mut sql = String::from("UPDATE jobs SET status = ?");
    if to == JobStatus::Running {
        sql.push_str(", started_at = ?");
    }
    if to.is_terminal() {
        sql.push_str(", ended_at = ?");
    }
    if failure_reason.is_some() {
        sql.push_str(", failure_reason = ?");
    }
    let placeholders = vec!["?"; from.len()].join(", ");
    sql.push_str(&format!(" WHERE id = ? AND status IN ({placeholders})"));

    let mut query = sqlx::query(&sql).bind(to.as_str());
    if to == JobStatus::Running {
        query = query.bind(now);
    }
    if to.is_terminal() {
        query = query.bind(now);
    }
    if let Some(reason) = failure_reason {
        query = query.bind(reason);
    }
    query = query.bind(id);
    for status in from {
        query = query.bind(status.as_str());
    }
    let changed = query.execute(pool).await?.rows_affected();
    if changed == 0 {
        ensure_exists(pool, id).await?;
        return Ok(false);
    }
    Ok(true)
}

pub(crate) async fn complete(
    pool: &SqlitePool,
    id: &str,
    metrics: &Metrics,
    mut model: NewModelVersion,
) -> Result<ModelVersion> {
    let metrics_json = rows::to_json(metrics, "job metrics")?;
    let mut tx = begin_write(pool).await?;
    let found = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let job = match found {
        Some(row) => rows::job(&row)?,
        None => return Err(Error::not_found("job", id)),
    };
    if job.status != JobStatus::Running {
        return Err(Error::Conflict {
            message: format!(
                "job {id} is {}, only a Running job can complete",
                job.status
            ),
        });
    }
    model.job_id = Some(id.to_string());
    model.dataset = Some(job.spec.dataset);
    model.dataset_version = Some(job.spec.dataset_version);
    let created = models::insert_version(&mut tx, model).await?;
    sqlx::query(
        "UPDATE jobs SET status = ?, metrics_json = ?, model_name = ?, model_version = ?, \
         ended_at = ? WHERE id = ?",
    )
    .bind(JobStatus::Completed.as_str())
    .bind(&metrics_json)
    .bind(&created.model)
    .bind(created.version)
    .bind(now_millis())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(created)
}

pub(crate) async fn append_log(pool: &SqlitePool, id: &str, message: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    ensure_exists(&mut *tx, id).await?;
    sqlx::query(
        "INSERT INTO job_logs (job_id, seq, at, message) \
         SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ? FROM job_logs WHERE job_id = ?",
    )
    .bind(id)
    .bind(now_millis())
    .bind(message)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn logs(pool: &SqlitePool, id: &str, after_seq: i64) -> Result<Vec<LogLine>> {
    let found = sqlx::query(
        "SELECT seq, at, message FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq",
    )
    .bind(id)
    .bind(after_seq)
    .fetch_all(pool)
    .await?;
    if found.is_empty() {
        ensure_exists(pool, id).await?;
    }
    found
        .iter()
        .map(|row| {
            Ok(LogLine {
                seq: row.try_get("seq")?,
                at: row.try_get("at")?,
                message: row.try_get("message")?,
            })
        })
        .collect()
}

pub(crate) async fn append_metrics(
    pool: &SqlitePool,
    id: &str,
    points: &[MetricPoint],
) -> Result<()> {
    if let Some(bad) = points.iter().find(|p| !p.value.is_finite()) {
        return Err(Error::Invalid {
            what: format!("metric {} at step {}", bad.name, bad.step),
            reason: format!("{} is not a finite number", bad.value),
        });
    }
    let mut tx = begin_write(pool).await?;
    ensure_exists(&mut *tx, id).await?;
    for point in points {
        insert_metric(&mut tx, id, point).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_metric(conn: &mut SqliteConnection, id: &str, point: &MetricPoint) -> Result<()> {
    sqlx::query(
        "INSERT INTO job_metrics (job_id, name, step, value, at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (job_id, name, step) DO UPDATE SET value = excluded.value, at = excluded.at",
    )
    .bind(id)
    .bind(&point.name)
    .bind(point.step)
    .bind(point.value)
    .bind(point.at)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn metrics(pool: &SqlitePool, id: &str) -> Result<Vec<MetricPoint>> {
    let found = sqlx::query(
        "SELECT name, step, value, at FROM job_metrics WHERE job_id = ? ORDER BY name, step",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    if found.is_empty() {
        ensure_exists(pool, id).await?;
    }
    found
        .iter()
        .map(|row| {
            Ok(MetricPoint {
                name: row.try_get("name")?,
                step: row.try_get("step")?,
                value: row.try_get("value")?,
                at: row.try_get("at")?,
            })
        })
        .collect()
}

pub(crate) async fn fail_unfinished(pool: &SqlitePool, reason: &str) -> Result<u64> {
    let result = sqlx::query(
        "UPDATE jobs SET status = ?, failure_reason = ?, ended_at = ? WHERE status IN (?, ?)",
    )
    .bind(JobStatus::Failed.as_str())
    .bind(reason)
    .bind(now_millis())
    .bind(JobStatus::Pending.as_str())
    .bind(JobStatus::Running.as_str())
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}
