//! Runs: creation, updates, logging (params write-once, metric history plus latest-metric
//! table, tags) in single transactions, dataset inputs, and search.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::sqlite::SqliteRow;
use sqlx::{Arguments, QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::begin_write;
use super::experiments::require_active_stage;
use super::group_commit::GroupCommit;
use super::run_children;
use super::search::{Kind, Target};
use crate::tracking::{
    DatasetInput, KeyValue, MetricPoint, NewRun, Run, RunInfo, RunUpdate, TrackedDataset, ACTIVE,
};
use crate::{Error, Result};

pub(crate) const COLUMNS: &str =
    "r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, \
     r.end_time, r.lifecycle_stage, r.artifact_uri";

pub(crate) const TARGET: Target = Target {
    id: "r.run_uuid",
    attributes: &[
        ("run_id", "r.run_uuid", Kind::Text),
        ("run_name", "r.name", Kind::Text),
        ("status", "r.status", Kind::Text),
        ("user_id", "r.user_id", Kind::Text),
        ("artifact_uri", "r.artifact_uri", Kind::Text),
        ("lifecycle_stage", "r.lifecycle_stage", Kind::Text),
        ("start_time", "r.start_time", Kind::Int),
        ("end_time", "r.end_time", Kind::NullableInt),
        ("experiment_id", "r.experiment_id", Kind::Int),
    ],
    tags: Some(("run_tags", "c.run_uuid = r.run_uuid")),
    params: Some(("run_params", "c.run_uuid = r.run_uuid")),
    metrics: Some(("run_latest_metrics", "c.run_uuid = r.run_uuid")),
    datasets: true,
    tag_ne_matches_missing: false,
};

pub(crate) fn decode(row: &SqliteRow) -> Result<RunInfo> {
    Ok(RunInfo {
        run_id: row.try_get("run_uuid")?,
        experiment_id: row.try_get("experiment_id")?,
        run_name: row.try_get("name")?,
        user_id: row.try_get("user_id")?,
        status: row.try_get("status")?,
        start_time: row.try_get("start_time")?,
        end_time: row.try_get("end_time")?,
        lifecycle_stage: row.try_get("lifecycle_stage")?,
        artifact_uri: row.try_get("artifact_uri")?,
    })
}

pub(crate) async fn create(writes: &GroupCommit, new: NewRun) -> Result<Run> {
    let run_id = match new.run_id.clone().filter(|id| !id.is_empty()) {
        Some(id) => id,
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let created = Arc::new(Mutex::new(None));
    let slot = created.clone();
    writes
        .write(move |conn| {
            let (run_id, new, slot) = (run_id.clone(), new.clone(), slot.clone());
            Box::pin(async move {
                let run = insert_run(conn, run_id, new).await?;
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(run);
                Ok(())
            })
        })
        .await?;
    // An acknowledged write has run to completion, so the slot holds the run it inserted.
    let run = created.lock().unwrap_or_else(|p| p.into_inner()).take();
    run.ok_or_else(|| Error::Corrupt {
        what: "run".to_string(),
        reason: "the created run was not returned".to_string(),
    })
}

/// Inserts a run with its tags and returns it as stored; the caller owns the transaction.
/// Two statements: one read (experiment state and location, and whether the id is taken)
/// and one multi-statement write (the run and its tags).
async fn insert_run(tx: &mut SqliteConnection, run_id: String, new: NewRun) -> Result<Run> {
    let found: Option<(String, String, bool)> = sqlx::query_as(
        "SELECT lifecycle_stage, artifact_location, \
         EXISTS (SELECT 1 FROM runs WHERE run_uuid = ?) FROM experiments WHERE experiment_id = ?",
    )
    .bind(&run_id)
    .bind(new.experiment_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (stage, location, taken) =
        found.ok_or_else(|| Error::not_found("experiment", new.experiment_id.to_string()))?;
    require_active_stage(new.experiment_id, &stage)?;
    if taken {
        return Err(Error::AlreadyExists {
            kind: "run",
            name: run_id,
        });
    }
    let tag_name = new
        .tags
        .iter()
        .rev()
        .find(|(k, _)| k == "mlflow.runName")
        .map(|(_, v)| v.clone());
    let run_name = new
        .run_name
        .filter(|n| !n.is_empty())
        .or(tag_name)
        .unwrap_or_else(|| format!("run-{}", &run_id[..8]));
    let artifact_uri = format!("{}/{run_id}/artifacts", location.trim_end_matches('/'));
    // The last value of a repeated key wins, as with one upsert per tag.
    let mut tags: Vec<KeyValue> = Vec::with_capacity(new.tags.len() + 1);
    for (key, value) in new.tags {
        if key == "mlflow.runName" {
            continue;
        }
        match tags.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => tags.push((key, value)),
        }
    }
    tags.push(("mlflow.runName".to_string(), run_name.clone()));
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, \
         lifecycle_stage, artifact_uri, deleted_time, metric_series) VALUES (",
    );
    insert
        .push_bind(&run_id)
        .push(", ")
        .push_bind(new.experiment_id)
        .push(", ")
        .push_bind(&run_name)
        .push(", ")
        .push_bind(&new.user_id)
        .push(", 'RUNNING', ")
        .push_bind(new.start_time)
        .push(", NULL, ")
        .push_bind(ACTIVE)
        .push(", ")
        .push_bind(&artifact_uri)
        // Writes are serialized by the group commit, so one past the largest is unique (and
        // the unique index would refuse a duplicate).
        .push(
            ", NULL, (SELECT COALESCE(MAX(metric_series), 0) + 1 FROM runs)); \
             INSERT INTO run_tags (run_uuid, key, value) ",
        );
    insert.push_values(&tags, |mut row, (key, value)| {
        row.push_bind(&run_id).push_bind(key).push_bind(value);
    });
    insert.build().execute(&mut *tx).await?;
    Ok(Run {
        info: RunInfo {
            run_id,
            experiment_id: new.experiment_id,
            run_name,
            user_id: new.user_id,
            status: "RUNNING".to_string(),
            start_time: new.start_time,
            end_time: None,
            lifecycle_stage: ACTIVE.to_string(),
            artifact_uri,
        },
        metrics: Vec::new(),
        params: Vec::new(),
        tags,
        inputs: Vec::new(),
        outputs: Vec::new(),
    })
}

async fn upsert_tag(
    conn: &mut SqliteConnection,
    run_id: &str,
    key: &str,
    value: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO run_tags (run_uuid, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
    )
    .bind(run_id)
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

async fn info(conn: &mut SqliteConnection, run_id: &str) -> Result<RunInfo> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM runs r WHERE r.run_uuid = ?"
    ))
    .bind(run_id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("run", run_id))?;
    decode(&row)
}

