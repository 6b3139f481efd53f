//! The MLflow-compatible registry: registered models, numbered versions with stages and
//! approval, tags and aliases. Renames and deletes cascade through foreign keys.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::begin_write;
use super::keyset;
use super::registry_mirror;
use super::search::{self, Bind, Kind, Target};
use crate::tracking::{
    KeyValue, NewRegistryVersion, Page, RegisteredModel, RegistryVersion, SearchRequest,
    APPROVAL_TAG, PENDING_APPROVAL,
};
use crate::{now_millis, Error, Result};

const MODEL_COLUMNS: &str =
    "m.name, m.description, m.creation_timestamp, m.last_updated_timestamp, m.require_approval";
const VERSION_COLUMNS: &str = "v.name, v.version, v.creation_timestamp, \
     v.last_updated_timestamp, v.description, v.user_id, v.current_stage, v.source, v.run_id, \
     v.run_link, v.model_id, v.status, v.approval_status, v.approved_by, v.approved_at";

pub(crate) const MODEL_TARGET: Target = Target {
    id: "m.name",
    attributes: &[
        ("name", "m.name", Kind::Text),
        ("creation_timestamp", "m.creation_timestamp", Kind::Int),
        (
            "last_updated_timestamp",
            "m.last_updated_timestamp",
            Kind::Int,
        ),
    ],
    tags: Some(("registered_model_tags", "c.name = m.name")),
    params: None,
    metrics: None,
    datasets: false,
    tag_ne_matches_missing: true,
};

pub(crate) const VERSION_TARGET: Target = Target {
    id: "v.name",
    attributes: &[
        ("name", "v.name", Kind::Text),
        ("version_number", "v.version", Kind::Int),
        ("run_id", "v.run_id", Kind::Text),
        ("source_path", "v.source", Kind::Text),
        ("current_stage", "v.current_stage", Kind::Text),
        ("approval_status", "v.approval_status", Kind::Text),
        ("creation_timestamp", "v.creation_timestamp", Kind::Int),
        (
            "last_updated_timestamp",
            "v.last_updated_timestamp",
            Kind::Int,
        ),
    ],
    tags: Some((
        "model_version_tags",
        "c.name = v.name AND c.version = v.version",
    )),
    params: None,
    metrics: None,
    datasets: false,
    tag_ne_matches_missing: true,
};

fn model_not_found(name: &str) -> Error {
    Error::not_found("registered model", name)
}

fn version_not_found(name: &str, version: i64) -> Error {
    Error::version_not_found("model version", name, version)
}

async fn require_model(conn: &mut SqliteConnection, name: &str) -> Result<()> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT name FROM registered_models WHERE name = ?")
            .bind(name)
            .fetch_optional(conn)
            .await?;
    found.map(|_| ()).ok_or_else(|| model_not_found(name))
}

async fn touch_model(conn: &mut SqliteConnection, name: &str) -> Result<()> {
    sqlx::query("UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?")
        .bind(now_millis())
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn create_model(
    pool: &SqlitePool,
    name: &str,
    description: &str,
    tags: &[KeyValue],
) -> Result<RegisteredModel> {
    let mut tx = begin_write(pool).await?;
    let now = now_millis();
    let inserted = sqlx::query(
        "INSERT INTO registered_models (name, description, creation_timestamp, \
         last_updated_timestamp, require_approval) VALUES (?, ?, ?, ?, 0) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(description)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(Error::AlreadyExists {
            kind: "registered model",
            name: name.to_string(),
        });
    }
    for (key, value) in tags {
        upsert_model_tag(&mut tx, name, key, value).await?;
    }
    tx.commit().await?;
    get_model(pool, name).await
}

