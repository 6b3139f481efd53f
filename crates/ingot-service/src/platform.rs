//! The platform: opening the stores under `INGOT_HOME`, startup recovery, and the training and
//! registry entry points.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ingot_artifacts::ArtifactStore;
use ingot_core::records::{Job, LogLine, MetricPoint, ModelSummary, ModelVersion, TrainingSpec};
use ingot_core::{validate_name, Hyperparameters};
use ingot_serve::batch_transform::TransformRunner;
use ingot_serve::PoolFactory;
use ingot_store::{MetadataStore, SqliteStore};

use crate::jobs::{JobProgress, JobRunner};
use crate::{Error, Result, INTERRUPTED_BY_RESTART};

/// Where the platform keeps its state and how it runs jobs.
#[derive(Clone)]
pub struct PlatformConfig {
    /// `INGOT_HOME`: the SQLite database, the admin token and (by default) the artifacts.
    pub home: PathBuf,
    /// Artifact store location (a directory, `file://` or `s3://` URL); `home/artifacts` if unset.
    pub artifacts: Option<String>,
    /// How many training jobs run at once.
    pub job_workers: usize,
    /// Threads each training job may use.
    pub job_threads: usize,
    /// How endpoint replicas run: `None` serves them inside this process; the server binary
    /// passes a factory of child processes.
    pub pool_factory: Option<Arc<dyn PoolFactory>>,
    /// Where batch transforms are scored: `None` on a blocking thread of this process; the
    /// server binary passes worker processes.
    pub transform_runner: Option<Arc<dyn TransformRunner>>,
    /// How often the autoscaler looks at traffic.
    pub autoscale_interval: std::time::Duration,
    /// How often due monitoring schedules are looked for.
    pub monitoring_interval: std::time::Duration,
}

impl std::fmt::Debug for PlatformConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformConfig")
            .field("home", &self.home)
            .field("artifacts", &self.artifacts)
            .field("job_workers", &self.job_workers)
            .field("job_threads", &self.job_threads)
            .field("process_replicas", &self.pool_factory.is_some())
            .field("process_transforms", &self.transform_runner.is_some())
            .field("autoscale_interval", &self.autoscale_interval)
            .field("monitoring_interval", &self.monitoring_interval)
            .finish()
    }
}

impl PlatformConfig {
    /// Defaults for a home directory: one job at a time using every core.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        PlatformConfig {
            home: home.into(),
            artifacts: None,
            job_workers: 1,
            job_threads: cores,
            pool_factory: None,
            transform_runner: None,
            autoscale_interval: std::time::Duration::from_secs(10),
            monitoring_interval: std::time::Duration::from_secs(30),
        }
    }
}

/// A training request as the API receives it, before names are resolved to versions.
#[derive(Debug, Clone)]
pub struct TrainingRequest {
    pub dataset: String,
    pub dataset_version: Option<i64>,
    pub validation_dataset: Option<String>,
    /// The target column; `None` for unsupervised algorithms.
    pub target: Option<String>,
    pub algorithm: String,
    pub hyperparameters: Hyperparameters,
    pub drop_columns: Vec<String>,
    pub validation_fraction: Option<f64>,
    pub seed: Option<u64>,
    pub model_name: Option<String>,
}

/// Everything the server serves, shared behind an `Arc`.
pub struct Platform {
    pub(crate) store: Arc<dyn MetadataStore>,
    pub(crate) artifacts: ArtifactStore,
    pub(crate) jobs: JobRunner,
    pub(crate) serving: crate::serving::Serving,
    pub(crate) credentials: crate::serving::CredentialCache,
    pub(crate) webhook_secret: String,
    pub(crate) monitoring: crate::monitoring::MonitoringGauges,
    home: PathBuf,
}

impl Platform {
    /// Opens (creating) the stores under the configured home, fails jobs a previous process
    /// left unfinished, starts the job workers and reloads deployed endpoints.
    pub async fn open(config: PlatformConfig) -> Result<Arc<Platform>> {
        std::fs::create_dir_all(&config.home).map_err(|e| {
            Error::internal(format!("cannot create home {}: {e}", config.home.display()))
        })?;
        let store = SqliteStore::open(&config.home.join("ingot.db")).await?;
        let artifacts_location = match &config.artifacts {
            Some(location) => location.clone(),
            None => config.home.join("artifacts").display().to_string(),
        };
        let artifacts = ArtifactStore::open(&artifacts_location)?;
        Self::with_stores(Arc::new(store), artifacts, &config).await
    }

