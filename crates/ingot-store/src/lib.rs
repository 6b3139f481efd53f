//! Ingot's metadata store: datasets and their versions, training jobs with their logs and
//! metric series, registered models, endpoints and API tokens.
//!
//! [`MetadataStore`] is the storage-neutral interface the service uses; [`SqliteStore`] is the
//! embedded implementation. Records are the `ingot-core` types; structured fields (schemas,
//! metrics, training specs, profiles) are kept as JSON text.
//!
//! # Portability
//!
//! The schema lives in plain SQL files under `migrations/` and must run unchanged on both SQLite
//! and PostgreSQL, because a PostgreSQL implementation of the same trait will share them. They
//! therefore use only `TEXT`, `BIGINT` (also for 0/1 booleans and millisecond timestamps) and
//! `DOUBLE PRECISION` columns, explicit primary keys (no `AUTOINCREMENT` or serial columns, no
//! reliance on SQLite's `rowid`), no engine-specific functions, and `ON CONFLICT ... DO` instead
//! of `INSERT OR REPLACE`. Each file is split into single statements before execution, as
//! PostgreSQL cannot prepare several at once. Nothing SQLite-specific appears in the trait.

mod error;
mod migrate;
mod sqlite;
pub mod tracking;

#[cfg(test)]
mod tests;

use ingot_core::records::{
    ApiToken, AsyncInvocation, AsyncStatus, DatasetSummary, DatasetVersion, Endpoint, EndpointKey,
    Job, LogLine, MetricPoint, ModelSummary, ModelVersion, MonitoringExecution, MonitoringSchedule,
    NewDatasetVersion, NewModelVersion, ScalingEvent, TrainingSpec, TransformJob,
};
use ingot_core::{EndpointConfig, EndpointStatus, JobStatus, Metrics, TimestampMillis};

pub use error::{Error, Result};
pub use sqlite::SqliteStore;
pub use tracking::TrackingStore;

