//! Serving records beside endpoints: data-plane keys, the persisted asynchronous invocation
//! queue and batch transform jobs.

use ingot_core::records::{AsyncInvocation, AsyncStatus, EndpointKey, TransformJob};
use ingot_core::JobStatus;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::{now_millis, Error, Result};

const KEY_COLUMNS: &str = "id, endpoint, name, key_hash, created_at";

const ASYNC_COLUMNS: &str = "id, endpoint, status, content_type, accept, target_model, \
     target_variant, input_hash, output_hash, output_content_type, failure_reason, webhook_url, \
     webhook_status, created_at, updated_at";

const TRANSFORM_COLUMNS: &str = "id, model, model_version, dataset, dataset_version, \
     output_dataset, output_version, join_input, workers, status, failure_reason, row_count, \
     created_at, updated_at, memory_limit_mib";

fn corrupt(what: String, reason: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        what,
        reason: reason.to_string(),
    }
}

fn key(row: &SqliteRow) -> Result<EndpointKey> {
    Ok(EndpointKey {
        id: row.try_get("id")?,
        endpoint: row.try_get("endpoint")?,
        name: row.try_get("name")?,
        key_hash: row.try_get("key_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) async fn create_key(pool: &SqlitePool, new: &EndpointKey) -> Result<()> {
    super::endpoints::require(pool, &new.endpoint).await?;
    sqlx::query(&format!(
        "INSERT INTO endpoint_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
    ))
    .bind(&new.id)
    .bind(&new.endpoint)
    .bind(&new.name)
    .bind(&new.key_hash)
    .bind(new.created_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn key_by_hash(pool: &SqlitePool, hash: &str) -> Result<Option<EndpointKey>> {
    let row = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM endpoint_keys WHERE key_hash = ?"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(key).transpose()
}

pub(crate) async fn list_keys(pool: &SqlitePool, endpoint: &str) -> Result<Vec<EndpointKey>> {
    let rows = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM endpoint_keys WHERE endpoint = ? ORDER BY created_at, id"
    ))
    .bind(endpoint)
    .fetch_all(pool)
    .await?;
    rows.iter().map(key).collect()
}

pub(crate) async fn delete_key(pool: &SqlitePool, endpoint: &str, id: &str) -> Result<()> {
    let changed = sqlx::query("DELETE FROM endpoint_keys WHERE endpoint = ? AND id = ?")
        .bind(endpoint)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(Error::not_found("endpoint key", id));
    }
    Ok(())
}

fn invocation(row: &SqliteRow) -> Result<AsyncInvocation> {
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    Ok(AsyncInvocation {
        status: AsyncStatus::parse(&status)
            .map_err(|e| corrupt(format!("async invocation {id}"), e))?,
        endpoint: row.try_get("endpoint")?,
        content_type: row.try_get("content_type")?,
        accept: row.try_get("accept")?,
        target_model: row.try_get("target_model")?,
        target_variant: row.try_get("target_variant")?,
        input_hash: row.try_get("input_hash")?,
        output_hash: row.try_get("output_hash")?,
        output_content_type: row.try_get("output_content_type")?,
        failure_reason: row.try_get("failure_reason")?,
        webhook_url: row.try_get("webhook_url")?,
        webhook_status: row.try_get("webhook_status")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        id,
    })
}

pub(crate) async fn create_async(pool: &SqlitePool, new: &AsyncInvocation) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO async_invocations ({ASYNC_COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&new.id)
    .bind(&new.endpoint)
    .bind(new.status.as_str())
    .bind(&new.content_type)
    .bind(&new.accept)
    .bind(&new.target_model)
    .bind(&new.target_variant)
    .bind(&new.input_hash)
    .bind(&new.output_hash)
    .bind(&new.output_content_type)
    .bind(&new.failure_reason)
    .bind(&new.webhook_url)
    .bind(&new.webhook_status)
    .bind(new.created_at)
    .bind(new.updated_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn get_async(pool: &SqlitePool, id: &str) -> Result<AsyncInvocation> {
    let row = sqlx::query(&format!(
        "SELECT {ASYNC_COLUMNS} FROM async_invocations WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => invocation(&row),
        None => Err(Error::not_found("async invocation", id)),
    }
}

pub(crate) async fn queued_async(pool: &SqlitePool) -> Result<Vec<AsyncInvocation>> {
    let rows = sqlx::query(&format!(
        "SELECT {ASYNC_COLUMNS} FROM async_invocations WHERE status = 'queued' \
         ORDER BY created_at, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(invocation).collect()
}

pub(crate) async fn finish_async(
    pool: &SqlitePool,
    id: &str,
    status: AsyncStatus,
    output: Option<(&str, &str)>,
    failure_reason: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE async_invocations SET status = ?, output_hash = ?, output_content_type = ?, \
         failure_reason = ?, updated_at = ? WHERE id = ?",
    )
    .bind(status.as_str())
    .bind(output.map(|o| o.0))
    .bind(output.map(|o| o.1))
    .bind(failure_reason)
    .bind(now_millis())
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn set_webhook_status(pool: &SqlitePool, id: &str, status: &str) -> Result<()> {
    sqlx::query("UPDATE async_invocations SET webhook_status = ?, updated_at = ? WHERE id = ?")
        .bind(status)
        .bind(now_millis())
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

fn transform(row: &SqliteRow) -> Result<TransformJob> {
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    let join_input: i64 = row.try_get("join_input")?;
    Ok(TransformJob {
        status: status
            .parse::<JobStatus>()
            .map_err(|e| corrupt(format!("transform job {id}"), e))?,
        model: row.try_get("model")?,
        model_version: row.try_get("model_version")?,
        dataset: row.try_get("dataset")?,
        dataset_version: row.try_get("dataset_version")?,
        output_dataset: row.try_get("output_dataset")?,
        output_version: row.try_get("output_version")?,
        join_input: join_input != 0,
        workers: row.try_get("workers")?,
        failure_reason: row.try_get("failure_reason")?,
        rows: row.try_get("row_count")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        memory_limit_mib: row.try_get("memory_limit_mib")?,
        id,
    })
}

pub(crate) async fn create_transform(pool: &SqlitePool, job: &TransformJob) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO transform_jobs ({TRANSFORM_COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&job.id)
    .bind(&job.model)
    .bind(job.model_version)
    .bind(&job.dataset)
    .bind(job.dataset_version)
    .bind(&job.output_dataset)
    .bind(job.output_version)
    .bind(i64::from(job.join_input))
    .bind(job.workers)
    .bind(job.status.as_str())
    .bind(&job.failure_reason)
    .bind(job.rows)
    .bind(job.created_at)
    .bind(job.updated_at)
    .bind(job.memory_limit_mib)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn get_transform(pool: &SqlitePool, id: &str) -> Result<TransformJob> {
    let row = sqlx::query(&format!(
        "SELECT {TRANSFORM_COLUMNS} FROM transform_jobs WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => transform(&row),
        None => Err(Error::not_found("transform job", id)),
    }
}

pub(crate) async fn list_transforms(pool: &SqlitePool) -> Result<Vec<TransformJob>> {
    let rows = sqlx::query(&format!(
        "SELECT {TRANSFORM_COLUMNS} FROM transform_jobs ORDER BY created_at DESC, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(transform).collect()
}

pub(crate) async fn finish_transform(
    pool: &SqlitePool,
    id: &str,
    status: JobStatus,
    output_version: Option<i64>,
    rows: Option<i64>,
    failure_reason: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE transform_jobs SET status = ?, output_version = ?, row_count = ?, \
         failure_reason = ?, updated_at = ? WHERE id = ?",
    )
    .bind(status.as_str())
    .bind(output_version)
    .bind(rows)
    .bind(failure_reason)
    .bind(now_millis())
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn fail_unfinished_transforms(pool: &SqlitePool, reason: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE transform_jobs SET status = 'Failed', failure_reason = ?, updated_at = ? \
         WHERE status IN ('Pending', 'Running')",
    )
    .bind(reason)
    .bind(now_millis())
    .execute(pool)
    .await?
    .rows_affected())
}
