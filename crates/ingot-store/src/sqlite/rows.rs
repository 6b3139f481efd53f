//! Encoding of records into columns and decoding of rows back into records.

use std::str::FromStr;

use ingot_core::records::{ApiToken, DatasetVersion, Endpoint, Job, ModelVersion};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::{Error, Result};

pub(crate) const DATASET_VERSION_COLUMNS: &str = "dataset, version, content_hash, format, \
     size_bytes, row_count, schema_json, profile_json, source, created_at";

pub(crate) const JOB_COLUMNS: &str = "id, status, spec_json, failure_reason, metrics_json, \
     model_name, model_version, created_at, started_at, ended_at";

pub(crate) const MODEL_VERSION_COLUMNS: &str = "model, version, artifact_hash, algorithm, task, \
     metrics_json, input_schema_json, job_id, dataset, dataset_version, created_at";

pub(crate) const ENDPOINT_COLUMNS: &str =
    "name, model, model_version, config, status, failure_reason, created_at, updated_at";

pub(crate) const TOKEN_COLUMNS: &str = "id, name, token_hash, is_admin, created_at";

/// Serializes a value for a JSON column, refusing values that would not read back identically
/// in shape (JSON has no NaN or infinities: serde_json writes them as `null`).
pub(crate) fn to_json<T: Serialize + DeserializeOwned>(value: &T, what: &str) -> Result<String> {
    let invalid = |reason: String| Error::Invalid {
        what: what.to_string(),
        reason,
    };
    let text = serde_json::to_string(value).map_err(|e| invalid(e.to_string()))?;
    serde_json::from_str::<T>(&text).map_err(|e| {
        invalid(format!(
            "does not survive a JSON round trip (a non-finite number?): {e}"
        ))
    })?;
    Ok(text)
}

/// Decodes a JSON column.
fn json<T: DeserializeOwned>(
    row: &SqliteRow,
    column: &str,
    what: &dyn Fn() -> String,
) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| Error::Corrupt {
        what: what(),
        reason: format!("column {column}: {e}"),
    })
}

/// Decodes a column holding an enum's text form.
fn parsed<T>(row: &SqliteRow, column: &str, what: &dyn Fn() -> String) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e: T::Err| Error::Corrupt {
        what: what(),
        reason: format!("column {column}: {e}"),
    })
}

pub(crate) fn dataset_version(row: &SqliteRow) -> Result<DatasetVersion> {
    let dataset: String = row.try_get("dataset")?;
    let version: i64 = row.try_get("version")?;
    let what = || format!("dataset version {dataset}:{version}");
    Ok(DatasetVersion {
        content_hash: row.try_get("content_hash")?,
        format: row.try_get("format")?,
        size_bytes: row.try_get("size_bytes")?,
        row_count: row.try_get("row_count")?,
        schema: json(row, "schema_json", &what)?,
        profile: json(row, "profile_json", &what)?,
        source: row.try_get("source")?,
        created_at: row.try_get("created_at")?,
        dataset,
        version,
    })
}

pub(crate) fn job(row: &SqliteRow) -> Result<Job> {
    let id: String = row.try_get("id")?;
    let what = || format!("job {id}");
    Ok(Job {
        status: parsed(row, "status", &what)?,
        spec: json(row, "spec_json", &what)?,
        failure_reason: row.try_get("failure_reason")?,
        metrics: json(row, "metrics_json", &what)?,
        model_name: row.try_get("model_name")?,
        model_version: row.try_get("model_version")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        id,
    })
}

pub(crate) fn model_version(row: &SqliteRow) -> Result<ModelVersion> {
    let model: String = row.try_get("model")?;
    let version: i64 = row.try_get("version")?;
    let what = || format!("model version {model}:{version}");
    Ok(ModelVersion {
        artifact_hash: row.try_get("artifact_hash")?,
        algorithm: row.try_get("algorithm")?,
        task: parsed(row, "task", &what)?,
        metrics: json(row, "metrics_json", &what)?,
        input_schema: json(row, "input_schema_json", &what)?,
        job_id: row.try_get("job_id")?,
        dataset: row.try_get("dataset")?,
        dataset_version: row.try_get("dataset_version")?,
        created_at: row.try_get("created_at")?,
        model,
        version,
    })
}

pub(crate) fn endpoint(row: &SqliteRow) -> Result<Endpoint> {
    let name: String = row.try_get("name")?;
    let what = || format!("endpoint {name}");
    let model: Option<String> = row.try_get("model")?;
    let model_version: Option<i64> = row.try_get("model_version")?;
    let config_text: Option<String> = row.try_get("config")?;
    // Endpoints from before configurations serve their pinned model as one variant.
    let config = match config_text {
        Some(text) => serde_json::from_str(&text).map_err(|e| Error::Corrupt {
            what: what(),
            reason: format!("column config: {e}"),
        })?,
        None => ingot_core::EndpointConfig::single(
            model.as_deref().unwrap_or_default(),
            model_version.unwrap_or_default(),
        ),
    };
    Ok(Endpoint {
        model: model.unwrap_or_default(),
        model_version: model_version.unwrap_or_default(),
        config,
        status: parsed(row, "status", &what)?,
        failure_reason: row.try_get("failure_reason")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        name,
    })
}

pub(crate) fn token(row: &SqliteRow) -> Result<ApiToken> {
    let is_admin: i64 = row.try_get("is_admin")?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        is_admin: is_admin != 0,
        created_at: row.try_get("created_at")?,
    })
}

/// Decodes every row with `decode`.
pub(crate) fn all<T>(rows: &[SqliteRow], decode: fn(&SqliteRow) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(decode).collect()
}
