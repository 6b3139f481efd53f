//! Tests of the SQLite metadata store, shared fixtures first.

mod datasets;
mod durability;
mod endpoints_tokens;
mod jobs;
mod monitoring;
mod paging;
mod registry_bridge;
mod tracking;

use ingot_core::records::{NewDatasetVersion, NewModelVersion, TrainingSpec};
use ingot_core::search::{Clause, Entity, Op, Value};
use ingot_core::{ColumnType, Field, Hyperparameters, Metrics, Schema, Task};

use crate::tracking::NewRun;
use crate::SqliteStore;

pub(crate) async fn memory_store() -> SqliteStore {
    SqliteStore::open_in_memory()
        .await
        .expect("open in-memory store")
}

/// A fresh store with model `m:1` served by endpoint `ep`.
pub(crate) async fn store_with_endpoint() -> SqliteStore {
    use crate::MetadataStore;
    let store = memory_store().await;
    store.create_model_version(new_model("m")).await.unwrap();
    store
        .create_endpoint("ep", &ingot_core::EndpointConfig::single("m", 1))
        .await
        .unwrap();
    store
}

pub(crate) fn schema() -> Schema {
    Schema::new(vec![
        Field::new("age", ColumnType::Integer, false),
        Field::new("churned", ColumnType::Boolean, true),
    ])
}

pub(crate) fn new_dataset(name: &str, hash: &str) -> NewDatasetVersion {
    NewDatasetVersion {
        dataset: name.to_string(),
        content_hash: hash.to_string(),
        format: "csv".to_string(),
        size_bytes: 1234,
        row_count: 10,
        schema: schema(),
        profile: serde_json::json!({"columns": {"age": {"mean": 41.5}}}),
        source: "churn.csv".to_string(),
    }
}

pub(crate) fn spec(dataset: &str, version: i64) -> TrainingSpec {
    let mut hyperparameters = Hyperparameters::new();
    hyperparameters.set("max_depth", 4);
    TrainingSpec {
        dataset: dataset.to_string(),
        dataset_version: version,
        validation_dataset: None,
        validation_dataset_version: None,
        target: Some("churned".to_string()),
        algorithm: "gbdt".to_string(),
        hyperparameters,
        drop_columns: vec!["id".to_string()],
        validation_fraction: 0.2,
        seed: u64::MAX,
        model_name: "churn-model".to_string(),
    }
}

pub(crate) fn metrics(auc: f64) -> Metrics {
    let mut metrics = Metrics::default();
    metrics.insert("auc", auc);
    metrics
}

pub(crate) fn new_model(name: &str) -> NewModelVersion {
    NewModelVersion {
        model: name.to_string(),
        artifact_hash: "ab".repeat(32),
        algorithm: "gbdt".to_string(),
        task: Task::BinaryClassification,
        metrics: metrics(0.9),
        input_schema: schema(),
        job_id: None,
        dataset: None,
        dataset_version: None,
    }
}

/// A new run by `ada` named `name`.
pub(crate) fn new_run(experiment_id: i64, name: &str, start_time: i64) -> NewRun {
    NewRun {
        run_id: None,
        experiment_id,
        user_id: "ada".to_string(),
        run_name: Some(name.to_string()),
        start_time,
        tags: Vec::new(),
    }
}

/// A filter clause `entity.key op value`.
pub(crate) fn clause(entity: Entity, key: &str, op: Op, value: Value) -> Clause {
    Clause {
        entity,
        key: key.to_string(),
        op,
        value,
    }
}
