//! Jobs: creation, compare-and-set transitions, completion with lineage, logs, metrics and
//! startup recovery.

use ingot_core::records::MetricPoint;
use ingot_core::JobStatus;

use super::{memory_store, metrics, new_dataset, new_model, spec};
use crate::{Error, MetadataStore};

#[tokio::test]
async fn creates_gets_and_lists_newest_first() {
    let store = memory_store().await;
    let job = store.create_job("j1", &spec("churn", 1)).await.unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(
        job.spec,
        spec("churn", 1),
        "u64 seeds survive the JSON column"
    );
    assert_eq!(store.job("j1").await.unwrap(), job);
    // Unsupervised jobs have no target; the JSON column keeps that too.
    let mut unsupervised = spec("churn", 1);
    unsupervised.target = None;
    let u = store.create_job("u1", &unsupervised).await.unwrap();
    assert_eq!(store.job("u1").await.unwrap().spec, unsupervised);
    assert_eq!(u.spec.target, None);
    for id in ["j2", "j3"] {
        store.create_job(id, &spec("churn", 1)).await.unwrap();
    }
    let ids: Vec<_> = store
        .list_jobs(10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, ["j3", "j2", "u1", "j1"]);
    assert_eq!(store.list_jobs(2).await.unwrap().len(), 2);
    assert!(store.list_jobs(-1).await.unwrap().is_empty());
    assert!(matches!(
        store.create_job("j1", &spec("churn", 1)).await,
        Err(Error::AlreadyExists { kind: "job", .. })
    ));
    assert!(matches!(
        store.job("zz").await,
        Err(Error::NotFound { kind: "job", .. })
    ));
}

#[tokio::test]
async fn transitions_are_compare_and_set() {
    let store = memory_store().await;
    store.create_job("j1", &spec("churn", 1)).await.unwrap();
    let pending = [JobStatus::Pending];
    assert!(!store
        .transition_job("j1", &[JobStatus::Running], JobStatus::Completed, None)
        .await
        .unwrap());
    assert!(store
        .transition_job("j1", &pending, JobStatus::Running, None)
        .await
        .unwrap());
    assert!(
        !store
            .transition_job("j1", &pending, JobStatus::Running, None)
            .await
            .unwrap(),
        "second CAS loses"
    );
    let running = store.job("j1").await.unwrap();
    assert_eq!(running.status, JobStatus::Running);
    assert!(running.started_at.is_some() && running.ended_at.is_none());

    let from = [JobStatus::Pending, JobStatus::Running];
    assert!(store
        .transition_job("j1", &from, JobStatus::Failed, Some("out of memory"))
        .await
        .unwrap());
    let failed = store.job("j1").await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some("out of memory"));
    assert!(failed.ended_at.is_some());
    assert_eq!(failed.started_at, running.started_at);

    assert!(!store
        .transition_job("j1", &[], JobStatus::Running, None)
        .await
        .unwrap());
    assert!(matches!(
        store
            .transition_job("zz", &pending, JobStatus::Running, None)
            .await,
        Err(Error::NotFound { kind: "job", .. })
    ));
}

#[tokio::test]
async fn complete_job_registers_model_version_with_lineage() {
    let store = memory_store().await;
    store
        .create_dataset_version(new_dataset("churn", "h1"))
        .await
        .unwrap();
    store
        .create_model_version(new_model("churn-model"))
        .await
        .unwrap();
    store.create_job("j1", &spec("churn", 1)).await.unwrap();

    let err = store
        .complete_job("j1", &metrics(0.8), new_model("churn-model"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Conflict { .. }),
        "a Pending job cannot complete: {err}"
    );
    assert_eq!(
        store
            .list_model_versions("churn-model")
            .await
            .unwrap()
            .len(),
        1
    );

    store
        .transition_job("j1", &[JobStatus::Pending], JobStatus::Running, None)
        .await
        .unwrap();
    let created = store
        .complete_job("j1", &metrics(0.8), new_model("churn-model"))
        .await
        .unwrap();
    assert_eq!(created.version, 2);
    assert_eq!(created.job_id.as_deref(), Some("j1"));
    assert_eq!(
        (created.dataset.as_deref(), created.dataset_version),
        (Some("churn"), Some(1))
    );
    assert_eq!(
        store.model_version("churn-model", None).await.unwrap(),
        created
    );

    let job = store.job("j1").await.unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.metrics, metrics(0.8));
    assert_eq!(
        (job.model_name.as_deref(), job.model_version),
        (Some("churn-model"), Some(2))
    );
    assert!(job.ended_at.is_some());
    assert!(matches!(
        store
            .complete_job("j1", &metrics(0.8), new_model("churn-model"))
            .await,
        Err(Error::Conflict { .. })
    ));
}