pub(crate) async fn get(pool: &SqlitePool, run_id: &str) -> Result<Run> {
    let mut conn = pool.acquire().await?;
    let run_info = info(&mut conn, run_id).await?;
    drop(conn);
    let mut runs = hydrate(pool, vec![run_info]).await?;
    Ok(runs.remove(0))
}

/// Loads metrics, params and tags (one packed query) and inputs for a page of runs.
pub(crate) async fn hydrate(pool: &SqlitePool, infos: Vec<RunInfo>) -> Result<Vec<Run>> {
    let mut runs: Vec<Run> = infos
        .into_iter()
        .map(|info| Run {
            info,
            metrics: Vec::new(),
            params: Vec::new(),
            tags: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        })
        .collect();
    let index: HashMap<String, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.info.run_id.clone(), i))
        .collect();
    let ids: Vec<String> = index.keys().cloned().collect();
    run_children::load(pool, &mut runs, &ids).await?;
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let bind_all = |sql: String| {
            let mut args = sqlx::sqlite::SqliteArguments::default();
            for id in chunk {
                let _ = args.add(id.clone());
            }
            (sql, args)
        };
        let (sql, args) = bind_all(format!(
            "SELECT i.run_uuid, i.tags_json, d.name, d.digest, d.source_type, d.source, \
             d.schema_json, d.profile FROM run_inputs i JOIN datasets_tracked d \
             ON d.dataset_uuid = i.dataset_uuid WHERE i.run_uuid IN ({marks}) ORDER BY d.name"
        ));
        for row in sqlx::query_with(&sql, args).fetch_all(pool).await? {
            let i = index[&row.try_get::<String, _>("run_uuid")?];
            let tags_json: String = row.try_get("tags_json")?;
            let tags: Vec<KeyValue> =
                serde_json::from_str(&tags_json).map_err(|e| Error::Corrupt {
                    what: "run input tags".to_string(),
                    reason: e.to_string(),
                })?;
            runs[i].inputs.push(DatasetInput {
                dataset: TrackedDataset {
                    name: row.try_get("name")?,
                    digest: row.try_get("digest")?,
                    source_type: row.try_get("source_type")?,
                    source: row.try_get("source")?,
                    schema: row.try_get("schema_json")?,
                    profile: row.try_get("profile")?,
                },
                tags,
            });
        }
    }
    Ok(runs)
}

