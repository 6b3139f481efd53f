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

/// A store written before migration 6 (metric points keyed by run id) keeps every point, NaN
/// included, once the points are re-keyed by series number; runs created afterwards get their
/// own series.
#[tokio::test]
async fn metric_series_migration_keeps_logged_points() {
    use crate::tracking::{MetricPoint, TrackingStore};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ingot.db");
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::query(
        "CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, \
         name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    for &(version, name, sql) in MIGRATIONS.iter().take_while(|m| m.0 < 6) {
        let mut tx = pool.begin().await.unwrap();
        for statement in crate::migrate::split_statements(sql) {
            sqlx::query(&statement).execute(&mut *tx).await.unwrap();
        }
        sqlx::query("INSERT INTO schema_migrations VALUES (?, ?, 0)")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    // Two runs as the version-5 schema stored them; `b` started first, so it is numbered 1.
    for (run, start) in [("a", 20), ("b", 10)] {
        sqlx::query(
            "INSERT INTO runs VALUES (?, 0, ?, 'ada', 'RUNNING', ?, NULL, 'active', 'x', NULL)",
        )
        .bind(run)
        .bind(run)
        .bind(start)
        .execute(&pool)
        .await
        .unwrap();
    }
    let old_points = [
        ("a", "loss", 0, 0.5, 0),
        ("a", "loss", 1, 0.0, 1),
        ("a", "acc", 0, 0.9, 0),
        ("b", "loss", 0, 0.7, 0),
    ];
    for (run, key, step, value, is_nan) in old_points {
        sqlx::query("INSERT INTO run_metrics VALUES (?, ?, ?, 100, ?, ?)")
            .bind(run)
            .bind(key)
            .bind(step)
            .bind(value)
            .bind(is_nan)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    let store = SqliteStore::open(&path).await.unwrap();
    let history = |run: &'static str, key: &'static str| {
        let store = store.clone();
        async move {
            let points = store.metric_history(run, key).await.unwrap();
            points.iter().map(|p| (p.step, p.value)).collect::<Vec<_>>()
        }
    };
    let a_loss = history("a", "loss").await;
    assert_eq!(a_loss.len(), 2);
    assert_eq!(a_loss[0], (0, 0.5));
    assert!(a_loss[1].0 == 1 && a_loss[1].1.is_nan(), "{a_loss:?}");
    assert_eq!(history("a", "acc").await, vec![(0, 0.9)]);
    assert_eq!(history("b", "loss").await, vec![(0, 0.7)]);
    let numbers: Vec<(String, i64)> =
        sqlx::query_as("SELECT run_uuid, metric_series FROM runs ORDER BY run_uuid")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(numbers, vec![("a".to_string(), 2), ("b".to_string(), 1)]);

    let new = store.create_run(super::new_run(0, "c", 5)).await.unwrap();
    let point = MetricPoint {
        key: "loss".to_string(),
        value: 0.1,
        timestamp: 200,
        step: 0,
    };
    store
        .log_batch(&new.info.run_id, std::slice::from_ref(&point), &[], &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .metric_history(&new.info.run_id, "loss")
            .await
            .unwrap(),
        vec![point]
    );
    assert_eq!(
        history("b", "loss").await,
        vec![(0, 0.7)],
        "runs keep apart"
    );
    store.close().await;
}