/// The current time in milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_millis() -> TimestampMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Persistent storage of Ingot's metadata.
///
/// Versioned records (dataset versions, model versions) are numbered 1, 2, 3… per parent name;
/// the parent is created with its first version. Lookups of absent records fail with
/// [`Error::NotFound`] whose `kind` is one of `"dataset"`, `"dataset version"`, `"job"`,
/// `"model"`, `"model version"` or `"endpoint"`, and whose name is `NAME` or `NAME:VERSION`.
#[async_trait::async_trait]
pub trait MetadataStore: tracking::TrackingStore + Send + Sync + 'static {
    /// Records a new version of a dataset (creating the dataset on its first version) as
    /// previous max + 1, in one transaction. If a version with the same `content_hash` already
    /// exists for the dataset, that version is returned unchanged and the flag is `false`.
    async fn create_dataset_version(
        &self,
        new: NewDatasetVersion,
    ) -> Result<(DatasetVersion, bool)>;
    /// All datasets with their latest version, by name.
    async fn list_datasets(&self) -> Result<Vec<DatasetSummary>>;
    /// One version of a dataset, or its latest when `version` is `None`.
    async fn dataset_version(&self, dataset: &str, version: Option<i64>) -> Result<DatasetVersion>;
    /// Every version of a dataset, oldest first; `NotFound` if the dataset does not exist.
    async fn list_dataset_versions(&self, dataset: &str) -> Result<Vec<DatasetVersion>>;

    /// Records a new job in status `Pending`; `AlreadyExists` if the id is taken.
    async fn create_job(&self, id: &str, spec: &TrainingSpec) -> Result<Job>;
    /// One job.
    async fn job(&self, id: &str) -> Result<Job>;
    /// Up to `limit` jobs, newest first.
    async fn list_jobs(&self, limit: i64) -> Result<Vec<Job>>;
    /// Atomic compare-and-set transition: moves the job to `to` only if its current status is
    /// in `from`, returning `Ok(false)` otherwise (`NotFound` if there is no such job). Sets
    /// `started_at` when moving to `Running`, `ended_at` when moving to a terminal status, and
    /// `failure_reason` when one is given.
    async fn transition_job(
        &self,
        id: &str,
        from: &[JobStatus],
        to: JobStatus,
        failure_reason: Option<&str>,
    ) -> Result<bool>;
    /// Marks a `Running` job `Completed` with its metrics and registers the model version it
    /// produced, in one transaction (creating the registered model on its first version).
    /// Lineage (job id, dataset and dataset version) is taken from the job itself. `Conflict`
    /// if the job is not `Running`.
    async fn complete_job(
        &self,
        id: &str,
        metrics: &Metrics,
        model: NewModelVersion,
    ) -> Result<ModelVersion>;
    /// Appends a log line; sequence numbers start at 1 and increase per job.
    async fn append_job_log(&self, id: &str, message: &str) -> Result<()>;
    /// The log lines of a job with `seq > after_seq`, in order.
    async fn job_logs(&self, id: &str, after_seq: i64) -> Result<Vec<LogLine>>;
    /// Records metric points in one transaction; a repeated `(name, step)` replaces the value.
    async fn append_job_metrics(&self, id: &str, points: &[MetricPoint]) -> Result<()>;
    /// All metric points of a job, ordered by name then step.
    async fn job_metrics(&self, id: &str) -> Result<Vec<MetricPoint>>;
    /// Startup recovery: every `Pending` or `Running` job becomes `Failed` with `reason`.
    /// Returns how many jobs were changed.
    async fn fail_unfinished_jobs(&self, reason: &str) -> Result<u64>;

    /// Registers a model version outside of training (e.g. an import), numbered like
    /// [`complete_job`](Self::complete_job) does.
    async fn create_model_version(&self, new: NewModelVersion) -> Result<ModelVersion>;
    /// Gives version `version`, registered through MLflow, a native version under the same
    /// number (made from its files) and links the two, in one transaction. `NotFound` without
    /// that registry version; `AlreadyExists` if it already has a native version.
    async fn adopt_registry_version(
        &self,
        new: NewModelVersion,
        version: i64,
    ) -> Result<ModelVersion>;
    /// The newest version number of `model` in either registry (native versions, and versions
    /// registered through MLflow that mirror none); `NotFound` without any version.
    async fn newest_version_number(&self, model: &str) -> Result<i64>;
    /// All registered models with their latest version, by name.
    async fn list_models(&self) -> Result<Vec<ModelSummary>>;
    /// One version of a model, or its latest when `version` is `None`.
    async fn model_version(&self, model: &str, version: Option<i64>) -> Result<ModelVersion>;
    /// Every version of a model, oldest first; `NotFound` if the model does not exist.
    async fn list_model_versions(&self, model: &str) -> Result<Vec<ModelVersion>>;

    /// Records a new endpoint in status `Creating`; `AlreadyExists` if the name is taken and
    /// `NotFound` if a model version it serves does not exist.
    async fn create_endpoint(&self, name: &str, config: &EndpointConfig) -> Result<Endpoint>;
    /// Replaces an endpoint's serving configuration; `NotFound` for a missing endpoint or
    /// model version.
    async fn set_endpoint_config(&self, name: &str, config: &EndpointConfig) -> Result<Endpoint>;
    /// One endpoint.
    async fn endpoint(&self, name: &str) -> Result<Endpoint>;
    /// All endpoints, by name.
    async fn list_endpoints(&self) -> Result<Vec<Endpoint>>;
    /// Sets an endpoint's status and failure reason (`None` clears it); returns the result.
    async fn set_endpoint_status(
        &self,
        name: &str,
        status: EndpointStatus,
        failure_reason: Option<&str>,
    ) -> Result<Endpoint>;
    /// Deletes an endpoint (with its keys and scaling history); `NotFound` if absent.
    async fn delete_endpoint(&self, name: &str) -> Result<()>;
    /// Appends replica-count changes of one variant, oldest first, and keeps only its newest
    /// `keep`; `NotFound` without the endpoint.
    async fn record_scaling_events(
        &self,
        endpoint: &str,
        variant: &str,
        events: &[ScalingEvent],
        keep: usize,
    ) -> Result<()>;
    /// The kept replica-count changes of one variant, oldest first.
    async fn scaling_events(&self, endpoint: &str, variant: &str) -> Result<Vec<ScalingEvent>>;

    /// Stores a data-plane key of an endpoint (only its hash).
    async fn create_endpoint_key(&self, key: &EndpointKey) -> Result<()>;
    /// The endpoint key with this hash, if any.
    async fn endpoint_key_by_hash(&self, key_hash: &str) -> Result<Option<EndpointKey>>;
    /// An endpoint's keys, oldest first.
    async fn list_endpoint_keys(&self, endpoint: &str) -> Result<Vec<EndpointKey>>;
    /// Revokes one key.
    async fn delete_endpoint_key(&self, endpoint: &str, id: &str) -> Result<()>;

    /// Persists a queued asynchronous invocation (its payload is already in the artifact
    /// store).
    async fn create_async_invocation(&self, invocation: &AsyncInvocation) -> Result<()>;
    /// One asynchronous invocation.
    async fn async_invocation(&self, id: &str) -> Result<AsyncInvocation>;
    /// Every queued invocation, oldest first (startup recovery).
    async fn queued_async_invocations(&self) -> Result<Vec<AsyncInvocation>>;
    /// Records an invocation's outcome: `output` is `(artifact hash, content type)`.
    async fn finish_async_invocation(
        &self,
        id: &str,
        status: AsyncStatus,
        output: Option<(&str, &str)>,
        failure_reason: Option<&str>,
    ) -> Result<()>;
    /// Records how the completion webhook went.
    async fn set_async_webhook_status(&self, id: &str, status: &str) -> Result<()>;

    /// Records a new batch transform job.
    async fn create_transform_job(&self, job: &TransformJob) -> Result<()>;
    /// One transform job.
    async fn transform_job(&self, id: &str) -> Result<TransformJob>;
    /// Every transform job, newest first.
    async fn list_transform_jobs(&self) -> Result<Vec<TransformJob>>;
    /// Records a transform job's outcome.
    async fn finish_transform_job(
        &self,
        id: &str,
        status: JobStatus,
        output_version: Option<i64>,
        rows: Option<i64>,
        failure_reason: Option<&str>,
    ) -> Result<()>;
    /// Startup recovery: unfinished transform jobs fail with `reason`.
    async fn fail_unfinished_transform_jobs(&self, reason: &str) -> Result<u64>;

    /// Records a monitoring schedule; `NotFound` without the endpoint, `AlreadyExists` if the
    /// endpoint already has a schedule of that name.
    async fn create_monitoring_schedule(&self, schedule: &MonitoringSchedule) -> Result<()>;
    /// One monitoring schedule.
    async fn monitoring_schedule(&self, endpoint: &str, name: &str) -> Result<MonitoringSchedule>;
    /// The schedules of one endpoint (or of every endpoint), by name.
    async fn list_monitoring_schedules(
        &self,
        endpoint: Option<&str>,
    ) -> Result<Vec<MonitoringSchedule>>;
    /// Deletes a schedule and its execution records.
    async fn delete_monitoring_schedule(&self, endpoint: &str, name: &str) -> Result<()>;
    /// Inserts or replaces (by id) a monitoring execution.
    async fn put_monitoring_execution(&self, execution: &MonitoringExecution) -> Result<()>;
    /// One execution of an endpoint's schedules.
    async fn monitoring_execution(&self, endpoint: &str, id: &str) -> Result<MonitoringExecution>;
    /// An endpoint's executions (of one schedule when given), newest window first.
    async fn list_monitoring_executions(
        &self,
        endpoint: &str,
        schedule: Option<&str>,
    ) -> Result<Vec<MonitoringExecution>>;

    /// Stores an API token (only its hash); `AlreadyExists` if its id or hash is taken.
    async fn create_token(&self, token: &ApiToken) -> Result<()>;
    /// The token with this hash, if any.
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>>;
    /// How many tokens exist.
    async fn count_tokens(&self) -> Result<i64>;

    /// This store's experiment tracking and registry half.
    fn tracking(&self) -> &dyn TrackingStore;
}
