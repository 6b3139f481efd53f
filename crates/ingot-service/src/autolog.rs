//! Every training job is a tracked run: the job runner calls these hooks so a job's
//! hyperparameters, per-iteration metrics, final metrics, status and registered model appear in
//! experiment `ingot-jobs` (run id = job id); the store mirrors the model version into the
//! MLflow-compatible registry itself. Tracking is
//! best effort: a failure here is logged and never fails the job.

use ingot_core::records::{Job, MetricPoint, ModelVersion};
use ingot_core::Metrics;
use ingot_store::tracking::{MetricPoint as RunMetric, NewRun, RunUpdate};
use ingot_store::{now_millis, MetadataStore};

/// The experiment training jobs are logged to.
pub const JOBS_EXPERIMENT: &str = "ingot-jobs";
/// Registry version tag naming the native model version a mirrored version stands for.
pub use ingot_store::tracking::NATIVE_VERSION_TAG;

fn warn(job: &str, what: &str, e: impl std::fmt::Display) {
    tracing::warn!(job, %e, "cannot {what} for the job's tracking run");
}

async fn jobs_experiment(store: &dyn MetadataStore) -> ingot_store::Result<i64> {
    let tracking = store.tracking();
    match tracking.experiment_by_name(JOBS_EXPERIMENT).await {
        Ok(e) => Ok(e.experiment_id),
        Err(ingot_store::Error::NotFound { .. }) => {
            match tracking.create_experiment(JOBS_EXPERIMENT, "", &[]).await {
                Ok(e) => Ok(e.experiment_id),
                // Another job created it first.
                Err(ingot_store::Error::AlreadyExists { .. }) => Ok(tracking
                    .experiment_by_name(JOBS_EXPERIMENT)
                    .await?
                    .experiment_id),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Opens the job's run and logs its hyperparameters and inputs as params.
pub(crate) async fn start(store: &dyn MetadataStore, job: &Job) {
    let outcome = async {
        let experiment_id = jobs_experiment(store).await?;
        let spec = &job.spec;
        let tags = vec![
            ("ingot.job_id".to_string(), job.id.clone()),
            ("ingot.model".to_string(), spec.model_name.clone()),
            ("mlflow.source.type".to_string(), "JOB".to_string()),
            ("mlflow.user".to_string(), "ingot".to_string()),
        ];
        store
            .tracking()
            .create_run(NewRun {
                run_id: Some(job.id.clone()),
                experiment_id,
                user_id: "ingot".to_string(),
                run_name: Some(format!(
                    "{}-{}",
                    spec.model_name,
                    &job.id[..8.min(job.id.len())]
                )),
                start_time: job.started_at.unwrap_or_else(now_millis),
                tags,
            })
            .await?;
        let mut params: Vec<(String, String)> = spec
            .hyperparameters
            .0
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.push(("algorithm".into(), spec.algorithm.clone()));
        params.push((
            "dataset".into(),
            format!("{}:{}", spec.dataset, spec.dataset_version),
        ));
        params.push(("target".into(), spec.target.clone().unwrap_or_default()));
        params.push(("seed".into(), spec.seed.to_string()));
        params.push((
            "validation_fraction".into(),
            spec.validation_fraction.to_string(),
        ));
        if let (Some(name), Some(version)) =
            (&spec.validation_dataset, spec.validation_dataset_version)
        {
            params.push(("validation_dataset".into(), format!("{name}:{version}")));
        }
        params.retain(|(k, _)| !k.is_empty());
        params.dedup_by(|a, b| a.0 == b.0);
        store.tracking().log_batch(&job.id, &[], &params, &[]).await
    }
    .await;
    if let Err(e) = outcome {
        warn(&job.id, "start", e);
    }
}

/// Logs per-iteration metric points.
pub(crate) async fn metrics(store: &dyn MetadataStore, job_id: &str, points: &[MetricPoint]) {
    let converted: Vec<RunMetric> = points
        .iter()
        .map(|p| RunMetric {
            key: p.name.clone(),
            value: p.value,
            timestamp: p.at,
            step: p.step,
        })
        .collect();
    for chunk in converted.chunks(1000) {
        if let Err(e) = store.tracking().log_batch(job_id, chunk, &[], &[]).await {
            warn(job_id, "log metrics", e);
            return;
        }
    }
}

/// Logs the final metrics and finishes the run. The registry version mirroring the model
/// version was written by the store with the native version, in the same transaction.
pub(crate) async fn completed(
    store: &dyn MetadataStore,
    job_id: &str,
    final_metrics: &Metrics,
    version: &ModelVersion,
) {
    let now = now_millis();
    let points: Vec<RunMetric> = final_metrics
        .0
        .iter()
        .map(|(name, value)| RunMetric {
            key: format!("final_{name}"),
            value: *value,
            timestamp: now,
            step: 0,
        })
        .collect();
    let tracking = store.tracking();
    let tags = [(
        "ingot.registered_model".to_string(),
        format!("{}:{}", version.model, version.version),
    )];
    if let Err(e) = tracking.log_batch(job_id, &points, &[], &tags).await {
        warn(job_id, "log final metrics", e);
    }
    ended(store, job_id, "FINISHED").await;
}

/// Gives a job stopped before it started its run, ended `KILLED` at once.
pub(crate) async fn stopped_before_start(store: &dyn MetadataStore, job: &Job) {
    start(store, job).await;
    ended(store, &job.id, "KILLED").await;
}

/// Marks the run ended with an MLflow status (`FINISHED`, `FAILED`, `KILLED`).
pub(crate) async fn ended(store: &dyn MetadataStore, job_id: &str, status: &str) {
    let update = RunUpdate {
        status: Some(status.to_string()),
        end_time: Some(now_millis()),
        run_name: None,
    };
    if let Err(e) = store.tracking().update_run(job_id, update).await {
        warn(job_id, "end", e);
    }
}
