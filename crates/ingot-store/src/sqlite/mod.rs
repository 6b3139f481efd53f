//! The embedded SQLite implementation of [`MetadataStore`].
//!
//! Every write that reads before it writes runs in a `BEGIN IMMEDIATE` transaction, which takes
//! SQLite's write lock up front: concurrent writers then queue on the busy timeout instead of
//! failing when a deferred read transaction tries to upgrade.

mod datasets;
mod endpoints;
mod experiments;
mod group_commit;
mod jobs;
mod keyset;
mod logged_model_index;
mod logged_models;
mod models;
mod monitoring;
mod registry;
mod registry_mirror;
mod rows;
mod run_children;
mod run_outputs;
mod run_search;
mod runs;
mod search;
mod serving;
mod tokens;
mod tracking_impl;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use ingot_core::records::{
    ApiToken, AsyncInvocation, AsyncStatus, DatasetSummary, DatasetVersion, Endpoint, EndpointKey,
    Job, LogLine, MetricPoint, ModelSummary, ModelVersion, MonitoringExecution, MonitoringSchedule,
    NewDatasetVersion, NewModelVersion, ScalingEvent, TrainingSpec, TransformJob,
};
use ingot_core::{EndpointConfig, EndpointStatus, JobStatus, Metrics};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::{migrate, MetadataStore, Result};

/// How long a connection waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in an on-disk store's pool (WAL allows many readers alongside one writer).
const MAX_CONNECTIONS: u32 = 8;
/// WAL pages written before an automatic checkpoint (SQLite's default is 1000).
const WAL_AUTOCHECKPOINT_PAGES: u32 = 8000;
/// Rows a query may run ahead of its reader (more than a page of searches).
const ROW_BUFFER: usize = 1024;
/// Page cache of the group-commit writer's connection, in KiB (negative: SQLite's unit for a
/// size rather than a page count); the other connections keep SQLite's 2 MiB default.
const WRITER_CACHE_SIZE: &str = "-32768";

/// A [`MetadataStore`] in a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The group-commit writer of tracking writes.
    writes: group_commit::GroupCommit,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file in WAL mode with `synchronous=FULL`, so an
    /// acknowledged write survives a crash or power loss, `foreign_keys=ON` and a 5 s busy
    /// timeout, then applies pending migrations. Missing parent directories are created.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Fewer, larger checkpoints: pages rewritten by many group commits (the metric
            // indexes) are copied back into the database once per checkpoint, not each time.
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
            // A page of search results streams without the connection's thread waiting for
            // the reader (rows cross a bounded channel, 50 by default).
            .row_buffer_size(ROW_BUFFER);
        // Each statement is a round trip to the connection's thread; a local file connection
        // does not go stale, so no extra ping precedes every acquire.
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options.clone())
            .await?;
        // The group-commit writer keeps one connection with a larger page cache: it alone
        // writes the tracking tables, so the index pages it keeps hot stay valid between
        // groups instead of being read back from the file on every commit.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(
                options
                    .pragma("cache_size", WRITER_CACHE_SIZE)
                    // A group re-applied with a savepoint per write (when one write is refused)
                    // keeps undo copies of the pages each write changes, which would otherwise
                    // spill to a temporary file past 64 KiB (a batch of 500 metrics changes a
                    // few hundred index pages).
                    .pragma("temp_store", "memory")
                    // Its writes (a run, a batch of run values) check their parent themselves
                    // in the same transaction (`runs::insert_run`, `runs::log_batch_in`), so the
                    // per-row foreign-key lookups, two per metric, would only repeat that check.
                    .foreign_keys(false),
            )
            .await?;
        Self::with_pools(pool, writer).await
    }

    /// Opens a fresh in-memory database, for tests. The pool holds exactly one connection that
    /// is never recycled, since each connection would otherwise see its own empty database.
    pub async fn open_in_memory() -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::with_pools(pool.clone(), pool).await
    }

    /// Migrates the database and finishes opening it: `writer` carries the group commit.
    async fn with_pools(pool: SqlitePool, writer: SqlitePool) -> Result<SqliteStore> {
        migrate::run_sqlite(&pool).await?;
        registry_mirror::backfill(&pool).await?;
        logged_model_index::rebuild_missing(&pool).await?;
        let writes = group_commit::GroupCommit::start(writer);
        Ok(SqliteStore { pool, writes })
    }

    /// Closes every connection, waiting for in-flight queries; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Begins a transaction holding the write lock from the start.
pub(crate) async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

