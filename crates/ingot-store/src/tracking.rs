//! The tracking and registry half of the store: experiments, runs (params, metric histories,
//! tags, dataset inputs), MLflow 3 logged models, and the registry of named model versions with
//! tags, aliases, stages and approval. Records here are storage-neutral domain types; the
//! MLflow wire format is built from them in `ingot-protocol-mlflow`.

use ingot_core::search::Search;
use ingot_core::TimestampMillis;

use crate::Result;

/// `lifecycle_stage` of a live record.
pub const ACTIVE: &str = "active";
/// `lifecycle_stage` of a soft-deleted record.
pub const DELETED: &str = "deleted";

/// Which lifecycle stages a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

/// A key/value pair (tag or param).
pub type KeyValue = (String, String);

/// An experiment with its tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub experiment_id: i64,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: String,
    pub creation_time: TimestampMillis,
    pub last_update_time: TimestampMillis,
    pub tags: Vec<KeyValue>,
}

/// One metric point.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub key: String,
    pub value: f64,
    pub timestamp: TimestampMillis,
    pub step: i64,
}

/// The columns of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub experiment_id: i64,
    pub run_name: String,
    pub user_id: String,
    pub status: String,
    pub start_time: TimestampMillis,
    pub end_time: Option<TimestampMillis>,
    pub lifecycle_stage: String,
    pub artifact_uri: String,
}

/// A dataset as logged by a run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedDataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

/// A dataset input of a run with its input tags (e.g. `mlflow.data.context`).
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetInput {
    pub dataset: TrackedDataset,
    pub tags: Vec<KeyValue>,
}

/// A run with its data: latest metrics, params, tags and inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    pub metrics: Vec<MetricPoint>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
    pub inputs: Vec<DatasetInput>,
    /// Logged models the run produced (MLflow 3 `log_outputs`), by step then model id.
    pub outputs: Vec<ModelOutput>,
}

/// A metric point logged against a logged model (MLflow 3 `model_id`), by the run that logged it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelMetric {
    pub run_id: String,
    pub point: MetricPoint,
}

/// A logged model a run produced, at a step.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutput {
    pub model_id: String,
    pub step: i64,
}

/// What creating a run needs; the store assigns the id and artifact URI.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// A caller-chosen id (e.g. a training job's id); a fresh UUID when `None`.
    pub run_id: Option<String>,
    pub experiment_id: i64,
    pub user_id: String,
    pub run_name: Option<String>,
    pub start_time: TimestampMillis,
    pub tags: Vec<KeyValue>,
}

/// Changes to a run's columns; `None` leaves a field alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunUpdate {
    pub status: Option<String>,
    pub end_time: Option<TimestampMillis>,
    pub run_name: Option<String>,
}

/// One page of results and the opaque token of the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

/// A paged search request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchRequest {
    pub search: Search,
    pub view: ViewType,
    pub max_results: i64,
    pub page_token: Option<String>,
}

/// An MLflow 3 logged model.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModel {
    pub model_id: String,
    pub experiment_id: i64,
    pub name: String,
    pub artifact_location: String,
    pub creation_timestamp: TimestampMillis,
    pub last_updated_timestamp: TimestampMillis,
    pub status: String,
    pub lifecycle_stage: String,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

/// A registered model with its tags, aliases and the latest version per stage.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    pub name: String,
    pub description: String,
    pub creation_timestamp: TimestampMillis,
    pub last_updated_timestamp: TimestampMillis,
    pub require_approval: bool,
    pub tags: Vec<KeyValue>,
    /// `(alias, version)`.
    pub aliases: Vec<(String, i64)>,
    pub latest_versions: Vec<RegistryVersion>,
}

/// Approval states of a model version.
pub const PENDING_APPROVAL: &str = "PendingManualApproval";
/// An approved version.
pub const APPROVED: &str = "Approved";
/// A rejected version.
pub const REJECTED: &str = "Rejected";

/// Registry version tag naming the native model version a mirrored version stands for.
pub const NATIVE_VERSION_TAG: &str = "ingot.model_version";
/// Registry version tag holding a copy of the approval status column once a decision is
/// recorded (absent while the version is pending).
pub const APPROVAL_TAG: &str = "ingot.approval_status";
/// Registry version tag: the training job of a version.
pub const JOB_TAG: &str = "ingot.job_id";
/// Registry version tag: the dataset version a version was trained on, `NAME:VERSION`.
pub const DATASET_TAG: &str = "ingot.dataset";
/// Prefix of the registry version tags holding the run's final metrics (`ingot.metric.auc`).
pub const METRIC_TAG_PREFIX: &str = "ingot.metric.";
/// Registry version tag: the run's input datasets as a JSON list of objects (`name`,
/// `digest`, `source_type`, `source`, `context`).
pub const INPUTS_TAG: &str = "ingot.input_datasets";
/// Tags under this prefix are written by Ingot only.
pub const RESERVED_TAG_PREFIX: &str = "ingot.";

/// A version of a registered model.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryVersion {
    pub name: String,
    pub version: i64,
    pub creation_timestamp: TimestampMillis,
    pub last_updated_timestamp: TimestampMillis,
    pub description: String,
    pub user_id: String,
    pub current_stage: String,
    pub source: String,
    pub run_id: String,
    pub run_link: String,
    pub model_id: String,
    pub status: String,
    pub tags: Vec<KeyValue>,
    pub aliases: Vec<String>,
    pub approval_status: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<TimestampMillis>,
}

