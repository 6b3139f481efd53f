//! What logged-model searches filter and order on besides attributes: a params/tags index of
//! the JSON columns (the source of truth), rewritten in the same transaction as the JSON and
//! rebuilt at startup for models written before it existed, and the metrics logged with a
//! `model_id` (every point).

use sqlx::{SqliteConnection, SqlitePool};

use super::begin_write;
use crate::tracking::{KeyValue, LoggedModelMetric, MetricPoint};
use crate::{Error, Result};

/// The latest point per (model, key), by timestamp then step then run id (MLflow's order for
/// `order_by` on metrics); the search compiler reads it as the metrics child table.
pub(crate) const LATEST_METRICS: &str = "(SELECT m.model_id, m.key, m.value, m.is_nan \
     FROM logged_model_metrics m WHERE NOT EXISTS (SELECT 1 FROM logged_model_metrics n \
     WHERE n.model_id = m.model_id AND n.key = m.key AND (n.timestamp > m.timestamp \
     OR (n.timestamp = m.timestamp AND n.step > m.step) \
     OR (n.timestamp = m.timestamp AND n.step = m.step AND n.run_uuid < m.run_uuid))))";

/// Replaces the index rows of one model's params and tags, inside the caller's transaction.
pub(crate) async fn write(
    conn: &mut SqliteConnection,
    model_id: &str,
    params: &[KeyValue],
    tags: &[KeyValue],
) -> Result<()> {
    for (table, pairs) in [("logged_model_params", params), ("logged_model_tags", tags)] {
        sqlx::query(&format!("DELETE FROM {table} WHERE model_id = ?"))
            .bind(model_id)
            .execute(&mut *conn)
            .await?;
        for (key, value) in pairs {
            sqlx::query(&format!(
                "INSERT INTO {table} (model_id, key, value) VALUES (?, ?, ?) \
                 ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
            ))
            .bind(model_id)
            .bind(key)
            .bind(value)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

fn pairs(text: &str) -> Result<Vec<KeyValue>> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt {
        what: "logged model".to_string(),
        reason: e.to_string(),
    })
}

/// Indexes the params and tags of logged models that have JSON but no index rows (written
/// before the index existed). Idempotent. Returns how many models were indexed.
pub(crate) async fn rebuild_missing(pool: &SqlitePool) -> Result<u64> {
    const MISSING: &str = "SELECT l.model_id, l.params_json, l.tags_json FROM logged_models l \
         WHERE (l.params_json <> '[]' OR l.tags_json <> '[]') \
         AND NOT EXISTS (SELECT 1 FROM logged_model_params p WHERE p.model_id = l.model_id) \
         AND NOT EXISTS (SELECT 1 FROM logged_model_tags t WHERE t.model_id = l.model_id)";
    let missing: Vec<(String, String, String)> = sqlx::query_as(MISSING).fetch_all(pool).await?;
    if missing.is_empty() {
        return Ok(0);
    }
    let mut tx = begin_write(pool).await?;
    for (model_id, params, tags) in &missing {
        write(&mut tx, model_id, &pairs(params)?, &pairs(tags)?).await?;
    }
    tx.commit().await?;
    Ok(missing.len() as u64)
}

/// Records metric points logged by `run_id` against a logged model (which must exist).
pub(crate) async fn log_metrics(
    pool: &SqlitePool,
    model_id: &str,
    run_id: &str,
    points: &[MetricPoint],
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let found: Option<String> =
        sqlx::query_scalar("SELECT model_id FROM logged_models WHERE model_id = ?")
            .bind(model_id)
            .fetch_optional(&mut *tx)
            .await?;
    if found.is_none() {
        return Err(Error::not_found("logged model", model_id));
    }
    for point in points {
        let is_nan = point.value.is_nan();
        sqlx::query(
            "INSERT INTO logged_model_metrics (model_id, key, step, timestamp, value, is_nan, \
             run_uuid) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (model_id, key, step, timestamp, run_uuid) \
             DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan",
        )
        .bind(model_id)
        .bind(&point.key)
        .bind(point.step)
        .bind(point.timestamp)
        .bind(if is_nan { 0.0 } else { point.value })
        .bind(i64::from(is_nan))
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every metric point of a logged model, by key, then step, then timestamp.
pub(crate) async fn metrics(pool: &SqlitePool, model_id: &str) -> Result<Vec<LoggedModelMetric>> {
    let rows: Vec<(String, i64, i64, f64, i64, String)> = sqlx::query_as(
        "SELECT key, step, timestamp, value, is_nan, run_uuid FROM logged_model_metrics \
         WHERE model_id = ? ORDER BY key, step, timestamp, run_uuid",
    )
    .bind(model_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(key, step, timestamp, value, is_nan, run_id)| LoggedModelMetric {
                run_id,
                point: MetricPoint {
                    key,
                    value: if is_nan != 0 { f64::NAN } else { value },
                    timestamp,
                    step,
                },
            },
        )
        .collect())
}