fn metric_from_row(row: &SqliteRow) -> Result<MetricPoint> {
    let is_nan: i64 = row.try_get("is_nan")?;
    let value: f64 = row.try_get("value")?;
    Ok(MetricPoint {
        key: row.try_get("key")?,
        value: if is_nan != 0 { f64::NAN } else { value },
        timestamp: row.try_get("timestamp")?,
        step: row.try_get("step")?,
    })
}

pub(crate) async fn update(pool: &SqlitePool, run_id: &str, update: RunUpdate) -> Result<RunInfo> {
    let mut tx = begin_write(pool).await?;
    let current = info(&mut tx, run_id).await?;
    require_live(&current)?;
    let status = update.status.unwrap_or(current.status);
    let end_time = update.end_time.or(current.end_time);
    let name = update
        .run_name
        .filter(|n| !n.is_empty())
        .unwrap_or(current.run_name);
    sqlx::query("UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?")
        .bind(&status)
        .bind(end_time)
        .bind(&name)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
    upsert_tag(&mut tx, run_id, "mlflow.runName", &name).await?;
    let updated = info(&mut tx, run_id).await?;
    tx.commit().await?;
    Ok(updated)
}

fn require_live(run: &RunInfo) -> Result<()> {
    if run.lifecycle_stage == ACTIVE {
        Ok(())
    } else {
        Err(Error::Invalid {
            what: "run_id".to_string(),
            reason: format!(
                "the run {} must be in the 'active' state; current state is {}",
                run.run_id, run.lifecycle_stage
            ),
        })
    }
}

pub(crate) async fn set_stage(pool: &SqlitePool, run_id: &str, stage: &str) -> Result<()> {
    let deleted_time = (stage != ACTIVE).then(crate::now_millis);
    let changed =
        sqlx::query("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?")
            .bind(stage)
            .bind(deleted_time)
            .bind(run_id)
            .execute(pool)
            .await?
            .rows_affected();
    if changed == 0 {
        return Err(Error::not_found("run", run_id));
    }
    Ok(())
}

pub(crate) async fn log_batch(
    writes: &GroupCommit,
    run_id: &str,
    metrics: &[MetricPoint],
    params: &[KeyValue],
    tags: &[KeyValue],
) -> Result<()> {
    let batch = Arc::new((
        run_id.to_string(),
        metrics.to_vec(),
        params.to_vec(),
        tags.to_vec(),
    ));
    writes
        .write(move |conn| {
            let batch = batch.clone();
            Box::pin(async move {
                let (run_id, metrics, params, tags) = &*batch;
                log_batch_in(conn, run_id, metrics, params, tags).await
            })
        })
        .await
}

/// Metric rows per chunk. A chunk is one multi-statement query of two multi-row INSERTs of 6
/// values per row; SQLite allows 32766 bound values per statement.
const ROWS_PER_INSERT: usize = 1000;

