//! On-disk stores: data survives reopening and migrations apply exactly once.

use ingot_core::JobStatus;

use super::{new_dataset, new_model, spec};
use crate::migrate::MIGRATIONS;
use crate::{MetadataStore, SqliteStore};

async fn applied_migrations(store: &SqliteStore) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn reopening_keeps_everything_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/ingot.db");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .create_dataset_version(new_dataset("churn", "h1"))
            .await
            .unwrap();
        store.create_job("j1", &spec("churn", 1)).await.unwrap();
        store
            .transition_job("j1", &[JobStatus::Pending], JobStatus::Running, None)
            .await
            .unwrap();
        store.append_job_log("j1", "hello").await.unwrap();
        store
            .complete_job("j1", &super::metrics(0.7), new_model("m"))
            .await
            .unwrap();
        store
            .create_endpoint("ep", &ingot_core::EndpointConfig::single("m", 1))
            .await
            .unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let expected: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
    assert_eq!(applied_migrations(&store).await, expected);
    assert_eq!(
        crate::migrate::run_sqlite(store.pool()).await.unwrap(),
        0,
        "nothing left to apply"
    );
    assert_eq!(applied_migrations(&store).await, expected);

    assert_eq!(
        store.dataset_version("churn", None).await.unwrap().version,
        1
    );
    let job = store.job("j1").await.unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(store.job_logs("j1", 0).await.unwrap()[0].message, "hello");
    assert_eq!(
        store
            .model_version("m", Some(1))
            .await
            .unwrap()
            .job_id
            .as_deref(),
        Some("j1")
    );
    assert_eq!(store.endpoint("ep").await.unwrap().model_version, 1);

    let pragmas: (String, i64, i64) = (
        sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap(),
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(store.pool())
            .await
            .unwrap(),
        sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(store.pool())
            .await
            .unwrap(),
    );
    assert_eq!(
        pragmas,
        ("wal".to_string(), 2, 1),
        "WAL, synchronous=FULL, foreign keys on"
    );
    store.close().await;
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ingot.db");
    let store = SqliteStore::open(&path).await.unwrap();
    sqlx::query(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(err, crate::Error::Migration { version: 9999, .. }),
        "{err}"
    );
}
