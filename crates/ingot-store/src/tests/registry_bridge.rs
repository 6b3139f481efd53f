//! The bridge between the native and the MLflow-compatible registry: transactional mirrors,
//! one version number space, lineage tags, the startup back-fill and run outputs.

use ingot_core::search::{Clause, Entity, Op, OrderKey, Search, Value};

use super::{clause, memory_store, new_model, new_run};
use crate::tracking::{
    DatasetInput, MetricPoint, ModelOutput, NewRegistryVersion, RegistryVersion, SearchRequest,
    TrackedDataset, TrackingStore, ViewType, APPROVED,
};
use crate::{MetadataStore, SqliteStore};

fn tag<'a>(v: &'a RegistryVersion, key: &str) -> Option<&'a str> {
    v.tags
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value.as_str())
}

#[tokio::test]
async fn a_native_version_is_mirrored_in_the_same_write_with_its_lineage() {
    let store = memory_store().await;
    let mut new = new_model("churn");
    new.dataset = Some("customers".to_string());
    new.dataset_version = Some(3);
    let native = store.create_model_version(new).await.unwrap();
    assert_eq!(native.version, 1);
    let mirror = store.registry_version("churn", 1).await.unwrap();
    assert_eq!(tag(&mirror, "ingot.model_version"), Some("1"));
    assert_eq!(tag(&mirror, "ingot.dataset"), Some("customers:3"));
    assert_eq!(tag(&mirror, "ingot.metric.auc"), Some("0.9"));
    assert_eq!(
        tag(&mirror, "ingot.approval_status"),
        None,
        "pending until decided"
    );
    assert_eq!(mirror.source, "ingot:/models/churn/1");

    // Approval changes the column and its tag copy together.
    let approved = store
        .set_registry_version_approval("churn", 1, APPROVED, "reviewer")
        .await
        .unwrap();
    assert_eq!(tag(&approved, "ingot.approval_status"), Some("Approved"));
}