/// Logs into an open transaction (see [`log_batch`]) with as few statements as possible, each
/// a round trip to the connection's thread:
/// - the run's liveness check together with the metric points and the latest-metric upserts
///   (one conditional upsert per key, the chunk's own maximum point), one query per chunk of
///   [`ROWS_PER_INSERT`] points;
/// - params in one insert plus one read-back to enforce write-once;
/// - one upsert per tag.
///
/// A failure leaves partial writes behind; the group commit rolls them back (see its module
/// docs).
async fn log_batch_in(
    tx: &mut SqliteConnection,
    run_id: &str,
    metrics: &[MetricPoint],
    params: &[KeyValue],
    tags: &[KeyValue],
) -> Result<()> {
    let mut chunks = metrics.chunks(ROWS_PER_INSERT);
    let mut query =
        QueryBuilder::<Sqlite>::new("SELECT lifecycle_stage FROM runs WHERE run_uuid = ");
    query.push_bind(run_id);
    if let Some(chunk) = chunks.next() {
        query.push("; ");
        push_metric_writes(&mut query, run_id, chunk);
    }
    match query
        .build_query_scalar::<String>()
        .fetch_all(&mut *tx)
        .await
    {
        Ok(stages) if stages.first().map(String::as_str) == Some(ACTIVE) => {}
        // A missing or deleted run: its state names the problem.
        Ok(_) => require_live(&info(&mut *tx, run_id).await?)?,
        // A refused write: a missing or deleted run is the error to report.
        Err(e) => {
            require_live(&info(&mut *tx, run_id).await?)?;
            return Err(e.into());
        }
    }
    for chunk in chunks {
        let mut query = QueryBuilder::<Sqlite>::new("");
        push_metric_writes(&mut query, run_id, chunk);
        query.build().execute(&mut *tx).await?;
    }
    for chunk in params.chunks(ROWS_PER_INSERT) {
        let mut insert =
            QueryBuilder::<Sqlite>::new("INSERT INTO run_params (run_uuid, key, value) ");
        insert.push_values(chunk, |mut row, (key, value)| {
            row.push_bind(run_id).push_bind(key).push_bind(value);
        });
        insert.push(" ON CONFLICT (run_uuid, key) DO NOTHING; ");
        insert
            .push("SELECT key, value FROM run_params WHERE run_uuid = ")
            .push_bind(run_id)
            .push(" AND key IN (");
        let mut keys = insert.separated(", ");
        for (key, _) in chunk {
            keys.push_bind(key);
        }
        insert.push(")");
        let rows: Vec<(String, String)> = insert.build_query_as().fetch_all(&mut *tx).await?;
        for (key, value) in chunk {
            let Some((_, existing)) = rows.iter().find(|(k, _)| k == key) else {
                continue;
            };
            if existing != value {
                return Err(Error::Invalid {
                    what: format!("param {key:?}"),
                    reason: format!(
                        "Changing param values is not allowed. Param with key='{key}' was \
                         already logged with value='{existing}' for run ID='{run_id}'. \
                         Attempted logging new value '{value}'."
                    ),
                });
            }
        }
    }
    for (key, value) in tags {
        upsert_tag(&mut *tx, run_id, key, value).await?;
        if key == "mlflow.runName" {
            sqlx::query("UPDATE runs SET name = ? WHERE run_uuid = ?")
                .bind(value)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// How a metric value is stored: NaN as 0 with `is_nan = 1` (SQL has no portable NaN).
fn stored(m: &MetricPoint) -> (f64, i64) {
    if m.value.is_nan() {
        (0.0, 1)
    } else {
        (m.value, 0)
    }
}

/// Appends `INSERT INTO <table> (<run_column>, key, step, timestamp, value, is_nan) SELECT ...`
/// of metric points of one run, each row keyed by that run's `<run_column>` (its id or its
/// series number). A missing run inserts no rows.
fn push_metric_rows<'q>(
    query: &mut QueryBuilder<'q, Sqlite>,
    table: &str,
    run_column: &str,
    run_id: &'q str,
    points: impl IntoIterator<Item = &'q MetricPoint>,
) {
    query.push(format!(
        "INSERT INTO {table} ({run_column}, key, step, timestamp, value, is_nan) \
         SELECT r.{run_column}, p.column1, p.column2, p.column3, p.column4, p.column5 FROM ("
    ));
    query.push_values(points, |mut row, m| {
        let (value, is_nan) = stored(m);
        row.push_bind(&m.key)
            .push_bind(m.step)
            .push_bind(m.timestamp)
            .push_bind(value)
            .push_bind(is_nan);
    });
    query
        .push(") AS p, runs r WHERE r.run_uuid = ")
        .push_bind(run_id);
}

/// Appends the two statements that log a chunk of metric points: the points themselves
/// (repeats of a stored point are ignored) and, for each key, the chunk's latest point as a
/// conditional upsert of the latest-metric table. Applying chunks one after another leaves
/// each key's overall latest point, as the upsert only ever moves forward.
fn push_metric_writes<'q>(
    query: &mut QueryBuilder<'q, Sqlite>,
    run_id: &'q str,
    chunk: &'q [MetricPoint],
) {
    push_metric_rows(query, "run_metrics", "metric_series", run_id, chunk);
    query.push(" ON CONFLICT DO NOTHING; ");
    let mut latest: Vec<&MetricPoint> = Vec::new();
    let mut slots: HashMap<&str, usize> = HashMap::with_capacity(chunk.len());
    for m in chunk {
        let newer = |old: &MetricPoint| {
            (m.step, m.timestamp) > (old.step, old.timestamp)
                || ((m.step, m.timestamp) == (old.step, old.timestamp)
                    && stored(m).0 > stored(old).0)
        };
        match slots.get(m.key.as_str()) {
            Some(&i) if newer(latest[i]) => latest[i] = m,
            Some(_) => {}
            None => {
                slots.insert(&m.key, latest.len());
                latest.push(m);
            }
        }
    }
    push_metric_rows(query, "run_latest_metrics", "run_uuid", run_id, latest);
    query.push(
        " ON CONFLICT (run_uuid, key) DO UPDATE SET \
         step = excluded.step, timestamp = excluded.timestamp, value = excluded.value, \
         is_nan = excluded.is_nan WHERE excluded.step > run_latest_metrics.step \
         OR (excluded.step = run_latest_metrics.step \
         AND (excluded.timestamp > run_latest_metrics.timestamp \
         OR (excluded.timestamp = run_latest_metrics.timestamp \
         AND excluded.value > run_latest_metrics.value)))",
    );
}

pub(crate) async fn delete_tag(pool: &SqlitePool, run_id: &str, key: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_live(&info(&mut tx, run_id).await?)?;
    let deleted = sqlx::query("DELETE FROM run_tags WHERE run_uuid = ? AND key = ?")
        .bind(run_id)
        .bind(key)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(Error::not_found("run tag", key));
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn metric_history(
    pool: &SqlitePool,
    run_id: &str,
    key: &str,
) -> Result<Vec<MetricPoint>> {
    let mut conn = pool.acquire().await?;
    info(&mut conn, run_id).await?;
    let rows = sqlx::query(
        "SELECT key, value, timestamp, step, is_nan FROM run_metrics \
         WHERE metric_series = (SELECT metric_series FROM runs WHERE run_uuid = ?) AND key = ? \
         ORDER BY step, timestamp, value",
    )
    .bind(run_id)
    .bind(key)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(metric_from_row).collect()
}

pub(crate) async fn log_inputs(
    pool: &SqlitePool,
    run_id: &str,
    inputs: &[DatasetInput],
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let run = info(&mut tx, run_id).await?;
    require_live(&run)?;
    for input in inputs {
        let d = &input.dataset;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT dataset_uuid FROM datasets_tracked WHERE experiment_id = ? AND name = ? AND digest = ?",
        )
        .bind(run.experiment_id)
        .bind(&d.name)
        .bind(&d.digest)
        .fetch_optional(&mut *tx)
        .await?;
        let dataset_uuid = match existing {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                sqlx::query(
                    "INSERT INTO datasets_tracked (dataset_uuid, experiment_id, name, digest, \
                     source_type, source, schema_json, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&id)
                .bind(run.experiment_id)
                .bind(&d.name)
                .bind(&d.digest)
                .bind(&d.source_type)
                .bind(&d.source)
                .bind(&d.schema)
                .bind(&d.profile)
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        let tags_json = serde_json::to_string(&input.tags).map_err(|e| Error::Invalid {
            what: "input tags".to_string(),
            reason: e.to_string(),
        })?;
        sqlx::query(
            "INSERT INTO run_inputs (run_uuid, dataset_uuid, tags_json) VALUES (?, ?, ?) \
             ON CONFLICT (run_uuid, dataset_uuid) DO UPDATE SET tags_json = excluded.tags_json",
        )
        .bind(run_id)
        .bind(&dataset_uuid)
        .bind(&tags_json)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
