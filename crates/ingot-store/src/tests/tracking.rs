//! Tests of experiment tracking and the MLflow-compatible registry in the SQLite store.

use ingot_core::search::{Clause, Entity, Op, OrderKey, Search, Value};

use super::{memory_store, new_run};
use crate::tracking::{
    MetricPoint, NewRegistryVersion, RunUpdate, SearchRequest, TrackingStore, ViewType, APPROVED,
    DELETED, PENDING_APPROVAL,
};
use crate::Error;

fn point(key: &str, value: f64, timestamp: i64, step: i64) -> MetricPoint {
    MetricPoint {
        key: key.to_string(),
        value,
        timestamp,
        step,
    }
}

fn request(clauses: Vec<Clause>, order: Vec<OrderKey>, max_results: i64) -> SearchRequest {
    SearchRequest {
        search: Search { clauses, order },
        view: ViewType::ActiveOnly,
        max_results,
        page_token: None,
    }
}

#[tokio::test]
async fn default_experiment_exists_and_names_are_unique() {
    let store = memory_store().await;
    assert_eq!(store.experiment(0).await.unwrap().name, "Default");
    let e = store.create_experiment("a", "", &[]).await.unwrap();
    assert_eq!(
        e.artifact_location,
        format!("mlflow-artifacts:/{}", e.experiment_id)
    );
    assert!(matches!(
        store.create_experiment("a", "", &[]).await,
        Err(Error::AlreadyExists { .. })
    ));
    store
        .set_experiment_stage(e.experiment_id, DELETED)
        .await
        .unwrap();
    assert!(store
        .create_run(new_run(e.experiment_id, "r", 1))
        .await
        .is_err());
}

#[tokio::test]
async fn params_are_write_once_and_batches_are_atomic() {
    let store = memory_store().await;
    let run = store.create_run(new_run(0, "r", 1)).await.unwrap();
    let id = run.info.run_id.as_str();
    let p = |k: &str, v: &str| (k.to_string(), v.to_string());
    store
        .log_batch(id, &[], &[p("lr", "0.1")], &[])
        .await
        .unwrap();
    store
        .log_batch(id, &[], &[p("lr", "0.1")], &[])
        .await
        .unwrap();
    let changed = store
        .log_batch(id, &[point("m", 1.0, 1, 0)], &[p("lr", "0.2")], &[])
        .await;
    assert!(matches!(changed, Err(Error::Invalid { .. })));
    // The metric of the rejected batch was rolled back with it.
    assert!(store.metric_history(id, "m").await.unwrap().is_empty());
}

#[tokio::test]
async fn latest_metric_is_highest_step_then_timestamp() {
    let store = memory_store().await;
    let run = store.create_run(new_run(0, "r", 1)).await.unwrap();
    let id = run.info.run_id.as_str();
    let points = [
        point("loss", 0.9, 10, 0),
        point("loss", 0.5, 30, 2),
        point("loss", 0.7, 20, 1),
        point("loss", 0.5, 30, 2),
        point("nan", f64::NAN, 1, 0),
    ];
    store.log_batch(id, &points, &[], &[]).await.unwrap();
    let fetched = store.run(id).await.unwrap();
    let loss = fetched.metrics.iter().find(|m| m.key == "loss").unwrap();
    assert_eq!((loss.value, loss.step), (0.5, 2));
    assert!(fetched
        .metrics
        .iter()
        .find(|m| m.key == "nan")
        .unwrap()
        .value
        .is_nan());
    let history = store.metric_history(id, "loss").await.unwrap();
    assert_eq!(
        history.iter().map(|m| m.step).collect::<Vec<_>>(),
        vec![0, 1, 2],
        "identical points are stored once"
    );
}