#[async_trait::async_trait]
impl MetadataStore for SqliteStore {
    async fn create_dataset_version(
        &self,
        new: NewDatasetVersion,
    ) -> Result<(DatasetVersion, bool)> {
        datasets::create_version(&self.pool, new).await
    }

    async fn list_datasets(&self) -> Result<Vec<DatasetSummary>> {
        datasets::list(&self.pool).await
    }

    async fn dataset_version(&self, dataset: &str, version: Option<i64>) -> Result<DatasetVersion> {
        datasets::version(&self.pool, dataset, version).await
    }

    async fn list_dataset_versions(&self, dataset: &str) -> Result<Vec<DatasetVersion>> {
        datasets::list_versions(&self.pool, dataset).await
    }

    async fn create_job(&self, id: &str, spec: &TrainingSpec) -> Result<Job> {
        jobs::create(&self.pool, id, spec).await
    }

    async fn job(&self, id: &str) -> Result<Job> {
        jobs::get(&self.pool, id).await
    }

    async fn list_jobs(&self, limit: i64) -> Result<Vec<Job>> {
        jobs::list(&self.pool, limit).await
    }

    async fn transition_job(
        &self,
        id: &str,
        from: &[JobStatus],
        to: JobStatus,
        failure_reason: Option<&str>,
    ) -> Result<bool> {
        jobs::transition(&self.pool, id, from, to, failure_reason).await
    }

    async fn complete_job(
        &self,
        id: &str,
        metrics: &Metrics,
        model: NewModelVersion,
    ) -> Result<ModelVersion> {
        jobs::complete(&self.pool, id, metrics, model).await
    }

    async fn append_job_log(&self, id: &str, message: &str) -> Result<()> {
        jobs::append_log(&self.pool, id, message).await
    }

    async fn job_logs(&self, id: &str, after_seq: i64) -> Result<Vec<LogLine>> {
        jobs::logs(&self.pool, id, after_seq).await
    }

    async fn append_job_metrics(&self, id: &str, points: &[MetricPoint]) -> Result<()> {
        jobs::append_metrics(&self.pool, id, points).await
    }

    async fn job_metrics(&self, id: &str) -> Result<Vec<MetricPoint>> {
        jobs::metrics(&self.pool, id).await
    }

    async fn fail_unfinished_jobs(&self, reason: &str) -> Result<u64> {
        jobs::fail_unfinished(&self.pool, reason).await
    }