#[tokio::test]
async fn failed_completion_leaves_no_partial_state() {
    let store = memory_store().await;
    store.create_job("j1", &spec("churn", 1)).await.unwrap();
    store
        .transition_job("j1", &[JobStatus::Pending], JobStatus::Running, None)
        .await
        .unwrap();
    let mut model = new_model("churn-model");
    model.metrics.insert("loss", f64::INFINITY);
    assert!(store
        .complete_job("j1", &metrics(0.8), model)
        .await
        .is_err());
    assert_eq!(store.job("j1").await.unwrap().status, JobStatus::Running);
    assert!(store.list_models().await.unwrap().is_empty());
}

#[tokio::test]
async fn fail_unfinished_jobs_fails_pending_and_running_only() {
    let store = memory_store().await;
    for id in ["pending", "running", "done"] {
        store.create_job(id, &spec("churn", 1)).await.unwrap();
    }
    store
        .transition_job("running", &[JobStatus::Pending], JobStatus::Running, None)
        .await
        .unwrap();
    store
        .transition_job("done", &[JobStatus::Pending], JobStatus::Stopped, None)
        .await
        .unwrap();
    assert_eq!(
        store
            .fail_unfinished_jobs("server restarted")
            .await
            .unwrap(),
        2
    );
    for id in ["pending", "running"] {
        let job = store.job(id).await.unwrap();
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.failure_reason.as_deref(), Some("server restarted"));
        assert!(job.ended_at.is_some());
    }
    let done = store.job("done").await.unwrap();
    assert_eq!(
        (done.status, done.failure_reason),
        (JobStatus::Stopped, None)
    );
    assert_eq!(store.fail_unfinished_jobs("again").await.unwrap(), 0);
}

#[tokio::test]
async fn logs_are_sequenced_per_job() {
    let store = memory_store().await;
    store.create_job("a", &spec("churn", 1)).await.unwrap();
    store.create_job("b", &spec("churn", 1)).await.unwrap();
    for message in ["one", "two", "three"] {
        store.append_job_log("a", message).await.unwrap();
    }
    store.append_job_log("b", "other").await.unwrap();
    let all = store.job_logs("a", 0).await.unwrap();
    let seqs: Vec<_> = all.iter().map(|l| (l.seq, l.message.as_str())).collect();
    assert_eq!(seqs, [(1, "one"), (2, "two"), (3, "three")]);
    let tail = store.job_logs("a", 2).await.unwrap();
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].message, "three");
    assert!(store.job_logs("a", 3).await.unwrap().is_empty());
    assert_eq!(store.job_logs("b", 0).await.unwrap()[0].seq, 1);
    assert!(matches!(
        store.append_job_log("zz", "x").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.job_logs("zz", 0).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn metric_points_are_batched_and_ordered() {
    let store = memory_store().await;
    store.create_job("a", &spec("churn", 1)).await.unwrap();
    let point = |name: &str, step, value| MetricPoint {
        name: name.to_string(),
        step,
        value,
        at: 7,
    };
    store
        .append_job_metrics(
            "a",
            &[
                point("loss", 2, 0.5),
                point("auc", 1, 0.7),
                point("loss", 1, 0.9),
            ],
        )
        .await
        .unwrap();
    store
        .append_job_metrics("a", &[point("loss", 2, 0.4)])
        .await
        .unwrap();
    let stored = store.job_metrics("a").await.unwrap();
    assert_eq!(
        stored,
        vec![
            point("auc", 1, 0.7),
            point("loss", 1, 0.9),
            point("loss", 2, 0.4)
        ]
    );

    let err = store
        .append_job_metrics("a", &[point("loss", 3, 0.3), point("loss", 4, f64::NAN)])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert_eq!(
        store.job_metrics("a").await.unwrap().len(),
        3,
        "the whole batch is refused"
    );
    assert!(matches!(
        store.job_metrics("zz").await,
        Err(Error::NotFound { .. })
    ));
}