    /// Builds a platform over given stores (tests use an in-memory store).
    pub async fn with_stores(
        store: Arc<dyn MetadataStore>,
        artifacts: ArtifactStore,
        config: &PlatformConfig,
    ) -> Result<Arc<Platform>> {
        let interrupted = store.fail_unfinished_jobs(INTERRUPTED_BY_RESTART).await?;
        if interrupted > 0 {
            tracing::warn!(
                jobs = interrupted,
                "marked jobs interrupted by restart as failed"
            );
        }
        let jobs = JobRunner::start(
            store.clone(),
            artifacts.clone(),
            config.job_workers.max(1),
            config.job_threads.max(1),
        );
        let failed = store
            .fail_unfinished_transform_jobs(INTERRUPTED_BY_RESTART)
            .await?;
        if failed > 0 {
            tracing::warn!(
                jobs = failed,
                "marked transform jobs interrupted by restart as failed"
            );
        }
        let factory = config
            .pool_factory
            .clone()
            .unwrap_or_else(|| Arc::new(ingot_serve::InProcessFactory));
        let webhook_secret = crate::auth::webhook_secret(&config.home)?;
        let platform = Arc::new(Platform {
            store,
            serving: crate::serving::Serving::new(
                factory,
                config.transform_runner.clone(),
                artifacts.clone(),
            ),
            artifacts,
            jobs,
            credentials: Default::default(),
            webhook_secret,
            monitoring: Default::default(),
            home: config.home.clone(),
        });
        platform.reload_endpoints().await?;
        platform.start_autoscaler(config.autoscale_interval);
        platform.start_async_worker();
        platform.start_monitoring_scheduler(config.monitoring_interval);
        Ok(platform)
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The artifact store's location, without credentials.
    pub fn artifacts_location(&self) -> String {
        self.artifacts.describe()
    }

    /// Validates and queues a training job; it runs on the job pool.
    pub async fn submit_training(&self, request: TrainingRequest) -> Result<Job> {
        validate_name(&request.dataset)?;
        let Some(algorithm) = ingot_catalog::algorithm(&request.algorithm) else {
            let known: Vec<&str> = ingot_catalog::algorithms()
                .iter()
                .map(|a| a.name())
                .collect();
            return Err(Error::bad_input(format!(
                "unknown algorithm {:?}; available: {}",
                request.algorithm,
                known.join(", ")
            )));
        };
        match (algorithm.unsupervised_task(), &request.target) {
            (Some(_), Some(target)) => {
                return Err(Error::bad_input(format!(
                    "algorithm {} is unsupervised and takes no target; drop column {target:?} \
                     instead if it should not be a feature",
                    request.algorithm
                )))
            }
            (None, None) => {
                return Err(Error::bad_input(format!(
                    "algorithm {} is supervised and needs a target column",
                    request.algorithm
                )))
            }
            _ => {}
        }
        let dataset = self
            .store
            .dataset_version(&request.dataset, request.dataset_version)
            .await?;
        if let Some(target) = request
            .target
            .as_deref()
            .filter(|t| dataset.schema.field(t).is_none())
        {
            return Err(Error::bad_input(format!(
                "target column {target:?} is not in dataset {}:{} (columns: {})",
                dataset.dataset,
                dataset.version,
                dataset.schema.names().collect::<Vec<_>>().join(", ")
            )));
        }
        for column in &request.drop_columns {
            if dataset.schema.field(column).is_none() {
                return Err(Error::bad_input(format!(
                    "drop column {column:?} is not in dataset {}:{}",
                    dataset.dataset, dataset.version
                )));
            }
        }
        let validation = match &request.validation_dataset {
            Some(reference) => {
                let parsed: ingot_core::ModelRef = reference.parse().map_err(|_| {
                    Error::bad_input(format!(
                        "validation_dataset {reference:?}: expected NAME or NAME:VERSION"
                    ))
                })?;
                let version = self
                    .store
                    .dataset_version(&parsed.name, parsed.version)
                    .await?;
                Some(version)
            }
            None => None,
        };
        let validation_fraction = request.validation_fraction.unwrap_or(0.2);
        if !(0.0..1.0).contains(&validation_fraction) {
            return Err(Error::bad_input(format!(
                "validation_fraction must be in [0, 1), got {validation_fraction}"
            )));
        }
        let model_name = request
            .model_name
            .unwrap_or_else(|| request.dataset.clone());
        validate_name(&model_name)?;
        let spec = TrainingSpec {
            dataset: dataset.dataset,
            dataset_version: dataset.version,
            validation_dataset: validation.as_ref().map(|v| v.dataset.clone()),
            validation_dataset_version: validation.as_ref().map(|v| v.version),
            target: request.target,
            algorithm: request.algorithm,
            hyperparameters: request.hyperparameters,
            drop_columns: request.drop_columns,
            validation_fraction,
            seed: request.seed.unwrap_or(42),
            model_name,
        };
        let id = uuid::Uuid::new_v4().to_string();
        let job = self.store.create_job(&id, &spec).await?;
        self.jobs.enqueue(&id);
        Ok(job)
    }

    /// A job by id.
    pub async fn job(&self, id: &str) -> Result<Job> {
        Ok(self.store.job(id).await?)
    }

    /// Live progress of a running job.
    pub fn job_progress(&self, id: &str) -> Option<JobProgress> {
        self.jobs.progress(id)
    }

    /// Recent jobs, newest first.
    pub async fn list_jobs(&self, limit: i64) -> Result<Vec<Job>> {
        Ok(self.store.list_jobs(limit).await?)
    }

    /// A job's log lines after a sequence number.
    pub async fn job_logs(&self, id: &str, after_seq: i64) -> Result<Vec<LogLine>> {
        self.store.job(id).await?;
        Ok(self.store.job_logs(id, after_seq).await?)
    }

    /// A job's metric series.
    pub async fn job_metrics(&self, id: &str) -> Result<Vec<MetricPoint>> {
        self.store.job(id).await?;
        Ok(self.store.job_metrics(id).await?)
    }

    /// Stops a job: a pending job stops at once, a running one at its next iteration.
    pub async fn stop_job(&self, id: &str) -> Result<Job> {
        use ingot_core::JobStatus;
        let job = self.store.job(id).await?;
        match job.status {
            JobStatus::Pending => {
                self.store
                    .transition_job(id, &[JobStatus::Pending], JobStatus::Stopped, None)
                    .await?;
                let now = self.store.job(id).await?;
                match now.status {
                    JobStatus::Running => self.jobs.cancel(id),
                    // Never started: its run is opened and ended here, so every job has one.
                    JobStatus::Stopped => {
                        crate::autolog::stopped_before_start(&*self.store, &now).await
                    }
                    _ => {}
                }
            }
            JobStatus::Running => self.jobs.cancel(id),
            status => {
                return Err(Error::new(
                    crate::ErrorKind::Conflict,
                    format!("job {id} is already {status}"),
                ))
            }
        }
        Ok(self.store.job(id).await?)
    }

    /// Registered models.
    pub async fn list_models(&self) -> Result<Vec<ModelSummary>> {
        Ok(self.store.list_models().await?)
    }

    /// A model version (latest when `version` is `None`).
    pub async fn model_version(&self, model: &str, version: Option<i64>) -> Result<ModelVersion> {
        Ok(self.store.model_version(model, version).await?)
    }

    /// Every version of a model.
    pub async fn list_model_versions(&self, model: &str) -> Result<Vec<ModelVersion>> {
        Ok(self.store.list_model_versions(model).await?)
    }

    /// The model artifact bytes of a version (for download).
    pub async fn model_artifact(&self, model: &str, version: Option<i64>) -> Result<bytes::Bytes> {
        let version = self.store.model_version(model, version).await?;
        Ok(self.artifacts.get(&version.artifact_hash).await?)
    }

    /// Whether an API token is valid (an admin token; verified hashes are cached briefly, see
    /// `serving::keys`, so the control plane's hot paths do not query the store per request).
    pub async fn authenticate(&self, token: &str) -> Result<bool> {
        self.is_admin(token).await
    }
}