    async fn create_model_version(&self, new: NewModelVersion) -> Result<ModelVersion> {
        let mut tx = begin_write(&self.pool).await?;
        let created = models::insert_version(&mut tx, new).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn adopt_registry_version(
        &self,
        new: NewModelVersion,
        version: i64,
    ) -> Result<ModelVersion> {
        let mut tx = begin_write(&self.pool).await?;
        let created = models::adopt_version(&mut tx, new, version).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn newest_version_number(&self, model: &str) -> Result<i64> {
        models::newest_number(&self.pool, model).await
    }

    async fn list_models(&self) -> Result<Vec<ModelSummary>> {
        models::list(&self.pool).await
    }

    async fn model_version(&self, model: &str, version: Option<i64>) -> Result<ModelVersion> {
        models::version(&self.pool, model, version).await
    }

    async fn list_model_versions(&self, model: &str) -> Result<Vec<ModelVersion>> {
        models::list_versions(&self.pool, model).await
    }

    async fn create_endpoint(&self, name: &str, config: &EndpointConfig) -> Result<Endpoint> {
        endpoints::create(&self.pool, name, config).await
    }

    async fn set_endpoint_config(&self, name: &str, config: &EndpointConfig) -> Result<Endpoint> {
        endpoints::set_config(&self.pool, name, config).await
    }

    async fn create_endpoint_key(&self, key: &EndpointKey) -> Result<()> {
        serving::create_key(&self.pool, key).await
    }

    async fn endpoint_key_by_hash(&self, key_hash: &str) -> Result<Option<EndpointKey>> {
        serving::key_by_hash(&self.pool, key_hash).await
    }

    async fn list_endpoint_keys(&self, endpoint: &str) -> Result<Vec<EndpointKey>> {
        serving::list_keys(&self.pool, endpoint).await
    }

    async fn delete_endpoint_key(&self, endpoint: &str, id: &str) -> Result<()> {
        serving::delete_key(&self.pool, endpoint, id).await
    }

    async fn create_async_invocation(&self, invocation: &AsyncInvocation) -> Result<()> {
        serving::create_async(&self.pool, invocation).await
    }

    async fn async_invocation(&self, id: &str) -> Result<AsyncInvocation> {
        serving::get_async(&self.pool, id).await
    }

    async fn queued_async_invocations(&self) -> Result<Vec<AsyncInvocation>> {
        serving::queued_async(&self.pool).await
    }

    async fn finish_async_invocation(
        &self,
        id: &str,
        status: AsyncStatus,
        output: Option<(&str, &str)>,
        failure_reason: Option<&str>,
    ) -> Result<()> {
        serving::finish_async(&self.pool, id, status, output, failure_reason).await
    }

    async fn set_async_webhook_status(&self, id: &str, status: &str) -> Result<()> {
        serving::set_webhook_status(&self.pool, id, status).await
    }

    async fn create_transform_job(&self, job: &TransformJob) -> Result<()> {
        serving::create_transform(&self.pool, job).await
    }

    async fn transform_job(&self, id: &str) -> Result<TransformJob> {
        serving::get_transform(&self.pool, id).await
    }

    async fn list_transform_jobs(&self) -> Result<Vec<TransformJob>> {
        serving::list_transforms(&self.pool).await
    }

    async fn finish_transform_job(
        &self,
        id: &str,
        status: JobStatus,
        output_version: Option<i64>,
        rows: Option<i64>,
        failure_reason: Option<&str>,
    ) -> Result<()> {
        serving::finish_transform(&self.pool, id, status, output_version, rows, failure_reason)
            .await
    }

    async fn fail_unfinished_transform_jobs(&self, reason: &str) -> Result<u64> {
        serving::fail_unfinished_transforms(&self.pool, reason).await
    }

    async fn create_monitoring_schedule(&self, schedule: &MonitoringSchedule) -> Result<()> {
        monitoring::create_schedule(&self.pool, schedule).await
    }

    async fn monitoring_schedule(&self, endpoint: &str, name: &str) -> Result<MonitoringSchedule> {
        monitoring::get_schedule(&self.pool, endpoint, name).await
    }

    async fn list_monitoring_schedules(
        &self,
        endpoint: Option<&str>,
    ) -> Result<Vec<MonitoringSchedule>> {
        monitoring::list_schedules(&self.pool, endpoint).await
    }

    async fn delete_monitoring_schedule(&self, endpoint: &str, name: &str) -> Result<()> {
        monitoring::delete_schedule(&self.pool, endpoint, name).await
    }

    async fn put_monitoring_execution(&self, execution: &MonitoringExecution) -> Result<()> {
        monitoring::put_execution(&self.pool, execution).await
    }

    async fn monitoring_execution(&self, endpoint: &str, id: &str) -> Result<MonitoringExecution> {
        monitoring::get_execution(&self.pool, endpoint, id).await
    }

    async fn list_monitoring_executions(
        &self,
        endpoint: &str,
        schedule: Option<&str>,
    ) -> Result<Vec<MonitoringExecution>> {
        monitoring::list_executions(&self.pool, endpoint, schedule).await
    }

    async fn endpoint(&self, name: &str) -> Result<Endpoint> {
        endpoints::get(&self.pool, name).await
    }

    async fn list_endpoints(&self) -> Result<Vec<Endpoint>> {
        endpoints::list(&self.pool).await
    }

    async fn set_endpoint_status(
        &self,
        name: &str,
        status: EndpointStatus,
        failure_reason: Option<&str>,
    ) -> Result<Endpoint> {
        endpoints::set_status(&self.pool, name, status, failure_reason).await
    }

    async fn delete_endpoint(&self, name: &str) -> Result<()> {
        endpoints::delete(&self.pool, name).await
    }

    async fn record_scaling_events(
        &self,
        endpoint: &str,
        variant: &str,
        events: &[ScalingEvent],
        keep: usize,
    ) -> Result<()> {
        endpoints::record_scaling(&self.pool, endpoint, variant, events, keep).await
    }

    async fn scaling_events(&self, endpoint: &str, variant: &str) -> Result<Vec<ScalingEvent>> {
        endpoints::scaling_events(&self.pool, endpoint, variant).await
    }

    async fn create_token(&self, token: &ApiToken) -> Result<()> {
        tokens::create(&self.pool, token).await
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        tokens::by_hash(&self.pool, token_hash).await
    }

    async fn count_tokens(&self) -> Result<i64> {
        tokens::count(&self.pool).await
    }

    fn tracking(&self) -> &dyn crate::TrackingStore {
        self
    }
}
