//! Batch transform jobs: a dataset version scored by a model version (by
//! `ingot_serve::batch_transform`, in a worker process when the platform has a
//! [`TransformRunner`](ingot_serve::batch_transform::TransformRunner), else on a blocking
//! thread here), written as a new dataset version (Parquet) of predictions, with live progress
//! (rows scored) while it runs, and stopped on request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ingot_core::endpoint_config::invalid_memory_limit;
use ingot_core::records::TransformJob;
use ingot_core::{validate_name, JobStatus};
use ingot_serve::batch_transform::{score_spec, TransformSpec};
use tokio::sync::Notify;

use crate::jobs::{lock, ProgressCounter};
use crate::{Error, JobProgress, Platform, Result};

/// What a transform job is asked to do.
#[derive(Debug, Clone)]
pub struct TransformRequest {
    pub model: String,
    pub model_version: Option<i64>,
    pub dataset: String,
    pub dataset_version: Option<i64>,
    pub output_dataset: String,
    pub join_input: bool,
    pub workers: Option<usize>,
    /// The worker's memory limit in MiB (absent: the runner's own).
    pub memory_limit_mib: Option<u64>,
}

/// A transform job and, while it runs, how many of its rows are scored.
#[derive(Debug, Clone)]
pub struct TransformStatus {
    pub job: TransformJob,
    pub progress: Option<JobProgress>,
}

/// The reason a transform job stopped on request is recorded with.
const STOPPED_BY_REQUEST: &str = "stopped by request";

/// One running transform job: its rows scored, and whether it was asked to stop.
#[derive(Debug)]
pub(crate) struct RunningTransform {
    rows: ProgressCounter,
    stop: AtomicBool,
    stop_requested: Notify,
}

impl RunningTransform {
    fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        // A stored permit: the job sees it even if it is not waiting yet.
        self.stop_requested.notify_one();
    }
}

/// Every running transform job, by id.
#[derive(Debug, Default)]
pub(crate) struct TransformProgress(Mutex<HashMap<String, Arc<RunningTransform>>>);

impl TransformProgress {
    fn start(&self, id: &str, total: u64) -> Arc<RunningTransform> {
        let running = Arc::new(RunningTransform {
            rows: ProgressCounter::of(total),
            stop: AtomicBool::new(false),
            stop_requested: Notify::new(),
        });
        lock(&self.0).insert(id.to_string(), running.clone());
        running
    }

    fn finish(&self, id: &str) {
        lock(&self.0).remove(id);
    }

    fn get(&self, id: &str) -> Option<JobProgress> {
        lock(&self.0).get(id).map(|running| running.rows.snapshot())
    }

    fn running(&self, id: &str) -> Option<Arc<RunningTransform>> {
        lock(&self.0).get(id).cloned()
    }
}

