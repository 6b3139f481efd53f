//! Experiments and their tags.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::begin_write;
use super::keyset;
use super::search::{self, Kind, Target};
use crate::tracking::{Experiment, KeyValue, Page, SearchRequest, ViewType, ACTIVE};
use crate::{now_millis, Error, Result};

const COLUMNS: &str =
    "e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time";

pub(crate) const TARGET: Target = Target {
    id: "e.experiment_id",
    attributes: &[
        ("name", "e.name", Kind::Text),
        ("experiment_id", "e.experiment_id", Kind::Int),
        ("creation_time", "e.creation_time", Kind::Int),
        ("last_update_time", "e.last_update_time", Kind::Int),
    ],
    tags: Some(("experiment_tags", "c.experiment_id = e.experiment_id")),
    params: None,
    metrics: None,
    datasets: false,
    tag_ne_matches_missing: false,
};

pub(crate) fn stage_condition(column: &str, view: ViewType) -> String {
    match view {
        ViewType::ActiveOnly => format!(" AND {column} = 'active'"),
        ViewType::DeletedOnly => format!(" AND {column} = 'deleted'"),
        ViewType::All => String::new(),
    }
}

fn decode(row: &SqliteRow) -> Result<Experiment> {
    Ok(Experiment {
        experiment_id: row.try_get("experiment_id")?,
        name: row.try_get("name")?,
        artifact_location: row.try_get("artifact_location")?,
        lifecycle_stage: row.try_get("lifecycle_stage")?,
        creation_time: row.try_get("creation_time")?,
        last_update_time: row.try_get("last_update_time")?,
        tags: Vec::new(),
    })
}

async fn with_tags(pool: &SqlitePool, mut experiment: Experiment) -> Result<Experiment> {
    experiment.tags = sqlx::query_as(
        "SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key",
    )
    .bind(experiment.experiment_id)
    .fetch_all(pool)
    .await?;
    Ok(experiment)
}

pub(crate) async fn create(
    pool: &SqlitePool,
    name: &str,
    artifact_location: &str,
    tags: &[KeyValue],
) -> Result<Experiment> {
    let mut tx = begin_write(pool).await?;
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
    if taken.is_some() {
        return Err(Error::AlreadyExists {
            kind: "experiment",
            name: name.to_string(),
        });
    }
    let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(experiment_id), 0) + 1 FROM experiments")
        .fetch_one(&mut *tx)
        .await?;
    let location = if artifact_location.is_empty() {
        format!("mlflow-artifacts:/{id}")
    } else {
        artifact_location.to_string()
    };
    let now = now_millis();
    sqlx::query(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, \
         creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(name)
    .bind(&location)
    .bind(ACTIVE)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for (key, value) in tags {
        upsert_tag(&mut tx, id, key, value).await?;
    }
    tx.commit().await?;
    get(pool, id).await
}

async fn upsert_tag(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
    key: &str,
    value: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(id)
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn get(pool: &SqlitePool, id: i64) -> Result<Experiment> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM experiments e WHERE e.experiment_id = ?"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("experiment", id.to_string()))?;
    with_tags(pool, decode(&row)?).await
}

pub(crate) async fn by_name(pool: &SqlitePool, name: &str) -> Result<Experiment> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM experiments e WHERE e.name = ?"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("experiment", name))?;
    with_tags(pool, decode(&row)?).await
}

pub(crate) async fn search(pool: &SqlitePool, request: &SearchRequest) -> Result<Page<Experiment>> {
    let filter = search::compile_where(&TARGET, &request.search)?;
    let order = if request.search.order.is_empty() {
        search::compile_order(
            &TARGET,
            &[],
            &[("e.creation_time", false), ("e.experiment_id", true)],
        )?
    } else {
        search::compile_order(
            &TARGET,
            &request.search.order,
            &[("e.experiment_id", false)],
        )?
    };
    let (rows, next_page_token) = keyset::PageQuery {
        columns: COLUMNS,
        from: "experiments e",
        condition: format!(
            "1 = 1{}",
            stage_condition("e.lifecycle_stage", request.view)
        ),
        ids: &[],
        filter: &filter,
        order: &order,
        fingerprint: keyset::fingerprint(&("experiments", request.view, &request.search)),
        page_token: request.page_token.as_deref(),
        max_results: request.max_results,
    }
    .fetch(pool)
    .await?;
    let mut items = Vec::new();
    for row in &rows {
        items.push(with_tags(pool, decode(row)?).await?);
    }
    Ok(Page {
        items,
        next_page_token,
    })
}

pub(crate) async fn rename(pool: &SqlitePool, id: i64, name: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let experiment: Option<String> =
        sqlx::query_scalar("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    match experiment.as_deref() {
        None => return Err(Error::not_found("experiment", id.to_string())),
        Some(ACTIVE) => {}
        Some(_) => {
            return Err(Error::Invalid {
                what: "experiment_id".to_string(),
                reason: format!("experiment {id} is deleted; restore it before renaming"),
            })
        }
    }
    let taken: Option<i64> = sqlx::query_scalar(
        "SELECT experiment_id FROM experiments WHERE name = ? AND experiment_id <> ?",
    )
    .bind(name)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if taken.is_some() {
        return Err(Error::AlreadyExists {
            kind: "experiment",
            name: name.to_string(),
        });
    }
    sqlx::query("UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?")
        .bind(name)
        .bind(now_millis())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_stage(pool: &SqlitePool, id: i64, stage: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let now = now_millis();
    let changed = sqlx::query(
        "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
    )
    .bind(stage)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::not_found("experiment", id.to_string()));
    }
    let deleted_time = (stage != ACTIVE).then_some(now);
    sqlx::query("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?")
        .bind(stage)
        .bind(deleted_time)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_tag(pool: &SqlitePool, id: i64, key: &str, value: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_active(&mut tx, id).await?;
    upsert_tag(&mut tx, id, key, value).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn delete_tag(pool: &SqlitePool, id: i64, key: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_active(&mut tx, id).await?;
    let deleted = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?")
        .bind(id)
        .bind(key)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(Error::not_found("experiment tag", key));
    }
    tx.commit().await?;
    Ok(())
}

/// Fails unless the experiment exists and is active.
pub(crate) async fn require_active(conn: &mut sqlx::SqliteConnection, id: i64) -> Result<()> {
    let stage: Option<String> =
        sqlx::query_scalar("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    match stage {
        None => Err(Error::not_found("experiment", id.to_string())),
        Some(stage) => require_active_stage(id, &stage),
    }
}

/// Fails unless an experiment's lifecycle stage is active.
pub(crate) fn require_active_stage(id: i64, stage: &str) -> Result<()> {
    if stage == ACTIVE {
        Ok(())
    } else {
        Err(Error::Invalid {
            what: "experiment_id".to_string(),
            reason: format!("experiment {id} is deleted (lifecycle_stage must be active)"),
        })
    }
}
