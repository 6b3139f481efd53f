//! Persistent records of the platform: dataset versions, jobs, model versions, endpoints and
//! API tokens, as the metadata store holds them.

use serde::{Deserialize, Serialize};

use crate::{
    EndpointConfig, EndpointStatus, Hyperparameters, JobStatus, Metrics, Schema, Task,
    TimestampMillis,
};

/// A dataset name with its latest version, for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub name: String,
    pub latest_version: i64,
    pub version_count: i64,
    pub created_at: TimestampMillis,
}

/// What the service asks the store to record for a newly created dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDatasetVersion {
    pub dataset: String,
    /// Hex sha256 of the uploaded bytes; also the artifact address.
    pub content_hash: String,
    /// `csv`, `parquet` or `jsonl`.
    pub format: String,
    pub size_bytes: i64,
    pub row_count: i64,
    pub schema: Schema,
    /// The dataset profile as JSON (owned by `ingot-data`).
    pub profile: serde_json::Value,
    /// Where the data came from (a file name or path), for humans.
    pub source: String,
}

/// One immutable version of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetVersion {
    pub dataset: String,
    /// 1, 2, 3… per dataset.
    pub version: i64,
    pub content_hash: String,
    pub format: String,
    pub size_bytes: i64,
    pub row_count: i64,
    pub schema: Schema,
    pub profile: serde_json::Value,
    pub source: String,
    pub created_at: TimestampMillis,
}

/// The declared inputs of a training job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSpec {
    pub dataset: String,
    pub dataset_version: i64,
    pub validation_dataset: Option<String>,
    pub validation_dataset_version: Option<i64>,
    /// The target column; `None` for unsupervised algorithms (k-means, PCA, RCF).
    #[serde(default)]
    pub target: Option<String>,
    pub algorithm: String,
    pub hyperparameters: Hyperparameters,
    pub drop_columns: Vec<String>,
    /// Fraction of rows held out for validation when no validation dataset is given.
    pub validation_fraction: f64,
    pub seed: u64,
    /// Registered model name the result is registered under.
    pub model_name: String,
}

/// A training job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// A UUID string.
    pub id: String,
    pub status: JobStatus,
    pub spec: TrainingSpec,
    pub failure_reason: Option<String>,
    /// Final validation metrics, once completed.
    pub metrics: Metrics,
    /// The registered model version it produced, once completed.
    pub model_name: Option<String>,
    pub model_version: Option<i64>,
    pub created_at: TimestampMillis,
    pub started_at: Option<TimestampMillis>,
    pub ended_at: Option<TimestampMillis>,
}

/// A job log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Monotonic per job, starting at 1.
    pub seq: i64,
    pub at: TimestampMillis,
    pub message: String,
}

/// One point of a per-job metric series (e.g. validation loss per iteration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    pub name: String,
    pub step: i64,
    pub value: f64,
    pub at: TimestampMillis,
}

/// A registered model name with its latest version, for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub name: String,
    /// 0 when the model has no version yet (registered through MLflow only).
    pub latest_version: i64,
    pub version_count: i64,
    /// Versions that are Ingot model files; the rest were registered through MLflow.
    pub native_version_count: i64,
    pub created_at: TimestampMillis,
}

/// What the service asks the store to record for a new model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewModelVersion {
    pub model: String,
    /// Hex sha256 of the model artifact.
    pub artifact_hash: String,
    pub algorithm: String,
    pub task: Task,
    pub metrics: Metrics,
    pub input_schema: Schema,
    /// Lineage: the job that trained it (absent for imported models).
    pub job_id: Option<String>,
    pub dataset: Option<String>,
    pub dataset_version: Option<i64>,
}

/// One immutable version of a registered model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub model: String,
    pub version: i64,
    pub artifact_hash: String,
    pub algorithm: String,
    pub task: Task,
    pub metrics: Metrics,
    pub input_schema: Schema,
    pub job_id: Option<String>,
    pub dataset: Option<String>,
    pub dataset_version: Option<i64>,
    pub created_at: TimestampMillis,
}