impl Platform {
    /// Records and starts a transform job; it runs in the background.
    pub async fn submit_transform(
        self: &Arc<Self>,
        request: TransformRequest,
    ) -> Result<TransformStatus> {
        validate_name(&request.output_dataset)?;
        if let Some(reason) = request.memory_limit_mib.and_then(invalid_memory_limit) {
            return Err(Error::bad_input(format!("memory_limit_mib {reason}")));
        }
        // A version registered through MLflow is made servable as for a deploy.
        let model = self.servable(&request.model, request.model_version).await?;
        let dataset = self
            .store
            .dataset_version(&request.dataset, request.dataset_version)
            .await?;
        let workers = request
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, 64);
        let now = ingot_store::now_millis();
        let job = TransformJob {
            id: uuid::Uuid::new_v4().to_string(),
            model: model.model.clone(),
            model_version: model.version,
            dataset: dataset.dataset.clone(),
            dataset_version: dataset.version,
            output_dataset: request.output_dataset,
            output_version: None,
            join_input: request.join_input,
            workers: workers as i64,
            status: JobStatus::Running,
            failure_reason: None,
            rows: None,
            created_at: now,
            updated_at: now,
            memory_limit_mib: request.memory_limit_mib.map(|mib| mib as i64),
        };
        self.store.create_transform_job(&job).await?;
        let state = self
            .serving
            .transforms
            .start(&job.id, dataset.row_count.max(0) as u64);
        let submitted = TransformStatus {
            job: job.clone(),
            progress: Some(state.rows.snapshot()),
        };
        let platform = self.clone();
        let running = job;
        tokio::spawn(async move {
            let outcome = platform.run_transform(&running, state.clone()).await;
            let (status, output, reason) = match outcome {
                Err(e) if state.stop.load(Ordering::Relaxed) && e.message == STOPPED_BY_REQUEST => {
                    (JobStatus::Stopped, None, Some(e.message))
                }
                Ok(written) => (JobStatus::Completed, Some(written), None),
                Err(e) => (JobStatus::Failed, None, Some(e.message)),
            };
            let recorded = platform
                .store
                .finish_transform_job(
                    &running.id,
                    status,
                    output.map(|(version, _)| version),
                    output.map(|(_, rows)| rows),
                    reason.as_deref(),
                )
                .await;
            // The outcome is recorded first, so a job is never seen unfinished without progress.
            platform.serving.transforms.finish(&running.id);
            if let Err(e) = recorded {
                tracing::error!(job = %running.id, error = %e, "cannot record transform outcome");
            }
        });
        Ok(submitted)
    }

    /// Stops a running transform job: its worker is ended (or, in this process, scoring stops
    /// before the next chunk), nothing is written, and the job ends `Stopped`. Answers once the
    /// job has ended (`Completed` if its scoring had already finished).
    pub async fn stop_transform(&self, id: &str) -> Result<TransformStatus> {
        let job = self.store.transform_job(id).await?;
        let Some(running) = self.serving.transforms.running(id) else {
            // Ended (or ending) already: say how, as recorded once it is.
            let status = match job.status {
                JobStatus::Running => self.store.transform_job(id).await?.status,
                status => status,
            };
            return Err(Error::new(
                crate::ErrorKind::Conflict,
                format!("transform job {id} is already {status}"),
            ));
        };
        running.request_stop();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let now = self.transform_job(id).await?;
            if now.job.status != JobStatus::Running || tokio::time::Instant::now() > deadline {
                return Ok(now);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// One transform job, with its progress while it runs.
    pub async fn transform_job(&self, id: &str) -> Result<TransformStatus> {
        let job = self.store.transform_job(id).await?;
        Ok(self.with_progress(job))
    }

    /// Every transform job, newest first.
    pub async fn list_transform_jobs(&self) -> Result<Vec<TransformStatus>> {
        let jobs = self.store.list_transform_jobs().await?;
        Ok(jobs
            .into_iter()
            .map(|job| self.with_progress(job))
            .collect())
    }

    fn with_progress(&self, job: TransformJob) -> TransformStatus {
        let progress = match job.status {
            JobStatus::Running => self.serving.transforms.get(&job.id),
            _ => None,
        };
        TransformStatus { job, progress }
    }

    async fn run_transform(
        &self,
        job: &TransformJob,
        state: Arc<RunningTransform>,
    ) -> Result<(i64, i64)> {
        let model = self
            .store
            .model_version(&job.model, Some(job.model_version))
            .await?;
        let dataset = self
            .store
            .dataset_version(&job.dataset, Some(job.dataset_version))
            .await?;
        let spec = TransformSpec {
            model_artifact: model.artifact_hash,
            dataset_artifact: dataset.content_hash,
            format: dataset.format,
            workers: job.workers.max(1) as usize,
            join_input: job.join_input,
            dataset_schema: Some(dataset.schema),
            memory_limit_mib: job.memory_limit_mib.map(|mib| mib as u64),
        };
        let scoring = async {
            match &self.serving.transform_runner {
                Some(runner) => Ok(runner.run(spec, &state.rows.done).await?),
                None => self.transform_here(spec, state.clone()).await,
            }
        };
        // A stop drops the scoring future, which ends a worker process at once (in this process
        // the chunk loop sees the flag before its next chunk). Once scoring is done, the output
        // is written whatever comes: a job never ends `Stopped` with a dataset written.
        let (parquet, rows) = tokio::select! {
            scored = scoring => scored?,
            () = state.stop_requested.notified() => {
                return Err(Error::internal(STOPPED_BY_REQUEST));
            }
        };
        let source = format!("transform job {}", job.id);
        let (version, _) = self
            .create_dataset(
                &job.output_dataset,
                Bytes::from(parquet),
                Some("parquet"),
                &source,
            )
            .await?;
        Ok((version.version, rows as i64))
    }

    /// Scores a transform in this process, on a blocking thread (tests, `--replica-mode
    /// in-process`).
    async fn transform_here(
        &self,
        spec: TransformSpec,
        state: Arc<RunningTransform>,
    ) -> Result<(Vec<u8>, usize)> {
        let model_bytes = self.artifacts.get(&spec.model_artifact).await?;
        let data_bytes = self.artifacts.get(&spec.dataset_artifact).await?;
        tokio::task::spawn_blocking(move || {
            score_spec(
                &spec,
                &model_bytes,
                data_bytes,
                &state.rows.done,
                &state.stop,
            )
            .map_err(Error::from)
        })
        .await?
    }
}