/// What creating a model version needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewRegistryVersion {
    pub name: String,
    pub source: String,
    pub run_id: String,
    pub run_link: String,
    pub model_id: String,
    pub description: String,
    pub user_id: String,
    pub tags: Vec<KeyValue>,
}

/// Storage of experiments, runs, logged models and the MLflow-compatible registry.
///
/// Lookups of absent records fail with `NotFound` (kinds `"experiment"`, `"run"`, `"logged
/// model"`, `"registered model"`, `"model version"`, `"alias"`); invalid values (a changed
/// param, a malformed page token, an unsupported filter) fail with `Invalid` naming the field.
#[async_trait::async_trait]
pub trait TrackingStore: Send + Sync + 'static {
    /// Creates an active experiment; `AlreadyExists` if the name is taken. An empty
    /// `artifact_location` becomes `mlflow-artifacts:/<id>`.
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: &str,
        tags: &[KeyValue],
    ) -> Result<Experiment>;
    async fn experiment(&self, id: i64) -> Result<Experiment>;
    async fn experiment_by_name(&self, name: &str) -> Result<Experiment>;
    async fn search_experiments(&self, request: &SearchRequest) -> Result<Page<Experiment>>;
    async fn rename_experiment(&self, id: i64, name: &str) -> Result<()>;
    /// Sets the lifecycle stage of an experiment and its runs (`ACTIVE` or `DELETED`).
    async fn set_experiment_stage(&self, id: i64, stage: &str) -> Result<()>;
    async fn set_experiment_tag(&self, id: i64, key: &str, value: &str) -> Result<()>;
    async fn delete_experiment_tag(&self, id: i64, key: &str) -> Result<()>;

    /// Creates a `RUNNING` run in an active experiment.
    async fn create_run(&self, new: NewRun) -> Result<Run>;
    async fn run(&self, run_id: &str) -> Result<Run>;
    async fn update_run(&self, run_id: &str, update: RunUpdate) -> Result<RunInfo>;
    async fn set_run_stage(&self, run_id: &str, stage: &str) -> Result<()>;
    /// Logs metrics, params and tags in one transaction. A param may be logged again only with
    /// the same value (`Invalid` otherwise); tags overwrite; metrics append and keep the latest
    /// point (highest step, then timestamp, then value) per key.
    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[MetricPoint],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<()>;
    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()>;
    /// Every point of one metric of a run, by step then timestamp.
    async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>>;
    async fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()>;
    /// Records logged models as outputs of a live run; logging one again updates its step.
    async fn log_outputs(&self, run_id: &str, outputs: &[ModelOutput]) -> Result<()>;
    async fn search_runs(
        &self,
        experiment_ids: &[i64],
        request: &SearchRequest,
    ) -> Result<Page<Run>>;

    async fn create_logged_model(&self, model: &LoggedModel) -> Result<()>;
    async fn logged_model(&self, model_id: &str) -> Result<LoggedModel>;
    /// Replaces a logged model's status, merges tags and params.
    async fn update_logged_model(
        &self,
        model_id: &str,
        status: Option<&str>,
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<LoggedModel>;
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()>;
    /// Records metric points a run logged against a logged model (which must exist).
    async fn log_logged_model_metrics(
        &self,
        model_id: &str,
        run_id: &str,
        points: &[MetricPoint],
    ) -> Result<()>;
    /// Every metric point logged against a logged model.
    async fn logged_model_metrics(&self, model_id: &str) -> Result<Vec<LoggedModelMetric>>;
    async fn search_logged_models(
        &self,
        experiment_ids: &[i64],
        request: &SearchRequest,
    ) -> Result<Page<LoggedModel>>;

    async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
        tags: &[KeyValue],
    ) -> Result<RegisteredModel>;
    async fn registered_model(&self, name: &str) -> Result<RegisteredModel>;
    async fn search_registered_models(
        &self,
        request: &SearchRequest,
    ) -> Result<Page<RegisteredModel>>;
    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<()>;
    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        require_approval: Option<bool>,
    ) -> Result<()>;
    async fn delete_registered_model(&self, name: &str) -> Result<()>;
    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()>;
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()>;
    /// Creates the next version (previous max + 1) in one transaction.
    async fn create_registry_version(&self, new: NewRegistryVersion) -> Result<RegistryVersion>;
    async fn registry_version(&self, name: &str, version: i64) -> Result<RegistryVersion>;
    async fn search_registry_versions(
        &self,
        request: &SearchRequest,
    ) -> Result<Page<RegistryVersion>>;
    async fn update_registry_version(
        &self,
        name: &str,
        version: i64,
        description: Option<&str>,
    ) -> Result<RegistryVersion>;
    /// Moves a version to a stage; with `archive_existing`, other versions in that stage go to
    /// `Archived`, in the same transaction.
    async fn transition_registry_version(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
    ) -> Result<RegistryVersion>;
    /// Records an approval decision (`APPROVED` or `REJECTED`) with who made it and when.
    async fn set_registry_version_approval(
        &self,
        name: &str,
        version: i64,
        status: &str,
        by: &str,
    ) -> Result<RegistryVersion>;
    async fn delete_registry_version(&self, name: &str, version: i64) -> Result<()>;
    async fn set_registry_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: &str,
    ) -> Result<()>;
    async fn delete_registry_version_tag(&self, name: &str, version: i64, key: &str) -> Result<()>;
    async fn set_registry_alias(&self, name: &str, alias: &str, version: i64) -> Result<()>;
    async fn delete_registry_alias(&self, name: &str, alias: &str) -> Result<()>;
    async fn registry_version_by_alias(&self, name: &str, alias: &str) -> Result<RegistryVersion>;
}
