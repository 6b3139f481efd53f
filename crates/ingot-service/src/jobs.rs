//! The local job executor: a dedicated pool of OS threads (never the async runtime) that runs
//! training jobs, streams their logs and metrics to the store, and honours stop requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use ingot_artifacts::ArtifactStore;
use ingot_catalog::{FitContext, TrainEvent, TrainRequest};
use ingot_core::records::{Job, MetricPoint, NewModelVersion};
use ingot_core::JobStatus;
use ingot_store::{now_millis, MetadataStore};
use tokio::runtime::Handle;

/// Progress of a running job, as reported by its algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobProgress {
    pub done: u64,
    pub total: u64,
}

/// Live progress of one running job (training iterations, transform rows), updated by the
/// thread doing the work and read by API requests.
#[derive(Debug, Default)]
pub(crate) struct ProgressCounter {
    pub done: AtomicU64,
    pub total: AtomicU64,
}

impl ProgressCounter {
    /// A counter at zero of `total`.
    pub(crate) fn of(total: u64) -> ProgressCounter {
        ProgressCounter {
            done: AtomicU64::new(0),
            total: AtomicU64::new(total),
        }
    }

    pub(crate) fn snapshot(&self) -> JobProgress {
        JobProgress {
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
        }
    }
}

/// Shared state of one running job.
#[derive(Default)]
struct RunningJob {
    cancel: AtomicBool,
    progress: ProgressCounter,
}

type RunningJobs = Arc<Mutex<HashMap<String, Arc<RunningJob>>>>;

/// Queues job ids to worker threads.
pub(crate) struct JobRunner {
    queue: Mutex<Sender<String>>,
    running: RunningJobs,
}

/// What a worker needs to run a job.
#[derive(Clone)]
struct Worker {
    store: Arc<dyn MetadataStore>,
    artifacts: ArtifactStore,
    runtime: Handle,
    running: RunningJobs,
    threads: usize,
}

/// How many metric points are buffered before they are written.
const METRIC_FLUSH_POINTS: usize = 64;

impl JobRunner {
    /// Starts `workers` threads. Must be called from within a tokio runtime, whose handle the
    /// workers use to reach the (async) stores.
    pub(crate) fn start(
        store: Arc<dyn MetadataStore>,
        artifacts: ArtifactStore,
        workers: usize,
        threads: usize,
    ) -> JobRunner {
        let (sender, receiver) = channel::<String>();
        let receiver = Arc::new(Mutex::new(receiver));
        let running: RunningJobs = Arc::default();
        let worker = Worker {
            store,
            artifacts,
            runtime: Handle::current(),
            running: running.clone(),
            threads,
        };
        for index in 0..workers {
            let worker = worker.clone();
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ingot-job-{index}"))
                .spawn(move || worker.serve(&receiver));
            if let Err(e) = spawned {
                tracing::error!(%e, "cannot start job worker thread");
            }
        }
        JobRunner {
            queue: Mutex::new(sender),
            running,
        }
    }

    /// Hands a pending job to the workers.
    pub(crate) fn enqueue(&self, id: &str) {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.send(id.to_string()).is_err() {
            tracing::error!(job = id, "job workers are gone; job stays pending");
        }
    }

    /// Asks a running job to stop at its next iteration.
    pub(crate) fn cancel(&self, id: &str) {
        if let Some(job) = lock(&self.running).get(id) {
            job.cancel.store(true, Ordering::SeqCst);
        }
    }

    /// Progress of a running job.
    pub(crate) fn progress(&self, id: &str) -> Option<JobProgress> {
        lock(&self.running)
            .get(id)
            .map(|job| job.progress.snapshot())
    }
}

/// Locks `mutex`, recovering it from a panicked holder.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why a job did not complete.
enum Failure {
    Stopped,
    Failed(String),
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        Failure::Failed(e.message)
    }
}

impl Worker {
    fn serve(&self, receiver: &Mutex<Receiver<String>>) {
        loop {
            let next = lock(receiver).recv();
            let Ok(id) = next else { return };
            self.run(&id);
        }
    }

    fn run(&self, id: &str) {
        let state = Arc::new(RunningJob::default());
        lock(&self.running).insert(id.to_string(), state.clone());
        let started = self.runtime.block_on(self.store.transition_job(
            id,
            &[JobStatus::Pending],
            JobStatus::Running,
            None,
        ));
        match started {
            Ok(true) => {
                let outcome = self.execute(id, &state);
                self.finish(id, outcome);
            }
            Ok(false) => tracing::info!(job = id, "job was stopped before it started"),
            Err(e) => tracing::error!(job = id, %e, "cannot start job"),
        }
        lock(&self.running).remove(id);
    }

    fn log(&self, id: &str, message: &str) {
        if let Err(e) = self
            .runtime
            .block_on(self.store.append_job_log(id, message))
        {
            tracing::warn!(job = id, %e, "cannot store job log line");
        }
    }

    fn finish(&self, id: &str, outcome: Result<(), Failure>) {
        let (to, reason) = match outcome {
            Ok(()) => return,
            Err(Failure::Stopped) => {
                self.log(id, "job stopped on request");
                (JobStatus::Stopped, None)
            }
            Err(Failure::Failed(reason)) => {
                self.log(id, &format!("job failed: {reason}"));
                (JobStatus::Failed, Some(reason))
            }
        };
        let run_status = if to == JobStatus::Stopped {
            "KILLED"
        } else {
            "FAILED"
        };
        self.runtime
            .block_on(crate::autolog::ended(self.store.as_ref(), id, run_status));
        let transition =
            self.store
                .transition_job(id, &[JobStatus::Running], to, reason.as_deref());
        if let Err(e) = self.runtime.block_on(transition) {
            tracing::error!(job = id, %e, "cannot record job outcome");
        }
    }

