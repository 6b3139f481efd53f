//! `/api/v1` wire types of experiment tracking and the registry's approval workflow.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An experiment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ExperimentView {
    pub id: String,
    pub name: String,
    pub lifecycle_stage: String,
    pub artifact_location: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub tags: BTreeMap<String, String>,
}

/// `POST /experiments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Default)]
pub struct CreateExperimentRequest {
    pub name: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A run with its params, latest metrics, tags and notes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunView {
    pub id: String,
    pub experiment_id: String,
    pub name: String,
    pub status: String,
    pub lifecycle_stage: String,
    pub user: String,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub params: BTreeMap<String, String>,
    /// Latest value per metric (`null` for NaN).
    pub metrics: BTreeMap<String, Option<f64>>,
    pub tags: BTreeMap<String, String>,
    /// Free-text notes (MLflow's `mlflow.note.content` tag).
    pub notes: Option<String>,
}

/// `POST /experiments/{id}/runs`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Default)]
pub struct CreateRunRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `PATCH /runs/{id}`: any of status (`RUNNING`, `FINISHED`, `FAILED`, `KILLED`), name, notes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Default)]
pub struct UpdateRunRequest {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// One metric point.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunMetricPoint {
    pub key: String,
    pub value: f64,
    #[serde(default)]
    pub step: i64,
    /// Milliseconds since the epoch; the server's clock when omitted.
    #[serde(default)]
    pub timestamp: Option<i64>,
}

/// `POST /runs/{id}/log`: params (write-once), metric points and tags in one transaction.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Default)]
pub struct LogRequest {
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default)]
    pub metrics: Vec<RunMetricPoint>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A page of runs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunPage {
    pub runs: Vec<RunView>,
    pub next_page_token: Option<String>,
}

/// One point of a metric history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HistoryPoint {
    pub step: i64,
    /// `null` for NaN.
    pub value: Option<f64>,
    pub timestamp: i64,
}

/// One run's history of one metric.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MetricHistoryView {
    pub run_id: String,
    pub key: String,
    pub points: Vec<HistoryPoint>,
}

/// Runs side by side: the runs, and per metric every run's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunComparisonView {
    pub runs: Vec<RunView>,
    pub metrics: BTreeMap<String, Vec<MetricHistoryView>>,
}

/// A registry version with its approval state and lineage.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RegistryVersionView {
    pub model: String,
    pub version: i64,
    pub stage: String,
    pub source: String,
    pub run_id: String,
    pub approval_status: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<i64>,
    pub tags: BTreeMap<String, String>,
    pub aliases: Vec<String>,
    /// The native model version this registry version mirrors, if any.
    pub native_version: Option<i64>,
}

/// A registered model of the MLflow-compatible registry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RegistryModelView {
    pub name: String,
    pub description: String,
    pub require_approval: bool,
    pub tags: BTreeMap<String, String>,
    pub versions: Vec<RegistryVersionView>,
}

/// `PATCH /registry/models/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Default)]
pub struct RegistryModelSettings {
    #[serde(default)]
    pub require_approval: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `POST /registry/models/{name}/versions/{version}/approval`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ApprovalRequest {
    /// `true` approves, `false` rejects.
    pub approve: bool,
}
