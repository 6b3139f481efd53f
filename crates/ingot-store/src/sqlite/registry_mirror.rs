//! The bridge between the native registry (`models`, `model_versions`: Ingot model files) and
//! the MLflow-compatible one (`registered_models`, `registered_model_versions`).
//!
//! Every native version has exactly one registry version, written in the same transaction as
//! the native row and linked by the reserved tag `ingot.model_version`; versions registered
//! through MLflow exist only in the registry. Both registries share one number space per name
//! (a new version takes the highest number of either plus one), so a native version and its
//! mirror normally carry the same number. Lineage (job, dataset version, the run's final
//! metrics and input datasets) is captured as reserved `ingot.*` tags when a version is
//! created, and an approval decision is copied into `ingot.approval_status` in the transaction
//! that records it (no tag means pending, so plain MLflow versions carry no extra tag). [`backfill`] mirrors native versions written before this bridge existed.

use ingot_core::records::ModelVersion;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::begin_write;
use crate::tracking::{
    KeyValue, DATASET_TAG, INPUTS_TAG, JOB_TAG, METRIC_TAG_PREFIX, NATIVE_VERSION_TAG,
    PENDING_APPROVAL,
};
use crate::{now_millis, Result};

/// The next version number of `name` across both registries.
pub(crate) async fn next_version(conn: &mut SqliteConnection, name: &str) -> Result<i64> {
    let highest: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(v) FROM (SELECT MAX(version) AS v FROM model_versions WHERE model = ? \
         UNION ALL SELECT MAX(version) AS v FROM registered_model_versions WHERE name = ?) t",
    )
    .bind(name)
    .bind(name)
    .fetch_one(conn)
    .await?;
    Ok(highest.unwrap_or(0) + 1)
}

fn metric_text(value: f64, is_nan: bool) -> String {
    if is_nan {
        "NaN".to_string()
    } else {
        value.to_string()
    }
}

