//! Request and response bodies of the `/api/v1` API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The machine-readable code and human-readable message of an error.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// One of `bad_request`, `unauthenticated`, `not_found`, `already_exists`, `conflict`,
    /// `payload_too_large`, `unsupported_media_type`, `not_acceptable`, `unavailable`, `internal`.
    pub code: String,
    pub message: String,
}

/// Server liveness and identity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthView {
    pub status: String,
    pub version: String,
    pub auth: bool,
}

/// One column of a schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldView {
    pub name: String,
    /// `integer`, `float`, `boolean`, `string` or `timestamp`.
    #[serde(rename = "type")]
    pub column_type: String,
    pub nullable: bool,
}

/// A dataset with its latest version, for listings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DatasetSummaryView {
    pub name: String,
    pub latest_version: i64,
    pub version_count: i64,
    pub created_at: i64,
}

/// One immutable dataset version with its profile.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DatasetVersionView {
    pub dataset: String,
    pub version: i64,
    /// Hex sha256 of the source bytes: the version's identity.
    pub content_hash: String,
    pub format: String,
    pub size_bytes: i64,
    pub row_count: i64,
    pub schema: Vec<FieldView>,
    /// Row count and per-column statistics (type, missing, distinct, min/max/mean/std,
    /// histogram or top values).
    #[schema(value_type = Object)]
    pub profile: serde_json::Value,
    pub source: String,
    pub created_at: i64,
    /// False when identical content already existed and that version was returned.
    #[serde(default)]
    pub created: bool,
}

/// Creates a dataset version from a file the server can read.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateDatasetFromPath {
    /// An absolute path on the server's machine.
    pub path: String,
    /// `csv`, `parquet` or `jsonl`; inferred from the extension when absent.
    pub format: Option<String>,
}

/// Submits a training job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateTrainingJob {
    pub dataset: String,
    /// Latest when absent.
    pub dataset_version: Option<i64>,
    /// The column to predict; absent for unsupervised algorithms (kmeans, pca,
    /// random-cut-forest).
    #[serde(default)]
    pub target: Option<String>,
    pub algorithm: String,
    #[serde(default)]
    pub hyperparameters: BTreeMap<String, String>,
    #[serde(default)]
    pub drop_columns: Vec<String>,
    /// A separate validation dataset (`NAME` or `NAME:VERSION`); otherwise a split is held out.
    pub validation_dataset: Option<String>,
    /// Held-out fraction when no validation dataset is given (default 0.2).
    pub validation_fraction: Option<f64>,
    pub seed: Option<u64>,
    /// The registered model to add a version to (defaults to the dataset name).
    pub model_name: Option<String>,
}

/// Progress of a running job: training iterations, or rows scored by a transform job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgressView {
    pub done: u64,
    pub total: u64,
}

/// A training job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    pub id: String,
    /// `Pending`, `Running`, `Completed`, `Failed` or `Stopped`.
    pub status: String,
    pub failure_reason: Option<String>,
    pub dataset: String,
    pub dataset_version: i64,
    pub validation_dataset: Option<String>,
    pub validation_dataset_version: Option<i64>,
    /// Absent for unsupervised algorithms.
    pub target: Option<String>,
    pub algorithm: String,
    pub hyperparameters: BTreeMap<String, String>,
    pub drop_columns: Vec<String>,
    pub validation_fraction: f64,
    pub seed: u64,
    /// Final validation metrics.
    pub metrics: BTreeMap<String, f64>,
    pub model_name: Option<String>,
    pub model_version: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub progress: Option<ProgressView>,
}

/// A job log line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogLineView {
    pub seq: i64,
    pub at: i64,
    pub message: String,
}

/// A point of a per-job metric series.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MetricPointView {
    pub name: String,
    pub step: i64,
    pub value: f64,
    pub at: i64,
}

/// A registered model with its latest version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelSummaryView {
    pub name: String,
    /// 0 when the model has no version yet.
    pub latest_version: i64,
    pub version_count: i64,
    pub created_at: i64,
    /// `ingot` (every version is an Ingot model file), `mlflow` (registered through MLflow
    /// only) or `mixed`.
    #[serde(default)]
    pub origin: String,
}