#[tokio::test]
async fn search_filters_orders_and_pages_in_sql() {
    let store = memory_store().await;
    let mut ids = Vec::new();
    for i in 0..5_i64 {
        let run = store
            .create_run(new_run(0, &format!("r{i}"), 100 + i))
            .await
            .unwrap();
        let id = run.info.run_id.clone();
        let metrics = if i == 2 {
            Vec::new()
        } else {
            vec![point("acc", i as f64 / 10.0, 1, 0)]
        };
        store
            .log_batch(&id, &metrics, &[("i".to_string(), i.to_string())], &[])
            .await
            .unwrap();
        ids.push(id);
    }
    let acc_gt = Clause {
        entity: Entity::Metric,
        key: "acc".into(),
        op: Op::Gt,
        value: Value::Num(0.05),
    };
    let by_acc = OrderKey {
        entity: Entity::Metric,
        key: "acc".into(),
        ascending: true,
    };
    let page = store
        .search_runs(&[0], &request(vec![acc_gt], vec![by_acc.clone()], 10))
        .await
        .unwrap();
    let found: Vec<&str> = page.items.iter().map(|r| r.info.run_id.as_str()).collect();
    assert_eq!(found, vec![&ids[1], &ids[3], &ids[4]]);
    // Runs without the metric sort last.
    let all = store
        .search_runs(&[0], &request(Vec::new(), vec![by_acc], 10))
        .await
        .unwrap();
    assert_eq!(all.items.last().unwrap().info.run_id, ids[2]);
    // Default order: newest first, in pages of two.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let mut req = request(Vec::new(), Vec::new(), 2);
        req.page_token = token;
        let page = store.search_runs(&[0], &req).await.unwrap();
        seen.extend(page.items.into_iter().map(|r| r.info.run_id));
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    let mut bad = request(Vec::new(), Vec::new(), 2);
    bad.page_token = Some("garbage".into());
    assert!(matches!(
        store.search_runs(&[0], &bad).await,
        Err(Error::Invalid { .. })
    ));
}

#[tokio::test]
async fn deleted_runs_refuse_logging_and_leave_the_default_view() {
    let store = memory_store().await;
    let run = store.create_run(new_run(0, "r", 1)).await.unwrap();
    let id = run.info.run_id.as_str();
    store.set_run_stage(id, DELETED).await.unwrap();
    assert!(store
        .log_batch(id, &[point("m", 1.0, 1, 0)], &[], &[])
        .await
        .is_err());
    assert!(store.update_run(id, RunUpdate::default()).await.is_err());
    let page = store
        .search_runs(&[0], &request(Vec::new(), Vec::new(), 10))
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn registry_versions_aliases_rename_and_approval() {
    let store = memory_store().await;
    store.create_registered_model("m", "", &[]).await.unwrap();
    let new = |source: &str| NewRegistryVersion {
        name: "m".into(),
        source: source.into(),
        ..Default::default()
    };
    let v1 = store.create_registry_version(new("s1")).await.unwrap();
    let v2 = store.create_registry_version(new("s2")).await.unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(v1.approval_status, PENDING_APPROVAL);
    store.set_registry_alias("m", "champion", 1).await.unwrap();
    assert!(store.set_registry_alias("m", "x", 9).await.is_err());
    store
        .transition_registry_version("m", 1, "Production", false)
        .await
        .unwrap();
    store
        .transition_registry_version("m", 2, "Production", true)
        .await
        .unwrap();
    assert_eq!(
        store.registry_version("m", 1).await.unwrap().current_stage,
        "Archived"
    );
    store.rename_registered_model("m", "n").await.unwrap();
    let by_alias = store
        .registry_version_by_alias("n", "champion")
        .await
        .unwrap();
    assert_eq!((by_alias.name.as_str(), by_alias.version), ("n", 1));
    let approved = store
        .set_registry_version_approval("n", 2, APPROVED, "reviewer")
        .await
        .unwrap();
    assert_eq!(approved.approval_status, APPROVED);
    assert_eq!(approved.approved_by.as_deref(), Some("reviewer"));
    assert!(approved.approved_at.is_some());
    store.delete_registry_version("n", 1).await.unwrap();
    assert!(store
        .registry_version_by_alias("n", "champion")
        .await
        .is_err());
    store.delete_registered_model("n").await.unwrap();
    assert!(matches!(
        store.registry_version("n", 2).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_commit_together_and_fail_alone() {
    let store = memory_store().await;
    let run = store.create_run(new_run(0, "r", 1)).await.unwrap();
    let id = run.info.run_id.clone();
    store
        .log_batch(&id, &[], &[("p".to_string(), "1".to_string())], &[])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..50_i64 {
        let store = store.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            // Batch 7 changes the param and must fail alone, metric included.
            let value = if i == 7 { "2" } else { "1" };
            store
                .log_batch(
                    &id,
                    &[point("m", i as f64, i, i)],
                    &[("p".into(), value.into())],
                    &[],
                )
                .await
        }));
    }
    let mut failures = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        if task.await.unwrap().is_err() {
            failures.push(i);
        }
    }
    assert_eq!(failures, vec![7]);
    let steps: Vec<i64> = store
        .metric_history(&id, "m")
        .await
        .unwrap()
        .iter()
        .map(|m| m.step)
        .collect();
    assert_eq!(steps, (0..50).filter(|s| *s != 7).collect::<Vec<_>>());
}