/// An endpoint as stored. `model`/`model_version` are the first production variant's answering
/// model (for listings); `config` is the whole serving configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub name: String,
    pub model: String,
    pub model_version: i64,
    pub config: EndpointConfig,
    pub status: EndpointStatus,
    pub failure_reason: Option<String>,
    pub created_at: TimestampMillis,
    pub updated_at: TimestampMillis,
}

/// One change of a variant's replica count, as `ingot endpoint show` lists it. The server
/// keeps the last few per variant, across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingEvent {
    /// When it happened, in milliseconds since the Unix epoch.
    pub at: TimestampMillis,
    pub from: u32,
    pub to: u32,
    /// Why, in words: the measured metric and the target, or the rule that applied.
    pub reason: String,
}

/// A data-plane key of one endpoint; only its sha256 hash is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointKey {
    pub id: String,
    pub endpoint: String,
    pub name: String,
    pub key_hash: String,
    pub created_at: TimestampMillis,
}

/// Where an asynchronous invocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsyncStatus {
    Queued,
    Completed,
    Failed,
}

impl AsyncStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AsyncStatus::Queued => "queued",
            AsyncStatus::Completed => "completed",
            AsyncStatus::Failed => "failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> crate::Result<AsyncStatus> {
        match text {
            "queued" => Ok(AsyncStatus::Queued),
            "completed" => Ok(AsyncStatus::Completed),
            "failed" => Ok(AsyncStatus::Failed),
            other => Err(crate::Error::UnknownValue {
                kind: "async invocation status",
                value: other.to_string(),
            }),
        }
    }
}

/// An asynchronous invocation: its payload and answer live in the artifact store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsyncInvocation {
    pub id: String,
    pub endpoint: String,
    pub status: AsyncStatus,
    pub content_type: String,
    pub accept: Option<String>,
    pub target_model: Option<String>,
    pub target_variant: Option<String>,
    pub input_hash: String,
    pub output_hash: Option<String>,
    pub output_content_type: Option<String>,
    pub failure_reason: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_status: Option<String>,
    pub created_at: TimestampMillis,
    pub updated_at: TimestampMillis,
}

/// A batch transform job: a dataset version scored by a model version into a new dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformJob {
    pub id: String,
    pub model: String,
    pub model_version: i64,
    pub dataset: String,
    pub dataset_version: i64,
    pub output_dataset: String,
    pub output_version: Option<i64>,
    pub join_input: bool,
    pub workers: i64,
    pub status: JobStatus,
    pub failure_reason: Option<String>,
    pub rows: Option<i64>,
    pub created_at: TimestampMillis,
    pub updated_at: TimestampMillis,
    /// The job's own memory limit for its worker process, in MiB (absent: the server's).
    pub memory_limit_mib: Option<i64>,
}

/// An API token; only its sha256 hash is ever stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub is_admin: bool,
    pub created_at: TimestampMillis,
}

/// A monitoring schedule of an endpoint; `config` is the service's JSON settings (type,
/// baseline, cadence, webhook, per-type options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitoringSchedule {
    pub endpoint: String,
    pub name: String,
    /// `data_quality`, `model_quality`, `bias_drift` or `feature_attribution_drift`.
    pub schedule_type: String,
    pub config: serde_json::Value,
    pub created_at: TimestampMillis,
}

/// One run of a monitoring schedule over a window of captured data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitoringExecution {
    pub id: String,
    pub endpoint: String,
    pub schedule: String,
    /// `InProgress`, `Completed`, `CompletedWithViolations`, `NoData` or `Failed`.
    pub status: String,
    pub window_start: TimestampMillis,
    pub window_end: TimestampMillis,
    pub violations: i64,
    pub failure_reason: Option<String>,
    pub webhook_status: Option<String>,
    /// Small summary numbers (rows, drift share, model-quality metrics), JSON.
    pub summary: serde_json::Value,
    pub created_at: TimestampMillis,
}