/// A dataset the version's run read (MLflow `log_input`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct InputDatasetView {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    #[serde(default)]
    pub context: Option<String>,
}

/// Where a model version came from: dataset version, job, run, the run's final metrics and
/// the datasets the run logged as inputs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Default)]
pub struct LineageView {
    pub job_id: Option<String>,
    pub dataset: Option<String>,
    pub dataset_version: Option<i64>,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    #[serde(default)]
    pub input_datasets: Vec<InputDatasetView>,
}

/// One immutable version of a registered model.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelVersionView {
    pub model: String,
    pub version: i64,
    pub artifact_hash: String,
    pub algorithm: String,
    pub task: String,
    pub metrics: BTreeMap<String, f64>,
    pub input_schema: Vec<FieldView>,
    pub lineage: LineageView,
    pub created_at: i64,
    /// `ingot` for an Ingot model file, `mlflow` for a version registered through MLflow
    /// (which has no artifact hash, algorithm, task or input schema here).
    #[serde(default)]
    pub origin: String,
    /// The version's MLflow registry state: stage, aliases, approval, source, tags.
    #[serde(default)]
    pub registry: Option<crate::RegistryVersionView>,
}

/// Deploys a model version as a real-time endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateEndpoint {
    pub name: String,
    /// The model to serve as one variant (or give `config`).
    #[serde(default)]
    pub model: Option<String>,
    /// Latest when absent.
    #[serde(default)]
    pub version: Option<i64>,
    /// A full serving configuration: variants (weights, replica ranges, pipeline steps),
    /// shadow, data_capture, batching, multi_model, autoscaling, mode.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
}

/// An endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointView {
    pub name: String,
    /// The first variant's answering model (empty for multi-model endpoints).
    pub model: String,
    pub model_version: i64,
    /// `Creating`, `InService` or `Failed`.
    pub status: String,
    pub failure_reason: Option<String>,
    /// Path of the invocation route, relative to the server URL.
    pub invocations_path: String,
    /// The serving configuration.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// Live numbers per variant (replicas, invocations, errors, latency); empty when not live.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub variants: Vec<serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A new data-plane key of an endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateEndpointKey {
    pub name: String,
}

/// An endpoint key; `key` is present only in the answer that creates it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointKeyView {
    pub id: String,
    pub endpoint: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub created_at: i64,
}

/// A batch transform job request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateTransformJob {
    pub model: String,
    #[serde(default)]
    pub model_version: Option<i64>,
    pub dataset: String,
    #[serde(default)]
    pub dataset_version: Option<i64>,
    /// The dataset the predictions are written to (a new version of it).
    pub output_dataset: String,
    /// Keep the input columns beside the predictions.
    #[serde(default)]
    pub join_input: bool,
    /// Worker threads the rows are split across (default: all cores).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Stop the job's worker process (failing the job) once its resident memory passes this
    /// many MiB (default: the server's `--transform-memory-limit-mib`, if any).
    #[serde(default)]
    pub memory_limit_mib: Option<u64>,
}

/// A batch transform job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransformJobView {
    pub id: String,
    pub model: String,
    pub model_version: i64,
    pub dataset: String,
    pub dataset_version: i64,
    pub output_dataset: String,
    pub output_version: Option<i64>,
    pub join_input: bool,
    pub workers: i64,
    pub status: String,
    pub failure_reason: Option<String>,
    pub rows: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The job's own memory limit for its worker, in MiB (absent: the server's).
    #[serde(default)]
    pub memory_limit_mib: Option<i64>,
    /// Rows scored so far out of the dataset's rows, while the job runs.
    #[serde(default)]
    pub progress: Option<ProgressView>,
}

/// An asynchronous invocation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AsyncInvocationView {
    pub id: String,
    pub endpoint: String,
    /// `queued`, `completed` or `failed`.
    pub status: String,
    /// Where the answer can be fetched once completed.
    pub output_location: String,
    pub failure_reason: Option<String>,
    pub webhook_status: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A built-in algorithm and its hyperparameters.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlgorithmView {
    pub name: String,
    pub description: String,
    pub hyperparameters: Vec<HyperparameterView>,
}

/// One documented hyperparameter.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HyperparameterView {
    pub name: String,
    pub default: String,
    pub description: String,
}