/// Lineage tags taken from a run: its latest metrics, its input datasets and, for a training
/// job's run, the job and dataset version. Nothing when the run does not exist.
pub(crate) async fn run_lineage(
    conn: &mut SqliteConnection,
    run_id: &str,
) -> Result<Vec<KeyValue>> {
    let mut tags = Vec::new();
    if run_id.is_empty() {
        return Ok(tags);
    }
    let metrics = sqlx::query(
        "SELECT key, value, is_nan FROM run_latest_metrics WHERE run_uuid = ? ORDER BY key",
    )
    .bind(run_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in &metrics {
        let key: String = row.try_get("key")?;
        let value: f64 = row.try_get("value")?;
        let is_nan: i64 = row.try_get("is_nan")?;
        tags.push((
            format!("{METRIC_TAG_PREFIX}{key}"),
            metric_text(value, is_nan != 0),
        ));
    }
    let inputs = sqlx::query(
        "SELECT d.name, d.digest, d.source_type, d.source, i.tags_json FROM run_inputs i \
         JOIN datasets_tracked d ON d.dataset_uuid = i.dataset_uuid WHERE i.run_uuid = ? \
         ORDER BY d.name, d.digest",
    )
    .bind(run_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut listed = Vec::new();
    for row in &inputs {
        // Input tags are stored as `[[key, value], ...]`.
        let input_tags: Vec<KeyValue> =
            serde_json::from_str(&row.try_get::<String, _>("tags_json")?).unwrap_or_default();
        let context = input_tags
            .into_iter()
            .find(|(key, _)| key == "mlflow.data.context")
            .map(|(_, value)| value);
        listed.push(serde_json::json!({
            "name": row.try_get::<String, _>("name")?,
            "digest": row.try_get::<String, _>("digest")?,
            "source_type": row.try_get::<String, _>("source_type")?,
            "source": row.try_get::<String, _>("source")?,
            "context": context,
        }));
    }
    if !listed.is_empty() {
        tags.push((
            INPUTS_TAG.to_string(),
            serde_json::Value::from(listed).to_string(),
        ));
    }
    let job: Option<String> =
        sqlx::query_scalar("SELECT value FROM run_tags WHERE run_uuid = ? AND key = ?")
            .bind(run_id)
            .bind(JOB_TAG)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(job) = job {
        tags.push((JOB_TAG.to_string(), job));
        let dataset: Option<String> = sqlx::query_scalar(
            "SELECT value FROM run_params WHERE run_uuid = ? AND key = 'dataset'",
        )
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(dataset) = dataset {
            tags.push((DATASET_TAG.to_string(), dataset));
        }
    }
    Ok(tags)
}

/// Writes the registry version mirroring native version `v`, inside the caller's transaction.
/// Returns the registry version number (`v.version` unless a registry-only version took it).
pub(crate) async fn mirror_native(conn: &mut SqliteConnection, v: &ModelVersion) -> Result<i64> {
    let now = now_millis();
    sqlx::query(
        "INSERT INTO registered_models (name, description, creation_timestamp, \
         last_updated_timestamp, require_approval) VALUES (?, '', ?, ?, 0) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&v.model)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let taken: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM registered_model_versions WHERE name = ? AND version = ?",
    )
    .bind(&v.model)
    .bind(v.version)
    .fetch_optional(&mut *conn)
    .await?;
    let number = match taken {
        None => v.version,
        Some(_) => next_version(conn, &v.model).await?,
    };
    // The job's run, when tracking recorded one (run id = job id).
    let run_id = match &v.job_id {
        Some(job) => {
            sqlx::query_scalar::<_, String>("SELECT run_uuid FROM runs WHERE run_uuid = ?")
                .bind(job)
                .fetch_optional(&mut *conn)
                .await?
                .unwrap_or_default()
        }
        None => String::new(),
    };
    let description = match &v.job_id {
        Some(job) => format!("{} trained by job {job}", v.algorithm),
        None => format!("{} model imported into Ingot", v.algorithm),
    };
    sqlx::query(
        "INSERT INTO registered_model_versions (name, version, creation_timestamp, \
         last_updated_timestamp, description, user_id, current_stage, source, run_id, run_link, \
         model_id, status, approval_status, approved_by, approved_at) \
         VALUES (?, ?, ?, ?, ?, 'ingot', 'None', ?, ?, '', '', 'READY', ?, NULL, NULL)",
    )
    .bind(&v.model)
    .bind(number)
    .bind(v.created_at)
    .bind(now)
    .bind(&description)
    .bind(format!("ingot:/models/{}/{}", v.model, v.version))
    .bind(&run_id)
    .bind(PENDING_APPROVAL)
    .execute(&mut *conn)
    .await?;
    let lineage = native_lineage(conn, v, &run_id).await?;
    link(conn, v, number, lineage).await?;
    Ok(number)
}

/// Tags registry version `number` as the mirror of native version `v` (the link and artifact
/// tags, then `more`) and marks its registered model updated, inside the caller's transaction.
async fn link(
    conn: &mut SqliteConnection,
    v: &ModelVersion,
    number: i64,
    more: Vec<KeyValue>,
) -> Result<()> {
    let mut tags = vec![
        (NATIVE_VERSION_TAG.to_string(), v.version.to_string()),
        ("ingot.artifact_sha256".to_string(), v.artifact_hash.clone()),
    ];
    tags.extend(more);
    put_tags(conn, &v.model, number, &tags).await?;
    sqlx::query("UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?")
        .bind(now_millis())
        .bind(&v.model)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The native version a registry version mirrors, if any (its `ingot.model_version` tag).
pub(crate) async fn native_of(
    conn: &mut SqliteConnection,
    name: &str,
    version: i64,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT value FROM model_version_tags WHERE name = ? AND version = ? AND key = ?",
    )
    .bind(name)
    .bind(version)
    .bind(NATIVE_VERSION_TAG)
    .fetch_optional(conn)
    .await?)
}

/// Links a registry version registered through MLflow to the native version made from its
/// files (same number), inside the caller's transaction. Its own source, run and lineage stay
/// as MLflow recorded them.
pub(crate) async fn link_adopted(conn: &mut SqliteConnection, v: &ModelVersion) -> Result<()> {
    link(conn, v, v.version, Vec::new()).await
}

/// The lineage tags of a native version: its job, dataset version and metrics, and the input
/// datasets its run logged.
async fn native_lineage(
    conn: &mut SqliteConnection,
    v: &ModelVersion,
    run_id: &str,
) -> Result<Vec<KeyValue>> {
    let mut tags = Vec::new();
    for (name, value) in &v.metrics.0 {
        tags.push((
            format!("{METRIC_TAG_PREFIX}{name}"),
            metric_text(*value, value.is_nan()),
        ));
    }
    if let Some(job) = &v.job_id {
        tags.push((JOB_TAG.to_string(), job.clone()));
    }
    if let (Some(dataset), Some(version)) = (&v.dataset, v.dataset_version) {
        tags.push((DATASET_TAG.to_string(), format!("{dataset}:{version}")));
    }
    // Input datasets logged on the run (a job's own metrics and dataset are already above).
    for (key, value) in run_lineage(conn, run_id).await? {
        if key == INPUTS_TAG {
            tags.push((key, value));
        }
    }
    Ok(tags)
}

async fn put_tags(
    conn: &mut SqliteConnection,
    name: &str,
    version: i64,
    tags: &[KeyValue],
) -> Result<()> {
    for (key, value) in tags {
        super::registry::upsert_version_tag(&mut *conn, name, version, key, value).await?;
    }
    Ok(())
}

/// Mirrors written before lineage tags existed (by the former best-effort mirroring): the
/// native version and its mirror's number and run, when the mirror carries no lineage tag.
const WITHOUT_LINEAGE: &str = "SELECT n.model, n.version, v.version, v.run_id \
     FROM model_versions n JOIN model_version_tags t ON t.name = n.model AND t.key = ? \
     AND t.value = CAST(n.version AS TEXT) \
     JOIN registered_model_versions v ON v.name = t.name AND v.version = t.version \
     WHERE NOT EXISTS (SELECT 1 FROM model_version_tags l WHERE l.name = v.name \
     AND l.version = v.version AND (l.key = ? OR l.key = ? OR l.key LIKE ?))";

/// Adds the lineage tags to mirrors that have none. Idempotent: a mirror with any lineage tag
/// is left alone.
async fn backfill_lineage(pool: &SqlitePool) -> Result<u64> {
    let pending: Vec<(String, i64, i64, String)> = sqlx::query_as(WITHOUT_LINEAGE)
        .bind(NATIVE_VERSION_TAG)
        .bind(JOB_TAG)
        .bind(DATASET_TAG)
        .bind(format!("{METRIC_TAG_PREFIX}%"))
        .fetch_all(pool)
        .await?;
    let mut completed = 0;
    for (model, version, number, run_id) in pending {
        let mut tx = begin_write(pool).await?;
        let native = super::models::version_in(&mut tx, &model, version).await?;
        let tags = native_lineage(&mut tx, &native, &run_id).await?;
        if !tags.is_empty() {
            put_tags(&mut tx, &model, number, &tags).await?;
            completed += 1;
        }
        tx.commit().await?;
    }
    Ok(completed)
}

const UNMIRRORED: &str = "SELECT n.model, n.version FROM model_versions n WHERE NOT EXISTS \
     (SELECT 1 FROM model_version_tags t WHERE t.name = n.model AND t.key = ? \
     AND t.value = CAST(n.version AS TEXT))";

/// Mirrors every native version that has no registry version yet (written before the mirror
/// was transactional), then adds lineage tags to older mirrors that have none. Idempotent;
/// each version is handled in its own transaction. Returns how many were mirrored.
pub(crate) async fn backfill(pool: &SqlitePool) -> Result<u64> {
    let pending: Vec<(String, i64)> =
        sqlx::query_as(&format!("{UNMIRRORED} ORDER BY n.model, n.version"))
            .bind(NATIVE_VERSION_TAG)
            .fetch_all(pool)
            .await?;
    let mut mirrored = 0;
    for (model, version) in pending {
        let mut tx = begin_write(pool).await?;
        let still: Option<String> =
            sqlx::query_scalar(&format!("{UNMIRRORED} AND n.model = ? AND n.version = ?"))
                .bind(NATIVE_VERSION_TAG)
                .bind(&model)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if still.is_none() {
            continue;
        }
        let native = super::models::version_in(&mut tx, &model, version).await?;
        mirror_native(&mut tx, &native).await?;
        tx.commit().await?;
        mirrored += 1;
    }
    let completed = backfill_lineage(pool).await?;
    if mirrored + completed > 0 {
        tracing::info!(
            mirrored,
            completed,
            "mirrored native model versions into the MLflow registry, with lineage"
        );
    }
    Ok(mirrored)
}
