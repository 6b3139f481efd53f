//! Model-monitoring wire types: baselines, monitoring schedules, executions and ground truth.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Computes a baseline (statistics.json + suggested constraints.json) from a dataset version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateBaseline {
    pub name: String,
    pub dataset: String,
    /// The latest version when absent.
    #[serde(default)]
    pub dataset_version: Option<i64>,
    /// `NAME[:VERSION]`: also store the model's mean |SHAP| per feature over the dataset
    /// (TreeSHAP) as `attributions.json`, for feature-attribution-drift schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// With `model`: compute Clarify post-training bias metrics of the model on the dataset
    /// as `bias.json`: `{"facet", "facet_values" | "facet_threshold", "positive_label",
    /// "threshold"?}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub bias: Option<serde_json::Value>,
}

/// A baseline's files (each absent when the baseline has none); also the body of `PUT`,
/// which replaces only the files it gives.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BaselineView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// SageMaker Model Monitor's `statistics.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub statistics: Option<serde_json::Value>,
    /// SageMaker Model Monitor's `constraints.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub constraints: Option<serde_json::Value>,
    /// Model-quality thresholds: `{"accuracy": {"threshold": 0.8, "comparison":
    /// "LessThanThreshold"}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub model_quality: Option<serde_json::Value>,
    /// Mean |SHAP| per feature: `{"features": {name: value}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributions: Option<serde_json::Value>,
    /// Bias-drift baseline: the facet, the positive label and `metrics` of `{value,
    /// threshold}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub bias: Option<serde_json::Value>,
}

/// Creates a monitoring schedule of an endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateMonitoringSchedule {
    pub name: String,
    /// `data_quality`, `model_quality`, `bias_drift` or `feature_attribution_drift`.
    #[serde(rename = "type")]
    pub schedule_type: String,
    /// The baseline's name.
    pub baseline: String,
    /// `hourly`, `daily` or a five-field cron expression (UTC), e.g. `0 * * * *`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// A fixed period in seconds instead of `every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_seconds: Option<u64>,
    /// Alerts (signed like async-invocation webhooks) go here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Drift test for every column: ks, chisquare, z, wasserstein, jensenshannon, psi, linf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stattest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stattest_threshold: Option<f64>,
    /// Dataset drift when at least this share of columns drift (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_share: Option<f64>,
    /// Model quality: the positive class of binary metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_label: Option<String>,
    /// Feature attribution drift: NDCG below this is a violation (default 0.90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ndcg_threshold: Option<f64>,
}

/// A monitoring schedule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MonitoringScheduleView {
    pub endpoint: String,
    pub name: String,
    #[serde(rename = "type")]
    pub schedule_type: String,
    /// The schedule's settings as created.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub created_at: i64,
}

/// One execution of a monitoring schedule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MonitoringExecutionView {
    pub id: String,
    pub endpoint: String,
    pub schedule: String,
    /// `InProgress`, `Completed`, `CompletedWithViolations`, `NoData` or `Failed`.
    pub status: String,
    /// Captured data with `window_start <= time < window_end` (Unix milliseconds).
    pub window_start: i64,
    pub window_end: i64,
    pub violations: i64,
    pub failure_reason: Option<String>,
    /// How the alert webhook went, when one was sent.
    pub webhook_status: Option<String>,
    /// Rows, drift share, model-quality metrics, violation counts by type.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    pub created_at: i64,
}

/// How many ground-truth rows were stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroundTruthAccepted {
    pub rows: usize,
}

impl From<ingot_core::records::MonitoringSchedule> for MonitoringScheduleView {
    fn from(s: ingot_core::records::MonitoringSchedule) -> Self {
        MonitoringScheduleView {
            endpoint: s.endpoint,
            name: s.name,
            schedule_type: s.schedule_type,
            settings: s.config,
            created_at: s.created_at,
        }
    }
}

impl From<ingot_core::records::MonitoringExecution> for MonitoringExecutionView {
    fn from(e: ingot_core::records::MonitoringExecution) -> Self {
        MonitoringExecutionView {
            id: e.id,
            endpoint: e.endpoint,
            schedule: e.schedule,
            status: e.status,
            window_start: e.window_start,
            window_end: e.window_end,
            violations: e.violations,
            failure_reason: e.failure_reason,
            webhook_status: e.webhook_status,
            summary: e.summary,
            created_at: e.created_at,
        }
    }
}