async fn upsert_model_tag(
    conn: &mut SqliteConnection,
    name: &str,
    key: &str,
    value: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

fn decode_model(row: &SqliteRow) -> Result<RegisteredModel> {
    Ok(RegisteredModel {
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        creation_timestamp: row.try_get("creation_timestamp")?,
        last_updated_timestamp: row.try_get("last_updated_timestamp")?,
        require_approval: row.try_get::<i64, _>("require_approval")? != 0,
        tags: Vec::new(),
        aliases: Vec::new(),
        latest_versions: Vec::new(),
    })
}

async fn hydrate_model(pool: &SqlitePool, mut model: RegisteredModel) -> Result<RegisteredModel> {
    model.tags =
        sqlx::query_as("SELECT key, value FROM registered_model_tags WHERE name = ? ORDER BY key")
            .bind(&model.name)
            .fetch_all(pool)
            .await?;
    model.aliases = sqlx::query_as(
        "SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias",
    )
    .bind(&model.name)
    .fetch_all(pool)
    .await?;
    let rows = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM registered_model_versions v WHERE v.name = ? \
         AND v.version = (SELECT MAX(w.version) FROM registered_model_versions w \
         WHERE w.name = v.name AND w.current_stage = v.current_stage) ORDER BY v.version"
    ))
    .bind(&model.name)
    .fetch_all(pool)
    .await?;
    for row in &rows {
        model.latest_versions.push(decode_version(row)?);
    }
    Ok(model)
}