#[tokio::test]
async fn both_registries_share_one_number_space() {
    let store = memory_store().await;
    store.create_registered_model("m", "", &[]).await.unwrap();
    let mlflow = store
        .create_registry_version(NewRegistryVersion {
            name: "m".into(),
            source: "runs:/abc/model".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mlflow.version, 1);
    let native = store.create_model_version(new_model("m")).await.unwrap();
    assert_eq!(native.version, 2, "the MLflow version took 1");
    let mirror = store.registry_version("m", 2).await.unwrap();
    assert_eq!(tag(&mirror, "ingot.model_version"), Some("2"));
    let summary = store.list_models().await.unwrap();
    let m = summary.iter().find(|s| s.name == "m").unwrap();
    assert_eq!(
        (m.latest_version, m.version_count, m.native_version_count),
        (2, 2, 1)
    );
}

#[tokio::test]
async fn an_mlflow_version_adopts_a_native_version_under_its_own_number() {
    let store = memory_store().await;
    store.create_registered_model("m", "", &[]).await.unwrap();
    for _ in 0..2 {
        store
            .create_registry_version(NewRegistryVersion {
                name: "m".into(),
                source: "models:/m-abc".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    assert_eq!(store.newest_version_number("m").await.unwrap(), 2);
    let adopted = store
        .adopt_registry_version(new_model("m"), 1)
        .await
        .unwrap();
    assert_eq!(store.newest_version_number("m").await.unwrap(), 2);
    assert_eq!(adopted.version, 1);
    assert_eq!(store.model_version("m", Some(1)).await.unwrap(), adopted);
    let linked = store.registry_version("m", 1).await.unwrap();
    assert_eq!(tag(&linked, "ingot.model_version"), Some("1"));
    assert_eq!(
        tag(&linked, "ingot.artifact_sha256"),
        Some(adopted.artifact_hash.as_str())
    );
    assert_eq!(linked.source, "models:/m-abc", "MLflow's record stays");
    // Once, only for an existing registry version; new versions still number past both.
    assert!(matches!(
        store.adopt_registry_version(new_model("m"), 1).await,
        Err(crate::Error::AlreadyExists { .. })
    ));
    assert!(matches!(
        store.adopt_registry_version(new_model("m"), 7).await,
        Err(crate::Error::NotFound { .. })
    ));
    let next = store.create_model_version(new_model("m")).await.unwrap();
    assert_eq!(next.version, 3);
    assert_eq!(store.newest_version_number("m").await.unwrap(), 3);
    assert!(matches!(
        store.newest_version_number("absent").await,
        Err(crate::Error::NotFound { kind: "model", .. })
    ));
    let summary = store.list_models().await.unwrap();
    let m = summary.iter().find(|s| s.name == "m").unwrap();
    assert_eq!(
        (m.latest_version, m.version_count, m.native_version_count),
        (3, 3, 2)
    );
}

#[tokio::test]
async fn an_mlflow_version_captures_its_runs_metrics_and_inputs() {
    let store = memory_store().await;
    let run = store.create_run(new_run(0, "fit", 1)).await.unwrap();
    let run_id = run.info.run_id;
    let point = |value, step| MetricPoint {
        key: "rmse".into(),
        value,
        timestamp: 5,
        step,
    };
    store
        .log_batch(&run_id, &[point(2.0, 0), point(1.25, 1)], &[], &[])
        .await
        .unwrap();
    store
        .log_inputs(
            &run_id,
            &[DatasetInput {
                dataset: TrackedDataset {
                    name: "houses".into(),
                    digest: "d1g".into(),
                    source_type: "local".into(),
                    source: "/data/houses.csv".into(),
                    schema: None,
                    profile: None,
                },
                tags: vec![("mlflow.data.context".into(), "training".into())],
            }],
        )
        .await
        .unwrap();
    store
        .create_registered_model("houses", "", &[])
        .await
        .unwrap();
    let v = store
        .create_registry_version(NewRegistryVersion {
            name: "houses".into(),
            source: format!("runs:/{run_id}/model"),
            run_id: run_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(tag(&v, "ingot.metric.rmse"), Some("1.25"), "latest point");
    let inputs: serde_json::Value =
        serde_json::from_str(tag(&v, "ingot.input_datasets").unwrap()).unwrap();
    assert_eq!(
        inputs,
        serde_json::json!([{"name": "houses", "digest": "d1g", "source_type": "local",
                            "source": "/data/houses.csv", "context": "training"}])
    );
    assert_eq!(tag(&v, "ingot.model_version"), None);
}

#[tokio::test]
async fn native_versions_without_a_mirror_are_back_filled_once_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ingot.db");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.create_model_version(new_model("old")).await.unwrap();
        // A row written before mirroring existed: native only.
        sqlx::query(
            "INSERT INTO model_versions (model, version, artifact_hash, algorithm, task, \
             metrics_json, input_schema_json, job_id, dataset, dataset_version, created_at) \
             SELECT model, 2, artifact_hash, algorithm, task, '{\"auc\":0.75}', \
             input_schema_json, NULL, 'legacy', 7, 42 FROM model_versions WHERE model = 'old'",
        )
        .execute(store.pool())
        .await
        .unwrap();
        assert!(store.registry_version("old", 2).await.is_err());
        // A mirror written by the former best-effort mirroring: link and hash, no lineage.
        sqlx::query(
            "DELETE FROM model_version_tags WHERE name = 'old' AND version = 1 \
             AND key NOT IN ('ingot.model_version', 'ingot.artifact_sha256')",
        )
        .execute(store.pool())
        .await
        .unwrap();
        assert_eq!(
            tag(
                &store.registry_version("old", 1).await.unwrap(),
                "ingot.metric.auc"
            ),
            None
        );
        store.close().await;
    }
    for _ in 0..2 {
        let store = SqliteStore::open(&path).await.unwrap();
        let mirror = store.registry_version("old", 2).await.unwrap();
        assert_eq!(tag(&mirror, "ingot.model_version"), Some("2"));
        assert_eq!(tag(&mirror, "ingot.dataset"), Some("legacy:7"));
        assert_eq!(tag(&mirror, "ingot.metric.auc"), Some("0.75"));
        let older = store.registry_version("old", 1).await.unwrap();
        assert_eq!(
            tag(&older, "ingot.metric.auc"),
            Some("0.9"),
            "lineage completed"
        );
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM registered_model_versions WHERE name = 'old'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(
            count, 2,
            "one mirror per native version, however often it opens"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn run_outputs_are_stored_and_returned_with_the_run() {
    let store = memory_store().await;
    let run = store.create_run(new_run(0, "fit", 1)).await.unwrap();
    let id = run.info.run_id;
    let out = |model: &str, step| ModelOutput {
        model_id: model.into(),
        step,
    };
    store
        .log_outputs(&id, &[out("m-b", 2), out("m-a", 1)])
        .await
        .unwrap();
    store.log_outputs(&id, &[out("m-b", 0)]).await.unwrap();
    assert_eq!(
        store.run(&id).await.unwrap().outputs,
        vec![out("m-b", 0), out("m-a", 1)]
    );
    let searched = store
        .search_runs(
            &[0],
            &SearchRequest {
                max_results: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        searched.items[0].outputs,
        vec![out("m-b", 0), out("m-a", 1)]
    );
    assert!(store.log_outputs("nope", &[out("m-a", 1)]).await.is_err());
    assert!(store.log_outputs(&id, &[out("", 1)]).await.is_err());
}

fn logged_model(id: &str, lr: &str, team: &str) -> crate::tracking::LoggedModel {
    crate::tracking::LoggedModel {
        model_id: id.to_string(),
        experiment_id: 0,
        name: id.to_string(),
        artifact_location: format!("mlflow-artifacts:/0/models/{id}/artifacts"),
        creation_timestamp: 1,
        last_updated_timestamp: 1,
        status: "READY".to_string(),
        lifecycle_stage: "active".to_string(),
        model_type: None,
        source_run_id: None,
        params: vec![("lr".to_string(), lr.to_string())],
        tags: vec![("team".to_string(), team.to_string())],
    }
}

async fn logged_ids(
    store: &SqliteStore,
    clauses: Vec<Clause>,
    order: Vec<OrderKey>,
) -> Vec<String> {
    let request = SearchRequest {
        search: Search { clauses, order },
        view: ViewType::ActiveOnly,
        max_results: 100,
        page_token: None,
    };
    let page = store.search_logged_models(&[0], &request).await.unwrap();
    page.items.into_iter().map(|m| m.model_id).collect()
}

#[tokio::test]
async fn logged_models_are_searched_by_params_tags_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ingot.db");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let run = store.create_run(new_run(0, "fit", 1)).await.unwrap();
        for (id, lr, team) in [
            ("m-a", "0.1", "x"),
            ("m-b", "0.2", "y"),
            ("m-c", "0.1", "y"),
        ] {
            store
                .create_logged_model(&logged_model(id, lr, team))
                .await
                .unwrap();
        }
        let point = |value, timestamp, step| MetricPoint {
            key: "acc".into(),
            value,
            timestamp,
            step,
        };
        let run_id = run.info.run_id;
        store
            .log_logged_model_metrics("m-a", &run_id, &[point(0.5, 10, 0), point(0.95, 1, 9)])
            .await
            .unwrap();
        store
            .log_logged_model_metrics("m-b", &run_id, &[point(0.75, 10, 0)])
            .await
            .unwrap();
        assert!(store
            .log_logged_model_metrics("m-missing", &run_id, &[point(1.0, 1, 0)])
            .await
            .is_err());
        assert_eq!(store.logged_model_metrics("m-a").await.unwrap().len(), 2);
        // Changing tags rewrites the index with the JSON.
        store
            .update_logged_model("m-c", None, &[], &[("team".into(), "z".into())])
            .await
            .unwrap();
        // Lose the params/tags index of m-a, as a model written before the index existed.
        for table in ["logged_model_params", "logged_model_tags"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE model_id = 'm-a'"))
                .execute(store.pool())
                .await
                .unwrap();
        }
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let text = |s: &str| Value::Str(s.to_string());
    assert_eq!(
        logged_ids(
            &store,
            vec![clause(Entity::Param, "lr", Op::Eq, text("0.1"))],
            vec![]
        )
        .await,
        vec!["m-a", "m-c"],
        "equal creation times order by id; m-a was re-indexed at open"
    );
    assert_eq!(
        logged_ids(
            &store,
            vec![clause(Entity::Tag, "team", Op::Eq, text("y"))],
            vec![]
        )
        .await,
        vec!["m-b"]
    );
    assert_eq!(
        logged_ids(
            &store,
            vec![clause(Entity::Metric, "acc", Op::Gt, Value::Num(0.6))],
            vec![]
        )
        .await,
        vec!["m-b"],
        "m-a's latest point (by timestamp) is 0.5"
    );
    let by_acc = |ascending| {
        vec![OrderKey {
            entity: Entity::Metric,
            key: "acc".to_string(),
            ascending,
        }]
    };
    assert_eq!(
        logged_ids(&store, vec![], by_acc(false)).await,
        vec!["m-b", "m-a", "m-c"],
        "models without the metric last"
    );
    assert_eq!(
        logged_ids(&store, vec![], by_acc(true)).await,
        vec!["m-a", "m-b", "m-c"]
    );
}