    fn load_table(&self, dataset: &str, version: i64) -> Result<ingot_data::Table, Failure> {
        let record = self
            .runtime
            .block_on(self.store.dataset_version(dataset, Some(version)))
            .map_err(crate::Error::from)?;
        let bytes = self
            .runtime
            .block_on(self.artifacts.get(&record.content_hash))
            .map_err(crate::Error::from)?;
        let format: ingot_data::DataFormat = record
            .format
            .parse()
            .map_err(|e: ingot_data::Error| Failure::Failed(e.to_string()))?;
        ingot_data::read_table_bytes(bytes, format).map_err(|e| Failure::Failed(e.to_string()))
    }

    fn execute(&self, id: &str, state: &RunningJob) -> Result<(), Failure> {
        let job: Job = self
            .runtime
            .block_on(self.store.job(id))
            .map_err(crate::Error::from)?;
        self.runtime
            .block_on(crate::autolog::start(self.store.as_ref(), &job));
        let spec = &job.spec;
        self.log(
            id,
            &format!(
                "training {} on {}:{} (target {:?})",
                spec.algorithm, spec.dataset, spec.dataset_version, spec.target
            ),
        );
        let table = self.load_table(&spec.dataset, spec.dataset_version)?;
        self.log(id, &format!("loaded {} rows", table.batch.num_rows()));
        let validation = match (&spec.validation_dataset, spec.validation_dataset_version) {
            (Some(name), Some(version)) => Some(self.load_table(name, version)?),
            _ => None,
        };
        let request = TrainRequest {
            target: spec.target.clone(),
            drop_columns: spec.drop_columns.clone(),
            algorithm: spec.algorithm.clone(),
            hyperparameters: spec.hyperparameters.clone(),
            validation_fraction: spec.validation_fraction,
            seed: spec.seed,
        };
        let mut pending_metrics: Vec<MetricPoint> = Vec::new();
        let outcome = {
            let mut on_event = |event: TrainEvent| match event {
                TrainEvent::Log(message) => self.log(id, &message),
                TrainEvent::Progress { done, total } => {
                    state.progress.done.store(done, Ordering::Relaxed);
                    state.progress.total.store(total, Ordering::Relaxed);
                }
                TrainEvent::Metric { name, step, value } if value.is_finite() => {
                    pending_metrics.push(MetricPoint {
                        name,
                        step: i64::try_from(step).unwrap_or(i64::MAX),
                        value,
                        at: now_millis(),
                    });
                    if pending_metrics.len() >= METRIC_FLUSH_POINTS {
                        self.flush_metrics(id, &mut pending_metrics);
                    }
                }
                TrainEvent::Metric { .. } => {}
            };
            let mut context = FitContext {
                cancel: &state.cancel,
                threads: self.threads,
                seed: spec.seed,
                events: &mut on_event,
            };
            ingot_catalog::train(&table, validation.as_ref(), &request, &mut context)
        };
        self.flush_metrics(id, &mut pending_metrics);
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(ingot_catalog::Error::Cancelled) => return Err(Failure::Stopped),
            Err(e) => return Err(Failure::Failed(e.to_string())),
        };
        // JSON has no NaN: a metric that is undefined here (e.g. AUC of a one-class
        // validation split) is reported in the log and left out of the record.
        let mut metrics = outcome.metrics.clone();
        metrics.0.retain(|name, value| {
            let finite = value.is_finite();
            if !finite {
                self.log(
                    id,
                    &format!("metric {name} is undefined on this validation data"),
                );
            }
            finite
        });
        let artifact = self
            .runtime
            .block_on(self.artifacts.put(bytes::Bytes::from(outcome.bytes)))
            .map_err(crate::Error::from)?;
        let manifest = &outcome.model.manifest;
        let new_version = NewModelVersion {
            model: spec.model_name.clone(),
            artifact_hash: artifact.digest,
            algorithm: manifest.algorithm.clone(),
            task: manifest.task,
            metrics: metrics.clone(),
            input_schema: manifest.input_schema.clone(),
            job_id: Some(id.to_string()),
            dataset: Some(spec.dataset.clone()),
            dataset_version: Some(spec.dataset_version),
        };
        let summary = metrics
            .0
            .iter()
            .map(|(name, value)| format!("{name}={value:.4}"))
            .collect::<Vec<_>>()
            .join(" ");
        self.log(id, &format!("validation metrics: {summary}"));
        let version = self
            .runtime
            .block_on(self.store.complete_job(id, &metrics, new_version))
            .map_err(crate::Error::from)?;
        self.runtime.block_on(crate::autolog::completed(
            self.store.as_ref(),
            id,
            &metrics,
            &version,
        ));
        self.log(
            id,
            &format!("registered model {}:{}", version.model, version.version),
        );
        Ok(())
    }

    fn flush_metrics(&self, id: &str, points: &mut Vec<MetricPoint>) {
        if points.is_empty() {
            return;
        }
        if let Err(e) = self
            .runtime
            .block_on(self.store.append_job_metrics(id, points))
        {
            tracing::warn!(job = id, %e, "cannot store job metrics");
        }
        self.runtime
            .block_on(crate::autolog::metrics(self.store.as_ref(), id, points));
        points.clear();
    }
}