pub(crate) async fn get_model(pool: &SqlitePool, name: &str) -> Result<RegisteredModel> {
    let row = sqlx::query(&format!(
        "SELECT {MODEL_COLUMNS} FROM registered_models m WHERE m.name = ?"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| model_not_found(name))?;
    hydrate_model(pool, decode_model(&row)?).await
}

pub(crate) async fn search_models(
    pool: &SqlitePool,
    request: &SearchRequest,
) -> Result<Page<RegisteredModel>> {
    let filter = search::compile_where(&MODEL_TARGET, &request.search)?;
    let order = search::compile_order(&MODEL_TARGET, &request.search.order, &[("m.name", true)])?;
    let (rows, next_page_token) = keyset::PageQuery {
        columns: MODEL_COLUMNS,
        from: "registered_models m",
        condition: "1 = 1".into(),
        ids: &[],
        filter: &filter,
        order: &order,
        fingerprint: keyset::fingerprint(&("registered_models", &request.search)),
        page_token: request.page_token.as_deref(),
        max_results: request.max_results,
    }
    .fetch(pool)
    .await?;
    let mut items = Vec::new();
    for row in &rows {
        items.push(hydrate_model(pool, decode_model(row)?).await?);
    }
    Ok(Page {
        items,
        next_page_token,
    })
}

pub(crate) async fn rename_model(pool: &SqlitePool, name: &str, new_name: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_model(&mut tx, name).await?;
    let taken: Option<String> =
        sqlx::query_scalar("SELECT name FROM registered_models WHERE name = ?")
            .bind(new_name)
            .fetch_optional(&mut *tx)
            .await?;
    if taken.is_some() {
        return Err(Error::AlreadyExists {
            kind: "registered model",
            name: new_name.to_string(),
        });
    }
    sqlx::query("UPDATE registered_models SET name = ?, last_updated_timestamp = ? WHERE name = ?")
        .bind(new_name)
        .bind(now_millis())
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn update_model(
    pool: &SqlitePool,
    name: &str,
    description: Option<&str>,
    require_approval: Option<bool>,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_model(&mut tx, name).await?;
    if let Some(description) = description {
        sqlx::query("UPDATE registered_models SET description = ? WHERE name = ?")
            .bind(description)
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(required) = require_approval {
        sqlx::query("UPDATE registered_models SET require_approval = ? WHERE name = ?")
            .bind(i64::from(required))
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    touch_model(&mut tx, name).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn delete_model(pool: &SqlitePool, name: &str) -> Result<()> {
    let deleted = sqlx::query("DELETE FROM registered_models WHERE name = ?")
        .bind(name)
        .execute(pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(model_not_found(name));
    }
    Ok(())
}

pub(crate) async fn set_model_tag(
    pool: &SqlitePool,
    name: &str,
    key: &str,
    value: &str,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_model(&mut tx, name).await?;
    upsert_model_tag(&mut tx, name, key, value).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn delete_model_tag(pool: &SqlitePool, name: &str, key: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_model(&mut tx, name).await?;
    sqlx::query("DELETE FROM registered_model_tags WHERE name = ? AND key = ?")
        .bind(name)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn decode_version(row: &SqliteRow) -> Result<RegistryVersion> {
    Ok(RegistryVersion {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        creation_timestamp: row.try_get("creation_timestamp")?,
        last_updated_timestamp: row.try_get("last_updated_timestamp")?,
        description: row.try_get("description")?,
        user_id: row.try_get("user_id")?,
        current_stage: row.try_get("current_stage")?,
        source: row.try_get("source")?,
        run_id: row.try_get("run_id")?,
        run_link: row.try_get("run_link")?,
        model_id: row.try_get("model_id")?,
        status: row.try_get("status")?,
        tags: Vec::new(),
        aliases: Vec::new(),
        approval_status: row.try_get("approval_status")?,
        approved_by: row.try_get("approved_by")?,
        approved_at: row.try_get("approved_at")?,
    })
}

async fn hydrate_version(pool: &SqlitePool, mut v: RegistryVersion) -> Result<RegistryVersion> {
    v.tags = sqlx::query_as(
        "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ? ORDER BY key",
    )
    .bind(&v.name)
    .bind(v.version)
    .fetch_all(pool)
    .await?;
    v.aliases = sqlx::query_scalar(
        "SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? ORDER BY alias",
    )
    .bind(&v.name)
    .bind(v.version)
    .fetch_all(pool)
    .await?;
    Ok(v)
}

pub(crate) async fn create_version(
    pool: &SqlitePool,
    new: NewRegistryVersion,
) -> Result<RegistryVersion> {
    let mut tx = begin_write(pool).await?;
    require_model(&mut tx, &new.name).await?;
    // One number space with the native registry (see `registry_mirror`).
    let version = registry_mirror::next_version(&mut tx, &new.name).await?;
    let now = now_millis();
    sqlx::query(
        "INSERT INTO registered_model_versions (name, version, creation_timestamp, \
         last_updated_timestamp, description, user_id, current_stage, source, run_id, run_link, \
         model_id, status, approval_status, approved_by, approved_at) \
         VALUES (?, ?, ?, ?, ?, ?, 'None', ?, ?, ?, ?, 'READY', ?, NULL, NULL)",
    )
    .bind(&new.name)
    .bind(version)
    .bind(now)
    .bind(now)
    .bind(&new.description)
    .bind(&new.user_id)
    .bind(&new.source)
    .bind(&new.run_id)
    .bind(&new.run_link)
    .bind(&new.model_id)
    .bind(PENDING_APPROVAL)
    .execute(&mut *tx)
    .await?;
    let lineage = registry_mirror::run_lineage(&mut tx, &new.run_id).await?;
    for (key, value) in new.tags.iter().chain(&lineage) {
        upsert_version_tag(&mut tx, &new.name, version, key, value).await?;
    }
    touch_model(&mut tx, &new.name).await?;
    tx.commit().await?;
    get_version(pool, &new.name, version).await
}

pub(super) async fn upsert_version_tag(
    conn: &mut SqliteConnection,
    name: &str,
    version: i64,
    key: &str,
    value: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?) \
         ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(version)
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

async fn require_version(conn: &mut SqliteConnection, name: &str, version: i64) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM registered_model_versions WHERE name = ? AND version = ?",
    )
    .bind(name)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    found
        .map(|_| ())
        .ok_or_else(|| version_not_found(name, version))
}

pub(crate) async fn get_version(
    pool: &SqlitePool,
    name: &str,
    version: i64,
) -> Result<RegistryVersion> {
    let row = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM registered_model_versions v WHERE v.name = ? AND v.version = ?"
    ))
    .bind(name)
    .bind(version)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| version_not_found(name, version))?;
    hydrate_version(pool, decode_version(&row)?).await
}

pub(crate) async fn search_versions(
    pool: &SqlitePool,
    request: &SearchRequest,
) -> Result<Page<RegistryVersion>> {
    let filter = search::compile_where(&VERSION_TARGET, &request.search)?;
    let order = search::compile_order(
        &VERSION_TARGET,
        &request.search.order,
        &[("v.name", true), ("v.version", false)],
    )?;
    let (rows, next_page_token) = keyset::PageQuery {
        columns: VERSION_COLUMNS,
        from: "registered_model_versions v",
        condition: "1 = 1".into(),
        ids: &[],
        filter: &filter,
        order: &order,
        fingerprint: keyset::fingerprint(&("model_versions", &request.search)),
        page_token: request.page_token.as_deref(),
        max_results: request.max_results,
    }
    .fetch(pool)
    .await?;
    let mut items = Vec::new();
    for row in &rows {
        items.push(hydrate_version(pool, decode_version(row)?).await?);
    }
    Ok(Page {
        items,
        next_page_token,
    })
}

/// Applies one column change to an existing version and returns the result.
async fn change_version(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    sql: &str,
    binds: Vec<Bind>,
    archive_stage: Option<&str>,
) -> Result<RegistryVersion> {
    let mut tx = begin_write(pool).await?;
    require_version(&mut tx, name, version).await?;
    if let Some(stage) = archive_stage {
        sqlx::query(
            "UPDATE registered_model_versions SET current_stage = 'Archived', \
             last_updated_timestamp = ? WHERE name = ? AND current_stage = ? AND version <> ?",
        )
        .bind(now_millis())
        .bind(name)
        .bind(stage)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    }
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
            Bind::Real(real) => query.bind(real),
        };
    }
    query
        .bind(now_millis())
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    touch_model(&mut tx, name).await?;
    tx.commit().await?;
    get_version(pool, name, version).await
}