#[tokio::test]
async fn searched_runs_carry_exact_values_and_any_text() {
    let store = memory_store().await;
    let e = store
        .create_experiment("exact", "", &[])
        .await
        .unwrap()
        .experiment_id;
    let id = store
        .create_run(new_run(e, "r", 1))
        .await
        .unwrap()
        .info
        .run_id;
    let values = [
        0.1 + 0.2,
        -1.0 / 3.0,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        1e22,
        -2.5e-300,
        123_456_789.123_456_79,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    let points: Vec<MetricPoint> = values
        .iter()
        .enumerate()
        .map(|(i, v)| point(&format!("m{i:02}"), *v, i as i64 - 5, -(i as i64)))
        .collect();
    let odd = ["", "12:ab", "é漢字🙂", "a'b\"c\\d", "line\nbreak:0:"];
    let params: Vec<(String, String)> = odd
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{v}{i}"), v.to_string()))
        .collect();
    store
        .log_batch(&id, &points, &params, &params)
        .await
        .unwrap();
    let page = store
        .search_runs(&[e], &request(Vec::new(), Vec::new(), 10))
        .await
        .unwrap();
    let run = &page.items[0];
    assert_eq!(run.metrics.len(), values.len());
    for (got, want) in run.metrics.iter().zip(&points) {
        assert_eq!(got.key, want.key);
        assert_eq!((got.timestamp, got.step), (want.timestamp, want.step));
        if want.value.is_nan() {
            assert!(got.value.is_nan());
        } else {
            assert_eq!(got.value.to_bits(), want.value.to_bits(), "{}", want.key);
        }
    }
    let mut sorted = params.clone();
    sorted.sort();
    assert_eq!(run.params, sorted);
    let tags: Vec<_> = run
        .tags
        .iter()
        .filter(|(k, _)| k != "mlflow.runName")
        .cloned()
        .collect();
    assert_eq!(tags, sorted);
}

/// The file store's group-commit writer skips SQLite's per-row foreign-key checks, so the
/// parent checks of its writes must hold on their own: nothing is logged against a missing or
/// deleted run or created in a deleted experiment, and the refusals name the problem, alone or
/// among concurrent writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_store_writes_check_their_parents() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::SqliteStore::open(&dir.path().join("ingot.db"))
        .await
        .unwrap();
    let gone = store
        .create_experiment("gone", "", &[])
        .await
        .unwrap()
        .experiment_id;
    let deleted_run = store.create_run(new_run(gone, "d", 1)).await.unwrap();
    let live_run = store.create_run(new_run(0, "l", 1)).await.unwrap();
    store
        .set_run_stage(&deleted_run.info.run_id, DELETED)
        .await
        .unwrap();
    store.set_experiment_stage(gone, DELETED).await.unwrap();
    let batch = |store: crate::SqliteStore, run: String, step: i64| async move {
        store
            .log_batch(
                &run,
                &[point("m", 1.0, 1, step)],
                &[("p".to_string(), "v".to_string())],
                &[("t".to_string(), "v".to_string())],
            )
            .await
    };
    let missing = batch(store.clone(), "no-such-run".to_string(), 0).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    let deleted = batch(store.clone(), deleted_run.info.run_id.clone(), 0).await;
    assert!(matches!(deleted, Err(Error::Invalid { .. })), "{deleted:?}");
    let in_gone = store.create_run(new_run(gone, "x", 2)).await;
    assert!(matches!(in_gone, Err(Error::Invalid { .. })), "{in_gone:?}");
    let nowhere = store.create_run(new_run(9999, "x", 2)).await;
    assert!(
        matches!(nowhere, Err(Error::NotFound { .. })),
        "{nowhere:?}"
    );
    // The same refusals inside groups of accepted writes.
    let mut tasks = Vec::new();
    for i in 0..40_i64 {
        let run = match i % 4 {
            0 => "no-such-run".to_string(),
            1 => deleted_run.info.run_id.clone(),
            _ => live_run.info.run_id.clone(),
        };
        tasks.push(tokio::spawn(batch(store.clone(), run, i)));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().is_ok(), i % 4 >= 2, "write {i}");
    }
    let steps: Vec<i64> = store
        .metric_history(&live_run.info.run_id, "m")
        .await
        .unwrap()
        .iter()
        .map(|m| m.step)
        .collect();
    assert_eq!(steps, (0..40).filter(|i| i % 4 >= 2).collect::<Vec<_>>());
    let orphans: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM run_metrics WHERE metric_series <> \
         (SELECT metric_series FROM runs WHERE run_uuid = ?1)) \
         + (SELECT count(*) FROM run_latest_metrics WHERE run_uuid <> ?1) \
         + (SELECT count(*) FROM run_params WHERE run_uuid <> ?1) \
         + (SELECT count(*) FROM run_tags WHERE run_uuid <> ?1 AND key <> 'mlflow.runName')",
    )
    .bind(&live_run.info.run_id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(orphans, 0);
    store.close().await;
}
