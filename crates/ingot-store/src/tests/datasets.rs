//! Dataset versions: numbering, lookups, dedupe by content hash and concurrent creation.

use std::sync::Arc;

use super::{memory_store, new_dataset, schema};
use crate::{Error, MetadataStore, SqliteStore};

#[tokio::test]
async fn creates_lists_and_gets_versions() {
    let store = memory_store().await;
    let (v1, created) = store
        .create_dataset_version(new_dataset("churn", "h1"))
        .await
        .unwrap();
    assert!(created);
    assert_eq!((v1.dataset.as_str(), v1.version), ("churn", 1));
    assert_eq!(v1.schema, schema());
    let (v2, _) = store
        .create_dataset_version(new_dataset("churn", "h2"))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    store
        .create_dataset_version(new_dataset("iris", "h1"))
        .await
        .unwrap();

    assert_eq!(store.dataset_version("churn", Some(1)).await.unwrap(), v1);
    assert_eq!(store.dataset_version("churn", None).await.unwrap(), v2);
    let versions = store.list_dataset_versions("churn").await.unwrap();
    assert_eq!(versions, vec![v1.clone(), v2.clone()]);

    let summaries = store.list_datasets().await.unwrap();
    let names: Vec<_> = summaries.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["churn", "iris"]);
    assert_eq!(
        (summaries[0].latest_version, summaries[0].version_count),
        (2, 2)
    );
    assert_eq!(
        (summaries[1].latest_version, summaries[1].version_count),
        (1, 1)
    );
}

#[tokio::test]
async fn missing_datasets_and_versions_are_not_found() {
    let store = memory_store().await;
    let err = store.dataset_version("nope", None).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { kind: "dataset", ref name } if name == "nope"));
    store
        .create_dataset_version(new_dataset("churn", "h1"))
        .await
        .unwrap();
    let err = store.dataset_version("churn", Some(3)).await.unwrap_err();
    assert!(
        matches!(err, Error::NotFound { kind: "dataset version", ref name } if name == "churn:3"),
        "{err}"
    );
    assert!(matches!(
        store.list_dataset_versions("nope").await,
        Err(Error::NotFound {
            kind: "dataset",
            ..
        })
    ));
    assert!(store.list_datasets().await.unwrap().len() == 1);
}

#[tokio::test]
async fn same_content_hash_returns_existing_version() {
    let store = memory_store().await;
    let (first, created) = store
        .create_dataset_version(new_dataset("churn", "h1"))
        .await
        .unwrap();
    assert!(created);
    let mut again = new_dataset("churn", "h1");
    again.source = "other.csv".to_string();
    let (second, created) = store.create_dataset_version(again).await.unwrap();
    assert!(!created);
    assert_eq!(second, first, "the existing version is returned unchanged");
    // The same bytes under another dataset name are a separate dataset.
    let (other, created) = store
        .create_dataset_version(new_dataset("other", "h1"))
        .await
        .unwrap();
    assert!(created && other.version == 1);
    let (third, _) = store
        .create_dataset_version(new_dataset("churn", "h3"))
        .await
        .unwrap();
    assert_eq!(third.version, 2);
}

#[tokio::test]
async fn non_finite_values_are_refused_not_stored() {
    let store = memory_store().await;
    let mut new = new_dataset("churn", "h1");
    new.profile = serde_json::json!({"mean": 1.0});
    store.create_dataset_version(new).await.unwrap();
    let mut model = super::new_model("m");
    model.metrics.insert("loss", f64::NAN);
    let err = store.create_model_version(model).await.unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert!(store.list_models().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_number_versions_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("ingot.db"))
            .await
            .unwrap(),
    );
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .create_dataset_version(new_dataset("churn", &format!("hash-{i}")))
                    .await
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        let (version, created) = task.await.unwrap().unwrap();
        assert!(created);
        versions.push(version.version);
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<i64>>());
    assert_eq!(store.list_dataset_versions("churn").await.unwrap().len(), 8);
    store.close().await;
}