pub(crate) async fn update_version(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    description: Option<&str>,
) -> Result<RegistryVersion> {
    let Some(description) = description else {
        return get_version(pool, name, version).await;
    };
    change_version(
        pool,
        name,
        version,
        "UPDATE registered_model_versions SET description = ?, last_updated_timestamp = ? \
         WHERE name = ? AND version = ?",
        vec![Bind::Text(description.to_string())],
        None,
    )
    .await
}

pub(crate) async fn transition_version(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    stage: &str,
    archive_existing: bool,
) -> Result<RegistryVersion> {
    let archive = (archive_existing && matches!(stage, "Staging" | "Production")).then_some(stage);
    change_version(
        pool,
        name,
        version,
        "UPDATE registered_model_versions SET current_stage = ?, last_updated_timestamp = ? \
         WHERE name = ? AND version = ?",
        vec![Bind::Text(stage.to_string())],
        archive,
    )
    .await
}

pub(crate) async fn set_approval(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    status: &str,
    by: &str,
) -> Result<RegistryVersion> {
    let mut tx = begin_write(pool).await?;
    require_version(&mut tx, name, version).await?;
    let now = now_millis();
    sqlx::query(
        "UPDATE registered_model_versions SET approval_status = ?, approved_by = ?, \
         approved_at = ?, last_updated_timestamp = ? WHERE name = ? AND version = ?",
    )
    .bind(status)
    .bind(by)
    .bind(now)
    .bind(now)
    .bind(name)
    .bind(version)
    .execute(&mut *tx)
    .await?;
    // The tag is a copy of the column for MLflow clients, written in the same transaction.
    upsert_version_tag(&mut tx, name, version, APPROVAL_TAG, status).await?;
    touch_model(&mut tx, name).await?;
    tx.commit().await?;
    get_version(pool, name, version).await
}

pub(crate) async fn delete_version(pool: &SqlitePool, name: &str, version: i64) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_version(&mut tx, name, version).await?;
    sqlx::query("DELETE FROM registered_model_aliases WHERE name = ? AND version = ?")
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM registered_model_versions WHERE name = ? AND version = ?")
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_version_tag(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    key: &str,
    value: &str,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_version(&mut tx, name, version).await?;
    upsert_version_tag(&mut tx, name, version, key, value).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn delete_version_tag(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    key: &str,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_version(&mut tx, name, version).await?;
    sqlx::query("DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?")
        .bind(name)
        .bind(version)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_alias(
    pool: &SqlitePool,
    name: &str,
    alias: &str,
    version: i64,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_version(&mut tx, name, version).await?;
    sqlx::query(
        "INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?) \
         ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
    )
    .bind(name)
    .bind(alias)
    .bind(version)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn delete_alias(pool: &SqlitePool, name: &str, alias: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    require_model(&mut tx, name).await?;
    sqlx::query("DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?")
        .bind(name)
        .bind(alias)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn version_by_alias(
    pool: &SqlitePool,
    name: &str,
    alias: &str,
) -> Result<RegistryVersion> {
    let version: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
    )
    .bind(name)
    .bind(alias)
    .fetch_optional(pool)
    .await?;
    let version = version.ok_or_else(|| Error::not_found("alias", format!("{name}@{alias}")))?;
    get_version(pool, name, version).await
}
